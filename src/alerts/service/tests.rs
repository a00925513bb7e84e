//! The alert runtime's tests: rules added, listed and deleted through
//! the service, evaluation on new screens, the stored book.

use std::collections::VecDeque;
use std::sync::Mutex as StdMutex;

use async_trait::async_trait;
use chrono::NaiveDate;

use super::*;
use crate::alerts::delivery::{MAX_REJECTED_ATTEMPTS, SendError};
use crate::domain::{DrawdownRow, Symbol};
use crate::state::ScreenState;

/// A chat id no Telegram chat can have.
const BAD_CHAT: i64 = 2_000_000_000_000;

/// Answers from a script, then succeeds; records what was delivered.
#[derive(Default)]
struct Scripted {
    script: StdMutex<VecDeque<SendError>>,
    delivered: StdMutex<Vec<(i64, String)>>,
}

#[async_trait]
impl AlertSender for Scripted {
    async fn send_html(&self, chat: i64, html: &str) -> Result<(), SendError> {
        if let Some(e) = self.script.lock().unwrap().pop_front() {
            return Err(e);
        }
        self.delivered
            .lock()
            .unwrap()
            .push((chat, html.to_string()));
        Ok(())
    }
}

fn snapshot(date: &str, dds: &[(&str, f64)]) -> Snapshot {
    let date: NaiveDate = date.parse().unwrap();
    let rows: Vec<DrawdownRow> = dds
        .iter()
        .enumerate()
        .map(|(i, (s, dd))| DrawdownRow {
            date,
            symbol: Symbol::parse(s).unwrap(),
            current_price: 10.0,
            peak_price: 20.0,
            peak_date: date,
            drawdown_pct: *dd,
            days_since_peak: 1,
            volume: 1,
            rank: i as u32 + 1,
        })
        .collect();
    let report = crate::test_support::report(date);
    Snapshot {
        screen: Some(ScreenState::new(date, rows, report)),
        ..Snapshot::default()
    }
}

fn render() -> Render {
    Arc::new(|n: &Notification, _: &Snapshot| {
        n.fired
            .iter()
            .map(|f| f.text.clone())
            .collect::<Vec<_>>()
            .join("\n")
    })
}

fn settings(chats: &[i64]) -> AlertSettings {
    AlertSettings {
        chats: chats.to_vec(),
        defaults: Vec::new(),
        timezone: chrono_tz::America::New_York,
        lists: None,
    }
}

async fn store(dir: &std::path::Path) -> Store {
    Store::open(
        &crate::store::StorageUrl::Local(dir.to_path_buf()),
        &Default::default(),
    )
    .await
    .unwrap()
}

async fn service(dir: &std::path::Path) -> AlertService {
    let store = store(dir).await;
    AlertService::open(
        store,
        render(),
        &settings(&[10, 20, 30, BAD_CHAT]),
        &Snapshot::default(),
    )
    .await
}

/// A service in `dir` with an "AAA below -30" rule for each of
/// `chats`, and two screens that cross it (-20%, then -35%).
async fn crossing(dir: &std::path::Path, chats: &[i64]) -> (AlertService, Snapshot, Snapshot) {
    let svc = service(dir).await;
    for chat in chats {
        svc.add(
            *chat,
            crate::alerts::parse::parse_alert("AAA below -30").unwrap(),
        )
        .await
        .unwrap();
    }
    let s1 = snapshot("2026-11-20", &[("AAA", -20.0)]);
    let s2 = snapshot("2026-11-23", &[("AAA", -35.0)]);
    (svc, s1, s2)
}

#[tokio::test]
async fn an_outage_delays_delivery_and_nothing_is_lost_or_sent_twice() {
    let dir = tempfile::tempdir().unwrap();
    let (svc, s1, s2) = crossing(dir.path(), &[10]).await;
    assert_eq!(
        svc.on_new_screen(&Snapshot::default(), &s1).await.unwrap(),
        0
    );
    assert_eq!(svc.on_new_screen(&s1, &s2).await.unwrap(), 1);

    let sender = Scripted::default();
    sender.script.lock().unwrap().extend([
        SendError::Failed("down".into()),
        SendError::RetryAfter(Duration::from_secs(3)),
    ]);
    assert_eq!(
        svc.deliver_pass(&sender).await,
        Some(Duration::from_secs(2)),
        "API down: back off"
    );
    assert_eq!(
        svc.deliver_pass(&sender).await,
        Some(Duration::from_secs(3)),
        "429: retry_after"
    );
    assert_eq!(svc.pending().await, 1, "still queued");
    assert_eq!(svc.deliver_pass(&sender).await, None);
    assert_eq!(
        sender.delivered.lock().unwrap().as_slice(),
        [(10, "AAA fell below -30%: now -35.00% (rank 1)".to_string())]
    );

    // A restart: the same screen comes again; nothing new is queued or sent.
    let again = service(dir.path()).await;
    assert_eq!(again.pending().await, 0);
    assert_eq!(again.on_new_screen(&s1, &s2).await.unwrap(), 0);
    assert_eq!(again.deliver_pass(&sender).await, None);
    assert_eq!(sender.delivered.lock().unwrap().len(), 1);
}

