//! The storage contract, run twice: against local disk and against a real
//! S3-compatible server (moto) on loopback. Write, idempotent re-write,
//! partition listing, read-back, and corrupt or partial objects.

use crate::support;

use std::collections::BTreeMap;

use chrono::NaiveDate;
use dipwatch::domain::{DrawdownRow, RunReport, Symbol};
use dipwatch::store::{
    AccountRecord, BarRecord, Dataset, LAYOUT_VERSION, Lake, NewObject, PartRead, PositionRecord,
    SCHEMA_PATH, StorageUrl, Store, StoreError, encode,
};
use futures::StreamExt;
use object_store::{ObjectStore, path::Path};
use support::{MotoServer, Workspace, d, ok, stdout};

/// An empty store on local disk in a temp dir the caller keeps.
async fn scratch_store() -> (tempfile::TempDir, Store) {
    let dir = tempfile::tempdir().unwrap();
    let url = StorageUrl::Local(dir.path().to_path_buf());
    let store = Store::open(&url, &BTreeMap::new()).await.unwrap();
    (dir, store)
}

/// A lake in a fresh temp dir (kept as long as the caller keeps it).
fn local_lake() -> (StorageUrl, BTreeMap<String, String>, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let url = StorageUrl::Local(dir.path().join("lake"));
    (url, BTreeMap::new(), dir)
}

/// A lake under `prefix` of a fresh `bucket` on a moto server (served as
/// long as the caller keeps it), with the options that reach it.
fn s3_lake(bucket: &str, prefix: &str) -> (StorageUrl, BTreeMap<String, String>, MotoServer) {
    let moto = MotoServer::start();
    moto.create_bucket(bucket);
    let url = StorageUrl::parse(&format!("s3://{bucket}/{prefix}")).unwrap();
    (url, moto.options().into_iter().collect(), moto)
}

/// The report of a clean run over the two tickers [`rows`] holds.
fn report(date: NaiveDate) -> RunReport {
    support::report(date, 2)
}

fn rows(date: NaiveDate, scale: f64) -> Vec<DrawdownRow> {
    ["AAA", "BF.B"]
        .iter()
        .enumerate()
        .map(|(i, s)| DrawdownRow {
            date,
            symbol: Symbol::parse(s).unwrap(),
            current_price: 10.0 * scale + i as f64,
            peak_price: 20.0 * scale,
            peak_date: d("2026-06-01"),
            drawdown_pct: -50.0 + i as f64,
            days_since_peak: 40,
            volume: 1000,
            rank: i as u32 + 1,
        })
        .collect()
}

fn objects(date: NaiveDate, scale: f64) -> Vec<NewObject> {
    let dd = rows(date, scale);
    let bars: Vec<BarRecord> = dd
        .iter()
        .map(|r| BarRecord {
            date,
            symbol: r.symbol.clone(),
            open: r.current_price,
            high: r.current_price + 1.0,
            low: r.current_price - 1.0,
            close: r.current_price,
            volume: r.volume,
            trade_count: Some(12),
            vwap: None,
        })
        .collect();
    let (b, bn) = encode(Dataset::Bars, &bars).unwrap();
    let (r, rn) = encode(Dataset::Drawdowns, &dd).unwrap();
    vec![
        NewObject {
            dataset: Dataset::Bars,
            bytes: b,
            rows: bn,
        },
        NewObject {
            dataset: Dataset::Drawdowns,
            bytes: r,
            rows: rn,
        },
    ]
}

/// An object's bytes as the backend holds them (`None` if absent).
async fn raw(objects: &dyn ObjectStore, path: &str) -> Option<Vec<u8>> {
    match objects.get(&Path::from(path)).await {
        Ok(found) => Some(found.bytes().await.unwrap().to_vec()),
        Err(object_store::Error::NotFound { .. }) => None,
        Err(e) => panic!("{path}: {e}"),
    }
}

/// The published rows of `date`'s screen, as every reader gets them.
async fn screen(lake: &Lake, date: NaiveDate) -> Result<Vec<DrawdownRow>, StoreError> {
    Ok(lake.screen_of(date).await?.expect("published").rows)
}

