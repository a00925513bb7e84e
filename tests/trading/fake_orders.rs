//! The fake's trading API checked the way Alpaca behaves: the order object's
//! wire shape, a reused client order id, buying power and shares available,
//! a bad quantity, the status script and its fills in the account, listing
//! filters, cancellation, assets, latest trades, and POST faults (a dropped
//! answer still places the order, a 429 does not).

use crate::support::fake_alpaca::{
    DEFAULT_KEY_ID, DEFAULT_SECRET_KEY, FakeAlpaca, FakeAlpacaOptions, Fault, OrderScript,
};

use chrono::{DateTime, Duration as Span, Utc};
use rust_decimal::Decimal;
use rust_decimal::dec;
use serde_json::{Value, json};

/// A blocking request on a fresh connection: status and JSON body
/// (`Value::Null` when empty); `Err` when no answer came.
pub(crate) fn call(
    fake: &FakeAlpaca,
    method: &str,
    target: &str,
    body: Option<&Value>,
) -> Result<(u16, Value), String> {
    let url = format!("{}{target}", fake.url());
    let method = reqwest::Method::from_bytes(method.as_bytes()).unwrap();
    let body = body.map(Value::to_string);
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async move {
        let mut req = reqwest::Client::new()
            .request(method, url)
            .header("APCA-API-KEY-ID", DEFAULT_KEY_ID)
            .header("APCA-API-SECRET-KEY", DEFAULT_SECRET_KEY);
        if let Some(b) = body {
            req = req.header("Content-Type", "application/json").body(b);
        }
        let resp = req.send().await.map_err(|e| e.to_string())?;
        let status = resp.status().as_u16();
        let text = resp.text().await.map_err(|e| e.to_string())?;
        let json = if text.is_empty() {
            Value::Null
        } else {
            serde_json::from_str(&text).map_err(|e| format!("{e}: {text}"))?
        };
        Ok((status, json))
    })
}

fn ok(fake: &FakeAlpaca, method: &str, target: &str, body: Option<&Value>) -> (u16, Value) {
    call(fake, method, target, body).unwrap()
}

fn limit_buy(symbol: &str, qty: &str, limit: &str, client_order_id: &str) -> Value {
    json!({
        "symbol": symbol, "qty": qty, "side": "buy", "type": "limit",
        "time_in_force": "day", "limit_price": limit, "client_order_id": client_order_id,
    })
}

fn limit_sell(symbol: &str, qty: &str, limit: &str) -> Value {
    json!({
        "symbol": symbol, "qty": qty, "side": "sell", "type": "limit",
        "time_in_force": "day", "limit_price": limit,
    })
}

fn d(v: &Value) -> Decimal {
    v.as_str()
        .unwrap_or_else(|| panic!("a decimal string, got {v}"))
        .parse()
        .unwrap()
}

fn fake() -> FakeAlpaca {
    let fake = FakeAlpaca::start(FakeAlpacaOptions::new().universe_strs(&["AAPL", "MSFT", "JPM"]));
    fake.set_last_price("AAPL", dec!(100));
    fake.set_last_price("MSFT", dec!(400));
    fake
}

/// Every field of alpaca-py's recorded order objects, in the fake's answer.
const ORDER_FIELDS: [&str; 34] = [
    "id",
    "client_order_id",
    "created_at",
    "updated_at",
    "submitted_at",
    "filled_at",
    "expired_at",
    "canceled_at",
    "failed_at",
    "replaced_at",
    "replaced_by",
    "replaces",
    "asset_id",
    "symbol",
    "asset_class",
    "notional",
    "qty",
    "filled_qty",
    "filled_avg_price",
    "order_class",
    "order_type",
    "type",
    "side",
    "time_in_force",
    "limit_price",
    "stop_price",
    "status",
    "extended_hours",
    "legs",
    "trail_percent",
    "trail_price",
    "hwm",
    "position_intent",
    "subtag",
];

