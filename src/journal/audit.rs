//! Audit events of the commands that change something other than orders
//! (`/trigger` and Run now, alert edits, allow-list reloads, sign-ins):
//! best effort. Unlike an order step, which is not carried out unless its
//! event is recorded, a command's audit event that cannot be written is
//! logged and counted (`dipwatch_journal_audit_failures_total`) and the
//! command goes on: a store outage must not stop a person from signing in
//! or deleting an alert.

use chrono::Utc;

use super::{EventKind, Journal, JournalEvent};

impl JournalEvent {
    /// A command's event, now, by `source`: the order columns empty.
    pub fn command(kind: EventKind, source: impl ToString) -> Self {
        Self {
            time: Utc::now(),
            event: kind,
            client_order_id: None,
            order_id: None,
            source: source.to_string(),
            symbol: None,
            side: None,
            qty: None,
            notional: None,
            limit_price: None,
            status: None,
            reason: None,
        }
    }

    /// With `status` (the command's outcome: `started`, `refused`, `ok`).
    pub fn status(mut self, status: impl ToString) -> Self {
        self.status = Some(status.to_string());
        self
    }

    /// With `reason` (what was edited, why it was refused).
    pub fn reason(mut self, reason: impl ToString) -> Self {
        self.reason = Some(reason.to_string());
        self
    }
}

impl Journal {
    /// Record a command's audit `event`, best effort: a failure is logged
    /// and counted, never returned.
    pub async fn audit(&self, event: JournalEvent) {
        let kind = super::codec::kind_name(event.event);
        if let Err(e) = self.append(event).await {
            self.audit_failures.inc();
            tracing::warn!(event = kind, error = %e, "could not journal an audit event");
        }
    }

    /// [`Journal::audit`] from code that cannot wait (a synchronous
    /// handler): written by a task of its own.
    pub fn audit_soon(&self, event: JournalEvent) {
        let journal = self.clone();
        tokio::spawn(async move { journal.audit(event).await });
    }

    /// Count failed audit writes in `counter` (the daemon's metric); a
    /// journal without one counts in a counter nobody reads.
    pub fn counting(mut self, counter: prometheus_client::metrics::counter::Counter) -> Self {
        self.audit_failures = counter;
        self
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use object_store::memory::InMemory;

    use super::*;
    use crate::store::Store;

    #[tokio::test]
    async fn an_audit_event_is_read_back_with_its_status_and_reason() {
        let journal = Journal::new(Store::from_object_store(
            Arc::new(InMemory::new()),
            "memory",
        ));
        let event = JournalEvent::command(EventKind::AlertAdd, 42)
            .status("ok")
            .reason("#3 AAPL below -30%");
        journal.audit(event.clone()).await;
        let date = crate::market::calendar::exchange_date(event.time);
        let back = journal.day(date).await.unwrap();
        assert_eq!(back.len(), 1);
        let got = &back[0];
        assert_eq!(got.event, EventKind::AlertAdd);
        assert_eq!(got.source, "42");
        assert_eq!(got.status.as_deref(), Some("ok"));
        assert_eq!(got.reason.as_deref(), Some("#3 AAPL below -30%"));
        assert_eq!(got.time, event.time);
    }

    #[tokio::test]
    async fn a_failed_audit_write_is_counted_not_returned() {
        // A read-only store: every write refused.
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("not-a-dir");
        std::fs::write(&file, b"x").unwrap();
        let fs = object_store::local::LocalFileSystem::new_with_prefix(&file).unwrap();
        let counter = prometheus_client::metrics::counter::Counter::default();
        let journal =
            Journal::new(Store::from_object_store(Arc::new(fs), "file")).counting(counter.clone());
        journal
            .audit(JournalEvent::command(EventKind::Trigger, "cli").status("started"))
            .await;
        assert_eq!(counter.get(), 1);
    }
}
