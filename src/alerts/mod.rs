//! Alerts: rules each chat sets from the bot, evaluated after every
//! published run (and for digests, at a local time), grouped into one
//! message per chat per run, kept in the store and delivered with retries.
//!
//! - [`rules`] and [`parse`] (from [`crate::alert_rules`], below the
//!   configuration too): rule kinds, states and bounds, and the `/alert`
//!   argument parser;
//! - [`edit`]: a chat's rule edits as every front end makes them (parse,
//!   the per-chat cap, warnings), so the bot and the dashboard agree;
//! - [`evaluate`](mod@evaluate): the pure evaluation, one function per rule
//!   kind and a dispatcher, and the digests due;
//! - [`book`]: the stored document (`alerts/book.json`: rules, states,
//!   outbox, defaults given), read once, changed whole, paused chats
//!   mirrored;
//! - [`outbox`]: messages waiting, and who may be sent anything;
//! - [`delivery`]: sending through an [`AlertSender`] with retries;
//! - [`service`]: [`AlertService`], the handle the bot, the daemon and
//!   other front ends use: [`AlertService::open`] (the one constructor),
//!   [`AlertService::spawn`] (the runtime), rule edits.
//!
//! The bot's side (the `/alert` commands, the sender, how a message reads)
//! is [`crate::bot::alerts`].

pub mod book;
pub mod delivery;
pub mod edit;
pub mod evaluate;
pub mod outbox;
pub mod service;

/// The rule grammar lives below the configuration; re-exported here so
/// the alert runtime reads as one place.
pub use crate::alert_rules::{
    ALERT_USAGE, Fired, MAX_BREADTH_COUNT, MAX_TOP_N, Notification, RiskMeasure, Rule, RuleKind,
    RuleState, UsageError, parse, parse_alert, rules,
};
pub use book::{AlertBook, AlertDoc};
pub use delivery::{AlertSender, BATCH, SendError};
pub use evaluate::{Inputs, due_digests, evaluate, evaluate_risk};
pub use outbox::OutboxItem;
pub use service::{AlertService, AlertSettings, Render};
