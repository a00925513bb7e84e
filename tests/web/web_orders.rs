//! The dashboard's `/orders` page over real HTTP: with trading off it says so and how to turn it on,
//! and its Cancel form is refused for readers, without the CSRF token, and
//! with trading off.

use crate::support::dashboard::{SimApp, client, csrf_of, get_text, post_form, sign_in};

use reqwest::StatusCode;

const READER: i64 = 2001;
const ADMIN: i64 = 2002;
const TEST_TOKEN: &str = "7000000002:AAWebOrdersTokenNeverSentAnywhere_1";

/// A well-formed broker order id (nothing by that id exists anywhere).
const SOME_ORDER: &str = "61e69f2a-3c8b-4ce0-9d3e-0c6b5f2a1e55";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_trading_off_the_page_says_how_to_turn_it_on_and_cancel_is_refused() {
    let (app, addr, _dir) = SimApp::new(20)
        .listening()
        .set("DIPWATCH__TELEGRAM__ALLOWED_CHAT_IDS", READER)
        .set("DIPWATCH__TELEGRAM__ADMIN_CHAT_IDS", ADMIN)
        .set("TELOXIDE_TOKEN", TEST_TOKEN)
        .start(dipwatch::collect::Dates::Latest)
        .await;
    let base = format!("http://{addr}");
    let http = client();
    // Signed out: the same 401 as every page.
    let r = http.get(format!("{base}/orders")).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);

    let admin = sign_in(&app, &base, ADMIN).await;
    let r = http
        .get(format!("{base}/orders"))
        .header("cookie", &admin)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let page = r.text().await.unwrap();
    assert!(page.contains("<title>Orders · dipwatch</title>"), "{page}");
    assert!(page.contains("Trading is off."));
    assert!(page.contains("trading.enabled = true") && page.contains("market.provider"));
    assert!(!page.contains("/orders/cancel"), "nothing to cancel");
    // Every page links to it.
    let overview = get_text(&http, format!("{base}/"), &admin).await;
    assert!(overview.contains("<a href=\"/orders\">Orders</a>"));

    // The admin's form, posted anyway: refused in plain words, 409.
    let csrf = csrf_of(&page);
    let form = [("csrf", csrf.as_str()), ("order_id", SOME_ORDER)];
    let r = post_form(&http, format!("{base}/orders/cancel"), &admin, &form).await;
    assert_eq!(r.status(), StatusCode::CONFLICT);
    let body = r.text().await.unwrap();
    assert!(
        body.contains("trading is off (trading.enabled = false)"),
        "{body}"
    );
    // A wrong or missing token, or a bad id: refused before anything else.
    for form in [
        vec![("csrf", "wrong"), ("order_id", SOME_ORDER)],
        vec![("order_id", SOME_ORDER)],
    ] {
        let r = post_form(&http, format!("{base}/orders/cancel"), &admin, &form).await;
        assert_eq!(r.status(), StatusCode::FORBIDDEN);
        assert!(r.text().await.unwrap().contains("Stale form"));
    }
    let bad = [("csrf", csrf.as_str()), ("order_id", "../v2/account")];
    let r = post_form(&http, format!("{base}/orders/cancel"), &admin, &bad).await;
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let body = r.text().await.unwrap();
    assert!(
        body.contains("“../v2/account” is not an order id."),
        "{body}"
    );

    // A reader sees the page, and is refused the form with its own token.
    let reader = sign_in(&app, &base, READER).await;
    let page = get_text(&http, format!("{base}/orders"), &reader).await;
    assert!(page.contains("Trading is off."));
    let csrf = csrf_of(&page);
    let form = [("csrf", csrf.as_str()), ("order_id", SOME_ORDER)];
    let r = post_form(&http, format!("{base}/orders/cancel"), &reader, &form).await;
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    assert!(
        r.text()
            .await
            .unwrap()
            .contains("Only admins can cancel orders.")
    );
}