/// The positions and account objects of a portfolio snapshot on `day`.
fn snapshot_objects(
    day: NaiveDate,
    held: &[dipwatch::domain::Position],
    account: &dipwatch::domain::Account,
) -> [NewObject; 2] {
    let (p, pn) = encode(
        Dataset::Positions,
        held.iter().map(|x| PositionRecord::new(day, x)),
    )
    .unwrap();
    let (a, an) = encode(Dataset::Account, [AccountRecord::new(day, account)]).unwrap();
    [
        NewObject {
            dataset: Dataset::Positions,
            bytes: p,
            rows: pn,
        },
        NewObject {
            dataset: Dataset::Account,
            bytes: a,
            rows: an,
        },
    ]
}

/// The suite both backends must pass.
async fn storage_contract(url: StorageUrl, options: BTreeMap<String, String>) {
    let store = Store::open(&url, &options).await.unwrap();
    let backend = support::store_audit::raw_objects(&url, &options);
    let backend = backend.as_ref();
    let lake = Lake::new(store.clone());
    assert!(lake.dates(None, None).await.unwrap().is_empty());

    // Write: objects, then the manifest that publishes the date.
    let (d1, d2, d3) = (d("2026-11-18"), d("2026-11-19"), d("2026-11-20"));
    let m1 = store
        .publish(d1, objects(d1, 1.0), BTreeMap::new(), report(d1))
        .await
        .unwrap();
    assert_eq!(m1.objects.len(), 2);
    assert_eq!(m1.object(Dataset::Drawdowns).unwrap().rows, 2);
    let schema = raw(backend, SCHEMA_PATH)
        .await
        .expect("schema written on first publish");
    let schema: serde_json::Value = serde_json::from_slice(&schema).unwrap();
    assert_eq!(schema["layout_version"], LAYOUT_VERSION);
    assert_eq!(
        schema["datasets"]["drawdowns"]["columns"][5],
        "drawdown_pct"
    );

    // Exactly the contract's paths and header.
    let dd_path = "drawdowns/date=2026-11-18/drawdowns.csv";
    let first = raw(backend, dd_path).await.unwrap();
    assert!(first.starts_with(b"date,symbol,current_price,peak_price,peak_date,drawdown_pct,days_since_peak,volume,rank\n"));
    assert!(
        raw(backend, "bars/date=2026-11-18/bars.csv")
            .await
            .is_some()
    );
    assert!(
        raw(backend, "runs/date=2026-11-18/run.json")
            .await
            .is_some()
    );

    // Re-write is idempotent: same bytes, same checksums.
    let again = store
        .publish(d1, objects(d1, 1.0), BTreeMap::new(), report(d1))
        .await
        .unwrap();
    assert_eq!(raw(backend, dd_path).await.unwrap(), first);
    assert_eq!(again.objects, m1.objects);

    // Partitions list in date order whatever the write order.
    store
        .publish(d3, objects(d3, 3.0), BTreeMap::new(), report(d3))
        .await
        .unwrap();
    store
        .publish(d2, objects(d2, 2.0), BTreeMap::new(), report(d2))
        .await
        .unwrap();
    assert_eq!(lake.dates(None, None).await.unwrap(), vec![d1, d2, d3]);

    // Read back, verified.
    let m2 = lake.manifest(d2).await.unwrap().unwrap();
    assert_eq!(screen(&lake, d2).await.unwrap(), rows(d2, 2.0));
    assert!(
        lake.positions(&m2).await.unwrap().is_none(),
        "no positions for d2"
    );

    // Objects without a manifest (a run killed before publishing) are not a date.
    let d4 = d("2026-11-23");
    store
        .put(
            &Dataset::Drawdowns.path(d4),
            objects(d4, 4.0)[1].bytes.clone(),
        )
        .await
        .unwrap();
    // Nor is a run partition holding something other than its run.json (a
    // damaged manifest kept aside; on disk, a write killed before its
    // rename): only the manifest publishes a date.
    store
        .put(
            &object_store::path::Path::from("runs/date=2026-11-23/run.json.damaged-1"),
            b"{}".to_vec(),
        )
        .await
        .unwrap();
    assert_eq!(lake.dates(None, None).await.unwrap(), vec![d1, d2, d3]);
    assert!(lake.manifest(d4).await.unwrap().is_none());

    // A truncated object is detected, reported with its path, and the others still read.
    let p2 = Dataset::Drawdowns.path(d2);
    let full = raw(backend, p2.as_ref()).await.unwrap();
    store
        .put(&p2, full[..full.len() / 2].to_vec())
        .await
        .unwrap();
    match screen(&lake, d2).await {
        Err(StoreError::Corrupt { path, reason }) => {
            assert_eq!(path, p2.to_string());
            assert!(
                reason.contains("does not match the run manifest"),
                "{reason}"
            );
        }
        other => panic!("expected Corrupt, got {other:?}"),
    }
    // Same length, flipped content: still caught.
    let mut flipped = full.clone();
    let last = flipped.len() - 2;
    flipped[last] = if flipped[last] == b'1' { b'2' } else { b'1' };
    store.put(&p2, flipped).await.unwrap();
    assert!(matches!(
        screen(&lake, d2).await,
        Err(StoreError::Corrupt { .. })
    ));
    assert_eq!(screen(&lake, d3).await.unwrap(), rows(d3, 3.0));

    // A rewritten object listed in the manifest: its date is skipped,
    // named, by every reader of the dataset.
    store
        .put(&Dataset::Bars.path(d1), b"date,symbol\n".to_vec())
        .await
        .unwrap();
    let parts: Vec<PartRead> = lake.parts(Dataset::Bars, vec![d1]).collect().await;
    assert!(
        matches!(&parts[..], [PartRead::Damaged(s)] if s.reason.contains("does not match the run manifest")),
        "{parts:?}"
    );
    let bars = lake.price_history(Some(d1), Some(d1)).await.unwrap();
    assert_eq!(bars.skipped.len(), 1);
    assert!(bars.history.is_empty());

    // A corrupt manifest: an error for that date, not a crash; listing still works.
    store
        .put(
            &dipwatch::store::run_manifest_path(d3),
            b"{\"layout_version\": 1, trunc".to_vec(),
        )
        .await
        .unwrap();
    assert!(matches!(
        lake.manifest(d3).await,
        Err(StoreError::Corrupt { .. })
    ));
    assert_eq!(lake.dates(None, None).await.unwrap().len(), 3);

    // Repair by re-running: the next publish makes d2 whole again.
    store
        .publish(d2, objects(d2, 2.0), BTreeMap::new(), report(d2))
        .await
        .unwrap();
    assert_eq!(screen(&lake, d2).await.unwrap(), rows(d2, 2.0));

    // A store written by a newer dipwatch is refused at open.
    store
        .put(
            &Path::from(SCHEMA_PATH),
            br#"{"layout_version": 99}"#.to_vec(),
        )
        .await
        .unwrap();
    let err = Store::open(&url, &options).await.unwrap_err();
    assert!(
        matches!(err, StoreError::NewerLayout { found: 99, .. }),
        "{err}"
    );
}

