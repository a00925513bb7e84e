//! The contrarian strategy's rules, as pure functions: which drawdowns are
//! entries, and when a held position is an exit.
//!
//! One definition serves everything that reasons about the strategy: the
//! backtester applies these rules session by session to history, and the
//! portfolio risk view applies the same exit rules to today's positions, so
//! "past its take-profit" means the same in both. The settings come from
//! `[backtest]` (see [`crate::config::BacktestSettings`]); the portfolio rule
//! reuses `[portfolio]`'s target and count.

use serde::{Deserialize, Serialize};

/// How new positions are sized.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Sizing {
    /// Equal weight of current equity.
    Equal,
    /// Weight proportional to 1 / 60-session volatility.
    InverseVol,
}

/// When the strategy takes decisions.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Rebalance {
    /// Every session.
    Daily,
    /// The first session of each ISO week.
    Weekly,
    /// The first session of each month.
    Monthly,
}

/// At which price decisions are filled.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Fill {
    /// The next session's open (the honest default).
    NextOpen,
    /// The decision session's close: optimistic, since the close is only
    /// known once it can no longer be traded at. Labelled in every output.
    Close,
}

/// Why a position is sold.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ExitReason {
    /// Its own return reached the take-profit.
    TakeProfit,
    /// Its own loss reached the stop-loss.
    StopLoss,
    /// It was held for `max_hold` sessions.
    MaxHold,
    /// The portfolio rule fired: it was among the best positions whose
    /// average return reached the target.
    PortfolioRule,
    /// Its bars stopped (delisted or left the universe): sold at the last close.
    BarsEnded,
}

impl ExitReason {
    /// Short label for tables and replies.
    pub fn label(self) -> &'static str {
        match self {
            ExitReason::TakeProfit => "take-profit",
            ExitReason::StopLoss => "stop-loss",
            ExitReason::MaxHold => "max hold",
            ExitReason::PortfolioRule => "portfolio rule",
            ExitReason::BarsEnded => "bars ended",
        }
    }
}

/// A position's own exit rules; `None` turns a rule off.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct ExitRules {
    /// Sell when the return reaches this percentage (50 = up 50%).
    pub take_profit_pct: Option<f64>,
    /// Sell when the loss reaches this percentage (20 = down 20%).
    pub stop_loss_pct: Option<f64>,
    /// Sell after this many sessions held.
    pub max_hold: Option<u32>,
}

impl ExitRules {
    /// The rule, if any, that sells a position with `return_pct` (percent,
    /// from its entry price to the session's close) after `held_sessions`
    /// sessions. Checked in the order take-profit, stop-loss, max hold, so
    /// the reason reported is the most specific one that applies.
    pub fn exit(&self, return_pct: f64, held_sessions: u32) -> Option<ExitReason> {
        if self.take_profit_pct.is_some_and(|t| return_pct >= t) {
            Some(ExitReason::TakeProfit)
        } else if self.stop_loss_pct.is_some_and(|s| return_pct <= -s) {
            Some(ExitReason::StopLoss)
        } else if self.max_hold.is_some_and(|m| held_sessions >= m) {
            Some(ExitReason::MaxHold)
        } else {
            None
        }
    }
}

/// The portfolio rule of the original system: when the best `top` positions
/// average at least `target_pct`, sell those `top`.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct PortfolioRule {
    /// How many of the best positions the average covers.
    pub top: usize,
    /// The average return, in percent, that fires the rule.
    pub target_pct: f64,
}

impl PortfolioRule {
    /// The positions to sell (indices into `returns_pct`, best first) when
    /// the rule fires, else empty. As `domain::portfolio::profit_check`
    /// does for the live account: with fewer than `top` positions the
    /// average is over those held; a `NaN` return cannot be ranked and is
    /// left out; ties go to the lower index so the result does not depend
    /// on sort stability.
    pub fn fires(&self, returns_pct: &[f64]) -> Vec<usize> {
        let mut ranked: Vec<usize> = (0..returns_pct.len())
            .filter(|&i| !returns_pct[i].is_nan())
            .collect();
        ranked.sort_by(|&a, &b| returns_pct[b].total_cmp(&returns_pct[a]).then(a.cmp(&b)));
        ranked.truncate(self.top);
        if ranked.is_empty() {
            return ranked;
        }
        let average = ranked.iter().map(|&i| returns_pct[i]).sum::<f64>() / ranked.len() as f64;
        if average >= self.target_pct {
            ranked
        } else {
            Vec::new()
        }
    }
}

/// Whether a drawdown (percent, `<= 0`) qualifies as an entry at `entry_pct`
/// (e.g. -30: down 30% or more from the peak).
pub fn is_entry(drawdown_pct: f64, entry_pct: f64) -> bool {
    drawdown_pct <= entry_pct
}

#[cfg(test)]
mod tests {
    use super::*;

    const RULES: ExitRules = ExitRules {
        take_profit_pct: Some(50.0),
        stop_loss_pct: Some(20.0),
        max_hold: Some(10),
    };

    #[test]
    fn each_exit_rule_fires_at_its_threshold_and_not_before() {
        assert_eq!(RULES.exit(49.99, 3), None);
        assert_eq!(RULES.exit(50.0, 3), Some(ExitReason::TakeProfit));
        assert_eq!(RULES.exit(-19.99, 3), None);
        assert_eq!(RULES.exit(-20.0, 3), Some(ExitReason::StopLoss));
        assert_eq!(RULES.exit(0.0, 9), None);
        assert_eq!(RULES.exit(0.0, 10), Some(ExitReason::MaxHold));
        assert_eq!(
            RULES.exit(60.0, 12),
            Some(ExitReason::TakeProfit),
            "take-profit is reported before max hold"
        );
    }

    #[test]
    fn rules_turned_off_never_fire() {
        let off = ExitRules {
            take_profit_pct: None,
            stop_loss_pct: None,
            max_hold: None,
        };
        assert_eq!(off.exit(1e6, u32::MAX), None);
        assert_eq!(off.exit(-100.0, 0), None);
    }

    #[test]
    fn portfolio_rule_sells_the_best_when_their_average_reaches_the_target() {
        let rule = PortfolioRule {
            top: 2,
            target_pct: 100.0,
        };
        // Best two: 150 (i=1) and 60 (i=3): average 105.
        assert_eq!(rule.fires(&[10.0, 150.0, f64::NAN, 60.0]), vec![1, 3]);
        // Best two average 99.5: nothing.
        assert!(rule.fires(&[10.0, 139.0, 60.0]).is_empty());
        // One position, averaged alone.
        assert_eq!(rule.fires(&[100.0]), vec![0]);
        assert!(rule.fires(&[]).is_empty());
        // A tie goes to the lower index.
        assert_eq!(
            PortfolioRule {
                top: 1,
                target_pct: 0.0
            }
            .fires(&[5.0, 5.0]),
            vec![0]
        );
    }

    #[test]
    fn entries_are_at_or_below_the_threshold() {
        assert!(is_entry(-30.0, -30.0));
        assert!(is_entry(-45.0, -30.0));
        assert!(!is_entry(-29.99, -30.0));
    }
}
