//! The portfolio page's risk section over real HTTP on loopback: the
//! daemon's own assembly (`App::build`) over the simulated market,
//! filled by a real backfill run long enough for every statistic, served
//! read-only to loopback clients. What the page shows is checked against
//! the risk view in the daemon's state.

use crate::support::dashboard::{self, SimApp};

use chrono::{Days, Utc};
use dipwatch::app::App;
use dipwatch::collect::Dates;
use dipwatch::domain::RunSource;
use reqwest::StatusCode;
use reqwest::header::CONTENT_SECURITY_POLICY;

/// A simulated-market daemon over `symbols` tickers of the bundled
/// universe, its dashboard read-only to loopback clients (not built yet).
fn sim(symbols: usize) -> SimApp {
    SimApp::new(symbols)
        .listening()
        .set("DIPWATCH__WEB__ANONYMOUS_LOOPBACK", true)
        .set("DIPWATCH__BACKTEST__BENCHMARK", "universe")
}

/// [`sim`] over 30 tickers with about 140 sessions stored (more than the
/// 91 the risk view needs), filled by a real backfill run, served.
async fn start_filled() -> (App, String, tempfile::TempDir) {
    let (mut app, dir) = sim(30).build().await;
    let today = Utc::now().date_naive();
    let dates = Dates::Range {
        from: today - Days::new(200),
        to: today - Days::new(1),
    };
    dashboard::run(&app, RunSource::CatchUp, dates).await;
    let addr = dashboard::serve(&mut app).await;
    (app, format!("http://{addr}"), dir)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_portfolio_page_shows_the_risk_view_and_its_heatmap() {
    let (app, base, _dir) = start_filled().await;
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
        "Suggestions only: nothing here places an order.".to_string(),
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
    let (mut app, _dir) = sim(5).build().await;
    let base = format!("http://{}", dashboard::serve(&mut app).await);
    let r = reqwest::get(format!("{base}/portfolio")).await.unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let body = r.text().await.unwrap();
    assert!(
        body.contains("No portfolio snapshot is stored yet."),
        "{body}"
    );
    assert!(!body.contains("id=\"risk\""), "{body}");
}
