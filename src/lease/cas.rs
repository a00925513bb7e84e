//! The lease object's conditional writes: create-if-absent and
//! replace-if-unchanged, on either backend.
//!
//! - S3 (and S3-compatible stores): object_store's `PutMode::Create`
//!   (`If-None-Match: *`) and `PutMode::Update` with the ETag read
//!   (`If-Match`). [`LeaseTarget::check_conditional`] proves the store
//!   honours both before anything relies on them: a store that ignores the
//!   headers would let two writers both "win".
//! - Local disk: object_store's `LocalFileSystem` has `Create` but no
//!   `Update`, so both go through one lock, `flock` on the `_lease/`
//!   directory itself (no extra object in the store): under the lock the
//!   current bytes are compared with the bytes read, and the new document
//!   is written aside (`writer.json#PID`, a staging name no listing shows
//!   and the staging sweep removes) and renamed over the old one (readers
//!   see one or the other, never half). That holds between processes of
//!   one machine (and file systems whose locks are shared, not every
//!   network file system's).

use std::io::Write;
use std::path::PathBuf;
use std::sync::Arc;

use object_store::path::Path;
use object_store::{ObjectStore, PutMode, PutOptions, PutPayload, UpdateVersion};

use super::LeaseError;
use super::doc::{LEASE_PATH, LeaseDoc};

/// What a conditional write compares against: the ETag (S3) or the exact
/// bytes (local disk) of the document read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Tag {
    /// The object's ETag and version as the store reported them.
    ETag(Option<String>, Option<String>),
    /// The file's content.
    Bytes(Vec<u8>),
}

/// The lease document as read, with what replacing it is conditional on.
#[derive(Debug, Clone)]
pub(crate) struct Seen {
    /// The document.
    pub doc: LeaseDoc,
    /// Its version for a conditional write.
    pub tag: Tag,
}

/// How a conditional write ended.
#[derive(Debug)]
pub(crate) enum Written {
    /// It took: the new document's tag.
    Done(Tag),
    /// Someone else wrote first (the object exists, or changed since read).
    Lost,
}

/// The lease object on one backend (a store hands it out:
/// `Store::lease_target`).
#[derive(Clone)]
pub enum LeaseTarget {
    /// A local store: the store's root directory.
    Local(PathBuf),
    /// Any other object store (S3).
    Remote(Arc<dyn ObjectStore>),
}

impl LeaseTarget {
    /// The lease document, `None` when there is none.
    pub(crate) async fn read(&self) -> Result<Option<Seen>, LeaseError> {
        match self {
            Self::Local(root) => {
                let root = root.clone();
                blocking(move || match std::fs::read(root.join(LEASE_PATH)) {
                    Ok(bytes) => Ok(Some(bytes)),
                    Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
                    Err(e) => Err(LeaseError::Store(format!("read {LEASE_PATH}: {e}"))),
                })
                .await?
                .map(|bytes| {
                    Ok(Seen {
                        doc: LeaseDoc::parse(&bytes)?,
                        tag: Tag::Bytes(bytes),
                    })
                })
                .transpose()
            }
            Self::Remote(store) => {
                let got = match store.get(&Path::from(LEASE_PATH)).await {
                    Ok(g) => g,
                    Err(object_store::Error::NotFound { .. }) => return Ok(None),
                    Err(e) => return Err(LeaseError::Store(format!("read {LEASE_PATH}: {e}"))),
                };
                let tag = Tag::ETag(got.meta.e_tag.clone(), got.meta.version.clone());
                let bytes = got
                    .bytes()
                    .await
                    .map_err(|e| LeaseError::Store(format!("read {LEASE_PATH}: {e}")))?;
                Ok(Some(Seen {
                    doc: LeaseDoc::parse(&bytes)?,
                    tag,
                }))
            }
        }
    }

    /// Write `doc` if there is no lease document (`expected` `None`), or if
    /// the document is still the one `expected` tags.
    pub(crate) async fn write(
        &self,
        doc: &LeaseDoc,
        expected: Option<&Tag>,
    ) -> Result<Written, LeaseError> {
        let bytes = doc.to_bytes();
        match self {
            Self::Local(root) => {
                let (root, expected) = (root.clone(), expected.cloned());
                blocking(move || local_swap(&root, expected.as_ref(), bytes)).await
            }
            Self::Remote(store) => {
                remote_put(store.as_ref(), &Path::from(LEASE_PATH), bytes, expected).await
            }
        }
    }

