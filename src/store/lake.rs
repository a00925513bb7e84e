//! [`Lake`], the one read API over the published lake: which dates are
//! published, their manifests, screens, portfolio snapshots, the bar
//! history as columns, and each dataset's parts for `export` and
//! `/download`. Every object is verified against its date's manifest and
//! decoded here; nothing outside `store/` reads an object.
//!
//! Years of daily partitions are thousands of objects; on S3 each read is a
//! round trip, so objects are read [`READ_CONCURRENCY`] at a time, and the
//! CPU work (checksum, parsing) runs on blocking threads so it never stalls
//! the runtime the bot answers from.
//!
//! A reload reads the same recent dates for the screen, the portfolio, the
//! equity, the bars and the risk view: [`Lake::session`] gives a reader
//! for one such pass that reads each listing, manifest and snapshot object
//! at most once (a memo dropped with it, so the next pass sees re-runs).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use bytes::Bytes;
use chrono::NaiveDate;
use futures::StreamExt;
use serde::de::DeserializeOwned;
use tokio::sync::OnceCell;

use super::codec::{parse_bars, rows_in_current_layout};
use super::read::verify_object;
use super::{
    AccountRecord, Dataset, Listing, PositionRecord, RunManifest, Store, StoreError, decode,
    run_manifest_path,
};
use crate::domain::{Account, DrawdownRow, Position};
use crate::query::{DayBars, PriceHistory};

/// Objects read at once: enough to hide S3 latency, few enough not to
/// hold many large objects in memory at the same time.
pub const READ_CONCURRENCY: usize = 32;

/// A published date that was passed over, and why (a damaged object, an
/// unreadable manifest).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Skipped {
    /// The date.
    pub date: NaiveDate,
    /// What was wrong.
    pub reason: String,
}

/// A price history and the dates left out of it.
#[derive(Debug, Clone, Default)]
pub struct HistoryLoad {
    /// The bars of every readable date in the range.
    pub history: PriceHistory,
    /// Dates skipped, with the reason; the rest still loads.
    pub skipped: Vec<Skipped>,
    /// Each loaded date's bars checksum (SHA-256 from its manifest), oldest
    /// first: the fingerprint of the data a result was computed from.
    pub checksums: Vec<(NaiveDate, String)>,
}

/// One date's object of a dataset, verified against its manifest, its rows
/// in this layout's columns without the header line (so parts of either
/// layout concatenate under one header).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Part {
    /// The date.
    pub date: NaiveDate,
    /// The rows, each ending in a newline.
    pub body: bytes::Bytes,
    /// Data rows, as the manifest counts them.
    pub rows: u64,
    /// Whether the date's run was on simulated prices.
    pub simulated: bool,
}

/// What reading one date's object gave.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PartRead {
    /// The verified rows.
    Part(Part),
    /// The date holds no object of this dataset (no snapshot that day).
    Absent(NaiveDate),
    /// The object or its manifest could not be trusted: skip, and say so.
    Damaged(Skipped),
}

/// A published screen: its manifest (the run report) and ranked rows.
#[derive(Debug, Clone)]
pub struct ScreenRead {
    /// The date's manifest.
    pub manifest: RunManifest,
    /// Rank 1 first.
    pub rows: Vec<DrawdownRow>,
}

/// The newest screen that reads, and what was passed over on the way.
#[derive(Debug, Clone, Default)]
pub struct LatestScreen {
    /// The screen, `None` when no published date reads.
    pub screen: Option<ScreenRead>,
    /// Newer dates passed over because they could not be read.
    pub skipped: Vec<Skipped>,
    /// What the listing passed over (see [`Listing::warnings`]).
    pub ignored: Vec<String>,
}

/// What [`Lake::screens`] read: each published screen reduced, oldest
/// first, and the dates passed over.
#[derive(Debug, Clone)]
pub struct PublishedScreens<T> {
    /// One per readable date, oldest first.
    pub screens: Vec<T>,
    /// Dates whose screen could not be read, with why.
    pub skipped: Vec<Skipped>,
    /// Whether any screen read was of simulated prices.
    pub simulated: bool,
}

/// One date's bars and their checksum, nothing (no bars that day), or why
/// they could not be read.
type DayRead = Result<Option<(DayBars, String)>, String>;

/// One date's positions and account, as the portfolio was at its snapshot.
#[derive(Debug, Clone, PartialEq)]
pub struct PortfolioRead {
    /// The snapshot's date.
    pub date: NaiveDate,
    /// Its positions.
    pub positions: Vec<Position>,
    /// Its account.
    pub account: Account,
    /// Whether the date's run was on simulated prices.
    pub simulated: bool,
}

