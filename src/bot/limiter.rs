//! Telegram's send limits, kept by dipwatch itself: at most 30 messages in
//! any second overall, one a second per chat, 20 a minute per group, and a
//! chat frozen for the `retry_after` of a 429. A send leaves the moment
//! these allow (no polling tick: teloxide's `Throttle` slept 250 ms after
//! every busy iteration, which was most of a reply's latency).
//!
//! Telegram counts messages when they arrive, and a request can take any
//! time to get there (a loaded host, a slow network). So a message counts
//! as in flight until its answer is back, and its window starts then: the
//! next message that window allows leaves after that answer, so it arrives
//! after the earlier one did, however long either took.
//!
//! [`Windows`] is the pure core (the history and the arithmetic of "when
//! may this go"); [`Limiter`] puts it behind a lock and waits until then.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio::sync::Notify;

/// The limits (Telegram's published ones by default).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Messages in any one second, all chats together.
    pub overall_per_sec: usize,
    /// Shortest gap between two messages to the same chat.
    pub chat_interval: Duration,
    /// Messages in any one minute to one group (negative chat id).
    pub group_per_min: usize,
    /// Added to every window, for Telegram's own clock.
    pub margin: Duration,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            overall_per_sec: 30,
            chat_interval: Duration::from_secs(1),
            group_per_min: 20,
            margin: Duration::from_millis(50),
        }
    }
}

/// Chats whose last message is older than this are forgotten.
const FORGET_AFTER: Duration = Duration::from_secs(120);

/// One message: its ticket, and when its answer came back (`None`: in
/// flight).
type Sent = (u64, Option<Instant>);

/// The messages inside the windows: the pure core of [`Limiter`].
#[derive(Debug)]
pub struct Windows {
    limits: Limits,
    next_ticket: u64,
    /// Messages the overall window sees.
    overall: Vec<Sent>,
    /// Last message per chat.
    chats: HashMap<i64, Sent>,
    /// Messages the minute window of each group sees.
    groups: HashMap<i64, Vec<Sent>>,
    /// Chats Telegram asked to wait (429), until when.
    frozen: HashMap<i64, Instant>,
}

/// Among `sent` (none older than the window), when `cap` allows one more:
/// `Some(now)` at once, `Some(t)` once enough have left the window,
/// `None` after an answer that is still in flight.
fn window_allows(sent: &[Sent], cap: usize, window: Duration, now: Instant) -> Option<Instant> {
    let cap = cap.max(1);
    if sent.len() < cap {
        return Some(now);
    }
    let need = sent.len() - cap + 1;
    let mut done: Vec<Instant> = sent.iter().filter_map(|(_, t)| *t).collect();
    if done.len() < need {
        return None;
    }
    done.sort_unstable();
    Some(now.max(done[need - 1] + window))
}

impl Windows {
    /// No messages yet.
    pub fn new(limits: Limits) -> Self {
        Self {
            limits,
            next_ticket: 0,
            overall: Vec::new(),
            chats: HashMap::new(),
            groups: HashMap::new(),
            frozen: HashMap::new(),
        }
    }

    fn overall_window(&self) -> Duration {
        Duration::from_secs(1) + self.limits.margin
    }

    fn group_window(&self) -> Duration {
        Duration::from_secs(60) + self.limits.margin
    }

    /// The earliest instant, `now` or later, at which a message to `chat`
    /// keeps every limit; `None` when that depends on an answer still in
    /// flight (ask again once one is back).
    pub fn earliest(&mut self, chat: i64, now: Instant) -> Option<Instant> {
        self.forget(now);
        let mut at = window_allows(
            &self.overall,
            self.limits.overall_per_sec,
            self.overall_window(),
            now,
        )?;
        match self.chats.get(&chat) {
            Some((_, None)) => return None,
            Some((_, Some(t))) => at = at.max(*t + self.limits.chat_interval + self.limits.margin),
            None => {}
        }
        if let Some(sent) = self.groups.get(&chat) {
            at = at.max(window_allows(
                sent,
                self.limits.group_per_min,
                self.group_window(),
                now,
            )?);
        }
        if let Some(until) = self.frozen.get(&chat) {
            at = at.max(*until);
        }
        Some(at)
    }

