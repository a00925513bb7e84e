//! Signing in to the dashboard through the bot, as pure state machines:
//! one-time login links, server-side sessions with their CSRF token, and
//! the validation of a Telegram Mini App's `initData`.
//!
//! Nothing here knows who may see what: a session carries only its chat,
//! and the role is checked against the allow-lists on every request (see
//! [`crate::access::Access`]), so a chat taken off the lists loses
//! access at once. Refusals carry no reason: an unknown, expired and reused
//! token all give `None`, and the caller answers 401 for each alike.
//!
//! Tokens and session ids are 128-bit random values from the operating
//! system; only their SHA-256 is kept, so the tables hold nothing that
//! signs anyone in.

use std::collections::HashMap;
use std::time::Duration;

use chrono::{DateTime, Utc};
use ring::hmac;
use ring::rand::{SecureRandom, SystemRandom};
use secrecy::{ExposeSecret, SecretString};
use sha2::{Digest, Sha256};

/// How long a login link works.
pub const LOGIN_TTL: Duration = Duration::from_secs(10 * 60);
/// Login links outstanding at once, across chats: a bound on memory that a
/// chat asking `/web` in a loop cannot push past.
pub const MAX_PENDING_LOGINS: usize = 1_000;
/// Login links outstanding per chat; asking again drops the oldest.
pub const MAX_LOGINS_PER_CHAT: usize = 5;
/// Sessions held at once, across chats. Past it a new sign-in is refused
/// rather than ending another chat's session; with
/// `web.sessions_per_chat` bounding each chat, only a very long allow-list
/// reaches it.
pub const MAX_SESSIONS: usize = 10_000;
/// How old a Mini App's `auth_date` may be.
pub const INIT_DATA_MAX_AGE: Duration = Duration::from_secs(3600);
/// How far ahead of this server's clock a Mini App's `auth_date` may be:
/// Telegram's clock and ours are never exactly together.
pub const INIT_DATA_SKEW: Duration = Duration::from_secs(60);
/// Launch data remembered as used at once (each for its hour of
/// validity): only Telegram can sign them, so genuine launches are all
/// that can fill it.
pub const MAX_USED_LAUNCHES: usize = 100_000;

/// A secret random value as URL-safe text (128 bits, 32 hex digits).
fn random_token(rng: &SystemRandom) -> Option<String> {
    let mut bytes = [0u8; 16];
    rng.fill(&mut bytes).ok()?;
    Some(hex::encode(bytes))
}

/// What is kept of a token: its SHA-256.
type Digested = [u8; 32];

fn digest(token: &str) -> Digested {
    Sha256::digest(token.as_bytes()).into()
}

/// A pending one-time login link.
#[derive(Debug, Clone, Copy)]
struct Pending {
    chat: i64,
    issued: DateTime<Utc>,
}

/// One-time login tokens: issued by `/web` for a chat, valid
/// [`LOGIN_TTL`], usable once.
#[derive(Debug, Default)]
pub struct LoginTokens {
    pending: HashMap<Digested, Pending>,
    rng: Rng,
}

/// The system's random source.
struct Rng(SystemRandom);

impl Default for Rng {
    fn default() -> Self {
        Self(SystemRandom::new())
    }
}

impl std::fmt::Debug for Rng {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SystemRandom")
    }
}

impl LoginTokens {
    /// A new token for `chat`, or `None` if the system's random source
    /// failed (then no link is given).
    pub fn issue(&mut self, chat: i64, now: DateTime<Utc>) -> Option<String> {
        self.prune(now);
        let mut mine: Vec<(Digested, DateTime<Utc>)> = self
            .pending
            .iter()
            .filter(|(_, p)| p.chat == chat)
            .map(|(k, p)| (*k, p.issued))
            .collect();
        if mine.len() >= MAX_LOGINS_PER_CHAT {
            mine.sort_by_key(|(_, issued)| *issued);
            for (k, _) in &mine[..=mine.len() - MAX_LOGINS_PER_CHAT] {
                self.pending.remove(k);
            }
        }
        if self.pending.len() >= MAX_PENDING_LOGINS {
            return None;
        }
        let token = random_token(&self.rng.0)?;
        self.pending
            .insert(digest(&token), Pending { chat, issued: now });
        Some(token)
    }

