//! The risk view's statistics against numpy's on the same bars: the
//! correlation matrix (`np.corrcoef`), the volatility over the same window
//! (`np.std(ddof=1) * sqrt(252)`), betas (`np.cov`), shares of risk,
//! Meucci's effective number of bets (`np.linalg.eigh`) and the Herfindahl
//! index. numpy comes from PyPI (`scripts/test` installs it). Then the
//! real `dipwatch portfolio` on demo lakes (simulated market and
//! portfolio, whose names are correlated through its market and sector
//! factors), recomputed by numpy from the lake's own CSV files.

use crate::support;

use std::collections::HashMap;

use chrono::NaiveDate;
use dipwatch::config::AppConfig;
use dipwatch::domain::{Position, Symbol};
use dipwatch::query::{DayBars, PriceHistory};
use dipwatch::risk::{Benchmark, RiskInput, RiskParams, analyze};
use rust_decimal::Decimal;

const SESSIONS: usize = 121;

/// Deterministic closes: a random walk per symbol, some sharing a factor
/// so the correlations are not all near zero.
fn closes(symbols: usize) -> Vec<Vec<f64>> {
    let mut seed: u64 = 42;
    let mut next = move || {
        seed = seed
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (seed >> 11) as f64 / (1u64 << 53) as f64 - 0.5
    };
    let factor: Vec<f64> = (0..SESSIONS).map(|_| next() * 0.04).collect();
    (0..symbols)
        .map(|s| {
            let mut price = 20.0 + 13.7 * s as f64;
            (0..SESSIONS)
                .map(|t| {
                    let own = next() * 0.03;
                    let shared = if s % 2 == 0 { factor[t] } else { 0.0 };
                    price *= 1.0 + own + shared;
                    price
                })
                .collect()
        })
        .collect()
}

fn tickers(n: usize) -> Vec<Symbol> {
    (0..n)
        .map(|i| Symbol::parse(&format!("S{i}")).unwrap())
        .collect()
}

fn history(tickers: &[Symbol], closes: &[Vec<f64>]) -> PriceHistory {
    let start: NaiveDate = "2026-01-02".parse().unwrap();
    let days = dipwatch::market::calendar::trading_days(start, "2026-12-31".parse().unwrap());
    PriceHistory::from_days(
        (0..SESSIONS)
            .map(|t| {
                let mut day = DayBars::new(days[t], false);
                for (sym, c) in tickers.iter().zip(closes) {
                    day.push(sym, [c[t], c[t], c[t], c[t], 1000.0]);
                }
                day
            })
            .collect(),
    )
}

const NUMPY: &str = r#"
import json, sys
import numpy as np
rows = [l.split(",") for l in open(sys.argv[1]).read().split()]
closes = np.array([[float(x) for x in r] for r in rows])
weights = np.array([float(x) for x in sys.argv[3].split(",")])
lookback = int(sys.argv[2])
r = closes[:, 1:] / closes[:, :-1] - 1.0
held, bench = r[:-1, -lookback:], r[-1, -lookback:]
corr = np.corrcoef(held)
vol = np.std(held, axis=1, ddof=1) * np.sqrt(252)
beta = [np.cov(x, bench)[0, 1] / np.var(bench, ddof=1) for x in held]
cov = np.cov(held)
contrib = weights * (cov @ weights)
share = contrib / (weights @ cov @ weights)
# Meucci: principal portfolios' shares of variance, exp of their entropy.
lam, e = np.linalg.eigh(cov)
v = (e.T @ weights) ** 2 * lam
p = v / v.sum()
bets = float(np.exp(-np.sum(p[p > 0] * np.log(p[p > 0]))))
print(json.dumps({"corr": corr.tolist(), "vol": vol.tolist(), "beta": beta,
                  "share": share.tolist(), "bets": bets,
                  "hhi": float(np.sum(weights ** 2))}))
"#;

