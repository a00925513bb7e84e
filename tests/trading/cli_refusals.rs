//! What is refused before or by the broker, through the real binary: the
//! broker's 403/422/429/5xx answers in plain words with nothing
//! half-recorded, a closed market (and a day order for the open when
//! asked), a stale last trade, a simulated store, the live URL without
//! allow_live, a sell of more than is held, options and crypto, trading off.

use crate::harness::{Market, UNIVERSE, code};
use crate::support::fake_alpaca::Fault;
use crate::support::{self, Workspace, assert_fails_with, assert_has_all, ok, stderr, stdout};

use chrono::{Duration, Utc};
use rust_decimal::{Decimal, dec};
use serde_json::json;

/// The journal's events for the only client order id it has.
fn only_order_events(m: &Market) -> (String, Vec<std::collections::BTreeMap<String, String>>) {
    let rows = m.journal();
    let coid = rows[0]["client_order_id"].clone();
    assert!(
        rows.iter().all(|r| r["client_order_id"] == coid),
        "{rows:#?}"
    );
    (coid, rows)
}

#[test]
fn alpacas_refusals_are_said_plainly_and_recorded_whole() {
    // 403 from the broker itself: the account said there was buying power.
    let m = Market::open();
    let t = &m.not_held[0];
    m.fake.set_last_price(t, dec!(100));
    m.fake.account_field("buying_power", Some(json!("1000000")));
    m.fake.set_buying_power(Some(dec!(10)));
    let (out, _) = m.order("buy", t, &["--qty", "2"]);
    assert_fails_with(&out, 1, "insufficient buying power");
    assert!(m.fake.orders().is_empty());
    assert_eq!(m.fake.order_posts(), 1);
    let (_, rows) = only_order_events(&m);
    let events: Vec<&str> = rows.iter().map(|r| r["event"].as_str()).collect();
    assert_eq!(events, ["preview", "confirm", "submit", "answer"]);
    let answer = rows.last().unwrap();
    assert!(
        answer["reason"].contains("insufficient buying power"),
        "{answer:?}"
    );
    assert!(answer["order_id"].is_empty(), "no order to name");
}

#[test]
fn a_422_and_a_429_are_plain_words_and_never_retried() {
    let m = Market::open();
    let t = &m.not_held[0];
    m.fake.set_last_price(t, dec!(100));
    m.fake.push_fault(
        "POST /v2/orders",
        Fault::api_error(422, 40_010_001, "qty must be > 0"),
    );
    let (out, _) = m.order("buy", t, &["--qty", "2"]);
    assert_fails_with(&out, 1, "qty must be > 0");
    assert_eq!(m.fake.order_posts(), 1);
    m.fake.push_fault("POST /v2/orders", Fault::rate_limited());
    let (out, _) = m.order("buy", t, &["--qty", "2"]);
    assert_fails_with(&out, 1, "rate limiting");
    assert_eq!(m.fake.order_posts(), 2, "a POST is never retried blindly");
    assert!(m.fake.orders().is_empty());
    // Each submission has its answer: nothing half-recorded.
    let rows = m.journal();
    let submits = rows.iter().filter(|r| r["event"] == "submit").count();
    let answers: Vec<_> = rows.iter().filter(|r| r["event"] == "answer").collect();
    assert_eq!((submits, answers.len()), (2, 2), "{rows:#?}");
    assert!(answers.iter().all(|a| !a["reason"].is_empty()));
}

#[test]
fn a_5xx_leaves_the_outcome_unknown_and_says_how_to_check() {
    let m = Market::open();
    let t = &m.not_held[0];
    m.fake.set_last_price(t, dec!(100));
    m.fake.push_fault("POST /v2/orders", Fault::html(503));
    let (out, _) = m.order("buy", t, &["--qty", "2"]);
    assert_eq!(code(&out), Some(1), "{}", stderr(&out));
    assert_has_all(&stderr(&out), &["may have been placed", "dipwatch orders"]);
    assert_eq!(m.fake.order_posts(), 1, "never sent twice");
    assert!(
        m.fake.count("/v2/orders:by_client_order_id") >= 1,
        "looked up by its client order id"
    );
    assert!(!stderr(&out).contains("<html>"), "{}", stderr(&out));
}

