//! The Alpaca fake checked against Alpaca's wire formats with a plain raw
//! HTTP/1.1 client: pagination, timestamps, auth, faults, quirks, calendar,
//! clock, account and positions.

use crate::support::d;
use crate::support::fake_alpaca;

use std::collections::BTreeMap;
use std::io::{self, Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use chrono_tz::America::New_York;
use dipwatch::domain::{Bar, Symbol, parse_universe};
use dipwatch::market::calendar;
use dipwatch::market::sim::SimMarket;
use fake_alpaca::{
    BadBar, DEFAULT_KEY_ID, DEFAULT_SECRET_KEY, FakeAlpaca, FakeAlpacaOptions, Fault,
    bar_timestamp, expected_bars,
};
use rust_decimal::Decimal;
use serde_json::Value;

// ----- a tiny HTTP/1.1 client ------------------------------------------------

#[derive(Debug)]
struct Resp {
    status: u16,
    headers: Vec<(String, String)>,
    body: String,
}

impl Resp {
    fn json(&self) -> Value {
        serde_json::from_str(&self.body).unwrap_or_else(|e| panic!("{e}: {}", self.body))
    }

    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// One keep-alive connection.
struct Conn {
    stream: TcpStream,
    buf: Vec<u8>,
}

impl Conn {
    fn open(fake: &FakeAlpaca) -> Self {
        let stream = TcpStream::connect(fake.addr()).unwrap();
        stream
            .set_read_timeout(Some(Duration::from_secs(5)))
            .unwrap();
        Self {
            stream,
            buf: Vec::new(),
        }
    }

    /// GET with the default keys.
    fn get(&mut self, target: &str) -> io::Result<Resp> {
        self.request(
            target,
            &[
                ("APCA-API-KEY-ID", DEFAULT_KEY_ID),
                ("APCA-API-SECRET-KEY", DEFAULT_SECRET_KEY),
            ],
            "GET",
        )
    }

    fn request(
        &mut self,
        target: &str,
        headers: &[(&str, &str)],
        method: &str,
    ) -> io::Result<Resp> {
        let mut req = format!("{method} {target} HTTP/1.1\r\nHost: localhost\r\n");
        for (k, v) in headers {
            req.push_str(&format!("{k}: {v}\r\n"));
        }
        req.push_str("\r\n");
        self.stream.write_all(req.as_bytes())?;
        self.read_response()
    }

    fn fill(&mut self) -> io::Result<()> {
        let mut chunk = [0u8; 16384];
        let n = self.stream.read(&mut chunk)?;
        if n == 0 {
            return Err(io::ErrorKind::UnexpectedEof.into());
        }
        self.buf.extend_from_slice(&chunk[..n]);
        Ok(())
    }

    fn read_response(&mut self) -> io::Result<Resp> {
        let end = loop {
            if let Some(i) = self.buf.windows(4).position(|w| w == b"\r\n\r\n") {
                break i;
            }
            self.fill()?;
        };
        let head = String::from_utf8(self.buf[..end].to_vec()).unwrap();
        self.buf.drain(..end + 4);
        let mut lines = head.split("\r\n");
        let status_line = lines.next().unwrap();
        assert!(status_line.starts_with("HTTP/1.1 "), "{status_line}");
        let status = status_line[9..12].parse().unwrap();
        let headers: Vec<(String, String)> = lines
            .map(|l| {
                let (k, v) = l.split_once(':').unwrap();
                (k.trim().to_string(), v.trim().to_string())
            })
            .collect();
        let len: usize = headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case("content-length"))
            .map(|(_, v)| v.parse().unwrap())
            .expect("content-length");
        while self.buf.len() < len {
            self.fill()?;
        }
        let body = String::from_utf8(self.buf.drain(..len).collect()).unwrap();
        Ok(Resp {
            status,
            headers,
            body,
        })
    }
}

/// GET on a fresh connection with the default keys.
fn get(fake: &FakeAlpaca, target: &str) -> Resp {
    Conn::open(fake).get(target).unwrap()
}

/// Percent-encode a query value.
fn enc(s: &str) -> String {
    s.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
                char::from(b).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

fn t(s: &str) -> DateTime<Utc> {
    s.parse().unwrap()
}

/// A wire bar back into a domain bar, checking `t` on the way.
fn parse_bar(v: &Value) -> Bar {
    let ts = v["t"].as_str().unwrap();
    let date = ts
        .parse::<DateTime<Utc>>()
        .unwrap()
        .with_timezone(&New_York)
        .date_naive();
    assert_eq!(ts, bar_timestamp(date), "t is New York midnight in UTC");
    Bar {
        date,
        open: v["o"].as_f64().unwrap(),
        high: v["h"].as_f64().unwrap(),
        low: v["l"].as_f64().unwrap(),
        close: v["c"].as_f64().unwrap(),
        volume: v["v"].as_u64().unwrap(),
        trade_count: v["n"].as_u64(),
        vwap: v["vw"].as_f64(),
    }
}

fn dates_of(body: &Value, symbol: &str) -> Vec<String> {
    body["bars"][symbol]
        .as_array()
        .map(|a| {
            a.iter()
                .map(|b| b["t"].as_str().unwrap()[..10].to_string())
                .collect()
        })
        .unwrap_or_default()
}

fn bars_url(symbols: &str, start: &str, end: &str, extra: &str) -> String {
    format!(
        "/v2/stocks/bars?symbols={}&timeframe=1Day&start={}&end={}&adjustment=split&feed=iex{extra}",
        enc(symbols),
        enc(start),
        enc(end)
    )
}

fn universe() -> Vec<Symbol> {
    parse_universe(include_str!("../../config/universe/russell1000.txt")).unwrap()
}

/// Wednesday before Thanksgiving 2026, after the close.
const AFTER_CLOSE: &str = "2026-11-25T22:00:00Z";

fn fake_at(now: &str, tickers: &[&str]) -> FakeAlpaca {
    FakeAlpaca::start(FakeAlpacaOptions::new().universe_strs(tickers).now(t(now)))
}

// ----- bars ----------------------------------------------------------------

#[test]
fn pagination_across_symbols_reassembles_the_sim_exactly() {
    let to = d("2026-11-24");
    let days = calendar::trading_days(d("2025-06-01"), to);
    let from = days[days.len() - 260];
    // 30 symbols listed before the window, so 30 x 260 = 7800 bars.
    let candidates: Vec<Symbol> = universe().into_iter().take(60).collect();
    let full = expected_bars(&candidates, from, to);
    let symbols: Vec<Symbol> = candidates
        .into_iter()
        .filter(|s| full.get(s).is_some_and(|b| b.len() == 260))
        .take(30)
        .collect();
    assert_eq!(symbols.len(), 30);
    let expected: BTreeMap<String, Vec<Bar>> = SimMarket::new(Vec::new())
        .bars(&symbols, from, to)
        .into_iter()
        .map(|sb| (sb.symbol.as_str().to_string(), sb.bars))
        .collect();

    let fake = FakeAlpaca::start(
        FakeAlpacaOptions::new()
            .universe(symbols.clone())
            .now(t(AFTER_CLOSE)),
    );
    // Ask in reverse order: the answer is ordered by symbol anyway.
    let list: Vec<&str> = symbols.iter().rev().map(Symbol::as_str).collect();
    let mut got: BTreeMap<String, Vec<Bar>> = BTreeMap::new();
    let mut conn = Conn::open(&fake);
    let mut token: Option<String> = None;
    let mut pages = Vec::new();
    loop {
        let mut url = bars_url(
            &list.join(","),
            &from.to_string(),
            &to.to_string(),
            "&limit=1000&sort=asc",
        );
        if let Some(tok) = &token {
            url.push_str(&format!("&page_token={}", enc(tok)));
        }
        let r = conn.get(&url).unwrap();
        assert_eq!(r.status, 200, "{}", r.body);
        assert!(
            r.header("content-type")
                .unwrap()
                .starts_with("application/json")
        );
        let body = r.json();
        let page = body["bars"].as_object().unwrap();
        let keys: Vec<&String> = page.keys().collect();
        assert!(keys.windows(2).all(|w| w[0] < w[1]));
        let mut n = 0;
        for (s, bars) in page {
            for b in bars.as_array().unwrap() {
                got.entry(s.clone()).or_default().push(parse_bar(b));
                n += 1;
            }
        }
        pages.push((n, keys.len()));
        assert!(pages.len() <= 8, "too many pages");
        match &body["next_page_token"] {
            Value::Null => break,
            Value::String(s) => token = Some(s.clone()),
            other => panic!("next_page_token {other}"),
        }
    }
    assert_eq!(fake.connections(), 1, "keep-alive across pages");
    assert_eq!(
        pages.iter().map(|p| p.0).collect::<Vec<_>>(),
        [1000, 1000, 1000, 1000, 1000, 1000, 1000, 800]
    );
    assert_eq!(got, expected);
    // Symbols cut by a page boundary appear on both pages.
    assert!(pages.iter().take(7).all(|p| p.1 >= 4));
    let logged = fake.requests();
    assert_eq!(logged.len(), 8);
    assert!(logged[0].param("page_token").is_none());
    assert_eq!(logged[1].param("limit"), Some("1000"));
    assert!(logged[1].param("page_token").is_some());
    assert_eq!(fake.count("/v2/stocks/bars"), 8);

    // Descending order: same bars, newest first per symbol.
    let url = bars_url(
        list[0],
        &from.to_string(),
        &to.to_string(),
        "&sort=desc&limit=10",
    );
    let body = get(&fake, &url).json();
    let desc = dates_of(&body, list[0]);
    assert_eq!(desc[0], "2026-11-24");
    assert!(desc.windows(2).all(|w| w[0] > w[1]));
}

/// The `t` of every bar of `symbol` in a bars page.
fn times<'a>(page: &'a Value, symbol: &str) -> Vec<&'a str> {
    page["bars"][symbol]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| b["t"].as_str().unwrap())
        .collect()
}

