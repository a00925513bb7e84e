//! What a backtest takes from the configuration, typed: `[backtest]`, the
//! ranking (`[screen]`), the portfolio rule (`[portfolio]`), the universe
//! (`market.universe`) and what the bars are (`market.adjustment`,
//! `market.feed`, for the notes). Built once from the whole configuration
//! ([`Setup::of`]); below that the backtester sees only these pieces.

use crate::config::{AppConfig, BacktestSettings};
use crate::domain::Symbol;
use crate::screen::ScreenParams;
use crate::strategy::PortfolioRule;

use super::Params;

/// The configuration a backtest runs with.
#[derive(Debug, Clone)]
pub struct Setup {
    /// `[backtest]`: the defaults a request overrides.
    pub backtest: BacktestSettings,
    /// `[screen]`: how names are ranked.
    pub screen: ScreenParams,
    /// `[portfolio]`'s rule, applied when `backtest.portfolio_rule` is on.
    pub portfolio_rule: PortfolioRule,
    /// `market.universe`: the only names bought and averaged.
    pub universe: Vec<Symbol>,
    /// `market.adjustment`, said in what a run leaves out.
    pub adjustment: String,
    /// `market.feed`, said in what a run leaves out.
    pub feed: String,
}

impl Setup {
    /// The pieces of `config` a backtest reads.
    pub fn of(config: &AppConfig) -> Self {
        let market = &config.market;
        Self {
            backtest: config.backtest.clone(),
            screen: config.screen.params,
            portfolio_rule: config.portfolio.rule(),
            universe: config.universe.clone(),
            adjustment: market.adjustment.clone(),
            feed: market.feed.clone(),
        }
    }

    /// Which of `symbols` are in the universe (the definition
    /// `AppConfig::universe_mask` gives: membership of `market.universe`).
    pub fn universe_mask(&self, symbols: &[Symbol]) -> Vec<bool> {
        let members: std::collections::HashSet<&Symbol> = self.universe.iter().collect();
        symbols.iter().map(|s| members.contains(s)).collect()
    }

    /// The strategy's parameters from `settings` (`[backtest]` with a
    /// request's options).
    pub fn params(&self, s: &BacktestSettings) -> Params {
        Params {
            rebalance: s.rebalance,
            entry_pct: s.entry_pct,
            max_positions: s.max_positions,
            sizing: s.sizing,
            exits: s.exit_rules(),
            portfolio_rule: s.portfolio_rule.then_some(self.portfolio_rule),
            fill: s.fill,
            commission: s.commission,
            slippage_bps: s.slippage_bps,
            initial_capital: s.initial_capital,
            delist_after: s.delist_after,
            delist_haircut_pct: s.delist_haircut_pct,
        }
    }
}