#[test]
fn a_placed_order_has_alpacas_wire_shape_and_moves_through_its_script() {
    let fake = fake();
    fake.set_order_script(OrderScript::every_fill_state());
    let cash_before = fake.account_now().cash;
    let held_before = fake.position_qty("AAPL");
    let (status, o) = ok(
        &fake,
        "POST",
        "/v2/orders",
        Some(&limit_buy("AAPL", "4", "100.5", "dw-1")),
    );
    assert_eq!(status, 200, "{o}");
    for f in ORDER_FIELDS {
        assert!(o.get(f).is_some(), "{f} missing from {o}");
    }
    assert_eq!(o["status"], "new");
    assert_eq!(o["client_order_id"], "dw-1");
    assert_eq!(o["qty"], "4", "decimals are strings");
    assert_eq!(o["limit_price"], "100.5");
    assert_eq!(o["filled_qty"], "0");
    assert!(o["filled_avg_price"].is_null() && o["filled_at"].is_null());
    assert_eq!(
        (o["type"].as_str(), o["order_type"].as_str()),
        (Some("limit"), Some("limit"))
    );
    assert_eq!(o["asset_class"], "us_equity");
    let created: DateTime<Utc> = o["created_at"].as_str().unwrap().parse().unwrap();
    assert!(o["created_at"].as_str().unwrap().ends_with('Z'));
    let id = o["id"].as_str().unwrap().to_string();
    // Each look advances one step; the partial fill moves cash and shares.
    let path = format!("/v2/orders/{id}");
    assert_eq!(ok(&fake, "GET", &path, None).1["status"], "accepted");
    let (_, o) = ok(&fake, "GET", &path, None);
    assert_eq!(o["status"], "partially_filled");
    assert_eq!(d(&o["filled_qty"]), dec!(2));
    assert_eq!(
        d(&o["filled_avg_price"]),
        dec!(100),
        "filled at the last trade, under the limit"
    );
    assert_eq!(fake.account_now().cash, cash_before - dec!(200));
    let (_, o) = ok(
        &fake,
        "GET",
        "/v2/orders:by_client_order_id?client_order_id=dw-1",
        None,
    );
    assert_eq!(o["status"], "filled");
    assert_eq!(d(&o["filled_qty"]), dec!(4));
    let filled_at: DateTime<Utc> = o["filled_at"].as_str().unwrap().parse().unwrap();
    assert!(filled_at >= created);
    assert_eq!(fake.account_now().cash, cash_before - dec!(400));
    assert_eq!(fake.position_qty("AAPL"), held_before + dec!(4));
    let (_, positions) = ok(&fake, "GET", "/v2/positions/AAPL", None);
    assert_eq!(d(&positions["qty"]), held_before + dec!(4));
    // Final: more looks change nothing.
    assert_eq!(ok(&fake, "GET", &path, None).1["status"], "filled");
    assert_eq!(fake.order_posts(), 1);
}

#[test]
fn a_reused_client_order_id_is_refused_like_alpaca_and_places_nothing() {
    let fake = fake();
    let body = limit_buy("AAPL", "1", "100", "dw-same");
    assert_eq!(ok(&fake, "POST", "/v2/orders", Some(&body)).0, 200);
    let (status, e) = ok(&fake, "POST", "/v2/orders", Some(&body));
    assert_eq!(status, 422);
    assert_eq!(
        e,
        json!({"code": 40010001, "message": "client_order_id must be unique"})
    );
    assert_eq!(fake.orders().len(), 1);
    assert_eq!(fake.order_posts(), 2);
}

#[test]
fn buying_power_shares_available_and_bad_quantities_are_refused() {
    let fake = fake();
    fake.set_buying_power(Some(dec!(1000)));
    // Exactly the buying power passes; a cent over does not.
    assert_eq!(
        ok(
            &fake,
            "POST",
            "/v2/orders",
            Some(&limit_buy("AAPL", "10", "100", "a"))
        )
        .0,
        200
    );
    assert_eq!(
        fake.account_now().buying_power,
        dec!(0),
        "the open buy holds its dollars"
    );
    let (status, e) = ok(
        &fake,
        "POST",
        "/v2/orders",
        Some(&limit_buy("AAPL", "1", "0.01", "b")),
    );
    assert_eq!(status, 403);
    assert_eq!(
        e,
        json!({"code": 40310000, "message": "insufficient buying power"})
    );
    // Selling more than is held.
    let held = fake.position_qty("MSFT");
    let too_many = (held + Decimal::ONE).to_string();
    let (status, e) = ok(
        &fake,
        "POST",
        "/v2/orders",
        Some(&limit_sell("MSFT", &too_many, "399")),
    );
    assert_eq!(status, 403, "{e}");
    assert_eq!(e["code"], 40310000);
    assert!(
        e["message"]
            .as_str()
            .unwrap()
            .starts_with("insufficient qty available for order"),
        "{e}"
    );
    assert_eq!(d(&e["existing_qty"]), held);
    // Bad quantities and prices: 422, nothing placed.
    for (qty, limit, why) in [
        ("0", "100", "qty must be > 0"),
        ("-3", "100", "qty must be > 0"),
        ("ten", "100", "invalid qty"),
        ("1", "100.123", "sub-penny"),
    ] {
        let (status, e) = ok(
            &fake,
            "POST",
            "/v2/orders",
            Some(&limit_buy("AAPL", qty, limit, "c")),
        );
        assert_eq!(status, 422, "{qty} {limit}: {e}");
        assert!(e["message"].as_str().unwrap().contains(why), "{e}");
    }
    let (status, _) = call(&fake, "POST", "/v2/orders", None).unwrap();
    assert_eq!(status, 400, "no body");
    assert_eq!(fake.orders().len(), 1);
}

