//! A preview's inputs, gathered: the account, positions, clock, last
//! trade and today's orders as the broker says they are now, and the
//! risk view of the lake; then the checks on how fresh they are. The
//! arithmetic is pure ([`super::sizing`], [`super::guards`],
//! [`super::compose`]).

use chrono::{DateTime, NaiveDate, TimeZone, Utc};
use rust_decimal::Decimal;

use super::refusal::Refusal;
use super::service::Trading;
use crate::domain::{Account, AssetClass, OrderSide, Positions, Symbol};
use crate::market::calendar::exchange_date;
use crate::market::{LastTrade, MarketClock, OrderQuery};
use crate::numbers::duration;
use crate::risk::{RiskReport, analyze, load_data};
use crate::store::Lake;

/// What the broker says now.
#[derive(Debug, Clone)]
pub(super) struct Facts {
    pub account: Account,
    pub positions: Positions,
    pub clock: MarketClock,
    pub last: LastTrade,
    /// Orders submitted today (New York trading day).
    pub orders_today: u32,
    /// Dollars they commit.
    pub usd_today: Decimal,
}

impl Facts {
    /// Shares of `symbol` held now, and their market value.
    pub fn held(&self, symbol: &Symbol) -> (Decimal, Decimal) {
        self.positions
            .held
            .iter()
            .filter(|p| {
                p.symbol.as_str() == symbol.as_str() && p.asset_class == AssetClass::UsEquity
            })
            .fold((Decimal::ZERO, Decimal::ZERO), |(q, v), p| {
                let value = p
                    .market_value
                    .unwrap_or_else(|| p.quantity * p.current_price.unwrap_or(p.avg_entry_price));
                (q + p.quantity, v + value)
            })
    }
}

/// The New York day `t` falls on, as the instant it began.
pub(super) fn day_start(t: DateTime<Utc>) -> DateTime<Utc> {
    let date: NaiveDate = exchange_date(t);
    let midnight = date.and_hms_opt(0, 0, 0).unwrap_or_default();
    chrono_tz::America::New_York
        .from_local_datetime(&midnight)
        .earliest()
        .map_or(t, |d| d.with_timezone(&Utc))
}

impl Trading {
    /// The account, positions, clock, last trade of `symbol` and today's
    /// orders, fetched now (concurrently).
    pub(super) async fn facts(&self, symbol: &Symbol) -> Result<Facts, Refusal> {
        let t = self.trader();
        let (account, positions, clock, last) =
            tokio::try_join!(t.account(), t.positions(), t.clock(), t.last_trade(symbol))
                .map_err(Refusal::Broker)?;
        let today = t
            .orders(&OrderQuery {
                open_only: false,
                after: Some(day_start(clock.now)),
                limit: 500,
            })
            .await
            .map_err(Refusal::Broker)?;
        let start = day_start(clock.now);
        let today: Vec<_> = today
            .into_iter()
            .filter(|o| o.submitted_at.is_none_or(|s| s >= start))
            .collect();
        Ok(Facts {
            account,
            positions,
            clock,
            last,
            orders_today: u32::try_from(today.len()).unwrap_or(u32::MAX),
            usd_today: today.iter().map(crate::domain::Order::committed_usd).sum(),
        })
    }

    /// The market is open, or (with `queue_for_open`) the next open the
    /// order waits for; the last trade is fresh while open.
    pub(super) fn timing(
        &self,
        symbol: &Symbol,
        facts: &Facts,
    ) -> Result<Option<DateTime<Utc>>, Refusal> {
        let s = self.settings();
        if !facts.clock.is_open {
            if !s.queue_for_open {
                return Err(Refusal::MarketClosed {
                    next_open: facts.clock.next_open,
                });
            }
            return Ok(Some(facts.clock.next_open));
        }
        let age = (facts.clock.now - facts.last.at).num_seconds().max(0);
        if age.unsigned_abs() > s.max_price_age_secs {
            return Err(Refusal::Stale {
                what: format!("the last trade of {symbol}"),
                age: duration(std::time::Duration::from_secs(age.unsigned_abs())),
                hint: format!(
                    "trading.max_price_age_secs is {}; try again when it trades",
                    s.max_price_age_secs
                ),
            });
        }
        Ok(None)
    }

    /// A US stock the broker trades.
    pub(super) async fn check_stock(&self, symbol: &Symbol) -> Result<(), Refusal> {
        let asset = self.trader().asset(symbol).await.map_err(|e| match e {
            crate::market::TradeError::NotFound => {
                Refusal::NotStock(format!("{symbol} is not an asset the broker knows"))
            }
            other => Refusal::Broker(other),
        })?;
        if asset.class != AssetClass::UsEquity {
            return Err(Refusal::NotStock(format!(
                "{symbol} is {}",
                asset.class.as_str()
            )));
        }
        if !asset.tradable {
            return Err(Refusal::NotStock(format!(
                "{symbol} is not tradable at the broker"
            )));
        }
        Ok(())
    }

    /// The risk view of the lake, refused when the latest data are
    /// simulated or the positions snapshot is older than its bound.
    pub(super) async fn risk_view(&self, now: DateTime<Utc>) -> Result<RiskReport, Refusal> {
        let store_err = |e: crate::store::StoreError| Refusal::Store(e.to_string());
        let lake = Lake::new(self.parts().store.clone()).session();
        let dates = lake.dates(None, None).await.map_err(store_err)?;
        if let Some(&latest) = dates.last()
            && let Some(m) = lake.manifest(latest).await.map_err(store_err)?
            && m.report.simulated
        {
            return Err(Refusal::Simulated);
        }
        let params = &self.parts().risk;
        let max_days = self.settings().max_snapshot_age_days;
        let hint = "`dipwatch collect` (or the daemon's next run) stores a new one".to_string();
        let Some(data) = load_data(&lake, params, None).await.map_err(store_err)? else {
            return Err(Refusal::Stale {
                what: "the positions snapshot".into(),
                age: "none stored".into(),
                hint,
            });
        };
        if data.simulated {
            return Err(Refusal::Simulated);
        }
        let age = (exchange_date(now) - data.date).num_days();
        if age > i64::from(max_days) {
            return Err(Refusal::Stale {
                what: format!("the positions snapshot of {}", data.date),
                age: format!("{age} days"),
                hint: format!("trading.max_snapshot_age_days is {max_days}; {hint}"),
            });
        }
        Ok(analyze(&data.input(), params))
    }
}

/// The risk view's suggested whole shares of `symbol`, or why there are none.
pub(super) fn suggested(
    report: &RiskReport,
    symbol: &Symbol,
    side: OrderSide,
) -> Result<u64, String> {
    if side == OrderSide::Sell {
        return Err("`size` is a buy's amount; a sell takes all, shares or a percent".into());
    }
    let s = report
        .suggestions
        .iter()
        .find(|s| &s.symbol == symbol)
        .ok_or_else(|| {
            "it is not among its candidates (the top of the latest screen, not held)".to_string()
        })?;
    match (s.shares, &s.reason) {
        (Some(n), _) => Ok(n),
        (None, Some(why)) => Err(why.clone()),
        (None, None) => Err("it could not be sized".into()),
    }
}
