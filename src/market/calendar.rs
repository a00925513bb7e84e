//! The NYSE trading calendar as pure functions: which dates trade, and when
//! each session opens and closes in UTC.
//!
//! The rules are computed rather than tabulated so the calendar works for any
//! year without a data file to keep current; the only table is the short list
//! of one-off closures ([`SPECIAL_CLOSURES`]) that no rule predicts. The
//! simulated market and the scheduler both rely on it, and the Alpaca
//! calendar endpoint can be checked against it.

use chrono::{Datelike, Days, NaiveDate, NaiveTime, TimeZone, Weekday};
use chrono_tz::{America::New_York, Tz};

use super::Session;

/// The exchange's time zone: session times are fixed in New York wall-clock
/// time, so their UTC instants move with daylight saving.
pub const EXCHANGE_TZ: Tz = New_York;

/// Regular opening bell, New York time.
pub const OPEN_TIME: NaiveTime = hms(9, 30);
/// Regular closing bell, New York time.
pub const CLOSE_TIME: NaiveTime = hms(16, 0);
/// Closing bell on early-close days, New York time.
pub const EARLY_CLOSE_TIME: NaiveTime = hms(13, 0);

/// Full-day closures that no holiday rule produces (weather, national days
/// of mourning), since 2012. Older ones are left out: the simulated market's
/// history starts in 2015 and Alpaca's daily history is what it is anyway.
pub const SPECIAL_CLOSURES: [NaiveDate; 4] = [
    ymd(2012, 10, 29), // Hurricane Sandy
    ymd(2012, 10, 30), // Hurricane Sandy
    ymd(2018, 12, 5),  // President George H. W. Bush, day of mourning
    ymd(2025, 1, 9),   // President Jimmy Carter, day of mourning
];

/// A compile-time time of day. Evaluated only in constants, so a bad
/// literal fails the build rather than panicking at run time.
const fn hms(hour: u32, min: u32) -> NaiveTime {
    match NaiveTime::from_hms_opt(hour, min, 0) {
        Some(t) => t,
        None => panic!("invalid constant time"),
    }
}

/// A compile-time date; see [`hms`] for why the panic is harmless.
const fn ymd(year: i32, month: u32, day: u32) -> NaiveDate {
    match NaiveDate::from_ymd_opt(year, month, day) {
        Some(d) => d,
        None => panic!("invalid constant date"),
    }
}

/// True when NYSE is closed all day on `date` for a holiday or a special
/// closure. Weekends are not holidays: see [`is_trading_day`].
#[must_use]
pub fn is_holiday(date: NaiveDate) -> bool {
    if SPECIAL_CLOSURES.contains(&date) {
        return true;
    }
    let year = date.year();
    let day = Some(date);
    match date.month() {
        // New Year's Day moves to Monday when it is a Sunday, but NYSE does
        // not close the Friday before when it is a Saturday (that Friday is
        // the last session of the year, needed for year-end books).
        1 => {
            let jan1 = NaiveDate::from_ymd_opt(year, 1, 1);
            let new_year = match jan1.map(|d| d.weekday()) {
                Some(Weekday::Sat) => None,
                Some(Weekday::Sun) => NaiveDate::from_ymd_opt(year, 1, 2),
                _ => jan1,
            };
            day == new_year || day == nth_weekday(year, 1, Weekday::Mon, 3)
        }
        2 => day == nth_weekday(year, 2, Weekday::Mon, 3),
        // Good Friday can fall in March or April.
        3 | 4 => day == good_friday(year),
        5 => day == last_weekday(year, 5, Weekday::Mon),
        // Juneteenth became an NYSE holiday in 2022; its Saturday-observed
        // Friday (June 18) is the only way it reaches into a different day.
        6 => year >= 2022 && day == observed(year, 6, 19),
        7 => day == observed(year, 7, 4),
        9 => day == nth_weekday(year, 9, Weekday::Mon, 1),
        11 => day == nth_weekday(year, 11, Weekday::Thu, 4),
        12 => day == observed(year, 12, 25),
        _ => false,
    }
}

