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

    let mut h = start(Setup {
        empty_store: true,
        ..Setup::default()
    })
    .await;
    let replies = h.ask(READERS.start, "/risk", 1).await;
    assert!(one_text(&replies).starts_with("No portfolio snapshot yet"));
    h.stop().await;
}