/// What a [`Lake::session`] has read, each read shared by everyone who
/// asks for it during the pass (a cell per key: two concurrent askers
/// wait for one read). Only successes are kept: a failed read is tried
/// again by the next asker.
#[derive(Default)]
struct Memo {
    listing: OnceCell<Listing>,
    manifests: Cells<NaiveDate, Option<RunManifest>>,
    objects: Cells<(NaiveDate, Dataset), Option<Bytes>>,
}

/// One read cell per key, made on first ask.
type Cells<K, V> = Mutex<HashMap<K, Arc<OnceCell<V>>>>;

impl Memo {
    /// The cell of `key` in `cells`, made on first ask.
    fn cell<K: std::hash::Hash + Eq, V>(cells: &Cells<K, V>, key: K) -> Arc<OnceCell<V>> {
        // A poisoned lock only means another reader panicked between two
        // lines that cannot leave the map half-changed.
        let mut map = cells.lock().unwrap_or_else(|e| e.into_inner());
        map.entry(key).or_default().clone()
    }
}

/// Reads published data from a [`Store`]: the one way anything outside
/// the store reads the lake.
#[derive(Clone)]
pub struct Lake {
    store: Store,
    /// Set on a [`Lake::session`]: what this pass has already read.
    memo: Option<Arc<Memo>>,
}

impl std::fmt::Debug for Lake {
    // The store and whether this is a session: what it read is data, not
    // a log line.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Lake")
            .field("store", &self.store)
            .field("session", &self.memo.is_some())
            .finish()
    }
}

impl Lake {
    /// A reader over `store` that reads afresh on every call.
    pub fn new(store: Store) -> Self {
        Self { store, memo: None }
    }

    /// A reader for one pass over the lake (a reload, a download): while
    /// it lives, the listing, each manifest and each screen or snapshot
    /// object is read at most once, however many of its calls need them.
    /// Bars objects are not kept (they are large and one pass reads each
    /// once). Drop it when the pass ends: a later run may republish a date.
    pub fn session(&self) -> Self {
        Self {
            store: self.store.clone(),
            memo: Some(Arc::default()),
        }
    }

    /// Every published date, oldest first, with what the listing passed
    /// over (see [`Listing`]).
    async fn published(&self) -> Result<Listing, StoreError> {
        match &self.memo {
            Some(memo) => memo
                .listing
                .get_or_try_init(|| self.store.published_dates())
                .await
                .cloned(),
            None => self.store.published_dates().await,
        }
    }

    /// Published dates within `from..=to` (either end open), oldest first.
    pub async fn dates(
        &self,
        from: Option<NaiveDate>,
        to: Option<NaiveDate>,
    ) -> Result<Vec<NaiveDate>, StoreError> {
        Ok(self.listing(from, to).await?.dates)
    }

    /// [`Lake::dates`] with what the listing passed over (partitions that
    /// are not dates, dates after the latest closed session), for readers
    /// that report it.
    pub async fn listing(
        &self,
        from: Option<NaiveDate>,
        to: Option<NaiveDate>,
    ) -> Result<Listing, StoreError> {
        let mut listing = self.published().await?;
        listing
            .dates
            .retain(|d| from.is_none_or(|f| *d >= f) && to.is_none_or(|t| *d <= t));
        Ok(listing)
    }

    /// The manifest of `date`: `None` if the date is not published, an
    /// error if it exists but cannot be read (the run report, the objects
    /// a re-run carries over).
    pub async fn manifest(&self, date: NaiveDate) -> Result<Option<RunManifest>, StoreError> {
        match &self.memo {
            Some(memo) => Memo::cell(&memo.manifests, date)
                .get_or_try_init(|| self.store.manifest(date))
                .await
                .cloned(),
            None => self.store.manifest(date).await,
        }
    }

    /// A published manifest: one that vanished since the listing is a
    /// reason to skip the date.
    async fn listed_manifest(&self, date: NaiveDate) -> Result<RunManifest, String> {
        self.manifest(date)
            .await
            .map_err(|e| e.to_string())?
            .ok_or_else(|| "the run manifest vanished while reading".to_string())
    }

    /// The bytes of `dataset` for the manifest's date, verified against
    /// it: `None` when the date has no such object.
    async fn object(
        &self,
        manifest: &RunManifest,
        dataset: Dataset,
    ) -> Result<Option<Bytes>, StoreError> {
        match &self.memo {
            Some(memo) if dataset != Dataset::Bars => {
                Memo::cell(&memo.objects, (manifest.date, dataset))
                    .get_or_try_init(|| self.store.read_verified(manifest, dataset))
                    .await
                    .cloned()
            }
            _ => self.store.read_verified(manifest, dataset).await,
        }
    }