#[test]
fn correlations_volatilities_and_betas_equal_numpys() {
    let n = 7;
    let all = closes(n + 1);
    let syms = tickers(n + 1);
    let h = history(&syms, &all);
    // Positions: the first n symbols, unequal weights; the last is the benchmark.
    let positions: Vec<Position> = syms[..n]
        .iter()
        .enumerate()
        .map(|(i, s)| {
            let last = Decimal::try_from(all[i][SESSIONS - 1]).unwrap().round_dp(4);
            Position::from_prices(s.clone(), Decimal::from(10 + 5 * i), last, last)
        })
        .collect();
    let account = support::account(1_000_000, 10_000);
    let config = AppConfig::load_with_env(None, HashMap::new()).unwrap();
    let mut params = RiskParams::new(
        &config.risk,
        &config.backtest,
        &config.portfolio,
        &config.universe,
    );
    params.benchmark = Benchmark::Symbol(syms[n].clone());
    let held = HashMap::new();
    let report = analyze(
        &RiskInput {
            date: *h.dates().last().unwrap(),
            positions: &positions,
            account: &account,
            held: &held,
            history: &h,
            screen: &[],
            equity: &[],
            simulated: false,
        },
        &params,
    );
    assert_eq!(report.correlation.symbols.len(), n, "{:?}", report.excluded);

    // numpy on the same closes, in the report's order of symbols.
    let order: Vec<usize> = report
        .correlation
        .symbols
        .iter()
        .map(|s| syms.iter().position(|x| x == s).unwrap())
        .chain([n])
        .collect();
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("closes.csv");
    let text: String = order
        .iter()
        .map(|&i| {
            let row: Vec<String> = all[i].iter().map(|c| c.to_string()).collect();
            row.join(",") + "\n"
        })
        .collect();
    std::fs::write(&file, text).unwrap();
    let weights: Vec<String> = report
        .correlation
        .symbols
        .iter()
        .map(|s| {
            let w = report
                .weights
                .iter()
                .find(|w| w.symbol.as_str() == s.as_str())
                .unwrap();
            (w.weight_pct.unwrap() / 100.0).to_string()
        })
        .collect();
    let args = [
        "-c".into(),
        NUMPY.into(),
        file.into_os_string(),
        params.lookback.to_string().into(),
        weights.join(",").into(),
    ];
    let np: serde_json::Value =
        support::python_reference::<std::ffi::OsString>(&args, None, "numpy");
    let close = |a: f64, b: f64, what: &str| {
        assert!((a - b).abs() <= 1e-9, "{what}: ours {a}, numpy {b}");
    };
    for i in 0..n {
        for j in 0..n {
            close(
                report.correlation.matrix[i][j],
                np["corr"][i][j].as_f64().unwrap(),
                &format!("corr[{i}][{j}]"),
            );
        }
        let r = &report.volatility[i];
        close(
            r.volatility_pct / 100.0,
            np["vol"][i].as_f64().unwrap(),
            "volatility",
        );
        close(r.beta.unwrap(), np["beta"][i].as_f64().unwrap(), "beta");
        close(
            r.risk_share_pct / 100.0,
            np["share"][i].as_f64().unwrap(),
            "risk share",
        );
    }
    let bets = report.effective_bets.unwrap();
    let np_bets = np["bets"].as_f64().unwrap();
    assert!(
        (bets - np_bets).abs() <= 1e-9 * np_bets,
        "effective bets: ours {bets}, numpy {np_bets}"
    );
    assert!(bets > 1.0 && bets < n as f64, "{bets}");
    close(
        report.concentration.herfindahl,
        np["hhi"].as_f64().unwrap(),
        "herfindahl",
    );
    // The even symbols share a factor: they are the correlated ones.
    let top = &report.pairs[0];
    let idx = |s: &Symbol| syms.iter().position(|x| x == s).unwrap();
    assert_eq!((idx(&top.a) % 2, idx(&top.b) % 2), (0, 0), "{top:?}");
}

/// A demo lake with enough sessions for every statistic (91 at the default
/// lookback), 40 symbols.
fn demo_lake() -> support::Workspace {
    let ws = support::Workspace::new(40);
    support::ok(&ws.demo(&["collect", "--from", "2026-06-01", "--to", "2026-11-20"]));
    ws
}

