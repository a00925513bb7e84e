//! Signing in and out in the browser, and every refusal: an expired, a
//! reused and a forged link, a forged cookie, a sign-out without its CSRF
//! token. Each refusal is the same sign-in page and shows no data.

use std::time::Duration;

use chrono::Utc;
use dipwatch::access::tokens::LOGIN_TTL;

use super::helpers::*;

/// The sign-out form ends the session; a POST without the form's CSRF
/// token, or with another, ends nothing.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_sign_out_form_ends_the_session_and_a_post_without_its_csrf_token_does_not() {
    let Some((d, browser)) = signed_in(ADMIN).await else {
        return;
    };
    let cookie = format!("{SESSION_COOKIE}={}", session_cookie(&browser).await);
    let http = support::dashboard::client();
    let logout = |form: Vec<(&'static str, &'static str)>| {
        http.post(d.url("/logout"))
            .header("cookie", &cookie)
            .form(&form)
            .send()
    };
    let missing = logout(vec![]).await.unwrap().status();
    assert!(missing.is_client_error(), "no CSRF field: {missing}");
    let wrong = logout(vec![("csrf", "00112233445566778899aabbccddeeff")])
        .await
        .unwrap()
        .status();
    assert_eq!(wrong, reqwest::StatusCode::FORBIDDEN);
    browser.goto(&d.url("/portfolio")).await;
    assert_eq!(
        browser.title().await,
        "Portfolio · dipwatch",
        "still signed in"
    );

    let button = browser
        .find("form[action='/logout'] button[type=submit]")
        .await;
    assert_eq!(browser.text(&button).await, "Sign out");
    browser.click(&button).await;
    assert_eq!(browser.url().await, d.url("/"));
    assert!(shows_refusal(&browser).await, "signed out");
    assert!(
        browser
            .cookies()
            .await
            .iter()
            .all(|(n, _, _)| n != SESSION_COOKIE),
        "the cookie is cleared"
    );
    let old = http
        .get(d.url("/"))
        .header("cookie", &cookie)
        .send()
        .await
        .unwrap()
        .status();
    assert_eq!(
        old,
        reqwest::StatusCode::UNAUTHORIZED,
        "the session is over"
    );
    d.h.shutdown.cancel();
}

/// A link used twice, a link past its 10 minutes, a made-up token, a
/// stranger's token and a made-up cookie: the sign-in page each time, and
/// no page opens after it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn expired_reused_and_forged_links_and_a_forged_cookie_are_refused() {
    let Some((d, browser)) = dashboard_and_browser().await else {
        return;
    };
    let chat = READERS.start + 4;
    let top = d.snapshot().screen.as_ref().unwrap().rows[0]
        .symbol
        .as_str()
        .to_string();
    let refused = |what: &'static str| {
        let browser = &browser;
        let d = &d;
        let top = top.clone();
        async move {
            assert!(shows_refusal(browser).await, "{what}: not refused");
            assert!(
                !browser.body_text().await.contains(&top),
                "{what}: data shown"
            );
            browser.goto(&d.url("/screen")).await;
            assert!(
                shows_refusal(browser).await,
                "{what}: a page opened after it"
            );
        }
    };

    // Reused: the bot's link signs in once; in a browser without the
    // session, the same link again is refused.
    let link = d.link_from_bot(chat).await;
    browser.goto(&link).await;
    assert_eq!(browser.title().await, "Overview · dipwatch");
    browser.clear_cookies().await;
    browser.goto(&link).await;
    refused("a reused link").await;

    // Expired: issued with the clock 10 minutes and a second back. One
    // issued a minute short of that still works, so the age is what counts.
    let issued = Utc::now() - LOGIN_TTL + Duration::from_secs(60);
    let fresh = d.h.web_auth.issue_login_at(chat, issued).unwrap();
    browser.goto(&d.url(&format!("/login?token={fresh}"))).await;
    assert_eq!(
        browser.title().await,
        "Overview · dipwatch",
        "9 minutes old"
    );
    browser.clear_cookies().await;
    let issued = Utc::now() - LOGIN_TTL - Duration::from_secs(1);
    let expired = d.h.web_auth.issue_login_at(chat, issued).unwrap();
    browser
        .goto(&d.url(&format!("/login?token={expired}")))
        .await;
    refused("an expired link").await;

    // Forged: a well-formed token nobody issued, and a stranger's.
    browser
        .goto(&d.url("/login?token=00112233445566778899aabbccddeeff"))
        .await;
    refused("a forged link").await;
    let stranger = d.h.web_auth.issue_login(STRANGER).unwrap();
    browser
        .goto(&d.url(&format!("/login?token={stranger}")))
        .await;
    refused("a stranger's link").await;

    // A forged session cookie, set on the dashboard's site.
    browser
        .set_cookie(SESSION_COOKIE, "0123456789abcdef0123456789abcdef")
        .await;
    browser.goto(&d.url("/")).await;
    refused("a forged cookie").await;
    d.h.shutdown.cancel();
}
