//! Alert rules as data: what a chat can watch ([`RuleKind`]), the rule it
//! owns ([`Rule`]), what each rule last saw ([`RuleState`]), what firing
//! produces ([`Fired`], [`Notification`]), and the bounds every rule is
//! held to (levels, counts, N).

use std::fmt;

use chrono::{NaiveDate, NaiveTime};
use serde::{Deserialize, Serialize};

use crate::domain::Symbol;

/// What a rule watches.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum RuleKind {
    /// `/alert TICKER below -30`: the symbol's drawdown crosses the level.
    SymbolBelow {
        /// Ticker.
        symbol: Symbol,
        /// Level, percent (negative).
        level: f64,
    },
    /// `/alert top N`: a symbol enters or leaves the N worst drawdowns.
    Top {
        /// N.
        n: usize,
    },
    /// `/alert market below -20 count 50`: at least `count` names are down
    /// `level` or more.
    Breadth {
        /// Level, percent (negative).
        level: f64,
        /// Names needed.
        count: usize,
    },
    /// `/alert profit`: the profit-taking rule turns true (or false again).
    Profit,
    /// `/alert risk weight 25`: a concentration measure of the risk view
    /// reaches the level (or falls back under it).
    Risk {
        /// What is measured.
        measure: RiskMeasure,
        /// Level, in the measure's unit (percent, or the index itself).
        level: f64,
    },
    /// `/alert digest 07:30`: the dashboard at a local time, trading days.
    Digest {
        /// Local time in `schedule.timezone`.
        at: NaiveTime,
    },
}

impl fmt::Display for RuleKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::SymbolBelow { symbol, level } => write!(f, "{symbol} below {level}%"),
            Self::Top { n } => write!(f, "top {n} changes"),
            Self::Breadth { level, count } => write!(f, "market: {count}+ names below {level}%"),
            Self::Profit => write!(f, "profit-taking signal"),
            Self::Risk { measure, level } => {
                write!(
                    f,
                    "risk: {} reaches {}",
                    measure.label(),
                    measure.show(*level)
                )
            }
            Self::Digest { at } => write!(f, "daily digest at {}", at.format("%H:%M")),
        }
    }
}

/// What a risk rule watches on the portfolio's risk view.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RiskMeasure {
    /// The largest position's weight, percent of equity.
    Weight,
    /// The Herfindahl index of the invested value (1 = one position).
    Hhi,
    /// The largest cluster's combined weight, percent of equity.
    Cluster,
}

impl RiskMeasure {
    /// Every measure, in the order the usage names them.
    pub const ALL: [RiskMeasure; 3] = [Self::Weight, Self::Hhi, Self::Cluster];

    /// How `/alert risk` names it.
    pub fn word(self) -> &'static str {
        match self {
            Self::Weight => "weight",
            Self::Hhi => "hhi",
            Self::Cluster => "cluster",
        }
    }

    /// What it is, in a sentence.
    pub fn label(self) -> &'static str {
        match self {
            Self::Weight => "largest position's weight",
            Self::Hhi => "Herfindahl index",
            Self::Cluster => "largest cluster's weight",
        }
    }

    /// A value of this measure as people read it (`25%`, `0.2`).
    pub fn show(self, v: f64) -> String {
        match self {
            Self::Weight | Self::Cluster => format!("{}%", round_to(v, 2)),
            Self::Hhi => format!("{}", round_to(v, 3)),
        }
    }

    /// Whether `v` is a level a rule on this measure may watch: a share of
    /// equity above 0 and at most 100 with at most 2 decimals, or an index
    /// above 0 and at most 1 with at most 3 (finer levels only make the
    /// rule unreadable).
    pub fn is_level(self, v: f64) -> bool {
        let (top, decimals) = match self {
            Self::Weight | Self::Cluster => (100.0, 2),
            Self::Hhi => (1.0, 3),
        };
        v > 0.0 && v <= top && round_to(v, decimals) == v
    }
}

fn round_to(v: f64, decimals: i32) -> f64 {
    let k = 10f64.powi(decimals);
    (v * k).round() / k
}

/// A rule owned by a chat.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Rule {
    /// Id, unique in the store.
    pub id: u64,
    /// Owning chat.
    pub chat: i64,
    /// What it watches.
    pub kind: RuleKind,
    /// Paused rules are kept but not evaluated (a chat that blocked the bot).
    #[serde(default)]
    pub paused: bool,
}

/// What a rule last saw, so it fires on changes only.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct RuleState {
    /// Screen (or digest) date last evaluated: never evaluated twice.
    pub last_date: Option<NaiveDate>,
    /// Whether the watched condition held then (threshold rules).
    pub active: Option<bool>,
    /// The symbols in the top N then, sorted (top rules).
    #[serde(default)]
    pub members: Vec<Symbol>,
}

/// One fired rule, as a line of a chat's message.
#[derive(Debug, Clone, PartialEq)]
pub struct Fired {
    /// Which rule.
    pub rule_id: u64,
    /// What happened (plain text; the bot escapes it).
    pub text: String,
}

/// One message to one chat for one run.
#[derive(Debug, Clone, PartialEq)]
pub struct Notification {
    /// Chat.
    pub chat: i64,
    /// The screen date it is about.
    pub date: NaiveDate,
    /// Fired rules, in rule-id order.
    pub fired: Vec<Fired>,
    /// A digest (the dashboard) is due.
    pub digest: bool,
}

/// The largest `count` of a market rule: more names than any US universe
/// holds (a count above the configured universe can never fire, and the bot
/// says so; this bound keeps the number readable and the rule meaningful).
pub const MAX_BREADTH_COUNT: usize = 10_000;

/// The largest N of a top-N rule (the most `/screen` shows).
pub const MAX_TOP_N: usize = 50;

/// Whether `v` is a drawdown level a rule may watch: a percentage strictly
/// between -100 (a price of zero, never reached by a listed stock) and 0
/// (the peak itself, where a rule would always hold), with at most two
/// decimals (drawdowns are stored with four, so finer levels only make the
/// rule unreadable: `-1e-320` would be listed with 320 digits).
pub fn is_level(v: f64) -> bool {
    let two_decimals = (v * 100.0).round() / 100.0 == v;
    v > -100.0 && v < 0.0 && two_decimals
}
