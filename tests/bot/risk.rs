//! /risk from the analysis the runner computed.

#![allow(unused_imports)]

use super::helpers::*;

/// `/risk` answers from the analysis the runner computed when it loaded
/// the state (a store of one session: the reply says what is not measured
/// rather than failing), and an empty store says there is no portfolio.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn risk_answers_from_the_analysis_the_runner_loaded() {
    let mut h = start(Setup::default()).await;
    let replies = h.ask(READERS.start, "/risk", 1).await;
    let snap = h.runner.state().snapshot();
    let risk = snap
        .risk
        .as_ref()
        .expect("the runner computed the risk view");
    let text = one_text(&replies);
    assert!(
        text.starts_with("<i>[SIMULATED PRICES, not market data]</i>"),
        "{text}"
    );
    assert!(
        text.contains(&format!("<b>Risk</b> · snapshot {}", risk.date)),
        "{text}"
    );
    assert!(
        text.contains("Not measured"),
        "one session is too thin: {text}"
    );
    assert!(text.contains("Suggestions only"), "{text}");
    assert_all_accepted(&h.fake.sent());
    h.stop().await;

    let mut h = start(Setup::with(|s| s.empty_store = true)).await;
    let replies = h.ask(READERS.start, "/risk", 1).await;
    assert!(one_text(&replies).starts_with("No portfolio snapshot yet"));
    h.stop().await;
}

/// With enough sessions stored, `/risk` sends the summary and then the
/// correlation heatmap as a photo: a 1200 x 1200 PNG uploaded through the
/// Bot API, its caption naming the snapshot.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn risk_sends_the_correlation_heatmap_after_the_summary() {
    let mut h = start(Setup::default()).await;
    // Backfill far enough for correlations (91 sessions at the default
    // lookback): a real run, reloading the state as the daemon does.
    let dates = support::days_before_today(200);
    match h.runner.trigger(RunSource::CatchUp, dates) {
        Trigger::Started(done) => {
            done.await.expect("backfill");
        }
        Trigger::AlreadyRunning(_) => unreachable!(),
    }
    let snap = h.runner.state().snapshot();
    let risk = snap
        .risk
        .as_ref()
        .expect("the runner computed the risk view");
    let measured = risk.correlation.symbols.len();
    assert!(
        measured >= 2,
        "several positions measured: {:?}",
        risk.excluded
    );

    let replies = h.ask(READERS.start, "/risk", 2).await;
    assert_all_accepted(&replies);
    assert_eq!(replies[0].method, "sendMessage");
    assert!(
        replies[0].text.contains(&format!(
            "<b>Effective bets {:.1}</b>",
            risk.effective_bets.expect("positions measured")
        )) && replies[0].text.contains("Correlation clusters: "),
        "{}",
        replies[0].text
    );
    assert_eq!(replies[1].method, "sendPhoto");
    let (name, png) = replies[1].document.clone().expect("a photo was uploaded");
    assert_eq!(name, format!("correlation-{}.png", risk.date));
    assert_eq!(fake_telegram::png_size(&png), Some((1200, 1200)));
    let caption = &replies[1].text;
    assert!(
        caption.starts_with("<i>[SIMULATED PRICES, not market data]</i>"),
        "{caption}"
    );
    assert!(
        caption.contains(&format!(
            "over {} sessions · snapshot {}",
            risk.lookback, risk.date
        )),
        "{caption}"
    );
    check_html(caption).unwrap();
    h.stop().await;
}

/// `/alert risk ...` through the bot: a rule is set and listed in words, a
/// level out of range gets the usage line naming the problem, nothing kept.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn risk_alerts_are_set_and_bad_levels_explained() {
    let mut h = start(Setup::with(|s| s.alerts_fill_days_ago = Some(1))).await;
    let chat = READERS.start;
    let svc = h.alerts.clone().expect("alerts run with a bot token");
    let before = svc.rules_of(chat).await.len();
    let bad = h.ask(chat, "/alert risk weight 250", 1).await;
    let text = one_text(&bad);
    assert!(
        text.contains("above 0 and at most 100") && text.contains("usage: /alert"),
        "{text}"
    );
    let bad = h.ask(chat, "/alert risk beta 2", 1).await;
    assert!(
        one_text(&bad).contains("risk alerts read"),
        "{}",
        one_text(&bad)
    );
    assert_eq!(svc.rules_of(chat).await.len(), before, "nothing kept");

    let set = h.ask(chat, "/alert risk cluster 50", 1).await;
    assert!(
        one_text(&set).contains("set: risk: largest cluster's weight reaches 50%"),
        "{}",
        one_text(&set)
    );
    let rules = svc.rules_of(chat).await;
    assert_eq!(rules.len(), before + 1);
    assert_eq!(
        rules.last().unwrap().kind,
        dipwatch::alerts::RuleKind::Risk {
            measure: dipwatch::alerts::RiskMeasure::Cluster,
            level: 50.0
        }
    );
    h.stop().await;
}

/// A risk rule that last saw its measure under the level fires when the
/// daemon starts on a risk view above it, through the Bot API, once; the
/// risk view the next run brings (same side) fires nothing more.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_risk_alert_crossing_arrives_through_the_bot_once() {
    let chat = READERS.start;
    // Any portfolio's largest position weighs 1% of equity or more.
    let book = serde_json::json!({
        "book": {"next_id": 1, "rules": [{"id": 1, "chat": chat, "kind":
            {"kind": "risk", "measure": "weight", "level": 1.0}}],
            "states": {"1": {"last_date": "2020-01-02", "active": false, "members": []}}},
        "outbox": [], "next_item": 0,
    });
    let mut h = start(Setup {
        book: Some(serde_json::to_vec(&book).unwrap()),
        ..Setup::with(|s| s.alerts_fill_days_ago = Some(1))
    })
    .await;
    let snap = h.runner.state().snapshot();
    let risk = snap
        .risk
        .as_ref()
        .expect("the runner computed the risk view");
    let largest = risk.concentration.largest.clone().expect("positions held");
    let is_risk_alert =
        |x: &Sent| x.chat_id == chat && x.text.contains("risk: the largest position");
    let got = h
        .fake
        .wait_until(WAIT, |s| s.iter().any(is_risk_alert))
        .await;
    let sent = got.expect("the risk alert arrives");
    let alert = sent.iter().find(|x| is_risk_alert(x)).unwrap();
    assert!(
        alert.text.contains(&format!(
            "risk: the largest position, {}, is {} of equity (alert at 1%)",
            largest.as_str(),
            // As the rule shows a weight: at most 2 decimals.
            dipwatch::alerts::RiskMeasure::Weight.show(risk.concentration.largest_weight_pct)
        )),
        "{}",
        alert.text
    );
    check_html(&alert.text).unwrap();
    // The next run's view is above the level too: nothing more.
    let _ = h.runner.reload_state().await;
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let alerts: Vec<Sent> = h
        .fake
        .sent_to(chat)
        .into_iter()
        .filter(is_risk_alert)
        .collect();
    assert_eq!(alerts.len(), 1, "exactly once");
    h.stop().await;
}
