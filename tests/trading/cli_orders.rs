//! Orders placed, listed, canceled and halted through the real `dipwatch`
//! binary against the fake trading API, and what the journal in the store
//! says about each.

use crate::harness::{Market, code};
use crate::support::fake_alpaca::{Fault, OrderScript};
use crate::support::{ChildGuard, assert_fails_with, assert_has_all, ok, stderr, stdout, wait_for};

use rust_decimal::Decimal;
use rust_decimal::dec;
use serde_json::Value;

fn dec_of(v: &Value) -> Decimal {
    v.as_str()
        .unwrap_or_else(|| panic!("a decimal string: {v}"))
        .parse()
        .unwrap()
}

#[test]
fn a_buy_with_yes_is_placed_once_and_journalled() {
    let m = Market::open();
    let t = &m.not_held[0];
    m.fake.set_last_price(t, dec!(100));
    let (out, doc) = m.order("buy", t, &["--usd", "500"]);
    assert_eq!(code(&out), Some(0), "{}", stderr(&out));
    let doc = doc.expect("one JSON document");
    // $500 at the collar's edge (100 + 0.5%) buys 4 whole shares.
    let p = &doc["preview"];
    assert_eq!(
        (p["symbol"].as_str(), p["side"].as_str()),
        (Some(t.as_str()), Some("buy"))
    );
    assert_eq!(
        (dec_of(&p["qty"]), dec_of(&p["limit_price"])),
        (dec!(4), dec!(100.50))
    );
    assert_eq!(dec_of(&p["estimated_cost"]), dec!(402.00));
    assert_eq!(p["mode"], "PAPER");
    assert!(
        p.get("token").is_none(),
        "the confirmation token is never printed"
    );
    let coid = p["client_order_id"].as_str().unwrap();
    let order = &doc["order"];
    assert_eq!(order["status"], "accepted");
    assert_eq!(order["client_order_id"], coid);
    assert_eq!(doc["already_placed"], false);
    // Exactly one order, as sent: a day limit order under the preview's id.
    assert_eq!(m.fake.order_posts(), 1);
    let placed = m
        .fake
        .order_by_client_id(coid)
        .expect("placed under its id");
    assert_eq!(placed["id"], order["id"]);
    assert_eq!(
        (placed["type"].as_str(), placed["time_in_force"].as_str()),
        (Some("limit"), Some("day"))
    );
    assert_eq!(
        (dec_of(&placed["qty"]), dec_of(&placed["limit_price"])),
        (dec!(4), dec!(100.50))
    );
    // Every step is in orders/ in the store, by the CLI, with the order's id once known.
    assert_eq!(
        m.events_of(coid),
        ["preview", "confirm", "submit", "answer"]
    );
    let rows = m.journal();
    let answer = rows.iter().find(|r| r["event"] == "answer").unwrap();
    assert_eq!(answer["order_id"], order["id"].as_str().unwrap());
    assert_eq!(
        (answer["status"].as_str(), answer["source"].as_str()),
        ("accepted", "cli")
    );
    assert_eq!(
        (answer["symbol"].as_str(), answer["qty"].as_str()),
        (t.as_str(), "4")
    );
}

#[test]
fn the_table_preview_shows_every_row_and_the_placed_order() {
    let m = Market::open();
    let t = &m.not_held[1];
    m.fake.set_last_price(t, dec!(50));
    let out = m.run(&["order", "buy", t, "--qty", "3", "--limit", "50.10", "--yes"]);
    let text = ok(&out);
    assert_has_all(
        &text,
        &[
            &format!("Order preview (PAPER): buy {t}"),
            "Quantity",
            "Limit price",
            "$50.10",
            "Estimated cost",
            "$150.30",
            "Weight after",
            "Cash after",
            "Largest weight after",
            "Joins cluster",
            "now (the market is open)",
            "trading.max_order_usd",
            "ok: $150.30 of $1,000.00 ($849.70 left)",
            "trading.max_position_pct",
            "trading.max_orders_per_day",
            "trading.max_daily_usd",
            "Placed: order ",
            " is accepted.",
        ],
    );
    assert_eq!(m.fake.order_posts(), 1);
}

