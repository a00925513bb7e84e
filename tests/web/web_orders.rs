//! The dashboard's `/orders` page over real HTTP: with trading off it says
//! so and how to turn it on; with trading on over the fake Alpaca it lists
//! the orders placed through dipwatch and elsewhere, and its Cancel form
//! cancels one at the broker for an admin with the CSRF token, journalled,
//! and nothing for a reader, without the token, or with trading off;
//! Alpaca failing is said in plain words and changes nothing.

use crate::support::dashboard::{
    SimApp, buy_as, client, csrf_of, get_text, placed_elsewhere, post_form, sign_in, unheld_symbol,
};
use crate::support::fake_alpaca::{FakeAlpaca, FakeAlpacaOptions, Fault};

use dipwatch::App;
use dipwatch::access::Role;
use dipwatch::collect::Dates;
use dipwatch::journal::EventKind;
use dipwatch::trading::{Actor, Source};
use reqwest::StatusCode;
use rust_decimal::dec;

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
        .start(Dates::Latest)
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

/// An app whose market and broker are the fake Alpaca (bars collected for
/// the latest session, its positions snapshot stored), trading on, paper:
/// the app, the dashboard's base URL, the temp dir and the fake.
async fn trading_app() -> (App, String, tempfile::TempDir, FakeAlpaca) {
    trading_app_with(&[]).await
}

/// [`trading_app`] with more settings.
async fn trading_app_with(extra: &[(&str, &str)]) -> (App, String, tempfile::TempDir, FakeAlpaca) {
    let fake = FakeAlpaca::start(FakeAlpacaOptions::new());
    fake.set_market_open(Some(true));
    let mut setup = SimApp::new(20)
        .listening()
        .set("DIPWATCH__TELEGRAM__ALLOWED_CHAT_IDS", READER)
        .set("DIPWATCH__TELEGRAM__ADMIN_CHAT_IDS", ADMIN)
        .set("TELOXIDE_TOKEN", TEST_TOKEN)
        .trading_on(&fake);
    for (k, v) in extra {
        setup = setup.set(k, v);
    }
    let (app, addr, dir) = setup.start(Dates::Latest).await;
    (app, format!("http://{addr}"), dir, fake)
}

