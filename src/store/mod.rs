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

mod codec;
mod layout;
mod url;

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use chrono::NaiveDate;
use object_store::{ObjectStore, PutPayload, path::Path};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

pub use codec::{
    AccountRecord, BarRecord, CsvProblem, PositionRecord, decode, encode, rows_in_current_layout,
};
pub use layout::{
    Dataset, LAYOUT_VERSION, SCHEMA_PATH, SchemaDoc, parse_partition, run_manifest_path,
};
pub use url::StorageUrl;

use crate::domain::{DrawdownRow, RunReport};

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

/// The data lake.
#[derive(Clone)]
pub struct Store {
    inner: Arc<dyn ObjectStore>,
    url: String,
    /// The directory of a local store (for housekeeping).
    local_root: Option<std::path::PathBuf>,
    /// An S3 store signs download links: the client and the prefix the
    /// store lives under.
    signer: Option<(object_store::aws::AmazonS3, String)>,
    /// Writes pass only while this process holds the writer lease
    /// (`None`: no lease, as for tests and `lease.enabled = false`).
    fence: Option<crate::lease::Fence>,
}

impl std::fmt::Debug for Store {
    // The URL only: the backend's configuration is none of a log's business.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Store").field("url", &self.url).finish()
    }
}

impl Store {
    /// Open the store at `url`. Local directories are created; S3 settings
    /// come from the standard `AWS_*` variables, then `options`. Refuses a
    /// store written with a newer layout.
    pub async fn open(
        url: &StorageUrl,
        options: &BTreeMap<String, String>,
    ) -> Result<Self, StoreError> {
        let mut signer = None;
        let inner: Arc<dyn ObjectStore> = match url {
            StorageUrl::Local(dir) => {
                std::fs::create_dir_all(dir).map_err(|e| {
                    StoreError::Config(format!("storage.url: cannot create {}: {e}", dir.display()))
                })?;
                let fs =
                    object_store::local::LocalFileSystem::new_with_prefix(dir).map_err(|e| {
                        StoreError::Config(format!("storage.url: {}: {e}", dir.display()))
                    })?;
                Arc::new(fs)
            }
            StorageUrl::S3 { bucket, prefix } => {
                let s3 = s3_builder(bucket, options)?
                    .build()
                    .map_err(|e| StoreError::Config(format!("storage: {e}")))?;
                signer = Some((s3.clone(), prefix.clone()));
                if prefix.is_empty() {
                    Arc::new(s3)
                } else {
                    Arc::new(object_store::prefix::PrefixStore::new(s3, prefix.as_str()))
                }
            }
        };
        let store = Self {
            inner,
            url: url.to_string(),
            local_root: match url {
                StorageUrl::Local(dir) => Some(dir.clone()),
                StorageUrl::S3 { .. } => None,
            },
            signer,
            fence: None,
        };
        store.check_layout().await?;
        Ok(store)
    }

    /// Open a store only to read it: a local directory that does not exist
    /// is an error (nothing was collected there), never created empty.
    pub async fn open_existing(
        url: &StorageUrl,
        options: &BTreeMap<String, String>,
    ) -> Result<Self, StoreError> {
        if let StorageUrl::Local(dir) = url
            && !dir.is_dir()
        {
            return Err(StoreError::Missing {
                store: dir.display().to_string(),
            });
        }
        Self::open(url, options).await
    }

    /// Write a small object and delete it again: proves the store takes
    /// writes (permissions, a read-only bucket, a file in the way) before a
    /// run spends the request budget on bars it could not publish. One
    /// fixed name, so a probe left by a killed process is overwritten and
    /// removed by the next one; a probe another process removed first is
    /// fine. The probe is a whole JSON document like the store's other
    /// documents, so one a kill left behind reads as ours, not as damage.
    pub async fn probe_write(&self) -> Result<(), StoreError> {
        let path = Path::from("_meta/write-probe.json");
        self.put(&path, b"{\"dipwatch\":\"write probe\"}\n".to_vec())
            .await?;
        match self.inner.delete(&path).await {
            Ok(()) | Err(object_store::Error::NotFound { .. }) => Ok(()),
            Err(e) => Err(self.backend(&format!("delete {path}"), e)),
        }
    }

