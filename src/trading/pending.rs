//! Confirmation tokens waiting for a person: issued with a preview, taken
//! once under a lock. A token taken is remembered (as its client order
//! id) so a second tap says "already confirmed" rather than "unknown".

use std::collections::HashMap;
use std::sync::Mutex;

use chrono::{DateTime, Utc};
use ring::rand::{SecureRandom, SystemRandom};
use sha2::{Digest, Sha256};

use super::actor::{Actor, Source};
use super::preview::{Ask, Preview};
use super::refusal::Refusal;
use crate::access::Role;
use crate::domain::ClientOrderId;

/// How long a used or expired token is remembered after its expiry, so
/// a late tap gets the right words ("already confirmed", "expired").
const REMEMBER: chrono::Duration = chrono::Duration::minutes(30);
/// Most tokens waiting at once (older ones are dropped first).
const MAX_PENDING: usize = 1_000;

/// A preview waiting for its confirmation.
#[derive(Debug, Clone)]
pub(super) struct Pending {
    /// What was asked.
    pub ask: Ask,
    /// What was shown.
    pub preview: Preview,
    /// Who it was shown to.
    pub source: Source,
}

#[derive(Default)]
struct Book {
    waiting: HashMap<String, Pending>,
    /// Tokens taken (confirmed), until when they are remembered.
    used: HashMap<String, DateTime<Utc>>,
}

/// The tokens, under one lock.
#[derive(Default)]
pub(super) struct PendingBook {
    book: Mutex<Book>,
}

/// A new token: 128 random bits as hex.
pub(super) fn new_token() -> Result<String, Refusal> {
    let mut bytes = [0u8; 16];
    SystemRandom::new()
        .fill(&mut bytes)
        .map_err(|_| Refusal::Amount("the system's random source failed; try again".into()))?;
    Ok(hex::encode(bytes))
}

/// The client order id a token's order is sent with: always the same for
/// the same token, and nothing about the token can be read back from it.
pub(super) fn client_order_id(token: &str) -> ClientOrderId {
    let digest = Sha256::digest(format!("dipwatch-order:{token}").as_bytes());
    let mut bytes = [0u8; 16];
    bytes.copy_from_slice(&digest[..16]);
    ClientOrderId::from_digest(bytes)
}

impl PendingBook {
    /// Hold `pending` under its preview's token.
    pub(super) fn insert(&self, pending: Pending, now: DateTime<Utc>) {
        let Ok(mut b) = self.book.lock() else { return };
        b.prune(now);
        if b.waiting.len() >= MAX_PENDING
            && let Some(oldest) = b
                .waiting
                .iter()
                .min_by_key(|(_, p)| p.preview.expires_at)
                .map(|(t, _)| t.clone())
        {
            b.waiting.remove(&oldest);
        }
        b.waiting.insert(pending.preview.token.clone(), pending);
    }

    /// Take `token` for `actor` at `now`: once, from the source it was
    /// shown to, by an admin, before it expires. A refusal for another
    /// source or a reader leaves it for the person it was shown to; an
    /// expired one is dropped (and returned with the refusal, to journal).
    pub(super) fn take(
        &self,
        token: &str,
        actor: &Actor,
        now: DateTime<Utc>,
    ) -> Result<Pending, (Refusal, Option<Box<Pending>>)> {
        let Ok(mut b) = self.book.lock() else {
            return Err((Refusal::UnknownConfirmation, None));
        };
        let Some(p) = b.waiting.get(token) else {
            let r = if b.used.contains_key(token) {
                Refusal::AlreadyConfirmed
            } else {
                Refusal::UnknownConfirmation
            };
            return Err((r, None));
        };
        if p.source != actor.source {
            return Err((Refusal::WrongSource, None));
        }
        if actor.role != Role::Admin {
            return Err((Refusal::NotAdmin, None));
        }
        let expired = now > p.preview.expires_at;
        let p = b
            .waiting
            .remove(token)
            .ok_or((Refusal::UnknownConfirmation, None))?;
        if expired {
            return Err((Refusal::Expired, Some(Box::new(p))));
        }
        b.used
            .insert(token.to_string(), p.preview.expires_at + REMEMBER);
        Ok(p)
    }

    /// `token` was taken but nothing was sent (a refusal at confirm): a
    /// later tap is told it is unknown, not that an order was placed.
    pub(super) fn unsent(&self, token: &str) {
        if let Ok(mut b) = self.book.lock() {
            b.used.remove(token);
        }
    }

    /// Drop `token` unsent (from the source it was shown to).
    pub(super) fn discard(&self, token: &str, actor: &Actor) -> Result<Pending, Refusal> {
        let Ok(mut b) = self.book.lock() else {
            return Err(Refusal::UnknownConfirmation);
        };
        match b.waiting.get(token) {
            None if b.used.contains_key(token) => Err(Refusal::AlreadyConfirmed),
            None => Err(Refusal::UnknownConfirmation),
            Some(p) if p.source != actor.source => Err(Refusal::WrongSource),
            Some(_) => b.waiting.remove(token).ok_or(Refusal::UnknownConfirmation),
        }
    }
}

impl Book {
    fn prune(&mut self, now: DateTime<Utc>) {
        self.waiting
            .retain(|_, p| p.preview.expires_at + REMEMBER > now);
        self.used.retain(|_, until| *until > now);
    }
}
