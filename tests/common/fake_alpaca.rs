//! A loopback fake of Alpaca's market-data and trading APIs that speaks
//! their wire formats, for integration tests and benchmarks.
//!
//! One server answers both APIs' paths (`/v2/stocks/bars` on the data side,
//! `/v2/account`, `/v2/positions`, `/v2/calendar`, `/v2/clock` on the trading
//! side), from the crate's simulated market, over a hand-rolled HTTP/1.1
//! (keep-alive, `GET` only) so tests control hangs, resets and partial
//! bodies down to the byte. It runs on its own tokio runtime in a background
//! thread, so plain `#[test]`s that spawn the `dipwatch` binary and
//! `#[tokio::test]`s can both use it; dropping the handle stops it.
//!
//! Every behaviour can be changed between two calls through `&self`:
//! credentials, the clock, latency, a queue of one-shot faults matched by
//! path prefix, and per-symbol data quirks. Each request is logged (method,
//! path, decoded query, status; never a header value).
//!
//! ```ignore
//! let fake = FakeAlpaca::start(FakeAlpacaOptions::new().universe_strs(&["AAPL", "MSFT"]));
//! fake.fail_times("/v2/stocks/bars", 2, Fault::rate_limited());
//! fake.missing_latest("MSFT");
//! // point the client at fake.url() with fake.credentials_env() ...
//! assert_eq!(fake.count("/v2/stocks/bars"), 3);
//! ```

#![allow(dead_code)]

use std::collections::{BTreeMap, HashMap, HashSet, VecDeque};
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use chrono::{DateTime, Datelike, Days, NaiveDate, SecondsFormat, TimeZone, Utc};
use chrono_tz::America::New_York;
use dipwatch::domain::{Bar, Symbol};
use dipwatch::market::calendar;
use dipwatch::market::sim::SimMarket;
use rust_decimal::Decimal;
use serde_json::{Map, Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::oneshot;

/// Key id the fake accepts unless told otherwise.
pub const DEFAULT_KEY_ID: &str = "PKFAKE0000000000TEST";
/// Secret key the fake accepts unless told otherwise.
pub const DEFAULT_SECRET_KEY: &str = "fake-secret-0000000000000000000000000000";

/// Alpaca's default and largest `limit` on the bars endpoint.
pub const DEFAULT_BARS_LIMIT: usize = 1_000;
/// See [`DEFAULT_BARS_LIMIT`].
pub const MAX_BARS_LIMIT: usize = 10_000;

/// Largest request head the fake reads before answering 431.
const MAX_HEAD: usize = 64 * 1024;

/// How the fake starts; every field can be changed later through the
/// handle's setters.
#[derive(Debug, Clone)]
pub struct FakeAlpacaOptions {
    /// Symbols the fake knows. Bars for others are absent from answers, as
    /// Alpaca leaves out unknown tickers; empty means "every ticker". The
    /// paper portfolio is drawn from it.
    pub universe: Vec<Symbol>,
    /// Accepted `APCA-API-KEY-ID`.
    pub key_id: String,
    /// Accepted `APCA-API-SECRET-KEY`.
    pub secret_key: String,
    /// The fake's "now"; `None` follows the real clock.
    pub now: Option<DateTime<Utc>>,
    /// Added before every response.
    pub latency: Duration,
}

impl Default for FakeAlpacaOptions {
    fn default() -> Self {
        Self {
            universe: Vec::new(),
            key_id: DEFAULT_KEY_ID.into(),
            secret_key: DEFAULT_SECRET_KEY.into(),
            now: None,
            latency: Duration::ZERO,
        }
    }
}

impl FakeAlpacaOptions {
    /// Defaults: every ticker known, the default keys, real clock, no latency.
    pub fn new() -> Self {
        Self::default()
    }

    /// Set the universe.
    pub fn universe(mut self, universe: Vec<Symbol>) -> Self {
        self.universe = universe;
        self
    }

    /// Set the universe from ticker text (panics on a bad ticker).
    pub fn universe_strs(self, tickers: &[&str]) -> Self {
        self.universe(tickers.iter().map(|t| sym(t)).collect())
    }

    /// Set the accepted key pair.
    pub fn keys(mut self, key_id: &str, secret_key: &str) -> Self {
        self.key_id = key_id.into();
        self.secret_key = secret_key.into();
        self
    }

    /// Freeze the fake's clock at `now`.
    pub fn now(mut self, now: DateTime<Utc>) -> Self {
        self.now = Some(now);
        self
    }

    /// Delay every response by `latency`.
    pub fn latency(mut self, latency: Duration) -> Self {
        self.latency = latency;
        self
    }
}

/// A one-shot misbehaviour, consumed by the first request whose path starts
/// with the prefix it was queued under.
#[derive(Debug, Clone, PartialEq)]
pub enum Fault {
    /// Answer `code` with `body` (Content-Type from `headers`, else JSON
    /// when the body looks like JSON and HTML otherwise) and extra headers.
    Status {
        /// HTTP status.
        code: u16,
        /// Body, sent as is.
        body: String,
        /// Extra response headers (`Retry-After`, `X-RateLimit-Reset`, ...).
        headers: Vec<(String, String)>,
    },
    /// Read the request, send nothing for this long, then answer normally
    /// (if the client is still there).
    Hang(Duration),
    /// Close the connection with a TCP RST (SO_LINGER 0), no response.
    Reset,
    /// 200 with the real body cut in half (Content-Length matches the cut
    /// body, so the HTTP message is complete but the JSON is not).
    MalformedJson,
    /// 200 announcing the full Content-Length, then half the body, then the
    /// connection closes.
    PartialBody,
}

impl Fault {
    /// An error status with a body and no extra header.
    pub fn status(code: u16, body: impl Into<String>) -> Self {
        Fault::Status {
            code,
            body: body.into(),
            headers: Vec::new(),
        }
    }

    /// An Alpaca-style JSON error: `{"code":N,"message":"..."}`.
    pub fn api_error(status: u16, code: u64, message: &str) -> Self {
        Fault::status(
            status,
            json!({ "code": code, "message": message }).to_string(),
        )
    }

    /// 429 as Alpaca sends it: no `Retry-After`, but `X-RateLimit-Limit`,
    /// `X-RateLimit-Remaining: 0` and `X-RateLimit-Reset` (Unix seconds, one
    /// second from now on the real clock).
    pub fn rate_limited() -> Self {
        let reset = Utc::now().timestamp() + 1;
        Fault::api_error(429, 42_910_000, "rate limit exceeded")
            .header("X-RateLimit-Limit", "200")
            .header("X-RateLimit-Remaining", "0")
            .header("X-RateLimit-Reset", &reset.to_string())
    }

    /// 429 with `Retry-After: secs` and no rate-limit headers.
    pub fn rate_limited_retry_after(secs: u64) -> Self {
        Fault::status(429, r#"{"message":"too many requests."}"#)
            .header("Retry-After", &secs.to_string())
    }

    /// A proxy's HTML error page (502/503/504 from a load balancer).
    pub fn html(code: u16) -> Self {
        let reason = reason(code);
        Fault::status(
            code,
            format!(
                "<html>\r\n<head><title>{code} {reason}</title></head>\r\n<body>\r\n\
                 <center><h1>{code} {reason}</h1></center>\r\n</body>\r\n</html>\r\n"
            ),
        )
        .header("Content-Type", "text/html")
    }

    /// Add a response header to a [`Fault::Status`] (no effect on others).
    pub fn header(mut self, name: &str, value: &str) -> Self {
        if let Fault::Status { headers, .. } = &mut self {
            headers.push((name.into(), value.into()));
        }
        self
    }

    fn kind(&self) -> &'static str {
        match self {
            Fault::Status { .. } => "status",
            Fault::Hang(_) => "hang",
            Fault::Reset => "reset",
            Fault::MalformedJson => "malformed_json",
            Fault::PartialBody => "partial_body",
        }
    }
}

/// Ways [`FakeAlpaca::invalid_bars`] spoils a bar.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum BadBar {
    /// `c` is negative.
    NegativePrice,
    /// `o` is zero.
    ZeroPrice,
    /// `h` and `l` swapped: high below low.
    HighBelowLow,
    /// `h` and `vw` are 1e300 (what a NaN looks like after a bad cast).
    HugeValue,
    /// `c` is missing from the bar object.
    MissingField,
}

