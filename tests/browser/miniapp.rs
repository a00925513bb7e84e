//! The Mini App as Telegram Web runs it: inside a frame of another site.
//! A `SameSite=Strict` cookie is never sent there, so the session must be
//! carried by the Mini App's own cookie (`SameSite=None; Secure;
//! Partitioned`), which this checks in Chromium with a stand-in for
//! Telegram Web's page on another site (127.0.0.1 framing localhost).

use std::time::{Duration, Instant};

use secrecy::SecretString;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use super::helpers::*;

/// A page on `listener` (another site than the dashboard's `localhost`)
/// that frames `src`, as Telegram Web frames a Mini App.
fn serve_framing_page(listener: tokio::net::TcpListener, src: String) {
    let page = format!(
        "<!doctype html><html><head><title>Telegram Web stand-in</title></head><body>\
         <iframe id=\"app\" src=\"{src}\" width=\"390\" height=\"700\"></iframe></body></html>"
    );
    tokio::spawn(async move {
        while let Ok((mut c, _)) = listener.accept().await {
            let page = page.clone();
            tokio::spawn(async move {
                let mut buf = vec![0u8; 8192];
                let _ = c.read(&mut buf).await;
                let answer = format!(
                    "HTTP/1.1 200 OK\r\nContent-Type: text/html; charset=utf-8\r\n\
                     Content-Length: {}\r\nConnection: close\r\n\r\n{page}",
                    page.len()
                );
                let _ = c.write_all(answer.as_bytes()).await;
            });
        }
    });
}

/// Launch data for `chat` as Telegram signs it, URL-encoded for the
/// fragment (`#tgWebAppData=...`).
fn launch_fragment(chat: i64) -> String {
    let user = format!(r#"{{"id":{chat},"first_name":"Mini"}}"#);
    let auth = chrono::Utc::now().timestamp().to_string();
    let data = dipwatch::access::tokens::sign_init_data(
        &[("auth_date", &auth), ("query_id", "AAM"), ("user", &user)],
        &SecretString::from(TOKEN),
    );
    form_urlencoded::Serializer::new(String::new())
        .append_pair("tgWebAppData", &data)
        .finish()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_mini_app_keeps_its_session_inside_a_cross_site_frame() {
    if opted_out() {
        return;
    }
    let top = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let top_origin = format!("http://127.0.0.1:{}", top.local_addr().unwrap().port());
    let d = dashboard(vec![(
        "DIPWATCH__WEB__FRAME_ANCESTORS",
        top_origin.as_str(),
    )])
    .await;
    let chat = READERS.start + 5;
    let src = format!(
        "http://localhost:{}/miniapp#{}",
        d.h.web_port,
        launch_fragment(chat)
    );
    serve_framing_page(top, src);
    let browser = Browser::start().await;
    browser.viewport(PHONE.0, PHONE.1).await;
    browser.goto(&format!("{top_origin}/")).await;
    let frame = browser.find("#app").await;
    browser.enter_frame(&frame).await;
    // The frame's script posts the launch data; the dashboard answers with
    // a session and the overview, which needs the cookie sent back from
    // inside the frame.
    frame_reaches_title(
        &browser,
        "return document.title",
        "Overview · dipwatch",
        "signed out inside the frame: the session cookie was not sent",
        "the Mini App did not reach the overview",
    )
    .await;
    // A second page in the frame: the session persists.
    browser
        .execute("window.location.assign('/portfolio'); return null")
        .await;
    frame_reaches_title(
        &browser,
        "return document.readyState === 'complete' ? document.title : ''",
        "Portfolio · dipwatch",
        "the session did not persist",
        "no portfolio page",
    )
    .await;
    let text = browser.body_text().await;
    assert!(text.contains("equity"), "{text}");
    let png = browser.screenshot().await;
    std::fs::write(screenshot_path("miniapp-in-frame-390"), &png).unwrap();
    d.h.shutdown.cancel();
}

/// Poll the page's title (read by `script`) until it is `want`, within
/// 30 s; the sign-in page on the way fails with `signed_out`, running out
/// of time with `stuck`.
async fn frame_reaches_title(
    browser: &Browser,
    script: &str,
    want: &str,
    signed_out: &str,
    stuck: &str,
) {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let title = browser
            .execute(script)
            .await
            .as_str()
            .unwrap_or_default()
            .to_string();
        if title == want {
            return;
        }
        assert!(title != "Sign in · dipwatch", "{signed_out}");
        assert!(Instant::now() < deadline, "{stuck} (at {title:?})");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}
