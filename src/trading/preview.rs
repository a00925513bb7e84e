//! What an order would be, before it is sent: sized into whole shares,
//! priced within the collar of the last trade, checked against every
//! guard. Pure: the service gathers the inputs, this computes.

use chrono::{DateTime, Utc};
use rust_decimal::Decimal;
use serde::Serialize;

use super::amount::Amount;
use crate::config::TradingMode;
use crate::domain::{ClientOrderId, OrderSide, Symbol};
use crate::numbers::{qty, share_pct, usd};

/// What a person asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ask {
    /// The stock.
    pub symbol: Symbol,
    /// Buy or sell.
    pub side: OrderSide,
    /// How much.
    pub amount: Amount,
    /// A limit price of their own (within the collar), else the collar's
    /// edge.
    pub limit: Option<Decimal>,
}

/// One guard at preview (or confirm) time: its configuration key, limit,
/// the value the order would make, the headroom left, and whether it passes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct GuardCheck {
    /// The key (`trading.max_order_usd`, ...).
    pub key: &'static str,
    /// The limit, formatted (`$1,000.00`, `10.00%`, `10 orders`).
    pub limit: String,
    /// What the order makes it, formatted.
    pub value: String,
    /// What is left after the order, formatted.
    pub headroom: String,
    /// Within the limit.
    pub ok: bool,
}

/// The order as it would be sent, and everything a person needs to
/// decide: shown by the CLI, the bot and the dashboard alike (through
/// [`Preview::rows`]).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Preview {
    /// The one-time confirmation token (the bot's Confirm button carries it).
    #[serde(skip)]
    pub token: String,
    /// The id the order will be sent with.
    pub client_order_id: ClientOrderId,
    /// PAPER or LIVE.
    pub mode: TradingMode,
    /// The stock.
    pub symbol: Symbol,
    /// Buy or sell.
    pub side: OrderSide,
    /// Whole shares.
    pub qty: Decimal,
    /// The limit price.
    pub limit_price: Decimal,
    /// The last trade it is priced from.
    pub last_price: Decimal,
    /// When that trade happened.
    pub last_price_at: DateTime<Utc>,
    /// `qty * limit_price`: the most it costs (a buy) or the least it
    /// brings (a sell).
    pub estimated_cost: Decimal,
    /// The symbol's weight in equity after the order, percent.
    pub weight_after_pct: f64,
    /// Cash after the order fills at the limit.
    pub cash_after: Decimal,
    /// The risk view's largest weight after the order: symbol and percent.
    pub largest_weight: Option<(String, f64)>,
    /// The cluster of held names the symbol joins (correlated at or above
    /// `risk.cluster_correlation`), if any.
    pub joins_cluster: Vec<String>,
    /// Every guard, passing or not.
    pub guards: Vec<GuardCheck>,
    /// The market is closed: a day order for this opening bell.
    pub for_next_open: Option<DateTime<Utc>>,
    /// Until when it can be confirmed.
    pub expires_at: DateTime<Utc>,
}

impl Preview {
    /// Every guard passes.
    pub fn all_pass(&self) -> bool {
        self.guards.iter().all(|g| g.ok)
    }
}

impl Preview {
    /// The one rendering of a preview every front end shows, as (label,
    /// value) rows: the CLI's table, the bot's message and the dashboard's
    /// page all print these, in this order.
    pub fn rows(&self) -> Vec<(&'static str, String)> {
        let mut rows = vec![
            ("Symbol", self.symbol.to_string()),
            ("Side", self.side.to_string()),
            ("Quantity", qty(self.qty)),
            ("Limit price", usd(self.limit_price)),
            (
                "Last trade",
                format!(
                    "{} at {} UTC",
                    usd(self.last_price),
                    self.last_price_at.format("%Y-%m-%d %H:%M:%S")
                ),
            ),
            (
                match self.side {
                    OrderSide::Buy => "Estimated cost",
                    OrderSide::Sell => "Estimated proceeds",
                },
                usd(self.estimated_cost),
            ),
            ("Weight after", share_pct(self.weight_after_pct, 2)),
            ("Cash after", usd(self.cash_after)),
            (
                "Largest weight after",
                self.largest_weight.as_ref().map_or_else(
                    || "none".to_string(),
                    |(s, w)| format!("{s} {}", share_pct(*w, 2)),
                ),
            ),
            (
                "Joins cluster",
                match self.joins_cluster.is_empty() {
                    true => "none".to_string(),
                    false => self.joins_cluster.join(", "),
                },
            ),
            ("Mode", self.mode.as_str().to_string()),
            (
                "When",
                self.for_next_open.map_or_else(
                    || "now (the market is open)".to_string(),
                    |t| {
                        format!(
                            "a day order for the next open, {} New York time",
                            t.with_timezone(&chrono_tz::America::New_York)
                                .format("%Y-%m-%d %H:%M")
                        )
                    },
                ),
            ),
        ];
        rows.extend(self.guards.iter().map(|g| (g.key, g.words())));
        rows.push((
            "Confirm before",
            format!("{} UTC", self.expires_at.format("%Y-%m-%d %H:%M:%S")),
        ));
        rows
    }
}

impl GuardCheck {
    /// `ok: $500.00 of $1,000.00 ($500.00 left)` or `OVER: $1,200.00 of
    /// $1,000.00 (none, over by $200.00)`.
    pub fn words(&self) -> String {
        if self.ok {
            format!(
                "ok: {} of {} ({} left)",
                self.value, self.limit, self.headroom
            )
        } else {
            format!("OVER: {} of {} ({})", self.value, self.limit, self.headroom)
        }
    }
}
