//! A scripted market for unit tests: the simulated market's prices,
//! calendar and account, with a calendar that can be down or know a
//! closure the built-in does not, bars that stop before a date (a source
//! that has not published the day yet), a broker that only knows "now",
//! and a count of calendar calls.

use std::sync::atomic::{AtomicUsize, Ordering};

use async_trait::async_trait;
use chrono::NaiveDate;

use super::sim::SimMarket;
use super::{BarsAnswer, Broker, MarketData, MarketError, Session};
use crate::domain::{Account, Positions, Symbol};

/// The sim, scripted.
pub(crate) struct Scripted {
    /// Where prices, sessions and the account come from.
    pub sim: SimMarket,
    /// The calendar fails.
    pub calendar_down: bool,
    /// A day the calendar says is closed.
    pub closed: Option<NaiveDate>,
    /// No bars on or after this date.
    pub bars_before: Option<NaiveDate>,
    /// Calendar calls so far.
    pub calendar_calls: AtomicUsize,
}

impl Scripted {
    /// The sim over `universe`, nothing scripted yet.
    pub fn new(universe: Vec<Symbol>) -> Self {
        Self {
            sim: SimMarket::new(universe),
            calendar_down: false,
            closed: None,
            bars_before: None,
            calendar_calls: AtomicUsize::new(0),
        }
    }

    /// Calendar calls so far.
    pub fn calendar_calls(&self) -> usize {
        self.calendar_calls.load(Ordering::SeqCst)
    }
}

#[async_trait]
impl MarketData for Scripted {
    fn provider(&self) -> &'static str {
        "scripted"
    }
    fn is_simulated(&self) -> bool {
        true
    }
    async fn sessions(&self, from: NaiveDate, to: NaiveDate) -> Result<Vec<Session>, MarketError> {
        self.calendar_calls.fetch_add(1, Ordering::SeqCst);
        if self.calendar_down {
            return Err(MarketError::Request {
                source_name: "calendar",
                message: "down".into(),
            });
        }
        let mut sessions = self.sim.sessions(from, to).await?;
        sessions.retain(|s| Some(s.date) != self.closed);
        Ok(sessions)
    }
    async fn daily_bars(
        &self,
        symbols: &[Symbol],
        from: NaiveDate,
        to: NaiveDate,
    ) -> Result<BarsAnswer, MarketError> {
        let mut out = self.sim.daily_bars(symbols, from, to).await?;
        if let Some(cutoff) = self.bars_before {
            for sb in &mut out.series {
                sb.bars.retain(|b| b.date < cutoff);
            }
        }
        Ok(out)
    }
}

/// A live broker's view of the sim's account: it answers for "now" only.
#[async_trait]
impl Broker for Scripted {
    async fn account(&self, d: NaiveDate) -> Result<Account, MarketError> {
        self.sim.account(d).await
    }
    async fn positions(&self, d: NaiveDate) -> Result<Positions, MarketError> {
        self.sim.positions(d).await
    }
}