    /// Wrap an existing object store (tests, embedding).
    pub fn from_object_store(inner: Arc<dyn ObjectStore>, url: impl Into<String>) -> Self {
        Self {
            inner,
            url: url.into(),
            local_root: None,
            signer: None,
            fence: None,
        }
    }

    /// This store with every write behind `fence` (the writer lease).
    pub fn fenced(mut self, fence: crate::lease::Fence) -> Self {
        self.fence = Some(fence);
        self
    }

    /// Whether this process may write now (always, without a fence).
    pub fn check_fence(&self) -> Result<(), StoreError> {
        match &self.fence {
            Some(f) => f.check().map_err(StoreError::Fenced),
            None => Ok(()),
        }
    }

    /// Where the writer lease lives: the lease's own conditional writes,
    /// which the fence does not stop.
    pub fn lease_target(&self) -> crate::lease::LeaseTarget {
        match &self.local_root {
            Some(root) => crate::lease::LeaseTarget::Local(root.clone()),
            None => crate::lease::LeaseTarget::Remote(self.inner.clone()),
        }
    }

    /// True when the store can hand out download links (S3).
    pub fn can_share(&self) -> bool {
        self.signer.is_some()
    }

    /// Write `bytes` as `_downloads/NAME` and return a presigned link that
    /// reads it for `ttl` (an error on a store that cannot sign: local
    /// disk; see [`Store::can_share`]).
    /// Links older than `ttl` are removed first, so shared files do not pile
    /// up. The link carries the access key id and a signature, never the
    /// secret key.
    pub async fn share(
        &self,
        name: &str,
        bytes: Vec<u8>,
        ttl: Duration,
    ) -> Result<::url::Url, StoreError> {
        use object_store::signer::Signer;
        let Some((s3, prefix)) = &self.signer else {
            return Err(StoreError::Config(format!(
                "{}: only an S3 store can hand out download links",
                self.url
            )));
        };
        self.check_fence()?;
        self.expire_shared(ttl).await;
        let path = Path::from(format!("{SHARED_PREFIX}/{name}"));
        self.put(&path, bytes).await?;
        let full = if prefix.is_empty() {
            path
        } else {
            Path::from(format!("{prefix}/{path}"))
        };
        s3.signed_url(reqwest::Method::GET, &full, ttl)
            .await
            .map_err(|e| self.backend("signing a download link", e))
    }

    /// Remove shared files older than `age` (best effort: a failure is
    /// logged and retried with the next link).
    async fn expire_shared(&self, age: Duration) {
        use futures::TryStreamExt;
        let prefix = Path::from(SHARED_PREFIX);
        let cutoff = chrono::Utc::now() - chrono::Duration::from_std(age).unwrap_or_default();
        let old: Result<Vec<Path>, _> = self
            .inner
            .list(Some(&prefix))
            .try_filter_map(|m| async move { Ok((m.last_modified < cutoff).then_some(m.location)) })
            .try_collect()
            .await;
        match old {
            Ok(paths) => {
                for p in paths {
                    if let Err(e) = self.inner.delete(&p).await {
                        tracing::warn!(path = %p, error = %e, "could not remove an expired download");
                    }
                }
            }
            Err(e) => tracing::warn!(error = %e, "could not list expired downloads"),
        }
    }

