use chrono::TimeZone;
use rust_decimal::dec;

use super::*;
use crate::domain::{AssetClass, AssetSymbol, OrderSide};

fn order(id: &str, symbol: &str, status: OrderStatus) -> Order {
    Order {
        id: id.into(),
        client_order_id: format!("dw-{id}"),
        symbol: AssetSymbol::parse(symbol).unwrap(),
        asset_class: AssetClass::UsEquity,
        side: OrderSide::Buy,
        qty: Some(dec!(1250)),
        notional: None,
        filled_qty: dec!(4),
        filled_avg_price: Some(dec!(189.5)),
        order_type: "limit".into(),
        limit_price: Some(dec!(190.25)),
        time_in_force: "day".into(),
        status,
        // 15:31 UTC on a December day is 10:31 in New York (EST).
        submitted_at: Some(Utc.with_ymd_and_hms(2026, 12, 4, 15, 31, 0).unwrap()),
        updated_at: None,
        filled_at: None,
    }
}

fn line(o: Order, source: Option<&str>) -> OrderLine {
    OrderLine {
        order: o,
        source: source.map(str::to_string),
    }
}

fn on(lines: Vec<OrderLine>, halt: Option<Halt>) -> View {
    View::On {
        mode: TradingMode::Paper,
        halt: Ok(halt),
        lines: Ok(lines),
    }
}

fn two() -> Vec<OrderLine> {
    vec![
        line(
            order("o-open", "AAPL", OrderStatus::PartiallyFilled),
            Some("web:42"),
        ),
        line(order("o-done", "MSFT", OrderStatus::Filled), None),
    ]
}

#[test]
fn an_admin_gets_a_cancel_button_per_open_order_and_a_reader_none() {
    let admin = body(&on(two(), None), Some("tok"), None).into_string();
    assert_eq!(admin.matches("action=\"/orders/cancel\"").count(), 1);
    assert!(admin.contains("name=\"order_id\" value=\"o-open\""));
    assert!(!admin.contains("value=\"o-done\""), "a filled order");
    assert!(admin.contains("name=\"csrf\" value=\"tok\""));
    let reader = body(&on(two(), None), None, None).into_string();
    assert!(!reader.contains("<form"), "{reader}");
    for page in [&admin, &reader] {
        // Every column, through crate::numbers, time in New York.
        for cell in [
            "AAPL",
            "buy",
            "1,250",
            "$190.25",
            "$189.50",
            "partially_filled",
            "2026-12-04 10:31 EST",
            "dashboard (42)",
            "elsewhere (not dipwatch)",
            "PAPER",
            "Kill switch: off",
        ] {
            assert!(page.contains(cell), "{cell} in {page}");
        }
        // The open order in the first table, the filled one in the second.
        let today = page.find("<h2>Today's</h2>").unwrap();
        assert!(page.find("<table class=\"orders open\">").unwrap() < today);
        assert!(page.find("<table class=\"orders done\">").unwrap() > today);
        assert!(page.find("AAPL").unwrap() < today && page.find("MSFT").unwrap() > today);
    }
}

#[test]
fn a_pending_cancel_has_no_second_button_and_the_notice_names_a_listed_order_only() {
    let lines = vec![line(
        order("o-1", "AAPL", OrderStatus::PendingCancel),
        Some("cli"),
    )];
    let notice = Notice::Canceled("o-1".into());
    let page = body(&on(lines, None), Some("tok"), Some(&notice)).into_string();
    assert!(!page.contains("action=\"/orders/cancel\""), "{page}");
    assert_eq!(page.matches("<form").count(), 1, "the kill switch's only");
    assert!(page.contains("cancel asked"));
    assert!(page.contains("Cancel asked for AAPL buy 1,250 (order o-1)"));
    assert!(page.contains("pending_cancel"));
    assert!(page.contains("the CLI"));
    assert!(
        page.contains("<a href=\"/orders\">reload</a>"),
        "still working"
    );
    let done = vec![line(order("o-2", "AAPL", OrderStatus::Canceled), None)];
    let notice = Notice::Canceled("o-2".into());
    let page = body(&on(done, None), Some("tok"), Some(&notice)).into_string();
    assert!(page.contains("its status is now <strong>canceled</strong>.</p>"));
    assert!(!page.contains("reload"), "final: nothing to wait for");
    let stranger = Notice::Canceled("o-unknown".into());
    let page = body(&on(vec![], None), None, Some(&stranger)).into_string();
    assert!(!page.contains("Cancel asked"), "{page}");
    assert!(page.contains("No open orders.") && page.contains("No other orders today."));
}

