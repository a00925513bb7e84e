//! The read path's price history: a lake written by the real binary (the
//! simulated market) read back as columns, on local disk and on S3 (moto),
//! checked cell by cell against the CSV decoded independently, with a
//! damaged date skipped and named.

use crate::support;

use std::collections::BTreeMap;

use chrono::NaiveDate;
use dipwatch::domain::Symbol;
use dipwatch::query::{Field, PriceHistory};
use dipwatch::store::{BarRecord, Dataset, Lake, PartRead, StorageUrl, Store, decode};
use futures::StreamExt;
use support::{MotoServer, Workspace, ok};

const FROM: &str = "2026-10-01";
const TO: &str = "2026-11-20";

/// Every bar of the lake as decoded by the csv crate (the writer's own
/// codec): (date, symbol) -> [open, high, low, close, volume].
async fn decoded(store: &Store) -> BTreeMap<(NaiveDate, Symbol), [f64; 5]> {
    let mut out = BTreeMap::new();
    let lake = Lake::new(store.clone());
    let dates = lake.dates(None, None).await.unwrap();
    let parts: Vec<PartRead> = lake.parts(Dataset::Bars, dates).collect().await;
    for part in parts {
        let PartRead::Part(part) = part else {
            continue;
        };
        let mut bytes = Dataset::Bars.header().into_bytes();
        bytes.extend_from_slice(&part.body);
        for r in decode::<BarRecord>(Dataset::Bars, &bytes).unwrap() {
            out.insert(
                (r.date, r.symbol),
                [r.open, r.high, r.low, r.close, r.volume as f64],
            );
        }
    }
    out
}

/// Every present cell of `h`, keyed like [`decoded`].
fn cells(h: &PriceHistory) -> BTreeMap<(NaiveDate, Symbol), [f64; 5]> {
    let mut out = BTreeMap::new();
    for (s, symbol) in h.symbols().iter().enumerate() {
        let col = |f| h.series(s, f);
        let (o, hi, l, c, v) = (
            col(Field::Open),
            col(Field::High),
            col(Field::Low),
            col(Field::Close),
            col(Field::Volume),
        );
        for (d, date) in h.dates().iter().enumerate() {
            if h.present(s)[d] {
                out.insert((*date, symbol.clone()), [o[d], hi[d], l[d], c[d], v[d]]);
            } else {
                assert!(c[d].is_nan(), "an absent cell holds a value");
            }
        }
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_history_holds_exactly_what_the_lake_published() {
    let ws = Workspace::new(40);
    ok(&ws.demo(&["collect", "--from", FROM, "--to", TO]));
    let url = StorageUrl::Local(ws.path("data"));
    let store = Store::open(&url, &Default::default()).await.unwrap();
    let expected = decoded(&store).await;
    assert!(expected.len() > 1000, "{} bars", expected.len());

    let load = Lake::new(store.clone())
        .price_history(None, None)
        .await
        .unwrap();
    assert!(load.skipped.is_empty(), "{:?}", load.skipped);
    assert_eq!(cells(&load.history), expected);
    assert!(
        load.history.any_simulated(),
        "simulated prices are known as such"
    );
    assert_eq!(load.history.bar_count(), expected.len());

    // A range reads only its dates.
    let from: NaiveDate = "2026-11-02".parse().unwrap();
    let to: NaiveDate = "2026-11-13".parse().unwrap();
    let ranged = Lake::new(store.clone())
        .price_history(Some(from), Some(to))
        .await
        .unwrap();
    assert_eq!(ranged.history.dates().len(), 10);
    assert!(
        ranged
            .history
            .dates()
            .iter()
            .all(|d| (from..=to).contains(d))
    );

    // A damaged object: that date is skipped and named, the rest loads.
    let damaged = ws.path("data/bars/date=2026-11-10/bars.csv");
    let mut bytes = std::fs::read(&damaged).unwrap();
    bytes.truncate(bytes.len() / 2);
    std::fs::write(&damaged, bytes).unwrap();
    let load = Lake::new(store).price_history(None, None).await.unwrap();
    assert_eq!(load.skipped.len(), 1, "{:?}", load.skipped);
    assert_eq!(
        load.skipped[0].date,
        "2026-11-10".parse::<NaiveDate>().unwrap()
    );
    assert!(
        load.skipped[0]
            .reason
            .contains("does not match the run manifest")
    );
    let day: NaiveDate = "2026-11-10".parse().unwrap();
    let mut rest = expected.clone();
    rest.retain(|(d, _), _| *d != day);
    assert_eq!(cells(&load.history), rest);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn parts_stream_a_dataset_in_order_and_name_damaged_dates() {
    let ws = Workspace::new(20);
    ok(&ws.demo(&["collect", "--from", "2026-11-02", "--to", TO]));
    let damaged = ws.path("data/drawdowns/date=2026-11-12/drawdowns.csv");
    std::fs::write(&damaged, "date,symbol\n").unwrap();
    let store = Store::open(&StorageUrl::Local(ws.path("data")), &Default::default())
        .await
        .unwrap();
    let lake = Lake::new(store.clone());
    let dates = lake.dates(None, None).await.unwrap();
    let mut reads: Vec<PartRead> = lake
        .parts(Dataset::Drawdowns, dates.iter().rev().copied().collect())
        .collect()
        .await;
    reads.reverse();
    assert_eq!(reads.len(), dates.len());
    for (read, date) in reads.iter().zip(&dates) {
        match read {
            PartRead::Part(p) => {
                assert_eq!(p.date, *date);
                assert!(p.simulated);
                // The body is the object without its header, row for row.
                let object = Dataset::Drawdowns.path(*date).to_string();
                let text = std::fs::read_to_string(ws.path(&format!("data/{object}"))).unwrap();
                let (header, rows) = text.split_once('\n').unwrap();
                assert_eq!(header, Dataset::Drawdowns.columns().join(","));
                assert_eq!(p.body, rows.as_bytes());
                assert_eq!(p.rows as usize, rows.lines().count());
            }
            PartRead::Damaged(s) => {
                assert_eq!(s.date.to_string(), "2026-11-12");
                assert!(s.reason.contains("does not match"), "{}", s.reason);
            }
            PartRead::Absent(d) => panic!("{d}: every date has drawdowns"),
        }
    }
    assert_eq!(
        reads
            .iter()
            .filter(|r| matches!(r, PartRead::Damaged(_)))
            .count(),
        1
    );
}

#[test]
fn the_history_reads_the_same_from_s3() {
    let moto = MotoServer::start();
    moto.create_bucket("dipwatch-history");
    let mut ws = Workspace::new(30);
    ws.use_s3(&moto, "s3://dipwatch-history/lake");
    ok(&ws.demo(&["collect", "--from", "2026-11-02", "--to", TO]));
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        let url = StorageUrl::parse("s3://dipwatch-history/lake").unwrap();
        let options = moto.options().into_iter().collect();
        let store = Store::open(&url, &options).await.unwrap();
        let expected = decoded(&store).await;
        let load = Lake::new(store).price_history(None, None).await.unwrap();
        assert!(load.skipped.is_empty(), "{:?}", load.skipped);
        assert_eq!(load.history.dates().len(), 15);
        assert_eq!(cells(&load.history), expected);
    });
}
