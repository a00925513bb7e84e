//! Per-chat lanes of updates, the pure core of [`super::dispatch`].
//!
//! Each chat's updates are answered one after the other (in order), and
//! different chats in parallel. A chat holds at most [`PER_CHAT`] updates
//! (the one being answered and those waiting); more are dropped at once
//! and counted, and the chat is told how many once its lane is empty.
//! So a chat that sends faster than Telegram lets the bot answer it (about
//! one message a second) never makes the poller, or any other chat, wait.
//!
//! The book also knows which fetched updates are not finished yet: the
//! poller stops fetching while too many are (Telegram keeps the rest, and
//! they are not confirmed), and at shutdown only finished ones are
//! confirmed.

use std::collections::{BTreeSet, HashMap, VecDeque};

/// Updates one chat may have in the bot at once (answered + waiting), by
/// default: about four seconds of replies at Telegram's per-chat rate, so
/// a stop can still answer them.
pub const PER_CHAT: usize = 4;

/// What to do with an update just fetched.
#[derive(Debug, PartialEq, Eq)]
pub enum Admit {
    /// The chat was idle: start answering it now (a new lane).
    Start,
    /// Queued behind the chat's update being answered.
    Queued,
    /// The chat already has [`PER_CHAT`]: dropped (and counted).
    Dropped,
}

/// What a lane does after finishing an update.
#[derive(Debug, PartialEq, Eq)]
pub enum Next<T> {
    /// Answer this one next.
    Run(T),
    /// Nothing waiting: the lane ends; `dropped` updates were dropped
    /// since the chat was last told.
    Idle {
        /// Updates dropped for this chat, to tell it about.
        dropped: usize,
    },
}

#[derive(Debug)]
struct Lane<T> {
    waiting: VecDeque<(u32, T)>,
    dropped: usize,
}

/// Every chat's lane and the unfinished update ids.
#[derive(Debug)]
pub struct Book<T> {
    per_chat: usize,
    lanes: HashMap<i64, Lane<T>>,
    unfinished: BTreeSet<u32>,
}

impl<T> Default for Book<T> {
    fn default() -> Self {
        Self::new(PER_CHAT)
    }
}

impl<T> Book<T> {
    /// Lanes holding at most `per_chat` updates each (at least one).
    pub fn new(per_chat: usize) -> Self {
        Self {
            per_chat: per_chat.max(1),
            lanes: HashMap::new(),
            unfinished: BTreeSet::new(),
        }
    }

    /// Update `id` (carrying `item`) from `chat` arrives. On
    /// [`Admit::Start`] the caller answers `item` itself; on
    /// [`Admit::Queued`] the book keeps it; on [`Admit::Dropped`] it is
    /// gone (and finished).
    pub fn admit(&mut self, chat: i64, id: u32, item: T) -> (Admit, Option<T>) {
        match self.lanes.get_mut(&chat) {
            None => {
                self.lanes.insert(
                    chat,
                    Lane {
                        waiting: VecDeque::new(),
                        dropped: 0,
                    },
                );
                self.unfinished.insert(id);
                (Admit::Start, Some(item))
            }
            Some(lane) if lane.waiting.len() + 1 < self.per_chat => {
                lane.waiting.push_back((id, item));
                self.unfinished.insert(id);
                (Admit::Queued, None)
            }
            Some(lane) => {
                lane.dropped += 1;
                (Admit::Dropped, None)
            }
        }
    }

    /// `chat`'s lane finished update `id`: what it does next.
    pub fn finish(&mut self, chat: i64, id: u32) -> Next<T> {
        self.unfinished.remove(&id);
        let Some(lane) = self.lanes.get_mut(&chat) else {
            return Next::Idle { dropped: 0 };
        };
        match lane.waiting.pop_front() {
            Some((_, item)) => Next::Run(item),
            None => {
                let dropped = lane.dropped;
                self.lanes.remove(&chat);
                Next::Idle { dropped }
            }
        }
    }

    /// Updates fetched and not finished (answered or dropped) yet.
    pub fn unfinished(&self) -> usize {
        self.unfinished.len()
    }

    /// The offset that confirms exactly the finished updates below
    /// `next`, the offset after everything fetched: the lowest
    /// unfinished id, or `next` when all are finished.
    pub fn confirm_up_to(&self, next: u32) -> u32 {
        self.unfinished
            .first()
            .copied()
            .map_or(next, |u| u.min(next))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_chat_holds_at_most_per_chat_and_the_excess_is_counted_once() {
        let mut b = Book::default();
        assert_eq!(b.admit(7, 1, "a"), (Admit::Start, Some("a")));
        for id in 2..=PER_CHAT as u32 {
            assert_eq!(b.admit(7, id, "q"), (Admit::Queued, None));
        }
        for id in 10..210 {
            assert_eq!(b.admit(7, id, "x"), (Admit::Dropped, None));
        }
        // Another chat is not affected.
        assert_eq!(b.admit(8, 300, "b"), (Admit::Start, Some("b")));
        assert_eq!(b.unfinished(), PER_CHAT + 1);
        for id in 1..PER_CHAT as u32 {
            assert_eq!(b.finish(7, id), Next::Run("q"));
        }
        assert_eq!(b.finish(7, PER_CHAT as u32), Next::Idle { dropped: 200 });
        // A new lane starts from zero drops.
        assert_eq!(b.admit(7, 400, "c"), (Admit::Start, Some("c")));
        assert_eq!(b.finish(7, 400), Next::Idle { dropped: 0 });
    }

    #[test]
    fn only_finished_updates_are_confirmed() {
        let mut b = Book::default();
        b.admit(7, 5, ());
        b.admit(7, 6, ());
        b.admit(8, 7, ());
        assert_eq!(b.confirm_up_to(8), 5);
        b.finish(8, 7);
        assert_eq!(b.confirm_up_to(8), 5, "7 is done, 5 is not");
        b.finish(7, 5);
        assert_eq!(b.confirm_up_to(8), 6);
        b.finish(7, 6);
        assert_eq!(b.confirm_up_to(8), 8);
    }
}