#[test]
fn portfolio_reports_risk_candidates_and_exits_on_a_demo_lake() {
    let mut ws = demo_lake();
    // Workspaces default to the universe benchmark (the fake Alpaca serves
    // only its universe); this lake was collected without SPY.
    ws.set_env("DIPWATCH__BACKTEST__BENCHMARK", "SPY");
    let table = support::ok(&ws.demo(&["portfolio"]));
    for needle in [
        "Portfolio risk, snapshot 2026-11-20",
        "[SIMULATED PRICES, not market data]",
        "Positions",
        "Effective bets",
        "Correlation clusters",
        "Candidates from the latest screen",
        "Herfindahl",
        // SPY is not in this lake: said, not a crash.
        "benchmark SPY: no bars in the last 91 sessions",
    ] {
        assert!(table.contains(needle), "{needle:?} missing:\n{table}");
    }

    ws.set_env("DIPWATCH__BACKTEST__BENCHMARK", "universe");
    ws.set_env("DIPWATCH__BACKTEST__MAX_HOLD", "5");
    let json = support::ok(&ws.demo(&["portfolio", "--format", "json"]));
    let doc: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert_eq!(doc["simulated"], true);
    for key in [
        "weights",
        "volatility",
        "correlation",
        "clusters",
        "suggestions",
        "exits",
    ] {
        assert!(!doc[key].is_null(), "{key} missing: {json}");
    }
    let symbols: Vec<&str> = support::json_strs(&doc["correlation"]["symbols"], |v| v);
    assert!(symbols.len() >= 2, "the sim holds several stocks: {json}");
    let matrix = doc["correlation"]["matrix"].as_array().unwrap();
    assert_eq!(matrix.len(), symbols.len());
    for (i, row) in matrix.iter().enumerate() {
        assert_eq!(row[i], 1.0);
        for (j, v) in row.as_array().unwrap().iter().enumerate() {
            assert_eq!(v, &matrix[j][i], "symmetric");
            assert!((-1.0..=1.0).contains(&v.as_f64().unwrap()));
        }
    }
    // Every measured position is in exactly one cluster.
    let mut clustered: Vec<&str> = doc["clusters"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|c| c["symbols"].as_array().unwrap().iter())
        .map(|s| s.as_str().unwrap())
        .collect();
    clustered.sort_unstable();
    let mut measured = symbols.clone();
    measured.sort_unstable();
    assert_eq!(clustered, measured);
    let bets = doc["effective_bets"].as_f64().unwrap();
    assert!(bets >= 1.0 && bets <= symbols.len() as f64 + 1e-9, "{bets}");
    // With the universe as benchmark, every measured position has a beta.
    for v in doc["volatility"].as_array().unwrap() {
        assert!(v["beta"].is_f64(), "{v}");
        assert!(v["volatility_pct"].as_f64().unwrap() > 0.0);
    }
    let shares: f64 = doc["volatility"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v["risk_share_pct"].as_f64().unwrap())
        .sum();
    assert!(
        (shares - 100.0).abs() < 1e-6,
        "risk shares sum to 100: {shares}"
    );
    // Candidates are not holdings, and are sized within the cash.
    let held: Vec<&str> = support::json_strs(&doc["weights"], |v| &v["symbol"]);
    let cash = doc["cash"].as_f64().unwrap();
    let suggestions = doc["suggestions"].as_array().unwrap();
    assert!(!suggestions.is_empty());
    for s in suggestions {
        assert!(!held.contains(&s["symbol"].as_str().unwrap()), "{s}");
        if let Some(v) = s["value"].as_f64() {
            assert!(v <= cash + 1e-9, "{s}");
        }
    }
    // Max hold 5: every position held 5 sessions or more is an exit, and
    // only those (or the profit rule's).
    for e in doc["exits"].as_array().unwrap() {
        let reasons: Vec<&str> = support::json_strs(&e["reasons"], |v| v);
        if reasons == ["max_hold"] {
            assert!(e["held"]["sessions"].as_u64().unwrap() >= 5, "{e}");
        }
    }
}

