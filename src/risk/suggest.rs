//! The latest screen's top candidates against the holdings: how much each
//! moves with what is already held, and a size by inverse volatility
//! within `risk.budget`, capped by cash.

use super::positions::PositionsRisk;
use super::report::{Pair, Suggestion};
use super::stats::{annual_volatility, correlation};
use super::{RiskInput, RiskParams, VOL_SESSIONS, Window, f};

pub(super) fn suggestions(
    input: &RiskInput<'_>,
    params: &RiskParams,
    held: &PositionsRisk,
    window: Result<&Window, &str>,
) -> Vec<Suggestion> {
    let cash = input.account.cash.map(f).filter(|c| c.is_finite());
    input
        .screen
        .iter()
        .filter(|row| !input.positions.iter().any(|p| p.symbol == row.symbol))
        .take(params.candidates)
        .map(|row| {
            let mut s = Suggestion {
                symbol: row.symbol.clone(),
                rank: row.rank,
                drawdown_pct: row.drawdown_pct,
                price: row.current_price,
                volatility_pct: None,
                closest: None,
                mean_correlation: None,
                duplicates: false,
                value: None,
                shares: None,
                capped_by_cash: false,
                reason: None,
            };
            let returns = window
                .map_err(str::to_string)
                .and_then(|w| w.returns_of(input.history, &row.symbol));
            let returns = match returns {
                Ok(r) => r,
                Err(why) => {
                    s.reason = Some(why);
                    return s;
                }
            };
            let vol = annual_volatility(&returns[returns.len() - VOL_SESSIONS..]);
            s.volatility_pct = Some(vol * 100.0);
            let own = &returns[returns.len() - params.lookback..];
            let corrs: Vec<(usize, f64)> = held
                .measured
                .iter()
                .enumerate()
                .map(|(i, (_, r))| (i, correlation(own, r)))
                .collect();
            if let Some(&(i, c)) = corrs.iter().max_by(|a, b| a.1.total_cmp(&b.1)) {
                s.closest = Some(Pair {
                    a: row.symbol.clone(),
                    b: held.measured[i].0.clone(),
                    correlation: c,
                });
                s.duplicates = c >= params.duplicate_correlation;
                s.mean_correlation =
                    Some(corrs.iter().map(|(_, c)| c).sum::<f64>() / corrs.len() as f64);
            }
            let budget = params.budget * held.equity / vol;
            let value = match cash {
                Some(c) if c < budget => {
                    s.capped_by_cash = true;
                    c.max(0.0)
                }
                _ => budget,
            };
            if row.current_price > 0.0 && value.is_finite() {
                s.value = Some(value);
                s.shares = Some((value / row.current_price).floor() as u64);
            } else {
                s.reason = Some("no price or equity to size it with".into());
            }
            s
        })
        .collect()
}
