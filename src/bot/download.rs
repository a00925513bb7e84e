//! `/download`: the last N published dates of a dataset as one CSV with
//! one header, oldest date first, read from the store and verified against
//! each date's manifest (the same rules as `dipwatch export`: a damaged
//! partition is skipped and counted, never sent); or the journal's last N
//! New York dates (`/download orders`), the same CSV as `dipwatch export
//! orders`.

use std::time::Duration;

use chrono::NaiveDate;
use tokio::sync::{Semaphore, SemaphorePermit};

use futures::StreamExt;

use crate::journal::{Exported, Journal};
use crate::store::{Dataset, Lake, PartRead, Store, StoreError};

/// Telegram bots may upload documents up to 50 MB; stay well under.
pub const MAX_DOCUMENT_BYTES: usize = 45 * 1024 * 1024;

/// A file handed out as a link has no Telegram limit; this bounds the
/// memory one `/download` may take.
pub const MAX_LINKED_BYTES: usize = 512 * 1024 * 1024;

/// A CSV ready to send.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Csv {
    /// The dataset (or the journal).
    pub dataset: Exported,
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

/// At most this many `/download`s are built and sent at once: each holds
/// its CSV in memory until Telegram has it (a year of bars is ~40 MB), so
/// 100 chats asking together must not hold 100 of them.
pub const MAX_CONCURRENT_DOWNLOADS: usize = 2;

/// How long a `/download` waits for a free slot before the busy reply.
pub const DOWNLOAD_QUEUE_WAIT: Duration = Duration::from_secs(60);

/// The slots `/download`s take turns on (a semaphore; waiting holds no
/// memory).
#[derive(Debug)]
pub struct Slots {
    slots: Semaphore,
    wait: Duration,
}

impl Slots {
    /// `n` slots; a request waits up to `wait` for one.
    pub fn new(n: usize, wait: Duration) -> Self {
        Self {
            slots: Semaphore::new(n),
            wait,
        }
    }

    /// A slot, held until the permit is dropped; `None` when none freed up
    /// within the wait (the caller says the bot is busy).
    pub async fn enter(&self) -> Option<SemaphorePermit<'_>> {
        tokio::time::timeout(self.wait, self.slots.acquire())
            .await
            .ok()?
            .ok()
    }
}

/// The last `days` published dates holding `dataset`, oldest first in the
/// file. `None` when no date holds it. Leaves out older dates rather than
/// exceed `max_bytes`.
///
/// Memory: the dates are chosen from their manifests (which list each
/// object's size), then read oldest first through [`Lake::parts`] (the
/// same read path and rules as `dipwatch export`), each object's rows
/// appended to the one output buffer, which is sized once. So the peak is
/// the file plus the objects in flight ([`crate::store::READ_CONCURRENCY`]
/// dates), not every object and then the file again. One
/// [`Lake::session`] serves both steps: each manifest is read once.
pub async fn build_csv(
    store: &Store,
    dataset: Dataset,
    days: usize,
    max_bytes: usize,
) -> Result<Option<Csv>, StoreError> {
    let lake = Lake::new(store.clone()).session();
    let header = dataset.header();
    let plan = plan(&lake, dataset, days, max_bytes.saturating_sub(header.len())).await?;
    let mut out: Vec<u8> = Vec::new();
    let (mut dates, mut rows, mut damaged) = (Vec::new(), 0u64, plan.damaged);
    let mut parts = std::pin::pin!(lake.parts(dataset, plan.dates));
    while let Some(read) = parts.next().await {
        match read {
            PartRead::Part(part) => {
                if out.is_empty() {
                    out.reserve_exact(header.len() + plan.size);
                    out.extend_from_slice(header.as_bytes());
                }
                out.extend_from_slice(&part.body);
                dates.push(part.date);
                rows += part.rows;
            }
            PartRead::Absent(_) => {}
            PartRead::Damaged(s) => {
                tracing::warn!(dataset = dataset.name(), date = %s.date, error = %s.reason, "download: skipping a damaged partition");
                damaged += 1;
            }
        }
    }
    if dates.is_empty() {
        return Ok(None);
    }
    Ok(Some(Csv {
        dataset: Exported::Dataset(dataset),
        bytes: out,
        dates,
        rows,
        damaged,
        truncated: plan.truncated,
    }))
}

