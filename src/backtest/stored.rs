//! Backtests kept in the lake, `backtests/id=<id>/`: `summary.json`,
//! `equity.csv` and `trades.csv`. The one place that writes and reads
//! them (the backtester itself is pure): `dipwatch backtest` and the bot
//! save runs here, `--show` and the dashboard read them back. Ids are
//! checked before they become a path, so no request names another object.

use object_store::path::Path;

use super::Trade;
use super::job::Outcome;
use super::report::{self, EquityRow, Summary};
use crate::store::{Store, StoreError};

/// Where runs are kept.
pub const PREFIX: &str = "backtests";

/// Why a stored run could not be read.
#[derive(Debug, thiserror::Error)]
pub enum ReadError {
    /// Not an id a run could have.
    #[error("{0:?} is not a backtest id (hex digits, as printed after a run)")]
    BadId(String),
    /// No such run.
    #[error("no backtest {0} is stored")]
    Missing(String),
    /// Part of the run is missing or cannot be read.
    #[error("backtest {id} is damaged: {reason}")]
    Damaged {
        /// The run.
        id: String,
        /// What is wrong.
        reason: String,
    },
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Whether `id` can be a run's id: 1 to 64 hex digits (ours are 16), so it
/// is safe in a path and a URL.
pub fn valid_id(id: &str) -> bool {
    (1..=64).contains(&id.len()) && id.bytes().all(|b| b.is_ascii_hexdigit())
}

fn dir(id: &str) -> String {
    format!("{PREFIX}/id={id}")
}

/// Write a run: the CSVs, then the summary, so a listed summary always
/// has its curve and trades.
pub async fn save(store: &Store, outcome: &Outcome) -> Result<(), StoreError> {
    let d = dir(&outcome.summary.id);
    let encode = |r: Result<Vec<u8>, csv::Error>| {
        r.map_err(|e| StoreError::Corrupt {
            path: d.clone(),
            reason: e.to_string(),
        })
    };
    store
        .put(
            &Path::from(format!("{d}/equity.csv")),
            encode(report::equity_csv(&outcome.equity))?,
        )
        .await?;
    store
        .put(
            &Path::from(format!("{d}/trades.csv")),
            encode(report::trades_csv(&outcome.trades))?,
        )
        .await?;
    store
        .write_doc(&format!("{d}/summary.json"), &outcome.summary)
        .await
}

/// Read a stored run whole.
pub async fn read(store: &Store, id: &str) -> Result<Outcome, ReadError> {
    let summary = read_summary(store, id).await?;
    let d = dir(id);
    let damaged = |reason: String| ReadError::Damaged {
        id: id.to_string(),
        reason,
    };
    let bytes = |name: &'static str| {
        let path = Path::from(format!("{d}/{name}"));
        async move {
            store
                .get(&path)
                .await?
                .ok_or_else(|| damaged(format!("{name} is missing")))
        }
    };
    let equity: Vec<EquityRow> = report::from_csv(&bytes("equity.csv").await?)
        .map_err(|e| damaged(format!("equity.csv: {e}")))?;
    let trades: Vec<Trade> = report::from_csv(&bytes("trades.csv").await?)
        .map_err(|e| damaged(format!("trades.csv: {e}")))?;
    Ok(Outcome {
        summary,
        equity,
        trades,
    })
}

/// Read a stored run's summary only.
pub async fn read_summary(store: &Store, id: &str) -> Result<Summary, ReadError> {
    if !valid_id(id) {
        return Err(ReadError::BadId(id.to_string()));
    }
    match store.read_doc(&format!("{}/summary.json", dir(id))).await {
        Ok(Some(s)) => Ok(s),
        Ok(None) => Err(ReadError::Missing(id.to_string())),
        Err(StoreError::Corrupt { reason, .. }) => Err(ReadError::Damaged {
            id: id.to_string(),
            reason: format!("summary.json: {reason}"),
        }),
        Err(e) => Err(e.into()),
    }
}

/// How many stored runs are kept, and for how long (`backtest.keep_runs`,
/// `backtest.keep_days`; 0 is no limit).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Retention {
    /// Runs kept, newest first.
    pub keep_runs: usize,
    /// Days a run is kept.
    pub keep_days: u32,
}

