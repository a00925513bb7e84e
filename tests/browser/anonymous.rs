//! Anonymous mode (`web.anonymous_loopback`, no bot token) on a dashboard
//! bound to every address: loopback clients read, a client reaching it
//! through this machine's network address is refused.

use super::helpers::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn anonymous_mode_serves_loopback_readers_and_refuses_a_network_client() {
    if opted_out() {
        return;
    }
    let ip = non_loopback_ipv4();
    let h = start(Setup {
        env: vec![
            ("DIPWATCH__WEB__LISTEN".into(), "0.0.0.0:0".into()),
            ("DIPWATCH__WEB__ANONYMOUS_LOOPBACK".into(), "true".into()),
        ],
        ..Setup::default()
    })
    .await;
    assert_ne!(h.web_port, 0, "anonymous mode serves the dashboard");
    let snap = h.runner.state().snapshot();
    let top = snap.screen.as_ref().unwrap().rows[0]
        .symbol
        .as_str()
        .to_string();
    let browser = Browser::start().await;

    browser
        .goto(&format!("http://127.0.0.1:{}/", h.web_port))
        .await;
    assert_eq!(browser.title().await, "Overview · dipwatch");
    let symbols = browser.texts("table.ranking tbody td:nth-child(2)").await;
    assert_eq!(symbols.first(), Some(&top));
    assert!(
        browser.find_all("form[action='/logout']").await.is_empty(),
        "read-only: no session, no sign-out"
    );

    // The same server through the network address: the browser's
    // connection comes from that address, not loopback.
    let remote = format!("http://{ip}:{}/", h.web_port);
    browser.goto(&remote).await;
    assert!(shows_refusal(&browser).await, "{ip} is not loopback");
    assert!(!browser.body_text().await.contains(&top));
    // And a client bound to that address explicitly, over HTTP.
    let r = reqwest::Client::builder()
        .local_address(ip)
        .build()
        .unwrap()
        .get(&remote)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), reqwest::StatusCode::UNAUTHORIZED);
    h.shutdown.cancel();
}