    /// Remove the staging files (`name#N`) a killed writer left in a local
    /// store, if older than `min_age` (so a concurrent writer's file in
    /// flight is never touched). Readers never see them; this only frees
    /// the disk. Returns how many were removed.
    pub fn sweep_staging(&self, min_age: Duration) -> usize {
        let Some(root) = &self.local_root else {
            return 0;
        };
        let mut removed = 0;
        let mut dirs = vec![root.clone()];
        while let Some(dir) = dirs.pop() {
            let Ok(entries) = std::fs::read_dir(&dir) else {
                continue;
            };
            for entry in entries.flatten() {
                let path = entry.path();
                let Ok(meta) = entry.metadata() else {
                    continue;
                };
                if meta.is_dir() {
                    dirs.push(path);
                    continue;
                }
                let name = entry.file_name();
                let staged = name
                    .to_str()
                    .and_then(|n| n.rsplit_once('#'))
                    .is_some_and(|(_, n)| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()));
                let old = meta
                    .modified()
                    .ok()
                    .and_then(|m| m.elapsed().ok())
                    .is_some_and(|age| age >= min_age);
                if staged && old && std::fs::remove_file(&path).is_ok() {
                    removed += 1;
                }
            }
        }
        if removed > 0 {
            tracing::info!(
                removed,
                "removed staging files left by an interrupted writer"
            );
        }
        removed
    }

    /// The storage URL, for messages.
    pub fn url(&self) -> &str {
        &self.url
    }

    fn backend(&self, what: &str, e: object_store::Error) -> StoreError {
        // The root cause (connection refused, no space left, ...) sits at the
        // end of the source chain; the top message alone often hides it.
        let mut root = None;
        let mut source = std::error::Error::source(&e);
        while let Some(s) = source {
            root = Some(s.to_string());
            source = s.source();
        }
        let message = match root {
            Some(r) if !e.to_string().contains(&r) => format!("{what}: {e} ({r})"),
            _ => format!("{what}: {e}"),
        };
        StoreError::Backend {
            store: self.url.clone(),
            message,
        }
    }

    /// The layout version `_meta/schema.json` records, `None` without one.
    async fn stored_layout(&self) -> Result<Option<u32>, StoreError> {
        let Some(bytes) = self.get(&Path::from(SCHEMA_PATH)).await? else {
            return Ok(None);
        };
        #[derive(Deserialize)]
        struct Version {
            layout_version: u32,
        }
        let v: Version = serde_json::from_slice(&bytes).map_err(|e| StoreError::Corrupt {
            path: SCHEMA_PATH.into(),
            reason: format!("not a schema document: {e}"),
        })?;
        Ok(Some(v.layout_version))
    }

    /// Refuse a store written with a newer layout. An older one is read as
    /// it is: each reader accepts the previous layout's header.
    async fn check_layout(&self) -> Result<(), StoreError> {
        match self.stored_layout().await? {
            Some(found) if found > LAYOUT_VERSION => Err(StoreError::NewerLayout {
                store: self.url.clone(),
                found,
                supported: LAYOUT_VERSION,
            }),
            _ => Ok(()),
        }
    }

    /// Write `_meta/schema.json` unless this layout's is already there (a
    /// store of an older layout gets the new document with its first new
    /// date: from then on it holds objects of this layout too, and an older
    /// dipwatch must not misread them).
    async fn ensure_schema(&self) -> Result<(), StoreError> {
        let path = Path::from(SCHEMA_PATH);
        if self
            .stored_layout()
            .await?
            .is_some_and(|v| v >= LAYOUT_VERSION)
        {
            return Ok(());
        }
        let mut doc =
            serde_json::to_vec_pretty(&SchemaDoc::current()).map_err(|e| StoreError::Corrupt {
                path: SCHEMA_PATH.into(),
                reason: e.to_string(),
            })?;
        doc.push(b'\n');
        self.put(&path, doc).await
    }

    /// Put one object whole.
    pub async fn put(&self, path: &Path, bytes: Vec<u8>) -> Result<(), StoreError> {
        self.check_fence()?;
        self.inner
            .put(path, PutPayload::from(bytes))
            .await
            .map(|_| ())
            .map_err(|e| self.backend(&format!("write {path}"), e))
    }

    /// Delete one object (an absent one is already deleted).
    pub async fn delete(&self, path: &Path) -> Result<(), StoreError> {
        self.check_fence()?;
        match self.inner.delete(path).await {
            Ok(()) | Err(object_store::Error::NotFound { .. }) => Ok(()),
            Err(e) => Err(self.backend(&format!("delete {path}"), e)),
        }
    }

    /// Every object under `prefix`, with when it was last written, in no
    /// particular order (a missing prefix is an empty list).
    pub async fn list_objects(
        &self,
        prefix: &str,
    ) -> Result<Vec<(Path, chrono::DateTime<chrono::Utc>)>, StoreError> {
        use futures::TryStreamExt;
        self.inner
            .list(Some(&Path::from(prefix)))
            .map_ok(|m| (m.location, m.last_modified))
            .try_collect()
            .await
            .map_err(|e| self.backend(&format!("list {prefix}/"), e))
    }

    /// Get one object, `None` if absent.
    pub async fn get(&self, path: &Path) -> Result<Option<Bytes>, StoreError> {
        match self.inner.get(path).await {
            Ok(r) => r
                .bytes()
                .await
                .map(Some)
                .map_err(|e| self.backend(&format!("read {path}"), e)),
            Err(object_store::Error::NotFound { .. }) => Ok(None),
            Err(e) => Err(self.backend(&format!("read {path}"), e)),
        }
    }

    /// Publish a date: each object, then the manifest listing them (plus
    /// `carried` entries of earlier runs that this run could not renew,
    /// e.g. a positions snapshot when re-running a past date).
    pub async fn publish(
        &self,
        date: NaiveDate,
        objects: Vec<NewObject>,
        carried: BTreeMap<String, ObjectEntry>,
        report: RunReport,
    ) -> Result<RunManifest, StoreError> {
        self.check_fence()?;
        self.ensure_schema().await?;
        self.keep_damaged_aside(date).await?;
        let mut entries = carried;
        for obj in objects {
            let path = obj.dataset.path(date);
            let entry = ObjectEntry {
                path: path.to_string(),
                bytes: obj.bytes.len() as u64,
                rows: obj.rows,
                sha256: sha256_hex(&obj.bytes),
            };
            self.put(&path, obj.bytes).await?;
            entries.insert(obj.dataset.name().to_string(), entry);
        }
        let manifest = RunManifest {
            layout_version: LAYOUT_VERSION,
            dipwatch_version: env!("CARGO_PKG_VERSION").to_string(),
            date,
            objects: entries,
            report,
        };
        let path = run_manifest_path(date);
        let mut json = serde_json::to_vec_pretty(&manifest).map_err(|e| StoreError::Corrupt {
            path: path.to_string(),
            reason: e.to_string(),
        })?;
        json.push(b'\n');
        self.put(&path, json).await?;
        Ok(manifest)
    }

    /// Before `date` is published again: every object its manifest lists
    /// that no longer matches it (truncated, corrupted, changed by hand),
    /// and a manifest that cannot be read, is copied aside as
    /// `PATH.damaged-YYYYMMDDTHHMMSSZ` and the copy logged, so rewriting
    /// the date does not destroy the evidence. Readers never see the copies
    /// (no manifest lists them; they do not end in `.csv`). A copy that
    /// fails stops the publication: nothing is overwritten unkept.
    async fn keep_damaged_aside(&self, date: NaiveDate) -> Result<(), StoreError> {
        let mut damaged: Vec<(String, String)> = Vec::new();
        match self.manifest(date).await {
            Ok(None) => {}
            Ok(Some(m)) => {
                for dataset in Dataset::ALL {
                    if let Err(StoreError::Corrupt { path, reason }) =
                        self.read_verified(&m, dataset).await
                    {
                        damaged.push((path, reason));
                    }
                }
            }
            Err(StoreError::Corrupt { path, reason }) => damaged.push((path, reason)),
            Err(e) => return Err(e),
        }
        let stamp = chrono::Utc::now().format("%Y%m%dT%H%M%SZ");
        for (path, reason) in damaged {
            let from = Path::from(path.as_str());
            let aside = Path::from(format!("{path}.damaged-{stamp}"));
            match self.inner.copy(&from, &aside).await {
                Ok(()) => {
                    tracing::warn!(%date, object = %path, kept_as = %aside, %reason, "damaged object kept aside before the date is rewritten");
                }
                // Listed but gone: there is nothing to keep.
                Err(object_store::Error::NotFound { .. }) => {}
                Err(e) => return Err(self.backend(&format!("keep {path} aside"), e)),
            }
        }
        Ok(())
    }

    /// The manifest of `date`: `None` if the date is not published, an
    /// error if it exists but cannot be read.
    pub async fn manifest(&self, date: NaiveDate) -> Result<Option<RunManifest>, StoreError> {
        let path = run_manifest_path(date);
        let Some(bytes) = self.get(&path).await? else {
            return Ok(None);
        };
        let m: RunManifest = serde_json::from_slice(&bytes).map_err(|e| StoreError::Corrupt {
            path: path.to_string(),
            reason: format!("unreadable manifest: {e}"),
        })?;
        if m.layout_version > LAYOUT_VERSION {
            return Err(StoreError::NewerLayout {
                store: self.url.clone(),
                found: m.layout_version,
                supported: LAYOUT_VERSION,
            });
        }
        if m.date != date {
            return Err(StoreError::Corrupt {
                path: path.to_string(),
                reason: format!("manifest is for {}, not {date}", m.date),
            });
        }
        Ok(Some(m))
    }

    /// Every published date (a `runs/date=D/` partition), oldest first,
    /// up to the latest session that has closed now (later ones are listed
    /// as `future`).
    pub async fn published_dates(&self) -> Result<Listing, StoreError> {
        self.published_dates_until(crate::market::calendar::latest_closed_session(
            chrono::Utc::now(),
        ))
        .await
    }

    /// [`Store::published_dates`] with dates after `latest` set apart.
    pub async fn published_dates_until(
        &self,
        latest: Option<NaiveDate>,
    ) -> Result<Listing, StoreError> {
        use futures::TryStreamExt;
        // Every object under runs/, not its "directories": a date is
        // published by its run.json, and a partition holding anything else
        // (a write killed before its rename left `run.json#N` on local
        // disk; a damaged manifest kept aside) publishes nothing.
        let objects: Vec<object_store::ObjectMeta> = self
            .inner
            .list(Some(&Path::from(layout::RUNS_PREFIX)))
            .try_collect()
            .await
            .map_err(|e| self.backend("list runs/", e))?;
        let mut listing = Listing::default();
        let mut seen_junk = std::collections::BTreeSet::new();
        for meta in objects {
            let mut parts = meta.location.parts().skip(1);
            let (Some(part), Some(file), None) = (parts.next(), parts.next(), parts.next()) else {
                continue;
            };
            let Some(d) = parse_partition(part.as_ref()) else {
                if seen_junk.insert(part.as_ref().to_string()) {
                    listing
                        .junk
                        .push(format!("{}/{}", layout::RUNS_PREFIX, part.as_ref()));
                }
                continue;
            };
            if file.as_ref() != "run.json" {
                continue;
            }
            if latest.is_some_and(|l| d > l) {
                listing.future.push(d);
            } else {
                listing.dates.push(d);
            }
        }
        listing.dates.sort_unstable();
        listing.future.sort_unstable();
        Ok(listing)
    }

    /// The bytes of `dataset` for the manifest's date, checked against the
    /// manifest: `None` if the date has no such object, `Corrupt` if the
    /// object is missing, truncated or changed.
    pub async fn read_verified(
        &self,
        manifest: &RunManifest,
        dataset: Dataset,
    ) -> Result<Option<Bytes>, StoreError> {
        let Some(entry) = manifest.object(dataset) else {
            return Ok(None);
        };
        let bytes = self.read_listed(entry).await?;
        verify_object(entry, &bytes)?;
        Ok(Some(bytes))
    }

    /// The bytes of an object a manifest lists, not yet checked against it
    /// (readers that check on another thread call [`verify_object`]).
    pub async fn read_listed(&self, entry: &ObjectEntry) -> Result<Bytes, StoreError> {
        let path = Path::from(entry.path.as_str());
        self.get(&path).await?.ok_or_else(|| StoreError::Corrupt {
            path: entry.path.clone(),
            reason: "listed in the run manifest but missing".into(),
        })
    }

    /// Verified and decoded rows of `dataset` for a published date.
    pub async fn read_rows<R: serde::de::DeserializeOwned>(
        &self,
        manifest: &RunManifest,
        dataset: Dataset,
    ) -> Result<Option<Vec<R>>, StoreError> {
        let Some(bytes) = self.read_verified(manifest, dataset).await? else {
            return Ok(None);
        };
        decode(dataset, &bytes)
            .map(Some)
            .map_err(|e| StoreError::Corrupt {
                path: dataset.path(manifest.date).to_string(),
                reason: e.0,
            })
    }

    /// The drawdown screen of a published date.
    pub async fn drawdowns(&self, manifest: &RunManifest) -> Result<Vec<DrawdownRow>, StoreError> {
        self.read_rows(manifest, Dataset::Drawdowns)
            .await?
            .ok_or_else(|| StoreError::Corrupt {
                path: run_manifest_path(manifest.date).to_string(),
                reason: "published date without a drawdowns object".into(),
            })
    }
}

