//! Reading the journal back: list the partitions of a range of dates, read
//! their objects [`READ_CONCURRENCY`] at a time, decode, and sort by time.
//! An object that cannot be decoded (hand-edited, foreign, damaged) is
//! skipped and named, never the whole range; staging files a killed
//! writer left are not objects (the store does not list them), and
//! anything not named `*.csv` is not the journal's.

use chrono::NaiveDate;
use futures::StreamExt;
use object_store::path::Path;

use super::{JournalEvent, PREFIX, decode, partition};
use crate::store::{READ_CONCURRENCY, Store, StoreError, parse_partition};

/// An object of the journal that could not be read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unreadable {
    /// Its path in the store.
    pub path: String,
    /// Why.
    pub reason: String,
}

/// Events read back, oldest first, and the objects passed over.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct JournalRead {
    /// Every decoded event, in time order (ties in object-name order).
    pub events: Vec<JournalEvent>,
    /// Objects skipped, with the reason (each also logged).
    pub skipped: Vec<Unreadable>,
}

/// The journal's objects dated `from..=to`, sorted by name.
async fn list(store: &Store, from: NaiveDate, to: NaiveDate) -> Result<Vec<Path>, StoreError> {
    let prefix = if from == to {
        partition(from)
    } else {
        PREFIX.to_string()
    };
    let mut paths: Vec<Path> = store
        .list_objects(&prefix)
        .await?
        .into_iter()
        .map(|(path, _)| path)
        .filter(|path| {
            let mut parts = path.parts();
            let (Some(top), Some(date), Some(name), None) =
                (parts.next(), parts.next(), parts.next(), parts.next())
            else {
                return false;
            };
            top.as_ref() == PREFIX
                && name.as_ref().ends_with(".csv")
                && parse_partition(date.as_ref()).is_some_and(|d| from <= d && d <= to)
        })
        .collect();
    paths.sort();
    Ok(paths)
}

/// Read and decode every object of `from..=to`.
pub(super) async fn range(
    store: &Store,
    from: NaiveDate,
    to: NaiveDate,
) -> Result<JournalRead, StoreError> {
    let paths = list(store, from, to).await?;
    let mut reads: Vec<(usize, Result<Option<bytes::Bytes>, StoreError>)> =
        // Owned paths and store: a future over borrowed ones is not `Send`
        // for every lifetime, which a spawned task (the follower) needs.
        futures::stream::iter(paths.clone().into_iter().enumerate())
            .map(|(i, path)| {
                let store = store.clone();
                async move { (i, store.get(&path).await) }
            })
            .buffer_unordered(READ_CONCURRENCY)
            .collect()
            .await;
    reads.sort_by_key(|(i, _)| *i);
    let mut out = JournalRead::default();
    for (i, read) in reads {
        // Gone between the listing and the read: nothing to show.
        let Some(bytes) = read? else { continue };
        match decode(&bytes) {
            Ok(events) => out.events.extend(events),
            Err(problem) => {
                let path = paths[i].to_string();
                tracing::warn!(%path, reason = %problem, "skipping an unreadable journal object");
                out.skipped.push(Unreadable {
                    path,
                    reason: problem.0,
                });
            }
        }
    }
    // Stable: events of the same instant keep their objects' name order.
    out.events.sort_by_key(|e| e.time);
    Ok(out)
}
