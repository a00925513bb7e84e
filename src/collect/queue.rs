//! The retry-queue step: the queue of failed symbols as this run found it,
//! settled date by date, and saved only after a date is published (a date
//! that was not published leaves the queue as it was). A queue that cannot
//! be read is left in place, never overwritten.

use chrono::{NaiveDate, Utc};

use crate::domain::{Symbol, SymbolIssue};
use crate::retry_queue::{RetryQueue, Settled};
use crate::store::Store;

/// The queue during a run.
pub(super) struct RunQueue {
    queue: RetryQueue,
    /// False when the stored queue could not be read: it is not replaced.
    writable: bool,
}

/// A date's settlement, kept only if the date is published.
pub(super) struct Pending {
    next: RetryQueue,
}

impl RunQueue {
    /// The stored queue; an unreadable one reads as empty and stays as it
    /// is in the store.
    pub(super) async fn load(store: &Store) -> Self {
        match store.retry_queue().await {
            Ok(queue) => Self {
                queue,
                writable: true,
            },
            Err(e) => {
                tracing::error!(error = %e, "retry queue unreadable; leaving it untouched this run");
                Self {
                    queue: RetryQueue::default(),
                    writable: false,
                }
            }
        }
    }

    /// Dates with queued symbols, oldest first.
    pub(super) fn dates(&self) -> Vec<NaiveDate> {
        self.queue.dates()
    }

    /// Settle `date` against this run's `failed` symbols (of which the
    /// source `refused` some): what changed, and the queue to keep if the
    /// date is published.
    pub(super) fn settle(
        &self,
        date: NaiveDate,
        failed: &[SymbolIssue],
        refused: &[Symbol],
        max_attempts: u32,
    ) -> (Settled, Pending) {
        let mut next = self.queue.clone();
        let settled = next.settle(date, failed, refused, max_attempts, Utc::now());
        (settled, Pending { next })
    }

    /// `date` is published: keep its settlement and save the queue. A
    /// queue that cannot be saved must not make the run look failed.
    pub(super) async fn commit(&mut self, store: &Store, date: NaiveDate, pending: Pending) {
        self.queue = pending.next;
        if self.writable
            && let Err(e) = store.put_retry_queue(&self.queue).await
        {
            tracing::error!(%date, error = %e, "published, but the retry queue was not saved: this run's failed symbols are not queued");
        }
    }
}