    /// Use `token` once: the chat it was issued to, if it is known and not
    /// expired. A token is gone after this call whatever the answer.
    pub fn redeem(&mut self, token: &str, now: DateTime<Utc>) -> Option<i64> {
        self.redeem_issued(token, now).map(|(chat, _)| chat)
    }

    /// [`LoginTokens::redeem`], with when the token was issued (a chat
    /// signed out or removed since voids it).
    pub fn redeem_issued(
        &mut self,
        token: &str,
        now: DateTime<Utc>,
    ) -> Option<(i64, DateTime<Utc>)> {
        let pending = self.pending.remove(&digest(token))?;
        fresh(pending.issued, now, LOGIN_TTL).then_some((pending.chat, pending.issued))
    }

    /// Drop every pending link of `chat` (signed out everywhere).
    pub fn drop_chat(&mut self, chat: i64) {
        self.pending.retain(|_, p| p.chat != chat);
    }

    /// Tokens not yet used or expired.
    pub fn pending(&self) -> usize {
        self.pending.len()
    }

    fn prune(&mut self, now: DateTime<Utc>) {
        self.pending.retain(|_, p| fresh(p.issued, now, LOGIN_TTL));
    }
}

/// Whether something issued at `issued` is still within `ttl` at `now`.
fn fresh(issued: DateTime<Utc>, now: DateTime<Utc>, ttl: Duration) -> bool {
    fresh_with_skew(issued, now, ttl, Duration::ZERO)
}

/// [`fresh`], allowing `issued` up to `skew` in the future (another
/// machine's clock).
fn fresh_with_skew(
    issued: DateTime<Utc>,
    now: DateTime<Utc>,
    ttl: Duration,
    skew: Duration,
) -> bool {
    let age = now.signed_duration_since(issued);
    let ahead = chrono::Duration::from_std(skew).unwrap_or_default();
    age >= -ahead && age.to_std().map_or(true, |a| a < ttl)
}

/// Verified Mini App launch data.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LaunchData {
    /// The user's id: the chat of their private chat with the bot.
    pub chat: i64,
    /// `auth_date`: when Telegram signed it.
    pub issued: DateTime<Utc>,
    /// Its `hash`, which makes it single-use.
    hash: Digested,
}

/// Launch data already used: each `hash` signs in once (a replayed
/// `initData`, from any address, is refused), remembered until it would
/// have expired anyway.
#[derive(Debug, Default)]
pub struct UsedLaunches {
    until: HashMap<Digested, DateTime<Utc>>,
}

impl UsedLaunches {
    /// Mark `launch` used; false if it was already (or if the table is full
    /// of unexpired launches, which only Telegram could fill).
    pub fn first_use(&mut self, launch: &LaunchData, now: DateTime<Utc>) -> bool {
        self.until.retain(|_, until| *until > now);
        if self.until.contains_key(&launch.hash) || self.until.len() >= MAX_USED_LAUNCHES {
            return false;
        }
        let lifetime =
            chrono::Duration::from_std(INIT_DATA_MAX_AGE + INIT_DATA_SKEW).unwrap_or_default();
        self.until.insert(launch.hash, launch.issued + lifetime);
        true
    }
}

/// A signed-in browser.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Session {
    /// The chat that signed in.
    pub chat: i64,
    /// The token every state-changing request must carry.
    pub csrf: String,
    /// When the session started (a chat removed from the allow-lists
    /// after this never gets it back).
    pub started: DateTime<Utc>,
    /// When the session ends.
    pub expires: DateTime<Utc>,
    /// Started inside Telegram (the Mini App): its cookie must survive a
    /// cross-site frame.
    pub miniapp: bool,
}

/// Server-side sessions, keyed by the digest of the cookie's value.
#[derive(Debug)]
pub struct Sessions {
    by_id: HashMap<Digested, Session>,
    rng: Rng,
    /// Sessions held at most, across chats ([`MAX_SESSIONS`]).
    max: usize,
}