#[tokio::test]
async fn storage_contract_on_local_disk() {
    let (url, options, _dir) = local_lake();
    storage_contract(url, options).await;
}

#[tokio::test]
async fn staging_files_of_a_killed_writer_are_swept_when_old() {
    let (dir, store) = scratch_store().await;
    let d1 = d("2026-11-18");
    store
        .publish(d1, objects(d1, 1.0), BTreeMap::new(), report(d1))
        .await
        .unwrap();
    let part = dir.path().join("bars/date=2026-11-18");
    std::fs::write(part.join("bars.csv#3"), b"half a wri").unwrap();
    std::fs::write(part.join("notes#draft"), b"not ours").unwrap();
    assert_eq!(
        store.sweep_staging(std::time::Duration::from_secs(3600)),
        0,
        "too recent: maybe in flight"
    );
    assert_eq!(store.sweep_staging(std::time::Duration::ZERO), 1);
    assert!(!part.join("bars.csv#3").exists());
    assert!(
        part.join("notes#draft").exists(),
        "only name#digits is a staging file"
    );
    assert!(part.join("bars.csv").exists());
    let parts: Vec<PartRead> = Lake::new(store)
        .parts(Dataset::Bars, vec![d1])
        .collect()
        .await;
    assert!(matches!(&parts[..], [PartRead::Part(_)]), "{parts:?}");
}