#[tokio::test]
async fn undelivered_messages_survive_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let (svc, s1, s2) = crossing(dir.path(), &[10]).await;
    svc.on_new_screen(&Snapshot::default(), &s1).await.unwrap();
    svc.on_new_screen(&s1, &s2).await.unwrap();
    drop(svc);
    let restarted = service(dir.path()).await;
    assert_eq!(restarted.pending().await, 1);
    let sender = Scripted::default();
    assert_eq!(restarted.deliver_pass(&sender).await, None);
    assert_eq!(sender.delivered.lock().unwrap().len(), 1);
}

/// Sends like teloxide's throttle did: it panics on a chat id outside
/// Telegram's range ("malformed chat id").
#[derive(Default)]
struct LikeTeloxide {
    delivered: StdMutex<Vec<i64>>,
}

#[async_trait]
impl AlertSender for LikeTeloxide {
    async fn send_html(&self, chat: i64, _html: &str) -> Result<(), SendError> {
        let _ = teloxide::types::ChatId(chat).is_user();
        self.delivered.lock().unwrap().push(chat);
        Ok(())
    }
}

/// A book written before such ids were refused (a rule, a queued
/// message for chat 2,000,000,000,000): the others still get theirs,
/// the bad one is dropped, nothing panics, and it stays that way after
/// a restart.
#[tokio::test]
async fn a_chat_id_outside_telegrams_range_does_not_stop_delivery() {
    let dir = tempfile::tempdir().unwrap();
    let bad = BAD_CHAT;
    let (svc, s1, s2) = crossing(dir.path(), &[bad, 10]).await;
    svc.on_new_screen(&Snapshot::default(), &s1).await.unwrap();
    svc.on_new_screen(&s1, &s2).await.unwrap();
    let sender = LikeTeloxide::default();
    assert_eq!(svc.deliver_pass(&sender).await, None);
    assert_eq!(sender.delivered.lock().unwrap().as_slice(), [10]);
    assert_eq!(svc.pending().await, 0, "the bad chat's message is dropped");
    let restarted = service(dir.path()).await;
    assert_eq!(restarted.pending().await, 0);
}

/// Panics for one chat only.
struct PanicsFor(i64, StdMutex<Vec<i64>>);

#[async_trait]
impl AlertSender for PanicsFor {
    async fn send_html(&self, chat: i64, _html: &str) -> Result<(), SendError> {
        assert_ne!(chat, self.0, "a bug in the send path");
        self.1.lock().unwrap().push(chat);
        Ok(())
    }
}

/// A panic while sending one chat's message is caught: the other chats
/// are delivered, the message is retried like a refused one, and the
/// panic is counted for `/readyz`.
#[tokio::test]
async fn a_panic_in_the_sender_is_caught_and_the_others_are_delivered() {
    let dir = tempfile::tempdir().unwrap();
    let (svc, s1, s2) = crossing(dir.path(), &[10, 20]).await;
    svc.on_new_screen(&Snapshot::default(), &s1).await.unwrap();
    svc.on_new_screen(&s1, &s2).await.unwrap();
    let before = crate::panics::count();
    let sender = PanicsFor(10, StdMutex::new(Vec::new()));
    assert!(svc.deliver_pass(&sender).await.is_some(), "retried later");
    assert_eq!(sender.1.lock().unwrap().as_slice(), [20]);
    assert_eq!(svc.pending().await, 1, "chat 10's message stays queued");
    assert!(crate::panics::count() > before);
}

#[tokio::test]
async fn a_chat_that_blocked_the_bot_has_its_rules_paused() {
    let dir = tempfile::tempdir().unwrap();
    let (svc, s1, s2) = crossing(dir.path(), &[10, 20]).await;
    svc.on_new_screen(&Snapshot::default(), &s1).await.unwrap();
    svc.on_new_screen(&s1, &s2).await.unwrap();
    let sender = Scripted::default();
    sender.script.lock().unwrap().push_back(SendError::Blocked);
    assert_eq!(svc.deliver_pass(&sender).await, None);
    assert_eq!(
        sender.delivered.lock().unwrap().len(),
        1,
        "the other chat still gets its message"
    );
    assert!(svc.rules_of(10).await.iter().all(|r| r.paused));
    assert!(svc.rules_of(20).await.iter().all(|r| !r.paused));
}