impl BadBar {
    /// Every kind, in the order [`BadBar::on`] rotates through them.
    pub const ALL: [BadBar; 5] = [
        BadBar::NegativePrice,
        BadBar::ZeroPrice,
        BadBar::HighBelowLow,
        BadBar::HugeValue,
        BadBar::MissingField,
    ];

    /// Which spoiling, if any, the bar dated `date` gets for a symbol with
    /// `kinds` enabled: dates whose day number (from the Common Era) is a
    /// multiple of 10 are spoiled, rotating through `kinds` every ten days.
    pub fn on(date: NaiveDate, kinds: &[BadBar]) -> Option<BadBar> {
        let day = usize::try_from(date.num_days_from_ce()).ok()?;
        if kinds.is_empty() || !day.is_multiple_of(10) {
            return None;
        }
        Some(kinds[(day / 10) % kinds.len()])
    }
}

/// One request as the fake saw it. Header values are never kept.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Recorded {
    /// `GET`, ...
    pub method: String,
    /// Path without the query.
    pub path: String,
    /// Percent-decoded query pairs, in order.
    pub query: Vec<(String, String)>,
    /// Status sent; 0 when the connection was reset without a response.
    pub status: u16,
    /// The fault that was applied, if any (`status`, `hang`, `reset`,
    /// `malformed_json`, `partial_body`).
    pub fault: Option<&'static str>,
}

impl Recorded {
    /// The first value of query parameter `name`.
    pub fn param(&self, name: &str) -> Option<&str> {
        self.query
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }
}

/// Per-symbol and per-day data quirks.
#[derive(Debug, Clone, Default)]
struct Quirks {
    no_bars: HashSet<Symbol>,
    invalid_bars: HashMap<Symbol, Vec<BadBar>>,
    duplicate_bars: HashSet<Symbol>,
    missing_latest: HashSet<Symbol>,
    missing_days: HashSet<NaiveDate>,
    page_token_loop: bool,
    /// Raw entries appended to `/v2/positions` (options, crypto, nulls,
    /// malformed ones).
    extra_positions: Vec<Value>,
    /// `/v2/account` fields replaced (`Some`) or left out (`None`).
    account_fields: Vec<(String, Option<Value>)>,
}

/// Mutable configuration, behind one lock.
struct Config {
    universe: Arc<HashSet<Symbol>>,
    sim: Arc<SimMarket>,
    key_id: String,
    secret_key: String,
    now: Option<DateTime<Utc>>,
    latency: Duration,
    faults: VecDeque<(String, Fault)>,
    quirks: Arc<Quirks>,
}

/// State shared by the handle and the server.
struct Shared {
    config: Mutex<Config>,
    log: Mutex<Vec<Recorded>>,
    connections: AtomicUsize,
    in_flight: AtomicUsize,
    max_in_flight: AtomicUsize,
    request_ids: AtomicU64,
}

