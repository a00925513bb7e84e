//! A loopback fake of Alpaca's market-data and trading APIs that speaks
//! their wire formats, for integration tests and benchmarks.
//!
//! One server answers both APIs' paths (`/v2/stocks/bars` and the latest
//! trades on the data side; `/v2/account`, `/v2/positions`, `/v2/calendar`,
//! `/v2/clock`, `/v2/assets/{symbol}` and the orders on the trading side),
//! from the crate's simulated market, over a hand-rolled HTTP/1.1
//! (keep-alive; `GET`, `POST` and `DELETE`) so tests control hangs, resets,
//! dropped answers and partial bodies down to the byte. Orders behave like
//! Alpaca's (its refusals, a reused `client_order_id`, a script of statuses
//! advanced by each look at the order, fills moving the account's cash and
//! the positions). It runs on its own tokio runtime in a background
//! thread, so plain `#[test]`s that spawn the `dipwatch` binary and
//! `#[tokio::test]`s can both use it; dropping the handle stops it.
//!
//! Every behaviour can be changed between two calls through `&self`:
//! credentials, the clock, latency, a queue of one-shot faults matched by
//! path prefix, and per-symbol data quirks. Each request is logged (method,
//! path, decoded query, status; never a header value).
//!
//! This file is the control surface (options, faults, quirks, the trading
//! knobs, the handle); `server.rs` is the HTTP/1.1 plumbing, `routes.rs` the
//! routing table, `bars.rs` and `trades.rs` the data API, `trading.rs`
//! (account, positions, calendar, clock), `assets.rs` and `orders.rs` the
//! trading API, `book.rs` the order book behind it, `time.rs` the New York
//! time helpers, `shapes.rs` the position shapes tests inject.
//!
//! ```ignore
//! let fake = FakeAlpaca::start(FakeAlpacaOptions::new().universe_strs(&["AAPL", "MSFT"]));
//! fake.fail_times("/v2/stocks/bars", 2, Fault::rate_limited());
//! fake.missing_latest("MSFT");
//! // point the client at fake.url() with fake.credentials_env() ...
//! assert_eq!(fake.count("/v2/stocks/bars"), 3);
//! fake.set_order_script(OrderScript::fills_in_two());
//! fake.push_fault("/v2/orders", Fault::DropAnswer);
//! // ... an order is sent ...
//! assert_eq!(fake.order_posts(), 1);
//! ```

#![allow(dead_code, unused_imports)]

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

mod assets;
mod bars;
mod book;
mod orders;
mod routes;
mod server;
mod shapes;
mod time;
mod trades;
mod trading;