#[tokio::test]
async fn storage_contract_on_s3() {
    let (url, options, _moto) = s3_lake("dipwatch-test", "some/prefix");
    storage_contract(url, options).await;
}

#[tokio::test]
async fn unreachable_s3_is_a_clear_error_naming_the_store() {
    let port = support::free_port();
    let options: BTreeMap<String, String> = [
        ("endpoint", format!("http://127.0.0.1:{port}")),
        ("allow_http", "true".into()),
        ("region", "us-east-1".into()),
        ("access_key_id", "testing".into()),
        ("secret_access_key", "testing-secret-zzz".into()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v))
    .collect();
    let url = StorageUrl::parse("s3://nowhere-bucket").unwrap();
    let err = Store::open(&url, &options).await.unwrap_err().to_string();
    assert!(err.contains("s3://nowhere-bucket"), "{err}");
    assert!(!err.contains("testing-secret-zzz"), "{err}");
}

/// The real binary collects into S3 and screens from it.
#[test]
fn cli_collect_then_screen_on_s3() {
    let moto = MotoServer::start();
    moto.create_bucket("dipwatch-cli");
    let mut ws = Workspace::new(40);
    ws.set_env("DIPWATCH__STORAGE__URL", "s3://dipwatch-cli/lake");
    ws.set_env("AWS_ENDPOINT", &moto.endpoint);
    ws.set_env("AWS_ALLOW_HTTP", "true");
    ws.set_env("AWS_REGION", "us-east-1");
    ws.set_env("AWS_ACCESS_KEY_ID", "testing");
    ws.set_env("AWS_SECRET_ACCESS_KEY", "testing");
    let out = ok(&ws.demo(&["collect", "--from", "2026-11-16", "--to", "2026-11-20"]));
    assert_eq!(
        out.lines().filter(|l| l.contains("  published  ")).count(),
        5,
        "{out}"
    );
    assert!(out.contains("store: s3://dipwatch-cli/lake"), "{out}");
    assert!(!ws.path("data").exists(), "nothing written locally");

    let table = ok(&ws.demo(&["screen", "--top", "5"]));
    assert!(
        table.starts_with("Drawdown screen for 2026-11-20  [SIMULATED PRICES"),
        "{table}"
    );
    assert_eq!(
        table.lines().filter(|l| l.contains('%')).count(),
        5,
        "{table}"
    );

    let csv = ok(&ws.demo(&["export", "drawdowns", "--from", "2026-11-18"]));
    let dates: Vec<&str> = csv.lines().skip(1).map(|l| &l[..10]).collect();
    assert_eq!(dates.first(), Some(&"2026-11-18"));
    assert_eq!(dates.last(), Some(&"2026-11-20"));
    assert!(dates.windows(2).all(|w| w[0] <= w[1]), "oldest first");
    assert_eq!(
        stdout(&ws.demo(&["export", "account"])).lines().count(),
        6,
        "the simulated broker snapshots every date"
    );
}