/// True when NYSE holds a session on `date`: a weekday that is not a
/// holiday or special closure.
#[must_use]
pub fn is_trading_day(date: NaiveDate) -> bool {
    !matches!(date.weekday(), Weekday::Sat | Weekday::Sun) && !is_holiday(date)
}

/// True when `date` is a trading day that closes at 13:00 New York time:
/// the day after Thanksgiving, Christmas Eve, and July 3 when Independence
/// Day itself is a weekday holiday the next day.
#[must_use]
pub fn is_early_close(date: NaiveDate) -> bool {
    if !is_trading_day(date) {
        return false;
    }
    let year = date.year();
    let day = Some(date);
    match date.month() {
        7 => {
            // Only when July 4 falls Tuesday..Friday: with July 4 on a
            // Saturday, July 3 is itself the holiday (2026), and with it on
            // a Sunday or Monday July 3 is a weekend day.
            date.day() == 3
                && NaiveDate::from_ymd_opt(year, 7, 4)
                    .is_some_and(|d| !matches!(d.weekday(), Weekday::Sat | Weekday::Sun))
        }
        11 => day == nth_weekday(year, 11, Weekday::Thu, 4).and_then(|t| t.succ_opt()),
        // A Christmas Eve that falls on a Friday is the observed Christmas
        // holiday, which the trading-day check above already excludes.
        12 => date.day() == 24,
        _ => false,
    }
}

/// The session held on `date`, with its UTC opening and closing instants,
/// or `None` when the exchange is closed that day.
#[must_use]
pub fn session(date: NaiveDate) -> Option<Session> {
    if !is_trading_day(date) {
        return None;
    }
    let close_time = if is_early_close(date) {
        EARLY_CLOSE_TIME
    } else {
        CLOSE_TIME
    };
    // 09:30, 13:00 and 16:00 are never inside a daylight-saving gap or
    // overlap (New York switches at 02:00), so `single` always answers.
    let at = |t: NaiveTime| {
        EXCHANGE_TZ
            .from_local_datetime(&date.and_time(t))
            .single()
            .map(|dt| dt.to_utc())
    };
    Some(Session {
        date,
        open: at(OPEN_TIME)?,
        close: at(close_time)?,
    })
}

/// Every session with a date in `from..=to`, oldest first (empty when
/// `from > to`).
#[must_use]
pub fn sessions(from: NaiveDate, to: NaiveDate) -> Vec<Session> {
    dates(from, to).filter_map(session).collect()
}

/// The exchange's date (New York) of an instant: "today" for the market,
/// whatever the host's zone.
#[must_use]
pub fn exchange_date(t: chrono::DateTime<chrono::Utc>) -> NaiveDate {
    t.with_timezone(&EXCHANGE_TZ).date_naive()
}

/// The latest NYSE session that had closed by `now`, from the built-in
/// calendar (no network): what a published date can at most be.
#[must_use]
pub fn latest_closed_session(now: chrono::DateTime<chrono::Utc>) -> Option<NaiveDate> {
    let today = exchange_date(now);
    super::latest_closed(&sessions(today - chrono::Days::new(14), today), now)
}

/// The trading dates in `from..=to`, oldest first: [`sessions`] without the
/// time-zone work, for callers that only index by date.
#[must_use]
pub fn trading_days(from: NaiveDate, to: NaiveDate) -> Vec<NaiveDate> {
    dates(from, to).filter(|d| is_trading_day(*d)).collect()
}

/// Calendar dates `from..=to`.
fn dates(from: NaiveDate, to: NaiveDate) -> impl Iterator<Item = NaiveDate> {
    from.iter_days().take_while(move |d| *d <= to)
}

/// The `n`th (1-based) `weekday` of a month.
fn nth_weekday(year: i32, month: u32, weekday: Weekday, n: u8) -> Option<NaiveDate> {
    NaiveDate::from_weekday_of_month_opt(year, month, weekday, n)
}

