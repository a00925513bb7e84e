//! The store audit shared by the crash and outage suites: read every
//! object of a local store and list every way it would break a reader's
//! trust, and compare a store with the one an uninterrupted run produced.

#![allow(dead_code)]

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::sync::Arc;

use chrono::NaiveDate;
use dipwatch::domain::DrawdownRow;
use dipwatch::store::{
    AccountRecord, BarRecord, Dataset, LAYOUT_VERSION, Lake, PartRead, PositionRecord,
    RETRY_QUEUE_PATH, RunManifest, SCHEMA_PATH, Store, decode, parse_partition,
};
use futures::{StreamExt, TryStreamExt};
use object_store::ObjectStore;

/// What a store holds, and every way it breaks a reader's trust.
#[derive(Debug, Default)]
pub struct Audit {
    /// Every object (staging files `name#N` are not objects), path -> bytes.
    pub objects: BTreeMap<String, Vec<u8>>,
    /// Published dates and their manifests.
    pub manifests: BTreeMap<NaiveDate, RunManifest>,
    /// CSV objects of dates without a manifest: written by a run that was
    /// stopped before it published them. Allowed, and must be whole.
    pub unpublished: Vec<String>,
    /// Broken invariants.
    pub violations: Vec<String>,
}

impl Audit {
    pub fn published(&self) -> BTreeSet<NaiveDate> {
        self.manifests.keys().copied().collect()
    }
}

pub fn dataset_named(name: &str) -> Option<Dataset> {
    Dataset::ALL.into_iter().find(|d| d.name() == name)
}

/// Decode `bytes` as `dataset` with its exact header; every row must be of
/// `date`. The number of rows.
pub fn decode_dated(dataset: Dataset, date: NaiveDate, bytes: &[u8]) -> Result<usize, String> {
    fn rows<R: serde::de::DeserializeOwned>(
        dataset: Dataset,
        bytes: &[u8],
        date_of: fn(&R) -> NaiveDate,
    ) -> Result<Vec<NaiveDate>, String> {
        decode::<R>(dataset, bytes)
            .map(|rs| rs.iter().map(date_of).collect())
            .map_err(|e| e.0)
    }
    let dates = match dataset {
        Dataset::Bars => rows::<BarRecord>(dataset, bytes, |r| r.date),
        Dataset::Drawdowns => rows::<DrawdownRow>(dataset, bytes, |r| r.date),
        Dataset::Positions => rows::<PositionRecord>(dataset, bytes, |r| r.date),
        Dataset::Account => rows::<AccountRecord>(dataset, bytes, |r| r.date),
    }?;
    if let Some(other) = dates.iter().find(|d| **d != date) {
        return Err(format!("a row of {other} in the partition of {date}"));
    }
    Ok(dates.len())
}

/// `NAME/date=D/FILE` -> (NAME, D, FILE).
pub fn split_partition(path: &str) -> Option<(&str, NaiveDate, &str)> {
    let mut parts = path.split('/');
    let (name, part, file) = (parts.next()?, parts.next()?, parts.next()?);
    if parts.next().is_some() {
        return None;
    }
    Some((name, parse_partition(part)?, file))
}