#[test]
fn t_is_new_york_midnight_on_both_sides_of_dst() {
    let fake = fake_at(AFTER_CLOSE, &["AAPL"]);
    let body = get(&fake, &bars_url("AAPL", "2026-03-05", "2026-03-10", "")).json();
    let ts = times(&body, "AAPL");
    assert_eq!(
        ts,
        [
            "2026-03-05T05:00:00Z",
            "2026-03-06T05:00:00Z",
            "2026-03-09T04:00:00Z",
            "2026-03-10T04:00:00Z"
        ]
    );
    let body = get(&fake, &bars_url("AAPL", "2026-10-30", "2026-11-02", "")).json();
    let ts = times(&body, "AAPL");
    assert_eq!(ts, ["2026-10-30T04:00:00Z", "2026-11-02T05:00:00Z"]);

    // RFC 3339 bounds are compared with t itself.
    let body = get(
        &fake,
        &bars_url("AAPL", "2026-03-06T05:00:00Z", "2026-03-09T04:00:00Z", ""),
    )
    .json();
    assert_eq!(dates_of(&body, "AAPL"), ["2026-03-06", "2026-03-09"]);
    let body = get(
        &fake,
        &bars_url(
            "AAPL",
            "2026-03-06T00:00:01-05:00",
            "2026-03-09T03:59:59Z",
            "",
        ),
    )
    .json();
    assert_eq!(body["bars"], serde_json::json!({}), "{body}");
    assert_eq!(body["next_page_token"], Value::Null);
}

