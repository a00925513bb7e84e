//! Risk rules (`/alert risk weight 25`, `hhi 0.2`, `cluster 50`) against a
//! new risk view: fire when the measure reaches the level and when it falls
//! back under it, never again while it stays on one side; once per date
//! the view is of ([`RiskReport::as_of`]), like the screen's rules.

use std::collections::BTreeMap;

use super::super::rules::{Notification, RiskMeasure, Rule, RuleKind, RuleState};
use super::{Outcome, run_rules};
use crate::risk::RiskReport;

/// What a measure reads on `r`, with the names it is about; `None` when
/// the view has nothing to measure (no position, nothing clustered).
fn reading(measure: RiskMeasure, r: &RiskReport) -> Option<(f64, String)> {
    match measure {
        RiskMeasure::Weight => {
            let largest = r.concentration.largest.as_ref()?;
            Some((r.concentration.largest_weight_pct, largest.to_string()))
        }
        RiskMeasure::Hhi => {
            r.concentration.largest.as_ref()?;
            let h = r.concentration.herfindahl;
            let like = format!(
                "like {:.1} equal positions",
                r.concentration.effective_positions
            );
            Some((h, like))
        }
        RiskMeasure::Cluster => {
            // The heaviest group of positions that move together (the
            // report lists them by size, not by weight).
            let c = r
                .clusters
                .iter()
                .max_by(|a, b| a.weight_pct.total_cmp(&b.weight_pct))?;
            let names: Vec<&str> = c.symbols.iter().map(|s| s.as_str()).collect();
            Some((c.weight_pct, names.join(", ")))
        }
    }
}

/// The line a crossing fires: `up` reached the level, else fell under it.
fn line(measure: RiskMeasure, level: f64, value: f64, about: &str, up: bool) -> String {
    let head = if up { "risk" } else { "risk eased" };
    let at = measure.show(level);
    let now = measure.show(value);
    match measure {
        RiskMeasure::Weight => {
            format!("{head}: the largest position, {about}, is {now} of equity (alert at {at})")
        }
        RiskMeasure::Hhi => {
            format!("{head}: Herfindahl index {now}, {about} (alert at {at})")
        }
        RiskMeasure::Cluster => format!(
            "{head}: the largest group moving together, {about}, is {now} of equity (alert at {at})"
        ),
    }
}

/// One risk rule against `report`. Before: the rule's own memory, else the
/// previous view.
fn risk(
    report: &RiskReport,
    previous: Option<&RiskReport>,
    prev: &RuleState,
    measure: RiskMeasure,
    level: f64,
) -> Outcome {
    let now = reading(measure, report);
    let active = now.as_ref().map(|(v, _)| *v >= level);
    let was = prev.active.or_else(|| {
        previous
            .and_then(|p| reading(measure, p))
            .map(|(v, _)| v >= level)
    });
    let fired = match (was, active, &now) {
        (Some(false), Some(true), Some((v, about))) => Some(line(measure, level, *v, about, true)),
        (Some(true), Some(false), Some((v, about))) => Some(line(measure, level, *v, about, false)),
        _ => None,
    };
    Outcome::threshold(fired, report.as_of(), active.or(was))
}

