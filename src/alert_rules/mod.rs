//! What an alert rule is, independent of who keeps and evaluates it: the
//! rule kinds, their states and bounds ([`rules`]) and the `/alert`
//! grammar ([`parse`]). Below both the configuration (which checks
//! `alerts.defaults` with the same parser) and the alert runtime
//! ([`crate::alerts`]), so neither imports the other for it.

pub mod parse;
pub mod rules;

pub use parse::{ALERT_USAGE, UsageError, parse_alert};
pub use rules::{
    Fired, MAX_BREADTH_COUNT, MAX_TOP_N, Notification, RiskMeasure, Rule, RuleKind, RuleState,
};