#[test]
fn a_sub_penny_limit_is_refused_before_anything_is_sent() {
    let m = Market::open();
    let t = &m.not_held[0];
    m.fake.set_last_price(t, dec!(100));
    let (out, _) = m.order("buy", t, &["--qty", "1", "--limit", "100.005"]);
    assert_fails_with(&out, 1, "whole cents");
    assert_eq!(m.fake.order_posts(), 0);
}

#[test]
fn a_closed_market_is_refused_unless_a_day_order_waits_for_the_open() {
    let mut m = Market::open();
    m.fake.set_market_open(Some(false));
    let t = &m.not_held[0].clone();
    m.fake.set_last_price(t, dec!(100));
    let (out, _) = m.order("buy", t, &["--qty", "1"]);
    assert_fails_with(&out, 1, "the market is closed");
    assert_eq!(m.fake.order_posts(), 0);
    m.set("queue_for_open", "true");
    // Priced from the last trade however old it is while closed.
    m.fake
        .set_trade_time(Some(Utc::now() - Duration::hours(16)));
    let out = m.run(&["order", "buy", t, "--qty", "1", "--yes"]);
    assert_has_all(
        &ok(&out),
        &["a day order for the next open", "Placed: order"],
    );
    let (out, doc) = m.order("buy", t, &["--qty", "1"]);
    assert_eq!(code(&out), Some(0), "{}", stderr(&out));
    assert!(doc.unwrap()["preview"]["for_next_open"].is_string());
    assert!(m.fake.orders().iter().all(|o| o["time_in_force"] == "day"));
    assert_eq!(m.fake.order_posts(), 2);
}

#[test]
fn a_stale_last_trade_is_refused_while_the_market_is_open() {
    let mut m = Market::open();
    let t = &m.not_held[0].clone();
    m.fake.set_last_price(t, dec!(100));
    m.fake
        .set_trade_time(Some(Utc::now() - Duration::minutes(30)));
    let (out, _) = m.order("buy", t, &["--qty", "1"]);
    assert_fails_with(&out, 1, &format!("the last trade of {t} is too old"));
    assert_stderr_names(&out, "trading.max_price_age_secs");
    assert_eq!(m.fake.order_posts(), 0);
    m.set("max_price_age_secs", "7200");
    let (out, _) = m.order("buy", t, &["--qty", "1"]);
    assert_eq!(code(&out), Some(0), "{}", stderr(&out));
}

#[track_caller]
fn assert_stderr_names(out: &std::process::Output, key: &str) {
    assert!(stderr(out).contains(key), "{}", stderr(out));
}

#[test]
fn a_store_of_simulated_data_is_refused() {
    let tickers = dipwatch::domain::parse_universe(&support::universe_head(UNIVERSE)).unwrap();
    let fake = support::fake_alpaca::FakeAlpaca::start(
        support::fake_alpaca::FakeAlpacaOptions::new().universe(tickers),
    );
    let mut ws = Workspace::new(UNIVERSE);
    ws.set_env("DIPWATCH__MARKET__PROVIDER", "sim");
    ok(&ws.run(&["collect"]));
    ws.use_fake_alpaca(&fake);
    ws.set_env("DIPWATCH__TRADING__ENABLED", "true");
    fake.set_market_open(Some(true));
    let t = support::universe_head(1).trim().to_string();
    let out = ws.run(&["order", "buy", &t, "--qty", "1", "--yes"]);
    assert_fails_with(&out, 1, "simulated");
    assert_eq!(fake.order_posts(), 0);
    // The simulated market itself cannot trade: a configuration error.
    ws.set_env("DIPWATCH__MARKET__PROVIDER", "sim");
    assert_fails_with(
        &ws.run(&["order", "buy", &t, "--qty", "1", "--yes"]),
        2,
        "the simulated market cannot trade",
    );
}

#[test]
fn the_live_url_is_refused_without_allow_live() {
    let mut m = Market::open();
    m.ws.set_env(
        "DIPWATCH__MARKET__TRADING_URL",
        "https://api.alpaca.markets",
    );
    let out = m.run(&["check-config"]);
    assert_fails_with(&out, 2, "trading.allow_live");
    let t = m.not_held[0].clone();
    assert_fails_with(
        &m.run(&["order", "buy", &t, "--qty", "1", "--yes"]),
        2,
        "trading.allow_live",
    );
    assert_eq!(m.fake.order_posts(), 0);
    // Meant: check-config says LIVE (nothing is sent by check-config).
    m.set("allow_live", "true");
    let text = ok(&m.run(&["check-config"]));
    assert!(
        text.contains("# trading: on, LIVE orders to https://api.alpaca.markets"),
        "{text}"
    );
    // Paper says PAPER.
    m.ws.set_env("DIPWATCH__MARKET__TRADING_URL", &m.fake.url());
    let text = ok(&m.run(&["check-config"]));
    assert!(text.contains("# trading: on, PAPER orders to"), "{text}");
}

