//! The Telegram bot end to end: the real dispatcher with real long polling
//! (`dipwatch::bot::run_with`) against a loopback fake of the Bot API,
//! over a store filled by real collection runs on the simulated market.
//!
//! Nothing here is timed: waits are generous upper bounds for a hang, and
//! the speed figures live in `benches/bot.rs`.

mod common;

use common::fake_telegram;

use std::collections::BTreeMap;
use std::io::Write;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use async_trait::async_trait;
use chrono::{Days, NaiveDate, Utc};
use rand::{Rng, SeedableRng};
use secrecy::SecretString;
use tokio::sync::Semaphore;
use tokio_util::sync::CancellationToken;

use dipwatch::alerts::{AlertService, AlertSettings};
use dipwatch::app::{App, Sources};
use dipwatch::bot::limiter::Limits;
use dipwatch::bot::{BotContext, BotOptions};
use dipwatch::collect::Dates;
use dipwatch::config::AppConfig;
use dipwatch::domain::{Position, RunSource, Symbol, profit_check};
use dipwatch::market::sim::SimMarket;
use dipwatch::market::{BarsAnswer, MarketData, MarketError, Session};
use dipwatch::metrics::Metrics;
use dipwatch::runner::{Runner, RunnerParts, Trigger};
use dipwatch::state::{AppState, PortfolioState, Snapshot};
use dipwatch::store::{Dataset, Store};
use fake_telegram::{FakeTelegram, Fault, Sent, TOKEN, check_html};
use rust_decimal::Decimal;

/// Chats on `telegram.allowed_chat_ids`.
const READERS: std::ops::Range<i64> = 1001..1041;
/// An allowed group chat.
const GROUP: i64 = -100_500;
/// Chats on `telegram.admin_chat_ids`.
const ADMIN: i64 = 2001;
const ADMIN2: i64 = 2002;
/// A chat on neither list.
const STRANGER: i64 = 6666;

const WAIT: Duration = Duration::from_secs(20);

const TICKERS: [&str; 24] = [
    "AAPL", "MSFT", "NVDA", "AMZN", "GOOGL", "META", "BF.B", "BRK.B", "JPM", "XOM", "PFE", "INTC",
    "WBA", "PARA", "DG", "EL", "CVS", "TGT", "MRNA", "SAM", "ALSN", "KO", "PEP", "WMT",
];

// ---------------------------------------------------------------- logs

/// Everything logged by this test binary (all tests), captured at TRACE,
/// teloxide's `log` records and reqwest/hyper included.
fn logs() -> &'static Mutex<Vec<u8>> {
    static LOGS: OnceLock<&'static Mutex<Vec<u8>>> = OnceLock::new();
    LOGS.get_or_init(|| {
        let buf: &'static Mutex<Vec<u8>> = Box::leak(Box::new(Mutex::new(Vec::new())));
        let _ = tracing_subscriber::fmt()
            .with_max_level(tracing::Level::TRACE)
            .with_ansi(false)
            .with_writer(move || Capture(buf))
            .try_init();
        buf
    })
}

struct Capture(&'static Mutex<Vec<u8>>);

impl Write for Capture {
    fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
        self.0
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .extend_from_slice(b);
        Ok(b.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

fn captured() -> String {
    String::from_utf8_lossy(&logs().lock().unwrap_or_else(|e| e.into_inner())).into_owned()
}

// ---------------------------------------------------------------- harness

/// The simulated market, optionally held at a gate so a run stays "in
/// progress" until the test lets it finish (no other behaviour changes).
struct GatedMarket {
    sim: SimMarket,
    gate: Option<Arc<Semaphore>>,
}

#[async_trait]
impl MarketData for GatedMarket {
    fn provider(&self) -> &'static str {
        self.sim.provider()
    }
    fn is_simulated(&self) -> bool {
        true
    }
    async fn sessions(&self, from: NaiveDate, to: NaiveDate) -> Result<Vec<Session>, MarketError> {
        self.sim.sessions(from, to).await
    }
    async fn daily_bars(
        &self,
        symbols: &[Symbol],
        from: NaiveDate,
        to: NaiveDate,
    ) -> Result<BarsAnswer, MarketError> {
        if let Some(gate) = &self.gate {
            let _ = gate.acquire().await.map(|p| p.forget());
        }
        self.sim.daily_bars(symbols, from, to).await
    }
}

struct Harness {
    fake: FakeTelegram,
    /// The dashboard's port (0 when it is off).
    web_port: u16,
    alerts: Option<AlertService>,
    runner: Runner,
    metrics: Arc<Metrics>,
    shutdown: CancellationToken,
    bot: Option<tokio::task::JoinHandle<()>>,
    /// The alert runtime's task, when it runs.
    alerts_task: Option<tokio::task::JoinHandle<()>>,
    gate: Arc<Semaphore>,
    _dir: tempfile::TempDir,
    _s3: Option<common::MotoServer>,
}

/// Something done to the fake before the bot starts.
type Prepare = Box<dyn FnOnce(&FakeTelegram)>;

#[derive(Default)]
struct Setup {
    /// Hold collection runs started by `/trigger` until released.
    gated: bool,
    /// Send limits (default: Telegram's).
    limits: Option<Limits>,
    /// Updates a chat may have in the bot at once (default: the bot's).
    per_chat: Option<usize>,
    /// Prepare the fake before the bot starts.
    before: Option<Prepare>,
    /// Do not collect anything first (an empty store).
    empty_store: bool,
    /// Empty `allowed_chat_ids` and `admin_chat_ids` (the default config).
    nobody_allowed: bool,
    /// Run the alert runtime, and stop the first fill this many days back.
    alerts_fill_days_ago: Option<u64>,
    /// Store in a fresh bucket of a moto S3 server, `/download` as links.
    s3_links: bool,
    /// `alerts/book.json` as found in the store when the daemon starts.
    book: Option<Vec<u8>>,
    /// More configuration, as `DIPWATCH__...` variables.
    env: Vec<(String, String)>,
}

fn options(limits: Option<Limits>, per_chat: Option<usize>) -> BotOptions {
    BotOptions {
        per_chat: per_chat.unwrap_or(dipwatch::bot::lanes::PER_CHAT),
        poll_timeout: Duration::from_secs(5),
        backoff_base: Duration::from_millis(50),
        backoff_max: Duration::from_millis(400),
        limits: limits.unwrap_or_default(),
        ..BotOptions::default()
    }
}

fn config(dir: &std::path::Path) -> AppConfig {
    config_with(dir, true)
}

fn config_with(dir: &std::path::Path, lists: bool) -> AppConfig {
    config_with_env(dir, lists, Vec::new())
}

fn config_with_env(dir: &std::path::Path, lists: bool, extra: Vec<(String, String)>) -> AppConfig {
    let universe = dir.join("universe.txt");
    std::fs::write(&universe, TICKERS.join("\n")).unwrap();
    let readers: Vec<String> = READERS.chain([GROUP]).map(|c| c.to_string()).collect();
    let mut env: std::collections::HashMap<String, String> = [
        ("DIPWATCH__MARKET__PROVIDER", "sim".to_string()),
        ("DIPWATCH__MARKET__UNIVERSE", universe.display().to_string()),
        (
            "DIPWATCH__STORAGE__URL",
            dir.join("data").display().to_string(),
        ),
        ("DIPWATCH__TELEGRAM__ALLOWED_CHAT_IDS", readers.join(",")),
        (
            "DIPWATCH__TELEGRAM__ADMIN_CHAT_IDS",
            format!("{ADMIN},{ADMIN2}"),
        ),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v))
    .collect();
    if !lists {
        env.retain(|k, _| !k.starts_with("DIPWATCH__TELEGRAM__"));
    }
    env.extend(extra);
    AppConfig::load_with_env(None, env).expect("config")
}

/// Ten sessions ending `days_ago` (New York).
fn recent_range(days_ago: u64) -> Dates {
    let today = Utc::now()
        .with_timezone(&chrono_tz::America::New_York)
        .date_naive();
    Dates::Range {
        from: today - Days::new(14 + days_ago),
        to: today - Days::new(days_ago),
    }
}

async fn start(setup: Setup) -> Harness {
    logs();
    let dir = tempfile::tempdir().unwrap();
    let mut extra = Vec::new();
    let s3 = setup.s3_links.then(|| {
        let moto = common::MotoServer::start();
        moto.create_bucket("dipwatch-bot");
        extra.push((
            "DIPWATCH__STORAGE__URL".to_string(),
            "s3://dipwatch-bot/lake".to_string(),
        ));
        for (k, v) in moto.options() {
            extra.push((
                format!("DIPWATCH__STORAGE__OPTIONS__{}", k.to_uppercase()),
                v,
            ));
        }
        extra.push((
            "DIPWATCH__TELEGRAM__DOWNLOAD_LINKS".to_string(),
            "true".to_string(),
        ));
        extra.push((
            "DIPWATCH__TELEGRAM__DOWNLOAD_LINK_TTL_SECS".to_string(),
            "600".to_string(),
        ));
        moto
    });
    extra.extend(setup.env.clone());
    // The alert runtime runs where the daemon runs it: with the bot's token
    // configured (the bot itself is started below, against the fake).
    if setup.alerts_fill_days_ago.is_some() {
        extra.push(("TELOXIDE_TOKEN".to_string(), TOKEN.to_string()));
    }
    extra.push((
        "DIPWATCH__HTTP__LISTEN".to_string(),
        "127.0.0.1:0".to_string(),
    ));
    extra.push((
        "DIPWATCH__WEB__LISTEN".to_string(),
        "127.0.0.1:0".to_string(),
    ));
    let config = config_with_env(dir.path(), !setup.nobody_allowed, extra);
    let sim = SimMarket::new(config.universe.clone());
    let broker = Arc::new(SimMarket::new(config.universe.clone()));
    let gate = Arc::new(Semaphore::new(if setup.gated { 0 } else { 1_000_000 }));
    let market = Arc::new(GatedMarket {
        sim,
        gate: Some(gate.clone()),
    });
    if let Some(book) = &setup.book {
        let path = dir.path().join("data/alerts/book.json");
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, book).unwrap();
    }
    // The daemon's own assembly, with a market the test can hold back.
    let mut app = App::build_with(
        config,
        Sources {
            market,
            broker: Some(broker),
        },
    )
    .await
    .expect("app");
    let runner = app.runner().clone();
    let metrics = app.metrics().clone();
    if !setup.empty_store {
        // Fill the store through a real run (the gate opened for it).
        gate.add_permits(1);
        match runner.trigger(
            RunSource::CatchUp,
            recent_range(setup.alerts_fill_days_ago.unwrap_or(1)),
        ) {
            Trigger::Started(done) => {
                done.await.expect("collection");
            }
            Trigger::AlreadyRunning(_) => unreachable!(),
        }
    }
    // The state, then the alert runtime over it, as the daemon loads them.
    app.load_state().await;
    let shutdown = CancellationToken::new();
    let alerts = app.alerts().cloned();
    let alerts_task = alerts
        .as_ref()
        .map(|a| a.spawn(runner.state().clone(), shutdown.clone()));
    let fake = FakeTelegram::start();
    if let Some(before) = setup.before {
        before(&fake);
    }
    let ctx = app.bot_context();
    let web_port = app.web_addr().map_or(0, |a| a.port());
    let bot = tokio::spawn(dipwatch::bot::run_with(
        ctx,
        SecretString::from(TOKEN),
        Some(fake.url()),
        options(setup.limits, setup.per_chat),
        shutdown.clone(),
    ));
    Harness {
        fake,
        web_port,
        alerts,
        runner,
        metrics,
        shutdown,
        bot: Some(bot),
        alerts_task,
        gate,
        _dir: dir,
        _s3: s3,
    }
}

