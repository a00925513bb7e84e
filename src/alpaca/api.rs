//! Which of Alpaca's two APIs a call goes to, the dependency inside it
//! (each with its own circuit breaker), and the names they go by in
//! errors, reports and metrics.

/// Which Alpaca API a path belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Api {
    /// `market.data_url`: bars.
    Data,
    /// `market.trading_url`: account, positions, calendar, clock.
    Trading,
}

impl Api {
    /// The service's name in a [`crate::market::MarketError`]
    /// (`alpaca data`, `alpaca trading`).
    pub fn service_name(self) -> &'static str {
        match self {
            Self::Data => "alpaca data",
            Self::Trading => "alpaca trading",
        }
    }
}

/// One thing dipwatch asks Alpaca for, which fails on its own in practice:
/// the market-data API's bars and last trades and, inside the trading
/// API, the account, the positions, the calendar, the clock, the assets
/// and the orders (so an order outage never stops a collection). Each has its own circuit
/// breaker, so an outage of one never stops another from being asked.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Dependency {
    /// `GET /v2/stocks/bars` (market-data API).
    Bars,
    /// `GET /v2/account`.
    Account,
    /// `GET /v2/positions`.
    Positions,
    /// `GET /v2/calendar`.
    Calendar,
    /// `GET /v2/clock`.
    Clock,
    /// `GET /v2/stocks/{symbol}/trades/latest` (market-data API): what an
    /// order is priced from.
    Trades,
    /// `GET /v2/assets/{symbol}`: whether a symbol is a tradable stock.
    Assets,
    /// `/v2/orders`: placing, listing, looking up and cancelling orders.
    Orders,
}

impl Dependency {
    /// Every dependency, in report order.
    pub const ALL: [Dependency; 8] = [
        Self::Bars,
        Self::Trades,
        Self::Account,
        Self::Positions,
        Self::Calendar,
        Self::Clock,
        Self::Assets,
        Self::Orders,
    ];

    /// The API it lives on.
    pub fn api(self) -> Api {
        match self {
            Self::Bars | Self::Trades => Api::Data,
            Self::Account
            | Self::Positions
            | Self::Calendar
            | Self::Clock
            | Self::Assets
            | Self::Orders => Api::Trading,
        }
    }

    /// Its breaker's name in the run report, `/readyz` and the metrics'
    /// `breaker` label (`data.bars`, `trading.account`, ...).
    pub fn name(self) -> &'static str {
        match self {
            Self::Bars => "data.bars",
            Self::Account => "trading.account",
            Self::Positions => "trading.positions",
            Self::Calendar => "trading.calendar",
            Self::Clock => "trading.clock",
            Self::Trades => "data.trades",
            Self::Assets => "trading.assets",
            Self::Orders => "trading.orders",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_dependency_is_named_after_its_api() {
        for d in Dependency::ALL {
            let prefix = match d.api() {
                Api::Data => "data.",
                Api::Trading => "trading.",
            };
            assert!(d.name().starts_with(prefix), "{}", d.name());
        }
    }
}
