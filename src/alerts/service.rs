//! [`AlertService`]: the alert runtime as one cheap-to-clone handle, the
//! API the bot, the daemon and any other front end use. It combines the
//! stored [`StoredAlerts`], the pure evaluation, the outbox and delivery; it holds
//! no rule logic of its own.
//!
//! [`AlertService::open`] is the one constructor (read the book, give the
//! configured chats their `alerts.defaults`, evaluate the stored screen);
//! [`AlertService::spawn`] starts the runtime (each new screen evaluated as
//! it is published, digests checked on a timer, delivery with retries);
//! [`AlertService::deliver_through`] connects the sender (the bot's), and
//! until one is connected messages wait in the outbox.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use tokio::sync::Notify;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use super::book::{BookState, Edit, StoredAlerts};
use super::delivery::{AlertSender, deliver_pass};
use super::evaluate::{Inputs, due_digests, evaluate, evaluate_risk};
use super::outbox::{Audience, Outbox};
use super::rules::{Notification, Rule, RuleKind, RuleState};
use crate::config::{AlertsSettings, TelegramSettings};
use crate::state::{AppState, Snapshot};
use crate::store::{Store, StoreError};

/// Turns a notification into the HTML a chat receives (the bot's
/// formatter; digests are the dashboard).
pub type Render = Arc<dyn Fn(&Notification, &Snapshot) -> String + Send + Sync>;

/// What the alert runtime takes from the configuration.
#[derive(Debug, Clone, PartialEq)]
pub struct AlertSettings {
    /// The chats that may be sent anything, and that get the defaults:
    /// the bot's readers and admins.
    pub chats: Vec<i64>,
    /// `alerts.defaults`, in `/alert` syntax.
    pub defaults: Vec<String>,
    /// `schedule.timezone`: digests are due in local time.
    pub timezone: Tz,
    /// The configuration's shared allow-lists: when given, who may be sent
    /// anything follows them as they are reloaded (`chats` still decides
    /// who gets the defaults at start).
    pub lists: Option<crate::access::Access>,
}

impl AlertSettings {
    /// The settings the configuration gives: `[telegram]`'s allow-lists
    /// (readers and admins, each chat once), `alerts.defaults`,
    /// `schedule.timezone`, and the shared allow-lists that follow reloads.
    pub fn new(
        telegram: &TelegramSettings,
        alerts: &AlertsSettings,
        timezone: Tz,
        lists: &crate::access::Access,
    ) -> Self {
        let mut chats: Vec<i64> = telegram
            .allowed_chat_ids
            .iter()
            .chain(&telegram.admin_chat_ids)
            .copied()
            .collect();
        chats.sort_unstable();
        chats.dedup();
        Self {
            chats,
            defaults: alerts.defaults.clone(),
            timezone,
            lists: Some(lists.clone()),
        }
    }
}

/// The alert runtime (cheap to clone: every clone is the same runtime).
#[derive(Clone)]
pub struct AlertService {
    inner: Arc<Inner>,
}

struct Inner {
    book: StoredAlerts,
    audience: Audience,
    render: Render,
    timezone: Tz,
    /// Something was queued, or a sender connected: deliver now.
    wake: Notify,
    /// Where messages go; `None` until [`AlertService::deliver_through`].
    sender: std::sync::Mutex<Option<Arc<dyn AlertSender>>>,
    /// The provider's calendar, which decides the trading days digests
    /// are sent on (the schedule's source); unset, the built-in answers.
    calendar: std::sync::OnceLock<crate::market::session_calendar::SessionCalendar>,
}

impl std::fmt::Debug for AlertService {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("AlertService")
    }
}

/// How often digests are checked (and an unread book read again).
const DIGEST_TICK: Duration = Duration::from_secs(30);

impl AlertService {
    /// The alert runtime over `store`, as the daemon runs it: read the
    /// stored document (an empty one if there is none), give each of
    /// `settings.chats` the defaults it has not had yet, and evaluate
    /// `current` (the stored screen) so rules start from it as their
    /// baseline and a screen published while alerts were down fires what
    /// it crossed. Only `settings.chats` are ever sent anything. What
    /// cannot be saved is logged (and given again at the next start); a
    /// book that cannot be read turns alerts off ([`Self::problem`]).
    pub async fn open(
        store: Store,
        render: Render,
        settings: &AlertSettings,
        current: &Snapshot,
    ) -> Self {
        let svc = Self {
            inner: Arc::new(Inner {
                book: StoredAlerts::open(store).await,
                audience: match &settings.lists {
                    Some(lists) => Audience::following(lists.clone()),
                    None => Audience::new(settings.chats.iter().copied()),
                },
                render,
                timezone: settings.timezone,
                wake: Notify::new(),
                sender: std::sync::Mutex::new(None),
                calendar: std::sync::OnceLock::new(),
            }),
        };
        if let Err(e) = svc
            .inner
            .book
            .apply_defaults(&settings.chats, &settings.defaults)
            .await
        {
            tracing::error!(error = %e, "alerts.defaults not saved; they are given at the next start");
        }
        if let Err(e) = svc.prime(current).await {
            tracing::error!(error = %e, "alert evaluation of the stored screen not saved");
        }
        svc
    }