/// Audit a store through `inner` (a local directory or an S3 bucket).
pub async fn audit(inner: Arc<dyn ObjectStore>, url: &str) -> Audit {
    let lake = Lake::new(Store::from_object_store(inner.clone(), url));
    let mut a = Audit::default();
    let listed: Vec<_> = match inner.list(None).try_collect().await {
        Ok(l) => l,
        Err(e) => {
            a.violations.push(format!("cannot list the store: {e}"));
            return a;
        }
    };
    for meta in listed {
        let read = match inner.get(&meta.location).await {
            Ok(found) => found.bytes().await,
            Err(e) => Err(e),
        };
        match read {
            Ok(b) => {
                a.objects.insert(meta.location.to_string(), b.to_vec());
            }
            Err(object_store::Error::NotFound { .. }) => a
                .violations
                .push(format!("{}: listed but gone", meta.location)),
            Err(e) => a
                .violations
                .push(format!("{}: unreadable: {e}", meta.location)),
        }
    }
    let mut csv_dates = Vec::new();
    let mut rows = BTreeMap::new();
    for (path, bytes) in &a.objects {
        let v = &mut a.violations;
        if path == SCHEMA_PATH {
            match serde_json::from_slice::<serde_json::Value>(bytes) {
                Ok(doc) if doc["layout_version"] == LAYOUT_VERSION => {}
                Ok(doc) => v.push(format!("{path}: layout {}", doc["layout_version"])),
                Err(e) => v.push(format!("{path}: not JSON: {e}")),
            }
            continue;
        }
        if path == RETRY_QUEUE_PATH {
            if let Err(e) = serde_json::from_slice::<dipwatch::retry_queue::RetryQueue>(bytes) {
                v.push(format!("{path}: not a retry queue: {e}"));
            }
            continue;
        }
        let Some((name, date, file)) = split_partition(path) else {
            // Other documents of ours (alert state, ...) are whole JSON.
            if !path.ends_with(".json") {
                v.push(format!("{path}: not an object of the layout"));
            } else if let Err(e) = serde_json::from_slice::<serde_json::Value>(bytes) {
                v.push(format!("{path}: not JSON: {e}"));
            }
            continue;
        };
        if name == dipwatch::journal::PREFIX {
            // The journal: whole CSV objects of events of their New York
            // date, in no manifest (each is its own commit).
            match dipwatch::journal::decode(bytes) {
                Ok(events) => {
                    let exchange_date = dipwatch::market::calendar::exchange_date;
                    if let Some(e) = events.iter().find(|e| exchange_date(e.time) != date) {
                        v.push(format!("{path}: an event of {} in {date}", e.time));
                    }
                }
                Err(e) => v.push(format!("{path}: not a journal object: {e}")),
            }
            continue;
        }
        if name == "runs" && file == "run.json" {
            match serde_json::from_slice::<RunManifest>(bytes) {
                Ok(m) => {
                    a.manifests.insert(date, m);
                }
                Err(e) => v.push(format!("{path}: unreadable manifest: {e}")),
            }
            continue;
        }
        match dataset_named(name) {
            Some(ds) if file == format!("{name}.csv") => {
                match decode_dated(ds, date, bytes) {
                    Ok(n) => {
                        rows.insert(path.clone(), n as u64);
                    }
                    Err(e) => v.push(format!("{path}: {e}")),
                }
                csv_dates.push((path.clone(), date));
            }
            _ => v.push(format!("{path}: not an object of the layout")),
        }
    }
    for (date, m) in &a.manifests {
        let v = &mut a.violations;
        if m.date != *date || m.layout_version != LAYOUT_VERSION {
            v.push(format!(
                "runs/date={date}: manifest of {} layout {}",
                m.date, m.layout_version
            ));
        }
        for ds in [Dataset::Bars, Dataset::Drawdowns] {
            if m.object(ds).is_none() {
                v.push(format!("{date}: published without {}", ds.name()));
            }
        }
        for (name, entry) in &m.objects {
            let Some(ds) = dataset_named(name) else {
                v.push(format!("{date}: manifest lists unknown dataset {name}"));
                continue;
            };
            if entry.path != ds.path(*date).to_string() {
                v.push(format!("{date}: {name} listed at {}", entry.path));
            }
            // The reader's own check (size and SHA-256); the object itself
            // was decoded above.
            let read = std::pin::pin!(lake.parts(ds, vec![*date])).next().await;
            match read {
                Some(PartRead::Part(_)) => match rows.get(&entry.path) {
                    Some(n) if *n == entry.rows => {}
                    n => v.push(format!(
                        "{}: {n:?} rows, manifest {}",
                        entry.path, entry.rows
                    )),
                },
                Some(PartRead::Damaged(s)) => v.push(format!("{date}: {}", s.reason)),
                _ => v.push(format!("{date}: {name} listed but not readable")),
            }
        }
        if let Err(e) = lake.manifest(*date).await {
            v.push(format!("{date}: the reader refuses the manifest: {e}"));
        }
    }
    match lake.listing(None, None).await {
        Ok(listing) => {
            if !listing.junk.is_empty() {
                a.violations
                    .push(format!("junk under runs/: {:?}", listing.junk));
            }
            let listed: BTreeSet<NaiveDate> = listing.dates.into_iter().collect();
            if listed != a.published() {
                a.violations.push(format!(
                    "readers see {listed:?}, manifests are {:?}",
                    a.published()
                ));
            }
        }
        Err(e) => a.violations.push(format!("cannot list dates: {e}")),
    }
    a.unpublished = csv_dates
        .into_iter()
        .filter(|(_, d)| !a.manifests.contains_key(d))
        .map(|(p, _)| p)
        .collect();
    a
}

