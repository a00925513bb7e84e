//! Property-based fuzzing of every parser that reads outside input, and of
//! `next_fire`: no panics on arbitrary or mutated input, and the invariants
//! that make the output trustworthy.

use chrono::{DateTime, Offset, TimeZone, Utc};
use chrono_tz::Tz;
use dipwatch::alpaca::account::parse_account;
use dipwatch::alpaca::bars::parse_bars_page;
use dipwatch::alpaca::calendar::parse_calendar;
use dipwatch::alpaca::clock::parse_clock;
use dipwatch::alpaca::error_message;
use dipwatch::alpaca::positions::parse_positions;
use dipwatch::domain::{AssetSymbol, DrawdownRow, Symbol};
use dipwatch::schedule::next_fire;
use dipwatch::store::{AccountRecord, BarRecord, Dataset, PositionRecord, decode, encode};
use proptest::prelude::*;

const DRAWDOWNS: &str = "date,symbol,current_price,peak_price,peak_date,drawdown_pct,days_since_peak,volume,rank\n\
2026-11-24,BF.B,31.5,45.0,2026-06-01,-30.0,120,1234567,1\n\
2026-11-24,AAPL,180.25,200.0,2026-10-01,-9.875,37,99,2\n";
const BARS_PAGE: &str = r#"{"bars":{"AAPL":[{"t":"2026-11-24T05:00:00Z","o":1.5,"h":2,"l":1,"c":1.75,"v":1000,"n":12,"vw":1.6}],"BF.B":[{"t":"2026-07-01T04:00:00Z","o":10,"h":11,"l":9,"c":10.5,"v":5}]},"next_page_token":"QUFQTHwx"}"#;
const ACCOUNT: &str = r#"{"status":"ACTIVE","currency":"USD","cash":"25000.00","buying_power":"50000.00","equity":"100000.5","last_equity":"99000","long_market_value":"75000.5","daytrade_count":0,"pattern_day_trader":false}"#;
const POSITIONS: &str = r#"[{"symbol":"AAPL","qty":"10","avg_entry_price":"150.10","current_price":"180.25","market_value":"1802.50","unrealized_pl":"301.50","unrealized_plpc":"0.2008660893"}]"#;
const CALENDAR: &str = r#"[{"date":"2026-11-27","open":"09:30","close":"13:00"},{"date":"2026-11-30","open":"09:30","close":"16:00"}]"#;
const CLOCK: &str = r#"{"timestamp":"2026-11-25T07:00:00.123-05:00","is_open":false,"next_open":"2026-11-25T09:30:00-05:00","next_close":"2026-11-25T16:00:00-05:00"}"#;

/// A valid input with some bytes replaced, some removed, or cut short.
fn mutated(valid: &'static str) -> impl Strategy<Value = Vec<u8>> {
    let len = valid.len();
    (
        proptest::collection::vec((0..len, any::<u8>()), 0..6),
        proptest::collection::vec(0..len, 0..4),
        0..=len,
    )
        .prop_map(move |(flips, cuts, keep)| {
            let mut b = valid.as_bytes().to_vec();
            for (i, v) in flips {
                b[i] = v;
            }
            for i in cuts {
                if i < b.len() {
                    b.remove(i);
                }
            }
            b.truncate(keep);
            b
        })
}

