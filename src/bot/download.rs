//! `/download`: the last N published dates of a dataset as one CSV with
//! one header, oldest date first, read from the store and verified against
//! each date's manifest (the same rules as `dipwatch export`: a damaged
//! partition is skipped and counted, never sent).

use chrono::NaiveDate;

use crate::store::{Dataset, Store, StoreError};

/// Telegram bots may upload documents up to 50 MB; stay well under.
pub const MAX_DOCUMENT_BYTES: usize = 45 * 1024 * 1024;

/// A file handed out as a link has no Telegram limit; this bounds the
/// memory one `/download` may take.
pub const MAX_LINKED_BYTES: usize = 512 * 1024 * 1024;

/// A CSV ready to send.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Csv {
    /// The dataset.
    pub dataset: Dataset,
    /// The file: one header line, then the rows of each date.
    pub bytes: Vec<u8>,
    /// The dates included, oldest first.
    pub dates: Vec<NaiveDate>,
    /// Data rows (header excluded).
    pub rows: u64,
    /// Dates skipped because their object failed verification.
    pub damaged: usize,
    /// True when older dates were left out to respect `max_bytes`.
    pub truncated: bool,
}

/// The last `days` published dates holding `dataset`, newest first while
/// reading, oldest first in the file. `None` when no date holds it. Stops
/// before the file would exceed `max_bytes`.
pub async fn build_csv(
    store: &Store,
    dataset: Dataset,
    days: usize,
    max_bytes: usize,
) -> Result<Option<Csv>, StoreError> {
    let listing = store.published_dates().await?;
    let header = format!("{}\n", dataset.columns().join(","));
    let mut parts: Vec<(NaiveDate, Vec<u8>, u64)> = Vec::new();
    let mut size = header.len();
    let (mut damaged, mut truncated) = (0usize, false);
    for date in listing.dates.iter().rev() {
        if parts.len() >= days {
            break;
        }
        let read = match store.manifest(*date).await {
            Ok(Some(m)) => {
                let rows = m.object(dataset).map_or(0, |o| o.rows);
                store
                    .read_verified(&m, dataset)
                    .await
                    .map(|b| b.map(|b| (b, rows)))
            }
            Ok(None) => Ok(None),
            Err(e) => Err(e),
        };
        let (bytes, rows) = match read {
            Ok(Some(found)) => found,
            Ok(None) => continue,
            Err(e) => {
                tracing::warn!(dataset = dataset.name(), %date, error = %e, "download: skipping a damaged partition");
                damaged += 1;
                continue;
            }
        };
        // Verified content starts with our own header line (this layout's
        // or the previous one's): keep the rows, in this layout's columns.
        let body = match crate::store::rows_in_current_layout(dataset, &bytes) {
            Ok(body) => body,
            Err(e) => {
                tracing::warn!(dataset = dataset.name(), %date, error = %e, "download: skipping a damaged partition");
                damaged += 1;
                continue;
            }
        };
        if size + body.len() > max_bytes {
            truncated = true;
            break;
        }
        size += body.len();
        parts.push((*date, body.to_vec(), rows));
    }
    if parts.is_empty() {
        return Ok(None);
    }
    parts.reverse();
    let mut out = Vec::with_capacity(size);
    out.extend_from_slice(header.as_bytes());
    for (_, body, _) in &parts {
        out.extend_from_slice(body);
        if !body.is_empty() && !body.ends_with(b"\n") {
            out.push(b'\n');
        }
    }
    Ok(Some(Csv {
        dataset,
        bytes: out,
        dates: parts.iter().map(|(d, _, _)| *d).collect(),
        rows: parts.iter().map(|(_, _, r)| r).sum(),
        damaged,
        truncated,
    }))
}
