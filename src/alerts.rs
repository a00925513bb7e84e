//! Alerts: rules each chat sets from the bot, evaluated after every
//! published run (and for digests, at a local time), grouped into one
//! message per chat per run.
//!
//! Evaluation is a pure function of (previous screen, new screen, previous
//! and new portfolio rule, rules, per-rule state): threshold rules fire on
//! the crossing, not every day a value stays past it, and the per-rule
//! `last_date` makes evaluation idempotent per screen date, so a restart
//! never fires twice for the same run. Rules and state live in the store
//! (`alerts/book.json`, with the outbox: see [`crate::notify`]).

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

use chrono::{NaiveDate, NaiveTime};
use serde::{Deserialize, Serialize};

use crate::domain::{DrawdownRow, Symbol};
use crate::echo::quoted;

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
            Self::Digest { at } => write!(f, "daily digest at {}", at.format("%H:%M")),
        }
    }
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

/// The inputs of one evaluation.
#[derive(Debug, Clone, Copy)]
pub struct Inputs<'a> {
    /// The screen before this run (rank order), if any.
    pub previous: Option<&'a [DrawdownRow]>,
    /// The new screen (rank order).
    pub current: &'a [DrawdownRow],
    /// Its date.
    pub date: NaiveDate,
    /// Take-profit signal before and now.
    pub profit_before: Option<bool>,
    /// Take-profit signal now.
    pub profit_now: Option<bool>,
}

/// Names at or below `level`: the rows are in rank order (deepest first),
/// so this is a binary search, not a scan per rule.
fn below_count(rows: &[DrawdownRow], level: f64) -> usize {
    rows.partition_point(|r| r.drawdown_pct <= level)
}

/// A screen with a by-symbol index, built once per evaluation.
struct Indexed<'a> {
    rows: &'a [DrawdownRow],
    by_symbol: std::collections::HashMap<&'a Symbol, &'a DrawdownRow>,
}

impl<'a> Indexed<'a> {
    fn new(rows: &'a [DrawdownRow]) -> Self {
        Self {
            rows,
            by_symbol: rows.iter().map(|r| (&r.symbol, r)).collect(),
        }
    }

    fn get(&self, s: &Symbol) -> Option<&'a DrawdownRow> {
        self.by_symbol.get(s).copied()
    }
}