fn input(valid: &'static str) -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        mutated(valid),
        proptest::collection::vec(any::<u8>(), 0..400)
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 2000, ..ProptestConfig::default() })]

    /// The CSV readers never panic, and whatever they accept survives a
    /// round trip (so a half-parsed row can never be mistaken for data).
    #[test]
    fn csv_readers_never_panic_and_accept_only_round_tripping_rows(bytes in input(DRAWDOWNS)) {
        if let Ok(rows) = decode::<DrawdownRow>(Dataset::Drawdowns, &bytes) {
            let (again, n) = encode(Dataset::Drawdowns, &rows).unwrap();
            prop_assert_eq!(n as usize, rows.len());
            prop_assert_eq!(decode::<DrawdownRow>(Dataset::Drawdowns, &again).unwrap(), rows);
        }
        let _ = decode::<BarRecord>(Dataset::Bars, &bytes);
        let _ = decode::<PositionRecord>(Dataset::Positions, &bytes);
        let _ = decode::<AccountRecord>(Dataset::Account, &bytes);
    }

    /// The Alpaca parsers never panic; accepted bars carry sane values.
    #[test]
    fn alpaca_parsers_never_panic(
        page in input(BARS_PAGE),
        account in input(ACCOUNT),
        positions in input(POSITIONS),
        calendar in input(CALENDAR),
        clock in input(CLOCK),
    ) {
        if let Ok(p) = parse_bars_page(&page) {
            for (_, bars) in p.bars {
                for bar in bars.into_iter().flatten() {
                    prop_assert!(bar.trade_count.is_none_or(|n| n < u64::MAX));
                    prop_assert!(chrono::Datelike::year(&bar.date) > 0);
                }
            }
            prop_assert!(p.next_page_token.is_none_or(|t| !t.is_empty()));
        }
        let _ = parse_account(&account);
        if let Ok(ps) = parse_positions(&positions) {
            for p in ps.held {
                prop_assert!(AssetSymbol::parse(p.symbol.as_str()).is_ok());
            }
            // A skipped entry is named by a checked symbol or its place.
            for u in ps.unreadable {
                prop_assert!(u.symbol.starts_with('#') || AssetSymbol::parse(&u.symbol).is_ok());
            }
        }
        if let Ok(sessions) = parse_calendar(&calendar) {
            prop_assert!(sessions.windows(2).all(|w| w[0].date < w[1].date), "sorted, unique");
        }
        let _ = parse_clock(&clock);
    }

    /// Error bodies of any shape become one short line.
    #[test]
    fn error_messages_are_one_short_line(body in proptest::collection::vec(any::<u8>(), 0..3000)) {
        let m = error_message(&body);
        prop_assert!(!m.contains('\n') && !m.contains('\r'));
        prop_assert!(m.chars().count() <= 203);
    }

    /// Tickers that parse are safe in URLs, CSV, HTML and paths.
    #[test]
    fn parsed_tickers_are_safe(raw in "\\PC{0,16}") {
        if let Ok(s) = Symbol::parse(&raw) {
            prop_assert!(s.as_str().chars().all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '.' || c == '-'));
            prop_assert!(s.as_str().starts_with(|c: char| c.is_ascii_alphanumeric()));
        }
    }
}

/// A random 6-field cron: fixed or stepped seconds, minutes and hours,
/// any day or weekdays.
fn cron_pattern() -> impl Strategy<Value = String> {
    let field = |max: u32| {
        prop_oneof![
            (0..max).prop_map(|v| v.to_string()),
            (1..max.min(30)).prop_map(|k| format!("*/{k}")),
            Just("*".to_string()),
        ]
    };
    (
        0..60u32,
        field(60),
        field(24),
        prop_oneof![Just("*"), Just("MON-FRI"), Just("SAT,SUN")],
    )
        .prop_map(|(s, m, h, dow)| format!("{s} {m} {h} * * {dow}"))
}

fn zone() -> impl Strategy<Value = Tz> {
    prop_oneof![
        Just(chrono_tz::America::New_York),
        Just(chrono_tz::Europe::Berlin),
        Just(chrono_tz::Australia::Sydney),
        Just(chrono_tz::Asia::Tokyo),
        Just(chrono_tz::UTC),
    ]
}