#[test]
fn without_yes_and_without_a_terminal_nothing_is_sent() {
    let m = Market::open();
    let t = &m.not_held[0];
    m.fake.set_last_price(t, dec!(100));
    let out = m.run(&["order", "buy", t, "--usd", "500"]);
    assert_fails_with(&out, 2, "pass --yes");
    assert!(
        stdout(&out).contains("Order preview (PAPER)"),
        "the preview is still shown"
    );
    m.fake.set_last_price(&m.held[0], dec!(100));
    let out = m.run(&[
        "order", "sell", &m.held[0], "--qty", "1", "--format", "json",
    ]);
    assert_fails_with(&out, 2, "no terminal");
    let doc: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(doc["order"].is_null());
    assert_eq!(m.fake.order_posts(), 0, "nothing sent");
    // Both previews were journalled, then dropped unsent.
    let events: Vec<String> = m
        .journal()
        .into_iter()
        .map(|r| r["event"].clone())
        .collect();
    assert_eq!(events, ["preview", "discard", "preview", "discard"]);
}

#[test]
fn an_answer_dropped_after_the_order_was_placed_is_found_by_its_client_order_id() {
    let m = Market::open();
    let t = &m.not_held[0];
    m.fake.set_last_price(t, dec!(100));
    m.fake.push_fault("POST /v2/orders", Fault::DropAnswer);
    let (out, doc) = m.order("buy", t, &["--qty", "2"]);
    assert_eq!(code(&out), Some(0), "{}", stderr(&out));
    let doc = doc.unwrap();
    let coid = doc["preview"]["client_order_id"].as_str().unwrap();
    assert_eq!(doc["order"]["client_order_id"], coid);
    assert_eq!(m.fake.order_posts(), 1, "never sent twice");
    assert_eq!(m.fake.orders().len(), 1);
    assert!(
        m.fake
            .requests()
            .iter()
            .any(|r| r.path == "/v2/orders:by_client_order_id"
                && r.param("client_order_id") == Some(coid)),
        "looked up by its client order id"
    );
    let events = m.events_of(coid);
    assert_eq!(events.first().map(String::as_str), Some("preview"));
    assert!(
        events.contains(&"submit".to_string()) && events.contains(&"answer".to_string()),
        "{events:?}"
    );
    // `orders --open --format json` lists it, placed by the CLI.
    let list: Value =
        serde_json::from_str(&ok(&m.run(&["orders", "--open", "--format", "json"]))).unwrap();
    let all = list.as_array().unwrap();
    assert_eq!(all.len(), 1, "{list:#}");
    assert_eq!(all[0]["client_order_id"], coid);
    assert_eq!(all[0]["source"], "cli");
    assert_eq!(all[0]["status"], "accepted");
    assert_eq!(all[0]["symbol"], t.as_str());
}

