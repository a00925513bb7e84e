//! The portfolio page's risk section over real HTTP on loopback: the
//! daemon's own assembly (`App::build_with`) over the simulated market,
//! filled by a real backfill run long enough for every statistic, served
//! read-only to loopback clients. What the page shows is checked against
//! the risk view in the daemon's state.
//!
//! (The app helper below is this file's own; it and `tests/web.rs`'s
//! should become one shared module.)

use crate::support;

use std::collections::HashMap;
use std::sync::Arc;

use chrono::{Days, Utc};
use dipwatch::app::{App, Sources};
use dipwatch::collect::Dates;
use dipwatch::config::AppConfig;
use dipwatch::domain::RunSource;
use dipwatch::market::sim::SimMarket;
use dipwatch::runner::Trigger;
use reqwest::StatusCode;
use reqwest::header::CONTENT_SECURITY_POLICY;

/// A simulated-market daemon over `symbols` tickers of the bundled
/// universe, its store in `dir`, its dashboard served read-only to
/// loopback clients (not started yet: see [`serve`]).
async fn app(dir: &std::path::Path, symbols: usize) -> App {
    let universe = dir.join("u.txt");
    std::fs::write(&universe, support::universe_head(symbols)).unwrap();
    let env: HashMap<String, String> = [
        ("DIPWATCH__MARKET__PROVIDER", "sim".to_string()),
        ("DIPWATCH__MARKET__UNIVERSE", universe.display().to_string()),
        (
            "DIPWATCH__STORAGE__URL",
            dir.join("data").display().to_string(),
        ),
        ("DIPWATCH__HTTP__LISTEN", "127.0.0.1:0".to_string()),
        ("DIPWATCH__WEB__LISTEN", "127.0.0.1:0".to_string()),
        ("DIPWATCH__WEB__ANONYMOUS_LOOPBACK", "true".to_string()),
        ("DIPWATCH__BACKTEST__BENCHMARK", "universe".to_string()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v))
    .collect();
    let config = AppConfig::load_with_env(None, env).unwrap();
    let sim = Arc::new(SimMarket::new(config.universe.clone()));
    let sources = Sources {
        market: sim.clone(),
        broker: Some(sim),
    };
    App::build_with(config, sources).await.unwrap()
}

/// Load the state and serve the dashboard; its base URL.
async fn serve(app: &mut App) -> String {
    app.load_state().await;
    let addr = app.web_addr().expect("dashboard on");
    let shutdown = tokio_util::sync::CancellationToken::new();
    app.spawn_web(&shutdown).expect("served");
    // The server stops with the runtime at the end of the test.
    std::mem::forget(shutdown);
    format!("http://{addr}")
}

/// [`app`] over 30 tickers with about 140 sessions stored (more than the
/// 91 the risk view needs), filled by a real backfill run, served.
async fn start_filled(dir: &std::path::Path) -> (App, String) {
    let mut app = app(dir, 30).await;
    let today = Utc::now().date_naive();
    let dates = Dates::Range {
        from: today - Days::new(200),
        to: today - Days::new(1),
    };
    match app.runner().trigger(RunSource::CatchUp, dates) {
        Trigger::Started(done) => {
            done.await.expect("backfill");
        }
        Trigger::AlreadyRunning(_) => unreachable!(),
    }
    let base = serve(&mut app).await;
    (app, base)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_portfolio_page_shows_the_risk_view_and_its_heatmap() {
    let dir = tempfile::tempdir().unwrap();
    let (app, base) = start_filled(dir.path()).await;
    let snap = app.runner().state().snapshot();
    let risk = snap
        .risk
        .as_deref()
        .expect("the runner computed the risk view");
    let measured = &risk.correlation.symbols;
    assert!(measured.len() >= 2, "several positions measured: {risk:?}");

    let r = reqwest::get(format!("{base}/portfolio")).await.unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let csp = r.headers()[CONTENT_SECURITY_POLICY]
        .to_str()
        .unwrap()
        .to_string();
    assert!(csp.contains("style-src 'self'"), "{csp}");
    let body = r.text().await.unwrap();
    let section = &body[body.find("<section id=\"risk\">").expect("a risk section")..];
    for needle in [
        "<h2>Risk</h2>".to_string(),
        "SIMULATED prices".to_string(),
        format!("Snapshot {}", risk.date),
        format!(
            "Effective bets {:.1}",
            risk.effective_bets.expect("positions measured")
        ),
        format!("Correlation clusters: {}", risk.clusters.len()),
        format!("Herfindahl {:.3}", risk.concentration.herfindahl),
        "Suggestions only: dipwatch never places orders.".to_string(),
    ] {
        assert!(section.contains(&needle), "{needle:?} missing:\n{section}");
    }
    // Each position's row: its weight, and its volatility when measured.
    for w in &risk.weights {
        let mut row = format!(
            "<td>{}</td><td class=\"num\">{:.1}%</td>",
            w.symbol.as_str(),
            w.weight_pct.unwrap()
        );
        if let Some(v) = risk
            .volatility
            .iter()
            .find(|v| v.symbol.as_str() == w.symbol.as_str())
        {
            row.push_str(&format!("<td class=\"num\">{:.1}%</td>", v.volatility_pct));
        }
        assert!(section.contains(&row), "{row} missing:\n{section}");
    }
    // The most correlated pair, as the report names it.
    let top = &risk.pairs[0];
    assert!(section.contains(&format!("{} – {}: {:.2}", top.a, top.b, top.correlation)));

    // The heatmap: inline in both themes (the stylesheet shows one), every
    // measured symbol on both axes, and nothing the page's `style-src
    // 'self'` would block.
    assert_eq!(
        section.matches("<svg").count(),
        2,
        "a light and a dark drawing"
    );
    assert!(
        section.contains("div class=\"theme-light\"")
            && section.contains("div class=\"theme-dark\"")
    );
    let start = section.find("<svg").expect("an inline SVG");
    let end = section[start..].find("</svg>").unwrap() + start;
    let svg = &section[start..end];
    // Drawn at the size it is shown (its labels stay 11 CSS px or more).
    assert!(svg.contains("viewBox=\"0 0 800 800\""), "{:.100}", svg);
    assert!(!svg.contains("style="));
    for s in measured.iter().take(dipwatch::chart::HEATMAP_MAX) {
        assert_eq!(
            svg.matches(&format!(">\n{s}\n<")).count(),
            2,
            "{s} on both axes"
        );
    }
    assert!(svg.contains("SIMULATED PRICES"));
    assert!(section.contains(&format!(
        "Correlation of daily returns over {} sessions",
        risk.lookback
    )));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_empty_store_has_no_risk_section_and_still_answers() {
    let dir = tempfile::tempdir().unwrap();
    let mut app = app(dir.path(), 5).await;
    let base = serve(&mut app).await;
    let r = reqwest::get(format!("{base}/portfolio")).await.unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let body = r.text().await.unwrap();
    assert!(
        body.contains("No portfolio snapshot is stored yet."),
        "{body}"
    );
    assert!(!body.contains("id=\"risk\""), "{body}");
}