impl Harness {
    /// Send `text` from `chat` and wait for `n` replies to it.
    async fn ask(&self, chat: i64, text: &str, n: usize) -> Vec<Sent> {
        let before = self.fake.sent_to(chat).len();
        self.fake.push_text(chat, text);
        let got = self
            .fake
            .wait_until(WAIT, |s| {
                s.iter().filter(|x| x.chat_id == chat).count() >= before + n
            })
            .await;
        if got.is_err() {
            let logs = captured();
            let tail: Vec<&str> = logs.lines().rev().take(60).collect();
            panic!(
                "chat {chat}: no reply to {text:?}; calls: {:?}\nlast log lines:\n{}",
                self.fake
                    .calls()
                    .iter()
                    .map(|c| (&c.method, c.status))
                    .collect::<Vec<_>>(),
                tail.into_iter().rev().collect::<Vec<_>>().join("\n")
            );
        }
        self.fake.sent_to(chat)[before..].to_vec()
    }

    /// Stop the bot and wait for it (a hang fails the test).
    async fn stop(&mut self) {
        self.shutdown.cancel();
        if let Some(bot) = self.bot.take() {
            tokio::time::timeout(WAIT, bot)
                .await
                .expect("the bot stops on shutdown")
                .expect("the bot task did not panic");
        }
        if let Some(alerts) = self.alerts_task.take() {
            tokio::time::timeout(WAIT, alerts)
                .await
                .expect("the alert runtime stops on shutdown")
                .expect("the alert runtime did not panic");
        }
    }

    fn still_running(&self) -> bool {
        self.bot.as_ref().is_some_and(|b| !b.is_finished())
    }
}

/// Every send so far was accepted by the fake (valid HTML, size, chat).
fn assert_all_accepted(sent: &[Sent]) {
    for s in sent {
        assert!(
            s.refused.is_none(),
            "refused send to {}: {:?}\n{}",
            s.chat_id,
            s.refused,
            s.text
        );
        assert_eq!(s.parse_mode.as_deref(), Some("HTML"), "{}", s.text);
    }
}

fn one_text(replies: &[Sent]) -> &str {
    assert_eq!(replies.len(), 1, "{replies:#?}");
    &replies[0].text
}

