//! Whether a date is an exchange session, as the configured provider's
//! calendar says: the one calendar source of the schedule (a closed day is
//! not collected) and of the alert digests (sent on trading days only). The
//! built-in NYSE calendar ([`super::calendar`]) answers only where the
//! provider cannot, so where the two agree nothing differs from either.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::NaiveDate;

use super::{MarketData, MarketError, calendar};

/// How long [`SessionCalendar::is_session`] waits for the provider.
const PATIENCE: Duration = Duration::from_secs(5);

/// Whether `day` is a session, per `market`'s calendar.
pub async fn is_session(market: &dyn MarketData, day: NaiveDate) -> Result<bool, MarketError> {
    Ok(market
        .sessions(day, day)
        .await?
        .iter()
        .any(|s| s.date == day))
}

/// The provider's calendar for a caller that asks about the same day over
/// and over (the digest check, twice a minute): the last day's answer is
/// kept, so the provider is asked once a day. Cheap to clone.
#[derive(Clone)]
pub struct SessionCalendar {
    market: Arc<dyn MarketData>,
    last: Arc<Mutex<Option<(NaiveDate, bool)>>>,
}

impl std::fmt::Debug for SessionCalendar {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SessionCalendar")
            .field("provider", &self.market.provider())
            .finish_non_exhaustive()
    }
}

impl SessionCalendar {
    /// The calendar of `market`.
    pub fn new(market: Arc<dyn MarketData>) -> Self {
        Self {
            market,
            last: Arc::new(Mutex::new(None)),
        }
    }

    /// Whether `day` is a session: the provider's answer, or, when it
    /// cannot give one within a few seconds, the built-in calendar's (and
    /// the provider is asked again next time).
    pub async fn is_session(&self, day: NaiveDate) -> bool {
        let known = self.last.lock().ok().and_then(|l| *l);
        if let Some((d, answer)) = known
            && d == day
        {
            return answer;
        }
        let asked = tokio::time::timeout(PATIENCE, is_session(self.market.as_ref(), day)).await;
        match asked.unwrap_or_else(|_| {
            Err(MarketError::Request {
                source_name: "calendar",
                message: format!("no answer in {} s", PATIENCE.as_secs()),
            })
        }) {
            Ok(answer) => {
                if let Ok(mut l) = self.last.lock() {
                    *l = Some((day, answer));
                }
                answer
            }
            Err(e) => {
                let answer = calendar::is_trading_day(day);
                tracing::warn!(%day, error = %e, built_in = answer, "calendar unavailable; using the built-in NYSE calendar");
                answer
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::market::scripted::Scripted;
    use crate::test_support::d;

    #[tokio::test]
    async fn the_provider_decides_once_a_day() {
        // The provider knows a closure the built-in does not.
        let mut scripted = Scripted::new(vec![]);
        scripted.closed = Some(d("2026-11-25"));
        let market = Arc::new(scripted);
        let cal = SessionCalendar::new(market.clone());
        assert!(
            !cal.is_session(d("2026-11-25")).await,
            "the provider's word"
        );
        assert!(!cal.is_session(d("2026-11-25")).await);
        assert_eq!(market.calendar_calls(), 1, "asked once");
        assert!(!cal.is_session(d("2026-11-26")).await, "Thanksgiving");
        assert!(cal.is_session(d("2026-11-27")).await, "early close trades");
        assert_eq!(market.calendar_calls(), 3, "a new day is asked");
    }

    #[tokio::test]
    async fn without_the_provider_the_built_in_answers_and_it_is_asked_again() {
        let mut scripted = Scripted::new(vec![]);
        scripted.calendar_down = true;
        let market = Arc::new(scripted);
        let cal = SessionCalendar::new(market.clone());
        assert!(cal.is_session(d("2026-11-25")).await);
        assert!(!cal.is_session(d("2026-11-26")).await, "Thanksgiving");
        assert!(!cal.is_session(d("2026-11-28")).await, "Saturday");
        assert!(cal.is_session(d("2026-11-25")).await);
        assert_eq!(market.calendar_calls(), 4, "failures not kept");
        assert!(is_session(market.as_ref(), d("2026-11-25")).await.is_err());
    }
}