/// The last `weekday` of a month: a fifth one when it exists, else the
/// fourth (every weekday occurs at least four times a month).
fn last_weekday(year: i32, month: u32, weekday: Weekday) -> Option<NaiveDate> {
    nth_weekday(year, month, weekday, 5).or_else(|| nth_weekday(year, month, weekday, 4))
}

/// A fixed-date holiday as NYSE observes it: a Saturday moves to Friday,
/// a Sunday to Monday.
fn observed(year: i32, month: u32, day: u32) -> Option<NaiveDate> {
    let date = NaiveDate::from_ymd_opt(year, month, day)?;
    match date.weekday() {
        Weekday::Sat => date.pred_opt(),
        Weekday::Sun => date.succ_opt(),
        _ => Some(date),
    }
}

/// Good Friday: two days before Western Easter.
fn good_friday(year: i32) -> Option<NaiveDate> {
    easter(year)?.checked_sub_days(Days::new(2))
}

/// Western (Gregorian) Easter Sunday by the anonymous Gregorian algorithm
/// (Meeus/Jones/Butcher), exact for every Gregorian year.
fn easter(year: i32) -> Option<NaiveDate> {
    let a = year.rem_euclid(19);
    let b = year.div_euclid(100);
    let c = year.rem_euclid(100);
    let d = b / 4;
    let e = b % 4;
    let f = (b + 8) / 25;
    let g = (b - f + 1) / 3;
    let h = (19 * a + b - d - g + 15) % 30;
    let i = c / 4;
    let k = c % 4;
    let l = (32 + 2 * e + 2 * i - h - k) % 7;
    let m = (a + 11 * h + 22 * l) / 451;
    let month = (h + l - 7 * m + 114) / 31;
    let day = (h + l - 7 * m + 114) % 31 + 1;
    NaiveDate::from_ymd_opt(year, u32::try_from(month).ok()?, u32::try_from(day).ok()?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_support::d;
    use chrono::{DateTime, Utc};

    fn utc(s: &str) -> DateTime<Utc> {
        s.parse().expect("test instant")
    }

    fn holidays_in(year: i32) -> Vec<NaiveDate> {
        dates(d(&format!("{year}-01-01")), d(&format!("{year}-12-31")))
            .filter(|x| is_holiday(*x))
            .collect()
    }

    fn all(list: &[&str]) -> Vec<NaiveDate> {
        list.iter().map(|s| d(s)).collect()
    }

    #[test]
    fn holidays_2026() {
        assert_eq!(
            holidays_in(2026),
            all(&[
                "2026-01-01",
                "2026-01-19",
                "2026-02-16",
                "2026-04-03",
                "2026-05-25",
                "2026-06-19",
                "2026-07-03",
                "2026-09-07",
                "2026-11-26",
                "2026-12-25",
            ])
        );
    }

    #[test]
    fn holidays_2025_include_the_carter_closure() {
        assert_eq!(
            holidays_in(2025),
            all(&[
                "2025-01-01",
                "2025-01-09",
                "2025-01-20",
                "2025-02-17",
                "2025-04-18",
                "2025-05-26",
                "2025-06-19",
                "2025-07-04",
                "2025-09-01",
                "2025-11-27",
                "2025-12-25",
            ])
        );
    }

    #[test]
    fn saturday_new_year_closes_no_friday() {
        // 2022-01-01 was a Saturday: 2021-12-31 traded, nothing observed.
        assert!(!is_holiday(d("2022-01-01")));
        assert!(is_trading_day(d("2021-12-31")));
        assert!(is_trading_day(d("2022-01-03")));
        // 2023-01-01 was a Sunday: observed Monday 2023-01-02.
        assert!(is_holiday(d("2023-01-02")));
        assert!(!is_trading_day(d("2023-01-02")));
    }

    #[test]
    fn juneteenth_starts_in_2022_and_is_observed() {
        assert!(!is_holiday(d("2021-06-18")));
        assert!(is_trading_day(d("2021-06-18")));
        // 2022-06-19 was a Sunday: observed Monday 2022-06-20.
        assert!(is_holiday(d("2022-06-20")));
        // 2027-06-19 is a Saturday: observed Friday 2027-06-18.
        assert!(is_holiday(d("2027-06-18")));
        assert!(!is_trading_day(d("2027-06-18")));
    }

    #[test]
    fn special_closures_and_easter() {
        for s in ["2012-10-29", "2012-10-30", "2018-12-05", "2025-01-09"] {
            assert!(!is_trading_day(d(s)), "{s}");
        }
        // Good Fridays, March and April.
        for s in [
            "2016-03-25",
            "2019-04-19",
            "2024-03-29",
            "2027-03-26",
            "2038-04-23",
        ] {
            assert!(is_holiday(d(s)), "{s}");
        }
        assert!(!is_holiday(d("2026-04-10")));
    }

    #[test]
    fn trading_day_counts() {
        assert_eq!(trading_days(d("2025-01-01"), d("2025-12-31")).len(), 250);
        assert_eq!(trading_days(d("2026-01-01"), d("2026-12-31")).len(), 251);
        assert_eq!(sessions(d("2026-01-01"), d("2026-12-31")).len(), 251);
        assert!(sessions(d("2026-02-01"), d("2026-01-01")).is_empty());
    }

    #[test]
    fn early_closes() {
        let close = |s: &str| session(d(s)).map(|x| x.close);
        // Day after Thanksgiving, 13:00 EST.
        assert_eq!(close("2026-11-27"), Some(utc("2026-11-27T18:00:00Z")));
        // July 3 before a Friday Independence Day, 13:00 EDT.
        assert_eq!(close("2025-07-03"), Some(utc("2025-07-03T17:00:00Z")));
        // 2026: July 3 is the observed holiday and July 2 is a full day.
        assert_eq!(close("2026-07-03"), None);
        assert_eq!(close("2026-07-02"), Some(utc("2026-07-02T20:00:00Z")));
        // Christmas Eve on a weekday.
        assert_eq!(close("2025-12-24"), Some(utc("2025-12-24T18:00:00Z")));
        assert!(is_early_close(d("2024-12-24")));
        // 2021: Christmas Eve was the observed holiday; 2022: a Saturday.
        assert!(!is_early_close(d("2021-12-24")));
        assert!(!is_early_close(d("2021-12-23")));
        assert!(!is_early_close(d("2022-12-23")));
        // July 4 on a Monday (2022) or Sunday (2021): no early close.
        assert!(!is_early_close(d("2022-07-01")));
        assert!(!is_early_close(d("2021-07-02")));
        assert!(is_early_close(d("2023-07-03")));
        let ny = sessions(d("2026-01-01"), d("2026-12-31"));
        let early: Vec<_> = ny
            .iter()
            .filter(|s| is_early_close(s.date))
            .map(|s| s.date)
            .collect();
        assert_eq!(early, all(&["2026-11-27", "2026-12-24"]));
    }

    #[test]
    fn session_instants_follow_daylight_saving() {
        let summer = session(d("2026-07-15")).expect("trading day");
        assert_eq!(summer.open, utc("2026-07-15T13:30:00Z"));
        assert_eq!(summer.close, utc("2026-07-15T20:00:00Z"));
        let winter = session(d("2026-01-15")).expect("trading day");
        assert_eq!(winter.open, utc("2026-01-15T14:30:00Z"));
        assert_eq!(winter.close, utc("2026-01-15T21:00:00Z"));
        // DST began Sunday 2026-03-08: the Friday before is EST, the
        // Monday after EDT.
        assert_eq!(
            session(d("2026-03-06")).map(|s| s.close),
            Some(utc("2026-03-06T21:00:00Z"))
        );
        assert_eq!(
            session(d("2026-03-09")).map(|s| s.close),
            Some(utc("2026-03-09T20:00:00Z"))
        );
        assert_eq!(session(d("2026-07-04")), None);
    }
}
