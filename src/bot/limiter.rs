//! Telegram's send limits, kept by dipwatch itself: at most 30 messages in
//! any second overall, one a second per chat, 20 a minute per group, and a
//! chat frozen for the `retry_after` of a 429. A send leaves the moment
//! these allow (no polling tick: teloxide's `Throttle` slept 250 ms after
//! every busy iteration, which was most of a reply's latency).
//!
//! [`Windows`] is the pure core (the send history and the arithmetic of
//! "when may this go"); [`Limiter`] puts it behind a lock and sleeps until
//! that instant.

use std::collections::{HashMap, VecDeque};
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// The limits (Telegram's published ones by default).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Messages in any one second, all chats together.
    pub overall_per_sec: usize,
    /// Shortest gap between two messages to the same chat.
    pub chat_interval: Duration,
    /// Messages in any one minute to one group (negative chat id).
    pub group_per_min: usize,
    /// Added to every window: Telegram counts arrivals, we count
    /// departures, and two requests can take different times to arrive.
    pub margin: Duration,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            overall_per_sec: 30,
            chat_interval: Duration::from_secs(1),
            group_per_min: 20,
            margin: Duration::from_millis(100),
        }
    }
}

/// Chats whose last send is older than this are forgotten.
const FORGET_AFTER: Duration = Duration::from_secs(120);

/// The sends inside the windows: the pure core of [`Limiter`].
#[derive(Debug)]
pub struct Windows {
    limits: Limits,
    /// Departures inside the last overall window, oldest first.
    overall: VecDeque<Instant>,
    /// Last departure per chat.
    chats: HashMap<i64, Instant>,
    /// Departures inside the last minute per group, oldest first.
    groups: HashMap<i64, VecDeque<Instant>>,
    /// Chats Telegram asked to wait (429), until when.
    frozen: HashMap<i64, Instant>,
}

impl Windows {
    /// No sends yet.
    pub fn new(limits: Limits) -> Self {
        Self {
            limits,
            overall: VecDeque::new(),
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
    /// keeps every limit.
    pub fn earliest(&mut self, chat: i64, now: Instant) -> Instant {
        self.forget(now);
        let mut at = now;
        if self.overall.len() >= self.limits.overall_per_sec.max(1) {
            let i = self.overall.len() - self.limits.overall_per_sec.max(1);
            at = at.max(self.overall[i] + self.overall_window());
        }
        if let Some(last) = self.chats.get(&chat) {
            at = at.max(*last + self.limits.chat_interval + self.limits.margin);
        }
        if chat < 0
            && let Some(sent) = self.groups.get(&chat)
            && sent.len() >= self.limits.group_per_min.max(1)
        {
            let i = sent.len() - self.limits.group_per_min.max(1);
            at = at.max(sent[i] + self.group_window());
        }
        if let Some(until) = self.frozen.get(&chat) {
            at = at.max(*until);
        }
        at
    }

    /// A message to `chat` leaves at `now`.
    pub fn record(&mut self, chat: i64, now: Instant) {
        self.overall.push_back(now);
        self.chats.insert(chat, now);
        if chat < 0 {
            self.groups.entry(chat).or_default().push_back(now);
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
        let overall = self.overall_window();
        while self
            .overall
            .front()
            .is_some_and(|t| now.saturating_duration_since(*t) >= overall)
        {
            self.overall.pop_front();
        }
        let group = self.group_window();
        self.groups.retain(|_, sent| {
            while sent
                .front()
                .is_some_and(|t| now.saturating_duration_since(*t) >= group)
            {
                sent.pop_front();
            }
            !sent.is_empty()
        });
        self.chats
            .retain(|_, t| now.saturating_duration_since(*t) < FORGET_AFTER);
        self.frozen.retain(|_, until| *until > now);
    }
}

/// [`Windows`] shared by every sender: replies, alerts, refusals.
#[derive(Debug)]
pub struct Limiter {
    windows: Mutex<Windows>,
}

impl Limiter {
    /// A limiter with `limits`.
    pub fn new(limits: Limits) -> Self {
        Self {
            windows: Mutex::new(Windows::new(limits)),
        }
    }

    /// Wait until a message to `chat` may leave, and count it as sent.
    pub async fn acquire(&self, chat: i64) {
        loop {
            let at = {
                let mut w = self.windows.lock().unwrap_or_else(|e| e.into_inner());
                // tokio's clock, so tests can pause it.
                let now = tokio::time::Instant::now().into_std();
                let at = w.earliest(chat, now);
                if at <= now {
                    w.record(chat, now);
                    return;
                }
                at
            };
            // Others may take the slot first; then compute again.
            tokio::time::sleep_until(at.into()).await;
        }
    }

    /// Telegram answered 429 for `chat`: nothing more to it for `wait`.
    pub fn freeze(&self, chat: i64, wait: Duration) {
        self.windows
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .freeze(chat, wait, tokio::time::Instant::now().into_std());
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
    fn schedule(w: &mut Windows, t0: Instant, chats: &[i64]) -> Vec<Instant> {
        chats
            .iter()
            .map(|&c| {
                let at = w.earliest(c, t0);
                w.record(c, at);
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
        assert_eq!(at[30], t0 + ms(1100));
        // No one-second window (plus the margin) ever holds more than 30.
        for (i, t) in at.iter().enumerate() {
            let within = at[i..]
                .iter()
                .filter(|u| u.duration_since(*t) < ms(1100))
                .count();
            assert!(within <= 30, "{within} sends within a second of #{i}");
        }
    }

    #[test]
    fn one_chat_gets_one_message_a_second() {
        let mut w = Windows::new(Limits::default());
        let t0 = Instant::now();
        let at = schedule(&mut w, t0, &[7, 7, 8, 7]);
        assert_eq!(at, [t0, t0 + ms(1100), t0, t0 + ms(2200)]);
    }

    #[test]
    fn a_group_gets_twenty_a_minute() {
        let mut w = Windows::new(Limits::default());
        let t0 = Instant::now();
        let at = schedule(&mut w, t0, &[-5; 21]);
        assert_eq!(at[19], t0 + ms(1100 * 19));
        assert_eq!(at[20], t0 + Duration::from_secs(60) + ms(100));
    }

    #[test]
    fn a_429_freezes_that_chat_only() {
        let mut w = Windows::new(Limits::default());
        let t0 = Instant::now();
        w.freeze(7, Duration::from_secs(5), t0);
        assert_eq!(w.earliest(7, t0), t0 + Duration::from_secs(5));
        assert_eq!(w.earliest(8, t0), t0);
        assert_eq!(
            w.earliest(7, t0 + Duration::from_secs(6)),
            t0 + Duration::from_secs(6)
        );
    }

    #[tokio::test]
    async fn acquire_waits_until_the_window_allows() {
        let l = Limiter::new(Limits {
            chat_interval: ms(40),
            margin: ms(10),
            ..Limits::default()
        });
        let t0 = Instant::now();
        l.acquire(1).await;
        l.acquire(2).await;
        l.acquire(1).await;
        assert!(
            t0.elapsed() >= ms(50),
            "the second message to chat 1 waited"
        );
    }
}