pub use bars::*;
pub use book::{OrderScript, Step};
pub use orders::MAX_ORDERS_LIMIT;
use routes::*;
use server::*;
pub use shapes::*;
pub use time::*;
pub use trading::*;

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
    /// Read and handle the request (a `POST /v2/orders` places its order),
    /// send nothing for this long, then answer normally (if the client is
    /// still there).
    Hang(Duration),
    /// Close the connection with a TCP RST (SO_LINGER 0), no response.
    Reset,
    /// Answer normally: queued before another fault, it aims that one at
    /// the second matching request (the confirmation's look at the
    /// account, say, not the preview's).
    Pass,
    /// Handle the request (a `POST /v2/orders` places its order), then
    /// close the connection without sending a byte: the client cannot tell
    /// whether it arrived (a timeout after the order was received).
    DropAnswer,
    /// 200 with the real body cut in half (Content-Length matches the cut
    /// body, so the HTTP message is complete but the JSON is not).
    MalformedJson,
    /// 200 announcing the full Content-Length, then half the body, then the
    /// connection closes.
    PartialBody,
    /// 429 as Alpaca sends it, its `X-RateLimit-Reset` this many whole
    /// seconds after the moment the fake answers (the request's
    /// [`Recorded::at`]), so a test can check the retry waited for it
    /// however long the test took to get there.
    RateLimitedFor(u64),
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
    /// second after the fake answers).
    pub fn rate_limited() -> Self {
        Fault::RateLimitedFor(1)
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
            Fault::DropAnswer => "drop_answer",
            Fault::Pass => "pass",
            Fault::MalformedJson => "malformed_json",
            Fault::PartialBody => "partial_body",
            Fault::RateLimitedFor(_) => "status",
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
    /// The request body as text (empty without one; an order's JSON).
    pub body: String,
    /// Status sent; 0 when the connection was reset without a response.
    pub status: u16,
    /// The fault that was applied, if any (`status`, `hang`, `reset`,
    /// `malformed_json`, `partial_body`).
    pub fault: Option<&'static str>,
    /// When the fake took the request up (the instant a
    /// [`Fault::RateLimitedFor`] reset is counted from).
    pub at: DateTime<Utc>,
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

/// The account as the fake answers it now, fills included.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FakeAccount {
    /// Cash plus the positions' market value.
    pub equity: Decimal,
    /// Cash.
    pub cash: Decimal,
    /// Buying power, less what open buys hold back.
    pub buying_power: Decimal,
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
    /// Tickers a bars request is refused over (400, Alpaca's recorded
    /// `invalid symbol` body naming the first of them in the request).
    refused: HashSet<Symbol>,
    /// Refuse with a body that names no symbol (to make the client bisect).
    refuse_unnamed: bool,
    /// Symbols whose bars arrays end with a `null` element.
    null_bar: HashSet<Symbol>,
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
    /// The order book (orders, fills, the trading knobs); locked after
    /// `config`, never before it.
    book: Mutex<book::Book>,
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
            book: Mutex::new(book::Book::default()),
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
    /// containing `needle` (e.g. `/v2/stocks/bars?symbols=Z0000`); a
    /// method first (`POST /v2/orders`) matches only that method.
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

    /// A bars request naming `symbol` is refused as Alpaca refuses a ticker
    /// it does not accept: 400 with its recorded body
    /// (`tests/data/alpaca/invalid_symbol.json`), naming the symbol.
    pub fn refuse_symbol(&self, symbol: &str) {
        let s = sym(symbol);
        self.quirks(|q| {
            q.refused.insert(s);
        });
    }

    /// `symbol`'s bars end with a `null` element (a bar with no date).
    pub fn null_bar(&self, symbol: &str) {
        let s = sym(symbol);
        self.quirks(|q| {
            q.null_bar.insert(s);
        });
    }

    /// Refusals name no symbol (`{"code":42210000,"message":"invalid
    /// symbols"}`), so only bisection finds the one refused.
    pub fn refuse_without_naming(&self) {
        self.quirks(|q| q.refuse_unnamed = true);
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

    // -- Trading: orders, and what they are priced from -------------------

    fn book<R>(&self, f: impl FnOnce(&mut book::Book) -> R) -> R {
        f(&mut lock(&self.shared.book))
    }

    /// Orders placed from now on go through `script` (the default:
    /// [`OrderScript::stays_open`]).
    pub fn set_order_script(&self, script: OrderScript) {
        self.book(|b| b.script = script);
    }

    /// Apply the next step of the script of the order with Alpaca id `id`
    /// (as a look at it would); its status after, `None` when it is
    /// unknown or had no step left.
    pub fn advance_order(&self, id: &str) -> Option<String> {
        let snap = self.snapshot();
        self.book(|b| {
            let idx = b.orders.iter().position(|o| o.id == id)?;
            let symbol = b.orders[idx].symbol.clone();
            let price = trades::last_price(&snap, b, &symbol).unwrap_or_default();
            b.step(idx, price, snap.now).map(str::to_string)
        })
    }

    /// Every order as Alpaca would send it now, oldest first (looking does
    /// not advance them).
    pub fn orders(&self) -> Vec<Value> {
        self.book(|b| b.orders.iter().map(book::order_json).collect())
    }

    /// The order sent with `client_order_id`, as Alpaca would send it now.
    pub fn order_by_client_id(&self, client_order_id: &str) -> Option<Value> {
        self.book(|b| b.find_client(client_order_id).map(|o| book::order_json(o)))
    }

    /// Place an order as another app would (straight into the book, as a
    /// `POST /v2/orders` with `body` would, unlogged); its Alpaca id.
    /// Panics when the fake refuses it.
    pub fn place_raw(&self, body: &Value) -> String {
        let snap = self.snapshot();
        let req = server::Request {
            method: "POST".into(),
            path: "/v2/orders".into(),
            query: Vec::new(),
            headers: Vec::new(),
            close: false,
            body: body.to_string().into_bytes(),
        };
        let resp = self.book(|b| orders::place(&snap, b, &req));
        let answer: Value = serde_json::from_slice(&resp.body).unwrap_or(Value::Null);
        assert_eq!(resp.status, 200, "fake alpaca refused {body}: {answer}");
        answer["id"].as_str().unwrap_or_default().to_string()
    }

    /// `POST /v2/orders` requests received (placed, refused, faulted or
    /// with their answer dropped alike): "exactly one order sent".
    pub fn order_posts(&self) -> usize {
        self.count_method("POST", "/v2/orders")
    }

    /// Requests with `method` whose path is exactly `path`.
    pub fn count_method(&self, method: &str, path: &str) -> usize {
        lock(&self.shared.log)
            .iter()
            .filter(|r| r.method == method && r.path == path)
            .count()
    }

    /// Buying power before open buys hold theirs back (`None`: twice the
    /// cash, as the Reg T paper account has).
    pub fn set_buying_power(&self, usd: Option<Decimal>) {
        self.book(|b| b.buying_power = usd);
    }

    /// The last trade of `symbol` is at `price` (else the simulated
    /// market's latest close).
    pub fn set_last_price(&self, symbol: &str, price: Decimal) {
        let s = sym(symbol);
        self.book(|b| {
            b.prices.insert(s, price);
        });
    }

    /// Every last trade happened at `at` (`None`: at the fake's "now"), to
    /// make prices stale.
    pub fn set_trade_time(&self, at: Option<DateTime<Utc>>) {
        self.book(|b| b.trade_time = at);
    }

    /// `/v2/clock` says the market is open (`Some(true)`), closed
    /// (`Some(false)`), or what the calendar says (`None`).
    pub fn set_market_open(&self, open: Option<bool>) {
        self.book(|b| b.market_open = open);
    }

    /// `GET /v2/assets/{symbol}` answers `class` (`crypto`, `us_option`)
    /// for `symbol` (any text, `BTC/USD` or an OCC option symbol).
    pub fn set_asset_class(&self, symbol: &str, class: &str) {
        self.book(|b| {
            b.asset_classes
                .insert(symbol.to_string(), class.to_string());
        });
    }

    /// `symbol` is listed as inactive and not tradable; orders for it are
    /// refused.
    pub fn set_untradable(&self, symbol: &str) {
        self.book(|b| {
            b.untradable.insert(symbol.to_string());
        });
    }

    /// The last trade price of `symbol` the fake answers now.
    pub fn last_price(&self, symbol: &str) -> Option<Decimal> {
        let snap = self.snapshot();
        self.book(|b| trades::last_price(&snap, b, &sym(symbol)))
    }

    /// The account now (fills included): equity, cash and buying power.
    pub fn account_now(&self) -> FakeAccount {
        let snap = self.snapshot();
        let (a, _) = self.book(|b| trading::portfolio_now(&snap, b));
        FakeAccount {
            equity: a.equity.unwrap_or_default(),
            cash: a.cash.unwrap_or_default(),
            buying_power: a.buying_power.unwrap_or_default(),
        }
    }

    /// Shares of `symbol` held now (fills included).
    pub fn position_qty(&self, symbol: &str) -> Decimal {
        let snap = self.snapshot();
        let (_, held) = self.book(|b| trading::portfolio_now(&snap, b));
        held.iter()
            .find(|p| p.symbol.as_str() == symbol)
            .map_or(Decimal::ZERO, |p| p.quantity)
    }

    /// The market value of `symbol`'s position now (zero when not held).
    pub fn position_value(&self, symbol: &str) -> Decimal {
        let snap = self.snapshot();
        let (_, held) = self.book(|b| trading::portfolio_now(&snap, b));
        held.iter()
            .find(|p| p.symbol.as_str() == symbol)
            .and_then(|p| p.market_value)
            .unwrap_or_default()
    }

    /// What handlers see, copied out of the configuration.
    fn snapshot(&self) -> routes::Snapshot {
        let c = lock(&self.shared.config);
        routes::Snapshot {
            universe: c.universe.clone(),
            sim: c.sim.clone(),
            now: c.now.unwrap_or_else(Utc::now),
            quirks: c.quirks.clone(),
        }
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