/// Lock a mutex, ignoring poisoning (a panicking test thread must not take
/// the server down with it).
fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// A running fake. Stops (and closes every connection) on drop.
pub struct FakeAlpaca {
    addr: SocketAddr,
    shared: Arc<Shared>,
    stop: Option<oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl FakeAlpaca {
    /// Bind a loopback port and start serving on a background runtime.
    pub fn start(opts: FakeAlpacaOptions) -> Self {
        let listener =
            std::net::TcpListener::bind("127.0.0.1:0").expect("fake alpaca: bind loopback");
        listener
            .set_nonblocking(true)
            .expect("fake alpaca: nonblocking listener");
        let addr = listener.local_addr().expect("fake alpaca: local addr");
        let universe = opts.universe;
        let shared = Arc::new(Shared {
            config: Mutex::new(Config {
                universe: Arc::new(universe.iter().cloned().collect()),
                sim: Arc::new(SimMarket::new(universe)),
                key_id: opts.key_id,
                secret_key: opts.secret_key,
                now: opts.now,
                latency: opts.latency,
                faults: VecDeque::new(),
                quirks: Arc::new(Quirks::default()),
            }),
            log: Mutex::new(Vec::new()),
            connections: AtomicUsize::new(0),
            in_flight: AtomicUsize::new(0),
            max_in_flight: AtomicUsize::new(0),
            request_ids: AtomicU64::new(0),
        });
        let (stop, stopped) = oneshot::channel();
        let server = shared.clone();
        let thread = std::thread::Builder::new()
            .name("fake-alpaca".into())
            .spawn(move || run(listener, server, stopped))
            .expect("fake alpaca: spawn thread");
        Self {
            addr,
            shared,
            stop: Some(stop),
            thread: Some(thread),
        }
    }

    /// Start with the defaults and `tickers` as the universe.
    pub fn with_universe(tickers: &[&str]) -> Self {
        Self::start(FakeAlpacaOptions::new().universe_strs(tickers))
    }

    /// `http://127.0.0.1:PORT`: the base URL of both the data and the
    /// trading API.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// The listening address.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The accepted key id.
    pub fn key_id(&self) -> String {
        lock(&self.shared.config).key_id.clone()
    }

    /// The accepted secret key.
    pub fn secret_key(&self) -> String {
        lock(&self.shared.config).secret_key.clone()
    }

    /// `APCA_API_KEY_ID` and `APCA_API_SECRET_KEY` for a child process.
    pub fn credentials_env(&self) -> Vec<(&'static str, String)> {
        let c = lock(&self.shared.config);
        vec![
            ("APCA_API_KEY_ID", c.key_id.clone()),
            ("APCA_API_SECRET_KEY", c.secret_key.clone()),
        ]
    }

    /// The fake's current "now".
    pub fn now(&self) -> DateTime<Utc> {
        lock(&self.shared.config).now.unwrap_or_else(Utc::now)
    }

    /// The date `/v2/account` and `/v2/positions` answer for: the latest
    /// session on or before "now" in New York.
    pub fn as_of(&self) -> NaiveDate {
        as_of(self.now())
    }

    /// Change the accepted key pair.
    pub fn set_keys(&self, key_id: &str, secret_key: &str) {
        let mut c = lock(&self.shared.config);
        c.key_id = key_id.into();
        c.secret_key = secret_key.into();
    }

    /// Freeze the clock at `now`, or follow the real clock with `None`.
    pub fn set_now(&self, now: Option<DateTime<Utc>>) {
        lock(&self.shared.config).now = now;
    }

    /// Delay every later response by `latency`.
    pub fn set_latency(&self, latency: Duration) {
        lock(&self.shared.config).latency = latency;
    }

    /// Replace the universe (and so the paper portfolio).
    pub fn set_universe(&self, universe: Vec<Symbol>) {
        let mut c = lock(&self.shared.config);
        c.universe = Arc::new(universe.iter().cloned().collect());
        c.sim = Arc::new(SimMarket::new(universe));
    }

    /// Queue `fault` for the next request whose path starts with
    /// `path_prefix` (`/v2/stocks/bars`, `/v2/account`, `/` for any), or
    /// `path?needle` to match only requests with a `key=value` query pair
    /// containing `needle` (e.g. `/v2/stocks/bars?symbols=Z0000`).
    pub fn push_fault(&self, path_prefix: &str, fault: Fault) {
        lock(&self.shared.config)
            .faults
            .push_back((path_prefix.into(), fault));
    }

    /// Queue `fault` for the next `n` matching requests.
    pub fn fail_times(&self, path_prefix: &str, n: usize, fault: Fault) {
        let mut c = lock(&self.shared.config);
        for _ in 0..n {
            c.faults.push_back((path_prefix.into(), fault.clone()));
        }
    }

    /// Faults queued and not yet consumed.
    pub fn pending_faults(&self) -> usize {
        lock(&self.shared.config).faults.len()
    }

    /// Drop every queued fault.
    pub fn clear_faults(&self) {
        lock(&self.shared.config).faults.clear();
    }

    fn quirks(&self, f: impl FnOnce(&mut Quirks)) {
        let mut c = lock(&self.shared.config);
        f(Arc::make_mut(&mut c.quirks));
    }

    /// `symbol` has no bars: absent from every bars answer.
    pub fn no_bars(&self, symbol: &str) {
        let s = sym(symbol);
        self.quirks(|q| {
            q.no_bars.insert(s);
        });
    }

    /// Spoil some of `symbol`'s bars with every [`BadBar`] kind (which dates:
    /// [`BadBar::on`]).
    pub fn invalid_bars(&self, symbol: &str) {
        self.invalid_bars_of(symbol, &BadBar::ALL);
    }

    /// Spoil some of `symbol`'s bars with the given kinds only.
    pub fn invalid_bars_of(&self, symbol: &str, kinds: &[BadBar]) {
        let s = sym(symbol);
        let kinds = kinds.to_vec();
        self.quirks(|q| {
            q.invalid_bars.insert(s, kinds);
        });
    }

    /// Send `symbol`'s last bar of each answer twice (identical), and its
    /// first one twice too when it has three bars or more.
    pub fn duplicate_bars(&self, symbol: &str) {
        let s = sym(symbol);
        self.quirks(|q| {
            q.duplicate_bars.insert(s);
        });
    }

    /// `symbol` has no bar for the latest session that has opened by "now"
    /// (it went stale); earlier bars are unaffected.
    pub fn missing_latest(&self, symbol: &str) {
        let s = sym(symbol);
        self.quirks(|q| {
            q.missing_latest.insert(s);
        });
    }

    /// No symbol has a bar dated `date` (not yet published).
    pub fn missing_day(&self, date: NaiveDate) {
        self.quirks(|q| {
            q.missing_days.insert(date);
        });
    }

    /// Every bars page carries the same non-null `next_page_token`, which
    /// leads back to the first page: a client that trusts it never stops.
    pub fn page_token_loop(&self) {
        self.quirks(|q| q.page_token_loop = true);
    }

    /// Append a raw entry to every `/v2/positions` answer (see
    /// [`option_position`], [`crypto_position`], [`malformed_position`]).
    pub fn add_position(&self, entry: Value) {
        self.quirks(|q| q.extra_positions.push(entry));
    }

    /// Send `/v2/account` field `name` as `value` (`Value::Null` for a
    /// `null`), or leave it out with `None`.
    pub fn account_field(&self, name: &str, value: Option<Value>) {
        self.quirks(|q| q.account_fields.push((name.to_string(), value)));
    }

    /// The account as Alpaca sends it since 2026-07: without
    /// `daytrade_count`, `pattern_day_trader`, `daytrading_buying_power`.
    pub fn account_without_day_trading_fields(&self) {
        for name in [
            "daytrade_count",
            "pattern_day_trader",
            "daytrading_buying_power",
        ] {
            self.account_field(name, None);
        }
    }

    /// Remove every data quirk.
    pub fn clear_quirks(&self) {
        lock(&self.shared.config).quirks = Arc::new(Quirks::default());
    }

    /// Every request so far, oldest first.
    pub fn requests(&self) -> Vec<Recorded> {
        lock(&self.shared.log).clone()
    }

    /// Requests so far whose path starts with `path_prefix`.
    pub fn count(&self, path_prefix: &str) -> usize {
        lock(&self.shared.log)
            .iter()
            .filter(|r| r.path.starts_with(path_prefix))
            .count()
    }

    /// Forget the request log (not the connection counters).
    pub fn reset_log(&self) {
        lock(&self.shared.log).clear();
    }

    /// TCP connections accepted so far.
    pub fn connections(&self) -> usize {
        self.shared.connections.load(Ordering::SeqCst)
    }

    /// Most requests that were being answered at the same time.
    pub fn max_in_flight(&self) -> usize {
        self.shared.max_in_flight.load(Ordering::SeqCst)
    }
}

impl Drop for FakeAlpaca {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// Parse a ticker, panicking on a bad one (test input).
fn sym(s: &str) -> Symbol {
    Symbol::parse(s).unwrap_or_else(|e| panic!("fake alpaca: bad ticker {s:?}: {e}"))
}

// ---------------------------------------------------------------------------
// Server plumbing
// ---------------------------------------------------------------------------

/// The background thread: a small runtime that accepts until told to stop,
/// then drops every connection task.
fn run(listener: std::net::TcpListener, shared: Arc<Shared>, mut stopped: oneshot::Receiver<()>) {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .thread_name("fake-alpaca-worker")
        .enable_all()
        .build()
        .expect("fake alpaca: runtime");
    rt.block_on(async {
        let listener = TcpListener::from_std(listener).expect("fake alpaca: listener");
        loop {
            tokio::select! {
                _ = &mut stopped => break,
                accepted = listener.accept() => match accepted {
                    Ok((stream, _)) => {
                        shared.connections.fetch_add(1, Ordering::SeqCst);
                        let _ = stream.set_nodelay(true);
                        tokio::spawn(serve_connection(stream, shared.clone()));
                    }
                    // Out of descriptors and the like: back off briefly.
                    Err(_) => tokio::time::sleep(Duration::from_millis(5)).await,
                },
            }
        }
    });
    rt.shutdown_timeout(Duration::from_secs(1));
}

/// A parsed request head.
#[derive(Debug, Clone)]
struct Request {
    method: String,
    path: String,
    query: Vec<(String, String)>,
    /// Lower-cased names.
    headers: Vec<(String, String)>,
    close: bool,
}

impl Request {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    fn param(&self, name: &str) -> Option<&str> {
        self.query
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }
}

/// A response before it is written.
#[derive(Debug, Clone)]
struct Response {
    status: u16,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

impl Response {
    fn json(status: u16, value: &Value) -> Self {
        Self {
            status,
            headers: vec![(
                "Content-Type".into(),
                "application/json; charset=UTF-8".into(),
            )],
            body: value.to_string().into_bytes(),
        }
    }
}

/// What the connection does with one request.
enum Action {
    Respond(Response),
    Partial(Response),
    Reset,
}

/// Why a request head could not be read.
enum ReadError {
    /// Answer this status, then close.
    Bad(u16, &'static str),
    /// The peer went away.
    Gone,
}

async fn serve_connection(mut stream: TcpStream, shared: Arc<Shared>) {
    let mut buf = Vec::with_capacity(4096);
    loop {
        let req = match read_request(&mut stream, &mut buf).await {
            Ok(req) => req,
            Err(ReadError::Gone) => return,
            Err(ReadError::Bad(status, message)) => {
                let resp = Response::json(status, &json!({ "message": message }));
                let _ = write_response(&mut stream, &shared, &resp, true, None).await;
                return;
            }
        };
        let n = shared.in_flight.fetch_add(1, Ordering::SeqCst) + 1;
        shared.max_in_flight.fetch_max(n, Ordering::SeqCst);
        let keep = answer(&mut stream, &shared, req).await;
        shared.in_flight.fetch_sub(1, Ordering::SeqCst);
        if !keep {
            return;
        }
    }
}

/// Answer one request; false when the connection must end.
async fn answer(stream: &mut TcpStream, shared: &Arc<Shared>, req: Request) -> bool {
    let (fault, latency) = {
        let mut c = lock(&shared.config);
        // A spec is a path prefix, optionally `?needle`: then one of the
        // decoded `key=value` query pairs must contain the needle (to aim
        // a fault at one batch of symbols, say).
        let matches = |spec: &str| match spec.split_once('?') {
            None => req.path.starts_with(spec),
            Some((path, needle)) => {
                req.path.starts_with(path)
                    && req
                        .query
                        .iter()
                        .any(|(k, v)| format!("{k}={v}").contains(needle))
            }
        };
        let pos = c.faults.iter().position(|(spec, _)| matches(spec));
        let fault = pos.and_then(|i| c.faults.remove(i)).map(|(_, f)| f);
        (fault, c.latency)
    };
    let normal = |req: Request| {
        let shared = shared.clone();
        async move {
            tokio::task::spawn_blocking(move || route(&shared, &req))
                .await
                .unwrap_or_else(|_| {
                    Response::json(500, &json!({ "message": "fake alpaca handler panicked" }))
                })
        }
    };
    let mut delay = latency;
    let (action, status) = match &fault {
        None => {
            let r = normal(req.clone()).await;
            let s = r.status;
            (Action::Respond(r), s)
        }
        Some(Fault::Status {
            code,
            body,
            headers,
        }) => {
            let mut all = headers.clone();
            if !all
                .iter()
                .any(|(k, _)| k.eq_ignore_ascii_case("content-type"))
            {
                let t = body.trim_start();
                let ct = if t.starts_with('{') || t.starts_with('[') {
                    "application/json; charset=UTF-8"
                } else {
                    "text/html; charset=utf-8"
                };
                all.push(("Content-Type".into(), ct.into()));
            }
            let r = Response {
                status: *code,
                headers: all,
                body: body.clone().into_bytes(),
            };
            (Action::Respond(r), *code)
        }
        Some(Fault::Hang(d)) => {
            delay += *d;
            let r = normal(req.clone()).await;
            let s = r.status;
            (Action::Respond(r), s)
        }
        Some(Fault::Reset) => (Action::Reset, 0),
        Some(Fault::MalformedJson) => {
            let mut r = normal(req.clone()).await;
            r.status = 200;
            let cut = (r.body.len() / 2).max(1).min(r.body.len());
            r.body.truncate(cut);
            (Action::Respond(r), 200)
        }
        Some(Fault::PartialBody) => {
            let mut r = normal(req.clone()).await;
            r.status = 200;
            (Action::Partial(r), 200)
        }
    };
    lock(&shared.log).push(Recorded {
        method: req.method.clone(),
        path: req.path.clone(),
        query: req.query.clone(),
        status,
        fault: fault.as_ref().map(Fault::kind),
    });
    if !delay.is_zero() {
        tokio::time::sleep(delay).await;
    }
    match action {
        Action::Reset => {
            let _ = stream.set_zero_linger();
            false
        }
        Action::Respond(r) => write_response(stream, shared, &r, req.close, None)
            .await
            .is_ok_and(|()| !req.close),
        Action::Partial(r) => {
            let half = r.body.len() / 2;
            let _ = write_response(stream, shared, &r, true, Some(half)).await;
            false
        }
    }
}

/// Read one request head (and discard any body) from the connection.
async fn read_request(stream: &mut TcpStream, buf: &mut Vec<u8>) -> Result<Request, ReadError> {
    let head_end = loop {
        if let Some(i) = find(buf, b"\r\n\r\n") {
            break i;
        }
        if buf.len() > MAX_HEAD {
            return Err(ReadError::Bad(431, "request header fields too large"));
        }
        let mut chunk = [0u8; 8192];
        match stream.read(&mut chunk).await {
            Ok(0) | Err(_) => return Err(ReadError::Gone),
            Ok(n) => buf.extend_from_slice(&chunk[..n]),
        }
    };
    let head = String::from_utf8_lossy(&buf[..head_end]).into_owned();
    buf.drain(..head_end + 4);
    let mut lines = head.split("\r\n");
    let request_line = lines.next().unwrap_or("");
    let mut parts = request_line.split(' ');
    let (Some(method), Some(target), Some(version), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(ReadError::Bad(400, "malformed request line"));
    };
    if !version.starts_with("HTTP/1.") {
        return Err(ReadError::Bad(400, "unsupported HTTP version"));
    }
    let mut headers = Vec::new();
    for line in lines {
        let Some((name, value)) = line.split_once(':') else {
            return Err(ReadError::Bad(400, "malformed header"));
        };
        headers.push((name.trim().to_ascii_lowercase(), value.trim().to_string()));
    }
    let connection = headers
        .iter()
        .filter(|(k, _)| k == "connection")
        .map(|(_, v)| v.to_ascii_lowercase())
        .collect::<Vec<_>>()
        .join(",");
    let has = |token: &str| connection.split(',').any(|t| t.trim() == token);
    let close = if version == "HTTP/1.0" {
        !has("keep-alive")
    } else {
        has("close")
    };
    if headers.iter().any(|(k, _)| k == "transfer-encoding") {
        return Err(ReadError::Bad(400, "request bodies are not supported"));
    }
    let body_len = headers
        .iter()
        .find(|(k, _)| k == "content-length")
        .map(|(_, v)| v.parse::<usize>())
        .transpose()
        .map_err(|_| ReadError::Bad(400, "bad content-length"))?
        .unwrap_or(0);
    // Discard the body: the fake only serves GETs.
    let mut left = body_len;
    let from_buf = left.min(buf.len());
    buf.drain(..from_buf);
    left -= from_buf;
    while left > 0 {
        let mut chunk = [0u8; 8192];
        let want = left.min(chunk.len());
        match stream.read(&mut chunk[..want]).await {
            Ok(0) | Err(_) => return Err(ReadError::Gone),
            Ok(n) => left -= n,
        }
    }
    let (path, raw_query) = target.split_once('?').unwrap_or((target, ""));
    Ok(Request {
        method: method.to_string(),
        path: path.to_string(),
        query: parse_query(raw_query),
        headers,
        close,
    })
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

/// Write a response; with `cut`, send only that many body bytes (the
/// Content-Length still announces the whole body).
async fn write_response(
    stream: &mut TcpStream,
    shared: &Shared,
    resp: &Response,
    close: bool,
    cut: Option<usize>,
) -> std::io::Result<()> {
    let id = shared.request_ids.fetch_add(1, Ordering::Relaxed);
    let mut head = format!(
        "HTTP/1.1 {} {}\r\nDate: {}\r\nContent-Length: {}\r\nX-Request-ID: {:032x}\r\n",
        resp.status,
        reason(resp.status),
        Utc::now().format("%a, %d %b %Y %H:%M:%S GMT"),
        resp.body.len(),
        0x00fa_ce00_0000_0000_u128 + u128::from(id),
    );
    for (k, v) in &resp.headers {
        head.push_str(&format!("{k}: {v}\r\n"));
    }
    if close {
        head.push_str("Connection: close\r\n");
    }
    head.push_str("\r\n");
    let body = match cut {
        Some(n) => &resp.body[..n.min(resp.body.len())],
        None => &resp.body[..],
    };
    let mut out = head.into_bytes();
    out.extend_from_slice(body);
    stream.write_all(&out).await?;
    stream.flush().await?;
    if close {
        let _ = stream.shutdown().await;
    }
    Ok(())
}

fn reason(code: u16) -> &'static str {
    match code {
        200 => "OK",
        400 => "Bad Request",
        401 => "Unauthorized",
        403 => "Forbidden",
        404 => "Not Found",
        405 => "Method Not Allowed",
        408 => "Request Timeout",
        422 => "Unprocessable Entity",
        429 => "Too Many Requests",
        431 => "Request Header Fields Too Large",
        500 => "Internal Server Error",
        502 => "Bad Gateway",
        503 => "Service Unavailable",
        504 => "Gateway Timeout",
        _ => "Unknown",
    }
}

/// Split and percent-decode a query string (`+` is a space, as in forms and
/// in Go's `url.ParseQuery`, which Alpaca uses).
fn parse_query(raw: &str) -> Vec<(String, String)> {
    raw.split('&')
        .filter(|p| !p.is_empty())
        .map(|p| {
            let (k, v) = p.split_once('=').unwrap_or((p, ""));
            (percent_decode(k), percent_decode(v))
        })
        .collect()
}

fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' if i + 2 < bytes.len() => {
                let hex = std::str::from_utf8(&bytes[i + 1..i + 3]).ok();
                match hex.and_then(|h| u8::from_str_radix(h, 16).ok()) {
                    Some(b) => {
                        out.push(b);
                        i += 2;
                    }
                    None => out.push(b'%'),
                }
            }
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

// ---------------------------------------------------------------------------
// The API
// ---------------------------------------------------------------------------

/// What a handler needs, copied out of the lock.
struct Snapshot {
    universe: Arc<HashSet<Symbol>>,
    sim: Arc<SimMarket>,
    now: DateTime<Utc>,
    quirks: Arc<Quirks>,
}

fn error(status: u16, code: u64, message: &str) -> Response {
    Response::json(status, &json!({ "code": code, "message": message }))
}

fn unprocessable(message: &str) -> Response {
    error(422, 42_210_000, message)
}

fn bad_request(message: &str) -> Response {
    error(400, 40_010_001, message)
}

fn route(shared: &Shared, req: &Request) -> Response {
    let (snap, authorized) = {
        let c = lock(&shared.config);
        let authorized = req.header("apca-api-key-id") == Some(c.key_id.as_str())
            && req.header("apca-api-secret-key") == Some(c.secret_key.as_str());
        let snap = Snapshot {
            universe: c.universe.clone(),
            sim: c.sim.clone(),
            now: c.now.unwrap_or_else(Utc::now),
            quirks: c.quirks.clone(),
        };
        (snap, authorized)
    };
    if !authorized {
        return error(401, 40_110_000, "request is not authorized");
    }
    if req.method != "GET" {
        let mut r = error(405, 40_510_000, "method not allowed");
        r.headers.push(("Allow".into(), "GET".into()));
        return r;
    }
    match req.path.as_str() {
        "/v2/stocks/bars" => bars(&snap, req),
        "/v2/account" => account(&snap),
        "/v2/positions" => positions(&snap, None),
        "/v2/calendar" => calendar_days(&snap, req),
        "/v2/clock" => clock(&snap),
        p => match p.strip_prefix("/v2/positions/") {
            Some(s) if !s.is_empty() => positions(&snap, Some(s)),
            _ => error(404, 40_410_000, "endpoint not found"),
        },
    }
}

// ----- position shapes ------------------------------------------------------

/// A long option position as `/v2/positions` lists it (OCC symbol,
/// `us_option`, empty exchange; the shape of alpaca-py's test fixtures),
/// with every optional money field `null` when `priced` is false.
pub fn option_position(symbol: &str, priced: bool) -> Value {
    let money = |s: &str| {
        if priced {
            Value::String(s.into())
        } else {
            Value::Null
        }
    };
    json!({
        "asset_id": fake_uuid(symbol),
        "symbol": symbol,
        "exchange": "",
        "asset_class": "us_option",
        "asset_marginable": true,
        "qty": "2",
        "avg_entry_price": "3.05",
        "side": "long",
        "market_value": money("1220"),
        "cost_basis": "610",
        "unrealized_pl": money("610"),
        "unrealized_plpc": money("1"),
        "unrealized_intraday_pl": money("12"),
        "unrealized_intraday_plpc": money("0.0099"),
        "current_price": money("6.1"),
        "lastday_price": money("6.04"),
        "change_today": money("0.0099"),
        "qty_available": "2",
    })
}

/// A crypto position (`BTCUSD` or `BTC/USD`), fractional quantity, with a
/// return far above any stock's so counting it would flip the profit rule.
pub fn crypto_position(symbol: &str) -> Value {
    json!({
        "asset_id": fake_uuid(symbol),
        "symbol": symbol,
        "exchange": "CRXL",
        "asset_class": "crypto",
        "asset_marginable": false,
        "qty": "0.012345678",
        "avg_entry_price": "20000",
        "side": "long",
        "market_value": "1234.5678",
        "cost_basis": "246.91356",
        "unrealized_pl": "987.65424",
        "unrealized_plpc": "40",
        "unrealized_intraday_pl": "1.5",
        "unrealized_intraday_plpc": "0.0012",
        "current_price": "100000",
        "lastday_price": "99880",
        "change_today": "0.0012",
        "swap_rate": null,
        "avg_entry_swap_rate": null,
        "usd": null,
        "qty_available": "0.012345678",
    })
}

/// An entry that cannot be read: `qty` is not a number.
pub fn malformed_position(symbol: &str) -> Value {
    json!({
        "asset_id": fake_uuid(symbol),
        "symbol": symbol,
        "exchange": "NYSE",
        "asset_class": "us_equity",
        "qty": "ten",
        "avg_entry_price": "12.5",
        "side": "long",
    })
}

// ----- time helpers --------------------------------------------------------

/// New York midnight of `date`, in UTC: the `t` of its daily bar.
pub fn ny_midnight(date: NaiveDate) -> DateTime<Utc> {
    // Midnight is never inside a New York DST gap (the switch is at 02:00).
    New_York
        .from_local_datetime(&date.and_time(chrono::NaiveTime::MIN))
        .earliest()
        .map_or_else(
            || date.and_time(chrono::NaiveTime::MIN).and_utc(),
            |d| d.to_utc(),
        )
}

/// `t` as Alpaca writes it for a daily bar of `date`.
pub fn bar_timestamp(date: NaiveDate) -> String {
    ny_midnight(date).to_rfc3339_opts(SecondsFormat::Secs, true)
}

fn ny_date(t: DateTime<Utc>) -> NaiveDate {
    t.with_timezone(&New_York).date_naive()
}

/// The latest trading date on or before `date`.
fn session_on_or_before(date: NaiveDate) -> NaiveDate {
    let mut d = date;
    for _ in 0..15 {
        if calendar::is_trading_day(d) {
            return d;
        }
        d = d.pred_opt().unwrap_or(d);
    }
    date
}

/// The latest session on or before "now" in New York.
fn as_of(now: DateTime<Utc>) -> NaiveDate {
    session_on_or_before(ny_date(now))
}

/// The latest session that has opened by `now`: the newest daily bar there
/// can be.
fn latest_published(now: DateTime<Utc>) -> NaiveDate {
    let mut d = as_of(now);
    if calendar::session(d).is_some_and(|s| s.open > now) {
        d = session_on_or_before(d.pred_opt().unwrap_or(d));
    }
    d
}

/// A start or end parameter: RFC 3339, or a date meaning New York midnight
/// of that date (so a date-only `end` includes that day's bar).
fn parse_instant(s: &str) -> Option<DateTime<Utc>> {
    if let Ok(t) = DateTime::parse_from_rfc3339(s) {
        return Some(t.to_utc());
    }
    NaiveDate::parse_from_str(s, "%Y-%m-%d")
        .ok()
        .map(ny_midnight)
}

fn parse_date(s: &str) -> Option<NaiveDate> {
    NaiveDate::parse_from_str(s, "%Y-%m-%d").ok().or_else(|| {
        DateTime::parse_from_rfc3339(s)
            .ok()
            .map(|t| ny_date(t.to_utc()))
    })
}

fn ny_rfc3339(t: DateTime<Utc>, nanos: bool) -> String {
    let ny = t.with_timezone(&New_York);
    if nanos {
        ny.format("%Y-%m-%dT%H:%M:%S%.9f%:z").to_string()
    } else {
        ny.format("%Y-%m-%dT%H:%M:%S%:z").to_string()
    }
}

// ----- bars ----------------------------------------------------------------

/// The timeframe parameter: `Ok(true)` for daily, `Ok(false)` for a valid
/// timeframe the fake does not serve, `Err` for an invalid one.
fn daily_timeframe(tf: &str) -> Result<bool, ()> {
    let digits = tf.chars().take_while(char::is_ascii_digit).count();
    let (amount, unit) = tf.split_at(digits);
    let amount: u32 = if amount.is_empty() {
        1
    } else {
        amount.parse().map_err(|_| ())?
    };
    let ok = match unit {
        "Min" | "T" => (1..=59).contains(&amount),
        "Hour" | "H" => (1..=23).contains(&amount),
        "Day" | "D" => amount == 1,
        "Week" | "W" => [1, 2, 4, 6, 8, 12].contains(&amount),
        "Month" | "M" => [1, 2, 3, 4, 6, 12].contains(&amount),
        _ => false,
    };
    if !ok {
        return Err(());
    }
    Ok(matches!(unit, "Day" | "D"))
}

struct BarsQuery {
    start: DateTime<Utc>,
    end: DateTime<Utc>,
    desc: bool,
}

fn bars(snap: &Snapshot, req: &Request) -> Response {
    let Some(raw_symbols) = req.param("symbols").filter(|s| !s.trim().is_empty()) else {
        return unprocessable("invalid symbols: the symbols parameter is required");
    };
    let mut symbols = Vec::new();
    for raw in raw_symbols.split(',') {
        match Symbol::parse(raw) {
            Ok(s) => symbols.push(s),
            Err(_) => return bad_request(&format!("invalid symbol: {:?}", raw.trim())),
        }
    }
    symbols.sort();
    symbols.dedup();

    match req.param("timeframe").map(daily_timeframe) {
        None => return unprocessable("invalid timeframe: the timeframe parameter is required"),
        Some(Err(())) => return unprocessable("invalid timeframe"),
        Some(Ok(false)) => {
            return unprocessable("unsupported timeframe: this fake serves 1Day bars only");
        }
        Some(Ok(true)) => {}
    }
    let limit = match req.param("limit") {
        None => DEFAULT_BARS_LIMIT,
        Some(l) => match l.parse::<i64>() {
            Ok(n) if n > MAX_BARS_LIMIT as i64 => {
                return unprocessable(&format!(
                    "invalid limit: exceeded the maximum allowed ({MAX_BARS_LIMIT})"
                ));
            }
            Ok(n) if n >= 1 => usize::try_from(n).unwrap_or(DEFAULT_BARS_LIMIT),
            _ => return unprocessable(&format!("invalid limit: {l:?}")),
        },
    };
    if let Some(a) = req.param("adjustment") {
        let known = ["raw", "split", "dividend", "spin-off", "all"];
        if !a.split(',').all(|p| known.contains(&p.trim())) {
            return unprocessable("invalid adjustment");
        }
    }
    if let Some(f) = req.param("feed")
        && !["sip", "iex", "boats", "otc", "delayed_sip"].contains(&f)
    {
        return unprocessable("invalid feed");
    }
    let desc = match req.param("sort") {
        None | Some("asc") => false,
        Some("desc") => true,
        Some(_) => return unprocessable("invalid sort"),
    };
    let start = match req.param("start") {
        None => ny_midnight(ny_date(snap.now)),
        Some(s) => match parse_instant(s) {
            Some(t) => t,
            None => return unprocessable("invalid start"),
        },
    };
    let end = match req.param("end") {
        None => snap.now,
        Some(s) => match parse_instant(s) {
            Some(t) => t,
            None => return unprocessable("invalid end"),
        },
    };
    if start > end {
        return unprocessable("end should not be before start");
    }
    let q = BarsQuery { start, end, desc };

    // Where this page starts: (index into `symbols`, index into its bars).
    let (first_symbol, first_bar) = match req.param("page_token").filter(|t| !t.is_empty()) {
        None => (0, 0),
        Some(token) => match decode_token(token, &symbols) {
            Some(pos) => pos,
            None => return bad_request("invalid page token"),
        },
    };

    let mut out: Map<String, Value> = Map::new();
    let mut room = limit;
    let mut next: Option<(usize, usize)> = None;
    for (i, symbol) in symbols.iter().enumerate().skip(first_symbol) {
        let wire = symbol_bars(snap, symbol, &q);
        let from = if i == first_symbol { first_bar } else { 0 };
        if from >= wire.len() {
            continue;
        }
        if room == 0 {
            next = Some((i, from));
            break;
        }
        let take = room.min(wire.len() - from);
        out.insert(
            symbol.as_str().to_string(),
            Value::Array(wire[from..from + take].to_vec()),
        );
        room -= take;
        if from + take < wire.len() {
            next = Some((i, from + take));
            break;
        }
    }
    if snap.quirks.page_token_loop {
        next = Some((0, 0));
    }
    let token = next.and_then(|(i, k)| symbols.get(i).map(|s| encode_token(s, k)));
    Response::json(200, &json!({ "bars": out, "next_page_token": token }))
}

/// One symbol's bars for a query, as JSON objects, quirks applied.
fn symbol_bars(snap: &Snapshot, symbol: &Symbol, q: &BarsQuery) -> Vec<Value> {
    let quirks = &snap.quirks;
    if quirks.no_bars.contains(symbol)
        || (!snap.universe.is_empty() && !snap.universe.contains(symbol))
    {
        return Vec::new();
    }
    let from = ny_date(q.start);
    let to = ny_date(q.end.min(snap.now));
    if from > to {
        return Vec::new();
    }
    let latest = latest_published(snap.now);
    let mut list: Vec<Bar> = snap
        .sim
        .bars(std::slice::from_ref(symbol), from, to)
        .into_iter()
        .next()
        .map(|s| s.bars)
        .unwrap_or_default();
    list.retain(|b| {
        let t = ny_midnight(b.date);
        t >= q.start
            && t <= q.end
            && b.date <= latest
            && !quirks.missing_days.contains(&b.date)
            && !(quirks.missing_latest.contains(symbol) && b.date == latest)
    });
    let kinds = quirks.invalid_bars.get(symbol);
    let mut wire: Vec<Value> = list
        .iter()
        .map(|b| wire_bar(b, kinds.and_then(|k| BadBar::on(b.date, k))))
        .collect();
    if quirks.duplicate_bars.contains(symbol) && !wire.is_empty() {
        if wire.len() >= 3 {
            wire.insert(0, wire[0].clone());
        }
        wire.push(wire[wire.len() - 1].clone());
    }
    if q.desc {
        wire.reverse();
    }
    wire
}

/// A bar as Alpaca sends it (`t o h l c v n vw`), possibly spoiled.
fn wire_bar(b: &Bar, bad: Option<BadBar>) -> Value {
    let (mut o, mut h, mut l, mut c) = (b.open, b.high, b.low, b.close);
    let mut vw = b.vwap;
    match bad {
        Some(BadBar::NegativePrice) => c = -c.abs().max(0.01),
        Some(BadBar::ZeroPrice) => o = 0.0,
        Some(BadBar::HighBelowLow) => {
            std::mem::swap(&mut h, &mut l);
            if h == l {
                l = h + 1.0;
            }
        }
        Some(BadBar::HugeValue) => {
            h = 1e300;
            vw = Some(1e300);
        }
        Some(BadBar::MissingField) | None => {}
    }
    let mut m = Map::new();
    m.insert("t".into(), Value::String(bar_timestamp(b.date)));
    m.insert("o".into(), json!(o));
    m.insert("h".into(), json!(h));
    m.insert("l".into(), json!(l));
    if bad != Some(BadBar::MissingField) {
        m.insert("c".into(), json!(c));
    }
    m.insert("v".into(), json!(b.volume));
    if let Some(n) = b.trade_count {
        m.insert("n".into(), json!(n));
    }
    if let Some(vw) = vw {
        m.insert("vw".into(), json!(vw));
    }
    Value::Object(m)
}

/// The opaque page token: base64 of `SYMBOL|index`.
fn encode_token(symbol: &Symbol, index: usize) -> String {
    base64_encode(format!("{}|{index}", symbol.as_str()).as_bytes())
}

fn decode_token(token: &str, symbols: &[Symbol]) -> Option<(usize, usize)> {
    let raw = String::from_utf8(base64_decode(token)?).ok()?;
    let (s, k) = raw.split_once('|')?;
    let i = symbols.iter().position(|x| x.as_str() == s)?;
    Some((i, k.parse().ok()?))
}

const B64: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/// Standard base64 with padding.
fn base64_encode(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let b = [
            chunk[0],
            chunk.get(1).copied().unwrap_or(0),
            chunk.get(2).copied().unwrap_or(0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for j in 0..4 {
            if j <= chunk.len() {
                out.push(char::from(B64[((n >> (18 - 6 * j)) & 63) as usize]));
            } else {
                out.push('=');
            }
        }
    }
    out
}

fn base64_decode(s: &str) -> Option<Vec<u8>> {
    let s = s.as_bytes();
    if s.is_empty() || !s.len().is_multiple_of(4) {
        return None;
    }
    let mut out = Vec::with_capacity(s.len() / 4 * 3);
    for (ci, chunk) in s.chunks(4).enumerate() {
        let last = ci == s.len() / 4 - 1;
        let pad = chunk.iter().rev().take_while(|c| **c == b'=').count();
        if pad > 2 || (pad > 0 && !last) {
            return None;
        }
        let mut n = 0u32;
        for &c in &chunk[..4 - pad] {
            let v = B64.iter().position(|x| *x == c)?;
            n = (n << 6) | u32::try_from(v).ok()?;
        }
        n <<= 6 * pad;
        let bytes = [(n >> 16) as u8, (n >> 8) as u8, n as u8];
        out.extend_from_slice(&bytes[..3 - pad]);
    }
    Some(out)
}

// ----- trading API ---------------------------------------------------------

/// FNV-1a, for stable fake identifiers.
fn fnv(s: &str) -> u64 {
    s.bytes().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3)
    })
}

/// A stable UUID-shaped id for `s`.
fn fake_uuid(s: &str) -> String {
    let a = fnv(s);
    let b = fnv(&format!("{s}#"));
    format!(
        "{:08x}-{:04x}-4{:03x}-{:04x}-{:012x}",
        a >> 32,
        (a >> 16) & 0xffff,
        a & 0xfff,
        0x8000 | ((b >> 48) & 0x3fff),
        b & 0xffff_ffff_ffff
    )
}

/// A decimal as Alpaca sends it (a string), or `null` when unknown.
fn dec(d: impl Into<Option<Decimal>>) -> Value {
    d.into()
        .map_or(Value::Null, |d| Value::String(d.to_string()))
}

fn account(snap: &Snapshot) -> Response {
    let as_of = as_of(snap.now);
    let (a, _) = snap.sim.portfolio(as_of);
    let number = format!("PA{:010}", fnv("account") % 10_000_000_000);
    let zero = Value::String("0".into());
    // The simulated account sends every field.
    let long_value = a.long_market_value.unwrap_or_default();
    let mut body = json!({
            "id": fake_uuid("account"),
            "admin_configurations": {},
            "user_configurations": null,
            "account_number": number,
            "status": a.status,
            "crypto_status": "ACTIVE",
            "options_approved_level": 0,
            "options_trading_level": 0,
            "currency": a.currency,
            "buying_power": dec(a.buying_power),
            "regt_buying_power": dec(a.buying_power),
            "daytrading_buying_power": zero,
            "effective_buying_power": dec(a.buying_power),
            "non_marginable_buying_power": dec(a.cash),
            "options_buying_power": dec(a.cash),
            "bod_dtbp": zero,
            "cash": dec(a.cash),
            "accrued_fees": zero,
            "portfolio_value": dec(a.equity),
            "pattern_day_trader": a.pattern_day_trader,
            "trading_blocked": false,
            "transfers_blocked": false,
            "account_blocked": false,
            "created_at": "2024-01-02T15:04:05.123456Z",
            "trade_suspended_by_user": false,
            "multiplier": "2",
            "shorting_enabled": true,
            "equity": dec(a.equity),
            "last_equity": dec(a.last_equity),
            "long_market_value": dec(a.long_market_value),
            "short_market_value": zero,
            "position_market_value": dec(a.long_market_value),
            "initial_margin": dec((long_value / Decimal::TWO).round_dp(2)),
            "maintenance_margin": dec((long_value * Decimal::new(3, 1)).round_dp(2)),
            "last_maintenance_margin": dec((long_value * Decimal::new(3, 1)).round_dp(2)),
            "sma": dec(a.cash),
            "daytrade_count": a.daytrade_count,
            "balance_asof": as_of.pred_opt().map(session_on_or_before).unwrap_or(as_of).to_string(),
            "crypto_tier": 1,
            "intraday_adjustments": zero,
            "pending_reg_taf_fees": zero,
    });
    if let Value::Object(fields) = &mut body {
        for (name, value) in &snap.quirks.account_fields {
            match value {
                Some(v) => fields.insert(name.clone(), v.clone()),
                None => fields.remove(name),
            };
        }
    }
    Response::json(200, &body)
}

fn positions(snap: &Snapshot, only: Option<&str>) -> Response {
    let as_of = as_of(snap.now);
    let (_, held) = snap.sim.portfolio(as_of);
    let prev = session_on_or_before(as_of.pred_opt().unwrap_or(as_of));
    let syms: Vec<Symbol> = held.iter().map(|p| sym(p.symbol.as_str())).collect();
    let last_closes: HashMap<Symbol, f64> = snap
        .sim
        .bars(&syms, prev, prev)
        .into_iter()
        .filter_map(|sb| sb.bars.first().map(|b| (sb.symbol, b.close)))
        .collect();
    let objects: Vec<(Symbol, Value)> = held
        .into_iter()
        .map(|p| {
            // The simulated book prices every position.
            let current = p.current_price.unwrap_or_default();
            let lastday = last_closes
                .get(&sym(p.symbol.as_str()))
                .and_then(|c| Decimal::try_from(*c).ok())
                .unwrap_or(current);
            let cost = p.quantity * p.avg_entry_price;
            let plpc = if cost.is_zero() {
                Decimal::ZERO
            } else {
                (p.unrealized_pl.unwrap_or_default() / cost.abs()).round_dp(10)
            };
            let change = if lastday.is_zero() {
                Decimal::ZERO
            } else {
                ((current - lastday) / lastday).round_dp(10)
            };
            let intraday_pl = p.quantity * (current - lastday);
            let intraday_plpc = if lastday.is_zero() || p.quantity.is_zero() {
                Decimal::ZERO
            } else {
                (intraday_pl / (p.quantity * lastday).abs()).round_dp(10)
            };
            let exchange = if fnv(p.symbol.as_str()).is_multiple_of(3) {
                "NYSE"
            } else {
                "NASDAQ"
            };
            let side = if p.quantity.is_sign_negative() {
                "short"
            } else {
                "long"
            };
            let v = json!({
                "asset_id": fake_uuid(p.symbol.as_str()),
                "symbol": p.symbol.as_str(),
                "exchange": exchange,
                "asset_class": "us_equity",
                "asset_marginable": true,
                "qty": dec(p.quantity),
                "avg_entry_price": dec(p.avg_entry_price),
                "side": side,
                "market_value": dec(p.market_value),
                "cost_basis": dec(cost),
                "unrealized_pl": dec(p.unrealized_pl),
                "unrealized_plpc": dec(plpc),
                "unrealized_intraday_pl": dec(intraday_pl),
                "unrealized_intraday_plpc": dec(intraday_plpc),
                "current_price": dec(p.current_price),
                "lastday_price": dec(lastday),
                "change_today": dec(change),
                "qty_available": dec(p.quantity),
            });
            (sym(p.symbol.as_str()), v)
        })
        .collect();
    match only {
        None => Response::json(
            200,
            &Value::Array(
                objects
                    .into_iter()
                    .map(|(_, v)| v)
                    .chain(snap.quirks.extra_positions.iter().cloned())
                    .collect(),
            ),
        ),
        Some(s) => {
            let wanted = s.to_ascii_uppercase();
            match objects.into_iter().find(|(sym, _)| sym.as_str() == wanted) {
                Some((_, v)) => Response::json(200, &v),
                None => error(404, 40_410_000, "position does not exist"),
            }
        }
    }
}

fn calendar_days(snap: &Snapshot, req: &Request) -> Response {
    let start = match req.param("start") {
        None => NaiveDate::from_ymd_opt(1970, 1, 1).unwrap_or_default(),
        Some(s) => match parse_date(s) {
            Some(d) => d,
            None => return bad_request("invalid start"),
        },
    };
    let end = match req.param("end") {
        None => NaiveDate::from_ymd_opt(ny_date(snap.now).year() + 1, 12, 31).unwrap_or(start),
        Some(s) => match parse_date(s) {
            Some(d) => d,
            None => return bad_request("invalid end"),
        },
    };
    let hhmm = |t: DateTime<Utc>| t.with_timezone(&New_York).format("%H:%M").to_string();
    let days: Vec<Value> = calendar::sessions(start, end)
        .into_iter()
        .map(|s| {
            json!({
                "date": s.date.to_string(),
                "open": hhmm(s.open),
                "close": hhmm(s.close),
                "session_open": "0400",
                "session_close": "2000",
                "settlement_date": settlement_date(s.date).to_string(),
            })
        })
        .collect();
    Response::json(200, &Value::Array(days))
}

/// T+1 from 2024-05-28 (T+2 before), counted in trading days.
fn settlement_date(date: NaiveDate) -> NaiveDate {
    let t1_from = NaiveDate::from_ymd_opt(2024, 5, 28).unwrap_or(date);
    let n = if date >= t1_from { 1 } else { 2 };
    calendar::trading_days(date + Days::new(1), date + Days::new(15))
        .get(n - 1)
        .copied()
        .unwrap_or(date)
}

fn clock(snap: &Snapshot) -> Response {
    let now = snap.now;
    let today = ny_date(now);
    let sessions = calendar::sessions(today - Days::new(1), today + Days::new(20));
    let current = sessions.iter().find(|s| s.open <= now && now < s.close);
    let next = sessions.iter().find(|s| s.open > now);
    let next_close = current.or(next).map(|s| s.close);
    Response::json(
        200,
        &json!({
            "timestamp": ny_rfc3339(now, true),
            "is_open": current.is_some(),
            "next_open": next.map(|s| ny_rfc3339(s.open, false)),
            "next_close": next_close.map(|t| ny_rfc3339(t, false)),
        }),
    )
}

// ---------------------------------------------------------------------------
// Helpers for tests that talk to the fake
// ---------------------------------------------------------------------------

/// The bars Alpaca would send for `symbols` over `from..=to` if nothing were
/// wrong: the simulated market's, for comparing what a client stored.
pub fn expected_bars(
    symbols: &[Symbol],
    from: NaiveDate,
    to: NaiveDate,
) -> BTreeMap<Symbol, Vec<Bar>> {
    SimMarket::new(Vec::new())
        .bars(symbols, from, to)
        .into_iter()
        .map(|sb| (sb.symbol, sb.bars))
        .collect()
}
