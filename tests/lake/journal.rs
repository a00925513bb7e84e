//! The order and audit journal in the lake (`orders/date=D/`): appends
//! from two writers at once lose and overwrite nothing, on local disk and
//! on S3 (moto); what a killed writer leaves never reads as an event; the
//! lake's readers and the store audit are not confused by it; and DuckDB
//! reads it with the same glob as the other datasets.

use crate::support;

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use chrono::{DateTime, TimeZone, Utc};
use dipwatch::journal::{EventKind, Journal, JournalEvent};
use dipwatch::store::{Lake, StorageUrl, Store};
use object_store::{ObjectStore, PutPayload, path::Path};
use rust_decimal::Decimal;
use support::{MotoServer, d};

/// 15:00 UTC on 2026-03-09 is 11:00 in New York: the partition's date.
fn at(seconds: i64) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 3, 9, 15, 0, 0).unwrap() + chrono::Duration::seconds(seconds)
}

/// An order step, told apart by `n` (its reason) and `writer` (its source).
fn event(writer: &str, n: usize, time: DateTime<Utc>) -> JournalEvent {
    JournalEvent {
        time,
        event: EventKind::Preview,
        client_order_id: Some(format!("dw-{writer}-{n}")),
        order_id: None,
        source: writer.to_string(),
        symbol: Some("AAPL".into()),
        side: Some("buy".into()),
        qty: Some(Decimal::new(25, 1)),
        notional: Some(Decimal::new(47_012, 2)),
        limit_price: Some(Decimal::new(18_805, 2)),
        status: Some("previewed".into()),
        reason: Some(format!("step {n}")),
    }
}