/// Evaluate run-driven rules (everything but digests) against a new screen.
/// Returns one notification per chat with something to say, and the new
/// states. A rule whose state already saw `date` is skipped (idempotent).
pub fn evaluate(
    inputs: Inputs<'_>,
    rules: &[Rule],
    states: &BTreeMap<u64, RuleState>,
) -> (Vec<Notification>, BTreeMap<u64, RuleState>) {
    let mut next: BTreeMap<u64, RuleState> = BTreeMap::new();
    let mut by_chat: BTreeMap<i64, Vec<Fired>> = BTreeMap::new();
    let current = Indexed::new(inputs.current);
    let previous = inputs.previous.map(Indexed::new);
    // The top-N set of each distinct N, computed once.
    let mut tops: std::collections::HashMap<usize, Vec<Symbol>> = std::collections::HashMap::new();
    // The last "entered / left" text worked out for each N, with the
    // earlier set it was worked out from: rules of the same N nearly always
    // saw the same earlier set, and comparing two sets is far cheaper than
    // diffing them again.
    let mut diffs: std::collections::HashMap<usize, (Vec<Symbol>, Option<String>)> =
        std::collections::HashMap::new();
    let empty = RuleState::default();
    for rule in rules {
        let prev = states.get(&rule.id).unwrap_or(&empty);
        let skip = rule.paused
            || matches!(rule.kind, RuleKind::Digest { .. })
            || prev.last_date.is_some_and(|d| d >= inputs.date);
        if skip {
            // Not evaluated now: its memory is kept as it was.
            if let Some(p) = states.get(&rule.id) {
                next.insert(rule.id, p.clone());
            }
            continue;
        }
        let (fired, state) = match &rule.kind {
            RuleKind::Digest { .. } => continue,
            RuleKind::SymbolBelow { symbol, level } => {
                let now = current.get(symbol);
                let active = now.map(|r| r.drawdown_pct <= *level);
                // Before: the rule's own memory, else the previous screen.
                let was = prev.active.or_else(|| {
                    previous
                        .as_ref()
                        .and_then(|p| p.get(symbol))
                        .map(|r| r.drawdown_pct <= *level)
                });
                let text = match (was, active, now) {
                    (Some(false), Some(true), Some(r)) => Some(format!(
                        "{symbol} fell below {level}%: now {:.2}% (rank {})",
                        r.drawdown_pct, r.rank
                    )),
                    (Some(true), Some(false), Some(r)) => Some(format!(
                        "{symbol} recovered above {level}%: now {:.2}%",
                        r.drawdown_pct
                    )),
                    _ => None,
                };
                (
                    text,
                    RuleState {
                        last_date: Some(inputs.date),
                        active: active.or(was),
                        members: Vec::new(),
                    },
                )
            }
            RuleKind::Top { n } => {
                let members = tops
                    .entry(*n)
                    .or_insert_with(|| {
                        let mut top: Vec<Symbol> = current
                            .rows
                            .iter()
                            .take(*n)
                            .map(|r| r.symbol.clone())
                            .collect();
                        top.sort_unstable();
                        top
                    })
                    .clone();
                let previous_top = || {
                    previous.as_ref().map(|p| {
                        let mut top: Vec<Symbol> =
                            p.rows.iter().take(*n).map(|r| r.symbol.clone()).collect();
                        top.sort_unstable();
                        top
                    })
                };
                let before: Option<std::borrow::Cow<'_, [Symbol]>> = if prev.last_date.is_some() {
                    Some(std::borrow::Cow::Borrowed(prev.members.as_slice()))
                } else {
                    previous_top().map(std::borrow::Cow::Owned)
                };
                let text = before.and_then(|before| {
                    if let Some((seen, text)) = diffs.get(n)
                        && seen.as_slice() == &*before
                    {
                        return text.clone();
                    }
                    let absent = |set: &[Symbol], s: &Symbol| set.binary_search(s).is_err();
                    let entered: Vec<&str> = members
                        .iter()
                        .filter(|s| absent(&before, s))
                        .map(Symbol::as_str)
                        .collect();
                    let left: Vec<&str> = before
                        .iter()
                        .filter(|s| absent(&members, s))
                        .map(Symbol::as_str)
                        .collect();
                    let mut parts = Vec::new();
                    if !entered.is_empty() {
                        parts.push(format!("entered the top {n}: {}", entered.join(", ")));
                    }
                    if !left.is_empty() {
                        parts.push(format!("left the top {n}: {}", left.join(", ")));
                    }
                    let text = (!parts.is_empty()).then(|| parts.join("; "));
                    diffs.insert(*n, (before.into_owned(), text.clone()));
                    text
                });
                (
                    text,
                    RuleState {
                        last_date: Some(inputs.date),
                        active: None,
                        members,
                    },
                )
            }
            RuleKind::Breadth { level, count } => {
                let n = below_count(inputs.current, *level);
                let active = n >= *count;
                let was = prev.active.or_else(|| {
                    previous
                        .as_ref()
                        .map(|p| below_count(p.rows, *level) >= *count)
                });
                let text = match (was, active) {
                    (Some(false), true) => Some(format!(
                        "market stress: {n} names are down {}% or more (alert at {count})",
                        -level
                    )),
                    (Some(true), false) => Some(format!(
                        "market stress eased: {n} names down {}% or more (alert at {count})",
                        -level
                    )),
                    _ => None,
                };
                (
                    text,
                    RuleState {
                        last_date: Some(inputs.date),
                        active: Some(active),
                        members: Vec::new(),
                    },
                )
            }
            RuleKind::Profit => {
                let was = prev.active.or(inputs.profit_before);
                let text = match (was, inputs.profit_now) {
                    (Some(false), Some(true)) => {
                        Some("TAKE PROFIT: the profit-taking rule is met".to_string())
                    }
                    (Some(true), Some(false)) => {
                        Some("the profit-taking rule is no longer met".to_string())
                    }
                    _ => None,
                };
                (
                    text,
                    RuleState {
                        last_date: Some(inputs.date),
                        active: inputs.profit_now.or(was),
                        members: Vec::new(),
                    },
                )
            }
        };
        next.insert(rule.id, state);
        if let Some(text) = fired {
            by_chat.entry(rule.chat).or_default().push(Fired {
                rule_id: rule.id,
                text,
            });
        }
    }
    let notes = by_chat
        .into_iter()
        .map(|(chat, fired)| Notification {
            chat,
            date: inputs.date,
            fired,
            digest: false,
        })
        .collect();
    (notes, next)
}