    /// Verified and decoded rows of `dataset` for a published date.
    async fn rows<R: DeserializeOwned>(
        &self,
        manifest: &RunManifest,
        dataset: Dataset,
    ) -> Result<Option<Vec<R>>, StoreError> {
        let Some(bytes) = self.object(manifest, dataset).await? else {
            return Ok(None);
        };
        decode(dataset, &bytes)
            .map(Some)
            .map_err(|e| StoreError::Corrupt {
                path: dataset.path(manifest.date).to_string(),
                reason: e.0,
            })
    }

    /// The drawdown screen of a published date (every published date has
    /// one).
    async fn screen_rows(&self, manifest: &RunManifest) -> Result<Vec<DrawdownRow>, StoreError> {
        self.rows(manifest, Dataset::Drawdowns)
            .await?
            .ok_or_else(|| StoreError::Corrupt {
                path: run_manifest_path(manifest.date).to_string(),
                reason: "published date without a drawdowns object".into(),
            })
    }

    /// The objects of `dataset` for `dates`, in the order given, read
    /// [`READ_CONCURRENCY`] at a time: the one way `export` and
    /// `/download` stream a dataset, so both apply the same rules to an
    /// unpublished or damaged partition.
    pub fn parts(
        &self,
        dataset: Dataset,
        dates: Vec<NaiveDate>,
    ) -> impl futures::Stream<Item = PartRead> + '_ {
        futures::stream::iter(dates)
            .map(move |date| self.part(dataset, date))
            .buffered(READ_CONCURRENCY)
    }

    async fn part(&self, dataset: Dataset, date: NaiveDate) -> PartRead {
        let damaged = |reason: String| PartRead::Damaged(Skipped { date, reason });
        let manifest = match self.listed_manifest(date).await {
            Ok(m) => m,
            Err(reason) => return damaged(reason),
        };
        let rows = manifest.object(dataset).map_or(0, |o| o.rows);
        match self.object(&manifest, dataset).await {
            Ok(Some(bytes)) => match body_in_current_layout(dataset, &bytes) {
                Ok(body) => PartRead::Part(Part {
                    date,
                    body,
                    rows,
                    simulated: manifest.report.simulated,
                }),
                Err(e) => damaged(format!("{}: {e}", dataset.path(date))),
            },
            Ok(None) => PartRead::Absent(date),
            Err(e) => damaged(e.to_string()),
        }
    }

    /// The manifests of `dates`, in the order given, read
    /// [`READ_CONCURRENCY`] at a time; a stream, so a reader that has
    /// enough stops reading (the state takes the newest 60).
    pub fn manifests(
        &self,
        dates: Vec<NaiveDate>,
    ) -> impl futures::Stream<Item = (NaiveDate, Result<Option<RunManifest>, StoreError>)> + '_
    {
        // Owned futures (not a closure over `self`): the daemon awaits this
        // inside a spawned task, which needs a plainly `Send` future.
        let reads: Vec<_> = dates
            .into_iter()
            .map(|date| {
                let lake = self.clone();
                async move { (date, lake.manifest(date).await) }
            })
            .collect();
        futures::stream::iter(reads).buffered(READ_CONCURRENCY)
    }

    /// The manifests of `dates` that read, in the order given, up to
    /// `limit` of them (the reads stop there), and the dates whose manifest
    /// could not be read, with why; a manifest that vanished since the
    /// listing is passed over.
    pub async fn readable_manifests(
        &self,
        dates: Vec<NaiveDate>,
        limit: usize,
    ) -> (Vec<RunManifest>, Vec<Skipped>) {
        let (mut manifests, mut skipped) = (Vec::new(), Vec::new());
        let mut read = std::pin::pin!(self.manifests(dates));
        while manifests.len() < limit {
            let Some((date, manifest)) = read.next().await else {
                break;
            };
            match manifest {
                Ok(Some(m)) => manifests.push(m),
                Ok(None) => {}
                Err(e) => skipped.push(Skipped {
                    date,
                    reason: e.to_string(),
                }),
            }
        }
        (manifests, skipped)
    }

    /// `read` of each manifest, in the same order, [`READ_CONCURRENCY`] at
    /// a time.
    async fn each<T, F>(
        &self,
        manifests: &[RunManifest],
        read: impl Fn(Lake, RunManifest) -> F,
    ) -> Vec<T>
    where
        F: std::future::Future<Output = T>,
    {
        let reads: Vec<_> = manifests
            .iter()
            .map(|m| read(self.clone(), m.clone()))
            .collect();
        futures::stream::iter(reads)
            .buffered(READ_CONCURRENCY)
            .collect()
            .await
    }

    /// The drawdown rows of each manifest's date, in the same order, read
    /// [`READ_CONCURRENCY`] at a time.
    pub async fn drawdowns(
        &self,
        manifests: &[RunManifest],
    ) -> Vec<Result<Vec<DrawdownRow>, StoreError>> {
        self.each(
            manifests,
            |lake, m| async move { lake.screen_rows(&m).await },
        )
        .await
    }

    /// The account snapshot of each manifest's date that has one (in the
    /// order given), read [`READ_CONCURRENCY`] at a time: the equity over
    /// time. A date without a snapshot is left out; one that cannot be
    /// read is an error in its place.
    pub async fn accounts(
        &self,
        manifests: &[RunManifest],
    ) -> Vec<(NaiveDate, Result<Account, StoreError>)> {
        let reads = self
            .each(manifests, |lake, m| async move {
                let read = lake.rows::<AccountRecord>(&m, Dataset::Account).await;
                let account =
                    read.map(|rows| rows.and_then(|r| r.first().map(AccountRecord::account)));
                (m.date, account)
            })
            .await;
        reads
            .into_iter()
            .filter_map(|(date, read)| read.transpose().map(|a| (date, a)))
            .collect()
    }

    /// The positions of a published date, `None` when it holds no
    /// positions snapshot.
    pub async fn positions(
        &self,
        manifest: &RunManifest,
    ) -> Result<Option<Vec<Position>>, StoreError> {
        let rows = self
            .rows::<PositionRecord>(manifest, Dataset::Positions)
            .await?;
        Ok(rows.map(|rows| rows.iter().map(PositionRecord::position).collect()))
    }

    /// The portfolio snapshot of a published date: its positions and
    /// account, `None` when the date lacks either (or the account object
    /// is empty). An object that cannot be read is an error naming it.
    pub async fn portfolio(
        &self,
        manifest: &RunManifest,
    ) -> Result<Option<PortfolioRead>, StoreError> {
        if manifest.object(Dataset::Positions).is_none()
            || manifest.object(Dataset::Account).is_none()
        {
            return Ok(None);
        }
        let positions = self.positions(manifest).await?;
        let account = self
            .rows::<AccountRecord>(manifest, Dataset::Account)
            .await?;
        let (Some(positions), Some(account)) = (positions, account) else {
            return Ok(None);
        };
        Ok(account.first().map(|a| PortfolioRead {
            date: manifest.date,
            positions,
            account: a.account(),
            simulated: manifest.report.simulated,
        }))
    }

    /// The portfolio snapshot of each manifest's date, in the same order,
    /// read [`READ_CONCURRENCY`] at a time.
    pub async fn portfolios(
        &self,
        manifests: &[RunManifest],
    ) -> Vec<Result<Option<PortfolioRead>, StoreError>> {
        self.each(manifests, |lake, m| async move { lake.portfolio(&m).await })
            .await
    }

    /// The screen of `date`, `None` when it is not published; a screen
    /// that is published but cannot be read is an error.
    pub async fn screen_of(&self, date: NaiveDate) -> Result<Option<ScreenRead>, StoreError> {
        let Some(manifest) = self.manifest(date).await? else {
            return Ok(None);
        };
        let rows = self.screen_rows(&manifest).await?;
        Ok(Some(ScreenRead { manifest, rows }))
    }

    /// The newest screen that reads cleanly: one rule for every reader, a
    /// damaged or vanished newer date is passed over (and listed in
    /// `skipped`), never trusted and never fatal.
    pub async fn latest_screen(&self) -> Result<LatestScreen, StoreError> {
        let listing = self.published().await?;
        let mut latest = LatestScreen {
            ignored: listing.warnings(),
            ..LatestScreen::default()
        };
        for date in listing.dates.iter().rev() {
            let reason = match self.screen_of(*date).await {
                Ok(Some(found)) => {
                    latest.screen = Some(found);
                    break;
                }
                Ok(None) => "the run manifest vanished while reading".to_string(),
                Err(e) => e.to_string(),
            };
            latest.skipped.push(Skipped {
                date: *date,
                reason,
            });
        }
        Ok(latest)
    }

    /// Every published screen in `from..=to` (either end open), oldest
    /// first, each reduced by `reduce` as it is read (so years of screens
    /// are never all in memory): the historical views read what was
    /// published, not a recomputation. A date whose manifest or drawdowns
    /// cannot be read or do not match is skipped and reported; a store that
    /// cannot be listed is an error.
    pub async fn screens<T>(
        &self,
        from: Option<NaiveDate>,
        to: Option<NaiveDate>,
        reduce: impl Fn(&RunManifest, &[DrawdownRow]) -> T,
    ) -> Result<PublishedScreens<T>, StoreError> {
        let dates = self.dates(from, to).await?;
        let reads: Vec<_> = dates
            .into_iter()
            .map(|date| {
                let lake = self.clone();
                async move {
                    let read = async {
                        let manifest = lake.listed_manifest(date).await?;
                        let rows = lake
                            .screen_rows(&manifest)
                            .await
                            .map_err(|e| e.to_string())?;
                        Ok::<_, String>((manifest, rows))
                    };
                    (date, read.await)
                }
            })
            .collect();
        let mut reads = futures::stream::iter(reads).buffered(READ_CONCURRENCY);
        let mut out = PublishedScreens {
            screens: Vec::new(),
            skipped: Vec::new(),
            simulated: false,
        };
        while let Some((date, read)) = reads.next().await {
            match read {
                Ok((manifest, rows)) => {
                    out.simulated |= manifest.report.simulated;
                    out.screens.push(reduce(&manifest, &rows));
                }
                Err(reason) => out.skipped.push(Skipped { date, reason }),
            }
        }
        Ok(out)
    }

    /// The bars of every published date in `from..=to` as columns. A date
    /// whose manifest or bars object cannot be read or does not match is
    /// skipped and reported; a store that cannot be listed is an error.
    pub async fn price_history(
        &self,
        from: Option<NaiveDate>,
        to: Option<NaiveDate>,
    ) -> Result<HistoryLoad, StoreError> {
        let dates = self.dates(from, to).await?;
        let results: Vec<(NaiveDate, DayRead)> = futures::stream::iter(dates)
            .map(|date| async move { (date, self.day_bars(date).await) })
            .buffer_unordered(READ_CONCURRENCY)
            .collect()
            .await;
        let mut days = Vec::with_capacity(results.len());
        let mut skipped = Vec::new();
        let mut checksums = Vec::with_capacity(results.len());
        for (date, result) in results {
            match result {
                Ok(Some((day, sha256))) => {
                    days.push(day);
                    checksums.push((date, sha256));
                }
                // A published date without bars (none fetched that day).
                Ok(None) => {}
                Err(reason) => skipped.push(Skipped { date, reason }),
            }
        }
        skipped.sort_by_key(|s| s.date);
        checksums.sort();
        // Assembling the columns is CPU work too.
        let history = tokio::task::spawn_blocking(move || PriceHistory::from_days(days))
            .await
            .map_err(|e| StoreError::Config(format!("price history assembly failed: {e}")))?;
        Ok(HistoryLoad {
            history,
            skipped,
            checksums,
        })
    }

    /// One date's bars and their checksum: manifest, object, then checksum
    /// and parse on a blocking thread.
    async fn day_bars(&self, date: NaiveDate) -> DayRead {
        let manifest = self.listed_manifest(date).await?;
        let Some(entry) = manifest.object(Dataset::Bars).cloned() else {
            return Ok(None);
        };
        let bytes = self
            .store
            .read_listed(&entry)
            .await
            .map_err(|e| e.to_string())?;
        let simulated = manifest.report.simulated;
        tokio::task::spawn_blocking(move || {
            verify_object(&entry, &bytes).map_err(|e| e.to_string())?;
            parse_bars(date, simulated, &bytes)
                .map(|day| Some((day, entry.sha256.clone())))
                .map_err(|e| format!("{}: {e}", entry.path))
        })
        .await
        .map_err(|e| format!("reading {date} failed: {e}"))?
    }
}

/// A verified object's rows in this layout's columns, without the header
/// line and ending in a newline: a slice of the object itself, or the
/// previous layout's rows with the new columns added.
fn body_in_current_layout(dataset: Dataset, bytes: &Bytes) -> Result<Bytes, super::CsvProblem> {
    let mut body = match rows_in_current_layout(dataset, bytes)? {
        std::borrow::Cow::Borrowed(rows) => bytes.slice_ref(rows),
        std::borrow::Cow::Owned(rows) => rows.into(),
    };
    if !body.is_empty() && !body.ends_with(b"\n") {
        let mut owned = body.to_vec();
        owned.push(b'\n');
        body = owned.into();
    }
    Ok(body)
}
