use rust_decimal::dec;

use super::*;

fn err(r: Result<Amount, AmountError>) -> String {
    r.expect_err("an error").to_string()
}

#[test]
fn buys_are_dollars_percentages_or_the_suggested_size() {
    assert_eq!(Amount::parse_buy("500"), Ok(Amount::Usd(dec!(500))));
    assert_eq!(Amount::parse_buy("$500"), Ok(Amount::Usd(dec!(500))));
    assert_eq!(
        Amount::parse_buy(" $1,000.50 "),
        Ok(Amount::Usd(dec!(1000.5)))
    );
    assert_eq!(Amount::parse_buy("0.5"), Ok(Amount::Usd(dec!(0.5))));
    assert_eq!(Amount::parse_buy("250.000"), Ok(Amount::Usd(dec!(250))));
    assert_eq!(Amount::parse_buy("10,000,000"), Ok(Amount::Usd(MAX_USD)));
    assert_eq!(Amount::parse_buy("2%"), Ok(Amount::PctOfEquity(dec!(2))));
    assert_eq!(
        Amount::parse_buy("2.25%"),
        Ok(Amount::PctOfEquity(dec!(2.25)))
    );
    assert_eq!(
        Amount::parse_buy("100%"),
        Ok(Amount::PctOfEquity(dec!(100)))
    );
    assert_eq!(Amount::parse_buy("size"), Ok(Amount::Suggested));
    assert_eq!(Amount::parse_buy("SIZE"), Ok(Amount::Suggested));
}

#[test]
fn sells_are_all_shares_or_a_share_of_the_position() {
    assert_eq!(Amount::parse_sell(""), Ok(Amount::All));
    assert_eq!(Amount::parse_sell("all"), Ok(Amount::All));
    assert_eq!(Amount::parse_sell("ALL"), Ok(Amount::All));
    assert_eq!(Amount::parse_sell("10"), Ok(Amount::Shares(dec!(10))));
    assert_eq!(Amount::parse_sell("1,200"), Ok(Amount::Shares(dec!(1200))));
    assert_eq!(Amount::parse_sell("10.0"), Ok(Amount::Shares(dec!(10))));
    assert_eq!(
        Amount::parse_sell("50%"),
        Ok(Amount::PctOfPosition(dec!(50)))
    );
}

#[test]
fn the_command_line_flags_share_the_grammar() {
    assert_eq!(Amount::usd("500"), Ok(Amount::Usd(dec!(500))));
    assert_eq!(Amount::shares("3"), Ok(Amount::Shares(dec!(3))));
    assert_eq!(
        Amount::pct("2", OrderSide::Buy),
        Ok(Amount::PctOfEquity(dec!(2)))
    );
    assert_eq!(
        Amount::pct("25%", OrderSide::Sell),
        Ok(Amount::PctOfPosition(dec!(25)))
    );
    assert!(err(Amount::pct("0", OrderSide::Buy)).contains("zero"));
    assert!(err(Amount::usd("$5")).contains("not a number"));
}

#[test]
fn zero_negative_and_tiny_or_huge_amounts_are_refused_in_words() {
    let cases: [(Result<Amount, AmountError>, &str); 16] = [
        (Amount::parse_buy("0"), "“0” is zero"),
        (Amount::parse_buy("$0.00"), "“0.00” is zero"),
        (Amount::parse_buy("-500"), "“-500” is negative"),
        (Amount::parse_buy("$-5"), "“-5” is negative"),
        (Amount::parse_buy("0%"), "“0%” is zero"),
        (Amount::parse_buy("-2%"), "“-2%” is negative"),
        (Amount::parse_buy("12.345"), "“12.345” has more than cents"),
        (
            Amount::parse_buy("2.125%"),
            "“2.125%” has too many decimals",
        ),
        (Amount::parse_buy("150%"), "“150%” is over 100%"),
        (Amount::parse_buy("100.01%"), "is over 100%"),
        (
            Amount::parse_buy("10,000,000.01"),
            "is more than any order may be",
        ),
        (
            Amount::parse_buy("99999999999999999999999"),
            "is too long to be an amount",
        ),
        (Amount::parse_sell("1.5"), "not a whole number of shares"),
        (Amount::parse_sell("0"), "is zero"),
        (
            Amount::parse_sell("20,000,000"),
            "more shares than any order",
        ),
        (Amount::parse_sell("101%"), "over 100%"),
    ];
    for (got, needle) in cases {
        let e = err(got);
        assert!(e.contains(needle), "{needle:?} not in {e:?}");
    }
}

#[test]
fn malformed_numbers_say_what_is_wrong() {
    for (text, needle) in [
        ("1e9", "digits and one decimal point only"),
        ("1.2.3", "digits and one decimal point only"),
        ("5.", "digits and one decimal point only"),
        (".5", "a digit before the point"),
        ("1,00", "groups of three"),
        ("1000,000", "groups of three"),
        ("%", "has no number"),
        ("$", "is not an amount"),
        (",100", "is not an amount"),
        ("+5", "digits and one decimal point only"),
    ] {
        let e = err(Amount::parse_buy(text));
        assert!(e.contains(needle), "{text}: {e}");
    }
}

#[test]
fn words_that_are_not_amounts_get_the_accepted_forms() {
    let buy = err(Amount::parse_buy("lots"));
    assert!(
        buy.contains("“lots” is not an amount") && buy.contains("size"),
        "{buy}"
    );
    assert!(err(Amount::parse_buy("all")).contains("for /sell"));
    let sell = err(Amount::parse_sell("half"));
    assert!(
        sell.contains("“half” is not an amount") && sell.contains("50%"),
        "{sell}"
    );
    assert!(err(Amount::parse_sell("$500")).contains("a sell is all"));
    assert!(err(Amount::parse_sell("size")).contains("a sell is all"));
}

#[test]
fn hostile_text_is_quoted_clipped_and_never_parsed() {
    // Other scripts' digits, full-width digits, markup, control and
    // zero-width characters, a huge argument: an error each, short.
    let huge = "9".repeat(5000);
    let zw = "5\u{200b}00".to_string();
    for text in [
        "٥٠٠",
        "５００",
        "<b>500</b>",
        "500\u{0}",
        zw.as_str(),
        "NaN",
        "inf",
        "0x1f4",
        huge.as_str(),
    ] {
        let e = err(Amount::parse_buy(text));
        assert!(e.chars().count() < 200, "{e}");
        assert!(!e.contains("\\u"), "never debug-escaped: {e}");
        let e = err(Amount::parse_sell(text));
        assert!(e.chars().count() < 200, "{e}");
    }
    let e = err(Amount::parse_buy("<b>500</b>"));
    assert!(e.contains("“<b>500</b>”"), "quoted as typed: {e}");
    assert!(err(Amount::parse_buy(&huge)).contains('…'), "clipped");
}