/// Two writers, each with its own `Store` opened on the same lake, append
/// `per_writer` events each at once, every one at the same instant (the
/// worst case for names made from the time).
async fn two_writers_at_once(url: &StorageUrl, options: &BTreeMap<String, String>) {
    let per_writer = 40;
    let a = Journal::new(Store::open(url, options).await.unwrap());
    let b = Journal::new(Store::open(url, options).await.unwrap());
    let write = |journal: Journal, writer: &'static str| async move {
        let appends = (0..per_writer).map(|n| journal.append(event(writer, n, at(0))));
        for r in futures::future::join_all(appends).await {
            r.unwrap();
        }
    };
    tokio::join!(write(a.clone(), "cli"), write(b.clone(), "daemon"));
    let back = a.day(d("2026-03-09")).await.unwrap();
    assert_eq!(back.len(), 2 * per_writer, "no event lost");
    let ids: BTreeSet<_> = back.iter().map(|e| e.client_order_id.clone()).collect();
    assert_eq!(ids.len(), 2 * per_writer, "none overwritten by another");
    for e in &back {
        let n: usize = e.reason.as_deref().unwrap()[5..].parse().unwrap();
        assert_eq!(*e, event(&e.source, n, at(0)), "read back whole");
    }
    // The other handle reads the same; other days are empty.
    assert_eq!(b.day(d("2026-03-09")).await.unwrap().len(), 2 * per_writer);
    assert!(b.day(d("2026-03-10")).await.unwrap().is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_writers_lose_and_overwrite_nothing_on_disk() {
    let dir = tempfile::tempdir().unwrap();
    let url = StorageUrl::Local(dir.path().join("lake"));
    two_writers_at_once(&url, &BTreeMap::new()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_writers_lose_and_overwrite_nothing_on_s3() {
    let moto = MotoServer::start();
    moto.create_bucket("journal");
    let url = StorageUrl::parse("s3://journal/lake").unwrap();
    let options = moto.options().into_iter().collect();
    two_writers_at_once(&url, &options).await;
}

/// Events are filed by their New York date, and read back in time order
/// whatever order they were written in; a range spans partitions.
#[tokio::test]
async fn events_are_filed_by_new_york_date_and_read_in_time_order() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(&StorageUrl::Local(dir.path().into()), &BTreeMap::new())
        .await
        .unwrap();
    let journal = Journal::new(store);
    // 03:00 UTC on the 10th is still the 9th in New York.
    let late = Utc.with_ymd_and_hms(2026, 3, 10, 3, 0, 0).unwrap();
    let next = Utc.with_ymd_and_hms(2026, 3, 10, 14, 0, 0).unwrap();
    for (n, time) in [(2, late), (0, at(0)), (3, next), (1, at(60))] {
        journal.append(event("cli", n, time)).await.unwrap();
    }
    let ninth = journal.day(d("2026-03-09")).await.unwrap();
    let steps: Vec<_> = ninth.iter().map(|e| e.reason.clone().unwrap()).collect();
    assert_eq!(steps, ["step 0", "step 1", "step 2"]);
    assert!(dir.path().join("orders/date=2026-03-09").is_dir());
    let tenth = journal.day(d("2026-03-10")).await.unwrap();
    assert_eq!(tenth.len(), 1);
    let both = journal
        .range(d("2026-03-01"), d("2026-03-31"))
        .await
        .unwrap();
    assert_eq!(both.events.len(), 4);
    assert!(both.events.windows(2).all(|w| w[0].time <= w[1].time));
}

/// What a killed writer leaves (a staging file `NAME#N`, half written), a
/// damaged object and a stranger's file never read as events; the rest of
/// the day still does. The lake's dates and the store audit are not
/// confused by the journal.
#[tokio::test]
async fn a_half_written_object_never_reads_as_an_event() {
    let dir = tempfile::tempdir().unwrap();
    let url = StorageUrl::Local(dir.path().into());
    let store = Store::open(&url, &BTreeMap::new()).await.unwrap();
    let journal = Journal::new(store.clone());
    journal.append(event("cli", 0, at(0))).await.unwrap();
    journal.append(event("cli", 1, at(1))).await.unwrap();
    let part = dir.path().join("orders/date=2026-03-09");
    let whole = std::fs::read_dir(&part)
        .unwrap()
        .next()
        .unwrap()
        .unwrap()
        .path();
    let bytes = std::fs::read(&whole).unwrap();
    // A writer killed mid-put leaves its staging file.
    std::fs::write(
        part.join("20260309T150002.000000000Z-00000000000000aa.csv#1"),
        &bytes[..bytes.len() / 2],
    )
    .unwrap();
    // An object cut short (by hand, by a broken copy), and one that is
    // not CSV at all.
    std::fs::write(
        part.join("20260309T150003.000000000Z-00000000000000bb.csv"),
        &bytes[..bytes.len() - 3],
    )
    .unwrap();
    std::fs::write(
        part.join("20260309T150004.000000000Z-00000000000000cc.csv"),
        b"\x00\xffnot csv\n",
    )
    .unwrap();
    std::fs::write(part.join("README.txt"), b"notes\n").unwrap();
    let read = journal
        .range(d("2026-03-09"), d("2026-03-09"))
        .await
        .unwrap();
    let steps: Vec<_> = read
        .events
        .iter()
        .map(|e| e.reason.clone().unwrap())
        .collect();
    assert_eq!(steps, ["step 0", "step 1"]);
    let skipped: Vec<_> = read.skipped.iter().map(|s| s.path.as_str()).collect();
    assert_eq!(
        skipped,
        [
            "orders/date=2026-03-09/20260309T150003.000000000Z-00000000000000bb.csv",
            "orders/date=2026-03-09/20260309T150004.000000000Z-00000000000000cc.csv",
        ]
    );
    // The lake's readers see no dates; the audit names only the damage.
    let lake = Lake::new(store);
    assert!(lake.dates(None, None).await.unwrap().is_empty());
    let listing = lake.listing(None, None).await.unwrap();
    assert!(listing.junk.is_empty() && listing.future.is_empty());
    std::fs::remove_file(part.join("README.txt")).unwrap();
    let fs = object_store::local::LocalFileSystem::new_with_prefix(dir.path()).unwrap();
    let audit = support::store_audit::audit(Arc::new(fs), "lake").await;
    assert_eq!(audit.violations.len(), 2, "{:?}", audit.violations);
    assert!(
        audit
            .violations
            .iter()
            .all(|v| v.contains("not a journal object")),
        "{:?}",
        audit.violations
    );
}

/// A name already taken is never overwritten: the conditional put refuses
/// it on S3 as on disk (the journal then draws another name).
#[tokio::test]
async fn the_conditional_put_never_replaces_an_object_on_s3() {
    let moto = MotoServer::start();
    moto.create_bucket("cas");
    let options: BTreeMap<String, String> = moto.options().into_iter().collect();
    let url = StorageUrl::parse("s3://cas/lake").unwrap();
    let raw: Arc<dyn ObjectStore> = support::store_audit::raw_objects(&url, &options);
    let path = Path::from("orders/date=2026-03-09/taken.csv");
    let create = object_store::PutOptions::from(object_store::PutMode::Create);
    raw.put_opts(&path, PutPayload::from_static(b"first\n"), create.clone())
        .await
        .unwrap();
    let again = raw
        .put_opts(&path, PutPayload::from_static(b"second\n"), create)
        .await;
    assert!(
        matches!(again, Err(object_store::Error::AlreadyExists { .. })),
        "{again:?}"
    );
    let kept = raw.get(&path).await.unwrap().bytes().await.unwrap();
    assert_eq!(&kept[..], b"first\n");
}

/// DuckDB reads the journal with the glob every dataset uses, hive
/// partitions and all, with the README's column types (a chat id looks
/// like a number to its sniffer): hostile text stays one cell, numbers are
/// numbers.
#[tokio::test]
async fn duckdb_reads_the_journal_like_the_other_datasets() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(&StorageUrl::Local(dir.path().into()), &BTreeMap::new())
        .await
        .unwrap();
    let journal = Journal::new(store);
    let hostile = "=HYPERLINK(\"http://x\"), then\na second line";
    let mut first = event("123456789", 0, at(0));
    first.reason = Some(hostile.into());
    journal.append(first).await.unwrap();
    // Many objects whose sources all look like numbers (chat ids), then
    // `web:42`: DuckDB's sniffing alone would take `source` for a number.
    for n in 0..40 {
        let mut sign_in = JournalEvent::command(EventKind::Trigger, 987_654_321).status(n);
        sign_in.time = at(1);
        journal.append(sign_in).await.unwrap();
    }
    journal.append(event("web:42", 1, at(5))).await.unwrap();
    let next_day = Utc.with_ymd_and_hms(2026, 3, 10, 15, 0, 0).unwrap();
    journal
        .append(JournalEvent::command(EventKind::SignIn, "web:42").status("ok"))
        .await
        .unwrap();
    journal.append(event("cli", 2, next_day)).await.unwrap();
    let script = r#"
import json, sys, duckdb
rows = duckdb.sql(
    "SELECT CAST(date AS VARCHAR), event, source, qty * 2, reason "
    "FROM read_csv(?, hive_partitioning = true, types = {"
    "'source': 'VARCHAR', 'status': 'VARCHAR', 'reason': 'VARCHAR', "
    "'qty': 'DECIMAL(38,9)', 'notional': 'DECIMAL(38,9)', 'limit_price': 'DECIMAL(38,9)'}) "
    "WHERE event = 'preview' ORDER BY time",
    params=[sys.argv[1] + "/orders/date=*/*.csv"],
).fetchall()
print(json.dumps([[str(c) for c in r] for r in rows]))
"#;
    let out = std::process::Command::new("python3")
        .args(["-c", script, &dir.path().display().to_string()])
        .output()
        .expect("python3");
    assert!(
        out.status.success(),
        "duckdb (python3 -m pip install duckdb; scripts/test does): {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let rows: Vec<Vec<String>> = serde_json::from_slice(&out.stdout).unwrap();
    let guarded = format!("'{hostile}");
    assert_eq!(
        rows,
        [
            [
                "2026-03-09",
                "preview",
                "123456789",
                "5.000000000",
                guarded.as_str()
            ],
            ["2026-03-09", "preview", "web:42", "5.000000000", "step 1"],
            ["2026-03-10", "preview", "cli", "5.000000000", "step 2"],
        ]
    );
}
