//! The alert runtime: rules, their states and the outbox of undelivered
//! messages kept together in one store document (`alerts/book.json`, one
//! atomic put), so evaluation, enqueueing and delivery can never disagree
//! after a crash. New screens are evaluated as they are published (the
//! state's watch channel); digests are checked on a timer; delivery retries
//! with backoff while the Bot API is down, honours `retry_after`, and pauses
//! the rules of a chat that blocked the bot.
//!
//! Delivery is exactly-once except for one window: a message Telegram
//! accepted just before the process died, before the outbox was rewritten,
//! is sent again at the next start.
//!
//! Only the chats of the audience (the bot's allow-lists) are ever sent
//! anything: a chat removed from `telegram.allowed_chat_ids` keeps its
//! rules, but nothing is queued for it and what was queued is dropped.
//! A chat whose rules were paused because it blocked the bot gets them
//! back (from a fresh baseline) the next time it talks to the bot.

use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, NaiveDate, Utc};
use chrono_tz::Tz;
use serde::{Deserialize, Serialize};
use tokio::sync::{Mutex, Notify};
use tokio_util::sync::CancellationToken;

use crate::alerts::{AlertBook, Inputs, Notification, Rule, RuleKind, due_digests, evaluate};
use crate::state::{AppState, Snapshot};
use crate::store::{ALERT_BOOK_PATH, Store, StoreError};

/// One message waiting for delivery.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OutboxItem {
    /// Id, unique in the document.
    pub id: u64,
    /// Chat.
    pub chat: i64,
    /// Screen or digest date it is about.
    pub date: NaiveDate,
    /// The HTML text.
    pub html: String,
    /// Failed attempts.
    pub attempts: u32,
    /// When it was queued.
    pub queued_at: DateTime<Utc>,
}

/// The stored document.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct AlertDoc {
    /// Rules and states.
    pub book: AlertBook,
    /// Undelivered messages, oldest first.
    pub outbox: Vec<OutboxItem>,
    /// Next outbox id.
    pub next_item: u64,
    /// The `alerts.defaults` already given to each chat (never re-added
    /// after a chat deletes one).
    #[serde(default)]
    pub defaults_applied: std::collections::BTreeMap<i64, Vec<String>>,
}

/// Why a send failed, as delivery needs to know it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SendError {
    /// Telegram asked to wait (429).
    RetryAfter(Duration),
    /// The chat blocked the bot or is gone (403, chat not found).
    Blocked,
    /// Telegram refused this message (a 400 of another kind): retried a
    /// few times, then dropped with an error log, so one bad message
    /// cannot hold a chat's later alerts back forever.
    Rejected(String),
    /// Anything else (network, 5xx): retry later, for as long as it takes.
    Failed(String),
}

/// Something that can deliver an HTML message to a chat (the bot's
/// rate-limited sender).
#[async_trait]
pub trait AlertSender: Send + Sync {
    /// Send `html` to `chat`.
    async fn send_html(&self, chat: i64, html: &str) -> Result<(), SendError>;
}

/// Send one outbox item; a panic in the sender is caught (logged, counted
/// for `/readyz`) and becomes a refusal of this message, so the other
/// chats of the batch are still delivered.
async fn send_one(sender: &dyn AlertSender, item: &OutboxItem) -> Result<(), SendError> {
    use futures::FutureExt;
    match std::panic::AssertUnwindSafe(sender.send_html(item.chat, &item.html))
        .catch_unwind()
        .await
    {
        Ok(result) => result,
        Err(_) => {
            crate::panics::record("alert delivery");
            Err(SendError::Rejected("sending panicked".into()))
        }
    }
}

/// Turns a notification into the HTML a chat receives (the bot's
/// formatter; digests are the dashboard).
pub type Render = Arc<dyn Fn(&Notification, &Snapshot) -> String + Send + Sync>;