#[test]
fn sells_fill_into_cash_and_hold_their_shares_while_open() {
    let fake = fake();
    let held = fake.position_qty("MSFT");
    assert!(
        held >= dec!(2),
        "the simulated portfolio holds MSFT: {held}"
    );
    let (_, o) = ok(
        &fake,
        "POST",
        "/v2/orders",
        Some(&limit_sell("MSFT", "1", "399")),
    );
    assert_eq!(o["status"], "accepted", "the default script stays open");
    let (_, p) = ok(&fake, "GET", "/v2/positions/MSFT", None);
    assert_eq!(
        d(&p["qty_available"]),
        held - dec!(1),
        "held for the open sell"
    );
    let cash = fake.account_now().cash;
    let id = o["id"].as_str().unwrap();
    fake.set_order_script(OrderScript::fills());
    assert_eq!(fake.advance_order(id), None, "its own script had one step");
    // A cancel of an open order: 204; then it is final: 422.
    assert_eq!(
        ok(&fake, "DELETE", &format!("/v2/orders/{id}"), None).0,
        204
    );
    let (status, e) = ok(&fake, "DELETE", &format!("/v2/orders/{id}"), None);
    assert_eq!(
        (status, e["message"].as_str()),
        (422, Some("order is not cancelable"))
    );
    let (status, _) = ok(
        &fake,
        "DELETE",
        "/v2/orders/00000000-0000-4000-8000-000000000000",
        None,
    );
    assert_eq!(status, 404);
    assert_eq!(fake.account_now().cash, cash, "nothing filled");
    // A sell that fills brings its dollars in at the last trade (over the limit).
    let (_, o) = ok(
        &fake,
        "POST",
        "/v2/orders",
        Some(&limit_sell("MSFT", "2", "390")),
    );
    let id = o["id"].as_str().unwrap();
    assert_eq!(fake.advance_order(id).as_deref(), Some("filled"));
    assert_eq!(fake.account_now().cash, cash + dec!(800));
    assert_eq!(fake.position_qty("MSFT"), held - dec!(2));
}

#[test]
fn listing_filters_by_status_time_direction_and_limit() {
    let fake = fake();
    let mut ids = Vec::new();
    for i in 0..3 {
        let (_, o) = ok(
            &fake,
            "POST",
            "/v2/orders",
            Some(&limit_buy("AAPL", "1", "99", &format!("l{i}"))),
        );
        ids.push(o["id"].as_str().unwrap().to_string());
    }
    ok(&fake, "DELETE", &format!("/v2/orders/{}", ids[0]), None);
    let list = |q: &str| -> Vec<String> {
        let (status, v) = ok(&fake, "GET", &format!("/v2/orders{q}"), None);
        assert_eq!(status, 200, "{q}: {v}");
        v.as_array()
            .unwrap()
            .iter()
            .map(|o| o["client_order_id"].as_str().unwrap().to_string())
            .collect()
    };
    assert_eq!(list(""), ["l2", "l1"], "open by default, newest first");
    assert_eq!(list("?status=closed"), ["l0"]);
    assert_eq!(list("?status=all&direction=asc"), ["l0", "l1", "l2"]);
    assert_eq!(list("?status=all&limit=1"), ["l2"]);
    let past = (Utc::now() - Span::hours(1)).to_rfc3339();
    let future = (Utc::now() + Span::hours(1)).to_rfc3339();
    assert_eq!(
        list(&format!("?status=all&after={}", urlenc(&past))).len(),
        3
    );
    assert!(list(&format!("?status=all&after={}", urlenc(&future))).is_empty());
    assert!(list("?status=all&symbols=MSFT").is_empty());
    assert_eq!(ok(&fake, "GET", "/v2/orders?limit=501", None).0, 422);
    // Cancel all: 207, one entry per open order.
    let (status, v) = ok(&fake, "DELETE", "/v2/orders", None);
    assert_eq!((status, v.as_array().unwrap().len()), (207, 2));
    assert!(list("").is_empty());
}

fn urlenc(s: &str) -> String {
    s.replace(':', "%3A").replace('+', "%2B")
}

