use chrono::TimeZone;
use rust_decimal::dec;

use super::*;

fn event(reason: Option<&str>) -> JournalEvent {
    JournalEvent {
        time: Utc.with_ymd_and_hms(2026, 3, 9, 14, 30, 5).unwrap()
            + chrono::Duration::nanoseconds(123_456_789),
        event: EventKind::Answer,
        client_order_id: Some("dw-1f2e3d".into()),
        order_id: Some("61e69015-8549-4bfd-b9c3-01e75843f47d".into()),
        source: "123456789".into(),
        symbol: Some("AAPL".into()),
        side: Some("buy".into()),
        qty: Some(dec!(2.5)),
        notional: Some(dec!(470.125)),
        limit_price: Some(dec!(188.05)),
        status: Some("accepted".into()),
        reason: reason.map(str::to_string),
    }
}

#[test]
fn header_is_the_documented_columns() {
    assert_eq!(
        header(),
        "time,event,client_order_id,order_id,source,symbol,side,qty,notional,limit_price,status,reason"
    );
    let bytes = encode(&[]);
    assert_eq!(String::from_utf8(bytes).unwrap(), format!("{}\n", header()));
}

#[test]
fn a_row_is_written_as_expected() {
    let text = String::from_utf8(encode(&[event(Some("ok"))])).unwrap();
    let row = text.lines().nth(1).unwrap();
    assert_eq!(
        row,
        "2026-03-09T14:30:05.123456789Z,answer,dw-1f2e3d,61e69015-8549-4bfd-b9c3-01e75843f47d,\
         123456789,AAPL,buy,2.5,470.125,188.05,accepted,ok"
    );
}

#[test]
fn every_kind_round_trips_by_its_serde_name() {
    for kind in KINDS {
        let json = serde_json::to_string(&kind).unwrap();
        assert_eq!(json, format!("\"{}\"", kind_name(kind)));
        let mut e = event(None);
        e.event = kind;
        assert_eq!(decode(&encode(&[e.clone()])).unwrap(), vec![e]);
    }
}

#[test]
fn hostile_cells_stay_one_cell_and_never_a_formula() {
    let hostile = [
        "=HYPERLINK(\"http://evil\",\"x\")",
        "+1+1",
        "-2+3",
        "-1-1",
        "-.5",
        "-5.",
        "@SUM(A1:A9)",
        "\tleading tab",
        "\rleading return",
        "'already quoted",
        "a, b, \"c\"\nsecond line\r\nthird",
        "ünïcødé ✓ 🚀",
        "",
    ];
    for text in hostile {
        let mut e = event(Some(text));
        e.source = text.to_string();
        e.symbol = Some(text.to_string());
        if text.is_empty() {
            e.source = "cli".into();
        }
        let bytes = encode(&[e.clone()]);
        // Exactly one header and one record, with twelve cells.
        let mut reader = csv::Reader::from_reader(bytes.as_slice());
        let records: Vec<csv::StringRecord> = reader.records().map(Result::unwrap).collect();
        assert_eq!(records.len(), 1, "{text:?}");
        assert_eq!(records[0].len(), 12, "{text:?}");
        for cell in records[0].iter() {
            let first = cell.chars().next();
            assert!(
                !first.is_some_and(|c| "=+-@\t\r".contains(c)),
                "{text:?} left a formula cell: {cell:?}"
            );
        }
        let back = decode(&bytes).unwrap();
        // An empty text is an empty cell, read back as absent.
        if text.is_empty() {
            e.reason = None;
            e.symbol = None;
        }
        assert_eq!(back, vec![e], "{text:?}");
    }
}

#[test]
fn empty_columns_read_back_as_absent() {
    let e = JournalEvent {
        time: Utc.with_ymd_and_hms(2026, 3, 9, 14, 30, 5).unwrap(),
        event: EventKind::SignIn,
        client_order_id: None,
        order_id: None,
        source: "web:42".into(),
        symbol: None,
        side: None,
        qty: None,
        notional: None,
        limit_price: None,
        status: Some("admin".into()),
        reason: None,
    };
    let bytes = encode(&[e.clone(), event(None)]);
    assert_eq!(decode(&bytes).unwrap(), vec![e, event(None)]);
}

#[test]
fn negative_and_precise_decimals_round_trip_exactly() {
    let mut e = event(None);
    e.qty = Some(dec!(-0.000000001));
    e.notional = Some(dec!(123456789.123456789));
    let back = decode(&encode(&[e.clone()])).unwrap();
    assert_eq!(back[0].qty.unwrap().to_string(), "-0.000000001");
    assert_eq!(back, vec![e]);
}

#[test]
fn damaged_objects_are_refused_not_misread() {
    let good = encode(&[event(Some("x"))]);
    let text = String::from_utf8(good.clone()).unwrap();
    // Cut mid-row: twelve cells no more.
    let cut = &good[..good.len() - 20];
    assert!(decode(cut).is_err());
    // Another header.
    assert!(decode(b"date,symbol\n2026-03-09,AAPL\n").is_err());
    // Empty object: not even a header.
    assert!(decode(b"").is_err());
    // A bad time, an unknown event, a bad number, an empty source.
    for (from, to) in [
        ("2026-03-09T14:30:05.123456789Z", "yesterday"),
        (",answer,", ",bought,"),
        (",2.5,", ",two,"),
        (",123456789,", ",,"),
    ] {
        let broken = text.replacen(from, to, 1);
        assert!(decode(broken.as_bytes()).is_err(), "{from} -> {to}");
    }
}

#[test]
fn a_group_chats_id_stays_a_plain_number() {
    let mut e = event(Some("-2.5"));
    e.source = "-1001234567890".into();
    let text = String::from_utf8(encode(&[e.clone()])).unwrap();
    assert!(text.contains(",-1001234567890,"), "{text}");
    assert!(text.ends_with(",accepted,-2.5\n"), "{text}");
    assert_eq!(decode(text.as_bytes()).unwrap(), vec![e]);
    assert!(plain_number("-100500") && plain_number("-2.5"));
    for not in ["-", "-.5", "-5.", "-1-1", "-1e5", "-0x1", "1", "- 1"] {
        assert!(!plain_number(not), "{not}");
    }
}
