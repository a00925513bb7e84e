//! The fetch step: every symbol's daily bars over the plan's window in one
//! call, then each series validated. A symbol with bad bars keeps its good
//! ones (the bad are reported); a symbol whose fetch failed is left out and
//! goes to the retry queue, unless the source refused it as invalid (no
//! retry makes it valid).

use std::collections::BTreeMap;

use super::Collector;
use super::dates::Plan;
use crate::domain::{Bar, RejectedBar, Symbol, SymbolIssue, validate_series};
use crate::market::{BarsAnswer, MarketError};

/// A validated history per symbol, universe order.
pub(super) struct Histories {
    /// Each symbol's bars, sorted, unique, valid.
    pub series: Vec<(Symbol, Vec<Bar>)>,
    /// Bars dropped by validation.
    pub rejected: Vec<RejectedBar>,
}

/// What the fetch brought back.
pub(super) struct Fetched {
    /// The histories to screen.
    pub histories: Histories,
    /// Symbols whose fetch failed, with why (the refused ones too).
    pub failed: Vec<SymbolIssue>,
    /// Of `failed`, the symbols the source refused as invalid.
    pub refused: Vec<Symbol>,
}

impl Collector<'_> {
    /// Fetch and validate the universe's bars for `plan`. Fails only when
    /// the market-data call fails as a whole.
    pub(super) async fn fetch(&self, plan: &Plan) -> Result<Fetched, MarketError> {
        // The universe and the backtest benchmark (never ranked).
        let symbols = self.settings.collected_symbols();
        let universe = &symbols;
        let (start, last) = (plan.window_start, plan.last);
        tracing::info!(symbols = universe.len(), window_start = %start, %last, dates = plan.targets.len(), "fetching daily bars");
        let answer = self.market.daily_bars(universe, start, last).await?;
        let refused: Vec<Symbol> = answer.refused.iter().map(|r| r.symbol.clone()).collect();
        if !refused.is_empty() {
            tracing::warn!(symbols = ?refused.iter().map(Symbol::as_str).collect::<Vec<_>>(), "the source refused these tickers as invalid; fix the universe (they are not retried)");
        }
        let (histories, failed) = validate(universe, answer);
        if !histories.rejected.is_empty() {
            tracing::warn!(bars = histories.rejected.len(), "dropped invalid bars");
        }
        if failed.len() > refused.len() {
            tracing::warn!(
                symbols = failed.len() - refused.len(),
                "symbols failed to fetch; queued for retry"
            );
        }
        Ok(Fetched {
            histories,
            failed,
            refused,
        })
    }
}

/// Validate every symbol's bars. Symbols the source did not return get an
/// empty history (the engine skips them as "no bars"); symbols whose fetch
/// failed or that were refused are left out of the screen and returned as
/// failures.
fn validate(universe: &[Symbol], answer: BarsAnswer) -> (Histories, Vec<SymbolIssue>) {
    let BarsAnswer {
        series,
        mut failed,
        refused,
        mut rejected,
    } = answer;
    failed.extend(refused);
    let mut by_symbol: BTreeMap<Symbol, Vec<Bar>> =
        series.into_iter().map(|sb| (sb.symbol, sb.bars)).collect();
    let series = universe
        .iter()
        .filter(|sym| failed.iter().all(|f| &f.symbol != *sym))
        .map(|sym| {
            let raw = by_symbol.remove(sym).unwrap_or_default();
            let (kept, dropped) = validate_series(raw);
            rejected.extend(dropped.into_iter().map(|r| RejectedBar {
                symbol: sym.clone(),
                date: Some(r.date),
                reason: r.reason,
            }));
            (sym.clone(), kept)
        })
        .collect();
    (Histories { series, rejected }, failed)
}