/// The journal of the last `days` New York dates up to `today`, as one
/// CSV (header, then every event in time order); `None` when those dates
/// hold no event. Leaves out the oldest events rather than exceed
/// `max_bytes`; an object that cannot be read is skipped and counted.
pub async fn build_orders_csv(
    journal: &Journal,
    today: NaiveDate,
    days: usize,
    max_bytes: usize,
) -> Result<Option<Csv>, StoreError> {
    let back = u64::try_from(days.saturating_sub(1)).unwrap_or(u64::MAX);
    let from = today
        .checked_sub_days(chrono::Days::new(back))
        .unwrap_or(NaiveDate::MIN);
    let read = journal.range(from, today).await?;
    let mut events = read.events;
    if events.is_empty() {
        return Ok(None);
    }
    let mut bytes = crate::journal::encode(&events);
    let mut truncated = false;
    while bytes.len() > max_bytes && events.len() > 1 {
        // Halve the oldest part away until the file fits: few rounds.
        events.drain(..events.len() / 2);
        bytes = crate::journal::encode(&events);
        truncated = true;
    }
    let mut dates: Vec<NaiveDate> = events
        .iter()
        .map(|e| crate::market::calendar::exchange_date(e.time))
        .collect();
    dates.dedup();
    Ok(Some(Csv {
        dataset: Exported::Orders,
        bytes,
        dates,
        rows: events.len() as u64,
        damaged: read.skipped.len(),
        truncated,
    }))
}

/// The dates a download reads, chosen from their manifests.
struct Plan {
    /// Oldest first.
    dates: Vec<NaiveDate>,
    /// Their rows' bytes, headers excluded.
    size: usize,
    /// Dates whose manifest could not be read.
    damaged: usize,
    /// Older dates left out to stay within the budget.
    truncated: bool,
}

/// The newest `days` dates holding `dataset` whose rows fit in `budget`
/// bytes, their manifests read [`crate::store::READ_CONCURRENCY`] at a
/// time, newest first, until the plan is full.
async fn plan(
    lake: &Lake,
    dataset: Dataset,
    days: usize,
    budget: usize,
) -> Result<Plan, StoreError> {
    let header = dataset.header().len();
    let newest_first = lake.dates(None, None).await?.into_iter().rev().collect();
    let mut plan = Plan {
        dates: Vec::new(),
        size: 0,
        damaged: 0,
        truncated: false,
    };
    let mut manifests = std::pin::pin!(lake.manifests(newest_first));
    while plan.dates.len() < days {
        let Some((date, manifest)) = manifests.next().await else {
            break;
        };
        let entry = match &manifest {
            Ok(Some(m)) => m.object(dataset),
            Ok(None) => None,
            Err(e) => {
                tracing::warn!(dataset = dataset.name(), %date, error = %e, "download: skipping a damaged partition");
                plan.damaged += 1;
                None
            }
        };
        let Some(entry) = entry else {
            continue;
        };
        // The object is our header line then its rows.
        let body = usize::try_from(entry.bytes)
            .unwrap_or(usize::MAX)
            .saturating_sub(header);
        if plan.size.saturating_add(body) > budget {
            plan.truncated = true;
            break;
        }
        plan.size += body;
        plan.dates.push(date);
    }
    plan.dates.reverse();
    Ok(plan)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};

    /// However many ask at once, no more than the slots are ever inside.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn no_more_downloads_than_slots_run_at_once() {
        let slots = Arc::new(Slots::new(2, Duration::from_secs(30)));
        let (inside, peak) = (Arc::new(AtomicUsize::new(0)), Arc::new(AtomicUsize::new(0)));
        let tasks: Vec<_> = (0..40)
            .map(|_| {
                let (slots, inside, peak) = (slots.clone(), inside.clone(), peak.clone());
                tokio::spawn(async move {
                    let _slot = slots.enter().await.expect("a slot within the wait");
                    let now = inside.fetch_add(1, Ordering::SeqCst) + 1;
                    peak.fetch_max(now, Ordering::SeqCst);
                    tokio::task::yield_now().await;
                    tokio::time::sleep(Duration::from_millis(2)).await;
                    inside.fetch_sub(1, Ordering::SeqCst);
                })
            })
            .collect();
        for t in tasks {
            t.await.unwrap();
        }
        let peak = peak.load(Ordering::SeqCst);
        assert!((1..=2).contains(&peak), "{peak}");
        // No slot free within the wait: None (the busy reply).
        let busy = Slots::new(1, Duration::from_millis(10));
        let _held = busy.enter().await.unwrap();
        assert!(busy.enter().await.is_none());
    }
}
