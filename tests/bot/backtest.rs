//! /backtest: the summary's figures are the command line's for the same
//! options on the same store (same id: bars from memory or the lake), the
//! chart is a PNG, bad options get the usage, thin windows are refused.

use super::helpers::*;
use dipwatch::numbers::signed_pct;

/// Screen settings short enough for a few months of sessions.
fn short_screen() -> Vec<(String, String)> {
    vec![
        ("DIPWATCH__SCREEN__LOOKBACK_DAYS".into(), "20".into()),
        ("DIPWATCH__SCREEN__MIN_HISTORY".into(), "10".into()),
    ]
}

/// The harness with about five months of sessions collected.
async fn with_history() -> Harness {
    let h = start(Setup {
        env: short_screen(),
        ..Setup::default()
    })
    .await;
    let range = support::days_before_today(150);
    h.gate.add_permits(1);
    match h.runner.trigger(RunSource::Manual, range) {
        Trigger::Started(done) => {
            done.await.expect("collection");
        }
        Trigger::AlreadyRunning(_) => panic!("a run was already going"),
    }
    h
}

/// `dipwatch backtest ARGS --format json` on the harness's store.
fn cli_json(h: &Harness, args: &[&str]) -> serde_json::Value {
    let dir = h._dir.path();
    let mut env = short_screen();
    env.extend([
        ("DIPWATCH__MARKET__PROVIDER".into(), "sim".into()),
        (
            "DIPWATCH__MARKET__UNIVERSE".into(),
            dir.join("universe.txt").display().to_string(),
        ),
        (
            "DIPWATCH__STORAGE__URL".into(),
            dir.join("data").display().to_string(),
        ),
    ]);
    support::backtest_json(env, args)
}

/// The cells of the summary table's row `label` (after the label).
fn row<'a>(text: &'a str, label: &str) -> Vec<&'a str> {
    let line = text
        .lines()
        .find(|l| l.trim_start_matches("<pre>").starts_with(label))
        .unwrap_or_else(|| panic!("no {label} row: {text}"));
    line.trim_start_matches("<pre>")[label.len()..]
        .split_whitespace()
        .collect()
}

