//! The object store underneath the lake: opening it (local disk or S3),
//! raw object access (get, put, delete, list), download links, the staging
//! files a killed writer leaves, and our JSON documents (retry queue,
//! alert book). The raw reads stay inside `store/`: published data is read
//! through [`super::Lake`], which verifies it against the manifests.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use object_store::{ObjectStore, PutPayload, path::Path};
use serde::Serialize;

use super::{RETRY_QUEUE_PATH, SHARED_PREFIX, StorageUrl, StoreError};

/// The data lake.
#[derive(Clone)]
pub struct Store {
    pub(super) inner: Arc<dyn ObjectStore>,
    pub(super) url: String,
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

    pub(super) fn backend(&self, what: &str, e: object_store::Error) -> StoreError {
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

    /// Put one object whole.
    pub async fn put(&self, path: &Path, bytes: Vec<u8>) -> Result<(), StoreError> {
        self.check_fence()?;
        self.inner
            .put(path, PutPayload::from(bytes))
            .await
            .map(|_| ())
            .map_err(|e| self.backend(&format!("write {path}"), e))
    }

    /// Create `path` with `bytes` only if no object has that name (a
    /// conditional put: S3's If-None-Match, local disk's staged file hard
    /// linked without replacing): the object is wholly written or not at
    /// all. `Ok(false)` when the name is taken (nothing was written).
    ///
    /// Deliberately NOT behind the writer-lease fence: it is for the
    /// append-only journal, whose names are unique per writer (time plus a
    /// random nonce) and which this never overwrites, so two writers cannot
    /// harm each other; and the CLI's `dipwatch order` must journal while
    /// the daemon holds the lease. The lease guards the datasets and
    /// documents that are replaced whole, not this.
    pub(crate) async fn create_new(&self, path: &Path, bytes: Vec<u8>) -> Result<bool, StoreError> {
        let opts = object_store::PutOptions::from(object_store::PutMode::Create);
        match self
            .inner
            .put_opts(path, PutPayload::from(bytes), opts)
            .await
        {
            Ok(_) => Ok(true),
            Err(object_store::Error::AlreadyExists { .. }) => Ok(false),
            Err(e) => Err(self.backend(&format!("create {path}"), e)),
        }
    }

    /// Delete one object (an absent one is already deleted).
    pub(crate) async fn delete(&self, path: &Path) -> Result<(), StoreError> {
        self.check_fence()?;
        match self.inner.delete(path).await {
            Ok(()) | Err(object_store::Error::NotFound { .. }) => Ok(()),
            Err(e) => Err(self.backend(&format!("delete {path}"), e)),
        }
    }

    /// Every object under `prefix`, with when it was last written, in no
    /// particular order (a missing prefix is an empty list).
    pub(crate) async fn list_objects(
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

    /// Get one object, `None` if absent, unchecked: for files that are
    /// ours rather than the lake's (stored backtests, documents). Published
    /// data is read through [`super::Lake`], which verifies it.
    pub(crate) async fn get(&self, path: &Path) -> Result<Option<Bytes>, StoreError> {
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
}

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