/// Whether prices are simulated is read from the data: a real-market
/// daemon (provider not simulated) loading a store whose dates a demo wrote
/// labels what it shows and lists the simulated dates for its warnings.
#[tokio::test]
async fn the_simulated_label_comes_from_the_manifests_not_the_provider() {
    let (_dir, store) = scratch_store().await;
    let (d1, d2) = (d("2026-11-19"), d("2026-11-20"));
    store
        .publish(d1, objects(d1, 1.0), BTreeMap::new(), report(d1))
        .await
        .unwrap();
    let portfolio = dipwatch::config::PortfolioSettings {
        profit_target_pct: 100.into(),
        top_positions: 5,
        asset_classes: vec![dipwatch::domain::AssetClass::UsEquity],
    };
    let empty = dipwatch::state::Snapshot::default();
    let snap = load_state(&store, "alpaca", false, &portfolio, 365, &empty)
        .await
        .unwrap();
    assert!(snap.simulated, "the shown screen is simulated: labelled");
    assert_eq!(snap.simulated_dates, [d1]);
    let warning = dipwatch::state::simulated_warning(&snap).unwrap();
    assert!(
        warning.contains("SIMULATED") && warning.contains("2026-11-19"),
        "{warning}"
    );

    // A real date on top: the screen shown is real, the warning stays.
    let mut real = report(d2);
    real.provider = "alpaca".into();
    real.simulated = false;
    store
        .publish(d2, objects(d2, 2.0), BTreeMap::new(), real)
        .await
        .unwrap();
    let snap = load_state(&store, "alpaca", false, &portfolio, 365, &empty)
        .await
        .unwrap();
    assert!(!snap.simulated);
    assert_eq!(snap.simulated_dates, [d1]);
    // The bars of both dates are held in memory as columns, each date
    // labelled as its manifest says.
    assert_eq!(snap.prices.dates(), [d1, d2]);
    assert!(snap.prices.is_simulated(0) && !snap.prices.is_simulated(1));
    let close = snap.prices.symbol_index(&snap.prices.symbols()[0]).unwrap();
    assert_eq!(
        snap.prices
            .series(close, dipwatch::query::Field::Close)
            .len(),
        2
    );
    // The span counts back from the newest date: one day holds d2 only;
    // none holds nothing.
    let span = |days| {
        let portfolio = &portfolio;
        let empty = &empty;
        let store = &store;
        async move {
            load_state(store, "alpaca", false, portfolio, days, empty)
                .await
                .unwrap()
                .prices
        }
    };
    assert_eq!(span(0).await.dates(), [] as [NaiveDate; 0]);
    assert_eq!(span(1).await.dates(), [d2]);
    assert_eq!(span(2).await.dates(), [d1, d2], "d1 is the day before d2");
    // The simulated provider labels everything and warns about nothing.
    let sim = load_state(&store, "sim", true, &portfolio, 365, &empty)
        .await
        .unwrap();
    assert!(sim.simulated && sim.simulated_dates.is_empty());
}

/// A portfolio snapshot stored by layout v1 (no `asset_class`, no `side`)
/// still loads into the daemon's state: its positions count as stocks, a
/// negative quantity is a short, and the profit rule is evaluated on them.
#[tokio::test]
async fn the_daemon_state_reads_a_layout_v1_portfolio() {
    let (_dir, store) = scratch_store().await;
    let day = d("2026-11-20");
    let v1_positions = "date,symbol,quantity,avg_entry_price,current_price,unrealized_return_pct,market_value,unrealized_pl\n\
        2026-11-20,AAPL,10,100,250,150,2500,1500\n\
        2026-11-20,MSFT,-5,400,380,5,-1900,100\n";
    let account = "date,equity,cash,buying_power,status,currency,last_equity,long_market_value,daytrade_count,pattern_day_trader\n\
        2026-11-20,10000,5000,10000,ACTIVE,USD,9900,5000,0,false\n";
    let mut objects = objects(day, 1.0);
    objects.push(NewObject {
        dataset: Dataset::Positions,
        bytes: v1_positions.as_bytes().to_vec(),
        rows: 2,
    });
    objects.push(NewObject {
        dataset: Dataset::Account,
        bytes: account.as_bytes().to_vec(),
        rows: 1,
    });
    store
        .publish(day, objects, BTreeMap::new(), report(day))
        .await
        .unwrap();
    let snap = real_market_state(&store, 1).await;
    assert!(snap.load_warnings.is_empty(), "{:?}", snap.load_warnings);
    let p = snap.portfolio.expect("the v1 snapshot is loaded");
    use dipwatch::domain::{AssetClass, Side};
    let kinds: Vec<(String, AssetClass, Side)> = p
        .positions
        .iter()
        .map(|x| (x.symbol.to_string(), x.asset_class.clone(), x.side.clone()))
        .collect();
    assert_eq!(
        kinds,
        [
            ("AAPL".into(), AssetClass::UsEquity, Side::Long),
            ("MSFT".into(), AssetClass::UsEquity, Side::Short)
        ]
    );
    assert!(p.profit.take_profit, "{:?}", p.profit);
    assert_eq!(p.account.daytrade_count, Some(0), "v1 cells read as stored");
}

