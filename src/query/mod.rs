//! The read path over the published lake: which dates are published, and
//! their objects read concurrently, verified against their manifests and
//! decoded. [`history`] holds the bar history as columns.
//!
//! Years of daily partitions are thousands of objects; on S3 each read is a
//! round trip, so objects are read [`READ_CONCURRENCY`] at a time, and the
//! CPU work (checksum, parsing) runs on blocking threads so it never stalls
//! the runtime the bot answers from.

pub mod history;

use chrono::NaiveDate;
use futures::StreamExt;

use crate::domain::{Account, DrawdownRow};
use crate::store::{
    AccountRecord, Dataset, Listing, RunManifest, Store, StoreError, rows_in_current_layout,
    verify_object,
};

pub use history::{DayBars, Field, PriceHistory};

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

/// Reads published data from a [`Store`].
#[derive(Clone, Debug)]
pub struct Lake {
    store: Store,
}

impl Lake {
    /// A reader over `store`.
    pub fn new(store: Store) -> Self {
        Self { store }
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
        let mut listing = self.store.published_dates().await?;
        listing
            .dates
            .retain(|d| from.is_none_or(|f| *d >= f) && to.is_none_or(|t| *d <= t));
        Ok(listing)
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
        let manifest = match self.store.manifest(date).await {
            Ok(Some(m)) => m,
            Ok(None) => return damaged("the run manifest vanished while reading".into()),
            Err(e) => return damaged(e.to_string()),
        };
        let rows = manifest.object(dataset).map_or(0, |o| o.rows);
        match self.store.read_verified(&manifest, dataset).await {
            Ok(Some(bytes)) => {
                // This layout's rows: a slice of the object itself, or the
                // previous layout's rows with the new columns added.
                let mut body = match rows_in_current_layout(dataset, &bytes) {
                    Ok(std::borrow::Cow::Borrowed(rows)) => bytes.slice_ref(rows),
                    Ok(std::borrow::Cow::Owned(rows)) => rows.into(),
                    Err(e) => return damaged(format!("{}: {e}", dataset.path(date))),
                };
                if !body.is_empty() && !body.ends_with(b"\n") {
                    let mut owned = body.to_vec();
                    owned.push(b'\n');
                    body = owned.into();
                }
                PartRead::Part(Part {
                    date,
                    body,
                    rows,
                    simulated: manifest.report.simulated,
                })
            }
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
                let store = self.store.clone();
                async move { (date, store.manifest(date).await) }
            })
            .collect();
        futures::stream::iter(reads).buffered(READ_CONCURRENCY)
    }

    /// The drawdown rows of each manifest's date, in the same order, read
    /// [`READ_CONCURRENCY`] at a time.
    pub async fn drawdowns(
        &self,
        manifests: &[RunManifest],
    ) -> Vec<Result<Vec<DrawdownRow>, StoreError>> {
        let reads: Vec<_> = manifests
            .iter()
            .map(|m| {
                let (store, m) = (self.store.clone(), m.clone());
                async move { store.drawdowns(&m).await }
            })
            .collect();
        futures::stream::iter(reads)
            .buffered(READ_CONCURRENCY)
            .collect()
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
        let reads: Vec<_> = manifests
            .iter()
            .filter(|m| m.object(Dataset::Account).is_some())
            .map(|m| {
                let (store, m) = (self.store.clone(), m.clone());
                async move {
                    let read = store.read_rows::<AccountRecord>(&m, Dataset::Account).await;
                    (
                        m.date,
                        read.map(|rows| rows.and_then(|r| r.first().map(AccountRecord::account))),
                    )
                }
            })
            .collect();
        futures::stream::iter(reads)
            .buffered(READ_CONCURRENCY)
            .filter_map(|(date, read)| async move {
                match read {
                    Ok(Some(a)) => Some((date, Ok(a))),
                    Ok(None) => None,
                    Err(e) => Some((date, Err(e))),
                }
            })
            .collect()
            .await
    }

    /// The screen of `date`, `None` when it is not published; a screen
    /// that is published but cannot be read is an error.
    pub async fn screen_of(&self, date: NaiveDate) -> Result<Option<ScreenRead>, StoreError> {
        let Some(manifest) = self.store.manifest(date).await? else {
            return Ok(None);
        };
        let rows = self.store.drawdowns(&manifest).await?;
        Ok(Some(ScreenRead { manifest, rows }))
    }

    /// The newest screen that reads cleanly: one rule for every reader, a
    /// damaged or vanished newer date is passed over (and listed in
    /// `skipped`), never trusted and never fatal.
    pub async fn latest_screen(&self) -> Result<LatestScreen, StoreError> {
        let listing = self.store.published_dates().await?;
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
                let store = self.store.clone();
                async move {
                    let read = async {
                        let manifest = store
                            .manifest(date)
                            .await
                            .map_err(|e| e.to_string())?
                            .ok_or_else(|| "the run manifest vanished while reading".to_string())?;
                        let rows = store
                            .drawdowns(&manifest)
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
        let manifest = self
            .store
            .manifest(date)
            .await
            .map_err(|e| e.to_string())?
            .ok_or_else(|| "the run manifest vanished while reading".to_string())?;
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
            history::parse_bars(date, simulated, &bytes)
                .map(|day| Some((day, entry.sha256.clone())))
                .map_err(|e| format!("{}: {e}", entry.path))
        })
        .await
        .map_err(|e| format!("reading {date} failed: {e}"))?
    }
}
