//! `[backtest]`: the strategy `dipwatch backtest` and `/backtest` simulate,
//! the benchmark they and the risk view compare against, and how long
//! stored runs are kept.

use serde::{Deserialize, Serialize};

use super::error::{ConfigError, invalid, one_of};
use super::portfolio::PortfolioSettings;
use crate::domain::Symbol;
use crate::strategy::{ExitRules, Fill, PortfolioRule, Rebalance, Sizing};

fn rebalance<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Rebalance, D::Error> {
    one_of(
        d,
        &[
            ("daily", Rebalance::Daily),
            ("weekly", Rebalance::Weekly),
            ("monthly", Rebalance::Monthly),
        ],
    )
}

fn sizing<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Sizing, D::Error> {
    one_of(
        d,
        &[
            ("equal", Sizing::Equal),
            ("inverse_vol", Sizing::InverseVol),
        ],
    )
}

fn fill<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Fill, D::Error> {
    one_of(d, &[("next_open", Fill::NextOpen), ("close", Fill::Close)])
}

/// `backtest.benchmark` value for the equal-weight universe.
pub(crate) const UNIVERSE_BENCHMARK: &str = "universe";

/// `[backtest]`: the contrarian strategy the backtester simulates (see
/// [`crate::strategy`]), and the benchmark it and the risk view compare to.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BacktestSettings {
    /// A ticker collected alongside the universe and never ranked, or
    /// `universe` for the equal-weight universe.
    pub benchmark: String,
    /// `daily`, `weekly` or `monthly`.
    #[serde(deserialize_with = "rebalance")]
    pub rebalance: Rebalance,
    /// Entry threshold: drawdowns at or below this percentage (e.g. -30).
    pub entry_pct: f64,
    /// Positions held at most.
    pub max_positions: usize,
    /// `equal` or `inverse_vol`.
    #[serde(deserialize_with = "sizing")]
    pub sizing: Sizing,
    /// A position's own take-profit, percent; 0 turns it off.
    pub take_profit_pct: f64,
    /// A position's stop-loss, percent of its entry; 0 turns it off.
    pub stop_loss_pct: f64,
    /// Sessions a position is held at most; 0 turns it off.
    pub max_hold: u32,
    /// Also sell on `[portfolio]`'s rule (best `top_positions` averaging
    /// `profit_target_pct`).
    pub portfolio_rule: bool,
    /// `next_open` or `close` (optimistic).
    #[serde(deserialize_with = "fill")]
    pub fill: Fill,
    /// Commission per trade, in account currency.
    pub commission: f64,
    /// Slippage per fill, in basis points of the price.
    pub slippage_bps: f64,
    /// Starting equity.
    pub initial_capital: f64,
    /// Annual risk-free rate for Sharpe and Sortino, percent.
    pub risk_free_rate_pct: f64,
    /// Sessions in a row without a bar after which a held name is taken
    /// as delisted and sold (a shorter gap is a halt: held at its last
    /// close). At least 1.
    pub delist_after: usize,
    /// A delisted name is sold at its last close less this percentage
    /// (0 to 100): what a holder recovers is unknown, and often little.
    pub delist_haircut_pct: f64,
    /// Stored runs kept, newest first (0: no limit); older ones are
    /// deleted after each new run.
    #[serde(default = "default_keep_runs")]
    pub keep_runs: usize,
    /// Days a stored run is kept (0: no limit).
    #[serde(default = "default_keep_days")]
    pub keep_days: u32,
}

fn default_keep_runs() -> usize {
    200
}

fn default_keep_days() -> u32 {
    365
}

impl BacktestSettings {
    /// The benchmark ticker, or `None` for the equal-weight universe.
    /// Checked by [`BacktestSettings::check`], so it parses there.
    pub fn benchmark_symbol(&self) -> Option<Symbol> {
        if self.benchmark.eq_ignore_ascii_case(UNIVERSE_BENCHMARK) {
            None
        } else {
            Symbol::parse(&self.benchmark).ok()
        }
    }

    /// A position's own exit rules (a 0 setting is off).
    pub fn exit_rules(&self) -> ExitRules {
        let on = |v: f64| (v > 0.0).then_some(v);
        ExitRules {
            take_profit_pct: on(self.take_profit_pct),
            stop_loss_pct: on(self.stop_loss_pct),
            max_hold: (self.max_hold > 0).then_some(self.max_hold),
        }
    }

    /// The portfolio rule from `[portfolio]`, when `portfolio_rule` is on.
    pub fn portfolio_rule(&self, portfolio: &PortfolioSettings) -> Option<PortfolioRule> {
        self.portfolio_rule.then(|| portfolio.rule())
    }

    /// Refuse values no backtest can run with, naming the key.
    pub fn check(&self) -> Result<(), ConfigError> {
        let finite = |key: &str, v: f64| {
            if v.is_finite() {
                Ok(())
            } else {
                Err(invalid(key, format!("{v} is not a number")))
            }
        };
        if !self.benchmark.eq_ignore_ascii_case(UNIVERSE_BENCHMARK) {
            Symbol::parse(&self.benchmark).map_err(|e| {
                invalid(
                    "backtest.benchmark",
                    format!("{e} (a ticker such as SPY, or \"{UNIVERSE_BENCHMARK}\")"),
                )
            })?;
        }
        finite("backtest.entry_pct", self.entry_pct)?;
        if !(-100.0..0.0).contains(&self.entry_pct) {
            return Err(invalid(
                "backtest.entry_pct",
                format!(
                    "{} must be below 0 and above -100 (e.g. -30: down 30% or more)",
                    self.entry_pct
                ),
            ));
        }
        if self.max_positions == 0 {
            return Err(invalid("backtest.max_positions", "must be at least 1"));
        }
        for (key, v) in [
            ("backtest.take_profit_pct", self.take_profit_pct),
            ("backtest.stop_loss_pct", self.stop_loss_pct),
            ("backtest.commission", self.commission),
            ("backtest.slippage_bps", self.slippage_bps),
        ] {
            finite(key, v)?;
            if v < 0.0 {
                return Err(invalid(key, format!("{v} must be 0 (off) or more")));
            }
        }
        if self.stop_loss_pct >= 100.0 {
            return Err(invalid(
                "backtest.stop_loss_pct",
                format!(
                    "{} must be below 100 (a loss of 100% is everything)",
                    self.stop_loss_pct
                ),
            ));
        }
        finite("backtest.initial_capital", self.initial_capital)?;
        if self.initial_capital <= 0.0 {
            return Err(invalid("backtest.initial_capital", "must be above 0"));
        }
        if self.delist_after == 0 {
            return Err(invalid(
                "backtest.delist_after",
                "must be at least 1 session",
            ));
        }
        finite("backtest.delist_haircut_pct", self.delist_haircut_pct)?;
        if !(0.0..=100.0).contains(&self.delist_haircut_pct) {
            return Err(invalid(
                "backtest.delist_haircut_pct",
                format!(
                    "{} must be between 0 (the last close) and 100 (nothing back)",
                    self.delist_haircut_pct
                ),
            ));
        }
        finite("backtest.risk_free_rate_pct", self.risk_free_rate_pct)?;
        if !(-100.0..100.0).contains(&self.risk_free_rate_pct) {
            return Err(invalid(
                "backtest.risk_free_rate_pct",
                "must be a yearly percentage between -100 and 100",
            ));
        }
        Ok(())
    }
}