/// Check an object's bytes against its manifest entry (size and SHA-256):
/// `Corrupt` when truncated, corrupted or rewritten by an interrupted run.
pub fn verify_object(entry: &ObjectEntry, bytes: &[u8]) -> Result<(), StoreError> {
    if bytes.len() as u64 != entry.bytes || sha256_hex(bytes) != entry.sha256 {
        return Err(StoreError::Corrupt {
            path: entry.path.clone(),
            reason: format!(
                "content does not match the run manifest ({} bytes, expected {}): truncated, corrupted, \
                 or rewritten by an interrupted run",
                bytes.len(),
                entry.bytes
            ),
        });
    }
    Ok(())
}

/// Where the retry queue lives.
pub const RETRY_QUEUE_PATH: &str = "_retry/queue.json";
/// Where alert rules and their states live.
pub const ALERT_BOOK_PATH: &str = "alerts/book.json";
/// Where files handed out as download links live (S3 only), each removed
/// once its link has expired.
pub const SHARED_PREFIX: &str = "_downloads";

impl Store {
    /// A JSON document of ours (queue, alerts): `None` when absent. A
    /// corrupt document is an error, so the caller can leave it in place
    /// rather than overwrite it.
    pub async fn read_doc<T: serde::de::DeserializeOwned>(
        &self,
        path: &str,
    ) -> Result<Option<T>, StoreError> {
        let Some(bytes) = self.get(&Path::from(path)).await? else {
            return Ok(None);
        };
        serde_json::from_slice(&bytes)
            .map(Some)
            .map_err(|e| StoreError::Corrupt {
                path: path.into(),
                reason: format!("unreadable document: {e}"),
            })
    }

