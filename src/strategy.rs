//! The contrarian strategy's rules, as pure functions: which drawdowns are
//! entries, and when a held position is an exit.
//!
//! One definition serves everything that reasons about the strategy:
//! [`decide_exits`] is the backtester's exit decision on every session and
//! the risk view's on today's positions, and [`best_first`] is also the
//! ranking of the live account's profit verdict (`/monitor`, the profit
//! alert), so "past its take-profit" and "the best N" mean the same in all
//! of them. The settings come from
//! `[backtest]` (see [`crate::config::BacktestSettings`]); the portfolio rule
//! reuses `[portfolio]`'s target and count.

use serde::{Deserialize, Serialize};

/// How new positions are sized.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Sizing {
    /// Equal weight of current equity.
    Equal,
    /// Weight proportional to 1 / 60-session volatility.
    InverseVol,
}

/// When the strategy takes decisions.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
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
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
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
    /// It had no bar for `backtest.delist_after` sessions in a row: taken
    /// as delisted and sold at its last close less `backtest.delist_haircut_pct`
    /// (decided from the bars up to that session only).
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
            ExitReason::BarsEnded => "delisted",
        }
    }
}

/// A position's own exit rules; `None` turns a rule off.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
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

    /// [`ExitRules::exit`] when the sessions held may be unknown: max hold
    /// is then not checked (the others still are).
    pub fn exit_known(&self, return_pct: f64, held_sessions: Option<u32>) -> Option<ExitReason> {
        match held_sessions {
            Some(h) => self.exit(return_pct, h),
            None => ExitRules {
                max_hold: None,
                ..*self
            }
            .exit(return_pct, 0),
        }
    }
}

/// The portfolio rule of the original system: when the best `top` positions
/// average at least `target_pct`, sell those `top`.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct PortfolioRule {
    /// How many of the best positions the average covers.
    pub top: usize,
    /// The average return, in percent, that fires the rule.
    pub target_pct: f64,
}

