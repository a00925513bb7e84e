//! `dipwatch history` through the real binary on a small collected lake
//! with the benchmark (SPY) collected beside the universe: breadth and a
//! symbol's drawdown per session, checked against the published screens
//! (each date's drawdowns CSV decoded here with the csv crate) on every
//! published date, the backfill's first dates included, SPY never ranked;
//! the charts, and the refusals.

use crate::support;

use dipwatch::store::{Dataset, StorageUrl, Store};
use futures::StreamExt;
use support::{Workspace, assert_fails_with, ok, stderr};

fn workspace() -> Workspace {
    let mut ws = Workspace::new(15);
    ws.set_env("DIPWATCH__SCREEN__LOOKBACK_DAYS", "20");
    ws.set_env("DIPWATCH__SCREEN__MIN_HISTORY", "10");
    // The benchmark collected beside the universe: in the lake, never ranked.
    ws.set_env("DIPWATCH__BACKTEST__BENCHMARK", "SPY");
    ok(&ws.demo(&["collect", "--from", "2026-06-01", "--to", "2026-09-30"]));
    ws
}

/// One published row: symbol, close, drawdown, rank.
#[derive(Debug, Clone, PartialEq)]
struct Row {
    symbol: String,
    close: f64,
    drawdown_pct: f64,
    rank: u64,
}

/// One published screen.
struct Published {
    date: String,
    rows: Vec<Row>,
}

/// Every published screen, its drawdowns object decoded by column name.
fn published(ws: &Workspace) -> Vec<Published> {
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        let store = Store::open(&StorageUrl::Local(ws.path("data")), &Default::default())
            .await
            .unwrap();
        let mut out = Vec::new();
        let lake = dipwatch::store::Lake::new(store);
        let dates = lake.dates(None, None).await.unwrap();
        let parts: Vec<_> = lake.parts(Dataset::Drawdowns, dates).collect().await;
        for part in parts {
            let dipwatch::store::PartRead::Part(part) = part else {
                panic!("every screen reads: {part:?}");
            };
            let date = part.date;
            let mut bytes = Dataset::Drawdowns.header().into_bytes();
            bytes.extend_from_slice(&part.body);
            let mut reader = csv::Reader::from_reader(&bytes[..]);
            let header = reader.headers().unwrap().clone();
            let col = |name: &str| header.iter().position(|h| h == name).unwrap();
            let (sym, close, dd, rank) = (
                col("symbol"),
                col("current_price"),
                col("drawdown_pct"),
                col("rank"),
            );
            let rows = reader
                .records()
                .map(|r| {
                    let r = r.unwrap();
                    Row {
                        symbol: r[sym].to_string(),
                        close: r[close].parse().unwrap(),
                        drawdown_pct: r[dd].parse().unwrap(),
                        rank: r[rank].parse().unwrap(),
                    }
                })
                .collect();
            out.push(Published {
                date: date.to_string(),
                rows,
            });
        }
        out
    })
}

fn json(out: &std::process::Output) -> Vec<serde_json::Value> {
    serde_json::from_str::<serde_json::Value>(&ok(out))
        .unwrap()
        .as_array()
        .unwrap()
        .clone()
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    let m = v.len() / 2;
    if v.len() % 2 == 1 {
        v[m]
    } else {
        (v[m - 1] + v[m]) / 2.0
    }
}