    /// Prove the store honours conditional writes: a probe object created
    /// twice (the second must be refused) and replaced against a wrong ETag
    /// (refused too), then removed. Local disk uses its lock file: nothing
    /// to prove.
    pub(crate) async fn check_conditional(&self, probe: &str) -> Result<(), LeaseError> {
        let Self::Remote(store) = self else {
            return Ok(());
        };
        let path = Path::from(format!("_lease/probe-{probe}.json"));
        let body = b"{\"dipwatch\":\"conditional write probe\"}\n".to_vec();
        let outcome = async {
            match remote_put(store.as_ref(), &path, body.clone(), None).await? {
                Written::Done(_) => {}
                Written::Lost => return Err(unsupported("a new object was refused as existing")),
            }
            if let Written::Done(_) = remote_put(store.as_ref(), &path, body.clone(), None).await? {
                return Err(unsupported(
                    "create-if-absent (If-None-Match: *) replaced an existing object",
                ));
            }
            let wrong = Tag::ETag(Some("\"dipwatch-wrong-etag\"".into()), None);
            if let Written::Done(_) = remote_put(store.as_ref(), &path, body, Some(&wrong)).await? {
                return Err(unsupported(
                    "replace-if-unchanged (If-Match) ignored a wrong ETag",
                ));
            }
            Ok(())
        }
        .await;
        let _ = store.delete(&path).await;
        outcome
    }
}

fn unsupported(what: &str) -> LeaseError {
    LeaseError::Unsupported(what.to_string())
}

/// One conditional PUT.
async fn remote_put(
    store: &dyn ObjectStore,
    path: &Path,
    bytes: Vec<u8>,
    expected: Option<&Tag>,
) -> Result<Written, LeaseError> {
    let mode = match expected {
        None => PutMode::Create,
        Some(Tag::ETag(e_tag, version)) => PutMode::Update(UpdateVersion {
            e_tag: e_tag.clone(),
            version: version.clone(),
        }),
        Some(Tag::Bytes(_)) => {
            return Err(LeaseError::Store("a local tag on a remote store".into()));
        }
    };
    let opts = PutOptions {
        mode,
        ..PutOptions::default()
    };
    match store.put_opts(path, PutPayload::from(bytes), opts).await {
        Ok(r) => Ok(Written::Done(Tag::ETag(r.e_tag, r.version))),
        Err(
            object_store::Error::AlreadyExists { .. } | object_store::Error::Precondition { .. },
        ) => Ok(Written::Lost),
        Err(object_store::Error::NotImplemented) => Err(unsupported(
            "the store client has conditional writes turned off (storage.options.conditional_put)",
        )),
        Err(e) => Err(LeaseError::Store(format!("write {path}: {e}"))),
    }
}

/// Compare-and-swap of the local lease file under the directory's lock.
fn local_swap(
    root: &std::path::Path,
    expected: Option<&Tag>,
    bytes: Vec<u8>,
) -> Result<Written, LeaseError> {
    let io = |what: &str, e: std::io::Error| LeaseError::Store(format!("{what}: {e}"));
    let dir = root.join("_lease");
    std::fs::create_dir_all(&dir).map_err(|e| io("create _lease/", e))?;
    let lock = std::fs::File::open(&dir).map_err(|e| io("open _lease/", e))?;
    // Released when `lock` is dropped (closed), however this returns.
    lock.lock().map_err(|e| io("lock _lease/", e))?;
    let path = root.join(LEASE_PATH);
    let current = match std::fs::read(&path) {
        Ok(b) => Some(b),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
        Err(e) => return Err(io(LEASE_PATH, e)),
    };
    let unchanged = match (expected, &current) {
        (None, None) => true,
        (Some(Tag::Bytes(was)), Some(now)) => was == now,
        _ => false,
    };
    if !unchanged {
        return Ok(Written::Lost);
    }
    let staging = dir.join(format!("writer.json#{}", std::process::id()));
    let mut f = std::fs::File::create(&staging).map_err(|e| io("write the lease", e))?;
    f.write_all(&bytes)
        .and_then(|()| f.sync_all())
        .map_err(|e| io("write the lease", e))?;
    std::fs::rename(&staging, &path).map_err(|e| io("replace the lease", e))?;
    Ok(Written::Done(Tag::Bytes(bytes)))
}

/// Run file work off the runtime's threads.
async fn blocking<T: Send + 'static>(
    work: impl FnOnce() -> Result<T, LeaseError> + Send + 'static,
) -> Result<T, LeaseError> {
    tokio::task::spawn_blocking(work)
        .await
        .map_err(|e| LeaseError::Store(format!("lease file task: {e}")))?
}