#[test]
fn scripts_reject_and_expire_without_filling() {
    let fake = fake();
    let cash = fake.account_now().cash;
    fake.set_order_script(OrderScript::rejected("too risky"));
    let (_, o) = ok(
        &fake,
        "POST",
        "/v2/orders",
        Some(&limit_buy("AAPL", "1", "100", "r")),
    );
    assert_eq!(o["status"], "pending_new");
    let (_, o) = ok(
        &fake,
        "GET",
        &format!("/v2/orders/{}", o["id"].as_str().unwrap()),
        None,
    );
    assert_eq!(o["status"], "rejected");
    assert!(o["failed_at"].is_string());
    fake.set_order_script(OrderScript::expires());
    let (_, o) = ok(
        &fake,
        "POST",
        "/v2/orders",
        Some(&limit_buy("AAPL", "1", "100", "e")),
    );
    let (_, o) = ok(
        &fake,
        "GET",
        &format!("/v2/orders/{}", o["id"].as_str().unwrap()),
        None,
    );
    assert_eq!(o["status"], "expired");
    assert!(o["expired_at"].is_string());
    assert_eq!(fake.account_now().cash, cash);
}

#[test]
fn post_faults_a_dropped_answer_places_the_order_a_429_does_not() {
    let fake = fake();
    fake.push_fault("/v2/orders", Fault::rate_limited());
    let (status, _) = ok(
        &fake,
        "POST",
        "/v2/orders",
        Some(&limit_buy("AAPL", "1", "100", "x")),
    );
    assert_eq!(status, 429);
    assert!(fake.orders().is_empty());
    fake.push_fault("POST /v2/orders", Fault::DropAnswer);
    fake.push_fault("DELETE /v2/orders", Fault::Reset);
    let e = call(
        &fake,
        "POST",
        "/v2/orders",
        Some(&limit_buy("AAPL", "1", "100", "x")),
    )
    .unwrap_err();
    assert!(!e.is_empty());
    let placed = fake
        .order_by_client_id("x")
        .expect("placed though unanswered");
    assert_eq!(placed["status"], "accepted");
    assert_eq!(fake.order_posts(), 2);
    let log = fake.requests();
    assert_eq!(log.last().unwrap().fault, Some("drop_answer"));
    assert!(
        log.last()
            .unwrap()
            .body
            .contains("\"client_order_id\":\"x\"")
    );
}

#[test]
fn assets_latest_trades_and_the_clock_are_settable() {
    let fake = fake();
    let (status, a) = ok(&fake, "GET", "/v2/assets/AAPL", None);
    assert_eq!(status, 200);
    assert_eq!(
        (a["class"].as_str(), a["tradable"].as_bool()),
        (Some("us_equity"), Some(true))
    );
    assert_eq!(ok(&fake, "GET", "/v2/assets/ZZZZ", None).0, 404);
    fake.set_asset_class("BTCUSD", "crypto");
    fake.set_asset_class("AAPL240126P00050000", "us_option");
    assert_eq!(
        ok(&fake, "GET", "/v2/assets/BTCUSD", None).1["class"],
        "crypto"
    );
    assert_eq!(
        ok(&fake, "GET", "/v2/assets/AAPL240126P00050000", None).1["class"],
        "us_option"
    );
    fake.set_untradable("JPM");
    let (_, a) = ok(&fake, "GET", "/v2/assets/JPM", None);
    assert_eq!(
        (a["tradable"].as_bool(), a["status"].as_str()),
        (Some(false), Some("inactive"))
    );
    let (status, _) = ok(
        &fake,
        "POST",
        "/v2/orders",
        Some(&limit_buy("JPM", "1", "100", "j")),
    );
    assert_eq!(status, 422);
    let (status, e) = ok(
        &fake,
        "POST",
        "/v2/orders",
        Some(&limit_buy("BTCUSD", "1", "100", "c")),
    );
    assert_eq!(status, 422, "{e}");
    // Latest trade: a set price, or the simulated close; a settable time.
    let (_, t) = ok(&fake, "GET", "/v2/stocks/AAPL/trades/latest?feed=iex", None);
    assert_eq!(t["symbol"], "AAPL");
    assert_eq!(t["trade"]["p"].as_f64(), Some(100.0));
    let (_, t) = ok(&fake, "GET", "/v2/stocks/JPM/trades/latest", None);
    assert!(t["trade"]["p"].as_f64().unwrap() > 0.0);
    let stale = Utc::now() - Span::hours(3);
    fake.set_trade_time(Some(stale));
    let (_, t) = ok(
        &fake,
        "GET",
        "/v2/stocks/trades/latest?symbols=AAPL,MSFT",
        None,
    );
    let at: DateTime<Utc> = t["trades"]["MSFT"]["t"].as_str().unwrap().parse().unwrap();
    assert_eq!(at, stale);
    assert_eq!(
        ok(&fake, "GET", "/v2/stocks/ZZZZ/trades/latest", None).0,
        404
    );
    fake.set_market_open(Some(true));
    assert_eq!(ok(&fake, "GET", "/v2/clock", None).1["is_open"], true);
    fake.set_market_open(Some(false));
    assert_eq!(ok(&fake, "GET", "/v2/clock", None).1["is_open"], false);
}
