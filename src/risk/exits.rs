//! The strategy's exits applied to today's positions, by the decision the
//! backtester takes on every session ([`crate::strategy::decide_exits`]):
//! each position's own take-profit, stop-loss and max hold, then the
//! portfolio profit rule over the configured asset classes.

use crate::strategy::{Holding, decide_exits};

use super::report::Exit;
use super::{RiskInput, RiskParams, f};

/// The positions to sell and notes on what could not be checked.
pub(super) fn exits(input: &RiskInput<'_>, params: &RiskParams) -> (Vec<Exit>, Vec<String>) {
    let mut notes = Vec::new();
    let rules = params.exit_rules;
    let holdings: Vec<Holding> = input
        .positions
        .iter()
        .map(|p| {
            let held = input.held.get(&p.symbol);
            Holding {
                return_pct: p.unrealized_return_pct.map(f).filter(|r| r.is_finite()),
                // A run that reaches the oldest snapshot read is a lower
                // bound: it proves max hold only once it reaches it.
                held_sessions: held
                    .filter(|h| !h.at_least || rules.max_hold.is_some_and(|m| h.sessions >= m))
                    .map(|h| h.sessions),
                // The profit rule counts the configured classes only, as /monitor does.
                in_portfolio_rule: params.classes.contains(&p.asset_class),
            }
        })
        .collect();
    let decided = decide_exits(&holdings, &rules, Some(&params.portfolio_rule));
    let exits = decided
        .into_iter()
        .filter_map(|e| {
            let p = &input.positions[e.index];
            Some(Exit {
                symbol: p.symbol.clone(),
                reasons: e.reasons,
                return_pct: holdings[e.index].return_pct?,
                held: input.held.get(&p.symbol).copied(),
            })
        })
        .collect::<Vec<_>>();
    let unknown_hold: Vec<String> = input
        .positions
        .iter()
        .zip(&holdings)
        .filter(|(p, h)| {
            rules.max_hold.is_some()
                && h.held_sessions.is_none()
                && h.return_pct.is_some()
                && !exits.iter().any(|e| e.symbol == p.symbol)
        })
        .map(|(p, _)| p.symbol.to_string())
        .collect();
    if !unknown_hold.is_empty() {
        notes.push(format!(
            "max hold ({} sessions) unknown for {}: the stored snapshots do not go back \
             to when they were bought",
            rules.max_hold.unwrap_or(0),
            unknown_hold.join(", ")
        ));
    }
    (exits, notes)
}