#[test]
fn bars_stop_at_the_latest_session_that_has_opened() {
    // 07:00 New York: today's session has not opened.
    let fake = fake_at("2026-11-25T12:00:00Z", &["AAPL", "MSFT"]);
    let url = bars_url("AAPL,MSFT", "2026-11-20", "2026-12-31", "");
    let body = get(&fake, &url).json();
    assert_eq!(dates_of(&body, "AAPL").last().unwrap(), "2026-11-24");
    fake.set_now(Some(t("2026-11-25T15:00:00Z")));
    let body = get(&fake, &url).json();
    assert_eq!(dates_of(&body, "AAPL").last().unwrap(), "2026-11-25");
    // No start: today only; no end: up to now.
    let body = get(&fake, "/v2/stocks/bars?symbols=MSFT&timeframe=1Day").json();
    assert_eq!(dates_of(&body, "MSFT"), ["2026-11-25"]);
    // Outside the universe: absent, as Alpaca leaves out unknown tickers.
    let body = get(
        &fake,
        &bars_url("AAPL,ZZZZ", "2026-11-20", "2026-11-24", ""),
    )
    .json();
    assert_eq!(body["bars"].as_object().unwrap().len(), 1);
}

#[test]
fn bad_parameters_get_alpacas_errors() {
    let fake = fake_at(AFTER_CLOSE, &["AAPL", "MSFT"]);
    let r = get(
        &fake,
        &bars_url("AAPL", "2026-11-02", "2026-11-24", "&limit=10001"),
    );
    assert_eq!(r.status, 422);
    assert_eq!(r.json()["code"], 42_210_000);
    assert!(
        r.json()["message"]
            .as_str()
            .unwrap()
            .starts_with("invalid limit")
    );
    assert_eq!(
        get(
            &fake,
            &bars_url("AAPL", "2026-11-02", "2026-11-24", "&limit=10000")
        )
        .status,
        200
    );
    assert_eq!(
        get(
            &fake,
            &bars_url("AAPL", "2026-11-02", "2026-11-24", "&limit=0")
        )
        .status,
        422
    );
    for tf in ["1Dai", "7Day", "", "2Month2"] {
        let r = get(
            &fake,
            &format!("/v2/stocks/bars?symbols=AAPL&timeframe={tf}"),
        );
        assert_eq!(r.status, 422, "{tf}");
    }
    let r = get(&fake, "/v2/stocks/bars?symbols=AAPL&timeframe=1Hour");
    assert_eq!(r.status, 422);
    let r = get(&fake, "/v2/stocks/bars?timeframe=1Day&start=2026-11-02");
    assert_eq!(r.status, 422);
    assert_eq!(r.json()["code"], 42_210_000);
    let r = get(&fake, &bars_url("AAPL", "2026-11-24", "2026-11-02", ""));
    assert_eq!(r.status, 422);
    let r = get(&fake, &bars_url("AAPL", "yesterday", "2026-11-02", ""));
    assert_eq!(
        (r.status, r.json()["message"].as_str()),
        (422, Some("invalid start"))
    );
    // Page tokens: garbage, and a well-formed one for a symbol not asked.
    for tok in ["!!!", "QUFQTA", "TVNGVHwx", "TVNGVHx4"] {
        let r = get(
            &fake,
            &bars_url(
                "AAPL",
                "2026-11-02",
                "2026-11-24",
                &format!("&page_token={tok}"),
            ),
        );
        assert_eq!(r.status, 400, "{tok}: {}", r.body);
        assert!(r.json()["message"].as_str().unwrap().contains("page token"));
    }
    let r = get(&fake, "/v2/nope");
    assert_eq!(r.status, 404);
}