impl Default for Sessions {
    fn default() -> Self {
        Self::bounded(MAX_SESSIONS)
    }
}

/// What a new session is: whose, how long, from where.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NewSession {
    /// The chat signing in.
    pub chat: i64,
    /// How long it lasts.
    pub ttl: Duration,
    /// Sessions the chat may hold; its oldest ends to make room.
    pub per_chat: usize,
    /// Signed in inside Telegram.
    pub miniapp: bool,
}

impl Sessions {
    /// No sessions yet, at most `max` at once.
    pub fn bounded(max: usize) -> Self {
        Self {
            by_id: HashMap::new(),
            rng: Rng::default(),
            max,
        }
    }

    /// Start a session: the cookie value and the session. At the chat's
    /// limit its oldest session ends; at the bound across chats (or
    /// if the random source failed) `None`: another chat's session is
    /// never ended for it.
    pub fn start(&mut self, new: NewSession, now: DateTime<Utc>) -> Option<(String, Session)> {
        self.by_id.retain(|_, s| s.expires > now);
        let mut mine: Vec<(Digested, DateTime<Utc>)> = self
            .by_id
            .iter()
            .filter(|(_, s)| s.chat == new.chat)
            .map(|(k, s)| (*k, s.started))
            .collect();
        let per_chat = new.per_chat.max(1);
        if mine.len() >= per_chat {
            mine.sort_by_key(|(_, started)| *started);
            for (k, _) in &mine[..=mine.len() - per_chat] {
                self.by_id.remove(k);
            }
        }
        if self.by_id.len() >= self.max {
            return None;
        }
        let id = random_token(&self.rng.0)?;
        let session = Session {
            chat: new.chat,
            csrf: random_token(&self.rng.0)?,
            started: now,
            expires: now + chrono::Duration::from_std(new.ttl).ok()?,
            miniapp: new.miniapp,
        };
        self.by_id.insert(digest(&id), session.clone());
        Some((id, session))
    }

    /// Sessions held now (expired ones included until the next start).
    pub fn len(&self) -> usize {
        self.by_id.len()
    }

    /// Whether no session is held.
    pub fn is_empty(&self) -> bool {
        self.by_id.is_empty()
    }

    /// The live session a cookie value names.
    pub fn get(&self, id: &str, now: DateTime<Utc>) -> Option<&Session> {
        self.by_id.get(&digest(id)).filter(|s| s.expires > now)
    }

    /// End the session a cookie value names (the web's sign-out).
    pub fn end(&mut self, id: &str) -> bool {
        self.by_id.remove(&digest(id)).is_some()
    }

    /// End every session of `chat` (the bot's `/logout`); how many ended.
    pub fn end_chat(&mut self, chat: i64) -> usize {
        let before = self.by_id.len();
        self.by_id.retain(|_, s| s.chat != chat);
        before - self.by_id.len()
    }
}

/// Compare a submitted CSRF token with the session's. The digests are
/// compared, so the time taken tells nothing about the token itself.
pub fn csrf_matches(session: &Session, submitted: &str) -> bool {
    digest(&session.csrf) == digest(submitted)
}

/// Validate a Telegram Mini App's `initData` (the URL-encoded query string
/// Telegram hands the page) by Telegram's documented scheme: the secret key
/// is HMAC-SHA256 of the bot token keyed with `WebAppData`; the `hash`
/// field must equal HMAC-SHA256 of the other fields, sorted by name and
/// joined as `name=value` lines, under that key; `auth_date` must be within
/// [`INIT_DATA_MAX_AGE`] of `now` (and at most [`INIT_DATA_SKEW`] ahead).
/// A field given twice is refused (which of the two would count is
/// ambiguous). Returns the user's id (the chat of a private chat with the
/// bot), else `None`, whatever was wrong.
pub fn verify_init_data(
    init_data: &str,
    bot_token: &SecretString,
    now: DateTime<Utc>,
) -> Option<i64> {
    verify_launch(init_data, bot_token, now).map(|l| l.chat)
}

