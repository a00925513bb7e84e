//! The outbox: messages waiting for delivery, oldest first, stored in the
//! alert document next to the rules (so evaluation, enqueueing and
//! delivery are recorded by one write), and who may be sent anything.
//!
//! Only the chats of the [`Audience`] (the bot's allow-lists) are ever
//! queued anything: a chat removed from `telegram.allowed_chat_ids` keeps
//! its rules, but nothing is queued for it and what was queued is dropped.

use std::collections::HashSet;

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};

use super::rules::Notification;
use crate::access::{Access, Role};
use crate::config::is_telegram_chat_id;

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

/// The queue as stored: its fields are fields of the alert document
/// (`outbox`, `next_item`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Outbox {
    /// Undelivered messages, oldest first.
    #[serde(rename = "outbox")]
    pub items: Vec<OutboxItem>,
    /// The last id handed out.
    pub next_item: u64,
}

/// The chats that may be sent anything: the bot's allow-lists (readers
/// and admins), followed as they are reloaded, or a fixed set.
#[derive(Debug, Clone, Default)]
pub struct Audience {
    fixed: HashSet<i64>,
    lists: Option<Access>,
}

impl Audience {
    /// These chats.
    pub fn new(chats: impl IntoIterator<Item = i64>) -> Self {
        Self {
            fixed: chats.into_iter().collect(),
            lists: None,
        }
    }

    /// Whoever the allow-lists allow at the moment of sending: a chat
    /// taken off them (a SIGHUP reload) is sent nothing more.
    pub fn following(lists: Access) -> Self {
        Self {
            fixed: HashSet::new(),
            lists: Some(lists),
        }
    }

    /// May `chat` be sent anything? A chat id no Telegram chat can have (a
    /// book written before such ids were refused at load) never is:
    /// teloxide panics on it.
    pub fn may_receive(&self, chat: i64) -> bool {
        is_telegram_chat_id(chat)
            && match &self.lists {
                Some(lists) => lists.role(chat) != Role::Refused,
                None => self.fixed.contains(&chat),
            }
    }
}

impl Outbox {
    /// Messages waiting.
    pub fn len(&self) -> usize {
        self.items.len()
    }

    /// Nothing waiting?
    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }

    /// Queue one message per notification whose chat is in `audience`,
    /// its text from `render`, stamped `now`. Returns how many were queued.
    pub fn enqueue(
        &mut self,
        notes: &[Notification],
        audience: &Audience,
        render: impl Fn(&Notification) -> String,
        now: DateTime<Utc>,
    ) -> usize {
        let mut queued = 0;
        for note in notes {
            if !audience.may_receive(note.chat) {
                tracing::debug!(
                    chat_id = note.chat,
                    "not on the allow-lists: alert not queued"
                );
                continue;
            }
            queued += 1;
            self.next_item += 1;
            self.items.push(OutboxItem {
                id: self.next_item,
                chat: note.chat,
                date: note.date,
                html: render(note),
                attempts: 0,
                queued_at: now,
            });
        }
        queued
    }

    /// Is anything queued for a chat outside `audience`?
    pub fn has_strays(&self, audience: &Audience) -> bool {
        self.items.iter().any(|i| !audience.may_receive(i.chat))
    }

    /// Drop what is queued for chats outside `audience` (each logged).
    pub fn drop_strays(&mut self, audience: &Audience) {
        self.items.retain(|i| {
            let keep = audience.may_receive(i.chat);
            if !keep {
                tracing::warn!(
                    chat_id = i.chat,
                    "chat is no longer on the allow-lists: its queued alert is dropped"
                );
            }
            keep
        });
    }

    /// The next messages to send together: oldest first, at most one per
    /// chat (so a chat's messages keep their order), at most `max`.
    pub fn next_batch(&self, max: usize) -> Vec<OutboxItem> {
        let mut chats = HashSet::new();
        self.items
            .iter()
            .filter(|i| chats.insert(i.chat))
            .take(max)
            .cloned()
            .collect()
    }

    /// Remove message `id` (delivered, or given up).
    pub fn remove(&mut self, id: u64) {
        self.items.retain(|i| i.id != id);
    }

    /// Remove every message queued for `chat`.
    pub fn remove_chat(&mut self, chat: i64) {
        self.items.retain(|i| i.chat != chat);
    }

    /// Record that message `id` has failed `attempts` times.
    pub fn set_attempts(&mut self, id: u64, attempts: u32) {
        if let Some(i) = self.items.iter_mut().find(|i| i.id == id) {
            i.attempts = attempts;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn note(chat: i64) -> Notification {
        Notification {
            chat,
            date: "2026-11-23".parse().unwrap(),
            fired: Vec::new(),
            digest: true,
        }
    }

    #[test]
    fn an_audience_following_the_lists_drops_a_chat_taken_off_them() {
        let lists = Access::new(&[10, 20], &[]);
        let audience = Audience::following(lists.clone());
        assert!(audience.may_receive(10) && audience.may_receive(20));
        lists.replace_with(&Access::new(&[20], &[]));
        assert!(!audience.may_receive(10));
        assert!(audience.may_receive(20));
    }

    #[test]
    fn only_the_audience_is_queued_and_a_batch_is_one_per_chat_oldest_first() {
        let audience = Audience::new([10, 20, 2_000_000_000_000]);
        let mut outbox = Outbox::default();
        let notes = [
            note(10),
            note(30),
            note(2_000_000_000_000),
            note(10),
            note(20),
        ];
        let queued = outbox.enqueue(&notes, &audience, |n| n.chat.to_string(), Utc::now());
        assert_eq!(
            queued, 3,
            "chat 30 is not in the audience, the huge id is no chat"
        );
        let ids: Vec<(u64, i64)> = outbox.items.iter().map(|i| (i.id, i.chat)).collect();
        assert_eq!(ids, [(1, 10), (2, 10), (3, 20)]);
        let batch: Vec<u64> = outbox.next_batch(30).iter().map(|i| i.id).collect();
        assert_eq!(
            batch,
            [1, 3],
            "chat 10's second message waits for its first"
        );
        assert_eq!(outbox.next_batch(1).len(), 1);
        assert!(!outbox.has_strays(&audience));
        let narrower = Audience::new([20]);
        assert!(outbox.has_strays(&narrower));
        outbox.drop_strays(&narrower);
        assert_eq!(outbox.len(), 1);
        outbox.set_attempts(3, 2);
        assert_eq!(outbox.items[0].attempts, 2);
        outbox.remove_chat(20);
        assert!(outbox.is_empty());
        assert_eq!(outbox.next_item, 3, "ids are never reused");
    }
}