impl PortfolioRule {
    /// The positions to sell (indices into `returns_pct`, best first) when
    /// the rule fires, else empty. Ranked by [`best_first`], as
    /// `domain::portfolio::profit_check` ranks the live account: with fewer
    /// than `top` positions the average is over those held; a `NaN` return
    /// cannot be ranked and is left out; ties go to the lower index.
    pub fn fires(&self, returns_pct: &[f64]) -> Vec<usize> {
        let known: Vec<Option<f64>> = returns_pct
            .iter()
            .map(|r| (!r.is_nan()).then_some(*r))
            .collect();
        let ranked = best_first(&known, self.top, f64::total_cmp);
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

/// The portfolio rule's ranking, one definition for the backtester, the
/// risk view and the live account's verdict (`/monitor`, the profit
/// alert): the indices of the `top` best known returns, best first; an
/// unknown return (`None`) is never ranked; ties go to the lower index, so
/// a caller that wants ties by name passes its positions sorted by name.
pub fn best_first<R>(
    returns: &[Option<R>],
    top: usize,
    cmp: impl Fn(&R, &R) -> std::cmp::Ordering,
) -> Vec<usize> {
    let mut ranked: Vec<(usize, &R)> = returns
        .iter()
        .enumerate()
        .filter_map(|(i, r)| r.as_ref().map(|r| (i, r)))
        .collect();
    ranked.sort_by(|(a, ra), (b, rb)| cmp(rb, ra).then(a.cmp(b)));
    ranked.into_iter().take(top).map(|(i, _)| i).collect()
}

/// One held position as the exit decision sees it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Holding {
    /// Its return from the entry price to the latest price, percent;
    /// `None` when there is no price to judge it by today (no bar on the
    /// session, or the broker sent none): no rule can fire on it.
    pub return_pct: Option<f64>,
    /// Sessions held, `None` when unknown (max hold cannot be checked).
    pub held_sessions: Option<u32>,
    /// Whether the portfolio rule counts it (`portfolio.asset_classes`;
    /// in the backtester, every position not already being sold).
    pub in_portfolio_rule: bool,
}

/// A position to sell and every rule that sells it, in the order decided.
#[derive(Debug, Clone, PartialEq)]
pub struct ExitDecision {
    /// Index into the holdings.
    pub index: usize,
    /// Its own rule first (take-profit, stop-loss or max hold), then the
    /// portfolio rule when that also picks it.
    pub reasons: Vec<ExitReason>,
}

/// The one decision of which positions to sell, serving the backtester,
/// the risk view's exits and (through [`best_first`]) the live account's
/// profit verdict. In this order:
///
/// 1. each position's own rules ([`ExitRules::exit`]: take-profit, then
///    stop-loss, then max hold), from its own return and sessions held;
/// 2. the portfolio rule over every position it counts whose return is
///    known, **including those step 1 already sells**: the rule judges the
///    portfolio as the account shows it on the day, as `/monitor` does.
///    With take-profit 100, top 3 and target 90, returns 120/90/85 sell
///    all three: the first on its take-profit (and the rule), the other two
///    on the rule (the three average 98.3).
///
/// The result is in holdings order, each position once.
pub fn decide_exits(
    holdings: &[Holding],
    rules: &ExitRules,
    portfolio: Option<&PortfolioRule>,
) -> Vec<ExitDecision> {
    let mut reasons: Vec<Vec<ExitReason>> = holdings
        .iter()
        .map(|h| {
            h.return_pct
                .and_then(|r| rules.exit_known(r, h.held_sessions))
                .into_iter()
                .collect()
        })
        .collect();
    if let Some(rule) = portfolio {
        let counted: Vec<f64> = holdings
            .iter()
            .map(|h| match h.return_pct {
                Some(r) if h.in_portfolio_rule => r,
                _ => f64::NAN,
            })
            .collect();
        for i in rule.fires(&counted) {
            reasons[i].push(ExitReason::PortfolioRule);
        }
    }
    reasons
        .into_iter()
        .enumerate()
        .filter(|(_, r)| !r.is_empty())
        .map(|(index, reasons)| ExitDecision { index, reasons })
        .collect()
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

    fn holding(ret: f64) -> Holding {
        Holding {
            return_pct: Some(ret),
            held_sessions: Some(1),
            in_portfolio_rule: true,
        }
    }

    #[test]
    fn a_position_past_its_own_take_profit_still_counts_for_the_portfolio_rule() {
        // The README's example: take-profit 100, top 3, target 90.
        let rules = ExitRules {
            take_profit_pct: Some(100.0),
            stop_loss_pct: None,
            max_hold: None,
        };
        let rule = PortfolioRule {
            top: 3,
            target_pct: 90.0,
        };
        let held = [holding(90.0), holding(120.0), holding(85.0), holding(10.0)];
        let exits = decide_exits(&held, &rules, Some(&rule));
        let by_index: Vec<(usize, Vec<ExitReason>)> =
            exits.into_iter().map(|e| (e.index, e.reasons)).collect();
        assert_eq!(
            by_index,
            vec![
                (0, vec![ExitReason::PortfolioRule]),
                (1, vec![ExitReason::TakeProfit, ExitReason::PortfolioRule]),
                (2, vec![ExitReason::PortfolioRule]),
            ]
        );
        // Without the portfolio rule only the take-profit sells.
        let alone = decide_exits(&held, &rules, None);
        assert_eq!(alone.len(), 1);
        assert_eq!(alone[0].index, 1);
    }

    #[test]
    fn unknown_returns_and_excluded_positions_are_not_ranked() {
        let rules = ExitRules {
            take_profit_pct: None,
            stop_loss_pct: None,
            max_hold: Some(5),
        };
        let rule = PortfolioRule {
            top: 1,
            target_pct: 50.0,
        };
        let mut coin = holding(500.0);
        coin.in_portfolio_rule = false;
        let unpriced = Holding {
            return_pct: None,
            held_sessions: Some(99),
            in_portfolio_rule: true,
        };
        let unknown_hold = Holding {
            return_pct: Some(0.0),
            held_sessions: None,
            in_portfolio_rule: true,
        };
        let exits = decide_exits(
            &[coin, unpriced, unknown_hold, holding(60.0)],
            &rules,
            Some(&rule),
        );
        // The coin is not counted (its own rules still apply: none fire);
        // an unpriced position judges nothing; max hold needs the sessions.
        assert_eq!(exits.len(), 1);
        assert_eq!(
            (exits[0].index, exits[0].reasons.clone()),
            (3, vec![ExitReason::PortfolioRule])
        );
    }

    #[test]
    fn best_first_ranks_known_values_ties_to_the_lower_index() {
        let r = [Some(3), None, Some(7), Some(3)];
        assert_eq!(best_first(&r, 3, Ord::cmp), vec![2, 0, 3]);
        assert_eq!(best_first(&r, 1, Ord::cmp), vec![2]);
        assert!(best_first::<i32>(&[None], 2, Ord::cmp).is_empty());
    }

    #[test]
    fn entries_are_at_or_below_the_threshold() {
        assert!(is_entry(-30.0, -30.0));
        assert!(is_entry(-45.0, -30.0));
        assert!(!is_entry(-29.99, -30.0));
    }
}
