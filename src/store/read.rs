//! The verified object reads under [`super::Lake`]: the listing of
//! published dates, a date's manifest, and a dataset object checked
//! against it. Private to `store/`: every reader goes through the lake.

use bytes::Bytes;
use chrono::NaiveDate;
use object_store::path::Path;

use super::{
    Dataset, LAYOUT_VERSION, Listing, ObjectEntry, RunManifest, Store, StoreError, layout,
    parse_partition, run_manifest_path, sha256_hex,
};

impl Store {
    /// The manifest of `date`: `None` if the date is not published, an
    /// error if it exists but cannot be read.
    pub(super) async fn manifest(
        &self,
        date: NaiveDate,
    ) -> Result<Option<RunManifest>, StoreError> {
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
    pub(super) async fn published_dates(&self) -> Result<Listing, StoreError> {
        self.published_dates_until(crate::market::calendar::latest_closed_session(
            chrono::Utc::now(),
        ))
        .await
    }

    /// [`Store::published_dates`] with dates after `latest` set apart.
    async fn published_dates_until(
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
    pub(super) async fn read_verified(
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
    pub(super) async fn read_listed(&self, entry: &ObjectEntry) -> Result<Bytes, StoreError> {
        let path = Path::from(entry.path.as_str());
        self.get(&path).await?.ok_or_else(|| StoreError::Corrupt {
            path: entry.path.clone(),
            reason: "listed in the run manifest but missing".into(),
        })
    }
}

/// Check an object's bytes against its manifest entry (size and SHA-256):
/// `Corrupt` when truncated, corrupted or rewritten by an interrupted run.
pub(super) fn verify_object(entry: &ObjectEntry, bytes: &[u8]) -> Result<(), StoreError> {
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
