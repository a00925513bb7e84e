//! Pure evaluation: (previous screen, new screen, previous and new
//! portfolio rule, rules, per-rule state) in, one [`Notification`] per chat
//! and the new states out. One function per rule kind (`symbol_below`,
//! `top`, `breadth`, `profit`); [`evaluate`] dispatches to them and groups
//! what fired by chat; [`due_digests`] is the kind a timer drives; risk
//! rules are driven by a new risk view ([`evaluate_risk`], in `risk`).
//!
//! Threshold rules fire on the crossing, not every day a value stays past
//! it, and the per-rule `last_date` makes evaluation idempotent per screen
//! date, so a restart never fires twice for the same run.

use std::borrow::Cow;
use std::collections::{BTreeMap, BTreeSet, HashMap};

use chrono::{NaiveDate, NaiveTime};

use super::rules::{Fired, Notification, Rule, RuleKind, RuleState};
use crate::domain::{DrawdownRow, Symbol};

pub(super) mod risk;

pub use risk::evaluate_risk;

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

/// What one rule made of one run: the line it fires, if any, and what it
/// saw (its next state).
struct Outcome {
    fired: Option<String>,
    state: RuleState,
}

impl Outcome {
    /// A threshold rule's outcome on `date`.
    fn threshold(fired: Option<String>, date: NaiveDate, active: Option<bool>) -> Self {
        Self {
            fired,
            state: RuleState {
                last_date: Some(date),
                active,
                members: Vec::new(),
            },
        }
    }
}

/// Names at or below `level`: the rows are in rank order (deepest first),
/// so this is a binary search, not a scan per rule.
fn below_count(rows: &[DrawdownRow], level: f64) -> usize {
    rows.partition_point(|r| r.drawdown_pct <= level)
}

/// A screen with a by-symbol index, built once per evaluation.
struct Indexed<'a> {
    rows: &'a [DrawdownRow],
    by_symbol: HashMap<&'a Symbol, &'a DrawdownRow>,
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

/// What top-N rules share within one evaluation: the top-N set of each
/// distinct N, computed once, and the last "entered / left" text worked
/// out for each N with the earlier set it was worked out from (rules of
/// the same N nearly always saw the same earlier set, and comparing two
/// sets is far cheaper than diffing them again).
#[derive(Default)]
struct TopMemo {
    sets: HashMap<usize, Vec<Symbol>>,
    diffs: HashMap<usize, (Vec<Symbol>, Option<String>)>,
}

/// One evaluation's screens, indexed once, and the top-N memo.
struct Screens<'a> {
    inputs: Inputs<'a>,
    current: Indexed<'a>,
    previous: Option<Indexed<'a>>,
    tops: TopMemo,
}

impl<'a> Screens<'a> {
    fn new(inputs: Inputs<'a>) -> Self {
        Self {
            inputs,
            current: Indexed::new(inputs.current),
            previous: inputs.previous.map(Indexed::new),
            tops: TopMemo::default(),
        }
    }
}

/// `SYMBOL below LEVEL`: fires when the symbol's drawdown crosses the
/// level, either way. Before: the rule's own memory, else the previous
/// screen.
fn symbol_below(s: &Screens<'_>, prev: &RuleState, symbol: &Symbol, level: f64) -> Outcome {
    let now = s.current.get(symbol);
    let active = now.map(|r| r.drawdown_pct <= level);
    let was = prev.active.or_else(|| {
        s.previous
            .as_ref()
            .and_then(|p| p.get(symbol))
            .map(|r| r.drawdown_pct <= level)
    });
    let fired = match (was, active, now) {
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
    Outcome::threshold(fired, s.inputs.date, active.or(was))
}

/// The first `n` symbols of a screen in rank order, sorted by name.
fn top_set(rows: &[DrawdownRow], n: usize) -> Vec<Symbol> {
    let mut top: Vec<Symbol> = rows.iter().take(n).map(|r| r.symbol.clone()).collect();
    top.sort_unstable();
    top
}

/// What changed between two sorted top-N sets, as one line; `None` when
/// nothing did.
fn top_changes(n: usize, before: &[Symbol], now: &[Symbol]) -> Option<String> {
    let absent = |set: &[Symbol], s: &Symbol| set.binary_search(s).is_err();
    let entered: Vec<&str> = now
        .iter()
        .filter(|s| absent(before, s))
        .map(Symbol::as_str)
        .collect();
    let left: Vec<&str> = before
        .iter()
        .filter(|s| absent(now, s))
        .map(Symbol::as_str)
        .collect();
    let mut parts = Vec::new();
    if !entered.is_empty() {
        parts.push(format!("entered the top {n}: {}", entered.join(", ")));
    }
    if !left.is_empty() {
        parts.push(format!("left the top {n}: {}", left.join(", ")));
    }
    (!parts.is_empty()).then(|| parts.join("; "))
}

/// `top N`: fires when symbols enter or leave the N deepest drawdowns.
/// Before: the set the rule last saw, else the previous screen's.
fn top(s: &mut Screens<'_>, prev: &RuleState, n: usize) -> Outcome {
    let rows = s.current.rows;
    let members = s
        .tops
        .sets
        .entry(n)
        .or_insert_with(|| top_set(rows, n))
        .clone();
    let before: Option<Cow<'_, [Symbol]>> = if prev.last_date.is_some() {
        Some(Cow::Borrowed(prev.members.as_slice()))
    } else {
        s.previous.as_ref().map(|p| Cow::Owned(top_set(p.rows, n)))
    };
    let fired = before.and_then(|before| {
        if let Some((seen, text)) = s.tops.diffs.get(&n)
            && seen.as_slice() == &*before
        {
            return text.clone();
        }
        let text = top_changes(n, &before, &members);
        s.tops.diffs.insert(n, (before.into_owned(), text.clone()));
        text
    });
    Outcome {
        fired,
        state: RuleState {
            last_date: Some(s.inputs.date),
            active: None,
            members,
        },
    }
}

