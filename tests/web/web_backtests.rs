//! The dashboard's backtest pages over real HTTP on loopback: a run
//! stored by the real `dipwatch backtest` binary is listed and shown with
//! the command's own figures, its curves as inline SVG the page's CSP
//! allows, and its monthly returns; bad ids, missing and damaged runs get
//! pages that say so; without a session, the same 401 as every page.

use crate::support;
use crate::support::dashboard::{SimApp, client, sign_in};

use std::collections::HashMap;

use dipwatch::app::App;
use dipwatch::numbers::signed_pct;
use reqwest::StatusCode;
use reqwest::header::CONTENT_SECURITY_POLICY;

const READER: i64 = 1001;
const TEST_TOKEN: &str = "7000000001:AAWebTestTokenNeverSentAnywhere_123";

/// A simulated-market app with about five months collected, its
/// dashboard served; the settings the real binary needs to read its store.
async fn start() -> (App, String, HashMap<String, String>, tempfile::TempDir) {
    let sim = SimApp::new(30)
        .set("DIPWATCH__SCREEN__LOOKBACK_DAYS", 20)
        .set("DIPWATCH__SCREEN__MIN_HISTORY", 10);
    let env = sim.env().clone();
    let range = support::days_before_today(150);
    let (app, addr, dir) = sim
        .listening()
        .set("DIPWATCH__TELEGRAM__ALLOWED_CHAT_IDS", READER)
        .set("TELOXIDE_TOKEN", TEST_TOKEN)
        .start(range)
        .await;
    (app, format!("http://{addr}"), env, dir)
}

async fn get(base: &str, path: &str, cookie: Option<&str>) -> (StatusCode, String, String) {
    let mut req = client().get(format!("{base}{path}"));
    if let Some(c) = cookie {
        req = req.header("cookie", c);
    }
    let r = req.send().await.unwrap();
    let csp = r
        .headers()
        .get(CONTENT_SECURITY_POLICY)
        .map(|v| v.to_str().unwrap().to_string())
        .unwrap_or_default();
    (r.status(), r.text().await.unwrap(), csp)
}

/// Points of every `<polyline>` in `svg`.
fn polylines(svg: &str) -> Vec<usize> {
    svg.split("<polyline")
        .skip(1)
        .filter_map(|p| {
            let points = p.split("points=\"").nth(1)?.split('"').next()?;
            Some(points.split_whitespace().count())
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stored_runs_are_listed_and_shown_with_the_commands_figures_and_curves() {
    let (app, base, env, dir) = start().await;
    let (status, _, _) = get(&base, "/backtests", None).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "a session is needed");
    let cookie = sign_in(&app, &base, READER).await;
    let cookie = Some(cookie.as_str());

    let (status, page, _) = get(&base, "/backtests", cookie).await;
    assert_eq!(status, StatusCode::OK);
    assert!(page.contains("No backtest is stored yet"), "{page}");

    let json = support::backtest_json(&env, &["--entry", "-3", "--take-profit", "3"]);
    let id = json["id"].as_str().unwrap();
    let m = &json["metrics"]["strategy"];
    let pct = |v: &serde_json::Value| signed_pct(v.as_f64().unwrap());

    let (status, page, _) = get(&base, "/backtests", cookie).await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        page.contains(&format!("href=\"/backtests/{id}\"")),
        "{page}"
    );
    assert!(
        page.contains(&format!(
            "<td class=\"num\">{}</td><td class=\"num\">{}</td>",
            pct(&m["total_return_pct"]),
            pct(&json["metrics"]["benchmark"]["total_return_pct"])
        )),
        "{page}"
    );
    assert!(page.contains("SIMULATED"), "{page}");

    let (status, page, csp) = get(&base, &format!("/backtests/{id}"), cookie).await;
    assert_eq!(status, StatusCode::OK);
    assert!(csp.contains("style-src 'self'"), "{csp}");
    assert!(
        !page.contains("style="),
        "no inline style: the CSP would block it"
    );
    assert_eq!(
        page.matches("<svg").count(),
        8,
        "equity and drawdown, each in the light and the dark theme, wide and phone-sized"
    );
    // Each curve has one point per session: strategy and benchmark, on
    // both figures (the strategy's drawdown is an area, drawn as a polygon).
    let sessions = json["equity"].as_array().unwrap().len();
    let lines = polylines(&page);
    assert!(
        lines.iter().filter(|n| **n == sessions).count() >= 3,
        "{sessions} sessions, polylines {lines:?}"
    );
    for (label, key) in [
        ("total return", "total_return_pct"),
        ("max drawdown", "max_drawdown_pct"),
    ] {
        assert!(
            page.contains(&format!(
                "<td>{label}</td><td class=\"num\">{}</td>",
                pct(&m[key])
            )),
            "{label}: {page}"
        );
    }
    let monthly = json["monthly"]["strategy"].as_array().unwrap();
    assert!(monthly.len() >= 4, "{monthly:?}");
    for month in monthly {
        let row = format!(
            "<td>{}-{:02}</td><td class=\"num\">{}</td>",
            month["year"],
            month["month"].as_u64().unwrap(),
            pct(&month["return_pct"])
        );
        assert!(page.contains(&row), "{row} missing");
    }
    assert!(page.contains("survivorship"), "the notes are shown");
    assert!(
        page.contains("What this backtest leaves out")
            && page.contains("no volume cap")
            && page.contains("fractional shares"),
        "what the backtest leaves out is shown"
    );

    // Bad ids never reach the store; missing and damaged runs say so.
    for path in ["/backtests/..%2F..%2Fruns", "/backtests/not-hex"] {
        let (status, page, _) = get(&base, path, cookie).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{path}");
        assert!(page.contains("is not a backtest id"), "{page}");
    }
    let (status, page, _) = get(&base, "/backtests/00000000deadbeef", cookie).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert!(
        page.contains("no backtest 00000000deadbeef is stored"),
        "{page}"
    );
    let runs = dir.path().join("data/backtests");
    let copy = runs.join("id=00000000000000aa");
    std::fs::create_dir_all(&copy).unwrap();
    let original = runs.join(format!("id={id}"));
    std::fs::copy(original.join("summary.json"), copy.join("summary.json")).unwrap();
    std::fs::write(copy.join("equity.csv"), "date,equity\nnot a date,1\n").unwrap();
    let (status, page, _) = get(&base, "/backtests/00000000000000aa", cookie).await;
    assert_eq!(status, StatusCode::INTERNAL_SERVER_ERROR);
    assert!(
        page.contains("backtest 00000000000000aa is damaged: equity.csv"),
        "{page}"
    );
    // A summary that does not read is listed as such; the others still are.
    let broken = runs.join("id=00000000000000bb");
    std::fs::create_dir_all(&broken).unwrap();
    std::fs::write(broken.join("summary.json"), "{ not json").unwrap();
    let (status, page, _) = get(&base, "/backtests", cookie).await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        page.contains("cannot be read: backtest 00000000000000bb is damaged"),
        "{page}"
    );
    assert!(page.contains(&format!("href=\"/backtests/{id}\"")));
}
