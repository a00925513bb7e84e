//! `GET /v2/stocks/bars`: daily bars for a whole universe in as few
//! requests as the API allows. Symbols go in batches that keep the URL
//! reasonable; each batch follows `next_page_token` (the `limit` of 10,000
//! counts bars of all symbols together), batches run concurrently, and
//! every bar is parsed on its own so one bad bar costs that bar, not the
//! page.

use std::collections::{HashMap, HashSet};

use chrono::{DateTime, NaiveDate};
use chrono_tz::America::New_York;
use futures::StreamExt;
use serde::Deserialize;
use serde_json::Value;
use serde_json::value::RawValue;

use super::api::{Api, Dependency};
use super::client::AlpacaClient;
use super::error::AlpacaError;
use super::refusal;
use crate::domain::{Bar, RejectedBar, Symbol, SymbolIssue};
use crate::market::{BarsAnswer, MarketError, SymbolBars};

/// Alpaca's page size cap, which we always ask for.
pub const PAGE_LIMIT: u32 = 10_000;
/// Longest `symbols=` value per request (characters).
const MAX_SYMBOLS_CHARS: usize = 4_000;
/// Batches fetched at once.
const CONCURRENT_BATCHES: usize = 4;

/// What every bars request asks for besides the symbols and dates.
#[derive(Debug, Clone)]
pub struct BarsOptions {
    /// `market.feed` (`iex`, `sip`, ...).
    pub feed: String,
    /// `market.adjustment` (`split`, `all`, ...).
    pub adjustment: String,
}

/// Daily bars with dates in `from..=to` for each symbol, as
/// [`crate::market::MarketData::daily_bars`] promises: a failed batch fails
/// its symbols, a symbol Alpaca refuses is isolated and refused alone, and
/// only when every symbol failed is the request an error.
pub async fn daily_bars(
    client: &AlpacaClient,
    options: &BarsOptions,
    symbols: &[Symbol],
    from: NaiveDate,
    to: NaiveDate,
) -> Result<BarsAnswer, MarketError> {
    let batches = batch_symbols(symbols, MAX_SYMBOLS_CHARS);
    // Futures built up front (each owns its batch) so the stream only
    // borrows the client and the options.
    let fetches: Vec<_> = batches
        .into_iter()
        .map(|b| async move {
            let outcome = fetch_isolating(client, options, &b, from, to).await;
            (b, outcome)
        })
        .collect();
    let results: Vec<(Vec<Symbol>, BatchOutcome)> = futures::stream::iter(fetches)
        .buffer_unordered(CONCURRENT_BATCHES)
        .collect()
        .await;
    let mut answer = BarsAnswer::default();
    let mut errors = Vec::new();
    for (batch, mut outcome) in results {
        answer.rejected.append(&mut outcome.got.rejected);
        for sym in batch {
            if let Some(bars) = outcome.got.bars.remove(sym.as_str()) {
                answer.series.push(SymbolBars { symbol: sym, bars });
            }
        }
        for (group, e) in outcome.failed {
            // Pages are ordered by symbol, so a request cut short may
            // hold a partial history for some symbol: its whole group is
            // failed and queued for retry, never half-used.
            let reason = format!("bars request failed: {e}");
            answer
                .failed
                .extend(group.into_iter().map(|symbol| SymbolIssue {
                    symbol,
                    reason: reason.clone(),
                }));
            errors.push(e);
        }
        answer.refused.append(&mut outcome.refused);
    }
    // The request failed as a whole when nothing came back but errors
    // (and refusals): no group of symbols was fetched.
    if !errors.is_empty() && answer.failed.len() + answer.refused.len() == symbols.len() {
        let first = errors.swap_remove(0);
        return Err(first.into_market(Api::Data));
    }
    Ok(answer)
}

/// What one batch came to once any refused symbol was set apart.
#[derive(Default)]
struct BatchOutcome {
    /// Bars of every group fetched whole.
    got: BatchBars,
    /// Groups that failed for another reason, with the error.
    failed: Vec<(Vec<Symbol>, AlpacaError)>,
    /// Symbols Alpaca refused, with its message.
    refused: Vec<SymbolIssue>,
}