#[test]
fn orders_lists_open_and_todays_and_cancel_asks_alpaca() {
    let m = Market::open();
    let (a, b) = (&m.not_held[0], &m.not_held[1]);
    m.fake.set_last_price(a, dec!(20));
    m.fake.set_last_price(b, dec!(30));
    m.fake.set_order_script(OrderScript::fills());
    let (_, first) = m.order("buy", a, &["--qty", "5"]);
    let filled_id = first.unwrap()["order"]["id"].as_str().unwrap().to_string();
    assert_eq!(m.fake.advance_order(&filled_id).as_deref(), Some("filled"));
    m.fake.set_order_script(OrderScript::stays_open());
    let (_, second) = m.order("buy", b, &["--qty", "5"]);
    let open_id = second.unwrap()["order"]["id"].as_str().unwrap().to_string();
    let ids = |args: &[&str]| -> Vec<String> {
        let v: Value = serde_json::from_str(&ok(&m.run(args))).unwrap();
        v.as_array()
            .unwrap()
            .iter()
            .map(|o| o["id"].as_str().unwrap().to_string())
            .collect()
    };
    assert_eq!(
        ids(&["orders", "--open", "--format", "json"]),
        std::slice::from_ref(&open_id)
    );
    let mut today = ids(&["orders", "--format", "json"]);
    today.sort();
    let mut both = vec![open_id.clone(), filled_id.clone()];
    both.sort();
    assert_eq!(today, both);
    let table = ok(&m.run(&["orders"]));
    assert_has_all(
        &table,
        &[
            "Symbol", "Status", "Source", "filled", "accepted", "cli", &open_id,
        ],
    );
    // Cancel the open one: asked of Alpaca, journalled; a filled one cannot be.
    let out = m.run(&["order", "cancel", &open_id]);
    assert_has_all(&ok(&out), &[&open_id, "canceled"]);
    let placed: Vec<Value> = m.fake.orders();
    assert!(
        placed
            .iter()
            .any(|o| o["id"] == open_id.as_str() && o["status"] == "canceled")
    );
    assert_fails_with(
        &m.run(&["order", "cancel", &filled_id]),
        1,
        "not cancelable",
    );
    assert_fails_with(
        &m.run(&["order", "cancel", "00000000-0000-4000-8000-000000000000"]),
        1,
        "no such order",
    );
    assert_fails_with(
        &m.run(&["order", "cancel", "../../etc"]),
        2,
        "not an order id",
    );
    assert!(
        m.journal()
            .iter()
            .any(|r| r["event"] == "cancel" && r["order_id"] == open_id)
    );
    assert!(ids(&["orders", "--open", "--format", "json"]).is_empty());
    assert_eq!(
        ok(&m.run(&["orders", "--open"])),
        "No open orders (PAPER).\n"
    );
}

#[test]
fn a_halted_store_refuses_orders_and_cancels_open_ones_until_resumed() {
    let m = Market::open();
    let t = &m.not_held[0];
    m.fake.set_last_price(t, dec!(10));
    let (_, doc) = m.order("buy", t, &["--qty", "3"]);
    let open_id = doc.unwrap()["order"]["id"].as_str().unwrap().to_string();
    let out = m.run(&["trading", "halt"]);
    assert_has_all(&ok(&out), &["Trading halted", &open_id]);
    assert!(
        m.fake.orders().iter().all(|o| o["status"] == "canceled"),
        "open orders canceled"
    );
    assert!(ok(&m.run(&["trading", "status"])).contains("Halted since"));
    let before = m.fake.order_posts();
    let (out, _) = m.order("buy", t, &["--qty", "1"]);
    assert_fails_with(&out, 1, "halted");
    assert_eq!(m.fake.order_posts(), before, "nothing sent while halted");
    let events: Vec<String> = m
        .journal()
        .into_iter()
        .map(|r| r["event"].clone())
        .collect();
    assert!(events.contains(&"halt".to_string()), "{events:?}");
    ok(&m.run(&["trading", "resume"]));
    assert!(ok(&m.run(&["trading", "status"])).contains("Not halted"));
    let (out, _) = m.order("buy", t, &["--qty", "1"]);
    assert_eq!(code(&out), Some(0), "{}", stderr(&out));
    assert_eq!(m.fake.order_posts(), before + 1);
    assert!(m.journal().iter().any(|r| r["event"] == "resume"));
}

