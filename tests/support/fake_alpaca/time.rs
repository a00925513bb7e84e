//! Time helpers: New York midnights, sessions, the as-of date, RFC 3339.

#![allow(dead_code, unused_imports)]

use std::collections::{BTreeMap, HashMap, HashSet, VecDeque};
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use chrono::{DateTime, Datelike, Days, NaiveDate, SecondsFormat, TimeZone, Utc};
use chrono_tz::America::New_York;
use dipwatch::domain::{Bar, Symbol};
use dipwatch::market::calendar;
use dipwatch::market::sim::SimMarket;
use rust_decimal::Decimal;
use serde_json::{Map, Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::oneshot;

use super::*;

/// New York midnight of `date`, in UTC: the `t` of its daily bar.
pub fn ny_midnight(date: NaiveDate) -> DateTime<Utc> {
    // Midnight is never inside a New York DST gap (the switch is at 02:00).
    New_York
        .from_local_datetime(&date.and_time(chrono::NaiveTime::MIN))
        .earliest()
        .map_or_else(
            || date.and_time(chrono::NaiveTime::MIN).and_utc(),
            |d| d.to_utc(),
        )
}

/// `t` as Alpaca writes it for a daily bar of `date`.
pub fn bar_timestamp(date: NaiveDate) -> String {
    ny_midnight(date).to_rfc3339_opts(SecondsFormat::Secs, true)
}

pub(super) fn ny_date(t: DateTime<Utc>) -> NaiveDate {
    t.with_timezone(&New_York).date_naive()
}

/// The latest trading date on or before `date`.
pub(super) fn session_on_or_before(date: NaiveDate) -> NaiveDate {
    let mut d = date;
    for _ in 0..15 {
        if calendar::is_trading_day(d) {
            return d;
        }
        d = d.pred_opt().unwrap_or(d);
    }
    date
}

/// The latest session on or before "now" in New York.
pub(super) fn as_of(now: DateTime<Utc>) -> NaiveDate {
    session_on_or_before(ny_date(now))
}

/// The latest session that has opened by `now`: the newest daily bar there
/// can be.
pub(super) fn latest_published(now: DateTime<Utc>) -> NaiveDate {
    let mut d = as_of(now);
    if calendar::session(d).is_some_and(|s| s.open > now) {
        d = session_on_or_before(d.pred_opt().unwrap_or(d));
    }
    d
}

/// A start or end parameter: RFC 3339, or a date meaning New York midnight
/// of that date (so a date-only `end` includes that day's bar).
pub(super) fn parse_instant(s: &str) -> Option<DateTime<Utc>> {
    if let Ok(t) = DateTime::parse_from_rfc3339(s) {
        return Some(t.to_utc());
    }
    NaiveDate::parse_from_str(s, "%Y-%m-%d")
        .ok()
        .map(ny_midnight)
}

pub(super) fn parse_date(s: &str) -> Option<NaiveDate> {
    NaiveDate::parse_from_str(s, "%Y-%m-%d").ok().or_else(|| {
        DateTime::parse_from_rfc3339(s)
            .ok()
            .map(|t| ny_date(t.to_utc()))
    })
}

pub(super) fn ny_rfc3339(t: DateTime<Utc>, nanos: bool) -> String {
    let ny = t.with_timezone(&New_York);
    if nanos {
        ny.format("%Y-%m-%dT%H:%M:%S%.9f%:z").to_string()
    } else {
        ny.format("%Y-%m-%dT%H:%M:%S%:z").to_string()
    }
}
