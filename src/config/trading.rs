//! `[trading]`: whether dipwatch may place orders, where they go, and the
//! guards every order must pass. Off by default; the live trading URL is
//! refused unless `allow_live` says so.

use serde::{Deserialize, Serialize};

use super::error::{ConfigError, invalid};

/// Alpaca's live trading API: orders sent here spend real money.
pub const LIVE_TRADING_URL: &str = "https://api.alpaca.markets";

/// `[trading]`, as written and, once [`TradingSettings::check`]ed, as the
/// trading service takes it (with `market.trading_url` and
/// `market.request_timeout_secs` beside it).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TradingSettings {
    /// Orders may be previewed and placed at all (default `false`).
    pub enabled: bool,
    /// `market.trading_url` may be Alpaca's live URL while `enabled`.
    pub allow_live: bool,
    /// Largest estimated cost of one order, dollars (default 1,000).
    pub max_order_usd: f64,
    /// Largest weight of the symbol in equity after a buy, percent (10).
    pub max_position_pct: f64,
    /// Orders submitted per New York trading day (10).
    pub max_orders_per_day: u32,
    /// Dollars submitted per New York trading day (5,000).
    pub max_daily_usd: f64,
    /// Buys are limit orders at most this far above the last price, sells
    /// at most this far below, percent (0.5).
    pub limit_collar_pct: f64,
    /// How long a preview can be confirmed, seconds (60).
    pub confirm_ttl_secs: u64,
    /// Oldest last trade an order is priced from while the market is
    /// open, seconds (900).
    pub max_price_age_secs: u64,
    /// Oldest stored positions snapshot (the risk view's input) an order
    /// is previewed against, days (4: a long weekend).
    pub max_snapshot_age_days: u32,
    /// While the market is closed, place a day order for the next open
    /// (the preview says so) instead of refusing (default `false`).
    pub queue_for_open: bool,
}

/// Bounds of each guard: (key, lowest, highest).
const BOUNDS: [(&str, f64, f64); 7] = [
    ("trading.max_order_usd", 1.0, 10_000_000.0),
    ("trading.max_position_pct", 0.1, 100.0),
    ("trading.max_orders_per_day", 1.0, 1_000.0),
    ("trading.max_daily_usd", 1.0, 100_000_000.0),
    ("trading.limit_collar_pct", 0.01, 10.0),
    ("trading.confirm_ttl_secs", 5.0, 3_600.0),
    ("trading.max_price_age_secs", 1.0, 604_800.0),
];

impl TradingSettings {
    /// Refuse values the guards cannot use, naming the key; refuse the
    /// live trading URL while trading is on unless `allow_live` is set.
    pub(crate) fn check(&self, trading_url: &str) -> Result<(), ConfigError> {
        let values = [
            self.max_order_usd,
            self.max_position_pct,
            f64::from(self.max_orders_per_day),
            self.max_daily_usd,
            self.limit_collar_pct,
            self.confirm_ttl_secs as f64,
            self.max_price_age_secs as f64,
        ];
        for ((key, lo, hi), v) in BOUNDS.iter().zip(values) {
            if !(v.is_finite() && (*lo..=*hi).contains(&v)) {
                return Err(invalid(key, format!("{v} must be between {lo} and {hi}")));
            }
        }
        if !(1..=60).contains(&self.max_snapshot_age_days) {
            return Err(invalid(
                "trading.max_snapshot_age_days",
                format!("{} must be between 1 and 60", self.max_snapshot_age_days),
            ));
        }
        if self.max_order_usd > self.max_daily_usd {
            return Err(invalid(
                "trading.max_order_usd",
                format!(
                    "{} is above trading.max_daily_usd ({}): one order could never be placed",
                    self.max_order_usd, self.max_daily_usd
                ),
            ));
        }
        if self.enabled && is_live_url(trading_url) && !self.allow_live {
            return Err(invalid(
                "trading.allow_live",
                format!(
                    "market.trading_url is Alpaca's live API ({LIVE_TRADING_URL}) and trading.enabled \
                     is true: orders would spend real money. Set trading.allow_live = true to mean it, \
                     or use the paper URL (https://paper-api.alpaca.markets)"
                ),
            ));
        }
        Ok(())
    }

    /// PAPER or LIVE, as every preview says it.
    pub fn mode(trading_url: &str) -> TradingMode {
        if is_live_url(trading_url) {
            TradingMode::Live
        } else {
            TradingMode::Paper
        }
    }
}

/// Whether orders spend real money.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum TradingMode {
    /// Alpaca's paper API, or any URL that is not the live one (a fake).
    Paper,
    /// Alpaca's live API.
    Live,
}

impl TradingMode {
    /// `PAPER` or `LIVE`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Paper => "PAPER",
            Self::Live => "LIVE",
        }
    }
}

/// `url` is Alpaca's live trading API, however it is spelled (case,
/// trailing slash, an explicit :443).
fn is_live_url(url: &str) -> bool {
    let u = url.trim().trim_end_matches('/').to_ascii_lowercase();
    u == LIVE_TRADING_URL || u == "https://api.alpaca.markets:443"
}

#[cfg(test)]
impl TradingSettings {
    /// The compiled-in defaults (config/default.toml) with trading on:
    /// what the unit tests size, price and guard with, read from the one
    /// place the defaults are written.
    pub(crate) fn enabled_defaults() -> Self {
        let config = super::AppConfig::load_with_env(None, std::collections::HashMap::new())
            .expect("the default configuration loads");
        Self {
            enabled: true,
            ..config.trading
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn defaults() -> TradingSettings {
        TradingSettings::enabled_defaults()
    }

    #[test]
    fn the_live_url_needs_allow_live_while_enabled() {
        let paper = "https://paper-api.alpaca.markets";
        assert!(defaults().check(paper).is_ok());
        for live in [
            "https://api.alpaca.markets",
            "https://API.alpaca.markets/",
            "https://api.alpaca.markets:443",
        ] {
            let e = defaults().check(live).unwrap_err().to_string();
            assert!(e.contains("trading.allow_live"), "{e}");
            assert_eq!(TradingSettings::mode(live), TradingMode::Live);
            let ok = TradingSettings {
                allow_live: true,
                ..defaults()
            };
            assert!(ok.check(live).is_ok());
            let off = TradingSettings {
                enabled: false,
                ..defaults()
            };
            assert!(off.check(live).is_ok(), "off: nothing is sent");
        }
        assert_eq!(TradingSettings::mode(paper), TradingMode::Paper);
    }

    #[test]
    fn each_guard_is_bounded_and_named() {
        type Edit = fn(&mut TradingSettings);
        let cases: [(Edit, &str); 5] = [
            (|s| s.max_order_usd = 0.0, "trading.max_order_usd"),
            (|s| s.max_position_pct = 150.0, "trading.max_position_pct"),
            (|s| s.max_orders_per_day = 0, "trading.max_orders_per_day"),
            (
                |s| s.limit_collar_pct = f64::NAN,
                "trading.limit_collar_pct",
            ),
            (|s| s.max_daily_usd = 500.0, "trading.max_order_usd"),
        ];
        for (edit, key) in cases {
            let mut s = defaults();
            edit(&mut s);
            let e = s.check("http://127.0.0.1:1").unwrap_err().to_string();
            assert!(e.contains(key), "{key}: {e}");
        }
    }
}