/// Digests due at local time `now_local` on `today`: rules whose time has
/// come and that have not run today, only on trading days.
pub fn due_digests(
    today: NaiveDate,
    now_local: NaiveTime,
    is_trading_day: bool,
    rules: &[Rule],
    states: &BTreeMap<u64, RuleState>,
) -> (Vec<Notification>, BTreeMap<u64, RuleState>) {
    let mut next = states.clone();
    let mut chats = BTreeSet::new();
    if !is_trading_day {
        return (Vec::new(), next);
    }
    for rule in rules.iter().filter(|r| !r.paused) {
        let RuleKind::Digest { at } = rule.kind else {
            continue;
        };
        let done = states
            .get(&rule.id)
            .and_then(|s| s.last_date)
            .is_some_and(|d| d >= today);
        if done || now_local < at {
            continue;
        }
        next.insert(
            rule.id,
            RuleState {
                last_date: Some(today),
                ..RuleState::default()
            },
        );
        chats.insert(rule.chat);
    }
    let notes = chats
        .into_iter()
        .map(|chat| Notification {
            chat,
            date: today,
            fired: Vec::new(),
            digest: true,
        })
        .collect();
    (notes, next)
}

/// Why `/alert` arguments were refused: the usage line names what was wrong.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct UsageError(pub String);

/// The usage text of `/alert`.
pub const ALERT_USAGE: &str = "usage: /alert TICKER below -30 | /alert top 10 | /alert market below -20 count 50 | /alert profit | /alert digest 07:30";

fn usage(what: &str) -> UsageError {
    UsageError(format!("{what}\n{ALERT_USAGE}"))
}

/// The largest `count` of a market rule: more names than any US universe
/// holds (a count above the configured universe can never fire, and the bot
/// says so; this bound keeps the number readable and the rule meaningful).
pub const MAX_BREADTH_COUNT: usize = 10_000;

/// The largest N of a top-N rule (the most `/screen` shows).
pub const MAX_TOP_N: usize = 50;

/// A drawdown level: a percentage strictly between -100 (a price of zero,
/// never reached by a listed stock) and 0 (the peak itself, where a rule
/// would always hold), with at most two decimals (drawdowns are stored with
/// four, so finer levels only make the rule unreadable: `-1e-320` would be
/// listed with 320 digits).
fn level(raw: &str) -> Result<f64, UsageError> {
    let v: f64 = raw
        .trim_end_matches('%')
        .parse()
        .map_err(|_| usage(&format!("{} is not a percentage like -30", quoted(raw))))?;
    let two_decimals = (v * 100.0).round() / 100.0 == v;
    if !(v > -100.0 && v < 0.0 && two_decimals) {
        return Err(usage(&format!(
            "the level {} must be a drawdown above -100 and below 0, with at most 2 decimals (like -30 or -12.5)",
            quoted(raw)
        )));
    }
    Ok(v)
}

