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
use serde_json::value::RawValue;

use super::api::Api;
use super::client::AlpacaClient;
use super::error::AlpacaError;
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
/// its symbols; only when every batch failed is the request an error.
pub async fn daily_bars(
    client: &AlpacaClient,
    options: &BarsOptions,
    symbols: &[Symbol],
    from: NaiveDate,
    to: NaiveDate,
) -> Result<BarsAnswer, MarketError> {
    let batches = batch_symbols(symbols, MAX_SYMBOLS_CHARS);
    let n_batches = batches.len();
    // Futures built up front (each owns its batch) so the stream only
    // borrows the client and the options.
    let fetches: Vec<_> = batches
        .into_iter()
        .map(|b| async move {
            let result = fetch_batch(client, options, &b, from, to).await;
            (b, result)
        })
        .collect();
    let results: Vec<(Vec<Symbol>, Result<BatchBars, AlpacaError>)> =
        futures::stream::iter(fetches)
            .buffer_unordered(CONCURRENT_BATCHES)
            .collect()
            .await;
    let mut answer = BarsAnswer::default();
    let mut errors = Vec::new();
    for (batch, result) in results {
        match result {
            Ok(mut got) => {
                answer.rejected.append(&mut got.rejected);
                for sym in batch {
                    if let Some(bars) = got.bars.remove(sym.as_str()) {
                        answer.series.push(SymbolBars { symbol: sym, bars });
                    }
                }
            }
            Err(e) => {
                // Pages are ordered by symbol, so a batch cut short may
                // hold a partial history for some symbol: the whole
                // batch is failed and queued for retry, never half-used.
                let reason = format!("bars request failed: {e}");
                answer.failed.extend(batch.iter().map(|s| SymbolIssue {
                    symbol: s.clone(),
                    reason: reason.clone(),
                }));
                errors.push(e);
            }
        }
    }
    if n_batches > 0 && errors.len() == n_batches {
        let first = errors.swap_remove(0);
        return Err(first.into_market(Api::Data));
    }
    Ok(answer)
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
            .get(Api::Data, "/v2/stocks/bars", &q, parse_bars_page)
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
                    Err((date, reason)) => self.rejected.push(RejectedBar {
                        symbol: symbol.clone(),
                        date: date.unwrap_or(from),
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
/// New York trading date.
fn parse_bar(raw: &RawValue) -> ParsedBar {
    #[derive(Deserialize)]
    struct Wire {
        t: String,
        o: f64,
        h: f64,
        l: f64,
        c: f64,
        v: f64,
        n: Option<f64>,
        vw: Option<f64>,
    }
    #[derive(Deserialize)]
    struct JustT {
        t: Option<String>,
    }
    let date_of = |t: &str| {
        DateTime::parse_from_rfc3339(t)
            .ok()
            .map(|dt| dt.with_timezone(&New_York).date_naive())
    };
    let w: Wire = match serde_json::from_str(raw.get()) {
        Ok(w) => w,
        Err(e) => {
            let date = serde_json::from_str::<JustT>(raw.get())
                .ok()
                .and_then(|j| j.t)
                .and_then(|t| date_of(&t));
            return Err((date, format!("unreadable bar: {e}")));
        }
    };
    let Some(date) = date_of(&w.t) else {
        return Err((None, format!("bad timestamp {:?}", w.t)));
    };
    if !w.v.is_finite() || w.v < 0.0 {
        return Err((
            Some(date),
            format!("volume {} is not a non-negative number", w.v),
        ));
    }
    let count = |x: Option<f64>| {
        x.filter(|n| n.is_finite() && *n >= 0.0)
            .map(|n| n.round() as u64)
    };
    Ok(Bar {
        date,
        open: w.o,
        high: w.h,
        low: w.l,
        close: w.c,
        volume: w.v.round() as u64,
        trade_count: count(w.n),
        vwap: w.vw,
    })
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
        assert!(aaa[2].as_ref().unwrap_err().1.contains("missing field `t`"));
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
    fn empty_and_null_pages() {
        let p = parse_bars_page(br#"{"bars":{},"next_page_token":null}"#).unwrap();
        assert!(p.bars.is_empty() && p.next_page_token.is_none());
        let p = parse_bars_page(br#"{"bars":null,"next_page_token":""}"#).unwrap();
        assert!(p.bars.is_empty() && p.next_page_token.is_none());
        assert!(parse_bars_page(br#"{"bars":{"A":[{"t":"#).is_err());
        assert!(parse_bars_page(b"<html>oops</html>").is_err());
    }
}