/// [`verify_init_data`], with what makes the launch single-use.
pub fn verify_launch(
    init_data: &str,
    bot_token: &SecretString,
    now: DateTime<Utc>,
) -> Option<LaunchData> {
    let mut hash = None;
    let mut fields: Vec<(String, String)> = Vec::new();
    for (k, v) in form_urlencoded::parse(init_data.as_bytes()) {
        if k == "hash" {
            if hash.is_some() {
                return None;
            }
            hash = Some(v.into_owned());
        } else {
            if fields.iter().any(|(seen, _)| *seen == k) {
                return None;
            }
            fields.push((k.into_owned(), v.into_owned()));
        }
    }
    let expected = hex::decode(hash?).ok()?;
    fields.sort();
    let check: Vec<String> = fields.iter().map(|(k, v)| format!("{k}={v}")).collect();
    let secret = hmac::sign(
        &hmac::Key::new(hmac::HMAC_SHA256, b"WebAppData"),
        bot_token.expose_secret().as_bytes(),
    );
    let key = hmac::Key::new(hmac::HMAC_SHA256, secret.as_ref());
    hmac::verify(&key, check.join("\n").as_bytes(), &expected).ok()?;
    let field = |name: &str| fields.iter().find(|(k, _)| k == name).map(|(_, v)| v);
    let auth_date: i64 = field("auth_date")?.parse().ok()?;
    let issued = DateTime::from_timestamp(auth_date, 0)?;
    if !fresh_with_skew(issued, now, INIT_DATA_MAX_AGE, INIT_DATA_SKEW) {
        return None;
    }
    let user: serde_json::Value = serde_json::from_str(field("user")?).ok()?;
    Some(LaunchData {
        chat: user.get("id")?.as_i64()?,
        issued,
        hash: digest(&hex::encode(&expected)),
    })
}