/// One batch, with a refused symbol isolated: Alpaca refuses a whole
/// multi-symbol request over one ticker it does not accept, so the one it
/// names is set aside and the rest asked again at once (the request was
/// wrong, not the server: no backoff); a refusal that names none of the
/// batch is bisected down to the symbol, within
/// [`refusal::isolation_budget`] extra requests.
async fn fetch_isolating(
    client: &AlpacaClient,
    options: &BarsOptions,
    batch: &[Symbol],
    from: NaiveDate,
    to: NaiveDate,
) -> BatchOutcome {
    let mut out = BatchOutcome::default();
    let mut budget = refusal::isolation_budget(batch.len());
    let mut groups = vec![batch.to_vec()];
    while let Some(mut group) = groups.pop() {
        let e = match fetch_batch(client, options, &group, from, to).await {
            Ok(got) => {
                out.got.merge(got);
                continue;
            }
            Err(e) => e,
        };
        let Some(why) = refusal::refusal(&e, &group) else {
            out.failed.push((group, e));
            continue;
        };
        let message = match &e {
            AlpacaError::Status { message, .. } => message.clone(),
            other => other.to_string(),
        };
        let refuse = |symbol: Symbol| {
            tracing::warn!(%symbol, %message, "Alpaca refused the symbol; fetching the rest without it");
            SymbolIssue {
                symbol,
                reason: format!("refused by Alpaca: {message}"),
            }
        };
        let next: Vec<Vec<Symbol>> = match why {
            refusal::Refusal::Named(i) => {
                out.refused.push(refuse(group.remove(i)));
                vec![group.clone()]
            }
            refusal::Refusal::Unnamed if group.len() == 1 => {
                out.refused.push(refuse(group.remove(0)));
                Vec::new()
            }
            refusal::Refusal::Unnamed => {
                let second = group.split_off(group.len() / 2);
                vec![group.clone(), second]
            }
        };
        let next: Vec<Vec<Symbol>> = next.into_iter().filter(|g| !g.is_empty()).collect();
        if next.len() > budget {
            tracing::warn!(
                symbols = group.len(),
                "stopped isolating refused symbols: request budget spent"
            );
            let rest = next.into_iter().flatten().collect();
            out.failed.push((rest, e));
            continue;
        }
        budget -= next.len();
        groups.extend(next);
    }
    out
}

/// One batch, every page. On failure, the batch's error.
async fn fetch_batch(
    client: &AlpacaClient,
    options: &BarsOptions,
    batch: &[Symbol],
    from: NaiveDate,
    to: NaiveDate,
) -> Result<BatchBars, AlpacaError> {
    let symbols = batch
        .iter()
        .map(Symbol::as_str)
        .collect::<Vec<_>>()
        .join(",");
    let wanted: HashSet<&str> = batch.iter().map(Symbol::as_str).collect();
    // A generous bound: every symbol trading every calendar day.
    let days = usize::try_from((to - from).num_days().max(0) + 1).unwrap_or(usize::MAX);
    let max_pages = batch.len().saturating_mul(days) / PAGE_LIMIT as usize + 3;
    // Full RFC 3339 instants, as alpaca-py sends them: a date alone
    // leaves the server to guess the zone and the time of day. A daily
    // bar is stamped New York midnight, and Alpaca's `start` and `end`
    // are inclusive, so New York midnight of each end date takes
    // exactly the sessions `from..=to`, never a day either side, and
    // `end` is never a future instant (which SIP plans refuse).
    let start = ny_midnight_rfc3339(from);
    let end = ny_midnight_rfc3339(to);
    let mut out = BatchBars::default();
    let mut seen_tokens = HashSet::new();
    let mut token: Option<String> = None;
    for page_no in 1.. {
        let mut q = vec![
            ("symbols", symbols.clone()),
            ("timeframe", "1Day".to_string()),
            ("start", start.clone()),
            ("end", end.clone()),
            ("limit", PAGE_LIMIT.to_string()),
            ("adjustment", options.adjustment.clone()),
            ("feed", options.feed.clone()),
            ("sort", "asc".to_string()),
        ];
        if let Some(t) = &token {
            q.push(("page_token", t.clone()));
        }
        let page = client
            .get(Dependency::Bars, "/v2/stocks/bars", &q, parse_bars_page)
            .await?;
        out.absorb(page.bars, &wanted, from, to);
        match page.next_page_token {
            None => break,
            Some(t) if !seen_tokens.insert(t.clone()) => {
                return Err(AlpacaError::Malformed(format!(
                    "page token repeated after {page_no} pages: stopping a pagination loop"
                )));
            }
            Some(_) if page_no >= max_pages => {
                return Err(AlpacaError::Malformed(format!(
                    "more than {max_pages} pages for {} symbols: stopping",
                    batch.len()
                )));
            }
            Some(t) => token = Some(t),
        }
    }
    Ok(out)
}