/// `market below LEVEL count COUNT`: fires when the number of names down
/// `level` or more reaches `count`, and when it falls back under it.
fn breadth(s: &Screens<'_>, prev: &RuleState, level: f64, count: usize) -> Outcome {
    let n = below_count(s.inputs.current, level);
    let active = n >= count;
    let was = prev.active.or_else(|| {
        s.previous
            .as_ref()
            .map(|p| below_count(p.rows, level) >= count)
    });
    let fired = match (was, active) {
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
    Outcome::threshold(fired, s.inputs.date, Some(active))
}

/// `profit`: fires when the profit-taking rule turns true, and false again.
fn profit(inputs: &Inputs<'_>, prev: &RuleState) -> Outcome {
    let was = prev.active.or(inputs.profit_before);
    let fired = match (was, inputs.profit_now) {
        (Some(false), Some(true)) => Some("TAKE PROFIT: the profit-taking rule is met".to_string()),
        (Some(true), Some(false)) => Some("the profit-taking rule is no longer met".to_string()),
        _ => None,
    };
    Outcome::threshold(fired, inputs.date, inputs.profit_now.or(was))
}

/// One rule against one run, by its kind; `None` for a kind the run does
/// not drive (digests come from a timer: [`due_digests`]).
fn outcome(s: &mut Screens<'_>, kind: &RuleKind, prev: &RuleState) -> Option<Outcome> {
    match kind {
        RuleKind::SymbolBelow { symbol, level } => Some(symbol_below(s, prev, symbol, *level)),
        RuleKind::Top { n } => Some(top(s, prev, *n)),
        RuleKind::Breadth { level, count } => Some(breadth(s, prev, *level, *count)),
        RuleKind::Profit => Some(profit(&s.inputs, prev)),
        // Digests come from a timer, risk rules from a new risk view.
        RuleKind::Digest { .. } | RuleKind::Risk { .. } => None,
    }
}

/// Evaluate run-driven rules (everything but digests and risk rules)
/// against a new screen. Returns one notification per chat with something
/// to say, and the new states. A rule whose state already saw `date` is
/// skipped (idempotent).
pub fn evaluate(
    inputs: Inputs<'_>,
    rules: &[Rule],
    states: &BTreeMap<u64, RuleState>,
) -> (Vec<Notification>, BTreeMap<u64, RuleState>) {
    let mut screens = Screens::new(inputs);
    run_rules(inputs.date, rules, states, |kind, prev| {
        outcome(&mut screens, kind, prev)
    })
}

/// Every rule through `outcome` (`None`: a kind this evaluation does not
/// drive), as of `date`: paused rules and rules that already saw `date`
/// are skipped with their memory kept; what fired is grouped into one
/// notification per chat.
fn run_rules(
    date: NaiveDate,
    rules: &[Rule],
    states: &BTreeMap<u64, RuleState>,
    mut outcome: impl FnMut(&RuleKind, &RuleState) -> Option<Outcome>,
) -> (Vec<Notification>, BTreeMap<u64, RuleState>) {
    let mut next: BTreeMap<u64, RuleState> = BTreeMap::new();
    let mut by_chat: BTreeMap<i64, Vec<Fired>> = BTreeMap::new();
    let empty = RuleState::default();
    for rule in rules {
        let prev = states.get(&rule.id).unwrap_or(&empty);
        let seen = prev.last_date.is_some_and(|d| d >= date);
        let result = if rule.paused || seen {
            None
        } else {
            outcome(&rule.kind, prev)
        };
        let Some(Outcome { fired, state }) = result else {
            // Not evaluated now: its memory is kept as it was.
            if let Some(p) = states.get(&rule.id) {
                next.insert(rule.id, p.clone());
            }
            continue;
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
            date,
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::alerts::parse::parse_alert;
    use crate::test_support::d;

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
}