#[test]
fn halted_live_off_and_failures_are_said_in_plain_words() {
    let halt = Halt {
        since: Utc.with_ymd_and_hms(2026, 7, 1, 14, 0, 0).unwrap(),
        by: "1002".into(),
    };
    let page = body(&on(vec![], Some(halt)), None, None).into_string();
    assert!(page.contains("Kill switch: ON"));
    assert!(page.contains("2026-07-01 10:00 EDT"), "{page}");
    assert!(page.contains("chat 1002"));
    let live = View::On {
        mode: TradingMode::Live,
        halt: Err(Refusal::Journal("disk full".into())),
        lines: Err(Refusal::Broker(TradeError::RateLimited {
            broker: "Alpaca",
        })),
    };
    let page = body(&live, Some("tok"), None).into_string();
    assert!(page.contains("LIVE trading: orders spend real money."));
    assert!(page.contains("The kill switch could not be read"));
    assert!(page.contains("The orders could not be listed: Alpaca is rate limiting"));
    let off = body(&View::Off, Some("tok"), None).into_string();
    assert!(off.contains("Trading is off."));
    assert!(off.contains("trading.enabled = true") && off.contains("Paper trading"));
    let refused = Notice::Refused("Order x was not canceled: <no>".into());
    let page = body(&View::Off, None, Some(&refused)).into_string();
    assert!(page.contains("&lt;no&gt;"), "escaped: {page}");
}

#[test]
fn hostile_text_is_escaped_and_ids_are_checked() {
    let mut o = order("o-1", "AAPL", OrderStatus::from_wire("<b>odd"));
    o.order_type = "<script>".into();
    o.limit_price = None;
    let page = body(
        &on(vec![line(o, Some("<img src=x>"))], None),
        Some("\"tok"),
        None,
    )
    .into_string();
    assert!(!page.contains("<script>") && !page.contains("<img") && !page.contains("<b>"));
    assert!(page.contains("&lt;script&gt;") && page.contains("&quot;tok"));
    for ok in ["61e69f2a-3c8b-4ce0-9d3e-0c6b5f2a1e55", "a", "X-1"] {
        assert!(is_order_id(ok), "{ok}");
    }
    for bad in ["", "a b", "../x", "<x>", &"a".repeat(65), "ü"] {
        assert!(!is_order_id(bad), "{bad}");
    }
}

#[test]
fn refusals_map_to_statuses() {
    assert_eq!(refusal_status(&Refusal::NotAdmin), StatusCode::FORBIDDEN);
    assert_eq!(
        refusal_status(&Refusal::Broker(TradeError::NotFound)),
        StatusCode::NOT_FOUND
    );
    let unavailable = TradeError::Unavailable {
        broker: "Alpaca",
        message: "timeout".into(),
    };
    assert_eq!(
        refusal_status(&Refusal::Broker(unavailable)),
        StatusCode::BAD_GATEWAY
    );
    let refused = TradeError::Refused {
        broker: "Alpaca",
        status: 422,
        reason: "order is not cancelable".into(),
    };
    assert_eq!(
        refusal_status(&Refusal::Broker(refused)),
        StatusCode::UNPROCESSABLE_ENTITY
    );
    assert_eq!(refusal_status(&Refusal::Disabled), StatusCode::CONFLICT);
    let breaker = TradeError::Refused {
        broker: "Alpaca",
        status: 503,
        reason: "circuit breaker trading.orders open; nothing was sent".into(),
    };
    assert_eq!(
        refusal_status(&Refusal::Broker(breaker)),
        StatusCode::SERVICE_UNAVAILABLE
    );
}