/// Split symbols into as few batches as keep each comma-joined list under
/// `max_chars`, of about equal length so concurrent batches finish together.
pub fn batch_symbols(symbols: &[Symbol], max_chars: usize) -> Vec<Vec<Symbol>> {
    let total: usize = symbols.iter().map(|s| s.as_str().len() + 1).sum();
    if symbols.is_empty() {
        return Vec::new();
    }
    let count = total.div_ceil(max_chars.max(1));
    let target = total.div_ceil(count);
    let mut batches = Vec::with_capacity(count);
    let mut current: Vec<Symbol> = Vec::new();
    let mut len = 0;
    for s in symbols {
        let add = s.as_str().len() + 1;
        let full = len + add > target && batches.len() + 1 < count;
        if !current.is_empty() && (full || len + add > max_chars + 1) {
            batches.push(std::mem::take(&mut current));
            len = 0;
        }
        len += add;
        current.push(s.clone());
    }
    batches.push(current);
    batches
}

/// Bars gathered for one batch.
#[derive(Default)]
struct BatchBars {
    bars: HashMap<String, Vec<Bar>>,
    rejected: Vec<RejectedBar>,
}

impl BatchBars {
    /// Add another group's bars (groups never share a symbol).
    fn merge(&mut self, other: BatchBars) {
        self.bars.extend(other.bars);
        self.rejected.extend(other.rejected);
    }

    /// Add one page's bars for the symbols we asked for, inside the range.
    fn absorb(
        &mut self,
        page: Vec<(String, Vec<ParsedBar>)>,
        wanted: &HashSet<&str>,
        from: NaiveDate,
        to: NaiveDate,
    ) {
        for (sym, bars) in page {
            if !wanted.contains(sym.as_str()) {
                tracing::debug!(symbol = %sym, "bars for a symbol not asked for: ignored");
                continue;
            }
            let Ok(symbol) = Symbol::parse(&sym) else {
                continue;
            };
            let entry = self.bars.entry(sym).or_default();
            for parsed in bars {
                match parsed {
                    Ok(bar) if bar.date >= from && bar.date <= to => entry.push(bar),
                    Ok(_) => {}
                    // A bar without a readable date is reported without
                    // one: no date is made up for it.
                    Err((date, reason)) => self.rejected.push(RejectedBar {
                        symbol: symbol.clone(),
                        date,
                        reason,
                    }),
                }
            }
        }
    }
}

/// One bar, or why it could not be read (with its date when known).
type ParsedBar = Result<Bar, (Option<NaiveDate>, String)>;

/// New York midnight of `date` as a UTC RFC 3339 instant
/// (`2026-11-20T05:00:00Z`): the timestamp of that date's daily bar.
fn ny_midnight_rfc3339(date: NaiveDate) -> String {
    use chrono::TimeZone;
    // Midnight is never inside a New York DST gap (the switch is at 02:00);
    // the fallback is there only to stay total.
    New_York
        .from_local_datetime(&date.and_time(chrono::NaiveTime::MIN))
        .earliest()
        .map(|t| {
            t.with_timezone(&chrono::Utc)
                .to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
        })
        .unwrap_or_else(|| format!("{date}T00:00:00Z"))
}

/// One page of `GET /v2/stocks/bars`.
pub struct BarsPage {
    /// Bars per symbol key, in page order.
    pub bars: Vec<(String, Vec<ParsedBar>)>,
    /// Token of the next page, if any.
    pub next_page_token: Option<String>,
}

/// Parse a bars page; the page must be JSON of the documented shape, but
/// each bar is read on its own.
pub fn parse_bars_page(body: &[u8]) -> Result<BarsPage, String> {
    #[derive(Deserialize)]
    struct Wire<'a> {
        #[serde(borrow, default)]
        bars: Option<HashMap<String, Vec<&'a RawValue>>>,
        next_page_token: Option<String>,
    }
    let wire: Wire = serde_json::from_slice(body).map_err(|e| format!("bars page: {e}"))?;
    let mut bars: Vec<(String, Vec<ParsedBar>)> = wire
        .bars
        .unwrap_or_default()
        .into_iter()
        .map(|(sym, raw)| (sym, raw.into_iter().map(parse_bar).collect()))
        .collect();
    bars.sort_by(|a, b| a.0.cmp(&b.0));
    Ok(BarsPage {
        bars,
        next_page_token: wire.next_page_token.filter(|t| !t.is_empty()),
    })
}