/// The alert runtime (cheap to clone).
#[derive(Clone)]
pub struct AlertService {
    inner: Arc<Inner>,
}

struct Inner {
    store: Store,
    doc: Mutex<AlertDoc>,
    /// Whether the stored document was read: until it is, it is never
    /// overwritten and alerts are off.
    book: std::sync::Mutex<BookState>,
    wake: Notify,
    render: Render,
    /// The chats that may receive anything (`None`: every rule's chat).
    audience: Option<HashSet<i64>>,
    /// Chats with paused rules, mirrored outside the document's lock: the
    /// bot asks on every message, and must not wait behind a store write.
    paused: std::sync::Mutex<HashSet<i64>>,
    /// The provider's calendar, which decides the trading days digests
    /// are sent on (the schedule's source); unset, the built-in answers.
    calendar: std::sync::OnceLock<crate::market::session_calendar::SessionCalendar>,
}

impl std::fmt::Debug for AlertService {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("AlertService")
    }
}

/// Whether the stored document could be read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum BookState {
    /// Read (or absent: a new one): changes are saved.
    Loaded,
    /// The store could not be reached: reading is retried.
    Unreachable,
    /// Present but unreadable: left as it is until someone fixes it.
    Corrupt,
}

/// Messages sent together in one delivery batch (Telegram's global rate).
pub const BATCH: usize = 30;

/// Longest wait between delivery attempts while the Bot API is down.
const MAX_BACKOFF: Duration = Duration::from_secs(300);

/// Attempts a message Telegram keeps refusing ([`SendError::Rejected`])
/// gets before it is dropped.
const MAX_REJECTED_ATTEMPTS: u32 = 5;

impl AlertService {
    /// Load the document (an empty one if there is none); every rule's
    /// chat may receive alerts.
    pub async fn load(store: Store, render: Render) -> Self {
        Self::load_for(store, render, None).await
    }

    /// Load the document; only the chats in `audience` (when given) are
    /// ever sent anything.
    pub async fn load_for(store: Store, render: Render, audience: Option<HashSet<i64>>) -> Self {
        let svc = Self {
            inner: Arc::new(Inner {
                store,
                paused: std::sync::Mutex::new(HashSet::new()),
                doc: Mutex::new(AlertDoc::default()),
                book: std::sync::Mutex::new(BookState::Unreachable),
                wake: Notify::new(),
                render,
                audience,
                calendar: std::sync::OnceLock::new(),
            }),
        };
        svc.read_book().await;
        svc
    }

