//! The journal's rows as CSV: one fixed header, exact decimals, times at
//! a fixed width (nanoseconds, `Z`), and text cells that stay text. A cell
//! a person typed (an alert's rule, a refusal's words) is quoted by the CSV
//! writer when it holds a comma, a quote or a line break, so it stays one
//! cell; and one that a spreadsheet would run as a formula (`=`, `+`, `-`,
//! `@`, a tab or a carriage return first, other than a plain negative
//! number such as a group chat's id) is written with a `'` in front,
//! the usual guard, which decoding takes off again (a text that itself
//! starts with `'` gets one more, so every text round-trips exactly).

use std::str::FromStr;

use chrono::{DateTime, NaiveDateTime, Utc};
use rust_decimal::Decimal;

use super::{EventKind, JournalEvent};
use crate::store::CsvProblem;

/// The journal's columns, in order.
pub const COLUMNS: [&str; 12] = [
    "time",
    "event",
    "client_order_id",
    "order_id",
    "source",
    "symbol",
    "side",
    "qty",
    "notional",
    "limit_price",
    "status",
    "reason",
];

/// The header line (no newline), as every journal object and export starts.
pub fn header() -> String {
    COLUMNS.join(",")
}

/// How a time is written: fixed width, so text order is time order and
/// DuckDB reads one timestamp format.
const TIME_FORMAT: &str = "%Y-%m-%dT%H:%M:%S%.9fZ";

/// The characters that make a spreadsheet read a cell as a formula.
const FORMULA_LEADS: [char; 6] = ['=', '+', '-', '@', '\t', '\r'];

/// The guard in front of a cell that would read as a formula.
const GUARD: char = '\'';

/// `text` as a cell: guarded when it would start a formula (or starts with
/// the guard itself, so decoding is exact). A plain negative number (a
/// group chat's id, `-100500`) is a number to a spreadsheet, not a
/// formula, and stays as it is.
fn text_cell(text: &str) -> String {
    match text.chars().next() {
        Some(c) if c == GUARD || (FORMULA_LEADS.contains(&c) && !plain_number(text)) => {
            format!("{GUARD}{text}")
        }
        _ => text.to_string(),
    }
}

/// `-` then digits, with at most one `.` between digits: `-100500`, `-2.5`.
fn plain_number(text: &str) -> bool {
    let Some(rest) = text.strip_prefix('-') else {
        return false;
    };
    let (whole, fraction) = rest.split_once('.').unwrap_or((rest, "1"));
    let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    digits(whole) && digits(fraction)
}

/// A cell back to its text: one guard taken off.
fn cell_text(cell: &str) -> String {
    cell.strip_prefix(GUARD).unwrap_or(cell).to_string()
}

fn opt_text(v: &Option<String>) -> String {
    v.as_deref().map(text_cell).unwrap_or_default()
}

fn opt_decimal(v: &Option<Decimal>) -> String {
    v.map(|d| d.to_string()).unwrap_or_default()
}

/// The event's name as written (`alert_add`), the same as its serde name.
pub fn kind_name(kind: EventKind) -> &'static str {
    match kind {
        EventKind::Preview => "preview",
        EventKind::Confirm => "confirm",
        EventKind::Discard => "discard",
        EventKind::Submit => "submit",
        EventKind::Answer => "answer",
        EventKind::Status => "status",
        EventKind::Cancel => "cancel",
        EventKind::Halt => "halt",
        EventKind::Resume => "resume",
        EventKind::Trigger => "trigger",
        EventKind::AlertAdd => "alert_add",
        EventKind::AlertDelete => "alert_delete",
        EventKind::AccessReload => "access_reload",
        EventKind::SignIn => "sign_in",
    }
}

/// Every kind, for reading a name back.
const KINDS: [EventKind; 14] = [
    EventKind::Preview,
    EventKind::Confirm,
    EventKind::Discard,
    EventKind::Submit,
    EventKind::Answer,
    EventKind::Status,
    EventKind::Cancel,
    EventKind::Halt,
    EventKind::Resume,
    EventKind::Trigger,
    EventKind::AlertAdd,
    EventKind::AlertDelete,
    EventKind::AccessReload,
    EventKind::SignIn,
];

