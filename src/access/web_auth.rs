//! The dashboard's sign-in state: one-time links the bot issues, sessions
//! the dashboard checks, launch data already used, sign-outs and the
//! per-address attempt count. Shared by the bot (`/web`, `/logout`) and the
//! dashboard, so it lives below both.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};

use super::tokens;

/// Sign-in attempts a client address may make per minute.
pub const LOGIN_ATTEMPTS_PER_MINUTE: u32 = 10;
/// Client addresses whose attempts are counted at once: past it the
/// table is cleared (a flood of addresses resets everyone's count rather
/// than growing memory).
const MAX_COUNTED_CLIENTS: usize = 100_000;

/// The dashboard's sign-in state, shared with the bot (which issues links).
#[derive(Debug, Default)]
pub struct WebAuth {
    pub(crate) tokens: Mutex<tokens::LoginTokens>,
    pub(crate) sessions: Mutex<tokens::Sessions>,
    pub(crate) launches: Mutex<tokens::UsedLaunches>,
    /// When each chat last signed out everywhere (`/logout`).
    signed_out: Mutex<HashMap<i64, DateTime<Utc>>>,
    attempts: Mutex<HashMap<IpAddr, (Instant, u32)>>,
}

impl WebAuth {
    /// A one-time sign-in token for `chat`, `None` when none can be given.
    pub fn issue_login(&self, chat: i64) -> Option<String> {
        self.issue_login_at(chat, Utc::now())
    }

    /// A one-time sign-in token for `chat` as if issued at `issued`: the
    /// clock the tests control (a token issued [`tokens::LOGIN_TTL`] ago is
    /// already expired).
    pub fn issue_login_at(&self, chat: i64, issued: chrono::DateTime<Utc>) -> Option<String> {
        lock(&self.tokens).issue(chat, issued)
    }

    /// Sign `chat` out everywhere (the bot's `/logout`): its sessions end,
    /// its pending links die, and launch data signed before now no longer
    /// signs it in. How many sessions ended.
    pub fn logout_chat(&self, chat: i64) -> usize {
        lock(&self.signed_out).insert(chat, Utc::now());
        lock(&self.tokens).drop_chat(chat);
        lock(&self.sessions).end_chat(chat)
    }

    /// When `chat` last signed out everywhere.
    pub(crate) fn signed_out_at(&self, chat: i64) -> Option<DateTime<Utc>> {
        lock(&self.signed_out).get(&chat).copied()
    }

    /// Sessions held now.
    pub fn sessions(&self) -> usize {
        lock(&self.sessions).len()
    }

    /// Count a sign-in attempt from `ip`; false once it is over the limit
    /// for the current minute. IPv6 clients are counted per /64, the block
    /// one subscriber is given, so rotating addresses inside it does not
    /// buy more attempts.
    pub(crate) fn attempt(&self, ip: IpAddr, now: Instant) -> bool {
        let key = match ip {
            IpAddr::V6(v6) if v6.to_ipv4_mapped().is_none() => {
                IpAddr::V6((u128::from(v6) & !((1u128 << 64) - 1)).into())
            }
            IpAddr::V6(v6) => IpAddr::V4(
                v6.to_ipv4_mapped()
                    .unwrap_or(std::net::Ipv4Addr::UNSPECIFIED),
            ),
            v4 => v4,
        };
        let mut attempts = lock(&self.attempts);
        attempts.retain(|_, (start, _)| now.duration_since(*start) < Duration::from_secs(60));
        if attempts.len() >= MAX_COUNTED_CLIENTS {
            attempts.clear();
        }
        let entry = attempts.entry(key).or_insert((now, 0));
        entry.1 += 1;
        entry.1 <= LOGIN_ATTEMPTS_PER_MINUTE
    }
}

/// A poisoned lock still holds consistent tables (every update is one
/// statement), so a panic elsewhere never locks everyone out.
pub(crate) fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}