/// The fake's status of order `id`.
fn status_on_fake(fake: &FakeAlpaca, id: &str) -> String {
    let orders = fake.orders();
    let o = orders.iter().find(|o| o["id"] == id).expect("on the fake");
    o["status"].as_str().unwrap().to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_admin_cancels_an_open_order_on_the_fake_alpaca_and_a_reader_only_reads() {
    let (app, base, _dir, fake) = trading_app().await;
    let trading = app.web_context().trading.expect("trading is on");
    // Placed the bot's way by the admin's chat, and by another app.
    let symbol = unheld_symbol(&app, &fake);
    let placed = buy_as(&app, ADMIN, &symbol, dec!(2)).await;
    let ours = placed.id.clone();
    let theirs = placed_elsewhere(&fake, symbol.as_str()).await;
    let admin_chat = Actor {
        source: Source::Chat(ADMIN),
        role: Role::Admin,
    };
    let http = client();

    // A reader sees both, PAPER, the switch off, and no button.
    let reader = sign_in(&app, &base, READER).await;
    let page = get_text(&http, format!("{base}/orders"), &reader).await;
    for text in [
        "PAPER trading",
        "Kill switch: off",
        &format!("<tr data-order=\"{ours}\">"),
        &format!("<tr data-order=\"{theirs}\">"),
        &format!("chat {ADMIN}"),
        "elsewhere (not dipwatch)",
        "accepted",
        &dipwatch::numbers::usd(placed.limit_price.unwrap()),
    ] {
        assert!(page.contains(text), "{text} in {page}");
    }
    assert!(!page.contains("/orders/cancel"), "no buttons for a reader");
    let reader_csrf = csrf_of(&page);
    let form = [("csrf", reader_csrf.as_str()), ("order_id", ours.as_str())];
    let r = post_form(&http, format!("{base}/orders/cancel"), &reader, &form).await;
    assert_eq!(r.status(), StatusCode::FORBIDDEN);

    // The admin: a button per open order; a wrong or missing token cancels nothing.
    let admin = sign_in(&app, &base, ADMIN).await;
    let page = get_text(&http, format!("{base}/orders"), &admin).await;
    assert_eq!(page.matches("action=\"/orders/cancel\"").count(), 2);
    let csrf = csrf_of(&page);
    for form in [
        vec![("csrf", "0000"), ("order_id", ours.as_str())],
        vec![("order_id", ours.as_str())],
    ] {
        let r = post_form(&http, format!("{base}/orders/cancel"), &admin, &form).await;
        assert_eq!(r.status(), StatusCode::FORBIDDEN);
    }
    let deletes = |id: &str| fake.count_method("DELETE", &format!("/v2/orders/{id}"));
    assert_eq!(deletes(&ours), 0, "nothing was sent to the broker");
    assert_eq!(status_on_fake(&fake, &ours), "accepted");

    // With the token: canceled at the broker, a redirect back with a notice.
    let form = [("csrf", csrf.as_str()), ("order_id", ours.as_str())];
    let r = post_form(&http, format!("{base}/orders/cancel"), &admin, &form).await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let back = r.headers()[reqwest::header::LOCATION].to_str().unwrap();
    assert_eq!(back, format!("/orders?canceled={ours}"));
    assert_eq!(deletes(&ours), 1);
    assert_eq!(status_on_fake(&fake, &ours), "canceled");
    assert_eq!(status_on_fake(&fake, &theirs), "accepted", "only that one");
    let page = get_text(&http, format!("{base}{back}"), &admin).await;
    let notice = format!(
        "Cancel asked for {} buy 2 (order {ours}): its status is now <strong>canceled</strong>.",
        symbol.as_str()
    );
    assert!(page.contains(&notice), "{page}");
    assert_eq!(page.matches("action=\"/orders/cancel\"").count(), 1);
    // Journalled with the dashboard session's chat.
    let today = chrono::Utc::now()
        .with_timezone(&chrono_tz::America::New_York)
        .date_naive();
    let events = app.web_context().journal.day(today).await.unwrap();
    assert!(
        events.iter().any(|e| e.event == EventKind::Cancel
            && e.order_id.as_deref() == Some(ours.as_str())
            && e.source == format!("web:{ADMIN}")),
        "{events:?}"
    );

    // Again, now that it is final, and an id the broker does not know:
    // refused in plain words, the list still shown.
    let r = post_form(&http, format!("{base}/orders/cancel"), &admin, &form).await;
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let body = r.text().await.unwrap();
    assert!(
        body.contains(&format!("Order {ours} was not canceled: ")),
        "{body}"
    );
    assert!(body.contains(&format!("<tr data-order=\"{theirs}\">")));
    let unknown = [("csrf", csrf.as_str()), ("order_id", SOME_ORDER)];
    let r = post_form(&http, format!("{base}/orders/cancel"), &admin, &unknown).await;
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
    assert!(r.text().await.unwrap().contains("no such order"));

    // The kill switch, as stored, with who turned it on.
    trading.halt(&admin_chat).await.expect("halted");
    let page = get_text(&http, format!("{base}/orders"), &reader).await;
    assert!(page.contains("Kill switch: ON"), "{page}");
    assert!(page.contains(&format!("by chat {ADMIN}")));
    trading.resume(&admin_chat).await.expect("resumed");
    let page = get_text(&http, format!("{base}/orders"), &reader).await;
    assert!(page.contains("Kill switch: off"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn when_alpaca_fails_the_page_says_so_in_plain_words_and_keeps_the_kill_switch() {
    // One attempt per read, so one queued fault is one failed list.
    let (app, base, _dir, fake) = trading_app_with(&[("DIPWATCH__MARKET__MAX_RETRIES", "0")]).await;
    let symbol = unheld_symbol(&app, &fake);
    let placed = buy_as(&app, ADMIN, &symbol, dec!(1)).await;
    let http = client();
    let admin = sign_in(&app, &base, ADMIN).await;

    fake.push_fault(
        "/v2/orders",
        Fault::api_error(503, 50_300_000, "service unavailable"),
    );
    let r = http
        .get(format!("{base}/orders"))
        .header("cookie", &admin)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::BAD_GATEWAY);
    let page = r.text().await.unwrap();
    assert!(
        page.contains("The orders could not be listed: Alpaca did not answer"),
        "{page}"
    );
    assert!(page.contains("Kill switch: off"), "read from the store");
    assert!(!page.contains(&fake.secret_key()) && !page.contains(&fake.key_id()));
    assert_eq!(fake.pending_faults(), 0);

    // A cancel Alpaca answers with 429 (the order's look-up before the
    // DELETE): refused in plain words, nothing canceled, the order still
    // listed with its button.
    let id = placed.id.clone();
    let page = get_text(&http, format!("{base}/orders"), &admin).await;
    let csrf = csrf_of(&page);
    fake.push_fault(
        &format!("/v2/orders/{id}"),
        Fault::api_error(429, 42_900_000, "rate limit exceeded"),
    );
    let form = [("csrf", csrf.as_str()), ("order_id", id.as_str())];
    let r = post_form(&http, format!("{base}/orders/cancel"), &admin, &form).await;
    assert_eq!(r.status(), StatusCode::TOO_MANY_REQUESTS);
    let body = r.text().await.unwrap();
    assert!(
        body.contains(&format!(
            "Order {id} was not canceled: Alpaca is rate limiting requests; try again in a minute"
        )),
        "{body}"
    );
    assert_eq!(status_on_fake(&fake, &id), "accepted");
    assert_eq!(fake.count_method("DELETE", &format!("/v2/orders/{id}")), 0);
    assert!(body.contains(&format!("name=\"order_id\" value=\"{id}\"")));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_admin_halts_and_resumes_trading_from_the_page_and_a_reader_cannot() {
    let (app, base, _dir, fake) = trading_app().await;
    let trading = app.web_context().trading.expect("trading is on");
    let symbol = unheld_symbol(&app, &fake);
    let placed = buy_as(&app, ADMIN, &symbol, dec!(2)).await;
    let theirs = placed_elsewhere(&fake, symbol.as_str()).await;
    let http = client();

    // A reader sees the switch but no button, and a post is refused.
    let reader = sign_in(&app, &base, READER).await;
    let page = get_text(&http, format!("{base}/orders"), &reader).await;
    assert!(page.contains("Kill switch: off"));
    assert!(!page.contains("action=\"/orders/halt\""), "{page}");
    let reader_csrf = csrf_of(&page);
    let form = [("csrf", reader_csrf.as_str())];
    let r = post_form(&http, format!("{base}/orders/halt"), &reader, &form).await;
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    assert!(
        r.text()
            .await
            .unwrap()
            .contains("Only admins can halt or resume trading.")
    );
    assert_eq!(trading.halted().await.unwrap(), None);

    // The admin: without the token nothing happens.
    let admin = sign_in(&app, &base, ADMIN).await;
    let page = get_text(&http, format!("{base}/orders"), &admin).await;
    assert_eq!(page.matches("action=\"/orders/halt\"").count(), 1);
    let csrf = csrf_of(&page);
    for form in [vec![("csrf", "0000")], vec![]] {
        let r = post_form(&http, format!("{base}/orders/halt"), &admin, &form).await;
        assert_eq!(r.status(), StatusCode::FORBIDDEN);
    }
    assert_eq!(trading.halted().await.unwrap(), None);
    assert_eq!(status_on_fake(&fake, &placed.id), "accepted");

    // With it: halted, dipwatch's open order asked to cancel (not the
    // other app's), journalled as the dashboard session's chat.
    let form = [("csrf", csrf.as_str())];
    let r = post_form(&http, format!("{base}/orders/halt"), &admin, &form).await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    assert_eq!(r.headers()[reqwest::header::LOCATION], "/orders");
    let halt = trading.halted().await.unwrap().expect("halted");
    assert_eq!(halt.by, format!("web:{ADMIN}"));
    assert_eq!(status_on_fake(&fake, &placed.id), "canceled");
    assert_eq!(status_on_fake(&fake, &theirs), "accepted");
    let page = get_text(&http, format!("{base}/orders"), &admin).await;
    assert!(page.contains("Kill switch: ON"), "{page}");
    assert!(page.contains(&format!("by dashboard ({ADMIN})")), "{page}");
    assert!(page.contains("action=\"/orders/resume\""));
    let today = chrono::Utc::now()
        .with_timezone(&chrono_tz::America::New_York)
        .date_naive();
    let events = app.web_context().journal.day(today).await.unwrap();
    assert!(
        events
            .iter()
            .any(|e| e.event == EventKind::Halt && e.source == format!("web:{ADMIN}")),
        "{events:?}"
    );

    // Resume: the switch is off again, journalled.
    let r = post_form(&http, format!("{base}/orders/resume"), &admin, &form).await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    assert_eq!(trading.halted().await.unwrap(), None);
    let page = get_text(&http, format!("{base}/orders"), &admin).await;
    assert!(page.contains("Kill switch: off"));
    let events = app.web_context().journal.day(today).await.unwrap();
    assert!(
        events
            .iter()
            .any(|e| e.event == EventKind::Resume && e.source == format!("web:{ADMIN}")),
        "{events:?}"
    );
}
