//! `[portfolio]`: the take-profit rule and the asset classes it counts.

use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use super::error::{ConfigError, decimal_number, invalid};
use crate::domain::AssetClass;
use crate::strategy::PortfolioRule;

/// `[portfolio]`, as written and, once [`PortfolioSettings::check`]ed, as
/// collection, the state and the risk view take it.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PortfolioSettings {
    /// Take-profit threshold for the average return, in percent.
    #[serde(serialize_with = "decimal_number")]
    pub profit_target_pct: Decimal,
    /// How many of the best positions the average covers.
    pub top_positions: usize,
    /// Asset classes the profit rule considers (`us_equity`, `us_option`,
    /// `crypto`, `crypto_perp`); other positions, whatever their class,
    /// are stored and shown, never counted.
    pub asset_classes: Vec<AssetClass>,
}

impl PortfolioSettings {
    /// The profit-taking rule as the strategy's pure [`PortfolioRule`]: the
    /// one definition the backtester and the risk view's exits apply.
    pub fn rule(&self) -> PortfolioRule {
        use rust_decimal::prelude::ToPrimitive;
        PortfolioRule {
            top: self.top_positions,
            target_pct: self.profit_target_pct.to_f64().unwrap_or(f64::INFINITY),
        }
    }

    /// Refuse a rule that cannot fire or counts nothing, naming the key.
    pub(crate) fn check(&self) -> Result<(), ConfigError> {
        if self.top_positions == 0 {
            return Err(invalid("portfolio.top_positions", "must be at least 1"));
        }
        let target = self.profit_target_pct;
        if target <= Decimal::ZERO || target > Decimal::ONE_THOUSAND {
            return Err(invalid(
                "portfolio.profit_target_pct",
                format!(
                    "{target} must be above 0 and at most 1000 (percent: 100 = the best positions doubled)"
                ),
            ));
        }
        check_asset_classes(&self.asset_classes)
    }
}

/// `portfolio.asset_classes` names at least one class, each one dipwatch
/// knows (positions of any class are kept; the rule counts these).
fn check_asset_classes(classes: &[AssetClass]) -> Result<(), ConfigError> {
    let known = || {
        AssetClass::KNOWN
            .iter()
            .map(|c| c.as_str())
            .collect::<Vec<_>>()
            .join(", ")
    };
    if classes.is_empty() {
        return Err(invalid(
            "portfolio.asset_classes",
            format!("must name at least one of {}", known()),
        ));
    }
    match classes.iter().find(|c| !c.is_known()) {
        Some(c) => Err(invalid(
            "portfolio.asset_classes",
            format!("{:?} is not one of {}", c.as_str(), known()),
        )),
        None => Ok(()),
    }
}
