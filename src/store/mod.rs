//! The data lake: date-partitioned CSV objects behind `object_store`, on
//! local disk or any S3-compatible store, chosen by `storage.url`.
//!
//! Publishing a date writes its dataset objects first and its run manifest
//! (`runs/date=D/run.json`) last. The manifest lists each object's size and
//! SHA-256, so a date is visible to readers only once it is complete, and an
//! object that was truncated, corrupted, or half-rewritten by an interrupted
//! re-run is detected and skipped (and reported) instead of being trusted.
//! Every put is atomic on both backends (local: write then rename; S3: a
//! single PUT).

//!
//! Reading is one API, [`Lake`]: dates, manifests, screens, portfolio
//! snapshots, the bar history, dataset parts for downloads. The object
//! reads under it (a manifest, an object checked against it) are private
//! to this module, so every reader applies the same rules.
//!
//! - `layout.rs`: each dataset's description (name, path, columns)
//! - `codec.rs`: its rows as CSV (records, encode, decode, the bars parser)
//! - `objects.rs`: the object store (open, raw get/put/list, documents)
//! - `publish.rs`: the write path (objects, then the manifest)
//! - `read.rs`: the verified object reads the lake is built on
//! - `lake.rs`: [`Lake`], the read API, and its per-pass memo

mod codec;
mod lake;
mod layout;
mod objects;
mod publish;
mod read;
mod url;

use std::collections::BTreeMap;

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

pub use codec::{AccountRecord, BarRecord, CsvProblem, PositionRecord, decode, encode};
pub use lake::{
    HistoryLoad, Lake, LatestScreen, Part, PartRead, PortfolioRead, PublishedScreens,
    READ_CONCURRENCY, ScreenRead, Skipped,
};
pub use layout::{Dataset, LAYOUT_VERSION, SCHEMA_PATH, parse_partition, run_manifest_path};
pub use objects::Store;
pub use url::StorageUrl;

use crate::domain::RunReport;

/// A storage failure. Messages name the store and object, never credentials.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The backend could not be reached or refused the operation.
    #[error("storage {store}: {message}")]
    Backend {
        /// The storage URL.
        store: String,
        /// What failed.
        message: String,
    },
    /// An object exists but cannot be trusted.
    #[error("{path}: {reason}")]
    Corrupt {
        /// Object path.
        path: String,
        /// What is wrong.
        reason: String,
    },
    /// The store was written by a newer dipwatch.
    #[error(
        "the store at {store} uses layout v{found}; this dipwatch understands up to v{supported}: upgrade dipwatch"
    )]
    NewerLayout {
        /// The storage URL.
        store: String,
        /// Version found.
        found: u32,
        /// Version supported.
        supported: u32,
    },
    /// Nothing was ever collected at this (local) store.
    #[error(
        "no store at {store}: nothing has been collected there yet; run `dipwatch collect` first (or point storage.url at the store)"
    )]
    Missing {
        /// The directory.
        store: String,
    },
    /// The storage settings cannot be used.
    #[error("{0}")]
    Config(String),
    /// This process may not write the store now (the writer lease).
    #[error("{0}")]
    Fenced(String),
}

/// One object listed in a manifest.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ObjectEntry {
    /// Path under the store root.
    pub path: String,
    /// Size in bytes.
    pub bytes: u64,
    /// Data rows (header excluded).
    pub rows: u64,
    /// Hex SHA-256 of the content.
    pub sha256: String,
}

/// `runs/date=D/run.json`: the record that publishes a date.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunManifest {
    /// Layout version the objects follow.
    pub layout_version: u32,
    /// The dipwatch that wrote it.
    pub dipwatch_version: String,
    /// The date.
    pub date: NaiveDate,
    /// Dataset name -> object.
    pub objects: BTreeMap<String, ObjectEntry>,
    /// What the run did.
    pub report: RunReport,
}

impl RunManifest {
    /// The object of `dataset`, if this date has one.
    pub fn object(&self, dataset: Dataset) -> Option<&ObjectEntry> {
        self.objects.get(dataset.name())
    }
}

/// One dataset object ready to publish.
#[derive(Debug, Clone)]
pub struct NewObject {
    /// Which dataset.
    pub dataset: Dataset,
    /// Encoded CSV.
    pub bytes: Vec<u8>,
    /// Data rows.
    pub rows: u64,
}

/// Published dates, and partition names that could not be read as dates.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Listing {
    /// Dates with a manifest, oldest first, up to the latest closed session.
    pub dates: Vec<NaiveDate>,
    /// Entries under `runs/` that are not `date=YYYY-MM-DD`.
    pub junk: Vec<String>,
    /// Partitions dated after the latest closed session: no run can have
    /// published them (a clock gone wrong, a hand-made or foreign object),
    /// so no reader trusts them and catch-up is not fooled by them.
    pub future: Vec<NaiveDate>,
}

impl Listing {
    /// One warning line per ignored partition (junk and future-dated), for
    /// readers to log or print.
    pub fn warnings(&self) -> Vec<String> {
        self.junk
            .iter()
            .map(|j| format!("ignoring {j}: not a date=YYYY-MM-DD partition"))
            .chain(
                self.future.iter().map(|d| {
                    format!("ignoring runs/date={d}: dated after the latest closed session")
                }),
            )
            .collect()
    }
}
/// Where the retry queue lives.
pub const RETRY_QUEUE_PATH: &str = "_retry/queue.json";
/// Where alert rules and their states live.
pub const ALERT_BOOK_PATH: &str = "alerts/book.json";
/// Where files handed out as download links live (S3 only), each removed
/// once its link has expired.
pub const SHARED_PREFIX: &str = "_downloads";

/// Lower-case hex SHA-256.
pub fn sha256_hex(bytes: &[u8]) -> String {
    use std::fmt::Write;
    Sha256::digest(bytes)
        .iter()
        .fold(String::with_capacity(64), |mut s, b| {
            let _ = write!(s, "{b:02x}");
            s
        })
}
