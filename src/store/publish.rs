//! The write path: publishing a date (its objects, then the manifest that
//! makes it visible), the layout document, and keeping damaged objects
//! aside before a date is rewritten.

use std::collections::BTreeMap;

use chrono::NaiveDate;
use object_store::path::Path;
use serde::Deserialize;

use super::layout::SchemaDoc;
use super::{
    Dataset, LAYOUT_VERSION, NewObject, ObjectEntry, RunManifest, SCHEMA_PATH, Store, StoreError,
    run_manifest_path, sha256_hex,
};
use crate::domain::RunReport;

impl Store {
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
    pub(super) async fn check_layout(&self) -> Result<(), StoreError> {
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
}