#[test]
fn thin_or_empty_stores_are_explained_not_fatal() {
    let ws = support::Workspace::new(10);
    let out = ws.demo(&["portfolio"]);
    assert_eq!(out.status.code(), Some(1), "no store yet: {out:?}");
    assert!(
        support::stderr(&out).contains("run `dipwatch collect` first"),
        "{out:?}"
    );

    support::ok(&ws.demo(&["collect", "--from", "2026-11-16", "--to", "2026-11-20"]));
    let table = support::ok(&ws.demo(&["portfolio"]));
    assert!(
        table.contains("the lake holds 5 sessions of bars; 91 are needed"),
        "{table}"
    );
    assert!(table.contains("Left out of the statistics"), "{table}");
    let json = support::ok(&ws.demo(&["portfolio", "--format", "json"]));
    let doc: serde_json::Value = serde_json::from_str(&json).unwrap();
    let weights = doc["weights"].as_array().unwrap().len();
    assert!(weights > 0);
    assert_eq!(doc["excluded"].as_array().unwrap().len(), weights);
    assert!(doc["correlation"]["symbols"].as_array().unwrap().is_empty());
}

/// The daemon computes the risk view from the bars it holds in memory when
/// they reach back far enough; the CLI reads them from the lake. On the
/// same lake both give the same report, to the bit; a memory span too
/// short falls back to the lake.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_in_memory_bars_and_the_lakes_give_the_same_report() {
    use dipwatch::risk::{BarsSource, load_data};
    use dipwatch::store::{StorageUrl, Store};

    let ws = demo_lake();
    let store = Store::open(
        &StorageUrl::Local(ws.path("data")),
        &std::collections::BTreeMap::new(),
    )
    .await
    .unwrap();
    let env = HashMap::from([(
        "DIPWATCH__BACKTEST__BENCHMARK".to_string(),
        "universe".to_string(),
    )]);
    let config = AppConfig::load_with_env(None, env).unwrap();
    let params = RiskParams::new(
        &config.risk,
        &config.backtest,
        &config.portfolio,
        &config.universe,
    );
    let lake = dipwatch::store::Lake::new(store);
    let newest = lake.dates(None, None).await.unwrap().last().copied();
    let report = |data: &dipwatch::risk::RiskData| {
        serde_json::to_value(analyze(&data.input(), &params)).unwrap()
    };

    let from_store = load_data(&lake, &params, None).await.unwrap().unwrap();
    assert_eq!(from_store.bars, BarsSource::Store);
    let (held, _, _) = dipwatch::state::load_prices(&lake, newest, 365)
        .await
        .unwrap();
    assert!(
        held.dates().len() > from_store.history.dates().len(),
        "memory holds more"
    );
    let memory = load_data(&lake, &params, Some(&held))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(memory.bars, BarsSource::Memory);
    assert_eq!(memory.history.dates(), from_store.history.dates());
    assert_eq!(memory.history.symbols(), from_store.history.symbols());
    let from_lake = report(&from_store);
    assert!(
        from_lake["correlation"]["symbols"]
            .as_array()
            .unwrap()
            .len()
            >= 2,
        "positions are measured: {from_lake}"
    );
    assert_eq!(report(&memory), from_lake);

    // 30 calendar days do not cover the 91 sessions: the lake's bars.
    let (short, _, _) = dipwatch::state::load_prices(&lake, newest, 30)
        .await
        .unwrap();
    let fallback = load_data(&lake, &params, Some(&short))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(fallback.bars, BarsSource::Store);
    assert_eq!(report(&fallback), from_lake);
}

