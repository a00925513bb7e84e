//! The pure parts: sizing, the collar's rounding, each guard at its edge
//! and one cent past it.

use rust_decimal::{Decimal, dec};

use crate::config::TradingSettings;
use crate::domain::OrderSide;
use crate::test_support::sym;
use crate::trading::amount::Amount;
use crate::trading::guards::{GuardInputs, check};
use crate::trading::refusal::Refusal;
use crate::trading::sizing::{SizeInputs, limit_price, shares};

fn settings() -> TradingSettings {
    TradingSettings::enabled_defaults()
}

#[test]
fn the_collar_rounds_toward_safety() {
    // 123.45 * 1.005 = 124.06725: a buy's edge rounds down to 124.06.
    assert_eq!(
        limit_price(OrderSide::Buy, dec!(123.45), dec!(0.5), None),
        Ok(dec!(124.06))
    );
    // 123.45 * 0.995 = 122.83275: a sell's edge rounds up to 122.84.
    assert_eq!(
        limit_price(OrderSide::Sell, dec!(123.45), dec!(0.5), None),
        Ok(dec!(122.84))
    );
    // A limit of one's own within the collar is kept, at its edge too.
    assert_eq!(
        limit_price(OrderSide::Buy, dec!(123.45), dec!(0.5), Some(dec!(124.06))),
        Ok(dec!(124.06))
    );
    assert_eq!(
        limit_price(OrderSide::Buy, dec!(123.45), dec!(0.5), Some(dec!(120))),
        Ok(dec!(120))
    );
    // One cent past it is refused, naming the collar.
    let e = limit_price(OrderSide::Buy, dec!(123.45), dec!(0.5), Some(dec!(124.07))).unwrap_err();
    assert!(e.to_string().contains("trading.limit_collar_pct"), "{e}");
    let e = limit_price(OrderSide::Sell, dec!(123.45), dec!(0.5), Some(dec!(122.83))).unwrap_err();
    assert!(e.to_string().contains("at least $122.84"), "{e}");
    assert!(limit_price(OrderSide::Buy, dec!(100), dec!(0.5), Some(dec!(99.999))).is_err());
    assert!(limit_price(OrderSide::Buy, dec!(0), dec!(0.5), None).is_err());
}

fn inputs(side: OrderSide, held: Decimal) -> SizeInputs {
    SizeInputs {
        symbol: sym("AAPL"),
        side,
        equity: dec!(100000),
        held,
        suggested: Ok(7),
    }
}

#[test]
fn amounts_size_into_whole_shares_never_over() {
    let buy = inputs(OrderSide::Buy, dec!(0));
    assert_eq!(
        shares(Amount::Usd(dec!(1000)), dec!(100.5), &buy),
        Ok(dec!(9))
    );
    assert_eq!(
        shares(Amount::Usd(dec!(1005)), dec!(100.5), &buy),
        Ok(dec!(10))
    );
    assert_eq!(
        shares(Amount::PctOfEquity(dec!(1)), dec!(100), &buy),
        Ok(dec!(10))
    );
    assert_eq!(
        shares(Amount::Shares(dec!(3)), dec!(100), &buy),
        Ok(dec!(3))
    );
    assert_eq!(shares(Amount::Suggested, dec!(100), &buy), Ok(dec!(7)));
    assert!(matches!(
        shares(Amount::Shares(dec!(1.5)), dec!(100), &buy),
        Err(Refusal::Amount(_))
    ));
    let e = shares(Amount::Usd(dec!(50)), dec!(100), &buy).unwrap_err();
    assert!(e.to_string().contains("0 whole shares"), "{e}");
    let none = SizeInputs {
        suggested: Err("no volatility".into()),
        ..inputs(OrderSide::Buy, dec!(0))
    };
    let e = shares(Amount::Suggested, dec!(100), &none).unwrap_err();
    assert!(e.to_string().contains("no volatility"), "{e}");
    let sell = inputs(OrderSide::Sell, dec!(10.5));
    assert_eq!(shares(Amount::All, dec!(100), &sell), Ok(dec!(10)));
    assert_eq!(
        shares(Amount::PctOfPosition(dec!(50)), dec!(100), &sell),
        Ok(dec!(5))
    );
    assert!(matches!(
        shares(Amount::Shares(dec!(11)), dec!(100), &sell),
        Err(Refusal::NotHeld(_))
    ));
    assert!(matches!(
        shares(Amount::All, dec!(100), &inputs(OrderSide::Sell, dec!(0))),
        Err(Refusal::NotHeld(_))
    ));
}

