//! `dipwatch history` through the real binary on a small collected lake:
//! breadth and a symbol's drawdown per session, checked against the
//! screen engine (`screen::screen`) run date by date on the same bars,
//! the `--from` warm-up, the charts, and the refusals.

mod common;

use common::{Workspace, ok, stderr};
use dipwatch::domain::{TradingDays, validate_series};
use dipwatch::query::Lake;
use dipwatch::screen::{PeakBasis, Screen, ScreenParams, screen};
use dipwatch::store::{StorageUrl, Store};

const PARAMS: ScreenParams = ScreenParams {
    lookback_days: 20,
    min_history: 10,
    peak_basis: PeakBasis::High,
};

fn workspace() -> Workspace {
    let mut ws = Workspace::new(15);
    ws.set_env("DIPWATCH__SCREEN__LOOKBACK_DAYS", "20");
    ws.set_env("DIPWATCH__SCREEN__MIN_HISTORY", "10");
    ok(&ws.demo(&["collect", "--from", "2026-06-01", "--to", "2026-09-30"]));
    ws
}

/// The screen of every stored date, by the screen engine on the bars up
/// to that date (the stored sessions as the calendar).
fn screens(ws: &Workspace) -> Vec<Screen> {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let history = rt.block_on(async {
        let store = Store::open(&StorageUrl::Local(ws.path("data")), &Default::default())
            .await
            .unwrap();
        Lake::new(store)
            .price_history(None, None)
            .await
            .unwrap()
            .history
    });
    let dates = history.dates().to_vec();
    (0..dates.len())
        .map(|d| {
            let series: Vec<_> = history
                .symbols()
                .iter()
                .enumerate()
                .map(|(s, sym)| {
                    let (bars, rejected) = validate_series(history.bars(s, d));
                    assert!(rejected.is_empty(), "{sym}: {rejected:?}");
                    (sym, bars)
                })
                .collect();
            let days = TradingDays::new(dates[..=d].to_vec());
            screen(
                dates[d],
                series.iter().map(|(s, b)| (*s, b.as_slice())),
                &days,
                &PARAMS,
            )
        })
        .collect()
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
fn breadth_and_drawdown_history_equal_the_screen_engine_date_by_date() {
    let ws = workspace();
    let screens = screens(&ws);
    let ranked: Vec<&Screen> = screens.iter().filter(|s| !s.rows.is_empty()).collect();
    assert!(ranked.len() > 50, "sessions ranked: {}", ranked.len());

    let breadth = json(&ws.demo(&["history", "breadth", "--format", "json"]));
    assert_eq!(breadth.len(), ranked.len(), "one point per ranked session");
    let mut deep = 0;
    for (point, s) in breadth.iter().zip(&ranked) {
        let dd: Vec<f64> = s.rows.iter().map(|r| r.drawdown_pct).collect();
        let count = |at: f64| dd.iter().filter(|v| **v <= at).count() as u64;
        assert_eq!(point["date"], s.date.to_string());
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

    // --from loads the ranking's warm-up first: the same figures.
    let from = ranked[40].date.to_string();
    let to = ranked[60].date.to_string();
    let part = json(&ws.demo(&[
        "history", "breadth", "--from", &from, "--to", &to, "--format", "json",
    ]));
    assert_eq!(part.len(), 21);
    assert_eq!(part[..], breadth[40..=60]);

    // One symbol: its drawdown and rank as each session's screen has them.
    let symbol = ranked.last().unwrap().rows[0].symbol.clone();
    let rows = json(&ws.demo(&["history", "drawdown", symbol.as_str(), "--format", "json"]));
    let expected: Vec<_> = ranked
        .iter()
        .filter_map(|s| s.rows.iter().find(|r| r.symbol == symbol).map(|r| (s, r)))
        .collect();
    assert_eq!(rows.len(), expected.len());
    for (got, (s, r)) in rows.iter().zip(&expected) {
        assert_eq!(got["date"], r.date.to_string());
        assert_eq!(got["drawdown_pct"].as_f64().unwrap(), r.drawdown_pct);
        assert_eq!(got["rank"], u64::from(r.rank), "{}", r.date);
        assert_eq!(got["ranked"], s.rows.len() as u64);
        assert_eq!(got["close"].as_f64().unwrap(), r.current_price);
    }
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
    let first = common::universe_head(1);
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
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("ZZZZ has no bars"),
        "{}",
        stderr(&out)
    );
    let out = ws.demo(&["history", "breadth", "--from", "2030-01-01"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("dipwatch collect --from"),
        "{}",
        stderr(&out)
    );
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
