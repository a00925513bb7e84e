use chrono::{TimeZone, Utc};
use rust_decimal::{Decimal, dec};

use super::*;
use crate::domain::{AssetClass, AssetSymbol, ClientOrderId, OrderSide, Symbol};
use crate::market::TradeError;
use crate::trading::{GuardCheck, Source};

fn order(status: &str, filled: Decimal, avg: Option<Decimal>) -> Order {
    Order {
        id: "61e69015-8549-4bfd-b9c3-01e75843f47d".into(),
        client_order_id: ClientOrderId::from_digest([0xab; 16]).to_string(),
        symbol: AssetSymbol::parse("BF.B").unwrap(),
        asset_class: AssetClass::UsEquity,
        side: OrderSide::Buy,
        qty: Some(dec!(5)),
        notional: None,
        filled_qty: filled,
        filled_avg_price: avg,
        order_type: "limit".into(),
        limit_price: Some(dec!(1180.5)),
        time_in_force: "day".into(),
        status: OrderStatus::from_wire(status),
        submitted_at: Some(Utc.with_ymd_and_hms(2026, 11, 25, 14, 31, 0).unwrap()),
        updated_at: None,
        filled_at: None,
    }
}

fn update(o: Order) -> OrderUpdate {
    OrderUpdate {
        source: Source::Chat(2001),
        order: o,
        previous: None,
    }
}

fn guard(key: &'static str, ok: bool) -> GuardCheck {
    GuardCheck {
        key,
        limit: "$1,000.00".into(),
        value: "$902.50".into(),
        headroom: "$97.50".into(),
        ok,
    }
}

fn preview(guards: Vec<GuardCheck>, mode: TradingMode) -> Preview {
    let at = Utc.with_ymd_and_hms(2026, 11, 25, 14, 30, 0).unwrap();
    Preview {
        token: "0123456789abcdef0123456789abcdef".into(),
        client_order_id: ClientOrderId::from_digest([1; 16]),
        mode,
        symbol: Symbol::parse("BF.B").unwrap(),
        side: OrderSide::Buy,
        qty: dec!(5),
        limit_price: dec!(180.5),
        last_price: dec!(179.6),
        last_price_at: at,
        estimated_cost: dec!(902.5),
        weight_after_pct: 1.5,
        cash_after: dec!(11097.5),
        largest_weight: Some(("<NVDA>".into(), 12.0)),
        joins_cluster: vec![],
        guards,
        for_next_open: None,
        expires_at: at + chrono::Duration::seconds(60),
    }
}

fn buttons(reply: &Reply) -> Vec<String> {
    reply
        .keyboard
        .iter()
        .flat_map(|k| k.inline_keyboard.iter().flatten())
        .map(|b| b.text.clone())
        .collect()
}

#[test]
fn a_preview_shows_its_rows_the_mode_and_both_buttons() {
    let p = preview(
        vec![guard("trading.max_order_usd", true)],
        TradingMode::Paper,
    );
    let reply = preview_reply(&p);
    assert!(reply.text.starts_with("🧪 <b>PAPER</b>"), "{}", reply.text);
    for (label, value) in p.rows() {
        assert!(
            reply.text.contains(label),
            "{label} missing: {}",
            reply.text
        );
        assert!(
            reply.text.contains(&escape(&value)),
            "{value} missing: {}",
            reply.text
        );
    }
    assert!(
        reply.text.contains("&lt;NVDA&gt;"),
        "escaped: {}",
        reply.text
    );
    assert_eq!(buttons(&reply), ["✅ Confirm", "✖ Cancel"]);
    let data: Vec<String> = reply
        .keyboard
        .iter()
        .flat_map(|k| k.inline_keyboard.iter().flatten())
        .filter_map(|b| match &b.kind {
            teloxide::types::InlineKeyboardButtonKind::CallbackData(d) => Some(d.clone()),
            _ => None,
        })
        .collect();
    assert_eq!(
        data,
        [
            "tc:0123456789abcdef0123456789abcdef",
            "tx:0123456789abcdef0123456789abcdef"
        ]
    );
    assert!(crate::bot::html::well_formed(&reply.text), "{}", reply.text);
    let live = preview_reply(&preview(vec![], TradingMode::Live));
    assert!(
        live.text.starts_with("🔴 <b>LIVE: REAL MONEY</b>"),
        "{}",
        live.text
    );
}

#[test]
fn a_preview_over_a_guard_names_it_and_cannot_be_confirmed() {
    let p = preview(
        vec![
            guard("trading.max_order_usd", true),
            guard("trading.max_position_pct", false),
        ],
        TradingMode::Paper,
    );
    let reply = preview_reply(&p);
    assert!(
        reply
            .text
            .contains("⚠️ <b>Over a guard</b>: trading.max_position_pct."),
        "{}",
        reply.text
    );
    assert_eq!(buttons(&reply), ["✖ Cancel"], "no Confirm");
}

