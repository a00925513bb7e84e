//! The stored document, `alerts/book.json`: rules and their states
//! ([`AlertBook`]), the outbox, and the defaults each chat was given
//! ([`AlertDoc`]), kept together so one atomic put records evaluation,
//! enqueueing and delivery, and they can never disagree after a crash.
//!
//! [`StoredAlerts`] holds it in memory. It is read once at start (retried while
//! the store is out of reach; never overwritten while unread or corrupt),
//! changed only whole ([`StoredAlerts::edit`]: clone, change, save, swap, so a
//! failed save changes nothing), and the set of chats with paused rules is
//! mirrored outside its lock, because the bot asks on every message and
//! must not wait behind a store write.

use std::collections::{BTreeMap, HashSet};

use serde::{Deserialize, Serialize};
use tokio::sync::Mutex;

use super::outbox::Outbox;
use super::parse::parse_alert;
use super::rules::{Rule, RuleKind, RuleState};
use crate::store::{ALERT_BOOK_PATH, Store, StoreError};

/// Rules and their states, as stored.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct AlertBook {
    /// Next id to hand out.
    pub next_id: u64,
    /// Rules, by id order.
    pub rules: Vec<Rule>,
    /// States, by rule id.
    pub states: BTreeMap<u64, RuleState>,
}

impl AlertBook {
    /// Add a rule for `chat`; returns its id.
    pub fn add(&mut self, chat: i64, kind: RuleKind) -> u64 {
        self.next_id = self
            .next_id
            .max(self.rules.iter().map(|r| r.id).max().unwrap_or(0))
            + 1;
        let id = self.next_id;
        self.rules.push(Rule {
            id,
            chat,
            kind,
            paused: false,
        });
        id
    }

    /// Remove `chat`'s rule `id`; false if it has none such.
    pub fn remove(&mut self, chat: i64, id: u64) -> bool {
        let before = self.rules.len();
        self.rules.retain(|r| !(r.id == id && r.chat == chat));
        self.states.remove(&id);
        self.rules.len() != before
    }

    /// `chat`'s rules.
    pub fn of_chat(&self, chat: i64) -> Vec<&Rule> {
        self.rules.iter().filter(|r| r.chat == chat).collect()
    }

    /// Pause or resume every rule of `chat` (403: the chat blocked the bot).
    pub fn set_paused(&mut self, chat: i64, paused: bool) {
        for r in self.rules.iter_mut().filter(|r| r.chat == chat) {
            r.paused = paused;
        }
    }

    /// The chats with at least one paused rule.
    pub fn paused_chats(&self) -> HashSet<i64> {
        self.rules
            .iter()
            .filter(|r| r.paused)
            .map(|r| r.chat)
            .collect()
    }
}

/// The stored document.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct AlertDoc {
    /// Rules and states.
    pub book: AlertBook,
    /// Undelivered messages, oldest first (stored as the document's
    /// `outbox` and `next_item`).
    #[serde(flatten)]
    pub outbox: Outbox,
    /// The `alerts.defaults` already given to each chat (never re-added
    /// after a chat deletes one).
    #[serde(default)]
    pub defaults_applied: BTreeMap<i64, Vec<String>>,
}

/// Whether the stored document could be read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum BookState {
    /// Read (or absent: a new one): changes are saved.
    Loaded,
    /// The store could not be reached: reading is retried.
    Unreachable,
    /// Present but unreadable: left as it is until someone fixes it.
    Corrupt,
}

/// What an edit of the document asks for (see [`StoredAlerts::edit`]).
pub(crate) enum Edit<T> {
    /// Save the changed document (one write) and keep it.
    Save(T),
    /// Save it only if it differs from the document (a 429 changes
    /// nothing, a delivery does).
    SaveIfChanged(T),
    /// Nothing worth saving: the document stays as it was.
    Discard(T),
}

/// The document in memory, with the store it lives in.
pub(crate) struct StoredAlerts {
    store: Store,
    doc: Mutex<AlertDoc>,
    /// Until the stored document is read, it is never overwritten and
    /// alerts are off.
    state: std::sync::Mutex<BookState>,
    /// Chats with paused rules, mirrored outside the document's lock.
    paused: std::sync::Mutex<HashSet<i64>>,
}

