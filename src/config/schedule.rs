//! `[schedule]`: when the daemon collects, in which zone, and how it
//! retries a day the source has not published yet.

use std::time::Duration;

use chrono_tz::Tz;
use croner::Cron;
use serde::{Deserialize, Serialize};

use super::error::{ConfigError, ConfigWarning, invalid, warning};

/// `[schedule]` as written.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct ScheduleSettings {
    /// 6-field cron (sec min hour dom month dow) in `timezone`.
    pub collect: String,
    /// IANA zone the cron is read in.
    pub timezone: String,
    /// Seconds between "data not yet available" retries.
    pub retry_interval_secs: u64,
    /// Seconds after the first attempt to keep retrying.
    pub retry_window_secs: u64,
}

/// `[schedule]` checked: what the schedule loop runs on.
#[derive(Debug, Clone)]
pub struct Schedule {
    /// The collection cron.
    pub cron: Cron,
    /// Its time zone (also the alert digests' local time).
    pub tz: Tz,
    /// Wait between "data not yet available" retries.
    pub retry_interval: Duration,
    /// Stop retrying this long after the first attempt.
    pub retry_window: Duration,
}

impl ScheduleSettings {
    /// Parse the cron and the zone and bound the retries; warnings for a
    /// schedule that works but spends Alpaca's budget or misses sessions.
    pub(crate) fn parse(&self) -> Result<(Schedule, Vec<ConfigWarning>), ConfigError> {
        let cron = parse_cron(&self.collect).map_err(|e| invalid("schedule.collect", e))?;
        let tz: Tz = self.timezone.parse().map_err(|_| {
            invalid(
                "schedule.timezone",
                format!(
                    "{:?} is not an IANA time zone (e.g. America/New_York)",
                    self.timezone
                ),
            )
        })?;
        let mut warnings = self.check_retries()?;
        warnings.extend(self.check_frequency(&cron, tz)?);
        let schedule = Schedule {
            cron,
            tz,
            retry_interval: Duration::from_secs(self.retry_interval_secs),
            retry_window: Duration::from_secs(self.retry_window_secs),
        };
        Ok((schedule, warnings))
    }

    /// Bounds of the retry numbers: refusals for what cannot work, a
    /// warning for what spends Alpaca's budget.
    fn check_retries(&self) -> Result<Vec<ConfigWarning>, ConfigError> {
        let mut warnings = Vec::new();
        if self.retry_interval_secs == 0 {
            return Err(invalid(
                "schedule.retry_interval_secs",
                "must be at least 1 (0 would retry without pause, spending Alpaca's request budget)",
            ));
        }
        if self.retry_interval_secs < 60 {
            warnings.push(warning(
                "schedule.retry_interval_secs",
                format!(
                    "{} s between retries: each retry is a collection run spending Alpaca requests; \
                     900 (the default) or at least 60 is gentler",
                    self.retry_interval_secs
                ),
            ));
        }
        if self.retry_window_secs > 24 * 3600 {
            return Err(invalid(
                "schedule.retry_window_secs",
                format!(
                    "{} must be at most 86400 (a day: the next session's run takes over)",
                    self.retry_window_secs
                ),
            ));
        }
        Ok(warnings)
    }

    /// The cron's next fire times from now, in the zone: a cron that never
    /// fires is refused; one that fires more often than hourly, or next
    /// fires more than 8 days away, gets a warning.
    fn check_frequency(&self, cron: &Cron, tz: Tz) -> Result<Vec<ConfigWarning>, ConfigError> {
        let mut warnings = Vec::new();
        let mut at = chrono::Utc::now().with_timezone(&tz);
        let mut fires = Vec::new();
        for _ in 0..8 {
            match cron.find_next_occurrence(&at, false) {
                Ok(next) => {
                    fires.push(next);
                    at = next;
                }
                Err(_) => break,
            }
        }
        let Some(first) = fires.first() else {
            return Err(invalid(
                "schedule.collect",
                format!(
                    "{:?} never fires (e.g. a day that does not exist)",
                    self.collect
                ),
            ));
        };
        let now = chrono::Utc::now().with_timezone(&tz);
        if *first - now > chrono::Duration::days(8) {
            warnings.push(warning(
                "schedule.collect",
                format!(
                    "{:?} next fires {}: sessions in between are not collected on time",
                    self.collect,
                    first.format("%Y-%m-%d %H:%M %Z")
                ),
            ));
        }
        let shortest = fires.windows(2).map(|w| w[1] - w[0]).min();
        if let Some(gap) = shortest.filter(|g| *g < chrono::Duration::hours(1)) {
            warnings.push(warning(
                "schedule.collect",
                format!(
                    "{:?} fires every {} s: each fire is a collection run spending Alpaca requests \
                     (a day's bars are final once, after the close; e.g. \"0 30 18 * * MON-FRI\")",
                    self.collect,
                    gap.num_seconds()
                ),
            ));
        }
        Ok(warnings)
    }
}

/// Parse a 6-field cron (seconds first), as tokio-cron-scheduler wants.
pub fn parse_cron(pattern: &str) -> Result<Cron, String> {
    let fields = pattern.split_whitespace().count();
    if fields != 6 {
        return Err(format!(
            "{pattern:?} has {fields} fields; 6 are needed: sec min hour day-of-month month day-of-week \
             (e.g. \"0 30 18 * * MON-FRI\")"
        ));
    }
    croner::parser::CronParser::builder()
        .seconds(croner::parser::Seconds::Required)
        .year(croner::parser::Year::Disallowed)
        .build()
        .parse(pattern)
        .map_err(|e| format!("{pattern:?} is not a valid cron: {e}"))
}