/// Sign `fields` as Telegram does (for tests and the fake Bot API): the
/// `initData` query string with its `hash`.
pub fn sign_init_data(fields: &[(&str, &str)], bot_token: &SecretString) -> String {
    let mut sorted: Vec<&(&str, &str)> = fields.iter().collect();
    sorted.sort();
    let check: Vec<String> = sorted.iter().map(|(k, v)| format!("{k}={v}")).collect();
    let secret = hmac::sign(
        &hmac::Key::new(hmac::HMAC_SHA256, b"WebAppData"),
        bot_token.expose_secret().as_bytes(),
    );
    let key = hmac::Key::new(hmac::HMAC_SHA256, secret.as_ref());
    let hash = hex::encode(hmac::sign(&key, check.join("\n").as_bytes()).as_ref());
    let mut query = form_urlencoded::Serializer::new(String::new());
    for (k, v) in fields {
        query.append_pair(k, v);
    }
    query.append_pair("hash", &hash);
    query.finish()
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn t0() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 12, 2, 12, 0, 0).unwrap()
    }

    fn later(secs: i64) -> DateTime<Utc> {
        t0() + chrono::Duration::seconds(secs)
    }

    fn new(chat: i64, ttl: Duration) -> NewSession {
        NewSession {
            chat,
            ttl,
            per_chat: 10,
            miniapp: false,
        }
    }

    #[test]
    fn a_chat_at_its_session_limit_loses_its_own_oldest_never_another_chats() {
        let mut sessions = Sessions::default();
        let ttl = Duration::from_secs(3600);
        let others: Vec<String> = (0..3)
            .map(|i| sessions.start(new(7, ttl), later(i)).unwrap().0)
            .collect();
        let limited = NewSession {
            per_chat: 2,
            ..new(42, ttl)
        };
        let ids: Vec<String> = (0..4)
            .map(|i| sessions.start(limited, later(10 + i)).unwrap().0)
            .collect();
        let now = later(20);
        assert!(sessions.get(&ids[0], now).is_none());
        assert!(sessions.get(&ids[1], now).is_none());
        assert!(sessions.get(&ids[2], now).is_some());
        assert!(sessions.get(&ids[3], now).is_some());
        for id in &others {
            assert!(
                sessions.get(id, now).is_some(),
                "another chat's session ended"
            );
        }
        assert_eq!(sessions.len(), 5);
    }

    #[test]
    fn when_every_slot_is_taken_a_new_sign_in_is_refused_not_another_chats_session_ended() {
        let mut sessions = Sessions::bounded(3);
        let ttl = Duration::from_secs(3600);
        let first = sessions.start(new(1, ttl), t0()).unwrap().0;
        for chat in 2..=3 {
            sessions.start(new(chat, ttl), t0()).unwrap();
        }
        assert!(sessions.start(new(-5, ttl), later(1)).is_none());
        assert!(sessions.get(&first, later(1)).is_some());
        // A chat at its own limit replaces its own session even then.
        let one = NewSession {
            per_chat: 1,
            ..new(1, ttl)
        };
        let again = sessions.start(one, later(2)).unwrap().0;
        assert!(sessions.get(&first, later(2)).is_none());
        assert!(sessions.get(&again, later(2)).is_some());
        assert_eq!(sessions.len(), 3);
    }

    #[test]
    fn launch_data_signs_in_once_allows_a_little_clock_skew_and_refuses_duplicated_fields() {
        let token = SecretString::from("123456:ABC-test-token");
        let user = r#"{"id":4242}"#;
        let at = |secs: i64| {
            (t0() + chrono::Duration::seconds(secs))
                .timestamp()
                .to_string()
        };
        let signed = sign_init_data(&[("auth_date", &at(0)), ("user", user)], &token);
        let launch = verify_launch(&signed, &token, later(5)).unwrap();
        let mut used = UsedLaunches::default();
        assert!(used.first_use(&launch, later(5)));
        assert!(!used.first_use(&launch, later(6)), "replayed");
        // Signed 30 s ahead of our clock: accepted; 2 minutes ahead: not.
        let ahead = sign_init_data(&[("auth_date", &at(30)), ("user", user)], &token);
        assert!(verify_launch(&ahead, &token, t0()).is_some());
        let far = sign_init_data(&[("auth_date", &at(120)), ("user", user)], &token);
        assert!(verify_launch(&far, &token, t0()).is_none());
        // A second user field (or hash) appended: refused, whichever would count.
        let doubled = format!("{signed}&user=%7B%22id%22%3A1%7D");
        assert!(verify_launch(&doubled, &token, later(5)).is_none());
        let two_hashes = format!("{signed}&hash=00");
        assert!(verify_launch(&two_hashes, &token, later(5)).is_none());
        // Remembered until it would have expired anyway, then forgotten.
        assert!(!used.first_use(&launch, later(3600 + 59)));
        let other = verify_launch(&ahead, &token, t0()).unwrap();
        assert!(used.first_use(&other, later(3600 + 61)));
        assert_eq!(used.until.len(), 1, "the expired entry was pruned");
    }

    #[test]
    fn a_login_token_is_random_single_use_bound_to_its_chat_and_expires() {
        let mut tokens = LoginTokens::default();
        let a = tokens.issue(42, t0()).unwrap();
        let b = tokens.issue(42, t0()).unwrap();
        assert_ne!(a, b);
        assert_eq!(a.len(), 32, "128 bits as hex");
        assert!(a.chars().all(|c| c.is_ascii_hexdigit()));
        assert_eq!(tokens.redeem(&a, later(599)), Some(42));
        assert_eq!(tokens.redeem(&a, later(1)), None, "used once");
        assert_eq!(tokens.redeem(&b, later(600)), None, "expired at 10 minutes");
        assert_eq!(
            tokens.redeem(&b, later(1)),
            None,
            "an expired token is gone"
        );
        assert_eq!(
            tokens.redeem("0123456789abcdef0123456789abcdef", t0()),
            None
        );
        assert_eq!(tokens.redeem("", t0()), None);
    }

    #[test]
    fn a_chat_holds_a_bounded_number_of_links_and_the_oldest_goes() {
        let mut tokens = LoginTokens::default();
        let issued: Vec<String> = (0..MAX_LOGINS_PER_CHAT + 2)
            .map(|i| tokens.issue(7, later(i as i64)).unwrap())
            .collect();
        assert_eq!(tokens.pending(), MAX_LOGINS_PER_CHAT);
        let now = later(10);
        assert_eq!(tokens.redeem(&issued[0], now), None);
        assert_eq!(tokens.redeem(&issued[1], now), None);
        assert_eq!(tokens.redeem(&issued[2], now), Some(7));
        // Another chat is not affected.
        let other = tokens.issue(8, now).unwrap();
        assert_eq!(tokens.redeem(&other, now), Some(8));
    }

    #[test]
    fn pending_logins_are_bounded_across_chats() {
        let mut tokens = LoginTokens::default();
        for chat in 0..MAX_PENDING_LOGINS as i64 {
            assert!(tokens.issue(chat, t0()).is_some());
        }
        assert_eq!(tokens.issue(-1, t0()), None, "full: no link");
        // Once they expire there is room again.
        assert!(tokens.issue(-1, later(601)).is_some());
        assert_eq!(tokens.pending(), 1);
    }

    #[test]
    fn sessions_expire_end_and_end_by_chat() {
        let mut sessions = Sessions::default();
        let ttl = Duration::from_secs(3600);
        let (id, s) = sessions.start(new(42, ttl), t0()).unwrap();
        let (other, _) = sessions.start(new(42, ttl), t0()).unwrap();
        let (third, _) = sessions.start(new(43, ttl), t0()).unwrap();
        assert_eq!(sessions.get(&id, later(3599)).map(|x| x.chat), Some(42));
        assert_eq!(sessions.get(&id, later(3600)), None, "expired");
        assert!(csrf_matches(&s, &s.csrf));
        assert!(!csrf_matches(&s, ""));
        assert!(!csrf_matches(&s, &s.csrf[1..]));
        assert_eq!(sessions.get("not a session", t0()), None);
        assert!(sessions.end(&id));
        assert_eq!(sessions.get(&id, t0()), None);
        assert_eq!(sessions.end_chat(42), 1);
        assert_eq!(sessions.get(&other, t0()), None);
        assert!(sessions.get(&third, t0()).is_some());
    }

    #[test]
    fn init_data_signed_with_the_bot_token_is_accepted_and_anything_else_refused() {
        let token = SecretString::from("123456:ABC-test-token");
        let auth = t0().timestamp().to_string();
        let user = r#"{"id":4242,"first_name":"Ann"}"#;
        let fields = [
            ("auth_date", auth.as_str()),
            ("query_id", "AAF"),
            ("user", user),
        ];
        let signed = sign_init_data(&fields, &token);
        assert_eq!(verify_init_data(&signed, &token, later(60)), Some(4242));
        // Another bot's token, a changed field, a missing hash, stale.
        let other = SecretString::from("123456:other");
        assert_eq!(verify_init_data(&signed, &other, later(60)), None);
        let tampered = signed.replace("4242", "4243");
        assert_eq!(verify_init_data(&tampered, &token, later(60)), None);
        let unsigned: String = signed.split("&hash=").next().unwrap().to_string();
        assert_eq!(verify_init_data(&unsigned, &token, later(60)), None);
        assert_eq!(verify_init_data(&signed, &token, later(3600)), None);
        assert_eq!(verify_init_data("", &token, t0()), None);
        assert_eq!(verify_init_data("hash=zz&user=%7B", &token, t0()), None);
    }

    #[test]
    fn init_data_hash_follows_telegrams_documented_construction() {
        // The documented construction, step by step: whatever order the
        // fields come in, the check string is sorted by name.
        let token = SecretString::from("42:XYZ");
        let auth = t0().timestamp().to_string();
        let user = r#"{"id":7}"#;
        let a = sign_init_data(&[("user", user), ("auth_date", &auth)], &token);
        let b = sign_init_data(&[("auth_date", &auth), ("user", user)], &token);
        let hash = |q: &str| q.rsplit("hash=").next().unwrap().to_string();
        assert_eq!(hash(&a), hash(&b));
        let secret = hmac::sign(&hmac::Key::new(hmac::HMAC_SHA256, b"WebAppData"), b"42:XYZ");
        let key = hmac::Key::new(hmac::HMAC_SHA256, secret.as_ref());
        let check = format!("auth_date={auth}\nuser={user}");
        let want = hex::encode(hmac::sign(&key, check.as_bytes()).as_ref());
        assert_eq!(hash(&a), want);
    }
}