/// One bar: `t` (RFC 3339; a daily bar's is New York midnight) becomes the
/// New York trading date. Read field by field, so a bar that cannot be
/// used says which field is wrong in the product's words (never a parser's
/// type name), with its date when `t` was readable and none otherwise.
fn parse_bar(raw: &RawValue) -> ParsedBar {
    let value: Value = serde_json::from_str(raw.get())
        .map_err(|_| (None, "unreadable bar: not JSON".to_string()))?;
    let Some(bar) = value.as_object() else {
        return Err((
            None,
            format!("unreadable bar: {} instead of a bar", json_kind(&value)),
        ));
    };
    let date = match bar.get("t") {
        None | Some(Value::Null) => return Err((None, "unreadable bar: no timestamp (t)".into())),
        Some(Value::String(t)) => match DateTime::parse_from_rfc3339(t) {
            Ok(dt) => dt.with_timezone(&New_York).date_naive(),
            Err(_) => {
                let shown: String = t.chars().take(40).collect();
                return Err((
                    None,
                    format!("unreadable bar: timestamp {shown:?} is not a date and time"),
                ));
            }
        },
        Some(other) => {
            return Err((
                None,
                format!("unreadable bar: timestamp (t) is {}", json_kind(other)),
            ));
        }
    };
    let field = |key: &str, what: &str| -> Result<Option<f64>, (Option<NaiveDate>, String)> {
        match bar.get(key) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::Number(n)) => Ok(n.as_f64()),
            Some(other) => Err((
                Some(date),
                format!(
                    "unreadable bar: {what} ({key}) is {}, not a number",
                    json_kind(other)
                ),
            )),
        }
    };
    let required = |key: &str, what: &str| {
        field(key, what)?.ok_or_else(|| (Some(date), format!("unreadable bar: no {what} ({key})")))
    };
    let (open, high, low, close) = (
        required("o", "open price")?,
        required("h", "high price")?,
        required("l", "low price")?,
        required("c", "close price")?,
    );
    let volume = required("v", "volume")?;
    if !volume.is_finite() || volume < 0.0 {
        return Err((
            Some(date),
            format!("volume {volume} is not a non-negative number"),
        ));
    }
    let count = |x: Option<f64>| {
        x.filter(|n| n.is_finite() && *n >= 0.0)
            .map(|n| n.round() as u64)
    };
    Ok(Bar {
        date,
        open,
        high,
        low,
        close,
        volume: volume.round() as u64,
        trade_count: count(field("n", "trade count")?),
        vwap: field("vw", "volume-weighted price")?,
    })
}