impl StoredAlerts {
    /// The document in `store` (an empty one if there is none), read now.
    pub(crate) async fn open(store: Store) -> Self {
        let book = Self {
            store,
            doc: Mutex::new(AlertDoc::default()),
            state: std::sync::Mutex::new(BookState::Unreachable),
            paused: std::sync::Mutex::new(HashSet::new()),
        };
        book.read().await;
        book
    }

    /// Whether the stored document was read.
    pub(crate) fn state(&self) -> BookState {
        self.state.lock().map_or(BookState::Corrupt, |b| *b)
    }

    /// Why alerts are off, when they are: the stored book could not be read
    /// (storage out of reach: retried) or is corrupt (left as it is until
    /// someone fixes or removes it). `None` once the book is loaded.
    pub(crate) fn problem(&self) -> Option<&'static str> {
        match self.state() {
            BookState::Loaded => None,
            BookState::Unreachable => Some(
                "alerts/book.json could not be read yet (storage out of reach; retried every 30 s)",
            ),
            BookState::Corrupt => {
                Some("alerts/book.json is unreadable: alerts are off until it is fixed or removed")
            }
        }
    }

    /// Read the stored document if it has not been read yet because the
    /// store was unreachable (at start, or at the last try). True once it
    /// is loaded.
    pub(crate) async fn read(&self) -> bool {
        match self.state() {
            BookState::Loaded => return true,
            BookState::Corrupt => return false,
            BookState::Unreachable => {}
        }
        let mut doc = self.doc.lock().await;
        let (state, loaded) = match self.store.read_doc::<AlertDoc>(ALERT_BOOK_PATH).await {
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
        if let Ok(mut b) = self.state.lock() {
            *b = state;
        }
        state == BookState::Loaded
    }

    /// Forget the document in memory and read the stored one again.
    pub(crate) async fn reread(&self) {
        if let Ok(mut b) = self.state.lock() {
            *b = BookState::Unreachable;
        }
        self.read().await;
    }

    async fn save(&self, doc: &AlertDoc) -> Result<(), StoreError> {
        match self.state() {
            BookState::Loaded => self.store.write_doc(ALERT_BOOK_PATH, doc).await,
            BookState::Unreachable => Err(StoreError::Config(
                "the alert book could not be read yet (storage out of reach); try again shortly"
                    .into(),
            )),
            BookState::Corrupt => Err(StoreError::Config(
                "the alert book is unreadable; fix or remove alerts/book.json".into(),
            )),
        }
    }

    /// Change the document: `change` works on a copy; when it asks to
    /// save it ([`Edit`]), the copy is written (one atomic put) and then
    /// replaces the document. A failed write changes nothing.
    pub(crate) async fn edit<T>(
        &self,
        change: impl FnOnce(&mut AlertDoc) -> Edit<T>,
    ) -> Result<T, StoreError> {
        let mut doc = self.doc.lock().await;
        let mut next = doc.clone();
        match change(&mut next) {
            Edit::Discard(value) => Ok(value),
            Edit::SaveIfChanged(value) if next == *doc => Ok(value),
            Edit::Save(value) | Edit::SaveIfChanged(value) => {
                self.save(&next).await?;
                self.mirror_paused(&next);
                *doc = next;
                Ok(value)
            }
        }
    }

    /// Read the document.
    pub(crate) async fn view<T>(&self, read: impl FnOnce(&AlertDoc) -> T) -> T {
        read(&*self.doc.lock().await)
    }

    /// Refresh the lock-free set of paused chats from `doc`.
    fn mirror_paused(&self, doc: &AlertDoc) {
        if let Ok(mut p) = self.paused.lock() {
            *p = doc.book.paused_chats();
        }
    }

    /// Has `chat` paused rules? Answered without the document's lock.
    pub(crate) fn is_paused(&self, chat: i64) -> bool {
        self.paused.lock().is_ok_and(|p| p.contains(&chat))
    }

    /// Add a rule for `chat`; its id.
    pub(crate) async fn add(&self, chat: i64, kind: RuleKind) -> Result<u64, StoreError> {
        self.edit(|doc| Edit::Save(doc.book.add(chat, kind))).await
    }

    /// Remove `chat`'s rule `id`; false if it had none such.
    pub(crate) async fn remove(&self, chat: i64, id: u64) -> Result<bool, StoreError> {
        self.edit(|doc| {
            if doc.book.remove(chat, id) {
                Edit::Save(true)
            } else {
                Edit::Discard(false)
            }
        })
        .await
    }

    /// `chat`'s rules.
    pub(crate) async fn rules_of(&self, chat: i64) -> Vec<Rule> {
        self.view(|doc| doc.book.of_chat(chat).into_iter().cloned().collect())
            .await
    }

    /// Give every chat in `chats` the `defaults` (in `/alert` syntax) it
    /// has not had yet. Returns how many rules were added.
    pub(crate) async fn apply_defaults(
        &self,
        chats: &[i64],
        defaults: &[String],
    ) -> Result<usize, StoreError> {
        let added = self
            .edit(|doc| {
                let mut added = 0;
                for chat in chats {
                    for spec in defaults {
                        let given = doc.defaults_applied.entry(*chat).or_default();
                        if given.contains(spec) {
                            continue;
                        }
                        given.push(spec.clone());
                        match parse_alert(spec) {
                            Ok(kind) => {
                                doc.book.add(*chat, kind);
                                added += 1;
                            }
                            Err(e) => {
                                tracing::warn!(%spec, error = %e.0, "alerts.defaults entry skipped");
                            }
                        }
                    }
                }
                if added > 0 {
                    Edit::Save(added)
                } else {
                    Edit::Discard(0)
                }
            })
            .await?;
        if added > 0 {
            tracing::info!(added, "default alerts given to allowed chats");
        }
        Ok(added)
    }

    /// Give a paused chat its rules back, from a fresh baseline (their
    /// states forgotten). True if anything was paused.
    pub(crate) async fn resume(&self, chat: i64) -> Result<bool, StoreError> {
        if !self.is_paused(chat) {
            return Ok(false);
        }
        self.edit(|doc| {
            if !doc.book.rules.iter().any(|r| r.chat == chat && r.paused) {
                return Edit::Discard(false);
            }
            doc.book.set_paused(chat, false);
            let ids: Vec<u64> = doc.book.of_chat(chat).iter().map(|r| r.id).collect();
            for id in ids {
                doc.book.states.remove(&id);
            }
            Edit::Save(true)
        })
        .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::alerts::outbox::OutboxItem;

    async fn open(dir: &std::path::Path) -> StoredAlerts {
        let store = Store::open(
            &crate::store::StorageUrl::Local(dir.to_path_buf()),
            &Default::default(),
        )
        .await
        .unwrap();
        StoredAlerts::open(store).await
    }

    #[test]
    fn the_book_adds_removes_and_pauses_per_chat() {
        let mut b = AlertBook::default();
        let a = b.add(10, RuleKind::Profit);
        let c = b.add(20, RuleKind::Profit);
        assert_ne!(a, c);
        assert!(!b.remove(20, a), "not your rule");
        assert!(b.remove(10, a));
        assert_eq!(b.of_chat(10).len(), 0);
        b.set_paused(20, true);
        assert!(b.rules[0].paused);
        let json = serde_json::to_string(&b).unwrap();
        assert_eq!(serde_json::from_str::<AlertBook>(&json).unwrap(), b);
    }

    /// `alerts/book.json` as this version's predecessors wrote it: read
    /// and written back byte for byte (every rule kind, states, a queued
    /// message, the defaults given).
    const STORED: &str = include_str!("book_format.json");

    #[test]
    fn the_stored_document_keeps_its_format() {
        let doc: AlertDoc = serde_json::from_str(STORED).unwrap();
        assert_eq!(doc.book.rules.len(), 5);
        assert_eq!(doc.outbox.next_item, 7);
        assert_eq!(
            doc.outbox.items,
            [OutboxItem {
                id: 7,
                chat: 10,
                date: "2026-11-23".parse().unwrap(),
                html: "<b>Alerts, 2026-11-23</b>\n• x".into(),
                attempts: 2,
                queued_at: "2026-11-23T21:05:00.123Z".parse().unwrap(),
            }]
        );
        assert_eq!(doc.defaults_applied[&10], ["profit"]);
        assert_eq!(doc.book.paused_chats(), HashSet::from([20]));
        assert_eq!(
            serde_json::to_string_pretty(&doc).unwrap(),
            STORED.trim_end()
        );
    }

    #[tokio::test]
    async fn a_document_without_an_outbox_is_corrupt_not_empty() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("alerts")).unwrap();
        std::fs::write(
            dir.path().join("alerts/book.json"),
            br#"{"book": {"next_id": 0, "rules": [], "states": {}}}"#,
        )
        .unwrap();
        let book = open(dir.path()).await;
        assert_eq!(book.state(), BookState::Corrupt);
    }

    #[tokio::test]
    async fn defaults_are_given_once_and_stay_deleted() {
        let dir = tempfile::tempdir().unwrap();
        let book = open(dir.path()).await;
        let defaults = vec![
            "profit".to_string(),
            "market below -20 count 50".to_string(),
        ];
        assert_eq!(book.apply_defaults(&[10, 20], &defaults).await.unwrap(), 4);
        assert_eq!(
            book.apply_defaults(&[10, 20], &defaults).await.unwrap(),
            0,
            "idempotent"
        );
        let id = book.rules_of(10).await[0].id;
        assert!(book.remove(10, id).await.unwrap());
        let restarted = open(dir.path()).await;
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

    /// Removing another chat's rule changes nothing, its state included.
    #[tokio::test]
    async fn removing_a_rule_of_another_chat_keeps_its_state() {
        let dir = tempfile::tempdir().unwrap();
        let book = open(dir.path()).await;
        let id = book.add(10, RuleKind::Profit).await.unwrap();
        book.edit(|doc| {
            doc.book.states.insert(id, RuleState::default());
            Edit::Save(())
        })
        .await
        .unwrap();
        assert!(!book.remove(20, id).await.unwrap());
        assert!(book.view(|doc| doc.book.states.contains_key(&id)).await);
        let restarted = open(dir.path()).await;
        assert!(
            restarted
                .view(|doc| doc.book.states.contains_key(&id))
                .await
        );
    }

    #[tokio::test]
    async fn a_book_out_of_reach_at_start_is_read_later_never_overwritten() {
        let dir = tempfile::tempdir().unwrap();
        open(dir.path())
            .await
            .add(10, RuleKind::Profit)
            .await
            .unwrap();
        // The store cannot answer for the book (as when S3 is down at start).
        let book_dir = dir.path().join("alerts");
        let aside = dir.path().join("alerts.aside");
        std::fs::rename(&book_dir, &aside).unwrap();
        std::fs::write(&book_dir, b"not a directory").unwrap();
        let book = open(dir.path()).await;
        assert_eq!(book.state(), BookState::Unreachable);
        assert!(book.problem().is_some());
        assert!(book.rules_of(10).await.is_empty(), "off until read");
        assert!(
            book.add(10, RuleKind::Profit).await.is_err(),
            "nothing saved over it"
        );
        // The store answers again: the next try reads the book whole.
        std::fs::remove_file(&book_dir).unwrap();
        std::fs::rename(&aside, &book_dir).unwrap();
        assert!(book.read().await);
        assert_eq!(book.rules_of(10).await.len(), 1);
        assert!(book.add(10, RuleKind::Profit).await.is_ok());
        assert_eq!(open(dir.path()).await.rules_of(10).await.len(), 2);
    }

    #[tokio::test]
    async fn a_corrupt_book_is_left_alone_and_refuses_changes() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("alerts")).unwrap();
        std::fs::write(dir.path().join("alerts/book.json"), b"{not json").unwrap();
        let book = open(dir.path()).await;
        assert!(book.add(10, RuleKind::Profit).await.is_err());
        assert_eq!(
            std::fs::read(dir.path().join("alerts/book.json")).unwrap(),
            b"{not json"
        );
    }
}