/// The case proptest found: a daily 02:00 in New York on the spring-forward
/// day, when 02:00 does not exist, fires at the end of the gap (03:00 EDT),
/// not a day late.
#[test]
fn a_time_the_dst_gap_skips_fires_when_the_gap_ends() {
    let cron = dipwatch::config::parse_cron("0 0 2 * * *").unwrap();
    let after = Utc.timestamp_opt(1_804_921_200, 0).unwrap();
    let next = next_fire(after, &cron, chrono_tz::America::New_York).unwrap();
    assert_eq!(
        next,
        Utc.with_ymd_and_hms(2027, 3, 14, 7, 0, 0).unwrap(),
        "{after}"
    );
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 3000, ..ProptestConfig::default() })]

    /// next_fire is strictly after its argument, on a whole second, and at
    /// a local time the cron matches, in any zone, across DST changes.
    #[test]
    fn next_fire_is_later_whole_and_matching(
        pattern in cron_pattern(),
        secs in 1_577_836_800i64..1_893_456_000i64, // 2020..2030
        nanos in 0u32..1_000_000_000,
        tz in zone(),
    ) {
        let cron = dipwatch::config::parse_cron(&pattern).unwrap();
        let after: DateTime<Utc> = Utc.timestamp_opt(secs, nanos).unwrap();
        let next = next_fire(after, &cron, tz).expect("these crons always fire again");
        prop_assert!(next > after, "{pattern} in {tz}: {next} not after {after}");
        prop_assert_eq!(chrono::Timelike::nanosecond(&next), 0);
        // Local times the spring-forward gap skips (02:00-02:59 in New
        // York on its DST day) fire when the gap ends: then the offset
        // changes at `next`, and the cron matches a wall time in the gap.
        let matches = cron.is_time_matching(&next.with_timezone(&tz)).unwrap();
        let before = tz.offset_from_utc_datetime(&(next - chrono::Duration::seconds(1)).naive_utc()).fix();
        let now = tz.offset_from_utc_datetime(&next.naive_utc()).fix();
        let gap = i64::from(now.local_minus_utc() - before.local_minus_utc());
        let skipped_by_gap = gap > 0 && {
            let gap_start = next.with_timezone(&before);
            cron.find_next_occurrence(&gap_start, true)
                .is_ok_and(|t| t < gap_start + chrono::Duration::seconds(gap))
        };
        prop_assert!(matches || skipped_by_gap, "{pattern} in {tz}: {next}");
        prop_assert!(next - after <= chrono::Duration::days(8), "{pattern}: {after} -> {next}");
    }
}

use crate::support::fake_telegram;

/// Arbitrary user text: unicode, markup characters, long runs, newlines.
fn user_text() -> impl Strategy<Value = String> {
    prop_oneof![
        any::<String>(),
        "[ -~\n<>&/@]{0,300}",
        proptest::collection::vec(
            prop_oneof![
                Just("<b>"),
                Just("&amp;"),
                Just("\n"),
                Just("BF.B"),
                Just("é🙂"),
                Just("x")
            ],
            0..800
        )
        .prop_map(|v| v.concat()),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 400, ..ProptestConfig::default() })]

    /// The bot's command parser takes anything a user can type without
    /// panicking, with or without a leading slash and a bot mention.
    #[test]
    fn the_command_parser_takes_anything(text in user_text(), mention in any::<bool>()) {
        let text = if mention { format!("/{text}@dipwatch_bot") } else { text };
        let _ = dipwatch::bot::commands::parse_input(Some(&text), "dipwatch_bot");
        let _ = dipwatch::bot::commands::parse_input(Some(&format!("/screen {text}")), "dipwatch_bot");
    }

    /// Escaped user text inside bold, code and a preformatted block, split
    /// for Telegram: every part is under the limit and well-formed by the
    /// fake Bot API's own checker (written apart from our tokenizer), and
    /// no visible character is lost or added.
    #[test]
    fn split_messages_are_well_formed_and_lose_nothing(a in user_text(), b in user_text(), limit in 64usize..4096) {
        use dipwatch::bot::html::{escape, split};
        let html = format!("<b>{}</b>\n<code>{}</code>\n<pre>{}\n{}</pre>", escape(&a), escape(&b), escape(&b), escape(&a));
        let parts = split(&html, limit);
        let mut seen = String::new();
        for p in &parts {
            let units = fake_telegram::check_html(p).map_err(|e| TestCaseError::fail(format!("{e}: {p:?}")))?;
            prop_assert!(units > 0, "an empty message: {p:?}");
            prop_assert!(p.encode_utf16().count() <= limit, "over the limit: {}", p.len());
            seen.push_str(&visible_text(p));
        }
        let whole = visible_text(&html);
        let squeeze = |s: &str| s.chars().filter(|c| !c.is_whitespace()).collect::<String>();
        prop_assert_eq!(squeeze(&seen), squeeze(&whole));
    }
}

/// The text a reader sees: tags dropped, entities decoded.
fn visible_text(html: &str) -> String {
    let mut out = String::new();
    let mut rest = html;
    while let Some(c) = rest.chars().next() {
        if c == '<' {
            let end = rest.find('>').map_or(rest.len(), |i| i + 1);
            rest = &rest[end..];
        } else if c == '&' {
            let end = rest.find(';').map_or(rest.len(), |i| i + 1);
            out.push_str(match &rest[..end] {
                "&lt;" => "<",
                "&gt;" => ">",
                "&amp;" => "&",
                "&quot;" => "\"",
                other => other,
            });
            rest = &rest[end..];
        } else {
            out.push(c);
            rest = &rest[c.len_utf8()..];
        }
    }
    out
}