#[test]
fn method_other_than_get_is_405() {
    let fake = fake_at(AFTER_CLOSE, &["AAPL"]);
    let mut c = Conn::open(&fake);
    let r = c
        .request(
            "/v2/account",
            &[
                ("APCA-API-KEY-ID", DEFAULT_KEY_ID),
                ("APCA-API-SECRET-KEY", DEFAULT_SECRET_KEY),
            ],
            "DELETE",
        )
        .unwrap();
    assert_eq!(r.status, 405);
    assert_eq!(r.header("allow"), Some("GET"));
}

// ----- auth and the log --------------------------------------------------------

#[test]
fn auth_is_required_and_never_logged() {
    let fake = fake_at(AFTER_CLOSE, &["AAPL"]);
    let mut c = Conn::open(&fake);
    let r = c.request("/v2/account", &[], "GET").unwrap();
    assert_eq!(r.status, 401);
    assert_eq!(
        r.body,
        r#"{"code":40110000,"message":"request is not authorized"}"#
    );
    let r = c
        .request(
            "/v2/stocks/bars?symbols=AAPL&timeframe=1Day",
            &[
                ("APCA-API-KEY-ID", DEFAULT_KEY_ID),
                ("APCA-API-SECRET-KEY", "wrong"),
            ],
            "GET",
        )
        .unwrap();
    assert_eq!(r.status, 401);
    // Header names are case-insensitive.
    let r = c
        .request(
            "/v2/clock",
            &[
                ("apca-api-key-id", DEFAULT_KEY_ID),
                ("Apca-Api-Secret-Key", DEFAULT_SECRET_KEY),
            ],
            "GET",
        )
        .unwrap();
    assert_eq!(r.status, 200);

    fake.set_keys("NEWKEY", "NEWSECRET");
    assert_eq!(c.get("/v2/clock").unwrap().status, 401);
    let r = c
        .request(
            "/v2/clock",
            &[
                ("APCA-API-KEY-ID", "NEWKEY"),
                ("APCA-API-SECRET-KEY", "NEWSECRET"),
            ],
            "GET",
        )
        .unwrap();
    assert_eq!(r.status, 200);
    assert_eq!(
        fake.credentials_env(),
        [
            ("APCA_API_KEY_ID", "NEWKEY".to_string()),
            ("APCA_API_SECRET_KEY", "NEWSECRET".to_string())
        ]
    );

    let log = fake.requests();
    let statuses: Vec<u16> = log.iter().map(|r| r.status).collect();
    assert_eq!(statuses, [401, 401, 200, 401, 200]);
    assert_eq!(log[1].param("symbols"), Some("AAPL"));
    let dump = format!("{log:?}");
    for secret in [DEFAULT_SECRET_KEY, DEFAULT_KEY_ID, "NEWSECRET", "wrong"] {
        assert!(!dump.contains(secret), "{secret} leaked into the log");
    }
    assert_eq!(fake.count("/v2/clock"), 3);
    fake.reset_log();
    assert!(fake.requests().is_empty());
}

// ----- faults ----------------------------------------------------------------

