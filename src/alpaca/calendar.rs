//! `GET /v2/calendar`: the exchange's trading sessions, opening and
//! closing times given in New York wall-clock time (early closes included).

use chrono::{DateTime, NaiveDate, NaiveTime, TimeZone, Utc};
use chrono_tz::America::New_York;
use serde::Deserialize;

use super::api::Dependency;
use super::client::AlpacaClient;
use super::error::AlpacaError;
use crate::market::Session;

/// Sessions with dates in `from..=to`, oldest first.
pub async fn fetch(
    client: &AlpacaClient,
    from: NaiveDate,
    to: NaiveDate,
) -> Result<Vec<Session>, AlpacaError> {
    let q = [("start", from.to_string()), ("end", to.to_string())];
    client
        .get(Dependency::Calendar, "/v2/calendar", &q, parse_calendar)
        .await
}

#[derive(Deserialize)]
struct WireDay {
    date: NaiveDate,
    open: String,
    close: String,
}

/// A New York wall-clock time on `date` as an instant.
fn ny_instant(date: NaiveDate, hhmm: &str) -> Result<DateTime<Utc>, String> {
    let t = NaiveTime::parse_from_str(hhmm, "%H:%M")
        .map_err(|e| format!("calendar time {hhmm:?}: {e}"))?;
    New_York
        .from_local_datetime(&date.and_time(t))
        .single()
        .map(|dt| dt.with_timezone(&Utc))
        .ok_or_else(|| format!("calendar: {date} {hhmm} is not a valid New York time"))
}

/// `GET /v2/calendar` body.
pub fn parse_calendar(body: &[u8]) -> Result<Vec<Session>, String> {
    let days: Vec<WireDay> = serde_json::from_slice(body).map_err(|e| format!("calendar: {e}"))?;
    let mut sessions = days
        .into_iter()
        .map(|d| {
            Ok(Session {
                date: d.date,
                open: ny_instant(d.date, &d.open)?,
                close: ny_instant(d.date, &d.close)?,
            })
        })
        .collect::<Result<Vec<_>, String>>()?;
    sessions.sort_by_key(|s| s.date);
    sessions.dedup_by_key(|s| s.date);
    Ok(sessions)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn calendar_times_are_new_york_with_dst_and_early_closes() {
        let body = br#"[{"date":"2026-07-02","open":"09:30","close":"16:00","session_open":"0400","session_close":"2000","settlement_date":"2026-07-06"},
                        {"date":"2026-11-27","open":"09:30","close":"13:00","session_open":"0400","session_close":"1700","settlement_date":"2026-11-30"}]"#;
        let s = parse_calendar(body).unwrap();
        assert_eq!(s[0].close.to_rfc3339(), "2026-07-02T20:00:00+00:00");
        assert_eq!(s[1].open.to_rfc3339(), "2026-11-27T14:30:00+00:00");
        assert_eq!(s[1].close.to_rfc3339(), "2026-11-27T18:00:00+00:00");
    }
}
