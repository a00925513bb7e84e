//! The orders page in a real browser on a phone: an admin signed in with a
//! one-time link (the link the bot's `/web` sends) sees each order as a
//! card that fits 390 px without sideways scrolling, taps Cancel, and is
//! brought back to the list, which says the cancel was asked and shows the
//! order canceled at the (fake) broker. Screenshots at both widths.

use super::helpers::*;
use super::pages::{fits, shoot};
use crate::support::dashboard::{SimApp, buy_as, placed_elsewhere, unheld_symbol};
use crate::support::fake_alpaca::{FakeAlpaca, FakeAlpacaOptions};

const ORDERS_ADMIN: i64 = 3002;
const BOT_TOKEN: &str = "7000000003:AABrowserOrdersTokenNeverSentAnywhere";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_admin_cancels_an_order_from_the_phone_layout() {
    if opted_out() {
        return;
    }
    let fake = FakeAlpaca::start(FakeAlpacaOptions::new());
    fake.set_market_open(Some(true));
    let (app, addr, _dir) = SimApp::new(20)
        .listening()
        .set("DIPWATCH__TELEGRAM__ADMIN_CHAT_IDS", ORDERS_ADMIN)
        .set("TELOXIDE_TOKEN", BOT_TOKEN)
        .trading_on(&fake)
        .start(dipwatch::collect::Dates::Latest)
        .await;
    let base = format!("http://{addr}");
    let symbol = unheld_symbol(&app, &fake);
    let ours = buy_as(&app, ORDERS_ADMIN, &symbol, rust_decimal::dec!(2)).await;
    let theirs = placed_elsewhere(&fake, symbol.as_str()).await;

    let browser = Browser::start().await;
    let token = app.web_auth().issue_login(ORDERS_ADMIN).unwrap();
    browser.goto(&format!("{base}/login?token={token}")).await;
    assert_eq!(browser.title().await, "Overview · dipwatch");
    browser.viewport(PHONE.0, PHONE.1).await;
    let nav = browser.find("nav a[href='/orders']").await;
    browser.click(&nav).await;
    assert_eq!(browser.title().await, "Orders · dipwatch");
    fits(&browser, "orders", PHONE.0).await;
    // Cards: no header row shown, each cell names itself.
    let header_shown = browser
        .execute("return getComputedStyle(document.querySelector('table.orders thead')).display;")
        .await;
    assert_eq!(header_shown, "none");
    let card = browser.find(&format!("tr[data-order='{}']", ours.id)).await;
    let text = browser.text(&card).await;
    for part in [symbol.as_str(), "buy", "chat 3002", "accepted", "Cancel"] {
        assert!(text.contains(part), "{part} in {text:?}");
    }
    let labels = browser
        .execute(&format!(
            "return [...document.querySelectorAll(\"tr[data-order='{}'] td[data-label]\")]
               .map(td => getComputedStyle(td, '::before').content);",
            ours.id
        ))
        .await;
    let labels: Vec<&str> = labels
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    assert_eq!(
        labels,
        [
            "\"Symbol\"",
            "\"Side\"",
            "\"Qty\"",
            "\"Filled\"",
            "\"Limit\"",
            "\"Status\"",
            "\"Submitted\"",
            "\"Placed by\""
        ],
        "each cell of a card names itself"
    );
    assert!(
        browser
            .body_text()
            .await
            .contains("PAPER trading: orders go to Alpaca's paper account")
    );
    shoot(&browser, "orders", PHONE.0, PHONE.1).await;

    // Tap Cancel on our order: back on the list, which says so.
    let cancel = browser
        .find(&format!(
            "tr[data-order='{}'] form.cancel-order button",
            ours.id
        ))
        .await;
    browser.click(&cancel).await;
    assert_eq!(
        browser.url().await,
        format!("{base}/orders?canceled={}", ours.id)
    );
    let notice = browser.text(&browser.find("p.notice").await).await;
    assert!(
        notice.contains(&format!("(order {}): its status is now canceled.", ours.id)),
        "{notice}"
    );
    let canceled = fake.orders();
    let status = |id: &str| {
        canceled
            .iter()
            .find(|o| o["id"] == id)
            .map(|o| o["status"].as_str().unwrap().to_string())
    };
    assert_eq!(status(&ours.id).as_deref(), Some("canceled"));
    assert_eq!(status(&theirs).as_deref(), Some("accepted"));
    // Ours moved to today's finished orders, without a button.
    let done = browser.find_all("table.done tr[data-order]").await;
    assert_eq!(done.len(), 1);
    assert_eq!(
        browser.find_all("form.cancel-order").await.len(),
        1,
        "only the other order is still cancelable"
    );
    fits(&browser, "orders after a cancel", PHONE.0).await;
    browser.viewport(DESKTOP.0, DESKTOP.1).await;
    browser.goto(&format!("{base}/orders")).await;
    fits(&browser, "orders", DESKTOP.0).await;
    shoot(&browser, "orders", DESKTOP.0, DESKTOP.1).await;
}
