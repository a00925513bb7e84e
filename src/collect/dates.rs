//! Which dates a run publishes: the exchange clock's "now", the requested
//! span, and, from the provider's sessions, the closed sessions to publish
//! (plus the dates the retry queue holds, which ride along) and the first
//! bar the screen window needs. The decisions are pure ([`plan`]); only
//! asking the clock and the calendar is I/O.

use chrono::{DateTime, Duration, NaiveDate, Utc};

use super::{CollectError, Collector, Dates};
use crate::domain::TradingDays;
use crate::market::calendar::exchange_date;
use crate::market::{Session, latest_closed};

/// Most the host clock may differ from the exchange's before the
/// exchange's is used.
const CLOCK_TOLERANCE_MINUTES: i64 = 2;
/// Most the exchange's clock may differ from the host's and still be
/// believed: further off, one of the two is broken, and an exchange clock
/// a day away would pick a session the host's calendar never would.
const CLOCK_TRUST_HOURS: i64 = 24;

/// Which "now" a run of the latest session goes by: the host's, unless the
/// exchange's differs by more than [`CLOCK_TOLERANCE_MINUTES`] (the host
/// drifted) and by no more than [`CLOCK_TRUST_HOURS`] (past that the
/// exchange's answer is not believed). Pure, for the tests.
pub(super) fn choose_now(host: DateTime<Utc>, exchange: Option<DateTime<Utc>>) -> DateTime<Utc> {
    let Some(exchange) = exchange else {
        return host;
    };
    let off = (exchange - host).abs();
    if off > Duration::hours(CLOCK_TRUST_HOURS) {
        tracing::warn!(host = %host, exchange = %exchange, "the exchange clock is more than a day from the host's; not believed, using the host's");
        host
    } else if off > Duration::minutes(CLOCK_TOLERANCE_MINUTES) {
        tracing::warn!(host = %host, exchange = %exchange, "the host clock is off; using the exchange's");
        exchange
    } else {
        host
    }
}

/// The dates one run publishes and the calendar around them.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct Plan {
    /// The sessions of the span asked for.
    pub days: TradingDays,
    /// The latest closed session, if any.
    pub closed: Option<NaiveDate>,
    /// Dates to publish, oldest first, never empty.
    pub targets: Vec<NaiveDate>,
    /// The newest of them: the last date whose bars are fetched.
    pub last: NaiveDate,
    /// The first date whose bars the screen of the oldest target needs.
    pub window_start: NaiveDate,
}

impl Collector<'_> {
    /// "The latest closed session" is the exchange's call: a host clock
    /// that drifted (a VPS without NTP, a laptop after sleep) must not make
    /// a run screen the wrong day. Only a run of the latest session asks.
    pub(super) async fn exchange_now(&self, dates: Dates, now: DateTime<Utc>) -> DateTime<Utc> {
        if dates != Dates::Latest {
            return now;
        }
        choose_now(now, self.market.exchange_now().await)
    }

    /// Ask the provider's calendar for the span `dates` and `queued` need
    /// and decide what to publish; `None` when there is nothing to do.
    pub(super) async fn plan(
        &self,
        dates: Dates,
        now: DateTime<Utc>,
        queued: &[NaiveDate],
    ) -> Result<Option<Plan>, CollectError> {
        let today = exchange_date(now);
        let Some(span) = requested_span(dates, today, queued)? else {
            return Ok(None);
        };
        let lookback = self.settings.screen.lookback_days;
        let (from, to) = calendar_range(span, today, queued, lookback);
        let sessions = self.market.sessions(from, to).await?;
        plan(dates, span, &sessions, now, queued, lookback)
    }
}

/// Calendar days that surely hold `lookback` sessions.
fn pad(lookback: usize) -> Duration {
    Duration::days((lookback as i64) * 7 / 5 + 30)
}

/// The span `dates` asks for, `(from, to)`; `None` for a retry-queue run
/// with an empty queue.
pub(super) fn requested_span(
    dates: Dates,
    today: NaiveDate,
    queued: &[NaiveDate],
) -> Result<Option<(NaiveDate, NaiveDate)>, CollectError> {
    Ok(Some(match dates {
        Dates::Latest => (today, today),
        Dates::One(d) => (d, d),
        Dates::Range { from, to } if from > to => return Err(CollectError::BadRange(from, to)),
        Dates::Range { from, to } => (from, to),
        Dates::RetryFailed => match (queued.first(), queued.last()) {
            (Some(a), Some(b)) => (*a, *b),
            _ => return Ok(None),
        },
    }))
}

/// The sessions to ask the calendar for: back far enough to hold the
/// screen window of the oldest date (queued ones too), up to today.
fn calendar_range(
    (from, to): (NaiveDate, NaiveDate),
    today: NaiveDate,
    queued: &[NaiveDate],
    lookback: usize,
) -> (NaiveDate, NaiveDate) {
    let oldest = queued.first().map_or(from, |q| (*q).min(from));
    (oldest - pad(lookback), to.max(today))
}