    /// Why alerts are off, when they are: the stored book could not be read
    /// (storage out of reach: retried) or is corrupt (left as it is until
    /// someone fixes or removes it). `None` once the book is loaded.
    pub fn problem(&self) -> Option<&'static str> {
        match self.book_state() {
            BookState::Loaded => None,
            BookState::Unreachable => Some(
                "alerts/book.json could not be read yet (storage out of reach; retried every 30 s)",
            ),
            BookState::Corrupt => {
                Some("alerts/book.json is unreadable: alerts are off until it is fixed or removed")
            }
        }
    }

    fn book_state(&self) -> BookState {
        self.inner.book.lock().map_or(BookState::Corrupt, |b| *b)
    }

    /// Read the stored document if it has not been read yet because the
    /// store was unreachable (at start, or at the last try). True once it
    /// is loaded.
    async fn read_book(&self) -> bool {
        match self.book_state() {
            BookState::Loaded => return true,
            BookState::Corrupt => return false,
            BookState::Unreachable => {}
        }
        let mut doc = self.inner.doc.lock().await;
        let (state, loaded) = match self.inner.store.read_doc::<AlertDoc>(ALERT_BOOK_PATH).await {
            Ok(d) => (BookState::Loaded, d.unwrap_or_default()),
            Err(e @ StoreError::Corrupt { .. }) => {
                tracing::error!(error = %e, "alert book unreadable: alerts are off and the file is left as it is");
                (BookState::Corrupt, AlertDoc::default())
            }
            Err(e) => {
                tracing::warn!(error = %e, "alert book out of reach: alerts are off until it can be read (retried)");
                (BookState::Unreachable, AlertDoc::default())
            }
        };
        if state == BookState::Loaded {
            self.mirror_paused(&loaded);
            *doc = loaded;
        }
        if let Ok(mut b) = self.inner.book.lock() {
            *b = state;
        }
        state == BookState::Loaded
    }

    /// May `chat` be sent anything?
    fn may_receive(&self, chat: i64) -> bool {
        // A chat id no Telegram chat can have (a book written before such
        // ids were refused at load) is never sent to: teloxide panics on it.
        crate::config::is_telegram_chat_id(chat)
            && self
                .inner
                .audience
                .as_ref()
                .is_none_or(|a| a.contains(&chat))
    }

    async fn save(&self, doc: &AlertDoc) -> Result<(), StoreError> {
        match self.book_state() {
            BookState::Loaded => self.inner.store.write_doc(ALERT_BOOK_PATH, doc).await,
            BookState::Unreachable => Err(StoreError::Config(
                "the alert book could not be read yet (storage out of reach); try again shortly"
                    .into(),
            )),
            BookState::Corrupt => Err(StoreError::Config(
                "the alert book is unreadable; fix or remove alerts/book.json".into(),
            )),
        }
    }

    /// Add a rule for `chat`; its id.
    pub async fn add(&self, chat: i64, kind: RuleKind) -> Result<u64, StoreError> {
        let mut doc = self.inner.doc.lock().await;
        let mut next = doc.clone();
        let id = next.book.add(chat, kind);
        self.save(&next).await?;
        *doc = next;
        Ok(id)
    }

    /// Remove `chat`'s rule `id`; false if it had none such.
    pub async fn remove(&self, chat: i64, id: u64) -> Result<bool, StoreError> {
        let mut doc = self.inner.doc.lock().await;
        let mut next = doc.clone();
        if !next.book.remove(chat, id) {
            return Ok(false);
        }
        self.save(&next).await?;
        *doc = next;
        Ok(true)
    }

    /// Give every chat in `chats` the `defaults` (in `/alert` syntax) it
    /// has not had yet. Returns how many rules were added.
    pub async fn apply_defaults(
        &self,
        chats: &[i64],
        defaults: &[String],
    ) -> Result<usize, StoreError> {
        let mut doc = self.inner.doc.lock().await;
        let mut next = doc.clone();
        let mut added = 0;
        for chat in chats {
            for spec in defaults {
                let given = next.defaults_applied.entry(*chat).or_default();
                if given.contains(spec) {
                    continue;
                }
                given.push(spec.clone());
                match crate::alerts::parse_alert(spec) {
                    Ok(kind) => {
                        next.book.add(*chat, kind);
                        added += 1;
                    }
                    Err(e) => tracing::warn!(%spec, error = %e.0, "alerts.defaults entry skipped"),
                }
            }
        }
        if added > 0 {
            self.save(&next).await?;
            *doc = next;
            tracing::info!(added, "default alerts given to allowed chats");
        }
        Ok(added)
    }

    /// `chat`'s rules.
    pub async fn rules_of(&self, chat: i64) -> Vec<Rule> {
        self.inner
            .doc
            .lock()
            .await
            .book
            .of_chat(chat)
            .into_iter()
            .cloned()
            .collect()
    }

    /// Messages waiting for delivery.
    pub async fn pending(&self) -> usize {
        self.inner.doc.lock().await.outbox.len()
    }

    /// Evaluate the screen the service starts with. Rules remember what
    /// they last saw, so a screen published while alerts were not running
    /// (the daemon was down, `dipwatch collect` ran, catch-up finished
    /// first) still fires what it crossed; one already evaluated fires
    /// nothing again, and a rule that never saw a screen takes this one as
    /// its baseline.
    pub async fn prime(&self, current: &Snapshot) -> Result<usize, StoreError> {
        self.on_new_screen(&Snapshot::default(), current).await
    }

    /// Give a paused chat (it had blocked the bot, and now talks to it
    /// again) its rules back, from a fresh baseline so nothing fires about
    /// what happened while it was away. True if anything was paused.
    pub async fn resume(&self, chat: i64) -> Result<bool, StoreError> {
        let listed = self.inner.paused.lock().is_ok_and(|p| p.contains(&chat));
        if !listed {
            return Ok(false);
        }
        let mut doc = self.inner.doc.lock().await;
        if !doc.book.rules.iter().any(|r| r.chat == chat && r.paused) {
            self.mirror_paused(&doc);
            return Ok(false);
        }
        let mut next = doc.clone();
        next.book.set_paused(chat, false);
        let ids: Vec<u64> = next.book.of_chat(chat).iter().map(|r| r.id).collect();
        for id in ids {
            next.book.states.remove(&id);
        }
        self.save(&next).await?;
        self.mirror_paused(&next);
        *doc = next;
        tracing::info!(
            chat_id = chat,
            "chat talks to the bot again: its alerts resume"
        );
        Ok(true)
    }

    /// Refresh the lock-free set of paused chats from `doc`.
    fn mirror_paused(&self, doc: &AlertDoc) {
        if let Ok(mut p) = self.inner.paused.lock() {
            *p = doc
                .book
                .rules
                .iter()
                .filter(|r| r.paused)
                .map(|r| r.chat)
                .collect();
        }
    }

    /// Evaluate a newly published screen against the one before it, queue
    /// the messages and persist, in one write.
    pub async fn on_new_screen(
        &self,
        previous: &Snapshot,
        current: &Snapshot,
    ) -> Result<usize, StoreError> {
        let Some(screen) = &current.screen else {
            return Ok(0);
        };
        let inputs = Inputs {
            previous: previous.screen.as_ref().map(|s| s.rows.as_slice()),
            current: &screen.rows,
            date: screen.date,
            profit_before: previous.portfolio.as_ref().map(|p| p.profit.take_profit),
            profit_now: current.portfolio.as_ref().map(|p| p.profit.take_profit),
        };
        let mut doc = self.inner.doc.lock().await;
        let (notes, states) = evaluate(inputs, &doc.book.rules, &doc.book.states);
        if notes.is_empty() && states == doc.book.states {
            return Ok(0);
        }
        let mut next = doc.clone();
        next.book.states = states;
        let n = self.enqueue(&mut next, &notes, current);
        self.save(&next).await?;
        *doc = next;
        drop(doc);
        self.inner.wake.notify_one();
        Ok(n)
    }

    /// Decide digests' trading days by `calendar` (the provider's, which
    /// the schedule asks too) rather than the built-in NYSE calendar.
    pub fn use_calendar(&self, calendar: crate::market::session_calendar::SessionCalendar) {
        let _ = self.inner.calendar.set(calendar);
    }

    /// Queue the digests due at `now` in `tz` (trading days only).
    pub async fn check_digests(
        &self,
        now: DateTime<Utc>,
        tz: Tz,
        snapshot: &Snapshot,
    ) -> Result<usize, StoreError> {
        let local = now.with_timezone(&tz);
        let today = local.date_naive();
        let trading = match self.inner.calendar.get() {
            Some(calendar) => calendar.is_session(today).await,
            None => crate::market::calendar::is_trading_day(today),
        };
        let mut doc = self.inner.doc.lock().await;
        let (notes, states) = due_digests(
            today,
            local.time(),
            trading,
            &doc.book.rules,
            &doc.book.states,
        );
        if notes.is_empty() {
            return Ok(0);
        }
        let mut next = doc.clone();
        next.book.states = states;
        let n = self.enqueue(&mut next, &notes, snapshot);
        self.save(&next).await?;
        *doc = next;
        drop(doc);
        self.inner.wake.notify_one();
        Ok(n)
    }

    fn enqueue(&self, doc: &mut AlertDoc, notes: &[Notification], snapshot: &Snapshot) -> usize {
        let mut queued = 0;
        for note in notes {
            if !self.may_receive(note.chat) {
                tracing::debug!(
                    chat_id = note.chat,
                    "not on the allow-lists: alert not queued"
                );
                continue;
            }
            queued += 1;
            doc.next_item += 1;
            doc.outbox.push(OutboxItem {
                id: doc.next_item,
                chat: note.chat,
                date: note.date,
                html: (self.inner.render)(note, snapshot),
                attempts: 0,
                queued_at: Utc::now(),
            });
        }
        queued
    }

    /// One delivery pass: send queued messages oldest first, in batches
    /// of up to [`BATCH`] sent together (one per chat, so a chat's messages
    /// keep their order) so the limiter can pace them at Telegram's rate
    /// rather than one round trip at a time; each batch's outcome is saved
    /// in one write. Returns how long to wait before the next pass (`None`:
    /// nothing left).
    pub async fn deliver_pass(&self, sender: &dyn AlertSender) -> Option<Duration> {
        loop {
            let batch: Vec<OutboxItem> = {
                let mut doc = self.inner.doc.lock().await;
                if doc.outbox.iter().any(|i| !self.may_receive(i.chat)) {
                    let mut next = doc.clone();
                    next.outbox.retain(|i| {
                        let keep = self.may_receive(i.chat);
                        if !keep {
                            tracing::warn!(
                                chat_id = i.chat,
                                "chat is no longer on the allow-lists: its queued alert is dropped"
                            );
                        }
                        keep
                    });
                    if let Err(e) = self.save(&next).await {
                        tracing::error!(error = %e, "could not record alert delivery; will retry");
                        return Some(Duration::from_secs(5));
                    }
                    *doc = next;
                }
                let mut chats = HashSet::new();
                doc.outbox
                    .iter()
                    .filter(|i| chats.insert(i.chat))
                    .take(BATCH)
                    .cloned()
                    .collect()
            };
            if batch.is_empty() {
                return None;
            }
            let results =
                futures::future::join_all(batch.iter().map(|i| send_one(sender, i))).await;
            let mut doc = self.inner.doc.lock().await;
            let mut next = doc.clone();
            let mut wait: Option<Duration> = None;
            for (item, result) in batch.iter().zip(results) {
                match result {
                    Ok(()) => next.outbox.retain(|i| i.id != item.id),
                    Err(SendError::Blocked) => {
                        tracing::warn!(
                            chat = item.chat,
                            "chat blocked the bot: its alerts are paused"
                        );
                        next.book.set_paused(item.chat, true);
                        next.outbox.retain(|i| i.chat != item.chat);
                    }
                    Err(SendError::RetryAfter(d)) => wait = Some(wait.map_or(d, |w| w.max(d))),
                    Err(SendError::Rejected(reason))
                        if item.attempts + 1 >= MAX_REJECTED_ATTEMPTS =>
                    {
                        tracing::error!(chat_id = item.chat, attempts = item.attempts + 1, %reason, "Telegram keeps refusing an alert message: dropped");
                        next.outbox.retain(|i| i.id != item.id);
                    }
                    Err(SendError::Rejected(reason) | SendError::Failed(reason)) => {
                        let attempts = item.attempts + 1;
                        if let Some(i) = next.outbox.iter_mut().find(|i| i.id == item.id) {
                            i.attempts = attempts;
                        }
                        let backoff = Duration::from_secs(2u64.saturating_pow(attempts.min(8)))
                            .min(MAX_BACKOFF);
                        tracing::warn!(chat = item.chat, attempts, %reason, wait_secs = backoff.as_secs(), "alert delivery failed; will retry");
                        wait = Some(wait.map_or(backoff, |w| w.max(backoff)));
                    }
                }
            }
            if next != *doc {
                if let Err(e) = self.save(&next).await {
                    tracing::error!(error = %e, "could not record alert delivery; will retry");
                    return Some(Duration::from_secs(5));
                }
                self.mirror_paused(&next);
                *doc = next;
            }
            if wait.is_some() {
                return wait;
            }
        }
    }

    /// Run until `shutdown`: evaluate every new screen, check digests each
    /// half minute, deliver with retries.
    pub async fn run(
        self,
        state: AppState,
        tz: Tz,
        sender: Arc<dyn AlertSender>,
        shutdown: CancellationToken,
    ) {
        let mut rx = state.subscribe();
        let mut last = rx.borrow().clone();
        if self.read_book().await
            && let Err(e) = self.prime(&last).await
        {
            tracing::error!(error = %e, "alert evaluation of the current screen not saved");
        }
        let mut retry_at: Option<tokio::time::Instant> = Some(tokio::time::Instant::now());
        let mut digest_tick = tokio::time::interval(Duration::from_secs(30));
        loop {
            let deliver_at =
                retry_at.unwrap_or_else(|| tokio::time::Instant::now() + Duration::from_secs(3600));
            tokio::select! {
                () = shutdown.cancelled() => return,
                changed = rx.changed() => {
                    if changed.is_err() {
                        return;
                    }
                    let current = rx.borrow_and_update().clone();
                    let advanced = match (&last.screen, &current.screen) {
                        (Some(a), Some(b)) => b.date > a.date,
                        (None, Some(_)) => true,
                        _ => false,
                    };
                    if advanced && let Err(e) = self.on_new_screen(&last, &current).await {
                        tracing::error!(error = %e, "alert evaluation not saved; it runs again with the next screen");
                    }
                    last = current;
                    retry_at = Some(tokio::time::Instant::now());
                }
                _ = digest_tick.tick() => {
                    let snap = state.snapshot();
                    // A book that was out of reach: read it now, and catch up
                    // with the screen it missed.
                    if self.book_state() == BookState::Unreachable && self.read_book().await {
                        tracing::info!("alert book read; alerts are on");
                        if let Err(e) = self.prime(&snap).await {
                            tracing::error!(error = %e, "alert evaluation of the current screen not saved");
                        }
                    }
                    match self.check_digests(Utc::now(), tz, &snap).await {
                        Ok(n) if n > 0 => retry_at = Some(tokio::time::Instant::now()),
                        Ok(_) => {}
                        Err(e) => tracing::error!(error = %e, "digest check not saved"),
                    }
                }
                () = self.inner.wake.notified() => retry_at = Some(tokio::time::Instant::now()),
                () = tokio::time::sleep_until(deliver_at) => {
                    retry_at = self.deliver_pass(sender.as_ref()).await.map(|w| tokio::time::Instant::now() + w);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::collections::VecDeque;
    use std::sync::Mutex as StdMutex;

    use super::*;
    use crate::domain::{DrawdownRow, RequestStats, RunOutcome, RunReport, Symbol, SymbolCounts};
    use crate::state::ScreenState;

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
        let report = RunReport {
            date,
            provider: "sim".into(),
            simulated: true,
            outcome: RunOutcome::Published,
            reason: None,
            started_at: Utc::now(),
            finished_at: Utc::now(),
            symbols: SymbolCounts::default(),
            skipped: vec![],
            failed: vec![],
            recovered: vec![],
            gave_up: vec![],
            rejected_bars: vec![],
            requests: RequestStats::default(),
            phases_ms: Default::default(),
            profit: None,
            unreadable_positions: Vec::new(),
        };
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

    async fn service(dir: &std::path::Path) -> AlertService {
        let store = Store::open(
            &crate::store::StorageUrl::Local(dir.to_path_buf()),
            &Default::default(),
        )
        .await
        .unwrap();
        AlertService::load(store, render()).await
    }

    /// A service in `dir` with an "AAA below -30" rule for each of
    /// `chats`, and two screens that cross it (-20%, then -35%).
    async fn crossing(dir: &std::path::Path, chats: &[i64]) -> (AlertService, Snapshot, Snapshot) {
        let svc = service(dir).await;
        for chat in chats {
            svc.add(*chat, crate::alerts::parse_alert("AAA below -30").unwrap())
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
        let bad = 2_000_000_000_000;
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
    async fn defaults_are_given_once_and_stay_deleted() {
        let dir = tempfile::tempdir().unwrap();
        let svc = service(dir.path()).await;
        let defaults = vec![
            "profit".to_string(),
            "market below -20 count 50".to_string(),
        ];
        assert_eq!(svc.apply_defaults(&[10, 20], &defaults).await.unwrap(), 4);
        assert_eq!(
            svc.apply_defaults(&[10, 20], &defaults).await.unwrap(),
            0,
            "idempotent"
        );
        let id = svc.rules_of(10).await[0].id;
        assert!(svc.remove(10, id).await.unwrap());
        let restarted = service(dir.path()).await;
        assert_eq!(
            restarted
                .apply_defaults(&[10, 20, 30], &defaults)
                .await
                .unwrap(),
            2,
            "only the new chat"
        );
        assert_eq!(
            restarted.rules_of(10).await.len(),
            1,
            "a deleted default stays deleted"
        );
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
        let store = everyone.inner.store.clone();
        let s3 = snapshot("2026-11-24", &[("AAA", -10.0)]);
        everyone.prime(&s1).await.unwrap();
        assert_eq!(everyone.on_new_screen(&s1, &s2).await.unwrap(), 2);
        drop(everyone);
        // Chat 20 was taken off the allow-lists before the restart: what
        // was queued for it is dropped, nothing new is queued for it.
        let svc = AlertService::load_for(store, render(), Some(HashSet::from([10]))).await;
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

    #[tokio::test]
    async fn a_book_out_of_reach_at_start_is_read_later_never_overwritten() {
        let dir = tempfile::tempdir().unwrap();
        let (svc, _, _) = crossing(dir.path(), &[10]).await;
        drop(svc);
        // The store cannot answer for the book (as when S3 is down at start).
        let book_dir = dir.path().join("alerts");
        let aside = dir.path().join("alerts.aside");
        std::fs::rename(&book_dir, &aside).unwrap();
        std::fs::write(&book_dir, b"not a directory").unwrap();
        let svc = service(dir.path()).await;
        assert_eq!(svc.book_state(), BookState::Unreachable);
        assert!(svc.rules_of(10).await.is_empty(), "off until read");
        assert!(
            svc.add(10, RuleKind::Profit).await.is_err(),
            "nothing saved over it"
        );
        // The store answers again: the next try reads the book whole.
        std::fs::remove_file(&book_dir).unwrap();
        std::fs::rename(&aside, &book_dir).unwrap();
        assert!(svc.read_book().await);
        assert_eq!(svc.rules_of(10).await.len(), 1);
        assert!(svc.add(10, RuleKind::Profit).await.is_ok());
        assert_eq!(service(dir.path()).await.rules_of(10).await.len(), 2);
    }

    #[tokio::test]
    async fn a_corrupt_book_is_left_alone_and_refuses_changes() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("alerts")).unwrap();
        std::fs::write(dir.path().join("alerts/book.json"), b"{not json").unwrap();
        let svc = service(dir.path()).await;
        assert!(svc.add(10, RuleKind::Profit).await.is_err());
        assert_eq!(
            std::fs::read(dir.path().join("alerts/book.json")).unwrap(),
            b"{not json"
        );
    }
}