/// Audit a local store directory.
pub fn audit_dir(rt: &tokio::runtime::Runtime, dir: &Path) -> Audit {
    if !dir.exists() {
        return Audit::default();
    }
    let fs = object_store::local::LocalFileSystem::new_with_prefix(dir).unwrap();
    rt.block_on(audit(Arc::new(fs), &dir.display().to_string()))
}

/// How `actual` differs from the store of an uninterrupted run: the same
/// published dates, each with the same objects byte for byte and manifests
/// listing the same objects (their reports hold timestamps and durations),
/// the same schema and the same retry queue. Other documents (alert state)
/// and the journal are not compared.
pub fn differences(actual: &Audit, reference: &Audit) -> Vec<String> {
    let mut out = Vec::new();
    if actual.published() != reference.published() {
        out.push(format!(
            "published {:?}, uninterrupted {:?}",
            actual.published(),
            reference.published()
        ));
    }
    // The journal records when things happened: no two runs write it alike.
    let journal =
        |p: &String| split_partition(p).is_some_and(|(n, ..)| n == dipwatch::journal::PREFIX);
    let compared = |p: &String| (split_partition(p).is_some() && !journal(p)) || p == SCHEMA_PATH;
    let (have, want): (BTreeSet<&String>, BTreeSet<&String>) = (
        actual.objects.keys().filter(|p| compared(p)).collect(),
        reference.objects.keys().filter(|p| compared(p)).collect(),
    );
    for p in want.difference(&have) {
        out.push(format!("{p}: missing"));
    }
    for p in have.difference(&want) {
        out.push(format!("{p}: not in the uninterrupted run's store"));
    }
    for path in want.intersection(&have) {
        match split_partition(path) {
            Some(("runs", date, _)) => {
                let objects = |a: &Audit| a.manifests.get(&date).map(|m| m.objects.clone());
                if objects(actual) != objects(reference) {
                    out.push(format!("{path}: manifest objects differ"));
                }
            }
            _ => {
                if actual.objects[*path] != reference.objects[*path] {
                    out.push(format!("{path}: bytes differ"));
                }
            }
        }
    }
    let queue = |a: &Audit| {
        a.objects
            .get(RETRY_QUEUE_PATH)
            .and_then(|b| serde_json::from_slice::<dipwatch::retry_queue::RetryQueue>(b).ok())
            .unwrap_or_default()
    };
    if queue(actual) != queue(reference) {
        out.push(format!("{RETRY_QUEUE_PATH}: differs"));
    }
    out
}

/// The object store under `url`, opened directly (not through dipwatch's
/// `Store`), for tests that look at or damage raw objects, or count reads.
pub fn raw_objects(
    url: &dipwatch::store::StorageUrl,
    options: &BTreeMap<String, String>,
) -> Arc<dyn ObjectStore> {
    use dipwatch::store::StorageUrl;
    use object_store::aws::{AmazonS3Builder, AmazonS3ConfigKey};
    match url {
        StorageUrl::Local(dir) => {
            std::fs::create_dir_all(dir).unwrap();
            Arc::new(object_store::local::LocalFileSystem::new_with_prefix(dir).unwrap())
        }
        StorageUrl::S3 { bucket, prefix } => {
            let mut builder = AmazonS3Builder::new().with_bucket_name(bucket);
            for (key, value) in options {
                let key: AmazonS3ConfigKey = key.parse().unwrap();
                builder = builder.with_config(key, value);
            }
            let s3 = builder.build().unwrap();
            if prefix.is_empty() {
                Arc::new(s3)
            } else {
                Arc::new(object_store::prefix::PrefixStore::new(s3, prefix.as_str()))
            }
        }
    }
}