    /// A message to `chat` leaves now; its ticket for [`Windows::answered`].
    pub fn start(&mut self, chat: i64) -> u64 {
        self.next_ticket += 1;
        let ticket = self.next_ticket;
        self.overall.push((ticket, None));
        self.chats.insert(chat, (ticket, None));
        if chat < 0 {
            self.groups.entry(chat).or_default().push((ticket, None));
        }
        ticket
    }

    /// The answer to message `ticket` to `chat` came back at `now` (or the
    /// request ended otherwise): its windows start.
    pub fn answered(&mut self, chat: i64, ticket: u64, now: Instant) {
        let mark = |sent: &mut Sent| {
            if sent.0 == ticket {
                sent.1 = Some(now);
            }
        };
        self.overall.iter_mut().for_each(mark);
        if let Some(last) = self.chats.get_mut(&chat) {
            mark(last);
        }
        if let Some(sent) = self.groups.get_mut(&chat) {
            sent.iter_mut().for_each(mark);
        }
    }

    /// Telegram asked to wait `wait` before the next message to `chat`.
    pub fn freeze(&mut self, chat: i64, wait: Duration, now: Instant) {
        let until = now + wait;
        let e = self.frozen.entry(chat).or_insert(until);
        *e = (*e).max(until);
    }

    /// Drop what no window can see any more (memory stays bounded by the
    /// chats active in the last two minutes).
    fn forget(&mut self, now: Instant) {
        let expired = |window: Duration| {
            move |(_, t): &Sent| t.is_some_and(|t| now.saturating_duration_since(t) >= window)
        };
        let overall = expired(self.overall_window());
        self.overall.retain(|s| !overall(s));
        let group = expired(self.group_window());
        self.groups.retain(|_, sent| {
            sent.retain(|s| !group(s));
            !sent.is_empty()
        });
        let chat = expired(FORGET_AFTER);
        self.chats.retain(|_, s| !chat(s));
        self.frozen.retain(|_, until| *until > now);
    }
}

/// [`Windows`] shared by every sender: replies, alerts, refusals. Cheap to
/// clone.
#[derive(Debug, Clone)]
pub struct Limiter {
    shared: Arc<Shared>,
}

#[derive(Debug)]
struct Shared {
    windows: Mutex<Windows>,
    /// An answer came back: waiters compute again.
    answered: Notify,
}

/// A message allowed to leave; dropping it (when the answer is back, or
/// the request ended any other way) starts its windows.
#[derive(Debug)]
pub struct Permit {
    shared: Arc<Shared>,
    chat: i64,
    ticket: u64,
}

impl Drop for Permit {
    fn drop(&mut self) {
        self.shared
            .windows
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .answered(self.chat, self.ticket, now());
        self.shared.answered.notify_waiters();
    }
}

/// tokio's clock, so tests can pause it.
fn now() -> Instant {
    tokio::time::Instant::now().into_std()
}

impl Limiter {
    /// A limiter with `limits`.
    pub fn new(limits: Limits) -> Self {
        Self {
            shared: Arc::new(Shared {
                windows: Mutex::new(Windows::new(limits)),
                answered: Notify::new(),
            }),
        }
    }

    /// Wait until a message to `chat` may leave; hold the permit until its
    /// answer is back.
    pub async fn acquire(&self, chat: i64) -> Permit {
        loop {
            // Registered before looking, so an answer in between wakes us.
            let answered = self.shared.answered.notified();
            tokio::pin!(answered);
            answered.as_mut().enable();
            let at = {
                let mut w = self
                    .shared
                    .windows
                    .lock()
                    .unwrap_or_else(|e| e.into_inner());
                let now = now();
                match w.earliest(chat, now) {
                    Some(at) if at <= now => {
                        let ticket = w.start(chat);
                        return Permit {
                            shared: self.shared.clone(),
                            chat,
                            ticket,
                        };
                    }
                    other => other,
                }
            };
            // Others may take the slot first; then compute again.
            match at {
                Some(at) => tokio::select! {
                    () = tokio::time::sleep_until(at.into()) => {}
                    () = &mut answered => {}
                },
                None => answered.await,
            }
        }
    }