/// The bot's summary against the command line's JSON.
fn assert_same_figures(text: &str, json: &serde_json::Value) {
    let id = json["id"].as_str().unwrap();
    assert!(text.contains(&format!("<code>{id}</code>")), "{text}");
    let (ours, theirs) = (&json["metrics"]["strategy"], &json["metrics"]["benchmark"]);
    let pct = |m: &serde_json::Value, key: &str| signed_pct(m[key].as_f64().unwrap());
    assert_eq!(
        row(text, "total return"),
        [
            pct(ours, "total_return_pct"),
            pct(theirs, "total_return_pct")
        ]
    );
    assert_eq!(
        row(text, "max drawdown"),
        [
            pct(ours, "max_drawdown_pct"),
            pct(theirs, "max_drawdown_pct")
        ]
    );
    let cagr = |m: &serde_json::Value| m["cagr_pct"].as_f64().map_or("-".to_string(), signed_pct);
    assert_eq!(row(text, "CAGR"), [cagr(ours), cagr(theirs)]);
    let sharpe = |m: &serde_json::Value| {
        m["sharpe"]
            .as_f64()
            .map_or("-".to_string(), |v| format!("{v:.2}"))
    };
    assert_eq!(row(text, "Sharpe"), [sharpe(ours), sharpe(theirs)]);
    assert_eq!(
        row(text, "trades"),
        [
            ours["trades"].as_u64().unwrap().to_string(),
            "-".to_string()
        ]
    );
    let from = json["data"]["from"].as_str().unwrap();
    let to = json["data"]["to"].as_str().unwrap();
    assert!(text.contains(&format!("{from} to {to}")), "{text}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn backtest_replies_with_the_clis_figures_and_a_chart_and_stores_the_run() {
    let mut h = with_history().await;
    let chat = READERS.start;
    let snap = h.runner.state().snapshot();
    let dates = snap.prices.dates().to_vec();
    assert!(dates.len() > 80, "sessions held: {}", dates.len());
    // A start whose warm-up the year in memory covers.
    let from = dates[dates.len() - 60].to_string();

    let sent = h
        .ask(
            chat,
            &format!("/backtest from {from} top 5 entry -3 take-profit 3"),
            2,
        )
        .await;
    assert_all_accepted(&sent);
    assert_eq!(sent[0].method, "sendMessage");
    let text = &sent[0].text;
    assert!(
        text.contains("Bars from the daemon's bars in memory"),
        "{text}"
    );
    assert!(text.contains("SIMULATED PRICES"), "{text}");
    assert!(text.contains("survivorship"), "{text}");
    assert!(!text.contains("OPTIMISTIC"), "{text}");
    let json = cli_json(
        &h,
        &[
            "--from",
            &from,
            "--top",
            "5",
            "--entry",
            "-3",
            "--take-profit",
            "3",
        ],
    );
    assert_same_figures(text, &json);
    let id = json["id"].as_str().unwrap();
    assert!(
        json["trades"].as_array().unwrap().len() > 2,
        "the case trades"
    );

    assert_eq!(sent[1].method, "sendPhoto");
    let (name, png) = sent[1].document.clone().expect("a photo");
    assert_eq!(name, format!("backtest-{id}.png"));
    assert_eq!(fake_telegram::png_size(&png), Some((1200, 800)));

    // Stored under its id: the command line shows it.
    let shown = cli_json(&h, &["--show", id]);
    assert_eq!(shown["id"], json["id"]);
    assert_eq!(shown["metrics"], json["metrics"]);

    // No start: the lake (the default period reaches before the year
    // held), close fills labelled optimistic, the same figures again.
    let sent = h.ask(chat, "/backtest --fill close --top=3", 2).await;
    let text = &sent[0].text;
    assert!(text.contains("Bars from the lake"), "{text}");
    assert!(text.contains("OPTIMISTIC"), "{text}");
    let json = cli_json(&h, &["--fill", "close", "--top", "3"]);
    assert_same_figures(text, &json);
    assert_eq!(sent[1].method, "sendPhoto");
    h.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_options_get_the_usage_and_thin_windows_the_backfill() {
    let mut h = start(Setup {
        env: short_screen(),
        ..Setup::default()
    })
    .await;
    let chat = READERS.start;
    let text = one_text(&h.ask(chat, "/backtest top ten", 1).await).to_string();
    assert!(
        text.contains("top: \"ten\" is not a whole number"),
        "{text}"
    );
    assert!(text.contains("Usage: <code>/backtest"), "{text}");
    let text = one_text(&h.ask(chat, "/backtest rebalance yearly", 1).await).to_string();
    assert!(
        text.contains("\"yearly\" is not one of daily, weekly, monthly"),
        "{text}"
    );
    let text = one_text(&h.ask(chat, "/backtest entry 10", 1).await).to_string();
    assert!(text.contains("backtest.entry_pct"), "{text}");
    // Ten sessions collected: too few, and the reply says how to backfill.
    let text = one_text(&h.ask(chat, "/backtest", 1).await).to_string();
    assert!(
        text.starts_with("⚠️ Cannot backtest: too few sessions"),
        "{text}"
    );
    assert!(text.contains("dipwatch collect --from"), "{text}");
    let text = one_text(
        &h.ask(chat, "/backtest from 2020-01-06 to 2020-06-01", 1)
            .await,
    )
    .to_string();
    assert!(
        text.contains("no published session on or before 2020-06-01: backfill with `dipwatch collect --from 2020-04-20`"),
        "{text}"
    );
    assert!(
        !text.contains(&h._dir.path().display().to_string()),
        "no host path: {text}"
    );
    // A chat on neither list gets the refusal, and nothing runs.
    let text = one_text(&h.ask(STRANGER, "/backtest", 1).await).to_string();
    assert!(!text.contains("backtest"), "{text}");
    assert!(!h._dir.path().join("data/backtests").exists());
    h.stop().await;
}