#[test]
fn breadth_and_drawdown_history_equal_the_published_screens_on_every_date() {
    let ws = workspace();
    let screens = published(&ws);
    let ranked: Vec<&Published> = screens.iter().filter(|s| !s.rows.is_empty()).collect();
    assert!(ranked.len() > 50, "sessions ranked: {}", ranked.len());
    // The backfill screened its first date with a lookback it fetched but
    // did not store: the published screen ranks the whole universe there.
    assert_eq!(
        ranked[0].date, screens[0].date,
        "the first date is published"
    );
    assert_eq!(
        ranked[0].rows.len(),
        15,
        "the whole universe on the first date"
    );
    assert!(
        screens
            .iter()
            .flat_map(|s| &s.rows)
            .all(|r| r.symbol != "SPY"),
        "the benchmark is never ranked"
    );

    let breadth = json(&ws.demo(&["history", "breadth", "--format", "json"]));
    assert_eq!(breadth.len(), ranked.len(), "one point per ranked session");
    let mut deep = 0;
    for (point, s) in breadth.iter().zip(&ranked) {
        let dd: Vec<f64> = s.rows.iter().map(|r| r.drawdown_pct).collect();
        let count = |at: f64| dd.iter().filter(|v| **v <= at).count() as u64;
        assert_eq!(point["date"], s.date);
        assert_eq!(point["ranked"], dd.len() as u64, "{}", s.date);
        assert_eq!(point["down_20"], count(-20.0), "{}", s.date);
        assert_eq!(point["down_30"], count(-30.0), "{}", s.date);
        assert_eq!(
            point["median_pct"].as_f64().unwrap(),
            median(dd.clone()),
            "{}",
            s.date
        );
        deep += count(-20.0);
    }
    assert!(deep > 0, "the case has names down 20%+");

    // A period: the same points.
    let from = &ranked[40].date;
    let to = &ranked[60].date;
    let part = json(&ws.demo(&[
        "history", "breadth", "--from", from, "--to", to, "--format", "json",
    ]));
    assert_eq!(part.len(), 21);
    assert_eq!(part[..], breadth[40..=60]);

    // One symbol: its drawdown and rank as each session's screen has them.
    let symbol = ranked.last().unwrap().rows[0].symbol.clone();
    let rows = json(&ws.demo(&["history", "drawdown", &symbol, "--format", "json"]));
    let expected: Vec<_> = ranked
        .iter()
        .filter_map(|s| s.rows.iter().find(|r| r.symbol == symbol).map(|r| (s, r)))
        .collect();
    assert_eq!(rows.len(), expected.len());
    assert_eq!(expected.len(), ranked.len(), "ranked on every session");
    for (got, (s, r)) in rows.iter().zip(&expected) {
        assert_eq!(got["date"], s.date);
        assert_eq!(got["drawdown_pct"].as_f64().unwrap(), r.drawdown_pct);
        assert_eq!(got["rank"], r.rank, "{}", s.date);
        assert_eq!(got["ranked"], s.rows.len() as u64);
        assert_eq!(got["close"].as_f64().unwrap(), r.close);
    }

    // The benchmark: in the lake, never in the universe, never ranked.
    let out = ws.demo(&["history", "drawdown", "SPY"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("SPY is not in the universe")
            && stderr(&out).contains("the benchmark"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn tables_csv_charts_and_refusals() {
    let ws = workspace();
    let table = ok(&ws.demo(&["history", "breadth", "--from", "2026-09-01"]));
    let lines: Vec<&str> = table.lines().collect();
    assert!(
        lines[0].starts_with("date") && lines[0].contains("down 20%+"),
        "{table}"
    );
    assert!(lines[1].starts_with("2026-09-01"), "{table}");
    let csv = ok(&ws.demo(&[
        "history",
        "breadth",
        "--format",
        "csv",
        "--to",
        "2026-09-30",
    ]));
    assert!(
        csv.starts_with("date,ranked,down_20,down_30,median_pct\n"),
        "{csv}"
    );
    assert!(
        csv.trim_end()
            .lines()
            .last()
            .unwrap()
            .starts_with("2026-09-30,")
    );

    // Charts over the span: a PNG of the photo size and an SVG.
    let (png, svg) = (ws.path("breadth.png"), ws.path("dd.svg"));
    let out = ws.demo(&[
        "history",
        "breadth",
        "--png",
        png.to_str().unwrap(),
        "--format",
        "csv",
    ]);
    ok(&out);
    assert!(stderr(&out).contains("simulated"), "labelled");
    let bytes = std::fs::read(&png).unwrap();
    assert_eq!(&bytes[..8], b"\x89PNG\r\n\x1a\n");
    let size = |at: usize| u32::from_be_bytes(bytes[at..at + 4].try_into().unwrap());
    assert_eq!((size(16), size(20)), (1200, 800));
    let first = support::universe_head(1);
    let ticker = first.trim();
    ok(&ws.demo(&[
        "history",
        "drawdown",
        ticker,
        "--svg",
        svg.to_str().unwrap(),
    ]));
    let text = std::fs::read_to_string(&svg).unwrap();
    assert!(
        text.starts_with("<svg") && text.contains(ticker),
        "{}",
        &text[..200]
    );

    // Refusals: not a ticker (usage), a ticker without bars, an empty period.
    let out = ws.demo(&["history", "drawdown", "A&B"]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    let out = ws.demo(&["history", "drawdown", "ZZZZ"]);
    assert_fails_with(&out, 1, "ZZZZ is not in the universe");
    let out = ws.demo(&["history", "breadth", "--from", "2030-01-01"]);
    assert_fails_with(&out, 1, "dipwatch collect --from");
    let out = ws.demo(&[
        "history",
        "breadth",
        "--from",
        "2026-09-02",
        "--to",
        "2026-09-01",
    ]);
    assert_eq!(out.status.code(), Some(2));
}