    /// Telegram answered 429 for `chat`: nothing more to it for `wait`.
    pub fn freeze(&self, chat: i64, wait: Duration) {
        self.shared
            .windows
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .freeze(chat, wait, now());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    /// Send as fast as the windows allow: each message goes at the
    /// earliest instant for its chat, in the order given.
    /// Each answer comes back the instant the message leaves.
    fn schedule(w: &mut Windows, t0: Instant, chats: &[i64]) -> Vec<Instant> {
        chats
            .iter()
            .map(|&c| {
                let at = w.earliest(c, t0).expect("nothing in flight");
                let ticket = w.start(c);
                w.answered(c, ticket, at);
                at
            })
            .collect()
    }

    #[test]
    fn thirty_chats_go_at_once_and_the_thirty_first_waits_out_the_window() {
        let mut w = Windows::new(Limits::default());
        let t0 = Instant::now();
        let chats: Vec<i64> = (1..=100).collect();
        let at = schedule(&mut w, t0, &chats);
        assert!(at[..30].iter().all(|t| *t == t0));
        assert_eq!(at[30], t0 + ms(1050));
        // No one-second window (plus the margin) ever holds more than 30.
        for (i, t) in at.iter().enumerate() {
            let within = at[i..]
                .iter()
                .filter(|u| u.duration_since(*t) < ms(1050))
                .count();
            assert!(within <= 30, "{within} sends within a second of #{i}");
        }
    }

    #[test]
    fn one_chat_gets_one_message_a_second() {
        let mut w = Windows::new(Limits::default());
        let t0 = Instant::now();
        let at = schedule(&mut w, t0, &[7, 7, 8, 7]);
        assert_eq!(at, [t0, t0 + ms(1050), t0, t0 + ms(2100)]);
    }

    #[test]
    fn a_group_gets_twenty_a_minute() {
        let mut w = Windows::new(Limits::default());
        let t0 = Instant::now();
        let at = schedule(&mut w, t0, &[-5; 21]);
        assert_eq!(at[19], t0 + ms(1050 * 19));
        assert_eq!(at[20], t0 + Duration::from_secs(60) + ms(50));
    }

    #[test]
    fn a_429_freezes_that_chat_only() {
        let mut w = Windows::new(Limits::default());
        let t0 = Instant::now();
        w.freeze(7, Duration::from_secs(5), t0);
        assert_eq!(w.earliest(7, t0), Some(t0 + Duration::from_secs(5)));
        assert_eq!(w.earliest(8, t0), Some(t0));
        assert_eq!(
            w.earliest(7, t0 + Duration::from_secs(6)),
            Some(t0 + Duration::from_secs(6))
        );
    }

    /// A window starts when the answer is back, not when the message
    /// left: a slow answer delays the next message by as much, so arrivals
    /// keep the gap whatever the transit time.
    #[test]
    fn windows_start_when_the_answer_is_back() {
        let mut w = Windows::new(Limits::default());
        let t0 = Instant::now();
        let ticket = w.start(7);
        assert_eq!(w.earliest(7, t0 + ms(500)), None, "in flight");
        w.answered(7, ticket, t0 + ms(800));
        assert_eq!(w.earliest(7, t0 + ms(900)), Some(t0 + ms(1850)));
        // 30 in flight hold the overall window until answers come back.
        let mut w = Windows::new(Limits::default());
        let tickets: Vec<(i64, u64)> = (1..=30).map(|c| (c, w.start(c))).collect();
        assert_eq!(w.earliest(99, t0), None);
        w.answered(tickets[0].0, tickets[0].1, t0 + ms(200));
        assert_eq!(w.earliest(99, t0 + ms(300)), Some(t0 + ms(1250)));
    }

    #[tokio::test]
    async fn acquire_waits_until_the_window_allows() {
        let l = Limiter::new(Limits {
            chat_interval: ms(40),
            margin: ms(10),
            ..Limits::default()
        });
        let t0 = Instant::now();
        drop(l.acquire(1).await);
        drop(l.acquire(2).await);
        let held = l.acquire(3).await;
        drop(l.acquire(1).await);
        assert!(
            t0.elapsed() >= ms(50),
            "the second message to chat 1 waited"
        );
        // A chat whose message is in flight waits for its answer.
        let waiter = tokio::spawn({
            let l = l.clone();
            async move { drop(l.acquire(3).await) }
        });
        tokio::time::sleep(ms(100)).await;
        assert!(!waiter.is_finished(), "waits for the answer");
        drop(held);
        waiter.await.unwrap();
    }
}