/// Decide what a run publishes, from the provider's `sessions` (covering
/// [`calendar_range`]) as of `now`. Dates with queued symbols ride along:
/// one fetch serves them all. `None` when there is nothing to publish.
pub(super) fn plan(
    dates: Dates,
    (from, to): (NaiveDate, NaiveDate),
    sessions: &[Session],
    now: DateTime<Utc>,
    queued: &[NaiveDate],
    lookback: usize,
) -> Result<Option<Plan>, CollectError> {
    let pad = pad(lookback);
    let closed = latest_closed(sessions, now);
    let days = TradingDays::new(sessions.iter().map(|s| s.date).collect());
    let is_closed = |d: NaiveDate| days.contains(d) && closed.is_some_and(|c| d <= c);

    let mut targets: Vec<NaiveDate> = match dates {
        Dates::Latest => closed.into_iter().collect(),
        Dates::One(d) => {
            if !days.contains(d) {
                return Err(CollectError::NotTradingDay(d));
            }
            if closed.is_none_or(|c| d > c) {
                return Err(CollectError::NotClosed(d));
            }
            vec![d]
        }
        Dates::Range { from, to } => days
            .between(from, to)
            .iter()
            .copied()
            .filter(|d| is_closed(*d))
            .collect(),
        Dates::RetryFailed => Vec::new(),
    };
    if targets.is_empty() && dates != Dates::RetryFailed {
        return Err(CollectError::NoSession(from - pad, to));
    }
    for d in queued {
        if is_closed(*d) && !targets.contains(d) {
            targets.push(*d);
        }
    }
    targets.sort_unstable();
    let (Some(&first), Some(&last)) = (targets.first(), targets.last()) else {
        return Ok(None);
    };
    let window_start = days
        .sessions_before(first, lookback.saturating_sub(1))
        .unwrap_or(first - pad);
    Ok(Some(Plan {
        days,
        closed,
        targets,
        last,
        window_start,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::market::calendar;
    use crate::test_support::d;

    /// 2026-11-25 12:00 UTC: the 11-24 session has closed, 11-25 has not.
    fn now() -> DateTime<Utc> {
        "2026-11-25T12:00:00Z".parse().unwrap()
    }

    const LOOKBACK: usize = 20;

    /// The plan with the built-in calendar over the range the run asks for.
    fn planned(dates: Dates, queued: &[NaiveDate]) -> Result<Option<Plan>, CollectError> {
        let today = exchange_date(now());
        let Some(span) = requested_span(dates, today, queued)? else {
            return Ok(None);
        };
        let (from, to) = calendar_range(span, today, queued, LOOKBACK);
        plan(
            dates,
            span,
            &calendar::sessions(from, to),
            now(),
            queued,
            LOOKBACK,
        )
    }

    #[test]
    fn the_exchange_clock_is_used_only_within_a_day_of_the_hosts() {
        let host = now();
        assert_eq!(choose_now(host, None), host, "no clock: the host's");
        let near = host + Duration::seconds(90);
        assert_eq!(choose_now(host, Some(near)), host, "within tolerance");
        let drifted = host - Duration::hours(5);
        assert_eq!(choose_now(host, Some(drifted)), drifted, "host drifted");
        let day = host + Duration::hours(CLOCK_TRUST_HOURS);
        assert_eq!(choose_now(host, Some(day)), day, "a day is still believed");
        let far = host + Duration::days(3);
        assert_eq!(choose_now(host, Some(far)), host, "too far: not believed");
        let past = host - Duration::days(400);
        assert_eq!(choose_now(host, Some(past)), host);
    }

    #[test]
    fn latest_is_the_latest_closed_session_with_its_window() {
        let p = planned(Dates::Latest, &[]).unwrap().unwrap();
        assert_eq!(p.targets, [d("2026-11-24")]);
        assert_eq!(p.closed, Some(d("2026-11-24")));
        // 20 sessions ending 11-24 (Thanksgiving is after it).
        assert_eq!(p.window_start, d("2026-10-28"));
        assert_eq!(p.days.between(p.window_start, d("2026-11-24")).len(), 20);
    }

    #[test]
    fn one_date_must_be_a_closed_session() {
        assert!(matches!(
            planned(Dates::One(d("2026-11-22")), &[]),
            Err(CollectError::NotTradingDay(x)) if x == d("2026-11-22")
        ));
        assert!(matches!(
            planned(Dates::One(d("2026-11-25")), &[]),
            Err(CollectError::NotClosed(x)) if x == d("2026-11-25")
        ));
        let p = planned(Dates::One(d("2026-11-20")), &[]).unwrap().unwrap();
        assert_eq!(p.targets, [d("2026-11-20")]);
    }

    #[test]
    fn a_range_keeps_its_closed_sessions_and_refuses_swapped_ends() {
        let range = Dates::Range {
            from: d("2026-11-20"),
            to: d("2026-11-27"),
        };
        let p = planned(range, &[]).unwrap().unwrap();
        assert_eq!(
            p.targets,
            [d("2026-11-20"), d("2026-11-23"), d("2026-11-24")],
            "weekend skipped, 11-25 not closed yet"
        );
        let swapped = Dates::Range {
            from: d("2026-11-24"),
            to: d("2026-11-20"),
        };
        assert!(matches!(
            planned(swapped, &[]),
            Err(CollectError::BadRange(..))
        ));
        let weekend = Dates::Range {
            from: d("2026-11-21"),
            to: d("2026-11-22"),
        };
        assert!(matches!(
            planned(weekend, &[]),
            Err(CollectError::NoSession(..))
        ));
    }

    #[test]
    fn queued_dates_ride_along_and_a_retry_run_needs_a_queue() {
        let queued = [d("2026-11-02"), d("2026-11-24")];
        let p = planned(Dates::Latest, &queued).unwrap().unwrap();
        assert_eq!(p.targets, [d("2026-11-02"), d("2026-11-24")]);
        assert!(p.window_start < d("2026-11-02"), "the window of the oldest");
        let p = planned(Dates::RetryFailed, &queued).unwrap().unwrap();
        assert_eq!(p.targets, queued);
        assert_eq!(planned(Dates::RetryFailed, &[]).unwrap(), None);
    }
}