    /// Read the stored book again, replacing the one in memory: a daemon
    /// that takes the writer lease back starts from what the other holder
    /// wrote, never overwrites it with its own older copy.
    pub async fn reread(&self) {
        self.inner.book.reread().await;
    }

    /// Why alerts are off, when they are: the stored book could not be read
    /// (storage out of reach: retried) or is corrupt (left as it is until
    /// someone fixes or removes it). `None` once the book is loaded.
    pub fn problem(&self) -> Option<&'static str> {
        self.inner.book.problem()
    }

    /// Add a rule for `chat`; its id.
    pub async fn add(&self, chat: i64, kind: RuleKind) -> Result<u64, StoreError> {
        self.inner.book.add(chat, kind).await
    }

    /// Remove `chat`'s rule `id`; false if it had none such.
    pub async fn remove(&self, chat: i64, id: u64) -> Result<bool, StoreError> {
        self.inner.book.remove(chat, id).await
    }

    /// `chat`'s rules.
    pub async fn rules_of(&self, chat: i64) -> Vec<Rule> {
        self.inner.book.rules_of(chat).await
    }

    /// Messages waiting for delivery.
    pub async fn pending(&self) -> usize {
        self.inner.book.view(|doc| doc.outbox.len()).await
    }

    /// Give a paused chat (it had blocked the bot, and now talks to it
    /// again) its rules back, from a fresh baseline so nothing fires about
    /// what happened while it was away. True if anything was paused.
    pub async fn resume(&self, chat: i64) -> Result<bool, StoreError> {
        let resumed = self.inner.book.resume(chat).await?;
        if resumed {
            tracing::info!(
                chat_id = chat,
                "chat talks to the bot again: its alerts resume"
            );
        }
        Ok(resumed)
    }

    /// Evaluate the screen the service starts with. Rules remember what
    /// they last saw, so a screen published while alerts were not running
    /// (the daemon was down, `dipwatch collect` ran, catch-up finished
    /// first) still fires what it crossed; one already evaluated fires
    /// nothing again, and a rule that never saw a screen takes this one as
    /// its baseline.
    pub(crate) async fn prime(&self, current: &Snapshot) -> Result<usize, StoreError> {
        let none = Snapshot::default();
        Ok(self.on_new_screen(&none, current).await? + self.on_new_risk(&none, current).await?)
    }

    /// Queue `notes` in `outbox` for the chats that may receive them.
    fn enqueue(&self, outbox: &mut Outbox, notes: &[Notification], snapshot: &Snapshot) -> usize {
        outbox.enqueue(
            notes,
            &self.inner.audience,
            |note| (self.inner.render)(note, snapshot),
            Utc::now(),
        )
    }

    /// Evaluate a newly published screen against the one before it, queue
    /// the messages and persist, in one write. Returns how many messages
    /// were queued.
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
        self.record(current, |rules, states| evaluate(inputs, rules, states))
            .await
    }

    /// Evaluate the risk rules against the risk view `current` holds (once
    /// per date it is of; `previous`'s view is the baseline of rules
    /// without memory), queue the messages and persist, in one write.
    /// Returns how many messages were queued.
    pub async fn on_new_risk(
        &self,
        previous: &Snapshot,
        current: &Snapshot,
    ) -> Result<usize, StoreError> {
        let Some(report) = current.risk.as_deref() else {
            return Ok(0);
        };
        let before = previous.risk.as_deref();
        self.record(current, |rules, states| {
            evaluate_risk(report, before, rules, states)
        })
        .await
    }

    /// Run one evaluation over the book's rules and states, and save the
    /// new states with the messages queued, in one write (nothing is
    /// written when nothing changed). The count queued.
    async fn record(
        &self,
        current: &Snapshot,
        eval: impl FnOnce(&[Rule], &BTreeMap<u64, RuleState>) -> Evaluated,
    ) -> Result<usize, StoreError> {
        let queued = self
            .inner
            .book
            .edit(|doc| {
                let (notes, states) = eval(&doc.book.rules, &doc.book.states);
                if notes.is_empty() && states == doc.book.states {
                    return Edit::Discard(None);
                }
                doc.book.states = states;
                Edit::Save(Some(self.enqueue(&mut doc.outbox, &notes, current)))
            })
            .await?;
        Ok(self.woken(queued))
    }

    /// Queue the digests due at `now` (in `schedule.timezone`; trading
    /// days only). Returns how many messages were queued.
    pub(crate) async fn check_digests(
        &self,
        now: DateTime<Utc>,
        snapshot: &Snapshot,
    ) -> Result<usize, StoreError> {
        let local = now.with_timezone(&self.inner.timezone);
        let today = local.date_naive();
        let trading = match self.inner.calendar.get() {
            Some(calendar) => calendar.is_session(today).await,
            None => crate::market::calendar::is_trading_day(today),
        };
        let queued = self
            .inner
            .book
            .edit(|doc| {
                let (notes, states) = due_digests(
                    today,
                    local.time(),
                    trading,
                    &doc.book.rules,
                    &doc.book.states,
                );
                if notes.is_empty() {
                    return Edit::Discard(None);
                }
                doc.book.states = states;
                Edit::Save(Some(self.enqueue(&mut doc.outbox, &notes, snapshot)))
            })
            .await?;
        Ok(self.woken(queued))
    }

    /// After a saved evaluation (`Some`), wake delivery; the count queued.
    fn woken(&self, queued: Option<usize>) -> usize {
        match queued {
            Some(n) => {
                self.inner.wake.notify_one();
                n
            }
            None => 0,
        }
    }

    /// One delivery pass through `sender` (see
    /// [`super::delivery`]): how long to wait before the next one
    /// (`None`: nothing left).
    pub async fn deliver_pass(&self, sender: &dyn AlertSender) -> Option<Duration> {
        deliver_pass(&self.inner.book, &self.inner.audience, sender).await
    }

    /// Deliver through `sender` from now on (the bot connects its own, so
    /// alerts and replies share one send budget); what waited in the
    /// outbox goes out at once.
    pub fn deliver_through(&self, sender: Arc<dyn AlertSender>) {
        if let Ok(mut s) = self.inner.sender.lock() {
            *s = Some(sender);
        }
        self.inner.wake.notify_one();
    }

    fn sender(&self) -> Option<Arc<dyn AlertSender>> {
        self.inner.sender.lock().ok().and_then(|s| s.clone())
    }

    /// Decide digests' trading days by `calendar` (the provider's, which
    /// the schedule asks too) rather than the built-in NYSE calendar.
    pub fn use_calendar(&self, calendar: crate::market::session_calendar::SessionCalendar) {
        let _ = self.inner.calendar.set(calendar);
    }

    /// Start the runtime: until `shutdown`, evaluate every new screen
    /// `state` publishes, check digests each half minute (and read a book
    /// that was out of reach), and deliver with retries once a sender is
    /// connected. The task ends at `shutdown`.
    pub fn spawn(&self, state: AppState, shutdown: CancellationToken) -> JoinHandle<()> {
        tokio::spawn(self.clone().run(state, shutdown))
    }

    async fn run(self, state: AppState, shutdown: CancellationToken) {
        let book = &self.inner.book;
        let mut rx = state.subscribe();
        let mut last = rx.borrow().clone();
        if book.read().await
            && let Err(e) = self.prime(&last).await
        {
            tracing::error!(error = %e, "alert evaluation of the current screen not saved");
        }
        let mut retry_at: Option<tokio::time::Instant> = Some(tokio::time::Instant::now());
        let mut digest_tick = tokio::time::interval(DIGEST_TICK);
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
                    // The risk view lands in a swap of its own, after the
                    // screen's (see runner::reload).
                    if risk_changed(&last, &current)
                        && let Err(e) = self.on_new_risk(&last, &current).await
                    {
                        tracing::error!(error = %e, "risk alert evaluation not saved; it runs again with the next risk view");
                    }
                    last = current;
                    retry_at = Some(tokio::time::Instant::now());
                }
                _ = digest_tick.tick() => {
                    let snap = state.snapshot();
                    // A book that was out of reach: read it now, and catch up
                    // with the screen it missed.
                    if book.state() == BookState::Unreachable && book.read().await {
                        tracing::info!("alert book read; alerts are on");
                        if let Err(e) = self.prime(&snap).await {
                            tracing::error!(error = %e, "alert evaluation of the current screen not saved");
                        }
                    }
                    match self.check_digests(Utc::now(), &snap).await {
                        Ok(n) if n > 0 => retry_at = Some(tokio::time::Instant::now()),
                        Ok(_) => {}
                        Err(e) => tracing::error!(error = %e, "digest check not saved"),
                    }
                }
                () = self.inner.wake.notified() => retry_at = Some(tokio::time::Instant::now()),
                () = tokio::time::sleep_until(deliver_at) => {
                    retry_at = match self.sender() {
                        Some(sender) => self
                            .deliver_pass(sender.as_ref())
                            .await
                            .map(|w| tokio::time::Instant::now() + w),
                        // Nothing to send through yet: connecting one wakes us.
                        None => None,
                    };
                }
            }
        }
    }
}

/// What an evaluation gives: the messages and the rules' next states.
type Evaluated = (Vec<Notification>, BTreeMap<u64, RuleState>);

/// Whether `current` holds another risk view than `last` (a new view is a
/// new `Arc`; evaluation itself is idempotent per date).
fn risk_changed(last: &Snapshot, current: &Snapshot) -> bool {
    match (&last.risk, &current.risk) {
        (_, None) => false,
        (None, Some(_)) => true,
        (Some(a), Some(b)) => !Arc::ptr_eq(a, b),
    }
}

#[cfg(test)]
mod tests;