#[tokio::test]
async fn a_paused_chat_that_talks_again_resumes_from_a_fresh_baseline() {
    let dir = tempfile::tempdir().unwrap();
    let (svc, s1, s2) = crossing(dir.path(), &[10]).await;
    let s3 = snapshot("2026-11-24", &[("AAA", -36.0)]);
    let s4 = snapshot("2026-11-25", &[("AAA", -10.0)]);
    svc.prime(&s1).await.unwrap();
    svc.on_new_screen(&s1, &s2).await.unwrap();
    let sender = Scripted::default();
    sender.script.lock().unwrap().push_back(SendError::Blocked);
    assert_eq!(svc.deliver_pass(&sender).await, None);
    assert!(svc.rules_of(10).await[0].paused);
    // Across a restart too: the pause is in the store.
    drop(svc);
    let svc = service(dir.path()).await;
    assert!(!svc.resume(20).await.unwrap(), "nothing paused there");
    assert!(svc.resume(10).await.unwrap());
    assert!(!svc.rules_of(10).await[0].paused);
    // Still below: the first screen after resuming is the baseline,
    // not a crossing; the recovery after it fires.
    assert_eq!(svc.on_new_screen(&s2, &s3).await.unwrap(), 0);
    assert_eq!(svc.on_new_screen(&s3, &s4).await.unwrap(), 1);
    assert_eq!(svc.deliver_pass(&sender).await, None);
    assert_eq!(
        sender.delivered.lock().unwrap().as_slice(),
        [(10, "AAA recovered above -30%: now -10.00%".to_string())]
    );
}

#[tokio::test]
async fn only_the_audience_is_sent_anything() {
    let dir = tempfile::tempdir().unwrap();
    let (everyone, s1, s2) = crossing(dir.path(), &[10, 20]).await;
    let store = store(dir.path()).await;
    let s3 = snapshot("2026-11-24", &[("AAA", -10.0)]);
    everyone.prime(&s1).await.unwrap();
    assert_eq!(everyone.on_new_screen(&s1, &s2).await.unwrap(), 2);
    drop(everyone);
    // Chat 20 was taken off the allow-lists before the restart: what
    // was queued for it is dropped, nothing new is queued for it.
    let svc = AlertService::open(store, render(), &settings(&[10]), &Snapshot::default()).await;
    let sender = Scripted::default();
    assert_eq!(svc.deliver_pass(&sender).await, None);
    assert_eq!(svc.on_new_screen(&s2, &s3).await.unwrap(), 1);
    assert_eq!(svc.deliver_pass(&sender).await, None);
    let chats: Vec<i64> = sender
        .delivered
        .lock()
        .unwrap()
        .iter()
        .map(|(c, _)| *c)
        .collect();
    assert_eq!(chats, [10, 10]);
    assert_eq!(svc.rules_of(20).await.len(), 1, "its rules are kept");
}

#[tokio::test]
async fn a_message_telegram_keeps_refusing_is_dropped_after_a_few_tries() {
    let dir = tempfile::tempdir().unwrap();
    let (svc, s1, s2) = crossing(dir.path(), &[10]).await;
    svc.prime(&s1).await.unwrap();
    svc.on_new_screen(&s1, &s2).await.unwrap();
    let sender = Scripted::default();
    sender.script.lock().unwrap().extend(
        std::iter::repeat_with(|| SendError::Rejected("Bad Request: nope".into()))
            .take(MAX_REJECTED_ATTEMPTS as usize),
    );
    for _ in 1..MAX_REJECTED_ATTEMPTS {
        assert!(svc.deliver_pass(&sender).await.is_some(), "retried");
        assert_eq!(svc.pending().await, 1);
    }
    assert_eq!(svc.deliver_pass(&sender).await, None, "then dropped");
    assert_eq!(svc.pending().await, 0);
    assert!(sender.delivered.lock().unwrap().is_empty());
}

#[tokio::test]
async fn prime_fires_a_screen_published_while_alerts_were_down_once() {
    let dir = tempfile::tempdir().unwrap();
    let (svc, s1, s2) = crossing(dir.path(), &[10]).await;
    svc.prime(&s1).await.unwrap();
    drop(svc);
    // s2 was published while the daemon was down; the next start
    // primes with it and fires, and priming again fires nothing.
    let restarted = service(dir.path()).await;
    assert_eq!(restarted.prime(&s2).await.unwrap(), 1);
    assert_eq!(restarted.prime(&s2).await.unwrap(), 0);
    assert_eq!(restarted.pending().await, 1);
}

