//! Where prices come from, independent of any provider. [`MarketData`] is
//! the one interface collection uses; [`Broker`] is the account side. Both
//! are implemented by the simulated market ([`sim`]) and by the Alpaca
//! integration ([`crate::alpaca`]); [`calendar`] is the built-in NYSE
//! calendar, and [`RequestCounters`] what a provider's HTTP client counted.

pub mod calendar;
mod requests;
#[cfg(test)]
pub(crate) mod scripted;
pub mod session_calendar;
pub mod sim;
mod trader;

pub use requests::{BreakerCounters, BreakerState, RequestCounters};
pub use trader::{Asset, LastTrade, MarketClock, OrderQuery, TradeError, Trader};

use async_trait::async_trait;
use chrono::{DateTime, NaiveDate, Utc};

use crate::domain::{Account, Bar, Positions, RejectedBar, Symbol, SymbolIssue};

/// One trading session: its date and its opening and closing instants
/// (early closes included).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Session {
    /// Trading date (exchange time).
    pub date: NaiveDate,
    /// Opening bell.
    pub open: DateTime<Utc>,
    /// Closing bell.
    pub close: DateTime<Utc>,
}

/// The bars one symbol returned, as received: not yet validated.
#[derive(Debug, Clone, PartialEq)]
pub struct SymbolBars {
    /// Ticker.
    pub symbol: Symbol,
    /// Daily bars, in the order the source sent them.
    pub bars: Vec<Bar>,
}

/// What a bars request brought back: the series it got, the symbols it
/// could not get (with why), the symbols the source refused as invalid,
/// and bars dropped while parsing.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct BarsAnswer {
    /// Bars per symbol, as received.
    pub series: Vec<SymbolBars>,
    /// Symbols whose fetch failed (worth retrying later).
    pub failed: Vec<SymbolIssue>,
    /// Symbols the source refused as invalid, with its message: asking
    /// again will not help, the universe needs fixing.
    pub refused: Vec<SymbolIssue>,
    /// Bars that could not be read.
    pub rejected: Vec<RejectedBar>,
}

/// Why a market or broker call failed.
#[derive(Debug, thiserror::Error)]
pub enum MarketError {
    /// The source answered with an error or could not be reached.
    #[error("{source_name} request failed: {message}")]
    Request {
        /// Which service, as its provider names it (`alpaca data`).
        source_name: &'static str,
        /// Short description; never contains credentials.
        message: String,
    },
    /// The source answered with something we could not understand.
    #[error("malformed response from {source_name}: {message}")]
    Malformed {
        /// Which service.
        source_name: &'static str,
        /// What was wrong.
        message: String,
    },
    /// The provider cannot be used as configured (missing keys, ...).
    #[error("{0}")]
    NotConfigured(String),
}

/// A source of daily bars and of the exchange calendar.
#[async_trait]
pub trait MarketData: Send + Sync {
    /// Provider name as written in `market.provider` (`sim`, `alpaca`).
    fn provider(&self) -> &'static str;

    /// True when the prices are not real (the simulated market). Every
    /// output that shows prices says so.
    fn is_simulated(&self) -> bool;

    /// Trading sessions with dates in `from..=to`, oldest first.
    async fn sessions(&self, from: NaiveDate, to: NaiveDate) -> Result<Vec<Session>, MarketError>;

    /// Daily split-adjusted bars with dates in `from..=to` for each symbol.
    /// A symbol with no bars may be missing from the answer; a symbol whose
    /// fetch failed is listed in `failed`. An error means the request
    /// failed as a whole.
    async fn daily_bars(
        &self,
        symbols: &[Symbol],
        from: NaiveDate,
        to: NaiveDate,
    ) -> Result<BarsAnswer, MarketError>;

    /// The exchange's own clock, when the source has one (Alpaca's
    /// `/v2/clock`); `None` means "use the host's clock".
    async fn exchange_now(&self) -> Option<chrono::DateTime<chrono::Utc>> {
        None
    }

    /// Counters of the provider's HTTP client, if it has one.
    fn request_stats(&self) -> Option<RequestCounters> {
        None
    }
}

/// The account side: balances and open positions.
#[async_trait]
pub trait Broker: Send + Sync {
    /// The account snapshot. A live broker answers for "now"; the
    /// simulated one answers for the close of `as_of`.
    async fn account(&self, as_of: NaiveDate) -> Result<Account, MarketError>;

    /// Open positions (and entries that could not be read), same time
    /// semantics as [`Broker::account`].
    async fn positions(&self, as_of: NaiveDate) -> Result<Positions, MarketError>;

    /// Whether `as_of` is honoured for any past date (the simulated broker),
    /// rather than only "now" (a live broker). Collection takes a snapshot
    /// for every date it publishes when true, and only for the latest
    /// closed session otherwise.
    fn answers_any_date(&self) -> bool {
        false
    }
}

/// The most recent session that had closed by `now` (its daily bar is
/// final), if any of `sessions` has.
pub fn latest_closed(sessions: &[Session], now: DateTime<Utc>) -> Option<NaiveDate> {
    sessions
        .iter()
        .rev()
        .find(|s| s.close <= now)
        .map(|s| s.date)
}
