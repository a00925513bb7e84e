//! Who may use dipwatch (the bot, the dashboard, the alerts' audience): `telegram.allowed_chat_ids` may read,
//! `telegram.admin_chat_ids` may also start collections (and read). An
//! empty list refuses everyone. Refused chats get one short refusal per
//! [`RefusalGate`] window, so a stranger flooding the bot cannot spend the
//! send budget the allowed users need.

pub mod tokens;
pub mod web_auth;

pub use web_auth::WebAuth;

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant};

/// What a chat may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// Not on either list: gets a refusal and no data.
    Refused,
    /// On `allowed_chat_ids`: every read command.
    Reader,
    /// On `admin_chat_ids`: reads and `/trigger`.
    Admin,
}

/// The allow-lists, as sets, shared: every clone reads the same lists, and
/// [`Access::replace_with`] (the daemon's SIGHUP) changes them for all at once,
/// so a chat taken off the lists loses the bot, the dashboard and its
/// alerts with the next request.
#[derive(Debug, Clone, Default)]
pub struct Access {
    lists: Arc<RwLock<Lists>>,
    /// When each chat was last taken off both lists: a dashboard session,
    /// link or launch data from before then stays void if the chat is
    /// added back.
    removed: Arc<RwLock<HashMap<i64, chrono::DateTime<chrono::Utc>>>>,
}

/// The two lists at one moment.
#[derive(Debug, Default, PartialEq)]
struct Lists {
    readers: HashSet<i64>,
    admins: HashSet<i64>,
}

impl Lists {
    fn new(allowed: &[i64], admins: &[i64]) -> Self {
        Self {
            readers: allowed.iter().copied().collect(),
            admins: admins.iter().copied().collect(),
        }
    }
}

/// Two handles are equal when they hold the same lists now.
impl PartialEq for Access {
    fn eq(&self, other: &Self) -> bool {
        Arc::ptr_eq(&self.lists, &other.lists) || *self.read() == *other.read()
    }
}

impl Access {
    /// From `telegram.allowed_chat_ids` and `telegram.admin_chat_ids`.
    pub fn new(allowed: &[i64], admins: &[i64]) -> Self {
        Self {
            lists: Arc::new(RwLock::new(Lists::new(allowed, admins))),
            removed: Arc::default(),
        }
    }

    /// Give every clone of this handle `other`'s lists (a configuration
    /// loaded again), at once.
    pub fn replace_with(&self, other: &Access) {
        self.replace_with_at(other, chrono::Utc::now());
    }

    /// [`Access::replace_with`] at `now`: chats on neither new list that
    /// were on one are recorded as removed at `now`.
    pub fn replace_with_at(&self, other: &Access, now: chrono::DateTime<chrono::Utc>) {
        if Arc::ptr_eq(&self.lists, &other.lists) {
            return;
        }
        let lists = {
            let o = other.read();
            Lists {
                readers: o.readers.clone(),
                admins: o.admins.clone(),
            }
        };
        let mut current = self.lists.write().unwrap_or_else(|p| p.into_inner());
        let gone: Vec<i64> = current
            .readers
            .union(&current.admins)
            .filter(|c| !lists.readers.contains(c) && !lists.admins.contains(c))
            .copied()
            .collect();
        *current = lists;
        drop(current);
        let mut removed = self.removed.write().unwrap_or_else(|p| p.into_inner());
        for chat in gone {
            removed.insert(chat, now);
        }
    }

    /// When `chat` was last taken off the lists, if ever (since start).
    pub fn removed_at(&self, chat: i64) -> Option<chrono::DateTime<chrono::Utc>> {
        self.removed
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .get(&chat)
            .copied()
    }

    /// A poisoned lock still holds whole lists (a replace is one store).
    fn read(&self) -> std::sync::RwLockReadGuard<'_, Lists> {
        self.lists.read().unwrap_or_else(|p| p.into_inner())
    }

    /// The role of `chat_id`. Admins read too.
    pub fn role(&self, chat_id: i64) -> Role {
        let lists = self.read();
        if lists.admins.contains(&chat_id) {
            Role::Admin
        } else if lists.readers.contains(&chat_id) {
            Role::Reader
        } else {
            Role::Refused
        }
    }

    /// True when nobody may use the bot.
    pub fn refuses_everyone(&self) -> bool {
        let lists = self.read();
        lists.readers.is_empty() && lists.admins.is_empty()
    }

    /// How many chats may read (admins included) and how many are admins.
    pub fn counts(&self) -> (usize, usize) {
        let lists = self.read();
        (
            lists.readers.union(&lists.admins).count(),
            lists.admins.len(),
        )
    }
}

/// The environment variables that set the allow-lists. A running process
/// cannot have its environment changed, so lists given there survive every
/// reload: only a restart with a new environment changes them.
pub const LIST_VARIABLES: [&str; 2] = [
    "DIPWATCH__TELEGRAM__ALLOWED_CHAT_IDS",
    "DIPWATCH__TELEGRAM__ADMIN_CHAT_IDS",
];