#[test]
fn status_faults_are_one_shot_and_matched_by_prefix() {
    let fake = fake_at(AFTER_CLOSE, &["AAPL"]);
    let bars = bars_url("AAPL", "2026-11-20", "2026-11-24", "");
    fake.fail_times("/v2/stocks/bars", 2, Fault::rate_limited());
    fake.push_fault("/v2/stocks/bars", Fault::rate_limited_retry_after(3));
    fake.push_fault("/v2/stocks", Fault::html(502));
    fake.push_fault(
        "/v2/stocks/bars",
        Fault::api_error(500, 50_010_000, "internal server error"),
    );
    fake.push_fault(
        "/v2/account",
        Fault::status(403, r#"{"message":"forbidden"}"#),
    );
    assert_eq!(fake.pending_faults(), 6);

    let mut c = Conn::open(&fake);
    // Another path is not affected by the bars faults.
    assert_eq!(c.get("/v2/clock").unwrap().status, 200);
    let mut resets = Vec::new();
    for _ in 0..2 {
        let r = c.get(&bars).unwrap();
        assert_eq!(r.status, 429);
        assert_eq!(r.json()["code"], 42_910_000);
        assert_eq!(r.header("x-ratelimit-remaining"), Some("0"));
        let reset: i64 = r.header("x-ratelimit-reset").unwrap().parse().unwrap();
        resets.push(reset);
        assert_eq!(r.header("retry-after"), None);
    }
    // One second after the fake answered each (its own record of when, not
    // this test's clock, which a loaded machine may have moved on).
    let answered: Vec<i64> = fake
        .requests()
        .iter()
        .filter(|r| r.status == 429)
        .map(|r| r.at.timestamp() + 1)
        .collect();
    assert_eq!(resets, answered);
    let r = c.get(&bars).unwrap();
    assert_eq!((r.status, r.header("retry-after")), (429, Some("3")));
    let r = c.get(&bars).unwrap();
    assert_eq!(r.status, 502);
    assert!(r.header("content-type").unwrap().starts_with("text/html"));
    assert!(r.body.contains("<h1>502 Bad Gateway</h1>"));
    let r = c.get(&bars).unwrap();
    assert_eq!(r.status, 500);
    assert_eq!(r.json()["message"], "internal server error");
    assert_eq!(c.get(&bars).unwrap().status, 200);
    let r = c.get("/v2/account").unwrap();
    assert_eq!(
        (r.status, r.body.as_str()),
        (403, r#"{"message":"forbidden"}"#)
    );
    assert_eq!(c.get("/v2/account").unwrap().status, 200);
    assert_eq!(fake.pending_faults(), 0);
    assert_eq!(fake.connections(), 1, "error statuses keep the connection");

    let kinds: Vec<Option<&str>> = fake.requests().iter().map(|r| r.fault).collect();
    assert_eq!(kinds.iter().filter(|k| **k == Some("status")).count(), 6);
    fake.push_fault("/", Fault::Reset);
    fake.clear_faults();
    assert_eq!(fake.pending_faults(), 0);
}

/// `err` is of one of `kinds` (which one depends on the platform).
#[track_caller]
fn assert_kind_is_one_of<const N: usize>(err: &io::Error, kinds: [io::ErrorKind; N]) {
    assert!(kinds.contains(&err.kind()), "{err:?}");
}

#[test]
fn hang_delays_the_answer_and_trips_client_timeouts() {
    let fake = fake_at(AFTER_CLOSE, &["AAPL"]);
    fake.push_fault("/v2/account", Fault::Hang(Duration::from_millis(300)));
    let started = Instant::now();
    let r = get(&fake, "/v2/account");
    assert_eq!(r.status, 200);
    assert!(started.elapsed() >= Duration::from_millis(300));

    fake.push_fault("/v2/account", Fault::Hang(Duration::from_millis(400)));
    let mut c = Conn::open(&fake);
    c.stream
        .set_read_timeout(Some(Duration::from_millis(100)))
        .unwrap();
    let err = c.get("/v2/account").unwrap_err();
    assert_kind_is_one_of(&err, [io::ErrorKind::WouldBlock, io::ErrorKind::TimedOut]);
    assert_eq!(fake.requests()[1].fault, Some("hang"));
}

#[test]
fn reset_malformed_and_partial_bodies() {
    let fake = fake_at(AFTER_CLOSE, &["AAPL", "MSFT"]);
    fake.push_fault("/v2/positions", Fault::Reset);
    let mut c = Conn::open(&fake);
    let err = c.get("/v2/positions").unwrap_err();
    assert_kind_is_one_of(
        &err,
        [io::ErrorKind::ConnectionReset, io::ErrorKind::UnexpectedEof],
    );
    let last = fake.requests().pop().unwrap();
    assert_eq!((last.status, last.fault), (0, Some("reset")));

    fake.push_fault("/v2/positions", Fault::MalformedJson);
    let mut c = Conn::open(&fake);
    let r = c.get("/v2/positions").unwrap();
    assert_eq!(r.status, 200);
    assert!(r.body.starts_with('['));
    assert!(serde_json::from_str::<Value>(&r.body).is_err());
    // A complete HTTP message: the connection stays usable.
    assert_eq!(c.get("/v2/positions").unwrap().status, 200);

    fake.push_fault("/v2/stocks/bars", Fault::PartialBody);
    let err = Conn::open(&fake)
        .get(&bars_url("AAPL,MSFT", "2026-01-01", "2026-11-24", ""))
        .unwrap_err();
    assert_eq!(err.kind(), io::ErrorKind::UnexpectedEof);
    assert_eq!(fake.requests().last().unwrap().fault, Some("partial_body"));
}

#[test]
fn page_token_loop_repeats_the_first_page_forever() {
    let fake = fake_at(AFTER_CLOSE, &["AAPL", "MSFT"]);
    let url = bars_url("AAPL,MSFT", "2026-11-02", "2026-11-24", "&limit=5");
    let first = get(&fake, &url).json();
    let tok = first["next_page_token"].as_str().unwrap().to_string();
    assert_eq!(dates_of(&first, "AAPL").len(), 5);
    let second = get(&fake, &format!("{url}&page_token={}", enc(&tok))).json();
    assert_eq!(
        second["bars"]["AAPL"].as_array().unwrap().len(),
        5,
        "normal paging"
    );
    assert_ne!(second["next_page_token"], first["next_page_token"]);

    fake.page_token_loop();
    let first = get(&fake, &url).json();
    let tok = first["next_page_token"].as_str().unwrap().to_string();
    for _ in 0..3 {
        let page = get(&fake, &format!("{url}&page_token={}", enc(&tok))).json();
        assert_eq!(page, first);
    }
    // Even a single page that holds everything points somewhere.
    let all = get(
        &fake,
        &bars_url("AAPL,MSFT", "2026-11-02", "2026-11-24", ""),
    )
    .json();
    assert!(all["next_page_token"].is_string());
    fake.clear_quirks();
    let all = get(
        &fake,
        &bars_url("AAPL,MSFT", "2026-11-02", "2026-11-24", ""),
    )
    .json();
    assert!(all["next_page_token"].is_null());
}

// ----- data quirks ---------------------------------------------------------------

#[test]
fn data_quirks() {
    let fake = fake_at(AFTER_CLOSE, &["AAPL", "MSFT", "NVDA", "AMZN", "GOOGL"]);
    fake.no_bars("MSFT");
    fake.duplicate_bars("AAPL");
    fake.missing_latest("NVDA");
    fake.missing_day(d("2026-11-20"));
    fake.invalid_bars("AMZN");

    let url = bars_url(
        "AAPL,MSFT,NVDA,AMZN,GOOGL",
        "2025-11-01",
        "2026-11-25",
        "&limit=10000",
    );
    let body = get(&fake, &url).json();
    let bars = body["bars"].as_object().unwrap();
    assert!(!bars.contains_key("MSFT"));

    let aapl = dates_of(&body, "AAPL");
    assert_eq!(aapl[0], aapl[1]);
    assert_eq!(aapl[aapl.len() - 1], aapl[aapl.len() - 2]);
    assert_eq!(aapl.last().unwrap(), "2026-11-25");
    let clean = dates_of(&body, "GOOGL");
    assert_eq!(aapl.len(), clean.len() + 2);

    assert_eq!(dates_of(&body, "NVDA").last().unwrap(), "2026-11-24");
    assert_eq!(clean.last().unwrap(), "2026-11-25");
    // A range that ends before the latest session is not affected.
    let old = get(&fake, &bars_url("NVDA", "2026-11-02", "2026-11-24", "")).json();
    assert_eq!(dates_of(&old, "NVDA").last().unwrap(), "2026-11-24");

    for s in ["AAPL", "NVDA", "AMZN", "GOOGL"] {
        assert!(
            !dates_of(&body, s).contains(&"2026-11-20".to_string()),
            "{s}"
        );
    }

    let mut seen = Vec::new();
    for b in bars["AMZN"].as_array().unwrap() {
        let ts = b["t"].as_str().unwrap();
        let date = d(&ts[..10]);
        let kind = BadBar::on(date, &BadBar::ALL);
        let (o, h, l) = (
            b["o"].as_f64().unwrap(),
            b["h"].as_f64().unwrap(),
            b["l"].as_f64().unwrap(),
        );
        match kind {
            None => {
                assert!(b["c"].as_f64().unwrap() > 0.0 && o > 0.0 && l <= h && h < 1e6);
            }
            Some(BadBar::NegativePrice) => assert!(b["c"].as_f64().unwrap() < 0.0),
            Some(BadBar::ZeroPrice) => assert_eq!(o, 0.0),
            Some(BadBar::HighBelowLow) => assert!(h < l),
            Some(BadBar::HugeValue) => assert!(h >= 1e300),
            Some(BadBar::MissingField) => assert!(b.get("c").is_none()),
        }
        if let Some(k) = kind
            && !seen.contains(&k)
        {
            seen.push(k);
        }
    }
    assert_eq!(seen.len(), 5, "every kind appears in a year: {seen:?}");

    fake.invalid_bars_of("AMZN", &[BadBar::HighBelowLow]);
    let body = get(&fake, &url).json();
    assert!(
        body["bars"]["AMZN"]
            .as_array()
            .unwrap()
            .iter()
            .all(|b| b.get("c").is_some())
    );

    fake.clear_quirks();
    let body = get(&fake, &url).json();
    assert_eq!(body["bars"].as_object().unwrap().len(), 5);
    assert!(dates_of(&body, "AAPL").contains(&"2026-11-20".to_string()));
}

// ----- trading API ---------------------------------------------------------------

#[test]
fn calendar_has_holidays_early_closes_and_settlement() {
    let fake = fake_at(AFTER_CLOSE, &["AAPL"]);
    let body = get(&fake, "/v2/calendar?start=2026-11-20&end=2026-12-01").json();
    let days = body.as_array().unwrap();
    let dates: Vec<&str> = days.iter().map(|x| x["date"].as_str().unwrap()).collect();
    assert_eq!(
        dates,
        [
            "2026-11-20",
            "2026-11-23",
            "2026-11-24",
            "2026-11-25",
            "2026-11-27",
            "2026-11-30",
            "2026-12-01"
        ]
    );
    let by_date = |date: &str| days.iter().find(|x| x["date"] == date).unwrap().clone();
    assert_eq!(
        by_date("2026-11-25"),
        serde_json::json!({
            "date": "2026-11-25", "open": "09:30", "close": "16:00",
            "session_open": "0400", "session_close": "2000",
            "settlement_date": "2026-11-27"
        })
    );
    assert_eq!(by_date("2026-11-27")["close"], "13:00");
    assert_eq!(by_date("2026-11-27")["settlement_date"], "2026-11-30");
    let xmas = get(&fake, "/v2/calendar?start=2026-12-24&end=2026-12-24").json();
    assert_eq!(xmas[0]["close"], "13:00");
    // T+2 before May 2024.
    let old = get(&fake, "/v2/calendar?start=2023-11-22&end=2023-11-22").json();
    assert_eq!(old[0]["settlement_date"], "2023-11-27");
    assert_eq!(get(&fake, "/v2/calendar?start=nope").status, 400);
}

#[test]
fn clock_follows_the_configured_now() {
    let fake = fake_at("2026-11-25T12:00:00.123Z", &["AAPL"]);
    assert_eq!(
        get(&fake, "/v2/clock").json(),
        serde_json::json!({
            "timestamp": "2026-11-25T07:00:00.123000000-05:00",
            "is_open": false,
            "next_open": "2026-11-25T09:30:00-05:00",
            "next_close": "2026-11-25T16:00:00-05:00"
        })
    );
    // Early close day, during the session.
    fake.set_now(Some(t("2026-11-27T17:00:00Z")));
    let c = get(&fake, "/v2/clock").json();
    assert_eq!(c["is_open"], true);
    assert_eq!(c["next_close"], "2026-11-27T13:00:00-05:00");
    assert_eq!(c["next_open"], "2026-11-30T09:30:00-05:00");
    // Summer, after the close before a holiday-observed Friday.
    fake.set_now(Some(t("2026-07-02T20:30:00Z")));
    let c = get(&fake, "/v2/clock").json();
    assert_eq!(c["is_open"], false);
    assert_eq!(c["next_open"], "2026-07-06T09:30:00-04:00");
    assert_eq!(c["next_close"], "2026-07-06T16:00:00-04:00");
    // Real clock.
    fake.set_now(None);
    let c = get(&fake, "/v2/clock").json();
    let ts: DateTime<Utc> = c["timestamp"].as_str().unwrap().parse().unwrap();
    assert!((Utc::now() - ts).num_seconds().abs() < 5);
}

#[test]
fn account_and_positions_send_decimals_as_strings() {
    let u: Vec<Symbol> = universe().into_iter().take(80).collect();
    let fake = FakeAlpaca::start(
        FakeAlpacaOptions::new()
            .universe(u.clone())
            .now(t(AFTER_CLOSE)),
    );
    assert_eq!(fake.as_of(), d("2026-11-25"));
    let (account, positions) = SimMarket::new(u).portfolio(d("2026-11-25"));
    assert!(!positions.is_empty());

    let a = get(&fake, "/v2/account").json();
    assert_eq!(a["cash"], "25000.00");
    assert_eq!(a["buying_power"], "50000.00");
    assert_eq!(a["status"], "ACTIVE");
    assert_eq!(a["currency"], "USD");
    assert_eq!(a["daytrade_count"], 0);
    assert_eq!(a["pattern_day_trader"], false);
    assert_eq!(a["trading_blocked"], false);
    assert!(a["account_number"].as_str().unwrap().starts_with("PA"));
    let money = |v: &Value| Some(v.as_str().unwrap().parse::<Decimal>().unwrap());
    assert_eq!(money(&a["equity"]), account.equity);
    assert_eq!(money(&a["portfolio_value"]), account.equity);
    assert_eq!(money(&a["last_equity"]), account.last_equity);
    assert_eq!(money(&a["long_market_value"]), account.long_market_value);

    let ps = get(&fake, "/v2/positions").json();
    let ps = ps.as_array().unwrap();
    assert_eq!(ps.len(), positions.len());
    for (w, p) in ps.iter().zip(&positions) {
        assert_eq!(w["symbol"], p.symbol.as_str());
        assert_eq!(w["asset_class"], "us_equity");
        assert_eq!(w["side"], "long");
        for field in [
            "qty",
            "avg_entry_price",
            "market_value",
            "cost_basis",
            "unrealized_pl",
            "unrealized_plpc",
            "current_price",
            "lastday_price",
            "change_today",
        ] {
            assert!(w[field].is_string(), "{field} is {}", w[field]);
        }
        assert_eq!(w["qty"], p.quantity.to_string());
        assert_eq!(money(&w["avg_entry_price"]), Some(p.avg_entry_price));
        assert_eq!(money(&w["current_price"]), p.current_price);
        assert_eq!(money(&w["market_value"]), p.market_value);
        assert_eq!(money(&w["unrealized_pl"]), p.unrealized_pl);
        assert_eq!(
            money(&w["cost_basis"]),
            Some(p.quantity * p.avg_entry_price)
        );
        let plpc = money(&w["unrealized_plpc"]).unwrap() * Decimal::ONE_HUNDRED;
        assert!((plpc - p.unrealized_return_pct.unwrap()).abs() < Decimal::new(1, 3));
    }
    let one = get(&fake, &format!("/v2/positions/{}", positions[0].symbol)).json();
    assert_eq!(one, ps[0]);
    assert_eq!(get(&fake, "/v2/positions/ZZZZZ").status, 404);
}

// ----- connections ---------------------------------------------------------------

#[test]
fn keep_alive_connection_close_and_latency() {
    let fake = fake_at(AFTER_CLOSE, &["AAPL"]);
    let mut c = Conn::open(&fake);
    for _ in 0..5 {
        assert_eq!(c.get("/v2/clock").unwrap().status, 200);
    }
    assert_eq!(fake.connections(), 1);
    let r = c
        .request(
            "/v2/clock",
            &[
                ("APCA-API-KEY-ID", DEFAULT_KEY_ID),
                ("APCA-API-SECRET-KEY", DEFAULT_SECRET_KEY),
                ("Connection", "close"),
            ],
            "GET",
        )
        .unwrap();
    assert_eq!((r.status, r.header("connection")), (200, Some("close")));
    let mut rest = Vec::new();
    assert_eq!(c.stream.read_to_end(&mut rest).unwrap(), 0, "closed after");

    fake.set_latency(Duration::from_millis(50));
    let started = Instant::now();
    assert_eq!(get(&fake, "/v2/clock").status, 200);
    assert!(started.elapsed() >= Duration::from_millis(50));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn usable_and_droppable_inside_a_tokio_runtime() {
    use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
    let fake = FakeAlpaca::start(
        FakeAlpacaOptions::new()
            .universe_strs(&["AAPL"])
            .latency(Duration::from_millis(50)),
    );
    let addr = fake.addr();
    let tasks: Vec<_> = (0..8)
        .map(|_| {
            tokio::spawn(async move {
                let mut s = tokio::net::TcpStream::connect(addr).await.unwrap();
                let req = format!(
                    "GET /v2/clock HTTP/1.1\r\nHost: x\r\nAPCA-API-KEY-ID: {DEFAULT_KEY_ID}\r\n\
                     APCA-API-SECRET-KEY: {DEFAULT_SECRET_KEY}\r\nConnection: close\r\n\r\n"
                );
                s.write_all(req.as_bytes()).await.unwrap();
                let mut out = String::new();
                s.read_to_string(&mut out).await.unwrap();
                out
            })
        })
        .collect();
    for task in tasks {
        let out = task.await.unwrap();
        assert!(out.starts_with("HTTP/1.1 200 OK\r\n"), "{out}");
        assert!(out.contains("\"is_open\":"));
    }
    assert!(fake.max_in_flight() >= 2);
    assert_eq!(fake.count("/v2/clock"), 8);
    drop(fake);
    // Stopped: nothing listens any more.
    assert!(tokio::net::TcpStream::connect(addr).await.is_err());
}

/// Alpaca refuses a whole bars request over one ticker it does not accept,
/// with its recorded body naming the ticker (or, when told, naming none);
/// a `null` element can end a symbol's bars.
#[test]
fn refused_tickers_and_null_bars() {
    let fake = fake_at(AFTER_CLOSE, &["AAPL", "TSLA", "BC-C"]);
    fake.refuse_symbol("BC-C");
    let refused = get(
        &fake,
        &bars_url("AAPL,BC-C,TSLA", "2026-11-20", "2026-11-24", ""),
    );
    assert_eq!(refused.status, 400);
    assert_eq!(
        refused.body,
        include_str!("../data/alpaca/invalid_symbol.json").trim(),
        "the recorded body"
    );
    let fine = get(
        &fake,
        &bars_url("AAPL,TSLA", "2026-11-20", "2026-11-24", ""),
    );
    assert_eq!(fine.status, 200);
    fake.refuse_without_naming();
    let unnamed = get(&fake, &bars_url("BC-C", "2026-11-20", "2026-11-24", ""));
    assert_eq!(unnamed.json()["message"], "invalid symbols");

    fake.null_bar("AAPL");
    let body = get(&fake, &bars_url("AAPL", "2026-11-20", "2026-11-24", "")).json();
    let bars = body["bars"]["AAPL"].as_array().unwrap();
    assert!(bars.last().unwrap().is_null(), "{body}");
    assert!(bars[0].is_object());
}