#[test]
fn refusals_are_the_services_words_escaped() {
    assert_eq!(
        refusal(&Refusal::Expired),
        "⛔ This preview expired; ask for a new one"
    );
    assert_eq!(refusal(&Refusal::Disabled), trading_off());
    let broker = Refusal::Broker(TradeError::Refused {
        broker: "Alpaca",
        status: 403,
        reason: "insufficient buying power <&>".into(),
    });
    assert_eq!(
        refusal(&broker),
        "❌ Not placed: Alpaca refused it (HTTP 403): insufficient buying power &lt;&amp;&gt;"
    );
}

#[test]
fn status_changes_read_as_sentences() {
    let cases = [
        (
            order("accepted", dec!(0), None),
            "📨 Order buy 5 BF.B, limit $1,180.50: accepted by Alpaca",
        ),
        (
            order("partially_filled", dec!(2), Some(dec!(1180.2))),
            "◐ Order buy 5 BF.B, limit $1,180.50: partially filled: 2 of 5 at $1,180.20 average",
        ),
        (
            order("filled", dec!(5), Some(dec!(1180.31))),
            "✅ Order buy 5 BF.B, limit $1,180.50: <b>filled</b>: 5 of 5 at $1,180.31 average",
        ),
        (
            order("canceled", dec!(0), None),
            "✖ Order buy 5 BF.B, limit $1,180.50: canceled (nothing filled)",
        ),
        (
            order("rejected", dec!(0), None),
            "❌ Order buy 5 BF.B, limit $1,180.50: <b>rejected</b> by Alpaca",
        ),
        (
            order("expired", dec!(0), None),
            "⌛ Order buy 5 BF.B, limit $1,180.50: expired (nothing filled)",
        ),
        (
            order("<odd>", dec!(0), None),
            "• Order buy 5 BF.B, limit $1,180.50: &lt;odd&gt;",
        ),
    ];
    for (o, head) in cases {
        let text = status_update(&update(o));
        assert!(text.starts_with(head), "{head}\n{text}");
        assert!(text.contains("client order id dw-abab"), "{text}");
        assert!(crate::bot::html::well_formed(&text), "{text}");
    }
}

#[test]
fn the_order_list_has_a_cancel_button_per_open_order_for_admins() {
    let lines = vec![
        OrderLine {
            order: order("accepted", dec!(0), None),
            source: Some("2001".into()),
        },
        OrderLine {
            order: Order {
                id: "f00".into(),
                ..order("filled", dec!(5), Some(dec!(1180)))
            },
            source: None,
        },
    ];
    let admin = orders_reply(&lines, true);
    assert!(
        admin
            .text
            .starts_with("<b>Orders</b> · open and today's (2)\n"),
        "{}",
        admin.text
    );
    assert!(
        admin.text.contains(
            "• buy 5 BF.B, limit $1,180.50 · <b>accepted</b> · nothing filled · 14:31 UTC · by chat 2001"
        ),
        "{}",
        admin.text
    );
    assert!(
        admin
            .text
            .contains("<b>filled</b> · 5 of 5 at $1,180.00 average · 14:31 UTC · placed elsewhere"),
        "{}",
        admin.text
    );
    assert_eq!(
        buttons(&admin),
        ["✖ Cancel buy BF.B"],
        "the filled one has none"
    );
    assert!(
        orders_reply(&lines, false).keyboard.is_none(),
        "readers see no buttons"
    );
    assert_eq!(
        orders_reply(&[], true).text,
        "No open orders, and none placed today."
    );
    let many: Vec<OrderLine> = (0..25).map(|_| lines[0].clone()).collect();
    let reply = orders_reply(&many, true);
    assert!(
        reply
            .text
            .ends_with("<i>and 5 more: <code>dipwatch orders</code> lists them all.</i>"),
        "{}",
        reply.text
    );
    assert_eq!(buttons(&reply).len(), ORDERS_SHOWN);
}

#[test]
fn the_kill_switch_says_what_it_did() {
    assert!(halted(&[]).ends_with("Asked Alpaca to cancel 0 open orders."));
    let two = halted(&[
        order("accepted", dec!(0), None),
        order("new", dec!(0), None),
    ]);
    assert!(
        two.ends_with(
            "2 open orders:\n• buy 5 BF.B, limit $1,180.50\n• buy 5 BF.B, limit $1,180.50"
        ),
        "{two}"
    );
    assert!(resumed().contains("Trading resumed"));
    let placed_text = placed(
        &Placed {
            order: order("new", dec!(0), None),
            client_order_id: ClientOrderId::from_digest([0xab; 16]),
            already_placed: true,
        },
        TradingMode::Paper,
    );
    assert!(
        placed_text.starts_with("✅ <b>Already placed</b>"),
        "{placed_text}"
    );
    assert!(
        placed_text.contains("buy 5 BF.B, limit $1,180.50 · status <b>new</b>"),
        "{placed_text}"
    );
}