/// An object store that counts what is read through it: each object's
/// reads (GET or HEAD) by path, and the listings. Everything is passed on
/// to `inner` unchanged, so it works over any backend.
#[derive(Debug)]
pub struct CountingStore {
    inner: Arc<dyn ObjectStore>,
    reads: std::sync::Mutex<BTreeMap<String, usize>>,
    lists: std::sync::atomic::AtomicUsize,
}

impl CountingStore {
    pub fn new(inner: Arc<dyn ObjectStore>) -> Self {
        Self {
            inner,
            reads: Default::default(),
            lists: Default::default(),
        }
    }

    /// Reads per object path since the last call, and forget them.
    pub fn take_reads(&self) -> BTreeMap<String, usize> {
        std::mem::take(&mut *self.reads.lock().unwrap())
    }

    /// Listings since the last call, and forget them.
    pub fn take_lists(&self) -> usize {
        self.lists.swap(0, std::sync::atomic::Ordering::SeqCst)
    }

    fn count(&self, location: &object_store::path::Path) {
        *self
            .reads
            .lock()
            .unwrap()
            .entry(location.to_string())
            .or_default() += 1;
    }
}

impl std::fmt::Display for CountingStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Counting({})", self.inner)
    }
}

#[async_trait::async_trait]
impl ObjectStore for CountingStore {
    async fn put_opts(
        &self,
        location: &object_store::path::Path,
        payload: object_store::PutPayload,
        opts: object_store::PutOptions,
    ) -> object_store::Result<object_store::PutResult> {
        self.inner.put_opts(location, payload, opts).await
    }

    async fn put_multipart_opts(
        &self,
        location: &object_store::path::Path,
        opts: object_store::PutMultipartOptions,
    ) -> object_store::Result<Box<dyn object_store::MultipartUpload>> {
        self.inner.put_multipart_opts(location, opts).await
    }

    async fn get_opts(
        &self,
        location: &object_store::path::Path,
        options: object_store::GetOptions,
    ) -> object_store::Result<object_store::GetResult> {
        self.count(location);
        self.inner.get_opts(location, options).await
    }

    async fn delete(&self, location: &object_store::path::Path) -> object_store::Result<()> {
        self.inner.delete(location).await
    }

    fn list(
        &self,
        prefix: Option<&object_store::path::Path>,
    ) -> futures::stream::BoxStream<'static, object_store::Result<object_store::ObjectMeta>> {
        self.lists.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        self.inner.list(prefix)
    }

    async fn list_with_delimiter(
        &self,
        prefix: Option<&object_store::path::Path>,
    ) -> object_store::Result<object_store::ListResult> {
        self.lists.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        self.inner.list_with_delimiter(prefix).await
    }

    async fn copy(
        &self,
        from: &object_store::path::Path,
        to: &object_store::path::Path,
    ) -> object_store::Result<()> {
        self.inner.copy(from, to).await
    }

    async fn copy_if_not_exists(
        &self,
        from: &object_store::path::Path,
        to: &object_store::path::Path,
    ) -> object_store::Result<()> {
        self.inner.copy_if_not_exists(from, to).await
    }
}

/// Every file under `dir` (staging files included) with its size and
/// modification time: whether a run wrote or removed anything. A folder
/// that is gone (never made, or removed while walking) holds nothing.
pub fn files_under(dir: &Path) -> BTreeMap<std::path::PathBuf, (u64, std::time::SystemTime)> {
    let mut out = BTreeMap::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        let entries = match std::fs::read_dir(&d) {
            Ok(entries) => entries,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
            Err(e) => panic!("{}: {e}", d.display()),
        };
        for e in entries {
            let e = e.unwrap();
            let meta = e.metadata().unwrap();
            if meta.is_dir() {
                stack.push(e.path());
            } else {
                out.insert(e.path(), (meta.len(), meta.modified().unwrap()));
            }
        }
    }
    out
}
