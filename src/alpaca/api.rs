//! Which of Alpaca's two APIs a call goes to, and the name that service
//! goes by in errors and reports.

/// Which Alpaca API a path belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
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