/// The row's cells, in [`COLUMNS`] order.
fn cells(e: &JournalEvent) -> [String; 12] {
    [
        e.time.format(TIME_FORMAT).to_string(),
        kind_name(e.event).to_string(),
        opt_text(&e.client_order_id),
        opt_text(&e.order_id),
        text_cell(&e.source),
        opt_text(&e.symbol),
        opt_text(&e.side),
        opt_decimal(&e.qty),
        opt_decimal(&e.notional),
        opt_decimal(&e.limit_price),
        opt_text(&e.status),
        opt_text(&e.reason),
    ]
}

/// Encode `events` as one CSV object: the header, then a row each.
pub fn encode(events: &[JournalEvent]) -> Vec<u8> {
    let mut out = csv::WriterBuilder::new()
        .has_headers(false)
        .terminator(csv::Terminator::Any(b'\n'))
        .from_writer(Vec::new());
    let header = out.write_record(COLUMNS);
    let rows = events.iter().try_for_each(|e| out.write_record(cells(e)));
    // Writing to a Vec cannot fail.
    debug_assert!(header.is_ok() && rows.is_ok());
    out.into_inner().unwrap_or_default()
}

/// Decode one journal object (its header checked exactly). Every object
/// is written ending in a newline, so one that does not was cut short.
pub fn decode(bytes: &[u8]) -> Result<Vec<JournalEvent>, CsvProblem> {
    if bytes.last() != Some(&b'\n') {
        return Err(CsvProblem("cut short: no final newline".into()));
    }
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(true)
        .flexible(false)
        .from_reader(bytes);
    let headers = reader
        .headers()
        .map_err(|e| CsvProblem(format!("unreadable header: {e}")))?;
    if headers.iter().ne(COLUMNS) {
        return Err(CsvProblem(format!(
            "header is not the journal's `{}`",
            header()
        )));
    }
    let mut events = Vec::new();
    for (i, record) in reader.records().enumerate() {
        let record = record.map_err(|e| CsvProblem(format!("row {}: {e}", i + 1)))?;
        let event = row(&record).map_err(|e| CsvProblem(format!("row {}: {e}", i + 1)))?;
        events.push(event);
    }
    Ok(events)
}

/// One record to an event.
fn row(r: &csv::StringRecord) -> Result<JournalEvent, String> {
    let cell = |i: usize| r.get(i).unwrap_or_default();
    let text = |i: usize| Some(cell(i)).filter(|c| !c.is_empty()).map(cell_text);
    let decimal = |i: usize| -> Result<Option<Decimal>, String> {
        let c = cell(i);
        if c.is_empty() {
            return Ok(None);
        }
        Decimal::from_str(c)
            .map(Some)
            .map_err(|_| format!("{}: not a number: {c:?}", COLUMNS[i]))
    };
    let time = NaiveDateTime::parse_from_str(cell(0), TIME_FORMAT)
        .map_err(|_| format!("time: not a UTC time: {:?}", cell(0)))?;
    let event = KINDS
        .into_iter()
        .find(|k| kind_name(*k) == cell(1))
        .ok_or_else(|| format!("event: unknown: {:?}", cell(1)))?;
    let source = cell_text(cell(4));
    if source.is_empty() {
        return Err("source: empty".into());
    }
    Ok(JournalEvent {
        time: DateTime::<Utc>::from_naive_utc_and_offset(time, Utc),
        event,
        client_order_id: text(2),
        order_id: text(3),
        source,
        symbol: text(5),
        side: text(6),
        qty: decimal(7)?,
        notional: decimal(8)?,
        limit_price: decimal(9)?,
        status: text(10),
        reason: text(11),
    })
}

#[cfg(test)]
mod tests;