/// The daemon's state shows the profit verdict the run stored with its
/// snapshot, judged under the settings of then (`/monitor` says when they
/// differ from now's), rather than judging the positions again.
#[tokio::test]
async fn the_daemon_state_shows_the_stored_profit_verdict() {
    use dipwatch::domain::{Position, profit_check};
    let (_dir, store) = scratch_store().await;
    let day = d("2026-11-20");
    let held = vec![
        Position::from_prices(
            Symbol::parse("AAPL").unwrap(),
            10.into(),
            100.into(),
            250.into(),
        ),
        Position::from_prices(
            Symbol::parse("MSFT").unwrap(),
            10.into(),
            100.into(),
            110.into(),
        ),
    ];
    let account = support::account(10_000, 5_000);
    let mut objects = objects(day, 1.0);
    objects.extend(snapshot_objects(day, &held, &account));
    // Judged then over both positions at 100%: (150 + 10) / 2 = 80, no.
    let stored = profit_check(&held, 2, 100.into());
    assert!(!stored.take_profit);
    let mut report = report(day);
    report.profit = Some(stored.clone());
    store
        .publish(day, objects, BTreeMap::new(), report)
        .await
        .unwrap();
    // Now: the best one at 100% would say yes (150).
    let snap = real_market_state(&store, 1).await;
    assert!(snap.load_warnings.is_empty(), "{:?}", snap.load_warnings);
    let p = snap.portfolio.expect("the snapshot is loaded");
    assert_eq!(p.profit, stored);
    assert_eq!(p.positions.len(), 2);
}

/// The state a real-market daemon loads from `store`, its profit rule the
/// best `top_positions` stocks at 100%.
async fn real_market_state(store: &Store, top_positions: usize) -> dipwatch::state::Snapshot {
    let portfolio = dipwatch::config::PortfolioSettings {
        profit_target_pct: 100.into(),
        top_positions,
        asset_classes: vec![dipwatch::domain::AssetClass::UsEquity],
    };
    let empty = dipwatch::state::Snapshot::default();
    load_state(store, "alpaca", false, &portfolio, 365, &empty)
        .await
        .unwrap()
}

/// The daemon's state loaded from `store` as a daemon on `provider` would.
async fn load_state(
    store: &Store,
    provider: &'static str,
    provider_simulated: bool,
    portfolio: &dipwatch::config::PortfolioSettings,
    memory_days: u32,
    previous: &dipwatch::state::Snapshot,
) -> Result<dipwatch::state::Snapshot, dipwatch::store::StoreError> {
    let settings = dipwatch::state::LoadSettings {
        provider,
        provider_simulated,
        portfolio,
        memory_days,
    };
    dipwatch::state::load(&Lake::new(store.clone()), settings, previous).await
}

/// Four weeks of sessions at `url`, each with its portfolio snapshot,
/// and a store over the same objects that counts what is read.
async fn sessions_with_snapshots(
    url: &StorageUrl,
    options: &BTreeMap<String, String>,
) -> (
    Vec<NaiveDate>,
    std::sync::Arc<support::store_audit::CountingStore>,
    Store,
) {
    use dipwatch::domain::Position;
    let writer = Store::open(url, options).await.unwrap();
    let held = [Position::from_prices(
        Symbol::parse("AAA").unwrap(),
        10.into(),
        8.into(),
        12.into(),
    )];
    let account = support::account(10_000, 5_000);
    let days: Vec<NaiveDate> = d("2025-03-03")
        .iter_days()
        .filter(|d| chrono::Datelike::weekday(d).number_from_monday() <= 5)
        .take(20)
        .collect();
    for (i, day) in days.iter().enumerate() {
        let mut objects = objects(*day, 1.0 + i as f64 / 100.0);
        objects.extend(snapshot_objects(*day, &held, &account));
        writer
            .publish(*day, objects, BTreeMap::new(), report(*day))
            .await
            .unwrap();
    }
    let counting = std::sync::Arc::new(support::store_audit::CountingStore::new(
        support::store_audit::raw_objects(url, options),
    ));
    let store = Store::from_object_store(counting.clone(), url.to_string());
    (days, counting, store)
}

