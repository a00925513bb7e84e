//! Each guard of `[trading]` at its edge through the real binary: a value
//! equal to its limit is placed, one cent (or one order) past it is refused
//! in words that name the key, and nothing is sent.

use crate::harness::{Market, code};
use crate::support::fake_alpaca::Fault;
use crate::support::{assert_fails_with, stderr};

use rust_decimal::dec;
use serde_json::json;

/// Placed: exit 0 and one more POST.
#[track_caller]
fn placed(m: &Market, side: &str, ticker: &str, args: &[&str]) {
    let before = m.fake.order_posts();
    let (out, _) = m.order(side, ticker, args);
    assert_eq!(code(&out), Some(0), "{args:?}: {}", stderr(&out));
    assert_eq!(m.fake.order_posts(), before + 1, "{args:?}");
}

/// Refused with `words` on stderr (exit 1), nothing sent.
#[track_caller]
fn refused(m: &Market, side: &str, ticker: &str, args: &[&str], words: &str) {
    let before = m.fake.order_posts();
    let (out, _) = m.order(side, ticker, args);
    assert_fails_with(&out, 1, words);
    assert_eq!(m.fake.order_posts(), before, "{args:?}: nothing sent");
}

#[test]
fn max_order_usd_passes_at_its_limit_and_refuses_a_cent_past() {
    let m = Market::open();
    let t = &m.not_held[0];
    m.fake.set_last_price(t, dec!(1000));
    refused(
        &m,
        "buy",
        t,
        &["--qty", "1", "--limit", "1000.01"],
        "over a guard: trading.max_order_usd (limit $1,000.00, would be $1,000.01)",
    );
    placed(&m, "buy", t, &["--qty", "1", "--limit", "1000"]);
    // A sell is bounded too.
    let h = &m.held[0];
    m.fake.set_last_price(h, dec!(1000.01));
    refused(
        &m,
        "sell",
        h,
        &["--qty", "1", "--limit", "1000.01"],
        "trading.max_order_usd",
    );
    // The guard refusal was shown and journalled, then dropped unsent.
    let events: Vec<String> = m
        .journal()
        .into_iter()
        .map(|r| r["event"].clone())
        .collect();
    assert_eq!(events.first().map(String::as_str), Some("preview"));
    assert_eq!(events.get(1).map(String::as_str), Some("discard"));
}

#[test]
fn max_position_pct_passes_at_its_limit_and_refuses_past_it() {
    let mut m = Market::open();
    m.set("max_position_pct", "1");
    m.set("max_order_usd", "5000");
    // Equity of exactly $100,000: 1% is $1,000.
    m.fake.account_field("equity", Some(json!("100000")));
    let t = &m.not_held[0];
    m.fake.set_last_price(t, dec!(100));
    refused(
        &m,
        "buy",
        t,
        &["--qty", "10", "--limit", "100.01"],
        "trading.max_position_pct (limit 1.00%",
    );
    placed(&m, "buy", t, &["--qty", "10", "--limit", "100"]);
}

#[test]
fn max_orders_per_day_counts_todays_orders() {
    let mut m = Market::open();
    m.set("max_orders_per_day", "2");
    let t = &m.not_held[0];
    m.fake.set_last_price(t, dec!(10));
    placed(&m, "buy", t, &["--qty", "1"]);
    placed(&m, "buy", t, &["--qty", "1"]);
    refused(
        &m,
        "buy",
        t,
        &["--qty", "1"],
        "trading.max_orders_per_day (limit 2 orders, would be 3 orders)",
    );
}

#[test]
fn max_daily_usd_adds_todays_orders() {
    let mut m = Market::open();
    m.set("max_daily_usd", "1500");
    let (a, b) = (&m.not_held[0], &m.not_held[1]);
    m.fake.set_last_price(a, dec!(100));
    m.fake.set_last_price(b, dec!(500));
    placed(&m, "buy", a, &["--qty", "10", "--limit", "100"]);
    refused(
        &m,
        "buy",
        b,
        &["--qty", "1", "--limit", "500.01"],
        "trading.max_daily_usd (limit $1,500.00, would be $1,500.01)",
    );
    placed(&m, "buy", b, &["--qty", "1", "--limit", "500"]);
}

#[test]
fn the_limit_collar_bounds_buys_above_and_sells_below_the_last_trade() {
    let m = Market::open();
    let t = &m.not_held[0];
    m.fake.set_last_price(t, dec!(100));
    refused(
        &m,
        "buy",
        t,
        &["--qty", "1", "--limit", "100.51"],
        "outside the collar",
    );
    placed(&m, "buy", t, &["--qty", "1", "--limit", "100.50"]);
    let h = &m.held[0];
    m.fake.set_last_price(h, dec!(100));
    refused(
        &m,
        "sell",
        h,
        &["--qty", "1", "--limit", "99.49"],
        "outside the collar",
    );
    placed(&m, "sell", h, &["--qty", "1", "--limit", "99.50"]);
    // Without --limit: the collar's edge.
    let (out, doc) = m.order("buy", t, &["--qty", "1"]);
    assert_eq!(code(&out), Some(0), "{}", stderr(&out));
    assert_eq!(doc.unwrap()["preview"]["limit_price"], "100.50");
}

#[test]
fn the_guards_are_checked_again_at_confirmation_against_the_account_then() {
    let m = Market::open();
    let t = &m.not_held[0];
    m.fake.set_last_price(t, dec!(100));
    // The preview sees the account as it is; by the confirmation Alpaca
    // says the buying power is gone.
    let (status, mut account) =
        crate::fake_orders::call(&m.fake, "GET", "/v2/account", None).unwrap();
    assert_eq!(status, 200);
    account["buying_power"] = json!("50");
    m.fake.push_fault("GET /v2/account", Fault::Pass);
    m.fake
        .push_fault("GET /v2/account", Fault::status(200, account.to_string()));
    let (out, _) = m.order("buy", t, &["--qty", "1"]);
    assert_fails_with(
        &out,
        1,
        "over a guard: buying_power (limit $50.00, would be $100.50)",
    );
    assert_eq!(m.fake.order_posts(), 0, "nothing sent");
    assert_eq!(
        m.fake.pending_faults(),
        0,
        "the preview and the confirmation both looked"
    );
    let events: Vec<String> = m
        .journal()
        .into_iter()
        .map(|r| r["event"].clone())
        .collect();
    assert_eq!(events, ["preview", "discard"]);
}
