//! The storage layout: Hive-style date partitions, one CSV per dataset and
//! date, and a run manifest per date. Version [`LAYOUT_VERSION`] is recorded
//! in `_meta/schema.json` so a later dipwatch can migrate an older store.

use chrono::NaiveDate;
use object_store::path::Path;
use serde::Serialize;

/// Version of this layout. Bump when paths or columns change, and teach
/// the readers the previous header ([`Dataset::previous_columns`]).
///
/// - v1: the first layout.
/// - v2: `positions.csv` gains `asset_class` and `side` (appended, so a
///   query engine reading both by name sees v1 rows with them empty);
///   money cells the broker did not send are empty.
pub const LAYOUT_VERSION: u32 = 2;

/// Where the layout version is recorded.
pub const SCHEMA_PATH: &str = "_meta/schema.json";

/// A date-partitioned CSV dataset.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, clap::ValueEnum)]
pub enum Dataset {
    /// Daily bars of every symbol for the date.
    Bars,
    /// The ranked drawdown screen for the date.
    Drawdowns,
    /// Open positions at the date's snapshot.
    Positions,
    /// The account snapshot.
    Account,
}

impl Dataset {
    /// All datasets, in publish order.
    pub const ALL: [Dataset; 4] = [Self::Bars, Self::Drawdowns, Self::Positions, Self::Account];

    /// Directory and file stem.
    pub fn name(self) -> &'static str {
        match self {
            Self::Bars => "bars",
            Self::Drawdowns => "drawdowns",
            Self::Positions => "positions",
            Self::Account => "account",
        }
    }

    /// The CSV header, exactly (DESIGN.md contract; the original system's names).
    pub fn columns(self) -> &'static [&'static str] {
        match self {
            Self::Bars => &[
                "date",
                "symbol",
                "open",
                "high",
                "low",
                "close",
                "volume",
                "trade_count",
                "vwap",
            ],
            Self::Drawdowns => &[
                "date",
                "symbol",
                "current_price",
                "peak_price",
                "peak_date",
                "drawdown_pct",
                "days_since_peak",
                "volume",
                "rank",
            ],
            Self::Positions => &[
                "date",
                "symbol",
                "quantity",
                "avg_entry_price",
                "current_price",
                "unrealized_return_pct",
                "market_value",
                "unrealized_pl",
                "asset_class",
                "side",
            ],
            Self::Account => &[
                "date",
                "equity",
                "cash",
                "buying_power",
                "status",
                "currency",
                "last_equity",
                "long_market_value",
                "daytrade_count",
                "pattern_day_trader",
            ],
        }
    }

    /// The header line, `columns` joined and ended by a newline: the first
    /// line of this dataset's objects and of every CSV handed out of it
    /// (`export`, `/download`, the dashboard's `/screen.csv`).
    pub fn header(self) -> String {
        let mut line = self.columns().join(",");
        line.push('\n');
        line
    }

    /// The header an older layout wrote for this dataset, if it differs:
    /// still read, so a store written by the previous version stays
    /// readable without a rewrite. (v1 `positions.csv`: no `asset_class`,
    /// no `side`.)
    pub fn previous_columns(self) -> Option<&'static [&'static str]> {
        match self {
            Self::Positions => Some(&self.columns()[..8]),
            Self::Bars | Self::Drawdowns | Self::Account => None,
        }
    }

    /// `NAME/date=YYYY-MM-DD/NAME.csv`.
    pub fn path(self, date: NaiveDate) -> Path {
        Path::from(format!("{0}/date={date}/{0}.csv", self.name()))
    }
}

/// `runs/date=YYYY-MM-DD/run.json`: the run manifest, written last.
pub fn run_manifest_path(date: NaiveDate) -> Path {
    Path::from(format!("runs/date={date}/run.json"))
}

/// Prefix under which run manifests are listed.
pub const RUNS_PREFIX: &str = "runs";

/// Parse a partition directory name `date=YYYY-MM-DD`.
pub fn parse_partition(part: &str) -> Option<NaiveDate> {
    part.strip_prefix("date=")?.parse().ok()
}

/// The content of `_meta/schema.json`.
#[derive(Debug, Serialize)]
pub struct SchemaDoc {
    /// [`LAYOUT_VERSION`].
    pub layout_version: u32,
    /// Dataset name -> path pattern and columns.
    pub datasets: std::collections::BTreeMap<&'static str, DatasetDoc>,
    /// Path pattern of the run manifests.
    pub runs: &'static str,
    /// Rule readers follow.
    pub note: &'static str,
}

/// One dataset in [`SchemaDoc`].
#[derive(Debug, Serialize)]
pub struct DatasetDoc {
    /// Path pattern.
    pub path: String,
    /// CSV header.
    pub columns: &'static [&'static str],
}

impl SchemaDoc {
    /// The document for this build's layout.
    pub fn current() -> Self {
        Self {
            layout_version: LAYOUT_VERSION,
            datasets: Dataset::ALL
                .iter()
                .map(|d| {
                    (
                        d.name(),
                        DatasetDoc {
                            path: format!("{0}/date={{date}}/{0}.csv", d.name()),
                            columns: d.columns(),
                        },
                    )
                })
                .collect(),
            runs: "runs/date={date}/run.json",
            note: "A date is published when its run.json exists; run.json lists each object's size and sha256, \
                   and an object that does not match is not trusted.",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_are_hive_partitions() {
        let d: NaiveDate = "2026-03-09".parse().unwrap();
        assert_eq!(
            Dataset::Drawdowns.path(d).as_ref(),
            "drawdowns/date=2026-03-09/drawdowns.csv"
        );
        assert_eq!(
            run_manifest_path(d).as_ref(),
            "runs/date=2026-03-09/run.json"
        );
        assert_eq!(parse_partition("date=2026-03-09"), Some(d));
        assert_eq!(parse_partition("date=garbage"), None);
    }

    #[test]
    fn the_v1_positions_header_is_the_v2_one_without_the_new_columns() {
        assert_eq!(
            Dataset::Positions.previous_columns(),
            Some(
                &[
                    "date",
                    "symbol",
                    "quantity",
                    "avg_entry_price",
                    "current_price",
                    "unrealized_return_pct",
                    "market_value",
                    "unrealized_pl",
                ][..]
            )
        );
    }
}