/// One reload of the daemon (the state, then the bars it holds in memory
/// and the risk view, as the runner does after every run) lists the
/// partitions once and reads each object once, whichever of its parts
/// need it: the manifests, the screens, the positions and the accounts.
async fn a_reload_reads_each_object_once(url: StorageUrl, options: BTreeMap<String, String>) {
    use dipwatch::runner::{Runner, RunnerParts};
    use std::sync::Arc;

    let (days, counting, store) = sessions_with_snapshots(&url, &options).await;
    let config = dipwatch::config::AppConfig::load_with_env(None, Default::default()).unwrap();
    let sim = Arc::new(dipwatch::market::sim::SimMarket::new(
        config.universe.clone(),
    ));
    let runner = Runner::new(RunnerParts {
        settings: Arc::new(dipwatch::app::run_settings(&config)),
        market: sim,
        broker: None,
        store,
        state: dipwatch::state::AppState::new(dipwatch::state::Snapshot::default()),
        metrics: Arc::new(dipwatch::metrics::Metrics::new()),
    });
    runner.reload_state().await.unwrap();

    // Everything was read, and used.
    let snap = runner.state().snapshot();
    assert!(snap.load_warnings.is_empty(), "{:?}", snap.load_warnings);
    assert_eq!(snap.screen.as_ref().map(|s| s.date), days.last().copied());
    assert_eq!(snap.accounts.len(), days.len());
    assert_eq!(snap.prices.dates(), &days[..]);
    let risk = snap.risk.as_ref().expect("the risk view of the snapshot");
    assert_eq!(risk.date, *days.last().unwrap());
    // Each object once.
    let reads = counting.take_reads();
    let twice: Vec<_> = reads.iter().filter(|(_, n)| **n > 1).collect();
    assert!(twice.is_empty(), "read more than once: {twice:?}");
    for day in &days {
        for dataset in Dataset::ALL {
            let path = dataset.path(*day).to_string();
            assert_eq!(reads.get(&path), Some(&1), "{path}");
        }
        let manifest = dipwatch::store::run_manifest_path(*day).to_string();
        assert_eq!(reads.get(&manifest), Some(&1), "{manifest}");
    }
    assert_eq!(counting.take_lists(), 1, "the partitions are listed once");
}

#[tokio::test]
async fn a_reload_reads_each_object_once_on_local_disk() {
    let (url, options, _dir) = local_lake();
    a_reload_reads_each_object_once(url, options).await;
}

#[tokio::test]
async fn a_reload_reads_each_object_once_on_s3() {
    let (url, options, _moto) = s3_lake("dipwatch-reload", "lake");
    a_reload_reads_each_object_once(url, options).await;
}

/// `/download` chooses its dates from their manifests, then reads their
/// objects: each manifest and object is read once, and only the dates
/// asked for (and the manifests read ahead with them) are read.
async fn a_download_reads_each_object_once(url: StorageUrl, options: BTreeMap<String, String>) {
    let (days, counting, store) = sessions_with_snapshots(&url, &options).await;
    let csv = dipwatch::bot::download::build_csv(&store, Dataset::Account, 5, usize::MAX)
        .await
        .unwrap()
        .expect("five snapshots");
    assert_eq!(csv.dates, days[days.len() - 5..]);
    assert_eq!(csv.rows, 5);
    assert!(csv.bytes.starts_with(Dataset::Account.header().as_bytes()));
    let reads = counting.take_reads();
    let twice: Vec<_> = reads.iter().filter(|(_, n)| **n > 1).collect();
    assert!(twice.is_empty(), "read more than once: {twice:?}");
    let accounts: Vec<_> = reads.keys().filter(|p| p.starts_with("account/")).collect();
    assert_eq!(accounts.len(), 5, "{accounts:?}");
    assert_eq!(counting.take_lists(), 1);
}

#[tokio::test]
async fn a_download_reads_each_object_once_on_local_disk() {
    let (url, options, _dir) = local_lake();
    a_download_reads_each_object_once(url, options).await;
}

#[tokio::test]
async fn a_download_reads_each_object_once_on_s3() {
    let (url, options, _moto) = s3_lake("dipwatch-download", "lake");
    a_download_reads_each_object_once(url, options).await;
}