#[test]
fn on_a_terminal_it_asks_and_only_y_places_the_order() {
    let m = Market::open();
    let t = &m.not_held[0];
    m.fake.set_last_price(t, dec!(100));
    let out = m.run_on_terminal(&["order", "buy", t, "--qty", "2"], "n\n");
    assert_fails_with(&out, 2, "not confirmed: nothing was sent");
    assert!(
        stderr(&out).contains("Place this PAPER order"),
        "{}",
        stderr(&out)
    );
    assert_eq!(m.fake.order_posts(), 0);
    let out = m.run_on_terminal(&["order", "buy", t, "--qty", "2"], "y\n");
    assert_has_all(&ok(&out), &["Order preview (PAPER)", "Placed: order"]);
    assert_eq!(m.fake.order_posts(), 1);
    // JSON on a terminal: the preview is shown on stderr before the
    // question, the document on stdout.
    let out = m.run_on_terminal(
        &["order", "buy", t, "--qty", "1", "--format", "json"],
        "yes\n",
    );
    assert!(
        stderr(&out).contains("Order preview (PAPER)"),
        "{}",
        stderr(&out)
    );
    let doc: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(doc["order"]["status"], "accepted");
    let events: Vec<String> = m
        .journal()
        .into_iter()
        .map(|r| r["event"].clone())
        .collect();
    assert_eq!(events[..2], ["preview", "discard"]);
    assert_eq!(m.fake.order_posts(), 2);
}

#[test]
fn a_cli_killed_between_submission_and_answer_placed_the_order_once_and_it_is_listed() {
    let mut m = Market::open();
    m.ws.set_env("DIPWATCH__MARKET__REQUEST_TIMEOUT_SECS", "120");
    let t = &m.not_held[0].clone();
    m.fake.set_last_price(t, dec!(100));
    // The order is placed, and its answer held back until long after the kill.
    m.fake.push_fault(
        "POST /v2/orders",
        Fault::Hang(std::time::Duration::from_secs(600)),
    );
    let mut cmd = m.ws.command(&["order", "buy", t, "--qty", "2", "--yes"]);
    cmd.stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null());
    let mut child = ChildGuard::spawn(&mut cmd).unwrap();
    wait_for(
        std::time::Duration::from_secs(120),
        || format!("{:?}", m.fake.requests().last().map(|r| r.path.clone())),
        || (m.fake.order_posts() == 1).then_some(()),
    );
    child.kill().unwrap();
    let status = child.wait().unwrap();
    assert!(!status.success(), "killed before its answer");
    // A new process finds it: placed once, by the CLI (from the journal).
    let list: Value =
        serde_json::from_str(&ok(&m.run(&["orders", "--open", "--format", "json"]))).unwrap();
    let all = list.as_array().unwrap();
    assert_eq!(all.len(), 1, "{list:#}");
    assert_eq!(all[0]["source"], "cli");
    let coid = all[0]["client_order_id"].as_str().unwrap();
    let events = m.events_of(coid);
    assert_eq!(
        events,
        ["preview", "confirm", "submit"],
        "written before the request left"
    );
    assert_eq!(m.fake.order_posts(), 1);
}

#[test]
fn orders_placed_elsewhere_are_listed_without_a_source_and_survive_a_halt() {
    let m = Market::open();
    let t = &m.not_held[0];
    m.fake.set_last_price(t, dec!(10));
    let (_, doc) = m.order("buy", t, &["--qty", "1"]);
    let ours = doc.unwrap()["order"]["id"].as_str().unwrap().to_string();
    let theirs = m.fake.place_raw(&serde_json::json!({
        "symbol": t, "qty": "1", "side": "buy", "type": "limit",
        "time_in_force": "gtc", "limit_price": "9.50", "client_order_id": "placed-in-the-app",
    }));
    let list: Value =
        serde_json::from_str(&ok(&m.run(&["orders", "--open", "--format", "json"]))).unwrap();
    let source_of = |id: &str| {
        list.as_array()
            .unwrap()
            .iter()
            .find(|o| o["id"] == id)
            .unwrap()["source"]
            .clone()
    };
    assert_eq!(source_of(&ours), "cli");
    assert!(source_of(&theirs).is_null(), "{list:#}");
    let out = ok(&m.run(&["trading", "halt"]));
    assert!(out.contains(&ours) && !out.contains(&theirs), "{out}");
    let status =
        |id: &str| m.fake.orders().into_iter().find(|o| o["id"] == id).unwrap()["status"].clone();
    assert_eq!(status(&ours), "canceled");
    assert_eq!(
        status(&theirs),
        "accepted",
        "dipwatch halts only its own orders"
    );
}