/// Which of [`LIST_VARIABLES`] are among `names` (the process's
/// environment): the lists a reload cannot change.
pub fn lists_fixed_by_env<'a>(names: impl IntoIterator<Item = &'a str>) -> Vec<&'static str> {
    let names: HashSet<&str> = names.into_iter().collect();
    LIST_VARIABLES
        .into_iter()
        .filter(|v| names.contains(v))
        .collect()
}

/// Chats refused recently, so each gets one refusal per window.
#[derive(Debug)]
pub struct RefusalGate {
    window: Duration,
    last: Mutex<HashMap<i64, Instant>>,
}

/// Refused chats remembered at most; older entries are dropped first.
const MAX_REMEMBERED: usize = 10_000;

impl RefusalGate {
    /// One refusal per chat per `window`.
    pub fn new(window: Duration) -> Self {
        Self {
            window,
            last: Mutex::new(HashMap::new()),
        }
    }

    /// Whether `chat_id` should be told it is refused now (true at most
    /// once per window per chat).
    pub fn should_reply(&self, chat_id: i64, now: Instant) -> bool {
        let Ok(mut last) = self.last.lock() else {
            return true;
        };
        if let Some(t) = last.get(&chat_id)
            && now.saturating_duration_since(*t) < self.window
        {
            return false;
        }
        if last.len() >= MAX_REMEMBERED {
            let window = self.window;
            last.retain(|_, t| now.saturating_duration_since(*t) < window);
            if last.len() >= MAX_REMEMBERED {
                last.clear();
            }
        }
        last.insert(chat_id, now);
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replacing_the_lists_changes_every_clone_at_once() {
        let a = Access::new(&[1, 2], &[3]);
        let held_elsewhere = a.clone();
        assert_eq!(held_elsewhere.role(1), Role::Reader);
        a.replace_with(&Access::new(&[2], &[1]));
        assert_eq!(held_elsewhere.role(1), Role::Admin);
        assert_eq!(held_elsewhere.role(3), Role::Refused);
        assert_eq!(held_elsewhere.role(2), Role::Reader);
        assert_eq!(held_elsewhere.counts(), (2, 1));
        assert_eq!(a, Access::new(&[2], &[1]));
        assert_ne!(a, Access::new(&[2], &[]));
    }

    #[test]
    fn a_chat_taken_off_the_lists_is_remembered_as_removed_when_added_back() {
        let t0 = chrono::DateTime::from_timestamp(1_800_000_000, 0).unwrap();
        let t1 = t0 + chrono::Duration::seconds(60);
        let a = Access::new(&[1, 2], &[3]);
        a.replace_with_at(&Access::new(&[2], &[3]), t0);
        assert_eq!(a.removed_at(1), Some(t0));
        assert_eq!(a.removed_at(2), None);
        // Moving between the lists is not a removal.
        a.replace_with_at(&Access::new(&[3], &[2]), t1);
        assert_eq!(a.removed_at(2), None);
        assert_eq!(a.removed_at(3), None);
        // Added back: a reader again, and still removed at t0.
        a.replace_with_at(&Access::new(&[1, 3], &[2]), t1);
        assert_eq!(a.role(1), Role::Reader);
        assert_eq!(a.removed_at(1), Some(t0));
    }

    #[test]
    fn lists_set_in_the_environment_are_named() {
        let env = ["PATH", "DIPWATCH__TELEGRAM__ADMIN_CHAT_IDS", "HOME"];
        assert_eq!(
            lists_fixed_by_env(env),
            vec!["DIPWATCH__TELEGRAM__ADMIN_CHAT_IDS"]
        );
        assert!(lists_fixed_by_env(["DIPWATCH__WEB__LISTEN"]).is_empty());
    }

    #[test]
    fn roles_follow_the_lists_and_admins_read() {
        let a = Access::new(&[1, 2], &[2, 3]);
        assert_eq!(a.role(1), Role::Reader);
        assert_eq!(a.role(2), Role::Admin);
        assert_eq!(a.role(3), Role::Admin);
        assert_eq!(a.role(4), Role::Refused);
        assert_eq!(a.counts(), (3, 2));
        assert!(!a.refuses_everyone());
    }

    #[test]
    fn empty_lists_refuse_everyone() {
        let a = Access::new(&[], &[]);
        assert!(a.refuses_everyone());
        assert_eq!(a.role(0), Role::Refused);
        assert_eq!(a.role(123), Role::Refused);
    }

    #[test]
    fn one_refusal_per_window() {
        let gate = RefusalGate::new(Duration::from_secs(60));
        let t0 = Instant::now();
        assert!(gate.should_reply(9, t0));
        assert!(!gate.should_reply(9, t0 + Duration::from_secs(59)));
        assert!(gate.should_reply(8, t0 + Duration::from_secs(1)));
        assert!(gate.should_reply(9, t0 + Duration::from_secs(61)));
    }
}