/// Effective bets, the Herfindahl index and holding periods of the real
/// `dipwatch portfolio` on a demo lake of most of a year, against numpy
/// reading the lake's CSV files (tests/reference/risk_lake.py): the
/// simulated names are correlated (market and sector factors), and the
/// paper portfolio holds positions for longer than the risk window, so
/// holding periods must come from the whole snapshot history.
#[test]
fn effective_bets_herfindahl_and_holding_periods_equal_numpy_on_a_lake() {
    let mut ws = support::Workspace::new(40);
    support::ok(&ws.demo(&["collect", "--from", "2026-01-02", "--to", "2026-11-20"]));
    ws.set_env("DIPWATCH__BACKTEST__BENCHMARK", "universe");
    let json = support::ok(&ws.demo(&["portfolio", "--format", "json"]));
    let doc: serde_json::Value = serde_json::from_str(&json).unwrap();
    let report = ws.path("report.json");
    std::fs::write(&report, &json).unwrap();
    let args = [
        support::repo("tests/reference/risk_lake.py").into_os_string(),
        ws.path("data").into_os_string(),
        doc["lookback"].to_string().into(),
        report.into_os_string(),
    ];
    let np = support::python_reference(&args, None, "numpy");
    let rel = |ours: f64, theirs: f64, what: &str| {
        assert!(
            (ours - theirs).abs() <= 1e-9 * theirs.abs().max(1.0),
            "{what}: ours {ours}, numpy {theirs}"
        );
    };

    // The same positions measured, with the same volatilities.
    let mut measured: Vec<&str> = support::json_strs(&doc["correlation"]["symbols"], |v| v);
    measured.sort_unstable();
    let np_measured: Vec<&str> = support::json_strs(&np["measured"], |v| v);
    assert_eq!(measured, np_measured);
    assert!(measured.len() >= 4, "{json}");
    for v in doc["volatility"].as_array().unwrap() {
        let s = v["symbol"].as_str().unwrap();
        rel(
            v["volatility_pct"].as_f64().unwrap(),
            np["volatility_pct"][s].as_f64().unwrap(),
            &format!("volatility of {s}"),
        );
    }

    let bets = doc["effective_bets"].as_f64().unwrap();
    rel(
        bets,
        np["effective_bets"].as_f64().unwrap(),
        "effective bets",
    );
    rel(
        bets,
        np["effective_bets_from_report"].as_f64().unwrap(),
        "effective bets from the JSON's D C D",
    );
    // Correlated names: fewer bets than positions, more than one.
    assert!(bets > 1.0 && bets < measured.len() as f64, "{bets}");

    let c = &doc["concentration"];
    for key in ["herfindahl", "invested_pct", "effective_positions"] {
        rel(
            c[key].as_f64().unwrap(),
            np[key].as_f64().unwrap(),
            &format!("concentration.{key}"),
        );
    }

    // Holding periods, through the max-hold rule that reads them: at a
    // max hold of 1 session every position held a session or more is an
    // exit, and each exit carries its holding period.
    ws.set_env("DIPWATCH__BACKTEST__MAX_HOLD", "1");
    let json = support::ok(&ws.demo(&["portfolio", "--format", "json"]));
    let doc: serde_json::Value = serde_json::from_str(&json).unwrap();
    let held = np["held"].as_object().unwrap();
    let mut longer_than_the_window = 0;
    for e in doc["exits"].as_array().unwrap() {
        let s = e["symbol"].as_str().unwrap();
        let h = &e["held"];
        assert_eq!(h["since"], held[s]["since"], "{s}: {e}");
        assert_eq!(h["sessions"], held[s]["sessions"], "{s}: {e}");
        assert_eq!(h["at_least"], held[s]["at_least"], "{s}: {e}");
        if h["sessions"].as_u64().unwrap() > 91 {
            longer_than_the_window += 1;
        }
    }
    let exits: Vec<&str> = support::json_strs(&doc["exits"], |v| &v["symbol"]);
    for (s, h) in held {
        if h["sessions"].as_u64().unwrap() >= 1 {
            assert!(exits.contains(&s.as_str()), "{s} held {h}: {json}");
        }
    }
    assert!(
        longer_than_the_window > 0,
        "a position held past the 91 sessions of the risk window: {json}"
    );
}
