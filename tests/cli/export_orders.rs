//! `dipwatch export orders`: the journal through the real binary, as one
//! CSV with the journal's header, in time order, within `--from`/`--to`
//! (New York dates), an unreadable object skipped and named.

use crate::support;

use std::collections::BTreeMap;

use chrono::{TimeZone, Utc};
use dipwatch::journal::{EventKind, Journal, JournalEvent};
use dipwatch::store::{StorageUrl, Store};
use support::{Workspace, assert_fails_with, ok, stderr};

const HEADER: &str =
    "time,event,client_order_id,order_id,source,symbol,side,qty,notional,limit_price,status,reason";

/// Three events over two New York dates, appended out of order, one with
/// a reason a spreadsheet would run and a line break.
fn journalled(ws: &Workspace) -> Vec<JournalEvent> {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let url = StorageUrl::Local(ws.path("data"));
    let store = rt.block_on(Store::open(&url, &BTreeMap::new())).unwrap();
    let journal = Journal::new(store);
    let t = |d: u32, h: u32| Utc.with_ymd_and_hms(2026, 11, d, h, 30, 0).unwrap();
    let mut trigger = JournalEvent::command(EventKind::Trigger, "123").status("started");
    trigger.time = t(19, 15);
    let mut alert = JournalEvent::command(EventKind::AlertAdd, "web:123")
        .status("ok")
        .reason("=1+1, \"quoted\"\nand a second line");
    alert.time = t(20, 14);
    // 02:30 UTC on the 21st is the evening of the 20th in New York.
    let mut reload = JournalEvent::command(EventKind::AccessReload, "daemon")
        .status("ok")
        .reason("3 readers, 1 admins");
    reload.time = t(21, 2);
    for e in [&reload, &trigger, &alert] {
        rt.block_on(journal.append(e.clone())).unwrap();
    }
    vec![trigger, alert, reload]
}

#[test]
fn export_orders_writes_the_journal_in_time_order_within_the_range() {
    let ws = Workspace::new(5);
    assert_fails_with(&ws.demo(&["export", "orders"]), 1, "no store at");
    let events = journalled(&ws);
    // A damaged object among them: skipped and named, the rest exported.
    let damaged =
        ws.path("data/orders/date=2026-11-20/20261120T160000.000000000Z-0000000000000001.csv");
    std::fs::write(&damaged, b"time,event\n2026-11-20,trigger\n").unwrap();

    let all = ws.demo(&["export", "orders"]);
    let csv = ok(&all);
    assert!(csv.starts_with(&format!("{HEADER}\n")), "{csv}");
    assert_eq!(dipwatch::journal::decode(csv.as_bytes()).unwrap(), events);
    assert!(
        csv.contains(",\"'=1+1, \"\"quoted\"\"\nand a second line\"\n"),
        "{csv}"
    );
    let err = stderr(&all);
    assert!(
        err.contains("skipping orders/date=2026-11-20/20261120T160000"),
        "{err}"
    );
    assert!(err.contains("1 journal object(s) skipped"), "{err}");

    let twentieth = ok(&ws.demo(&[
        "export",
        "orders",
        "--from",
        "2026-11-20",
        "--to",
        "2026-11-20",
    ]));
    assert_eq!(
        dipwatch::journal::decode(twentieth.as_bytes()).unwrap(),
        events[1..]
    );
    let from = ok(&ws.demo(&["export", "orders", "--to", "2026-11-19"]));
    assert_eq!(
        dipwatch::journal::decode(from.as_bytes()).unwrap(),
        events[..1]
    );
    let none = ok(&ws.demo(&["export", "orders", "--from", "2030-01-01"]));
    assert_eq!(none, format!("{HEADER}\n"), "no events: just the header");
    let backwards = ws.demo(&[
        "export",
        "orders",
        "--from",
        "2026-11-21",
        "--to",
        "2026-11-20",
    ]);
    assert_fails_with(&backwards, 2, "is after --to");
    // The datasets' exports are as they were: the journal is not a dataset.
    ok(&ws.demo(&["collect", "--date", "2026-11-20"]));
    let drawdowns = ok(&ws.demo(&["export", "drawdowns"]));
    assert!(drawdowns.starts_with("date,symbol,current_price,"));
    assert!(!drawdowns.contains("trigger"));
}