    /// Replace a JSON document whole (one atomic put).
    pub async fn write_doc<T: Serialize>(&self, path: &str, doc: &T) -> Result<(), StoreError> {
        let mut json = serde_json::to_vec_pretty(doc).map_err(|e| StoreError::Corrupt {
            path: path.into(),
            reason: e.to_string(),
        })?;
        json.push(b'\n');
        self.put(&Path::from(path), json).await
    }

    /// The retry queue (empty when there is none).
    pub async fn retry_queue(&self) -> Result<crate::retry_queue::RetryQueue, StoreError> {
        Ok(self.read_doc(RETRY_QUEUE_PATH).await?.unwrap_or_default())
    }

    /// Replace the retry queue.
    pub async fn put_retry_queue(
        &self,
        queue: &crate::retry_queue::RetryQueue,
    ) -> Result<(), StoreError> {
        self.write_doc(RETRY_QUEUE_PATH, queue).await
    }
}

/// An S3 builder from the standard `AWS_*` environment, then `options`
/// (object_store's key names), with bounded retries so an outage surfaces
/// as an error in seconds rather than minutes.
fn s3_builder(
    bucket: &str,
    options: &BTreeMap<String, String>,
) -> Result<object_store::aws::AmazonS3Builder, StoreError> {
    use object_store::ClientConfigKey;
    use object_store::aws::{AmazonS3Builder, AmazonS3ConfigKey};
    let retry = object_store::RetryConfig {
        max_retries: 3,
        retry_timeout: Duration::from_secs(20),
        ..Default::default()
    };
    // Timeouts as single keys: `with_client_options` would replace the
    // client settings `from_env` just read (AWS_ALLOW_HTTP among them).
    let mut builder = AmazonS3Builder::from_env()
        .with_bucket_name(bucket)
        .with_retry(retry)
        .with_config(AmazonS3ConfigKey::Client(ClientConfigKey::Timeout), "30s")
        .with_config(
            AmazonS3ConfigKey::Client(ClientConfigKey::ConnectTimeout),
            "5s",
        );
    for (key, value) in options {
        let k: AmazonS3ConfigKey = key.parse().map_err(|_| {
            StoreError::Config(format!(
                "storage.options.{key}: not an S3 option object_store knows"
            ))
        })?;
        builder = builder.with_config(k, value);
    }
    Ok(builder)
}

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