/// The one constructor does what the daemon needs: the configured
/// chats get their defaults (once), the stored screen is the baseline,
/// and a screen published while the daemon was down fires at the next
/// start, once, only for the configured chats.
#[tokio::test]
async fn open_gives_the_defaults_and_starts_from_the_stored_screen() {
    let dir = tempfile::tempdir().unwrap();
    let s1 = snapshot("2026-11-20", &[("AAA", -20.0)]);
    let s2 = snapshot("2026-11-23", &[("AAA", -35.0)]);
    let config = AlertSettings {
        defaults: vec!["AAA below -30".to_string()],
        ..settings(&[10, 20])
    };
    let svc = AlertService::open(store(dir.path()).await, render(), &config, &s1).await;
    assert_eq!(svc.rules_of(10).await.len(), 1);
    assert_eq!(svc.rules_of(20).await.len(), 1);
    assert_eq!(svc.pending().await, 0, "the first screen is the baseline");
    drop(svc);
    let narrower = AlertSettings {
        chats: vec![10],
        ..config
    };
    let svc = AlertService::open(store(dir.path()).await, render(), &narrower, &s2).await;
    assert_eq!(svc.rules_of(10).await.len(), 1, "defaults given once");
    assert_eq!(svc.pending().await, 1, "only chat 10 may be sent it");
    assert_eq!(svc.on_new_screen(&s1, &s2).await.unwrap(), 0, "not again");
}

/// The runtime runs without a sender: a screen the state publishes is
/// evaluated and queued; once a sender is connected it is delivered,
/// and the task ends at shutdown.
#[tokio::test]
async fn the_runtime_evaluates_new_screens_and_delivers_once_a_sender_connects() {
    let dir = tempfile::tempdir().unwrap();
    let (svc, s1, s2) = crossing(dir.path(), &[10]).await;
    let state = AppState::new(s1.clone());
    svc.prime(&s1).await.unwrap();
    let shutdown = CancellationToken::new();
    let task = svc.spawn(state.clone(), shutdown.clone());
    state.update(|_| s2.clone());
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    while svc.pending().await == 0 {
        assert!(tokio::time::Instant::now() < deadline, "never queued");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let sender = Arc::new(Scripted::default());
    svc.deliver_through(sender.clone());
    while svc.pending().await > 0 {
        assert!(tokio::time::Instant::now() < deadline, "never delivered");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert_eq!(
        sender.delivered.lock().unwrap().as_slice(),
        [(10, "AAA fell below -30%: now -35.00% (rank 1)".to_string())]
    );
    shutdown.cancel();
    tokio::time::timeout(Duration::from_secs(20), task)
        .await
        .expect("the runtime stops at shutdown")
        .unwrap();
}

/// A run swaps the state twice: the new screen with the old risk view,
/// then the new risk view. A risk rule fires on the second swap, once.
#[tokio::test]
async fn a_risk_rule_fires_when_the_new_risk_view_lands_once() {
    use crate::alerts::evaluate::risk::tests::view;
    let dir = tempfile::tempdir().unwrap();
    let svc = service(dir.path()).await;
    svc.add(10, crate::alerts::parse_alert("risk weight 25").unwrap())
        .await
        .unwrap();
    let mut s1 = snapshot("2026-11-20", &[("AAA", -10.0)]);
    s1.risk = Some(Arc::new(view("2026-11-20", 20.0, 0.2, 30.0)));
    let state = AppState::new(s1.clone());
    svc.prime(&s1).await.unwrap();
    let shutdown = CancellationToken::new();
    let task = svc.spawn(state.clone(), shutdown.clone());
    let mut s2 = snapshot("2026-11-23", &[("AAA", -10.0)]);
    s2.risk = s1.risk.clone();
    state.update(|_| s2.clone());
    state.update(|cur| {
        let mut next = cur.clone();
        next.risk = Some(Arc::new(view("2026-11-23", 30.0, 0.2, 30.0)));
        next
    });
    // And the same view again (a reload with nothing new).
    state.update(|cur| {
        let mut next = cur.clone();
        next.risk = Some(Arc::new(view("2026-11-23", 30.0, 0.2, 30.0)));
        next
    });
    let sender = Arc::new(Scripted::default());
    svc.deliver_through(sender.clone());
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    while sender.delivered.lock().unwrap().is_empty() {
        assert!(tokio::time::Instant::now() < deadline, "never delivered");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    // Let anything else queued arrive, then count.
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(svc.pending().await, 0);
    assert_eq!(
        sender.delivered.lock().unwrap().as_slice(),
        [(
            10,
            "risk: the largest position, AAPL, is 30% of equity (alert at 25%)".to_string()
        )]
    );
    shutdown.cancel();
    tokio::time::timeout(Duration::from_secs(20), task)
        .await
        .expect("the runtime stops at shutdown")
        .unwrap();
}
