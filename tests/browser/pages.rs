//! Every page of the dashboard in the browser, its figures against the
//! state's, and a screenshot of each at desktop and phone widths.

use super::helpers::*;

/// The overview's top 10: the state's screen, symbols in rank order and
/// drawdowns as formatted.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn signed_in_through_the_bot_the_overview_shows_the_states_top_10() {
    if opted_out() {
        return;
    }
    let d = dashboard(vec![]).await;
    let browser = Browser::start().await;
    d.sign_in(&browser, READERS.start).await;
    let snap = d.snapshot();
    let screen = snap.screen.as_ref().expect("a published screen");
    let want: Vec<(String, String)> = screen.rows[..10]
        .iter()
        .map(|r| (r.symbol.as_str().to_string(), signed_pct(r.drawdown_pct)))
        .collect();
    let symbols = browser.texts("table.ranking tbody td:nth-child(2)").await;
    let drawdowns = browser.texts("table.ranking tbody td:nth-child(3)").await;
    let shown: Vec<(String, String)> = symbols.into_iter().zip(drawdowns).collect();
    assert_eq!(shown, want);
}
