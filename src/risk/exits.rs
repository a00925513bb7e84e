//! The strategy's exits applied to today's positions, with the same rules
//! the backtester applies to history ([`crate::strategy`]): the portfolio
//! profit rule, and each position's own take-profit, stop-loss and max
//! hold.

use crate::strategy::ExitReason;

use super::report::Exit;
use super::{RiskInput, RiskParams, f};

/// The positions to sell and notes on what could not be checked.
pub(super) fn exits(input: &RiskInput<'_>, params: &RiskParams) -> (Vec<Exit>, Vec<String>) {
    let mut notes = Vec::new();
    let returns: Vec<Option<f64>> = input
        .positions
        .iter()
        .map(|p| p.unrealized_return_pct.map(f).filter(|r| r.is_finite()))
        .collect();
    let mut exits: Vec<Exit> = Vec::new();
    // The profit rule counts the configured classes only, as /monitor does.
    let eligible: Vec<usize> = (0..input.positions.len())
        .filter(|&i| params.classes.contains(&input.positions[i].asset_class))
        .collect();
    let eligible_returns: Vec<f64> = eligible
        .iter()
        .map(|&i| returns[i].unwrap_or(f64::NAN))
        .collect();
    for k in params.portfolio_rule.fires(&eligible_returns) {
        let i = eligible[k];
        exits.push(exit(
            input,
            i,
            eligible_returns[k],
            ExitReason::PortfolioRule,
        ));
    }
    let rules = params.exit_rules;
    let mut unknown_hold = Vec::new();
    for (i, p) in input.positions.iter().enumerate() {
        let Some(ret) = returns[i] else { continue };
        let held = input.held.get(&p.symbol);
        let sessions = held.map_or(0, |h| h.sessions);
        if let Some(reason) = rules.exit(ret, sessions) {
            match exits.iter_mut().find(|e| e.symbol == p.symbol) {
                Some(e) => e.reasons.push(reason),
                None => exits.push(exit(input, i, ret, reason)),
            }
        } else if let Some(max) = rules.max_hold
            && held.is_none_or(|h| h.at_least && h.sessions < max)
        {
            unknown_hold.push(p.symbol.to_string());
        }
    }
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

fn exit(input: &RiskInput<'_>, i: usize, return_pct: f64, reason: ExitReason) -> Exit {
    let p = &input.positions[i];
    Exit {
        symbol: p.symbol.clone(),
        reasons: vec![reason],
        return_pct,
        held: input.held.get(&p.symbol).copied(),
    }
}