/// Evaluate the risk rules against a new risk view (`previous`: the view
/// before it, for rules that have no memory yet). Other kinds are left as
/// they were. Idempotent per [`RiskReport::as_of`].
pub fn evaluate_risk(
    report: &RiskReport,
    previous: Option<&RiskReport>,
    rules: &[Rule],
    states: &BTreeMap<u64, RuleState>,
) -> (Vec<Notification>, BTreeMap<u64, RuleState>) {
    run_rules(report.as_of(), rules, states, |kind, prev| match kind {
        RuleKind::Risk { measure, level } => Some(risk(report, previous, prev, *measure, *level)),
        _ => None,
    })
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::alerts::parse::parse_alert;
    use crate::domain::{AssetSymbol, Symbol};
    use crate::risk::{Cluster, Concentration};
    use crate::test_support::d;

    /// A view of `date` whose largest position weighs `weight`% and whose
    /// two clusters weigh `cluster`% (A, B) and 10% (C).
    pub(crate) fn view(date: &str, weight: f64, hhi: f64, cluster: f64) -> RiskReport {
        let sym = |s: &str| Symbol::parse(s).unwrap();
        RiskReport {
            prices_through: Some(d(date)),
            simulated: false,
            concentration: Concentration {
                largest: Some(AssetSymbol::parse("AAPL").unwrap()),
                largest_weight_pct: weight,
                herfindahl: hhi,
                invested_pct: 100.0,
                effective_positions: 1.0 / hhi,
            },
            // Listed by size: the one-member cluster first, on purpose, to
            // check the heaviest is the one measured.
            clusters: vec![
                Cluster {
                    symbols: vec![sym("C")],
                    weight_pct: 10.0,
                },
                Cluster {
                    symbols: vec![sym("A"), sym("B")],
                    weight_pct: cluster,
                },
            ],
            effective_bets: Some(2.0),
            ..RiskReport::empty(d(date))
        }
    }

    fn rules(args: &[&str]) -> Vec<Rule> {
        args.iter()
            .enumerate()
            .map(|(i, a)| Rule {
                id: i as u64 + 1,
                chat: 10,
                kind: parse_alert(a).unwrap(),
                paused: false,
            })
            .collect()
    }

    fn texts(notes: &[Notification]) -> Vec<String> {
        notes
            .iter()
            .flat_map(|n| n.fired.iter().map(|f| f.text.clone()))
            .collect()
    }

    #[test]
    fn fires_on_the_crossing_not_while_above_and_again_after_falling_back() {
        let r = rules(&["risk weight 25"]);
        let (n, st) = evaluate_risk(
            &view("2026-11-20", 20.0, 0.2, 30.0),
            None,
            &r,
            &BTreeMap::new(),
        );
        assert!(n.is_empty(), "first look: a baseline");
        assert_eq!(st[&1].active, Some(false));
        let (n, st) = evaluate_risk(&view("2026-11-23", 27.25, 0.2, 30.0), None, &r, &st);
        assert_eq!(
            texts(&n),
            ["risk: the largest position, AAPL, is 27.25% of equity (alert at 25%)"]
        );
        assert_eq!(n[0].date, d("2026-11-23"));
        let (n, st) = evaluate_risk(&view("2026-11-24", 31.0, 0.2, 30.0), None, &r, &st);
        assert!(n.is_empty(), "still above: no repeat");
        let (n, st) = evaluate_risk(&view("2026-11-25", 24.0, 0.2, 30.0), None, &r, &st);
        assert_eq!(
            texts(&n),
            ["risk eased: the largest position, AAPL, is 24% of equity (alert at 25%)"]
        );
        let (n, st) = evaluate_risk(&view("2026-11-26", 23.0, 0.2, 30.0), None, &r, &st);
        assert!(n.is_empty(), "still under: no repeat");
        let (n, _) = evaluate_risk(&view("2026-11-27", 25.0, 0.2, 30.0), None, &r, &st);
        assert_eq!(texts(&n).len(), 1, "reaching the level again fires again");
    }

    #[test]
    fn the_herfindahl_and_the_heaviest_cluster_are_measured() {
        let r = rules(&["risk hhi 0.2", "risk cluster 50"]);
        let before = view("2026-11-20", 20.0, 0.15, 45.0);
        let after = view("2026-11-23", 20.0, 0.25, 55.5);
        // No memory yet: the previous view is the baseline.
        let (n, st) = evaluate_risk(&after, Some(&before), &r, &BTreeMap::new());
        assert_eq!(
            texts(&n),
            [
                "risk: Herfindahl index 0.25, like 4.0 equal positions (alert at 0.2)",
                "risk: the largest group moving together, A, B, is 55.5% of equity (alert at 50%)",
            ]
        );
        // The same view again (a restart): nothing fires, nothing changes.
        let (n, st2) = evaluate_risk(&after, Some(&before), &r, &st);
        assert!(n.is_empty());
        assert_eq!(st, st2);
    }

    #[test]
    fn other_kinds_are_left_alone_and_an_empty_portfolio_keeps_the_memory() {
        let r = rules(&["profit", "risk weight 25"]);
        let states = BTreeMap::from([(
            1,
            RuleState {
                last_date: Some(d("2026-11-19")),
                active: Some(true),
                members: Vec::new(),
            },
        )]);
        let mut empty = view("2026-11-20", 0.0, 0.0, 0.0);
        empty.concentration = Concentration::default();
        empty.clusters.clear();
        let (n, st) = evaluate_risk(&empty, None, &r, &states);
        assert!(n.is_empty());
        assert_eq!(st[&1], states[&1], "the profit rule is not touched");
        assert_eq!(st[&2].active, None, "nothing to measure: no baseline yet");
        // A paused rule stays quiet.
        let mut paused = rules(&["risk weight 25"]);
        paused[0].paused = true;
        let (n, _) = evaluate_risk(
            &view("2026-11-23", 90.0, 0.9, 90.0),
            Some(&view("2026-11-20", 1.0, 0.1, 1.0)),
            &paused,
            &BTreeMap::new(),
        );
        assert!(n.is_empty());
    }
}