fn guard_inputs(cost: Decimal) -> GuardInputs {
    GuardInputs {
        side: OrderSide::Buy,
        cost,
        equity: dec!(100000),
        held_value: dec!(0),
        buying_power: Some(dec!(50000)),
        orders_today: 0,
        usd_today: dec!(0),
    }
}

fn verdict(inp: &GuardInputs, key: &str) -> bool {
    check(&settings(), inp)
        .into_iter()
        .find(|g| g.key == key)
        .unwrap_or_else(|| panic!("{key} missing"))
        .ok
}

#[test]
fn each_guard_passes_at_its_edge_and_fails_a_cent_past_it() {
    // max_order_usd 1,000.
    assert!(verdict(&guard_inputs(dec!(1000)), "trading.max_order_usd"));
    assert!(!verdict(
        &guard_inputs(dec!(1000.01)),
        "trading.max_order_usd"
    ));
    // max_position_pct 10 of 100,000: 10,000 held after the order.
    let at = GuardInputs {
        held_value: dec!(9500),
        ..guard_inputs(dec!(500))
    };
    assert!(verdict(&at, "trading.max_position_pct"));
    let past = GuardInputs {
        held_value: dec!(9500.01),
        ..guard_inputs(dec!(500))
    };
    assert!(!verdict(&past, "trading.max_position_pct"));
    // max_orders_per_day 10: nine before, this is the tenth.
    let at = GuardInputs {
        orders_today: 9,
        ..guard_inputs(dec!(1))
    };
    assert!(verdict(&at, "trading.max_orders_per_day"));
    let past = GuardInputs {
        orders_today: 10,
        ..guard_inputs(dec!(1))
    };
    assert!(!verdict(&past, "trading.max_orders_per_day"));
    // max_daily_usd 5,000, this order included.
    let at = GuardInputs {
        usd_today: dec!(4000),
        ..guard_inputs(dec!(1000))
    };
    assert!(verdict(&at, "trading.max_daily_usd"));
    let past = GuardInputs {
        usd_today: dec!(4000.01),
        ..guard_inputs(dec!(1000))
    };
    assert!(!verdict(&past, "trading.max_daily_usd"));
    // Buying power.
    let at = GuardInputs {
        buying_power: Some(dec!(1000)),
        ..guard_inputs(dec!(1000))
    };
    assert!(verdict(&at, "buying_power"));
    let past = GuardInputs {
        buying_power: Some(dec!(999.99)),
        ..guard_inputs(dec!(1000))
    };
    assert!(!verdict(&past, "buying_power"));
    let unknown = GuardInputs {
        buying_power: None,
        ..guard_inputs(dec!(1))
    };
    assert!(!verdict(&unknown, "buying_power"));
}

#[test]
fn a_sell_has_no_position_or_buying_power_guard_and_headroom_reads_plainly() {
    let sell = GuardInputs {
        side: OrderSide::Sell,
        ..guard_inputs(dec!(500))
    };
    let keys: Vec<&str> = check(&settings(), &sell).iter().map(|g| g.key).collect();
    assert_eq!(
        keys,
        [
            "trading.max_order_usd",
            "trading.max_orders_per_day",
            "trading.max_daily_usd"
        ]
    );
    let g = &check(&settings(), &guard_inputs(dec!(1200)))[0];
    assert_eq!(g.limit, "$1,000.00");
    assert_eq!(g.value, "$1,200.00");
    assert_eq!(g.headroom, "none, over by $200.00");
    assert_eq!(
        g.words(),
        "OVER: $1,200.00 of $1,000.00 (none, over by $200.00)"
    );
    let ok = &check(&settings(), &guard_inputs(dec!(400)))[0];
    assert_eq!(ok.words(), "ok: $400.00 of $1,000.00 ($600.00 left)");
}