impl Retention {
    /// From `[backtest]`.
    pub fn of(settings: &crate::config::BacktestSettings) -> Self {
        Self {
            keep_runs: settings.keep_runs,
            keep_days: settings.keep_days,
        }
    }
}

/// The runs `retention` no longer keeps at `now`, of `runs` (id and when
/// its summary was written): past the newest `keep_runs`, or older than
/// `keep_days`.
pub fn expired(
    runs: &[(String, chrono::DateTime<chrono::Utc>)],
    retention: Retention,
    now: chrono::DateTime<chrono::Utc>,
) -> Vec<String> {
    let mut sorted: Vec<&(String, chrono::DateTime<chrono::Utc>)> = runs.iter().collect();
    sorted.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    let oldest = (retention.keep_days > 0)
        .then(|| now - chrono::Duration::days(i64::from(retention.keep_days)));
    sorted
        .iter()
        .enumerate()
        .filter(|(i, (_, written))| {
            (retention.keep_runs > 0 && *i >= retention.keep_runs)
                || oldest.is_some_and(|o| *written < o)
        })
        .map(|(_, (id, _))| id.clone())
        .collect()
}

/// Delete the runs `retention` no longer keeps: the summary first, so a
/// run half deleted is no longer listed. How many were deleted.
pub async fn prune(store: &Store, retention: Retention) -> Result<usize, StoreError> {
    let runs = summaries(store).await?;
    let gone = expired(&runs, retention, chrono::Utc::now());
    for id in &gone {
        let d = dir(id);
        for file in ["summary.json", "equity.csv", "trades.csv"] {
            store.delete(&Path::from(format!("{d}/{file}"))).await?;
        }
    }
    if !gone.is_empty() {
        tracing::info!(
            deleted = gone.len(),
            "old stored backtests deleted (backtest.keep_runs, keep_days)"
        );
    }
    Ok(gone.len())
}

/// Every stored run's id and when its summary was written.
async fn summaries(
    store: &Store,
) -> Result<Vec<(String, chrono::DateTime<chrono::Utc>)>, StoreError> {
    Ok(store
        .list_objects(PREFIX)
        .await?
        .into_iter()
        .filter_map(|(path, written)| {
            let mut parts = path.parts().skip(1);
            let (Some(part), Some(file), None) = (parts.next(), parts.next(), parts.next()) else {
                return None;
            };
            let id = part.as_ref().strip_prefix("id=")?;
            (file.as_ref() == "summary.json" && valid_id(id)).then(|| (id.to_string(), written))
        })
        .collect())
}

/// One entry of [`list`].
#[derive(Debug)]
pub struct Listed {
    /// The run's id.
    pub id: String,
    /// When its summary was written.
    pub written: chrono::DateTime<chrono::Utc>,
    /// The summary, or why it cannot be read.
    pub summary: Result<Summary, ReadError>,
}

/// The stored runs, newest first, at most `limit` (each summary read, a
/// damaged one reported in place rather than failing the list).
pub async fn list(store: &Store, limit: usize) -> Result<Vec<Listed>, StoreError> {
    use futures::StreamExt;
    let mut runs = summaries(store).await?;
    runs.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    runs.truncate(limit);
    Ok(futures::stream::iter(runs)
        .map(|(id, written)| async move {
            let summary = read_summary(store, &id).await;
            Listed {
                id,
                written,
                summary,
            }
        })
        .buffered(crate::store::READ_CONCURRENCY)
        .collect()
        .await)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retention_keeps_the_newest_runs_within_the_age() {
        let now = chrono::DateTime::from_timestamp(1_800_000_000, 0).unwrap();
        let days = |d: i64| now - chrono::Duration::days(d);
        let runs: Vec<(String, chrono::DateTime<chrono::Utc>)> =
            [("a", 0), ("b", 1), ("c", 5), ("d", 40)]
                .iter()
                .map(|(id, d)| (id.to_string(), days(*d)))
                .collect();
        let keep = |keep_runs, keep_days| {
            expired(
                &runs,
                Retention {
                    keep_runs,
                    keep_days,
                },
                now,
            )
        };
        assert_eq!(keep(2, 0), vec!["c", "d"]);
        assert_eq!(keep(0, 30), vec!["d"]);
        assert_eq!(keep(3, 3), vec!["c", "d"]);
        assert!(keep(0, 0).is_empty(), "no limits: everything kept");
    }
}