/// What a JSON value is, in words (`null`, `text`, ...).
fn json_kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "true or false",
        Value::Number(_) => "a number",
        Value::String(_) => "text",
        Value::Array(_) => "a list",
        Value::Object(_) => "an object",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn batches_respect_the_url_budget() {
        let syms: Vec<Symbol> = (0..1000)
            .map(|i| Symbol::parse(&format!("S{i:04}")).unwrap())
            .collect();
        let batches = batch_symbols(&syms, MAX_SYMBOLS_CHARS);
        assert_eq!(batches.len(), 2, "1000 five-letter tickers: two batches");
        assert_eq!(
            batches.iter().map(Vec::len).collect::<Vec<_>>(),
            [500, 500],
            "balanced"
        );
        let flat: Vec<Symbol> = batches.concat();
        assert_eq!(flat, syms, "every symbol once, in order");
        let small = batch_symbols(&syms[..10], MAX_SYMBOLS_CHARS);
        assert_eq!(small.len(), 1);
        let tight = batch_symbols(&syms, 60);
        assert!(tight.len() >= 100);
        for b in &batches {
            let joined: usize = b.iter().map(|s| s.as_str().len()).sum::<usize>() + b.len() - 1;
            assert!(joined <= MAX_SYMBOLS_CHARS);
        }
        assert!(batch_symbols(&[], 10).is_empty());
    }

    #[test]
    fn bar_ranges_are_sent_as_new_york_midnight_instants() {
        let d = |s: &str| s.parse::<NaiveDate>().unwrap();
        assert_eq!(ny_midnight_rfc3339(d("2026-11-20")), "2026-11-20T05:00:00Z");
        assert_eq!(ny_midnight_rfc3339(d("2026-07-01")), "2026-07-01T04:00:00Z");
        assert_eq!(ny_midnight_rfc3339(d("2026-03-08")), "2026-03-08T05:00:00Z");
    }

    #[test]
    fn page_parsing_converts_new_york_midnight_and_isolates_bad_bars() {
        let body = br#"{"bars":{
            "BBB":[{"t":"2026-07-01T04:00:00Z","o":10,"h":11,"l":9,"c":10.5,"v":1000,"n":12,"vw":10.2}],
            "AAA":[{"t":"2026-11-24T05:00:00Z","o":1,"h":2,"l":0.5,"c":1.5,"v":5},
                   {"t":"2026-11-25T05:00:00Z","o":"x","h":2,"l":0.5,"c":1.5,"v":5},
                   {"o":1,"h":2,"l":0.5,"c":1.5,"v":5},
                   {"t":"2026-11-26T05:00:00Z","o":1,"h":2,"l":0.5,"c":1.5,"v":-3}]},
            "next_page_token":"abc"}"#;
        let page = parse_bars_page(body).unwrap();
        assert_eq!(page.next_page_token.as_deref(), Some("abc"));
        assert_eq!(page.bars[0].0, "AAA");
        let aaa = &page.bars[0].1;
        assert_eq!(aaa[0].as_ref().unwrap().date.to_string(), "2026-11-24");
        assert_eq!(
            aaa[1]
                .as_ref()
                .unwrap_err()
                .0
                .map(|d| d.to_string())
                .as_deref(),
            Some("2026-11-25")
        );
        assert_eq!(
            aaa[1].as_ref().unwrap_err().1,
            "unreadable bar: open price (o) is text, not a number"
        );
        assert_eq!(
            aaa[2].as_ref().unwrap_err(),
            &(None, "unreadable bar: no timestamp (t)".to_string())
        );
        assert!(aaa[3].as_ref().unwrap_err().1.contains("volume -3"));
        let bbb = page.bars[1].1[0].as_ref().unwrap();
        assert_eq!(
            bbb.date.to_string(),
            "2026-07-01",
            "summer midnight is 04:00Z"
        );
        assert_eq!(bbb.trade_count, Some(12));
        assert_eq!(bbb.vwap, Some(10.2));
    }

    #[test]
    fn a_null_bar_has_no_date_and_a_reason_in_words() {
        let page = parse_bars_page(
            br#"{"bars":{"AAA":[null,{"t":"2026-11-24T05:00:00Z","o":1,"h":2,"l":0.5,"v":5},{"t":"yesterday"}]}}"#,
        )
        .unwrap();
        let aaa = &page.bars[0].1;
        assert_eq!(
            aaa[0].as_ref().unwrap_err(),
            &(None, "unreadable bar: null instead of a bar".to_string())
        );
        let (date, why) = aaa[1].as_ref().unwrap_err();
        assert_eq!(date.map(|d| d.to_string()).as_deref(), Some("2026-11-24"));
        assert_eq!(why, "unreadable bar: no close price (c)");
        assert_eq!(aaa[2].as_ref().unwrap_err().0, None);
        for r in aaa {
            let why = &r.as_ref().unwrap_err().1;
            for rust in ["struct", "f64", "Wire", "expected"] {
                assert!(!why.contains(rust), "{why}");
            }
        }
    }

    #[test]
    fn empty_and_null_pages() {
        let p = parse_bars_page(br#"{"bars":{},"next_page_token":null}"#).unwrap();
        assert!(p.bars.is_empty() && p.next_page_token.is_none());
        let p = parse_bars_page(br#"{"bars":null,"next_page_token":""}"#).unwrap();
        assert!(p.bars.is_empty() && p.next_page_token.is_none());
        assert!(parse_bars_page(br#"{"bars":{"A":[{"t":"#).is_err());
        assert!(parse_bars_page(b"<html>oops</html>").is_err());
    }
}