/// Parse `/alert` arguments into a rule kind.
pub fn parse_alert(args: &str) -> Result<RuleKind, UsageError> {
    let words: Vec<&str> = args.split_whitespace().collect();
    let lower: Vec<String> = words.iter().map(|w| w.to_ascii_lowercase()).collect();
    let lw: Vec<&str> = lower.iter().map(String::as_str).collect();
    match lw.as_slice() {
        [] => Err(usage("what should I watch?")),
        ["profit"] => Ok(RuleKind::Profit),
        ["top", n] => {
            let n: usize = n
                .parse()
                .map_err(|_| usage(&format!("{} is not a count like 10", quoted(words[1]))))?;
            if !(1..=MAX_TOP_N).contains(&n) {
                return Err(usage(&format!("top N takes N from 1 to {MAX_TOP_N}")));
            }
            Ok(RuleKind::Top { n })
        }
        ["market", "below", l, "count", c] => {
            let count: usize = c
                .parse()
                .map_err(|_| usage(&format!("{} is not a count like 50", quoted(words[4]))))?;
            if !(1..=MAX_BREADTH_COUNT).contains(&count) {
                return Err(usage(&format!(
                    "the count must be from 1 to {MAX_BREADTH_COUNT}"
                )));
            }
            Ok(RuleKind::Breadth {
                level: level(l)?,
                count,
            })
        }
        ["market", ..] => Err(usage("market alerts read: market below -20 count 50")),
        ["digest", t] => {
            let at = NaiveTime::parse_from_str(t, "%H:%M")
                .map_err(|_| usage(&format!("{} is not a time like 07:30", quoted(words[1]))))?;
            Ok(RuleKind::Digest { at })
        }
        [_, "below", l] => {
            let symbol = Symbol::parse(words[0]).map_err(|_| {
                usage(&format!(
                    "{} is not a ticker (letters, digits, '.' and '-', up to {} characters)",
                    quoted(words[0]),
                    Symbol::MAX_LEN
                ))
            })?;
            Ok(RuleKind::SymbolBelow {
                symbol,
                level: level(l)?,
            })
        }
        _ => Err(usage("I did not understand that alert")),
    }
}

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
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(sym: &str, dd: f64, rank: u32) -> DrawdownRow {
        DrawdownRow {
            date: "2026-11-24".parse().unwrap(),
            symbol: Symbol::parse(sym).unwrap(),
            current_price: 10.0,
            peak_price: 20.0,
            peak_date: "2026-06-01".parse().unwrap(),
            drawdown_pct: dd,
            days_since_peak: 10,
            volume: 1,
            rank,
        }
    }

    fn screen(v: &[(&str, f64)]) -> Vec<DrawdownRow> {
        let mut rows: Vec<DrawdownRow> = v.iter().map(|(s, d)| row(s, *d, 0)).collect();
        rows.sort_by(|a, b| a.drawdown_pct.total_cmp(&b.drawdown_pct));
        for (i, r) in rows.iter_mut().enumerate() {
            r.rank = i as u32 + 1;
        }
        rows
    }

    fn d(s: &str) -> NaiveDate {
        s.parse().unwrap()
    }

    fn inputs<'a>(
        prev: Option<&'a [DrawdownRow]>,
        cur: &'a [DrawdownRow],
        date: &str,
    ) -> Inputs<'a> {
        Inputs {
            previous: prev,
            current: cur,
            date: d(date),
            profit_before: None,
            profit_now: None,
        }
    }

    fn rule(id: u64, chat: i64, kind: RuleKind) -> Rule {
        Rule {
            id,
            chat,
            kind,
            paused: false,
        }
    }

    #[test]
    fn symbol_rule_fires_on_the_crossing_not_while_below() {
        let rules = [rule(1, 10, parse_alert("AAPL below -30").unwrap())];
        let s1 = screen(&[("AAPL", -25.0), ("MSFT", -5.0)]);
        let s2 = screen(&[("AAPL", -31.0), ("MSFT", -5.0)]);
        let s3 = screen(&[("AAPL", -40.0), ("MSFT", -5.0)]);
        let s4 = screen(&[("AAPL", -20.0), ("MSFT", -5.0)]);
        let (n, st) = evaluate(inputs(None, &s1, "2026-11-20"), &rules, &BTreeMap::new());
        assert!(n.is_empty(), "first look: nothing crossed");
        let (n, st) = evaluate(inputs(Some(&s1), &s2, "2026-11-23"), &rules, &st);
        assert_eq!(n.len(), 1);
        assert_eq!(
            n[0].fired[0].text,
            "AAPL fell below -30%: now -31.00% (rank 1)"
        );
        let (n, st) = evaluate(inputs(Some(&s2), &s3, "2026-11-24"), &rules, &st);
        assert!(n.is_empty(), "stays below: no repeat");
        let (n, _) = evaluate(inputs(Some(&s3), &s4, "2026-11-25"), &rules, &st);
        assert_eq!(n[0].fired[0].text, "AAPL recovered above -30%: now -20.00%");
    }

    #[test]
    fn evaluation_is_idempotent_per_date() {
        let rules = [rule(1, 10, parse_alert("AAPL below -30").unwrap())];
        let s1 = screen(&[("AAPL", -25.0)]);
        let s2 = screen(&[("AAPL", -35.0)]);
        let (_, st) = evaluate(inputs(None, &s1, "2026-11-20"), &rules, &BTreeMap::new());
        let (n, st2) = evaluate(inputs(Some(&s1), &s2, "2026-11-23"), &rules, &st);
        assert_eq!(n.len(), 1);
        // A restart re-evaluates the same run: nothing fires again.
        let (again, st3) = evaluate(inputs(Some(&s1), &s2, "2026-11-23"), &rules, &st2);
        assert!(again.is_empty());
        assert_eq!(st2, st3);
    }

    /// Rules of one N that saw different earlier sets each get their own
    /// diff (the per-N memo is only reused for an equal earlier set).
    #[test]
    fn top_rules_of_one_n_with_different_memories_each_get_their_own_diff() {
        let rules = [
            rule(1, 10, RuleKind::Top { n: 2 }),
            rule(2, 20, RuleKind::Top { n: 2 }),
            rule(3, 30, RuleKind::Top { n: 2 }),
        ];
        let members = |syms: &[&str]| RuleState {
            last_date: Some(d("2026-11-20")),
            active: None,
            members: syms.iter().map(|s| Symbol::parse(s).unwrap()).collect(),
        };
        let states = BTreeMap::from([
            (1, members(&["A", "B"])),
            (2, members(&["A", "C"])),
            (3, members(&["A", "B"])),
        ]);
        let now = screen(&[("A", -50.0), ("D", -45.0), ("B", -20.0)]);
        let (notes, next) = evaluate(inputs(None, &now, "2026-11-23"), &rules, &states);
        let text = |chat: i64| {
            notes
                .iter()
                .find(|n| n.chat == chat)
                .map(|n| n.fired[0].text.clone())
        };
        assert_eq!(text(10).unwrap(), "entered the top 2: D; left the top 2: B");
        assert_eq!(text(20).unwrap(), "entered the top 2: D; left the top 2: C");
        assert_eq!(text(30), text(10));
        assert!(
            next.values()
                .all(|s| s.members == members(&["A", "D"]).members)
        );
    }

    #[test]
    fn top_rule_reports_entries_and_exits() {
        let rules = [rule(1, 10, RuleKind::Top { n: 2 })];
        let s1 = screen(&[("A", -50.0), ("B", -40.0), ("C", -30.0)]);
        let s2 = screen(&[("A", -50.0), ("B", -20.0), ("C", -45.0)]);
        let (n, st) = evaluate(inputs(None, &s1, "2026-11-20"), &rules, &BTreeMap::new());
        assert!(n.is_empty());
        let (n, st) = evaluate(inputs(Some(&s1), &s2, "2026-11-23"), &rules, &st);
        assert_eq!(
            n[0].fired[0].text,
            "entered the top 2: C; left the top 2: B"
        );
        let (n, _) = evaluate(inputs(Some(&s2), &s2, "2026-11-24"), &rules, &st);
        assert!(n.is_empty(), "no change, no message");
    }

    #[test]
    fn breadth_counts_names_down_at_least_the_level() {
        let rules = [rule(
            1,
            10,
            parse_alert("market below -20 count 2").unwrap(),
        )];
        let calm = screen(&[("A", -25.0), ("B", -10.0), ("C", -5.0)]);
        let stress = screen(&[("A", -25.0), ("B", -20.0), ("C", -5.0)]);
        let (n, st) = evaluate(
            inputs(Some(&calm), &calm, "2026-11-20"),
            &rules,
            &BTreeMap::new(),
        );
        assert!(n.is_empty());
        let (n, st) = evaluate(inputs(Some(&calm), &stress, "2026-11-23"), &rules, &st);
        assert_eq!(
            n[0].fired[0].text,
            "market stress: 2 names are down 20% or more (alert at 2)"
        );
        let (n, st) = evaluate(inputs(Some(&stress), &stress, "2026-11-24"), &rules, &st);
        assert!(n.is_empty());
        let (n, _) = evaluate(inputs(Some(&stress), &calm, "2026-11-25"), &rules, &st);
        assert!(n[0].fired[0].text.starts_with("market stress eased"));
    }

    #[test]
    fn profit_rule_fires_on_each_flip() {
        let rules = [rule(1, 10, RuleKind::Profit)];
        let s = screen(&[("A", -1.0)]);
        let mut i = inputs(Some(&s), &s, "2026-11-20");
        i.profit_before = Some(false);
        i.profit_now = Some(false);
        let (n, st) = evaluate(i, &rules, &BTreeMap::new());
        assert!(n.is_empty());
        i.date = d("2026-11-23");
        i.profit_now = Some(true);
        let (n, st) = evaluate(i, &rules, &st);
        assert_eq!(
            n[0].fired[0].text,
            "TAKE PROFIT: the profit-taking rule is met"
        );
        i.date = d("2026-11-24");
        let (n, st) = evaluate(i, &rules, &st);
        assert!(n.is_empty(), "still met: once only");
        i.date = d("2026-11-25");
        i.profit_now = Some(false);
        let (n, _) = evaluate(i, &rules, &st);
        assert_eq!(
            n[0].fired[0].text,
            "the profit-taking rule is no longer met"
        );
    }

    #[test]
    fn one_message_per_chat_groups_its_rules_and_paused_rules_stay_quiet() {
        let mut rules = vec![
            rule(1, 10, parse_alert("A below -30").unwrap()),
            rule(2, 10, parse_alert("B below -30").unwrap()),
            rule(3, 20, parse_alert("A below -30").unwrap()),
            rule(4, 30, parse_alert("A below -30").unwrap()),
        ];
        rules[3].paused = true;
        let s1 = screen(&[("A", -10.0), ("B", -10.0)]);
        let s2 = screen(&[("A", -35.0), ("B", -33.0)]);
        let (n, _) = evaluate(
            inputs(Some(&s1), &s2, "2026-11-23"),
            &rules,
            &BTreeMap::new(),
        );
        assert_eq!(n.len(), 2);
        assert_eq!((n[0].chat, n[0].fired.len()), (10, 2));
        assert_eq!((n[1].chat, n[1].fired.len()), (20, 1));
    }

    #[test]
    fn digests_only_on_trading_days_once_after_their_time() {
        let rules = [
            rule(1, 10, parse_alert("digest 07:30").unwrap()),
            rule(2, 20, parse_alert("digest 09:00").unwrap()),
        ];
        let t = |s: &str| NaiveTime::parse_from_str(s, "%H:%M").unwrap();
        let (n, st) = due_digests(d("2026-11-26"), t("08:00"), false, &rules, &BTreeMap::new());
        assert!(n.is_empty(), "Thanksgiving: no digest");
        let (n, st) = due_digests(d("2026-11-27"), t("07:00"), true, &rules, &st);
        assert!(n.is_empty(), "not yet");
        let (n, st) = due_digests(d("2026-11-27"), t("07:31"), true, &rules, &st);
        assert_eq!(n.iter().map(|x| x.chat).collect::<Vec<_>>(), [10]);
        assert!(n[0].digest);
        let (n, st) = due_digests(d("2026-11-27"), t("09:15"), true, &rules, &st);
        assert_eq!(
            n.iter().map(|x| x.chat).collect::<Vec<_>>(),
            [20],
            "chat 10 already had today's"
        );
        let (n, _) = due_digests(d("2026-11-30"), t("10:00"), true, &rules, &st);
        assert_eq!(n.len(), 2, "next trading day, both");
    }

    #[test]
    fn bad_arguments_get_a_usage_line_naming_the_problem() {
        for (args, needle) in [
            ("", "what should I watch"),
            ("AAPL below thirty", "not a percentage"),
            ("AAPL below 30", "above -100 and below 0"),
            ("AAPL below -100", "above -100 and below 0"),
            ("AAPL below -1e-320", "at most 2 decimals"),
            ("AAPL below nan", "above -100"),
            ("AAPL below -inf", "above -100"),
            ("AAPL below 0", "below 0"),
            (
                "market below -20 count 18446744073709551615",
                "from 1 to 10000",
            ),
            ("market below -20 count 10001", "from 1 to 10000"),
            ("market below -100 count 5", "above -100"),
            ("top 99999999999999999999999", "not a count"),
            ("top zero", "not a count"),
            ("top 500", "from 1 to 50"),
            ("market below -20", "market below -20 count 50"),
            ("digest 7:30pm", "not a time"),
            ("<b> below -30", "ticker"),
            ("whatever", "did not understand"),
        ] {
            let e = parse_alert(args).unwrap_err().0;
            assert!(e.contains(needle), "{args}: {e}");
            assert!(e.ends_with(ALERT_USAGE));
        }
        let long = format!("{} below -30", "\u{200b}".repeat(4080));
        let e = parse_alert(&long).unwrap_err().0;
        assert!(e.len() < 300 && !e.contains("\\u"), "{e}");
        assert_eq!(
            parse_alert("market below -12.25 count 10000").unwrap(),
            RuleKind::Breadth {
                level: -12.25,
                count: 10_000
            }
        );
        assert_eq!(
            parse_alert("bf.b below -25%").unwrap(),
            RuleKind::SymbolBelow {
                symbol: Symbol::parse("BF.B").unwrap(),
                level: -25.0
            }
        );
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
}
