//! The audit journal from the bot: `/trigger` (started, and refused while a
//! run is in progress), alert edits (`/alert`, `/unalert`), each with its
//! chat as the source, found in `orders/` of the store; `/download orders`
//! hands the journal to admins as one CSV and refuses readers.

#![allow(unused_imports)]

use super::helpers::*;
use dipwatch::journal::{EventKind, Journal, JournalEvent};

/// Today's journal (the New York date), as the store holds it.
async fn journal_today(h: &Harness) -> Vec<JournalEvent> {
    let today = dipwatch::market::calendar::exchange_date(Utc::now());
    Journal::new(h.runner.store().clone())
        .day(today)
        .await
        .unwrap()
}

/// (event, source, status, reason) of each event, for comparing.
fn summary(events: &[JournalEvent]) -> Vec<(EventKind, String, String, String)> {
    events
        .iter()
        .map(|e| {
            (
                e.event,
                e.source.clone(),
                e.status.clone().unwrap_or_default(),
                e.reason.clone().unwrap_or_default(),
            )
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn triggers_and_alert_edits_are_journalled_and_downloadable_by_admins() {
    let mut h = start(Setup::with(|s| {
        s.gated = true;
        s.alerts_fill_days_ago = Some(5);
    }))
    .await;
    let reader = READERS.start;
    assert!(journal_today(&h).await.is_empty(), "nothing journalled yet");

    // A reader's /trigger is refused before it runs: not a trigger.
    h.ask(reader, "/trigger", 1).await;
    let first = h.ask(ADMIN, "/trigger", 1).await;
    assert!(one_text(&first).contains("Collection started"));
    let second = h.ask(ADMIN2, "/trigger", 1).await;
    assert!(one_text(&second).contains("already running"));
    h.finish_gated_run(ADMIN).await;

    let set = h.ask(reader, "/alert AAPL below -30", 1).await;
    assert!(
        one_text(&set).starts_with("Alert #1 set"),
        "{}",
        one_text(&set)
    );
    // Refused edits change nothing and are not journalled.
    h.ask(reader, "/alert top many", 1).await;
    h.ask(reader, "/unalert 99", 1).await;
    let gone = h.ask(reader, "/unalert 1", 1).await;
    assert!(one_text(&gone).contains("deleted"), "{}", one_text(&gone));

    let events = journal_today(&h).await;
    let s = |v: &str| v.to_string();
    assert_eq!(
        summary(&events),
        [
            (EventKind::Trigger, ADMIN.to_string(), s("started"), s("")),
            (
                EventKind::Trigger,
                ADMIN2.to_string(),
                s("refused"),
                s("a run is in progress (started by a /trigger)")
            ),
            (
                EventKind::AlertAdd,
                reader.to_string(),
                s("ok"),
                s("#1 AAPL below -30%")
            ),
            (
                EventKind::AlertDelete,
                reader.to_string(),
                s("ok"),
                s("#1 AAPL below -30%")
            ),
        ]
    );
    assert!(
        events
            .iter()
            .all(|e| e.client_order_id.is_none() && e.qty.is_none())
    );

    // The journal names chats: readers may not download it.
    let refused = h.ask(reader, "/download orders", 1).await;
    assert!(
        one_text(&refused).starts_with("Only admins can download the order journal"),
        "{}",
        one_text(&refused)
    );
    assert!(refused[0].document.is_none());
    let sent = h.ask(ADMIN, "/download orders 7", 1).await;
    let (name, bytes) = sent[0].document.as_ref().expect("a CSV document");
    let today = dipwatch::market::calendar::exchange_date(Utc::now());
    assert_eq!(name, &format!("orders_{today}.csv"));
    assert!(bytes.starts_with(dipwatch::journal::header().as_bytes()));
    assert_eq!(dipwatch::journal::decode(bytes).unwrap(), events);
    assert!(
        sent[0].text.contains("<b>orders</b>: 1 date"),
        "{}",
        sent[0].text
    );
    assert!(sent[0].text.contains("4 rows"), "{}", sent[0].text);
    h.stop().await;
}

/// An empty journal: the admin is told so, no empty file.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn download_orders_of_an_empty_journal_says_so() {
    let mut h = start(Setup::default()).await;
    let sent = h.ask(ADMIN, "/download orders", 1).await;
    assert_eq!(one_text(&sent), "Nothing journalled today.");
    assert!(sent[0].document.is_none());
    h.stop().await;
}