// ---------------------------------------------------------------- tests

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_command_answers_an_allowed_chat() {
    let mut h = start(Setup {
        gated: true,
        before: Some(Box::new(|f: &FakeTelegram| {
            f.set_webhook("https://example.invalid/hook")
        })),
        ..Setup::default()
    })
    .await;
    let mut chats = READERS;
    let mut next = || chats.next().unwrap();

    // Each command from its own chat, so Telegram's one-message-a-second
    // per chat does not serialise the test.
    let (c_start, c_help, c_dash, c_daily, c_screen, c_symbol, c_port, c_mon, c_acct, c_stats) = (
        next(),
        next(),
        next(),
        next(),
        next(),
        next(),
        next(),
        next(),
        next(),
        next(),
    );
    let (c_dl, c_dl_bars) = (next(), next());
    let (start, help, dash, daily, screen, symbol, port, monitor, account, stats, dl, dl_bars) = tokio::join!(
        h.ask(c_start, "/start", 1),
        h.ask(c_help, "/help", 1),
        h.ask(c_dash, "/dashboard", 1),
        h.ask(c_daily, "/daily", 1),
        h.ask(c_screen, "/screen 5", 1),
        h.ask(c_symbol, "/symbol bf.b", 1),
        h.ask(c_port, "/portfolio", 1),
        h.ask(c_mon, "/monitor", 1),
        h.ask(c_acct, "/account", 1),
        h.ask(c_stats, "/stats", 1),
        h.ask(c_dl, "/download", 1),
        h.ask(c_dl_bars, "/download bars 3", 1),
    );
    let snap = h.runner.state().snapshot();
    let screen_state = snap.screen.as_ref().expect("a published screen");

    let start = one_text(&start);
    assert!(start.contains("<b>Strategy</b>"), "{start}");
    assert!(
        start.contains(&format!("screen of {}", screen_state.date)),
        "{start}"
    );
    let help = one_text(&help);
    for c in [
        "/dashboard",
        "/daily",
        "/screen [N]",
        "/symbol TICKER",
        "/portfolio",
        "/monitor",
        "/account",
        "/stats",
        "/download",
        "/trigger",
    ] {
        assert!(help.contains(c), "{c} missing from /help: {help}");
    }

    let dash = one_text(&dash);
    assert!(
        dash.starts_with("<i>[SIMULATED PRICES, not market data]</i>"),
        "{dash}"
    );
    for part in [
        "<b>Account</b>",
        "<b>Portfolio</b>",
        "<b>Profit target</b>",
        "<b>Top 10 candidates</b>",
    ] {
        assert!(dash.contains(part), "{part} missing: {dash}");
    }
    assert_eq!(one_text(&daily), dash, "/daily is /dashboard");

    let screen = one_text(&screen);
    assert!(
        screen.contains(&format!("screen {}", screen_state.date)),
        "{screen}"
    );
    assert!(
        screen.contains(&format!("Top 5 of {}", screen_state.rows.len())),
        "{screen}"
    );
    let first = &screen_state.rows[0];
    assert!(
        screen
            .lines()
            .any(|l| l.trim_start().starts_with(&format!("1  {} ", first.symbol))),
        "rank 1 is {}: {screen}",
        first.symbol
    );
    let table_rows = screen
        .lines()
        .filter(|l| l.trim_start().starts_with(|c: char| c.is_ascii_digit()))
        .count();
    assert_eq!(table_rows, 5, "{screen}");

    let symbol = one_text(&symbol);
    let row = screen_state
        .row(&Symbol::parse("BF.B").unwrap())
        .expect("BF.B ranked");
    assert!(
        symbol.contains(&format!("<b>BF.B</b> · screen {}", screen_state.date)),
        "{symbol}"
    );
    assert!(
        symbol.contains(&format!("Rank <b>{}</b>", row.rank)),
        "{symbol}"
    );
    assert!(symbol.contains("<b>History</b>"), "{symbol}");

    let port = one_text(&port);
    let portfolio = snap.portfolio.as_ref().expect("a portfolio snapshot");
    assert!(
        port.contains(&format!("{} position", portfolio.positions.len())),
        "{port}"
    );
    assert!(one_text(&monitor).contains("Take profit when the best 5 positions average"));
    assert!(
        one_text(&account).contains("<b>Account</b> · live"),
        "{account:?}"
    );
    let stats = one_text(&stats);
    assert!(
        stats.contains("<b>Data health</b> · provider sim"),
        "{stats}"
    );
    assert!(
        stats.contains("<b>Last run</b> (since start): the start-up catch-up"),
        "{stats}"
    );

    // Downloads: one CSV document with one header, from the store.
    assert_eq!(dl[0].method, "sendDocument");
    let (name, bytes) = dl[0].document.clone().expect("a document");
    assert_eq!(name, format!("drawdowns_{}.csv", screen_state.date));
    let csv = String::from_utf8(bytes).unwrap();
    assert_eq!(
        csv.lines().next().unwrap(),
        Dataset::Drawdowns.columns().join(",")
    );
    assert_eq!(csv.lines().count(), screen_state.rows.len() + 1);
    let (name, bytes) = dl_bars[0].document.clone().expect("a document");
    assert!(
        name.starts_with("bars_") && name.ends_with(".csv"),
        "{name}"
    );
    let csv = String::from_utf8(bytes).unwrap();
    let header = Dataset::Bars.columns().join(",");
    assert_eq!(
        csv.lines().filter(|l| *l == header).count(),
        1,
        "one header"
    );
    let dates: std::collections::BTreeSet<&str> = csv.lines().skip(1).map(|l| &l[..10]).collect();
    assert_eq!(dates.len(), 3, "three dates: {dates:?}");
    assert!(dl_bars[0].text.contains("3 dates"), "{}", dl_bars[0].text);

    // /trigger from an admin: an answer at once, then the summary.
    let started = h.ask(ADMIN, "/trigger", 1).await;
    assert!(one_text(&started).contains("Collection started"));
    assert_eq!(h.runner.running(), Some(RunSource::Manual));
    h.gate.add_permits(1);
    let all = h.fake.replies(ADMIN, 2, WAIT).await;
    assert!(
        all[1].text.starts_with("✅ Collection finished in ")
            && all[1].text.contains(": published "),
        "{}",
        all[1].text
    );

    // The menu, the webhook, polling.
    assert!(h.fake.wait_calls("setMyCommands", 1, WAIT).await);
    let menu = h.fake.commands().expect("setMyCommands");
    let names: Vec<&str> = menu
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["command"].as_str().unwrap().trim_start_matches('/'))
        .collect();
    assert_eq!(
        names,
        [
            "help",
            "dashboard",
            "screen",
            "symbol",
            "chart",
            "breadth",
            "portfolio",
            "monitor",
            "risk",
            "account",
            "stats",
            "download",
            "trigger",
            "alert",
            "alerts",
            "unalert",
            "web",
            "logout"
        ]
    );
    assert!(h.fake.count("deleteWebhook") >= 1);
    assert_eq!(
        h.fake.webhook(),
        None,
        "the webhook was deleted for long polling"
    );
    let polls: Vec<_> = h
        .fake
        .calls()
        .into_iter()
        .filter(|c| c.method == "getUpdates")
        .collect();
    assert!(
        polls.iter().any(|c| c.body["timeout"] == 5),
        "long polling with the timeout"
    );
    assert!(
        polls.iter().any(|c| c.body["offset"].as_i64() > Some(1)),
        "offsets advance"
    );

    assert_all_accepted(&h.fake.sent());
    let metrics = h.metrics.encode();
    for c in [
        "start",
        "help",
        "dashboard",
        "screen",
        "symbol",
        "portfolio",
        "monitor",
        "account",
        "stats",
        "download",
        "trigger",
    ] {
        assert!(
            metrics.contains(&format!("dipwatch_bot_updates_total{{command=\"{c}\"}}")),
            "{c} not counted:\n{metrics}"
        );
    }
    h.stop().await;
    assert_eq!(
        h.fake.unconfirmed(),
        0,
        "the last poll confirms handled updates"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refused_chat_gets_one_short_refusal_and_no_data() {
    let mut h = start(Setup::default()).await;
    let secret_text = "/screen my-private-words-31337";
    h.fake.push_text(STRANGER, secret_text);
    h.fake.push_text(STRANGER, "/dashboard");
    h.fake.push_text(STRANGER, "hello");
    // An allowed chat's answer after them shows the stranger's were handled.
    h.ask(READERS.start, "/help", 1).await;
    let replies = h.fake.replies(STRANGER, 1, WAIT).await;
    let text = one_text(&replies);
    assert!(
        text.contains("<code>6666</code>"),
        "shows the chat id: {text}"
    );
    assert!(text.contains("telegram.allowed_chat_ids"), "{text}");
    assert!(
        !text.contains('%') && !text.contains('$'),
        "no data: {text}"
    );
    // Let the other two be processed, then check nothing more was sent.
    h.ask(READERS.start + 1, "/help", 1).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(
        h.fake.sent_to(STRANGER).len(),
        1,
        "one refusal, not one per message"
    );
    h.stop().await;
    let logs = captured();
    assert!(
        logs.lines()
            .any(|l| l.contains("refused a chat") && l.contains("chat_id=6666")),
        "the refusal is logged with the chat id"
    );
    assert!(
        !logs.contains("my-private-words-31337"),
        "message text never logged"
    );
    assert_all_accepted(&h.fake.sent());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_empty_allow_list_refuses_everyone_and_the_log_says_how_to_get_in() {
    let mut h = start(Setup {
        nobody_allowed: true,
        ..Setup::default()
    })
    .await;
    for chat in [READERS.start, ADMIN] {
        h.fake.push_text(chat, "/dashboard");
        let replies = h.fake.replies(chat, 1, WAIT).await;
        let text = one_text(&replies);
        assert!(text.contains(&format!("<code>{chat}</code>")), "{text}");
        assert!(!text.contains('$'), "no data: {text}");
    }
    h.stop().await;
    let logs = captured();
    let hint = logs
        .lines()
        .find(|l| l.contains("telegram.allowed_chat_ids is empty"))
        .expect("the start-up hint is logged");
    assert!(hint.contains("WARN"), "{hint}");
    assert!(
        hint.contains("DIPWATCH__TELEGRAM__ALLOWED_CHAT_IDS"),
        "{hint}"
    );
    assert!(hint.contains("its refusal shows your chat id"), "{hint}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn trigger_is_for_admins_and_single_flight() {
    let mut h = start(Setup {
        gated: true,
        ..Setup::default()
    })
    .await;
    let reader = h.ask(READERS.start, "/trigger", 1).await;
    let text = one_text(&reader);
    assert!(
        text.starts_with("Only admins can start a collection"),
        "{text}"
    );
    assert!(
        text.contains(&format!("<code>{}</code>", READERS.start)),
        "{text}"
    );
    assert_eq!(h.runner.running(), None, "a reader starts nothing");

    let first = h.ask(ADMIN, "/trigger", 1).await;
    assert!(one_text(&first).contains("Collection started"));
    let second = h.ask(ADMIN2, "/trigger", 1).await;
    assert_eq!(
        one_text(&second),
        "A collection is already running (started by a /trigger); not starting another."
    );
    h.gate.add_permits(1);
    let done = h.fake.replies(ADMIN, 2, WAIT).await;
    assert!(
        done[1].text.contains("Collection finished"),
        "{}",
        done[1].text
    );
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(
        h.fake.sent_to(ADMIN2).len(),
        1,
        "the refused trigger gets no summary"
    );
    assert_all_accepted(&h.fake.sent());
    h.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unknown_input_gets_a_pointer_to_help() {
    let mut h = start(Setup::default()).await;
    let c = READERS.start;
    let unknown = h.ask(c, "/frobnicate now", 1).await;
    assert_eq!(
        one_text(&unknown),
        "I don't know that command. Send /help for the list."
    );
    let text = h.ask(c + 1, "what is the market doing?", 1).await;
    assert_eq!(
        one_text(&text),
        "I only answer commands. Send /help for the list."
    );
    h.fake.push_photo(c + 2);
    let photo = h.fake.replies(c + 2, 1, WAIT).await;
    assert_eq!(
        one_text(&photo),
        "I only answer commands. Send /help for the list."
    );
    // Case and the bot's own @name are accepted.
    let shouted = h
        .ask(
            c + 3,
            &format!("/SCREEN@{} 3", fake_telegram::BOT_USERNAME),
            1,
        )
        .await;
    assert!(one_text(&shouted).contains("Top 3 of"));
    let usage = h.ask(c + 4, "/screen <b>lots</b>", 1).await;
    assert!(one_text(&usage).starts_with("Usage: /screen [N]"));
    let bad = h.ask(c + 5, "/symbol <script>&", 1).await;
    assert!(one_text(&bad).contains("“&lt;script&gt;&amp;” is not a ticker"));
    // In a group: commands are answered, chatter and other bots' commands are not.
    h.fake.push_text(GROUP, "just chatting");
    h.fake.push_text(GROUP, "/help@some_other_bot");
    let group = h.ask(GROUP, "/stats", 1).await;
    assert!(one_text(&group).contains("Data health"));
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(h.fake.sent_to(GROUP).len(), 1);
    assert_all_accepted(&h.fake.sent());
    h.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reply_over_4096_characters_is_split_on_line_boundaries() {
    let mut h = start(Setup::default()).await;
    // 150 positions: a /portfolio table far over one message.
    let positions: Vec<Position> = (0..150)
        .map(|i| {
            Position::from_prices(
                Symbol::parse(&format!("S{i:03}")).unwrap(),
                Decimal::from(10),
                Decimal::from(100),
                Decimal::from(40 + i),
            )
        })
        .collect();
    h.runner.state().update(|s| {
        let account = s.portfolio.as_ref().expect("portfolio").account.clone();
        Snapshot {
            portfolio: Some(PortfolioState {
                date: s.portfolio.as_ref().unwrap().date,
                account,
                profit: profit_check(&positions, 5, Decimal::from(100)),
                positions: positions.clone(),
            }),
            ..s.clone()
        }
    });
    h.fake.push_text(READERS.start, "/portfolio");
    // Sent as one burst per chat at Telegram's pace (1 message/s/chat).
    let sent = h
        .fake
        .wait_until(WAIT, |s| {
            s.iter()
                .filter(|x| x.chat_id == READERS.start)
                .any(|x| x.text.contains("Equity "))
        })
        .await
        .expect("the last part arrives");
    let parts: Vec<&Sent> = sent.iter().filter(|x| x.chat_id == READERS.start).collect();
    assert!(parts.len() >= 2, "{} parts", parts.len());
    for p in &parts {
        let n = check_html(&p.text).expect("each part is valid HTML on its own");
        assert!(n <= 4096, "{n}");
        assert!(p.refused.is_none());
    }
    assert!(parts[0].text.contains("<pre>symbol"));
    assert!(
        parts[1].text.starts_with("<pre>"),
        "the table continues: {}",
        parts[1].text
    );
    let all: String = parts.iter().map(|p| p.text.as_str()).collect();
    for i in 0..150 {
        assert!(
            all.contains(&format!("S{i:03} ")),
            "S{i:03} lost in the split"
        );
    }
    h.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_429_is_retried_after_the_wait_telegram_asks_for() {
    let mut h = start(Setup::default()).await;
    h.fake.fail_next("sendMessage", Fault::too_many_requests(1));
    h.fake.push_text(READERS.start, "/help");
    let sent = h
        .fake
        .wait_until(WAIT, |s| {
            s.iter()
                .any(|x| x.chat_id == READERS.start && x.refused.is_none())
        })
        .await
        .expect("the reply is delivered after the wait");
    let accepted: Vec<_> = sent.iter().filter(|x| x.refused.is_none()).collect();
    assert_eq!(accepted.len(), 1);
    assert!(accepted[0].text.contains("<b>Strategy</b>"));
    assert_eq!(h.fake.rate_limited(), 1, "only the injected 429");
    assert_eq!(
        h.fake.early_retries(),
        0,
        "no send before retry_after was over"
    );
    h.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_bot_survives_an_outage_without_busy_looping_and_recovers() {
    let mut h = start(Setup::default()).await;
    h.ask(READERS.start, "/help", 1).await;
    h.fake.set_outage(true);
    let polls_before = h.fake.count("getUpdates");
    h.fake.push_text(READERS.start + 1, "/stats");
    tokio::time::sleep(Duration::from_millis(2_500)).await;
    let during = h.fake.count("getUpdates") - polls_before;
    assert!(during >= 2, "it keeps trying during the outage ({during})");
    // Backoff 50 ms doubling to 400 ms: about 8 attempts in 2.5 s; a busy
    // loop would make thousands.
    assert!(
        during <= 30,
        "{during} polls in 2.5 s of outage: no backoff?"
    );
    assert!(h.still_running(), "the bot does not exit on errors");
    h.fake.set_outage(false);
    let replies = h.fake.replies(READERS.start + 1, 1, WAIT).await;
    assert!(one_text(&replies).contains("Data health"));
    assert_all_accepted(&h.fake.sent());
    h.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_bot_starts_even_if_get_me_fails_at_first() {
    let mut h = start(Setup {
        before: Some(Box::new(|f: &FakeTelegram| {
            f.fail_next("getMe", Fault::Reset);
            f.fail_next("getMe", Fault::Reset);
            f.fail_next("getMe", Fault::too_many_requests(1));
            f.fail_next("setMyCommands", Fault::Reset);
        })),
        ..Setup::default()
    })
    .await;
    let replies = h.ask(READERS.start, "/help", 1).await;
    assert!(one_text(&replies).contains("/dashboard"));
    assert!(h.fake.count("getMe") >= 4, "retried getMe");
    assert!(
        h.fake.wait_calls("setMyCommands", 2, WAIT).await,
        "retried setMyCommands"
    );
    assert!(h.fake.commands().is_some());
    h.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_empty_store_is_answered_not_crashed_on() {
    let mut h = start(Setup {
        empty_store: true,
        ..Setup::default()
    })
    .await;
    let screen = h.ask(READERS.start, "/screen", 1).await;
    assert!(one_text(&screen).starts_with("No screen has been published yet."));
    let dl = h.ask(READERS.start + 1, "/download bars", 1).await;
    assert_eq!(one_text(&dl), "No bars published yet.");
    let port = h.ask(READERS.start + 2, "/portfolio", 1).await;
    assert!(one_text(&port).starts_with("No portfolio snapshot yet"));
    assert_all_accepted(&h.fake.sent());
    h.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_token_never_appears_in_logs_or_errors() {
    let mut h = start(Setup {
        before: Some(Box::new(|f: &FakeTelegram| {
            f.fail_next("getMe", Fault::Reset);
        })),
        ..Setup::default()
    })
    .await;
    h.ask(READERS.start, "/help", 1).await;
    // Errors of every kind while the token is in use: an outage...
    h.fake.set_outage(true);
    tokio::time::sleep(Duration::from_millis(600)).await;
    h.fake.set_outage(false);
    h.ask(READERS.start + 1, "/help", 1).await;
    h.stop().await;
    // ...and a second bot whose token the API refuses (401).
    let wrong = "7000000002:AAWrongTokenForDipwatchTests_9876543";
    let dir = tempfile::tempdir().unwrap();
    let config = Arc::new(config(dir.path()));
    let store = Store::open(&config.storage, &BTreeMap::new())
        .await
        .unwrap();
    let sim = Arc::new(SimMarket::new(config.universe.clone()));
    let metrics = Arc::new(Metrics::new());
    let runner = Runner::new(RunnerParts {
        config: config.clone(),
        market: sim.clone(),
        broker: Some(sim.clone()),
        store,
        state: AppState::new(Snapshot::default()),
        metrics: metrics.clone(),
    });
    let shutdown = CancellationToken::new();
    let bot = tokio::spawn(dipwatch::bot::run_with(
        BotContext {
            config,
            runner,
            broker: Some(sim),
            metrics,
            alerts: None,
            web: None,
        },
        SecretString::from(wrong),
        Some(h.fake.url()),
        options(None, None),
        shutdown.clone(),
    ));
    let refused = async {
        while h.fake.bad_token_requests() < 3 {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    };
    tokio::time::timeout(WAIT, refused)
        .await
        .expect("it keeps retrying");
    shutdown.cancel();
    tokio::time::timeout(WAIT, bot).await.unwrap().unwrap();

    let logs = captured();
    assert!(
        logs.contains("refused the token (Unauthorized)"),
        "the 401 is logged"
    );
    assert!(logs.contains("getMe failed"), "the reset getMe is logged");
    assert!(logs.contains("getUpdates failed"), "the outage is logged");
    for token in [TOKEN, wrong] {
        let (id, secret) = token.split_once(':').unwrap();
        assert!(
            !logs.contains(secret),
            "a token secret leaked into the logs"
        );
        assert!(
            !logs.contains(&format!("bot{id}")),
            "a token-bearing URL leaked"
        );
    }
}

/// A random message for the fuzz test: a command (ours, aliases, case,
/// @names, made-up ones) or text, with arguments from unicode, markup
/// characters, numbers and huge strings.
fn random_message(rng: &mut rand_pcg::Pcg64) -> String {
    const HEADS: [&str; 22] = [
        "/start",
        "/help",
        "/dashboard",
        "/daily",
        "/screen",
        "/symbol",
        "/portfolio",
        "/monitor",
        "/account",
        "/stats",
        "/download",
        "/trigger",
        "/SCREEN",
        "/Symbol@dipwatch_test_bot",
        "/help@other_bot",
        "/nope",
        "/",
        "hi",
        "",
        "/download bars",
        "/screen 50",
        "&<b>",
    ];
    const PIECES: [&str; 26] = [
        "<",
        ">",
        "&",
        "&amp;",
        "<b>",
        "</pre>",
        "\"",
        "'",
        " ",
        "\n",
        "\t",
        "😀",
        "中文",
        "שלום",
        "\u{200b}",
        "e\u{301}",
        "BF.B",
        "brk-b",
        "$AAPL",
        "50",
        "-3",
        "7",
        "99999999999999999999",
        "0",
        "bars",
        "positions",
    ];
    let mut out = String::from(HEADS[rng.random_range(0..HEADS.len())]);
    let pieces = match rng.random_range(0..12) {
        0 => 0,
        1 => rng.random_range(300..1500),
        _ => rng.random_range(1..6),
    };
    if pieces > 0 && !out.is_empty() {
        out.push(' ');
    }
    for _ in 0..pieces {
        if rng.random_range(0..4) == 0 {
            out.push(char::from_u32(rng.random_range(0x20..0x2_FFFF)).unwrap_or('?'));
        } else {
            out.push_str(PIECES[rng.random_range(0..PIECES.len())]);
        }
    }
    if out.trim().is_empty() {
        out.push('x');
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn thousands_of_random_messages_get_only_well_formed_replies() {
    // Telegram's limits raised so the fuzz runs in seconds, not minutes.
    let mut h = start(Setup {
        limits: Some(Limits {
            overall_per_sec: 10_000,
            chat_interval: Duration::ZERO,
            group_per_min: 1_000_000,
            margin: Duration::ZERO,
        }),
        // And a chat's queue unbounded: every random message is answered.
        per_chat: Some(100_000),
        ..Setup::default()
    })
    .await;
    let mut rng = rand_pcg::Pcg64::seed_from_u64(0x05ee_db07);
    let chats: Vec<i64> = READERS.take(20).collect();
    let strangers = [STRANGER, STRANGER + 1];
    let mut total = 0;
    for _batch in 0..25 {
        let batch: Vec<(i64, String)> = (0..100)
            .map(|i| {
                let chat = if i % 25 == 0 {
                    strangers[i / 25 % 2]
                } else {
                    chats[rng.random_range(0..chats.len())]
                };
                (chat, random_message(&mut rng))
            })
            .collect();
        total += batch.len();
        h.fake.push_many(&batch);
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    // A last message per chat no random one can produce: its answer means
    // the chat's queue is done (a chat's updates are handled in order).
    let markers: Vec<(i64, String)> = chats
        .iter()
        .map(|c| (*c, "/symbol ZZMARK".to_string()))
        .collect();
    h.fake.push_many(&markers);
    let sent = h
        .fake
        .wait_until(Duration::from_secs(120), |s| {
            chats.iter().all(|c| {
                s.iter()
                    .rev()
                    .find(|x| x.chat_id == *c)
                    .is_some_and(|x| x.text.contains("<b>ZZMARK</b>"))
            })
        })
        .await
        .expect("every chat's queue was answered");
    assert!(total >= 2_500);
    assert!(h.still_running(), "no panic took the bot down");
    assert!(
        sent.len() >= total * 8 / 10,
        "{} replies to {total} messages",
        sent.len()
    );
    for s in &sent {
        assert!(s.refused.is_none(), "refused: {:?}\n{}", s.refused, s.text);
        let n = check_html(&s.text).unwrap_or_else(|e| panic!("{e}: {}", s.text));
        assert!(n <= if s.document.is_some() { 1024 } else { 4096 });
        assert!(
            !s.text.contains("panicked") && !s.text.contains("Error") && !s.text.contains("error:"),
            "no Rust error text reaches a user: {}",
            s.text
        );
    }
    for s in strangers {
        assert_eq!(h.fake.sent_to(s).len(), 1, "one refusal per window");
    }
    h.stop().await;
}

/// The latest closed session's screen, computed with the library on the
/// same simulated market the harness collects from.
fn latest_screen(config: &AppConfig) -> (NaiveDate, Vec<dipwatch::domain::DrawdownRow>) {
    use dipwatch::market::calendar;
    let now = Utc::now();
    let today = now
        .with_timezone(&chrono_tz::America::New_York)
        .date_naive();
    let from = today - Days::new(400);
    let sessions = calendar::sessions(from, today);
    let date = dipwatch::market::latest_closed(&sessions, now).unwrap();
    let bars = SimMarket::new(config.universe.clone()).bars(&config.universe, from, date);
    let days = dipwatch::domain::TradingDays::new(sessions.iter().map(|s| s.date).collect());
    let rows = dipwatch::screen::screen(
        date,
        bars.iter().map(|b| (&b.symbol, b.bars.as_slice())),
        &days,
        &config.screen,
    )
    .rows;
    (date, rows)
}

/// The number in a "Skipped N messages" note (0 without one).
fn skipped_in(sent: &[Sent]) -> usize {
    sent.iter()
        .filter_map(|s| s.text.strip_prefix("Skipped "))
        .filter_map(|t| t.split(' ').next()?.replace(',', "").parse::<usize>().ok())
        .sum()
}

/// One chat sending 200 x `/screen 50` (and another 200 unknown commands)
/// never makes another chat wait: `/help` from a third is answered (under
/// teloxide's dispatcher it waited behind the flood's full queue for
/// minutes). Each flooding chat gets the few answers it is allowed, then
/// one note saying how many were skipped, and every update is confirmed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_flooding_chat_never_makes_another_chat_wait() {
    let mut h = start(Setup::default()).await;
    let (flood, unknown, other) = (READERS.start, READERS.start + 1, READERS.start + 2);
    let mut batch: Vec<(i64, String)> = (0..200).map(|_| (flood, "/screen 50".into())).collect();
    batch.extend((0..200).map(|_| (unknown, "/nonsense".to_string())));
    h.fake.push_many(&batch);
    let help = h.ask(other, "/help", 1).await;
    assert!(help[0].text.contains("/screen"), "{}", help[0].text);

    // Each flood: its kept commands answered, then one note.
    let kept = dipwatch::bot::lanes::PER_CHAT;
    let notes = h
        .fake
        .wait_until(Duration::from_secs(60), |s| {
            [flood, unknown].iter().all(|c| {
                s.iter()
                    .any(|x| x.chat_id == *c && x.text.starts_with("Skipped "))
            })
        })
        .await;
    assert!(notes.is_ok(), "each flooding chat is told once");
    tokio::time::sleep(Duration::from_millis(1500)).await;
    for chat in [flood, unknown] {
        let sent = h.fake.sent_to(chat);
        assert_all_accepted(&sent);
        let notes = sent
            .iter()
            .filter(|s| s.text.starts_with("Skipped "))
            .count();
        assert_eq!(notes, 1, "told once: {sent:#?}");
        // Each kept command has one reply (24 rows fit one message).
        let answers = sent
            .iter()
            .filter(|s| !s.text.starts_with("Skipped "))
            .count();
        assert!(answers >= kept, "the kept ones are answered: {answers}");
        assert_eq!(
            answers + skipped_in(&sent),
            200,
            "every command answered or said skipped"
        );
        assert!(
            sent.last().unwrap().text.starts_with("Skipped "),
            "the note comes after the answers"
        );
    }
    assert_eq!(
        h.fake.unconfirmed(),
        0,
        "every update was taken and confirmed"
    );
    // Dropped updates are counted in the metrics, under a fixed name.
    let skipped: usize = [flood, unknown]
        .iter()
        .map(|c| skipped_in(&h.fake.sent_to(*c)))
        .sum();
    let metrics = h.metrics.encode();
    let counted = metrics
        .lines()
        .find(|l| l.starts_with("dipwatch_bot_updates_total{command=\"dropped\"}"))
        .and_then(|l| l.split_whitespace().last()?.parse::<f64>().ok());
    assert_eq!(counted, Some(skipped as f64), "{metrics}");
    h.stop().await;
}

/// Sends stay inside Telegram's limits however many chats ask at once:
/// no one-second window holds more than 30 sends, no chat gets two within
/// a second, and the fake's flood control never answers 429 (the fake
/// counts arrivals, like Telegram). 40 readers ask three things each and
/// 100 strangers write once (each gets a refusal): 220 sends.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sends_stay_inside_telegrams_limits_under_a_burst() {
    let mut h = start(Setup {
        before: Some(Box::new(|f: &FakeTelegram| f.limit_sends_per_sec(30))),
        ..Setup::default()
    })
    .await;
    let mut batch: Vec<(i64, String)> = Vec::new();
    for text in ["/help", "/screen", "/stats"] {
        batch.extend(READERS.map(|c| (c, text.to_string())));
    }
    batch.extend((0..100).map(|i| (STRANGER + i, "hello".to_string())));
    h.fake.push_many(&batch);
    let want = READERS.count() * 3 + 100;
    let all = h
        .fake
        .wait_until(Duration::from_secs(60), |s| s.len() >= want)
        .await;
    assert!(all.is_ok(), "every message answered");
    let sent = h.fake.sent();
    assert_all_accepted(&sent);
    assert_eq!(h.fake.rate_limited(), 0, "no 429");
    let mut at: Vec<std::time::Instant> = sent.iter().map(|s| s.at).collect();
    at.sort();
    let busiest = (0..at.len())
        .map(|i| {
            at[i..]
                .iter()
                .take_while(|t| t.duration_since(at[i]) < Duration::from_secs(1))
                .count()
        })
        .max()
        .unwrap();
    assert!(busiest <= 30, "{busiest} sends in one second");
    for chat in READERS {
        let times: Vec<std::time::Instant> = h.fake.sent_to(chat).iter().map(|s| s.at).collect();
        for pair in times.windows(2) {
            assert!(
                pair[1].duration_since(pair[0]) >= Duration::from_secs(1),
                "chat {chat}: two sends within a second"
            );
        }
    }
    h.stop().await;
}

/// An update from a chat id outside Telegram's range (teloxide's throttle
/// panicked sending the refusal, and every send after it hung) is ignored:
/// nothing is sent to it, and every other chat is still answered.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_update_from_a_chat_id_outside_telegrams_range_is_ignored() {
    let mut h = start(Setup::default()).await;
    let bad = 2_000_000_000_000;
    h.fake.push_text(bad, "/help");
    h.fake.push_text(bad, "hello");
    h.fake.push_callback(bad, "unalert:1");
    let first = h.ask(READERS.start, "/help", 1).await;
    assert_all_accepted(&first);
    tokio::time::sleep(Duration::from_millis(300)).await;
    let second = h.ask(READERS.start + 1, "/screen", 1).await;
    assert_all_accepted(&second);
    assert!(h.fake.sent_to(bad).is_empty(), "{:?}", h.fake.sent_to(bad));
    assert!(
        captured().contains("ignored an update from a chat id outside Telegram's range"),
        "the update is logged as ignored"
    );
    h.stop().await;
}

/// Alerts end to end: a rule set through the bot, a collection run that
/// fires it, a Bot API outage during delivery, recovery with exactly one
/// message, and a restart that sends nothing again.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn alerts_set_in_the_bot_fire_after_a_run_and_arrive_exactly_once() {
    let mut h = start(Setup {
        alerts_fill_days_ago: Some(5),
        ..Setup::default()
    })
    .await;
    let chat = READERS.start;
    let before = h.runner.state().snapshot();
    let old = before.screen.as_ref().expect("a first screen").clone();

    // A symbol whose drawdown moves between the stored screen and the next
    // one, and a level between the two values: the rule must cross.
    let config = config_with(h._dir.path(), true);
    let (next_date, next_rows) = latest_screen(&config);
    assert!(next_date > old.date);
    let (sym, level) = next_rows
        .iter()
        .find_map(|r| {
            let was = old.row(&r.symbol)?.drawdown_pct;
            let mid = ((was + r.drawdown_pct) / 2.0 * 100.0).round() / 100.0;
            let crosses =
                (was > mid && r.drawdown_pct <= mid) || (was <= mid && r.drawdown_pct > mid);
            (crosses && mid < 0.0 && mid > -100.0 && (was - r.drawdown_pct).abs() > 0.1)
                .then(|| (r.symbol.clone(), mid))
        })
        .expect("some symbol moves");

    let set = h.ask(chat, &format!("/alert {sym} below {level}"), 1).await;
    assert!(set[0].text.starts_with("Alert #1 set: "), "{}", set[0].text);
    let bad = h.ask(chat, "/alert top many", 1).await;
    assert!(
        bad[0].text.contains("not a count") && bad[0].text.contains("usage: /alert"),
        "{}",
        bad[0].text
    );
    let list = h.ask(chat, "/alerts", 1).await;
    assert!(
        list[0].text.contains(&format!("#1 {sym} below")),
        "{}",
        list[0].text
    );
    let keyboard = list[0].reply_markup.as_ref().expect("delete buttons");
    assert_eq!(
        keyboard["inline_keyboard"][0][0]["callback_data"],
        "unalert:1"
    );

    // The Bot API goes down; the run publishes; delivery waits it out.
    h.fake.set_outage(true);
    match h.runner.trigger(
        RunSource::Manual,
        Dates::Range {
            from: old.date + Days::new(1),
            to: next_date,
        },
    ) {
        Trigger::Started(done) => {
            h.gate.add_permits(1);
            done.await.expect("run");
        }
        Trigger::AlreadyRunning(_) => unreachable!(),
    }
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert_eq!(
        h.alerts.as_ref().unwrap().pending().await,
        1,
        "queued while the API is down"
    );
    h.fake.set_outage(false);
    let got = h
        .fake
        .wait_until(Duration::from_secs(30), |s| {
            s.iter()
                .any(|x| x.chat_id == chat && x.text.contains("<b>Alerts, "))
        })
        .await;
    assert!(got.is_ok(), "the alert arrives after the outage");
    tokio::time::sleep(Duration::from_millis(500)).await;
    let alerts_sent: Vec<Sent> = h
        .fake
        .sent_to(chat)
        .into_iter()
        .filter(|x| x.text.contains("<b>Alerts, "))
        .collect();
    assert_eq!(alerts_sent.len(), 1, "exactly once");
    assert!(
        alerts_sent[0].text.contains(sym.as_str()),
        "{}",
        alerts_sent[0].text
    );
    fake_telegram::check_html(&alerts_sent[0].text).unwrap();

    // A restart: the same published screen again, nothing re-sent.
    let now = h.runner.state().snapshot();
    let restarted = AlertService::open(
        h.runner.store().clone(),
        dipwatch::bot::alerts::render(),
        &AlertSettings::from_config(&config),
        &now,
    )
    .await;
    assert_eq!(restarted.pending().await, 0);
    assert_eq!(
        restarted.on_new_screen(&before, &now).await.unwrap(),
        0,
        "already evaluated for this date"
    );

    // The delete button removes the rule.
    h.fake.push_callback(chat, "unalert:1");
    let deleted = h
        .fake
        .wait_until(Duration::from_secs(10), |s| {
            s.iter()
                .any(|x| x.chat_id == chat && x.text == "Alert #1 deleted.")
        })
        .await;
    assert!(deleted.is_ok());
    assert!(h.fake.answered_callbacks() >= 1);
    assert!(h.alerts.as_ref().unwrap().rules_of(chat).await.is_empty());
    h.stop().await;
}

/// On an S3 store with `telegram.download_links`, `/download` answers with
/// a presigned link (escaped in the HTML), and the link serves exactly the
/// CSV a document would have carried.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn download_on_s3_answers_with_a_presigned_link_that_serves_the_csv() {
    let mut h = start(Setup {
        s3_links: true,
        ..Setup::default()
    })
    .await;
    let chat = READERS.start;
    let reply = h.ask(chat, "/download drawdowns 3", 1).await;
    let msg = &reply[0];
    assert_eq!(msg.method, "sendMessage", "a link, not a document");
    assert!(msg.document.is_none());
    fake_telegram::check_html(&msg.text).unwrap();
    assert!(
        msg.text.contains("(link works for 10 minutes)"),
        "{}",
        msg.text
    );
    let href = msg
        .text
        .split("<a href=\"")
        .nth(1)
        .and_then(|r| r.split('"').next())
        .expect("a link")
        .replace("&amp;", "&");
    assert!(href.contains("/dipwatch-bot/lake/_downloads/"), "{href}");
    assert!(href.contains("X-Amz-Signature="), "{href}");
    assert!(
        !href.contains("secret_access_key") && !href.contains("testing&"),
        "{href}"
    );
    // Fetched with no credentials at all: the signature is the permission.
    let body = reqwest::get(&href).await.unwrap();
    assert_eq!(body.status(), 200, "{href}");
    let csv = body.text().await.unwrap();
    let expected = dipwatch::bot::download::build_csv(
        h.runner.store(),
        dipwatch::store::Dataset::Drawdowns,
        3,
        usize::MAX,
    )
    .await
    .unwrap()
    .unwrap();
    assert_eq!(csv.as_bytes(), expected.bytes.as_slice());
    assert!(csv.starts_with("date,symbol,current_price,peak_price,"));
    h.stop().await;
}

/// `/alert` levels and counts are bounded at parse time (a usage line names
/// the problem, echoing the argument clipped), a ticker outside the
/// universe is accepted with a warning, and a list too long for one message
/// (a book from before the bounds, holding absurd levels) is split into
/// messages Telegram accepts, the delete buttons under the last.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn alert_levels_are_bounded_and_a_long_list_is_split() {
    // 30 rules at `below -1e-320`, as an older version accepted them.
    let rules: Vec<serde_json::Value> = (1..=30)
        .map(|id| {
            serde_json::json!({"id": id, "chat": READERS.start, "kind":
                {"kind": "symbol_below", "symbol": "AAPL", "level": -1e-320}})
        })
        .collect();
    let book = serde_json::json!({
        "book": {"next_id": 30, "rules": rules, "states": {}},
        "outbox": [], "next_item": 0,
    });
    let mut h = start(Setup {
        alerts_fill_days_ago: Some(1),
        book: Some(serde_json::to_vec(&book).unwrap()),
        ..Setup::default()
    })
    .await;
    let chat = READERS.start + 1;
    for (args, needle) in [
        ("AAPL below -1e-320", "at most 2 decimals"),
        ("AAPL below -100", "above -100 and below 0"),
        ("market below -100 count 5", "above -100 and below 0"),
        (
            "market below -20 count 18446744073709551615",
            "from 1 to 10000",
        ),
    ] {
        let reply = h.ask(chat, &format!("/alert {args}"), 1).await;
        let text = one_text(&reply);
        assert!(
            text.contains(needle) && text.contains("usage: /alert"),
            "{args}: {text}"
        );
    }
    assert!(h.alerts.as_ref().unwrap().rules_of(chat).await.is_empty());

    let outside = h.ask(chat, "/alert ZZZZ below -30.5", 1).await;
    let text = one_text(&outside);
    assert!(
        text.starts_with("Alert #31 set: ZZZZ below -30.5%"),
        "{text}"
    );
    assert!(text.contains("ZZZZ is not in the universe"), "{text}");
    let inside = h.ask(chat, "/alert AAPL below -30", 1).await;
    assert!(!one_text(&inside).contains("Note:"), "{}", inside[0].text);

    let owner = READERS.start;
    h.fake.push_text(owner, "/alerts");
    let got = h
        .fake
        .wait_until(WAIT, |s| {
            s.iter()
                .any(|x| x.chat_id == owner && x.reply_markup.is_some())
        })
        .await
        .expect("the list arrives with its buttons");
    let list: Vec<&Sent> = got.iter().filter(|x| x.chat_id == owner).collect();
    assert!(list.len() >= 2, "one list of {} messages", list.len());
    assert_all_accepted(&got);
    let all: String = list.iter().map(|x| x.text.as_str()).collect();
    for id in 1..=30 {
        assert!(all.contains(&format!("#{id} AAPL below")), "#{id}");
    }
    let last = list.last().unwrap();
    let buttons = last.reply_markup.as_ref().unwrap()["inline_keyboard"]
        .as_array()
        .unwrap()
        .len();
    assert_eq!(buttons, 30);
    assert!(
        list[..list.len() - 1]
            .iter()
            .all(|x| x.reply_markup.is_none())
    );
    h.stop().await;
}

/// A corrupt `alerts/book.json` is not "no alerts": `/alerts`, `/unalert`
/// and `/alert` say alerts are unavailable, and the file is left as it is.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_corrupt_alert_book_is_reported_as_unavailable_not_empty() {
    let mut h = start(Setup {
        alerts_fill_days_ago: Some(1),
        book: Some(b"{\"book\": {\"rules\": [tru".to_vec()),
        ..Setup::default()
    })
    .await;
    let chat = READERS.start;
    for ask in ["/alerts", "/unalert 1", "/alert profit"] {
        let reply = h.ask(chat, ask, 1).await;
        let text = one_text(&reply);
        assert!(text.contains("Alerts are not available"), "{ask}: {text}");
    }
    assert!(h.alerts.as_ref().unwrap().problem().is_some());
    let on_disk = std::fs::read(h._dir.path().join("data/alerts/book.json")).unwrap();
    assert_eq!(on_disk, b"{\"book\": {\"rules\": [tru", "left as it is");
    h.stop().await;
}

/// Arguments are echoed clipped to a few characters, as typed (never
/// debug-escaped): 4,080 zero-width characters get one short reply, not
/// nine full messages of `\u{200b}`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn long_arguments_are_echoed_clipped_and_unescaped() {
    let mut h = start(Setup {
        alerts_fill_days_ago: Some(1),
        ..Setup::default()
    })
    .await;
    let chat = READERS.start;
    let zw = "\u{200b}".repeat(4080);
    for ask in [
        format!("/unalert {zw}"),
        format!("/alert top {zw}"),
        format!("/alert {zw} below -30"),
        format!("/alert AAPL below {zw}"),
        format!("/alert digest {zw}"),
        format!("/symbol x{zw}"),
    ] {
        let reply = h.ask(chat, &ask, 1).await;
        tokio::time::sleep(Duration::from_millis(300)).await;
        let sent = h.fake.sent_to(chat);
        let text = &sent.last().unwrap().text;
        assert_eq!(reply.len(), 1, "{}", &ask[..12]);
        assert!(
            text.encode_utf16().count() < 400 && !text.contains("\\u{"),
            "{}: {} units: {}",
            &ask[..12],
            text.encode_utf16().count(),
            text.chars().take(200).collect::<String>()
        );
        assert!(text.contains("\u{200b}…"), "the echo is clipped: {text}");
    }
    assert_eq!(h.fake.sent_to(chat).len(), 6, "one reply each");
    h.stop().await;
}

/// `/trigger` within `telegram.trigger_cooldown_secs` of the last one that
/// started a collection is refused, whoever asks, and the reply says how
/// long is left; with the cooldown at 0 the next one starts at once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn trigger_has_a_cooldown_that_the_reply_names() {
    for (cooldown, refused) in [("300", true), ("0", false)] {
        let mut h = start(Setup {
            gated: true,
            env: vec![(
                "DIPWATCH__TELEGRAM__TRIGGER_COOLDOWN_SECS".into(),
                cooldown.into(),
            )],
            ..Setup::default()
        })
        .await;
        let first = h.ask(ADMIN, "/trigger", 1).await;
        assert!(one_text(&first).contains("Collection started"));
        h.gate.add_permits(1);
        let done = h.fake.replies(ADMIN, 2, WAIT).await;
        assert!(
            done[1].text.contains("Collection finished"),
            "{}",
            done[1].text
        );
        while h.runner.running().is_some() {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        let again = h.ask(ADMIN2, "/trigger", 1).await;
        let text = one_text(&again);
        if refused {
            assert!(
                text.contains("/trigger works again in 4 min")
                    && text.contains("telegram.trigger_cooldown_secs"),
                "{text}"
            );
            assert_eq!(h.runner.running(), None, "nothing started");
        } else {
            assert!(text.contains("Collection started"), "{text}");
            h.gate.add_permits(1);
            h.fake.replies(ADMIN2, 2, WAIT).await;
        }
        h.stop().await;
    }
}

/// `/screen@ 3` (an empty bot name) is ours and answered; an update
/// teloxide cannot parse is skipped and logged without its text, from a
/// refused chat or an allowed one, and the chats' next messages are
/// answered; no message text is logged anywhere, at any level.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_empty_bot_name_is_ours_and_unparseable_updates_log_no_text() {
    let mut h = start(Setup::default()).await;
    let chat = READERS.start + 3;
    let screen = h.ask(chat, "/screen@ 3", 1).await;
    assert!(one_text(&screen).contains("<pre>"), "{}", screen[0].text);

    let unparseable = |m: &mut serde_json::Value| {
        m.as_object_mut().unwrap().remove("date");
    };
    h.fake
        .push_edited(STRANGER, "/help TEXT-7f3a-REFUSED-UNPARSED", unparseable);
    h.fake
        .push_edited(chat, "/help TEXT-7f3a-ALLOWED-UNPARSED", unparseable);
    h.fake.push_text(STRANGER, "TEXT-7f3a-REFUSED-PLAIN");
    let refusal = h.fake.replies(STRANGER, 1, WAIT).await;
    assert!(refusal[0].text.contains("private dipwatch bot"));
    let help = h.ask(chat, "/help TEXT-7f3a-ALLOWED-PLAIN", 1).await;
    assert_eq!(
        h.fake.sent_to(chat).len(),
        2,
        "the unparseable one got nothing"
    );
    assert!(one_text(&help).contains("/screen"));
    tokio::time::sleep(Duration::from_millis(300)).await;
    let logs = captured();
    assert!(logs.contains("skipped an update teloxide cannot parse"));
    for line in logs.lines() {
        assert!(!line.contains("TEXT-7f3a"), "message text logged: {line}");
    }
    h.stop().await;
}

/// Many chats asking `/download bars` at once take turns: no more than
/// `MAX_CONCURRENT_DOWNLOADS` files are in flight to the Bot API at any
/// moment (each slot is held until its file is sent), and every chat gets
/// its file, identical to what one request alone builds.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_downloads_are_bounded_and_all_answered() {
    use dipwatch::bot::download::MAX_CONCURRENT_DOWNLOADS;
    let mut h = start(Setup::default()).await;
    h.fake.set_document_latency(Duration::from_millis(150));
    let chats: Vec<i64> = READERS.take(12).collect();
    let asks: Vec<(i64, String)> = chats
        .iter()
        .map(|c| (*c, "/download bars 366".to_string()))
        .collect();
    h.fake.push_many(&asks);
    let got = h
        .fake
        .wait_until(Duration::from_secs(60), |s| {
            chats
                .iter()
                .all(|c| s.iter().any(|x| x.chat_id == *c && x.document.is_some()))
        })
        .await;
    assert!(got.is_ok(), "every chat gets its file");
    let peak = h.fake.documents_peak();
    assert!(
        (1..=MAX_CONCURRENT_DOWNLOADS).contains(&peak),
        "{peak} documents in flight at once"
    );
    let expected =
        dipwatch::bot::download::build_csv(h.runner.store(), Dataset::Bars, 366, usize::MAX)
            .await
            .unwrap()
            .unwrap();
    for c in &chats {
        let sent = h.fake.sent_to(*c);
        assert_eq!(sent.len(), 1, "one answer to chat {c}");
        let (_, bytes) = sent[0].document.as_ref().unwrap();
        assert_eq!(bytes, &expected.bytes);
    }
    h.stop().await;
}

// ---------------------------------------------------------------- charts

/// The callback data of the button labelled `label` (exactly, or as a
/// prefix) under `sent`.
fn button_data(sent: &Sent, label: &str) -> Option<String> {
    sent.reply_markup.as_ref()?["inline_keyboard"]
        .as_array()?
        .iter()
        .flat_map(|row| row.as_array().into_iter().flatten())
        .find(|b| b["text"].as_str().is_some_and(|t| t.starts_with(label)))
        .and_then(|b| b["callback_data"].as_str().map(str::to_string))
}

/// Press a button under the bot's message `under` and wait for the press
/// to be answered; returns the answer's text.
async fn press(h: &Harness, chat: i64, under: &Sent, data: &str) -> String {
    let answered = h.fake.callback_answers().len();
    let id = h.fake.push_callback_on(chat, under.message_id, data);
    assert!(
        h.fake
            .wait_calls("answerCallbackQuery", answered + 1, WAIT)
            .await,
        "the press of {data:?} was not answered"
    );
    let answers = h.fake.callback_answers();
    let (query, text) = answers
        .iter()
        .find(|(q, _)| *q == format!("cb{id}"))
        .cloned()
        .expect("answered with the press's own id");
    assert_eq!(query, format!("cb{id}"));
    text
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn chart_sends_a_png_with_the_screens_rank_drawdown_and_peak() {
    let mut h = start(Setup::default()).await;
    let chat = READERS.start;
    let snap = h.runner.state().snapshot();
    let screen = snap.screen.as_ref().expect("a published screen");
    let row = screen
        .row(&Symbol::parse("BF.B").unwrap())
        .expect("BF.B is ranked");
    assert!(!snap.prices.is_empty(), "the state holds the price history");

    let photo = h.ask(chat, "/chart bf.b", 1).await;
    assert_all_accepted(&photo);
    assert_eq!(photo[0].method, "sendPhoto");
    let (name, png) = photo[0].document.clone().expect("a photo was uploaded");
    assert_eq!(name, "BF.B-1y.png");
    assert_eq!(fake_telegram::png_size(&png), Some((1200, 800)));
    let caption = &photo[0].text;
    for part in [
        "<i>[SIMULATED PRICES, not market data]</i>".to_string(),
        format!("Rank <b>{}</b> of {}", row.rank, screen.rows.len()),
        format!(
            "drawdown <b>{}</b>",
            dipwatch::numbers::signed_pct(row.drawdown_pct)
        ),
        format!(
            "Peak {} on {}",
            dipwatch::numbers::price(row.peak_price),
            row.peak_date
        ),
        format!("screen {}", screen.date),
    ] {
        assert!(caption.contains(&part), "{part} missing: {caption}");
    }

    // A period, bad arguments, an unknown symbol.
    let six = h.ask(chat, "/chart BF.B 6m", 1).await;
    assert_eq!(six[0].document.as_ref().unwrap().0, "BF.B-6m.png");
    let usage = h.ask(chat, "/chart BF.B 2y", 1).await;
    assert!(
        one_text(&usage).starts_with("“2y” is not a period"),
        "{}",
        usage[0].text
    );
    let missing = h.ask(chat, "/chart", 1).await;
    assert!(one_text(&missing).starts_with("Usage: /chart TICKER"));
    let unknown = h.ask(chat, "/chart ZZZZ", 1).await;
    assert_eq!(
        one_text(&unknown),
        "No chart: ZZZZ has no bars in the price history held."
    );

    // /breadth: the newest screen's counts in the caption.
    let breadth = h.ask(chat, "/breadth", 1).await;
    assert_all_accepted(&breadth);
    assert_eq!(breadth[0].method, "sendPhoto");
    let png = &breadth[0].document.as_ref().unwrap().1;
    assert_eq!(fake_telegram::png_size(png), Some((1200, 800)));
    let expect = format!(
        "Screen {}: {} of {} down 20% or more, {} down 30% or more",
        screen.date,
        screen.count_below(-20.0),
        screen.rows.len(),
        screen.count_below(-30.0)
    );
    assert!(breadth[0].text.contains(&expect), "{}", breadth[0].text);

    // /symbol's "Chart" button sends the same chart.
    let symbol = h.ask(chat, "/symbol bf.b", 1).await;
    let data = button_data(&symbol[0], "Chart BF.B").expect("a Chart button");
    assert_eq!(data, format!("ch:{}:BF.B", screen.date.format("%Y%m%d")));
    let before = h.fake.sent_to(chat).len();
    assert_eq!(press(&h, chat, &symbol[0], &data).await, "");
    let sent = h.fake.replies(chat, before + 1, WAIT).await;
    let pressed = &sent[before];
    assert_eq!(pressed.method, "sendPhoto");
    assert_eq!(pressed.text, *caption, "the same caption as /chart bf.b");
    h.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn screen_pages_through_the_whole_ranking_in_place() {
    let mut h = start(Setup::default()).await;
    let chat = READERS.start + 1;
    let snap = h.runner.state().snapshot();
    let screen = snap.screen.as_ref().expect("a published screen");
    let ranked = screen.rows.len();
    assert!(ranked > 10, "enough rows for three pages: {ranked}");

    let first = h.ask(chat, "/screen 5", 1).await;
    assert_all_accepted(&first);
    let message = first[0].clone();
    // Every row has its chart button.
    for r in &screen.rows[..5] {
        let data = button_data(&message, &format!("📈 {}", r.symbol)).expect("a chart button");
        assert!(data.len() <= 64);
    }
    assert!(button_data(&message, "‹ Previous").is_none());
    let mut seen: Vec<u32> = screen.rows[..5].iter().map(|r| r.rank).collect();
    let mut current = message.clone();
    let mut presses = 0;
    let mut last_from = 0;
    while let Some(next) = button_data(&current, "Next ›") {
        assert!(next.len() <= 64, "{next}");
        let before = h.fake.sent_to(chat).len();
        assert_eq!(press(&h, chat, &current, &next).await, "");
        presses += 1;
        let sent = h.fake.replies(chat, before + 1, WAIT).await;
        let edit = sent[before].clone();
        assert_eq!(edit.method, "editMessageText");
        assert_eq!(edit.message_id, message.message_id, "edited in place");
        assert!(edit.refused.is_none(), "{:?}", edit.refused);
        let from = seen.len();
        last_from = from;
        let page = &screen.rows[from..(from + 5).min(ranked)];
        assert!(
            edit.text.contains(&format!(
                "Ranks {}–{} of {ranked}",
                from + 1,
                from + page.len()
            )),
            "{}",
            edit.text
        );
        for r in page {
            assert!(
                edit.text.contains(&format!(" {} ", r.symbol)),
                "{}",
                edit.text
            );
            seen.push(r.rank);
        }
        assert!(button_data(&edit, "‹ Previous").is_some());
        current = edit;
        assert!(presses < 100, "paging does not end");
    }
    let expected: Vec<u32> = (1..=ranked as u32).collect();
    assert_eq!(seen, expected, "every rank shown once, in order");

    // Back a page from the last one, and back to the first.
    let back = button_data(&current, "‹ Previous").unwrap();
    let before = h.fake.sent_to(chat).len();
    press(&h, chat, &current, &back).await;
    let sent = h.fake.replies(chat, before + 1, WAIT).await;
    let previous = sent[before].clone();
    assert_eq!(previous.method, "editMessageText");
    let want = format!("Ranks {}–{last_from} of {ranked}", last_from - 4);
    assert!(previous.text.contains(&want), "{want}: {}", previous.text);
    let mut current = previous;
    while let Some(back) = button_data(&current, "‹ Previous") {
        let before = h.fake.sent_to(chat).len();
        press(&h, chat, &current, &back).await;
        current = h.fake.replies(chat, before + 1, WAIT).await[before].clone();
    }
    assert!(
        current.text.contains(&format!("Top 5 of {ranked} ranked")),
        "{}",
        current.text
    );
    assert_eq!(
        current.reply_markup, message.reply_markup,
        "the first page's buttons"
    );
    h.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stale_button_says_so_and_shows_no_other_days_data() {
    let mut h = start(Setup::default()).await;
    let chat = READERS.start + 2;
    let snap = h.runner.state().snapshot();
    let date = snap.screen.as_ref().expect("a published screen").date;
    let first = h.ask(chat, "/screen 5", 1).await;
    let next = button_data(&first[0], "Next ›").unwrap();
    let old = date - Days::new(1);
    let stale_next = next.replace(
        &date.format("%Y%m%d").to_string(),
        &old.format("%Y%m%d").to_string(),
    );
    let stale_chart = format!("ch:{}:BF.B", old.format("%Y%m%d"));
    let sends_before = h.fake.sent().len();
    for data in [&stale_next, &stale_chart] {
        let text = press(&h, chat, &first[0], data).await;
        assert!(
            text.contains(&format!("from the screen of {old}"))
                && text.contains(&format!("now of {date}")),
            "{data}: {text}"
        );
    }
    // A press from a refused chat: a bare answer, nothing else.
    assert_eq!(press(&h, STRANGER, &first[0], &next).await, "");
    // Nothing was sent or edited for any of them (the current button
    // still works afterwards, and its edit is the only send).
    let before = h.fake.sent_to(chat).len();
    press(&h, chat, &first[0], &next).await;
    h.fake.replies(chat, before + 1, WAIT).await;
    let after: Vec<Sent> = h.fake.sent()[sends_before..].to_vec();
    assert_eq!(after.len(), 1, "{after:#?}");
    assert_eq!(after[0].method, "editMessageText");
    // Pressing the same page again changes nothing (Telegram refuses the
    // identical edit) and is not an error: no apology follows.
    let before = h.fake.sent_to(chat).len();
    press(&h, chat, &first[0], &next).await;
    let again = h.fake.replies(chat, before + 1, WAIT).await;
    assert!(
        again[before]
            .refused
            .as_deref()
            .is_some_and(|r| r.contains("message is not modified")),
        "{:?}",
        again[before]
    );
    assert_eq!(h.fake.answered_callbacks(), 5);
    let help = h.ask(chat, "/help", 1).await;
    assert!(
        one_text(&help).contains("/chart TICKER"),
        "{}",
        help[0].text
    );
    h.stop().await;
}

/// `/risk` answers from the analysis the runner computed when it loaded
/// the state (a store of one session: the reply says what is not measured
/// rather than failing), and an empty store says there is no portfolio.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn risk_answers_from_the_analysis_the_runner_loaded() {
    let mut h = start(Setup::default()).await;
    let replies = h.ask(READERS.start, "/risk", 1).await;
    let snap = h.runner.state().snapshot();
    let risk = snap
        .risk
        .as_ref()
        .expect("the runner computed the risk view");
    let text = one_text(&replies);
    assert!(
        text.starts_with("<i>[SIMULATED PRICES, not market data]</i>"),
        "{text}"
    );
    assert!(
        text.contains(&format!("<b>Risk</b> · snapshot {}", risk.date)),
        "{text}"
    );
    assert!(
        text.contains("Not measured"),
        "one session is too thin: {text}"
    );
    assert!(text.contains("Suggestions only"), "{text}");
    assert_all_accepted(&h.fake.sent());
    h.stop().await;

    let mut h = start(Setup {
        empty_store: true,
        ..Setup::default()
    })
    .await;
    let replies = h.ask(READERS.start, "/risk", 1).await;
    assert!(one_text(&replies).starts_with("No portfolio snapshot yet"));
    h.stop().await;
}

/// `/web` gives a one-time link in a button (never in the text), a new
/// token each time; `/logout` says how many sessions it ended.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn web_gives_a_one_time_link_in_a_button_and_logout_answers() {
    // The dashboard runs where the bot does: with the token configured.
    let mut h = start(Setup {
        env: vec![("TELOXIDE_TOKEN".to_string(), TOKEN.to_string())],
        ..Setup::default()
    })
    .await;
    assert_ne!(h.web_port, 0, "the dashboard is served");
    let chat = READERS.start;
    let mut tokens = Vec::new();
    for _ in 0..2 {
        let replies = h.ask(chat, "/web", 1).await;
        assert_all_accepted(&replies);
        let text = one_text(&replies);
        assert!(text.contains("works <b>once</b>"), "{text}");
        let markup = replies[0].reply_markup.as_ref().expect("a button");
        let url = markup["inline_keyboard"][0][0]["url"]
            .as_str()
            .unwrap()
            .to_string();
        // The dashboard's own address (its port was chosen at bind).
        let base = format!("http://127.0.0.1:{}/login?token=", h.web_port);
        let token = url
            .strip_prefix(&base)
            .unwrap_or_else(|| panic!("{url}"))
            .to_string();
        assert_eq!(token.len(), 32);
        assert!(token.chars().all(|c| c.is_ascii_hexdigit()));
        assert!(!text.contains(&token), "the token is only in the button");
        assert_eq!(
            markup["inline_keyboard"].as_array().unwrap().len(),
            1,
            "http: no Mini App"
        );
        tokens.push(token);
    }
    assert_ne!(tokens[0], tokens[1]);
    let replies = h.ask(chat, "/logout", 1).await;
    assert_eq!(
        one_text(&replies),
        "No dashboard session was open for this chat."
    );
    h.stop().await;
}