#[test]
fn a_sell_of_more_than_is_held_is_refused() {
    let m = Market::open();
    let h = &m.held[0];
    m.fake.set_last_price(h, dec!(1));
    let held = m.fake.position_qty(h);
    let more = (held + Decimal::ONE).to_string();
    let (out, _) = m.order("sell", h, &["--qty", &more]);
    assert_fails_with(&out, 1, "no shorting");
    let n = &m.not_held[0];
    m.fake.set_last_price(n, dec!(1));
    let (out, _) = m.order("sell", n, &["--qty", "1"]);
    assert_fails_with(&out, 1, "never does");
    assert_eq!(m.fake.order_posts(), 0);
}

#[test]
fn options_crypto_and_unknown_symbols_are_refused() {
    let m = Market::open();
    m.fake.set_asset_class("BTCUSD", "crypto");
    m.fake.set_last_price("BTCUSD", dec!(100));
    let (out, _) = m.order("buy", "BTCUSD", &["--usd", "100"]);
    assert_fails_with(&out, 1, "only US stocks are traded");
    let (out, _) = m.order("buy", "ZZZZ", &["--usd", "100"]);
    assert_fails_with(&out, 1, "ZZZZ is not an asset the broker knows");
    let halted_asset = &m.not_held[0];
    m.fake.set_untradable(halted_asset);
    let (out, _) = m.order("buy", halted_asset, &["--usd", "100"]);
    assert_fails_with(&out, 1, "is not tradable at the broker");
    for not_a_ticker in ["AAPL240126P00050000", "BTC/USD"] {
        let (out, _) = m.order("buy", not_a_ticker, &["--usd", "100"]);
        assert_fails_with(&out, 2, "only US stocks are traded");
    }
    assert_eq!(m.fake.order_posts(), 0);
}

#[test]
fn bad_arguments_and_trading_off_are_refused_before_anything_is_asked() {
    let mut m = Market::open();
    let t = m.not_held[0].clone();
    for args in [
        vec!["order", "buy", &t],
        vec!["order", "buy", &t, "--usd", "1", "--qty", "1"],
        vec!["order", "buy", &t, "--usd", "-5"],
        vec!["order", "buy", &t, "--qty", "1.5"],
        vec!["order", "sell", &t, "--pct", "150"],
        vec!["order", "buy", &t, "--usd", "10", "--limit", "abc"],
    ] {
        let out = m.run(&args);
        assert_eq!(code(&out), Some(2), "{args:?}: {}", stderr(&out));
    }
    m.set("enabled", "false");
    assert_fails_with(
        &m.run(&["order", "buy", &t, "--qty", "1", "--yes"]),
        1,
        "trading is off",
    );
    assert_fails_with(&m.run(&["orders"]), 1, "trading is off");
    assert_fails_with(&m.run(&["trading", "halt"]), 1, "trading is off");
    assert!(
        m.fake
            .requests()
            .iter()
            .all(|r| !r.path.starts_with("/v2/orders")),
        "nothing asked of the broker's orders"
    );
}

#[test]
fn a_store_that_cannot_journal_places_nothing_and_exits_75() {
    let m = Market::open();
    let t = &m.not_held[0];
    m.fake.set_last_price(t, dec!(100));
    // `orders/` is a file: no journal object can be created under it.
    std::fs::write(m.ws.path("data/orders"), "not a directory").unwrap();
    let (out, doc) = m.order("buy", t, &["--qty", "1"]);
    assert_fails_with(&out, 75, "cannot write the order journal");
    assert!(
        doc.is_none(),
        "no preview shown unrecorded: {}",
        stdout(&out)
    );
    assert_eq!(m.fake.order_posts(), 0, "nothing sent unrecorded");
    // The kill switch needs the store too.
    std::fs::write(m.ws.path("data/_trading"), "not a directory").unwrap();
    assert_eq!(code(&m.run(&["trading", "halt"])), Some(75));
}
