//! The bot tests' harness: the daemon's own App over a gated simulated
//! market, the fake Bot API, chats and their roles, log capture.

#![allow(dead_code, unused_imports)]

pub(crate) use crate::support;
pub(crate) use crate::support::fake_telegram;

pub use std::collections::BTreeMap;
pub use std::io::Write;
pub use std::sync::{Arc, Mutex, OnceLock};
pub use std::time::Duration;

pub use async_trait::async_trait;
pub use chrono::{Days, NaiveDate, Utc};
pub use rand::{Rng, SeedableRng};
pub use secrecy::SecretString;
pub use tokio::sync::Semaphore;
pub use tokio_util::sync::CancellationToken;

pub use dipwatch::alerts::{AlertService, AlertSettings};
pub use dipwatch::app::{App, Sources};
pub use dipwatch::bot::limiter::Limits;
pub use dipwatch::bot::{BotContext, BotOptions};
pub use dipwatch::collect::Dates;
pub use dipwatch::config::AppConfig;
pub use dipwatch::domain::{Position, RunSource, Symbol, profit_check};
pub use dipwatch::market::sim::SimMarket;
pub use dipwatch::market::{BarsAnswer, MarketData, MarketError, Session};
pub use dipwatch::metrics::Metrics;
pub use dipwatch::runner::{Runner, RunnerParts, Trigger};
pub use dipwatch::state::{AppState, PortfolioState, Snapshot};
pub use dipwatch::store::{Dataset, Store};
pub use fake_telegram::{FakeTelegram, Fault, Sent, TOKEN, check_html};
pub use rust_decimal::Decimal;

/// Chats on `telegram.allowed_chat_ids`.
pub const READERS: std::ops::Range<i64> = 1001..1041;
/// An allowed group chat.
pub const GROUP: i64 = -100_500;
/// Chats on `telegram.admin_chat_ids`.
pub const ADMIN: i64 = 2001;
pub const ADMIN2: i64 = 2002;
/// A chat on neither list.
pub const STRANGER: i64 = 6666;

pub const WAIT: Duration = Duration::from_secs(20);

pub const TICKERS: [&str; 24] = [
    "AAPL", "MSFT", "NVDA", "AMZN", "GOOGL", "META", "BF.B", "BRK.B", "JPM", "XOM", "PFE", "INTC",
    "WBA", "PARA", "DG", "EL", "CVS", "TGT", "MRNA", "SAM", "ALSN", "KO", "PEP", "WMT",
];

// ---------------------------------------------------------------- logs

/// Everything logged by this test binary (all tests), captured at TRACE,
/// teloxide's `log` records and reqwest/hyper included.
pub fn logs() -> &'static Mutex<Vec<u8>> {
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

pub struct Capture(&'static Mutex<Vec<u8>>);

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

pub fn captured() -> String {
    String::from_utf8_lossy(&logs().lock().unwrap_or_else(|e| e.into_inner())).into_owned()
}

// ---------------------------------------------------------------- harness

/// The simulated market, optionally held at a gate so a run stays "in
/// progress" until the test lets it finish (no other behaviour changes).
pub struct GatedMarket {
    pub sim: SimMarket,
    pub gate: Option<Arc<Semaphore>>,
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

pub struct Harness {
    pub fake: FakeTelegram,
    /// The dashboard's port (0 when it is off); it is served until shutdown.
    pub web_port: u16,
    /// The dashboard's sign-in state (the one `/web` issues links from).
    pub web_auth: Arc<dipwatch::web::WebAuth>,
    pub alerts: Option<AlertService>,
    pub runner: Runner,
    pub metrics: Arc<Metrics>,
    pub shutdown: CancellationToken,
    pub bot: Option<tokio::task::JoinHandle<()>>,
    /// The alert runtime's task, when it runs.
    pub alerts_task: Option<tokio::task::JoinHandle<()>>,
    pub gate: Arc<Semaphore>,
    /// The fake Alpaca the daemon collects from and trades on (a trading
    /// setup only).
    pub alpaca: Option<support::fake_alpaca::FakeAlpaca>,
    /// The order service the bot uses (a trading setup only).
    pub trading: Option<dipwatch::trading::Trading>,
    /// The audit journal in the store.
    pub journal: dipwatch::journal::Journal,
    /// The allow-lists the bot reads (a test may change them as SIGHUP does).
    pub access: dipwatch::access::Access,
    pub _dir: tempfile::TempDir,
    pub _s3: Option<support::MotoServer>,
}

/// Something done to the fake before the bot starts.
pub type Prepare = Box<dyn FnOnce(&FakeTelegram)>;

#[derive(Default)]
pub struct Setup {
    /// Hold collection runs started by `/trigger` until released.
    pub gated: bool,
    /// Send limits (default: Telegram's).
    pub limits: Option<Limits>,
    /// Updates a chat may have in the bot at once (default: the bot's).
    pub per_chat: Option<usize>,
    /// Prepare the fake before the bot starts.
    pub before: Option<Prepare>,
    /// Do not collect anything first (an empty store).
    pub empty_store: bool,
    /// Empty `allowed_chat_ids` and `admin_chat_ids` (the default config).
    pub nobody_allowed: bool,
    /// Run the alert runtime, and stop the first fill this many days back.
    pub alerts_fill_days_ago: Option<u64>,
    /// Store in a fresh bucket of a moto S3 server, `/download` as links.
    pub s3_links: bool,
    /// `alerts/book.json` as found in the store when the daemon starts.
    pub book: Option<Vec<u8>>,
    /// More configuration, as `DIPWATCH__...` variables.
    pub env: Vec<(String, String)>,
    /// Trade on a fake Alpaca: the daemon's own assembly (`App::build`)
    /// with `market.provider = "alpaca"` and `trading.enabled`, the store
    /// filled by a real collection of this many days from the fake (the
    /// risk view measures 90 sessions), the order follower running.
    pub trading_days: Option<u64>,
}

impl Setup {
    /// The default setup with `change` made to it.
    pub fn with(change: impl FnOnce(&mut Setup)) -> Self {
        let mut setup = Self::default();
        change(&mut setup);
        setup
    }

    /// The dashboard served next to the bot: it runs where the bot token
    /// is configured.
    pub fn with_dashboard() -> Self {
        Self::with(|s| s.env = vec![("TELOXIDE_TOKEN".to_string(), TOKEN.to_string())])
    }

    /// `prepare` done to the fake before the bot starts.
    pub fn prepared(prepare: impl FnOnce(&FakeTelegram) + 'static) -> Self {
        Self::with(|s| s.before = Some(Box::new(prepare)))
    }
}

pub fn options(limits: Option<Limits>, per_chat: Option<usize>) -> BotOptions {
    BotOptions {
        per_chat: per_chat.unwrap_or(dipwatch::bot::lanes::PER_CHAT),
        poll_timeout: Duration::from_secs(5),
        backoff_base: Duration::from_millis(50),
        backoff_max: Duration::from_millis(400),
        limits: limits.unwrap_or_default(),
        ..BotOptions::default()
    }
}

pub fn config(dir: &std::path::Path) -> AppConfig {
    config_with(dir, true)
}

pub fn config_with(dir: &std::path::Path, lists: bool) -> AppConfig {
    config_with_env(dir, lists, Vec::new())
}

pub fn config_with_env(
    dir: &std::path::Path,
    lists: bool,
    extra: Vec<(String, String)>,
) -> AppConfig {
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
pub fn recent_range(days_ago: u64) -> Dates {
    let today = Utc::now()
        .with_timezone(&chrono_tz::America::New_York)
        .date_naive();
    Dates::Range {
        from: today - Days::new(14 + days_ago),
        to: today - Days::new(days_ago),
    }
}

pub async fn start(setup: Setup) -> Harness {
    logs();
    let dir = tempfile::tempdir().unwrap();
    let mut extra = Vec::new();
    let s3 = setup.s3_links.then(|| {
        let moto = support::MotoServer::start();
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
    // The test's own settings last: they win (a dashboard on 0.0.0.0).
    extra.extend(setup.env.clone());
    let alpaca = setup.trading_days.map(|_| {
        let fake = support::fake_alpaca::FakeAlpaca::start(
            support::fake_alpaca::FakeAlpacaOptions::new().universe_strs(&TICKERS),
        );
        // Open whatever the hour, so orders are placed now.
        fake.set_market_open(Some(true));
        fake
    });
    if let Some(fake) = &alpaca {
        // The test's own settings (setup.env) come after these and win.
        let mut trading = trading_env(fake);
        trading.extend(extra);
        extra = trading;
    }
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
    // The daemon's own assembly, with a market the test can hold back (or
    // the fake Alpaca, to trade on).
    let mut app = match alpaca {
        Some(_) => App::build(config).await.expect("app"),
        None => App::build_with(
            config,
            Sources {
                market,
                broker: Some(broker),
            },
        )
        .await
        .expect("app"),
    };
    let runner = app.runner().clone();
    let metrics = app.metrics().clone();
    if !setup.empty_store {
        // Fill the store through a real run (the gate opened for it).
        gate.add_permits(1);
        let dates = match setup.trading_days {
            Some(days) => support::days_before_today(days),
            None => recent_range(setup.alerts_fill_days_ago.unwrap_or(1)),
        };
        match runner.trigger(RunSource::CatchUp, dates) {
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
    let trading = ctx.trading.clone();
    let journal = ctx.journal.clone();
    let access = ctx.config.access.clone();
    // The order follower, as the daemon runs it among its duties.
    if let Some(t) = &trading {
        t.spawn_follower(shutdown.clone());
    }
    let web_port = app.web_addr().map_or(0, |a| a.port());
    let web_auth = app.web_auth().clone();
    // The dashboard, as the daemon serves it, so a `/web` link opens: the
    // same runner, sign-in state and /trigger cooldown as the bot.
    app.spawn_web(&shutdown);
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
        web_auth,
        alerts,
        runner,
        metrics,
        shutdown,
        bot: Some(bot),
        alerts_task,
        gate,
        alpaca,
        trading,
        journal,
        access,
        _dir: dir,
        _s3: s3,
    }
}

/// Trading on, on the fake: provider, URLs, keys, `trading.enabled`.
fn trading_env(fake: &support::fake_alpaca::FakeAlpaca) -> Vec<(String, String)> {
    let mut env: Vec<(String, String)> = [
        ("DIPWATCH__MARKET__PROVIDER", "alpaca".to_string()),
        ("DIPWATCH__MARKET__DATA_URL", fake.url()),
        ("DIPWATCH__MARKET__TRADING_URL", fake.url()),
        ("DIPWATCH__TRADING__ENABLED", "true".to_string()),
        // The fake serves only the universe: no benchmark beside it.
        ("DIPWATCH__BACKTEST__BENCHMARK", "universe".to_string()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v))
    .collect();
    env.extend(
        fake.credentials_env()
            .into_iter()
            .map(|(k, v)| (k.to_string(), v)),
    );
    env
}

impl Harness {
    /// Send `text` from `chat` and wait for `n` replies to it.
    pub async fn ask(&self, chat: i64, text: &str, n: usize) -> Vec<Sent> {
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

    /// Each of `texts` from its own reader chat, all at once (so
    /// Telegram's one-message-a-second per chat does not serialise the
    /// test): the one reply to each, in order.
    pub async fn ask_each<const N: usize>(&self, texts: [&str; N]) -> [Vec<Sent>; N] {
        let asks = READERS
            .zip(texts)
            .map(|(chat, text)| self.ask(chat, text, 1));
        let replies = futures::future::join_all(asks).await;
        assert_eq!(replies.len(), N, "a reader chat for each text");
        replies.try_into().expect("one reply list per text")
    }

    /// Let the held run finish: the admin who started it is told it
    /// finished (its second reply).
    pub async fn finish_gated_run(&self, admin: i64) {
        self.gate.add_permits(1);
        let done = self.fake.replies(admin, 2, WAIT).await;
        assert!(
            done[1].text.contains("Collection finished"),
            "{}",
            done[1].text
        );
    }

    /// `text` from each of `chats`, pushed at once.
    pub fn push_to_all(&self, chats: &[i64], text: &str) {
        let updates: Vec<(i64, String)> = chats.iter().map(|c| (*c, text.to_string())).collect();
        self.fake.push_many(&updates);
    }

    /// Stop the bot and wait for it (a hang fails the test).
    pub async fn stop(&mut self) {
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

    pub fn still_running(&self) -> bool {
        self.bot.as_ref().is_some_and(|b| !b.is_finished())
    }
}

/// Every send so far was accepted by the fake (valid HTML, size, chat).
pub fn assert_all_accepted(sent: &[Sent]) {
    for s in sent {
        assert!(
            s.refused.is_none(),
            "refused send to {}: {:?}\n{}",
            s.chat_id,
            s.refused,
            s.text
        );
        // An edit of the buttons alone has no text to parse.
        if s.method != "editMessageReplyMarkup" {
            assert_eq!(s.parse_mode.as_deref(), Some("HTML"), "{}", s.text);
        }
    }
}

/// The URL of the first button of a reply (the sign-in link of `/web`).
pub fn button_url(reply: &Sent) -> String {
    let markup = reply.reply_markup.as_ref().expect("a button");
    markup["inline_keyboard"][0][0]["url"]
        .as_str()
        .expect("a URL button")
        .to_string()
}

pub fn one_text(replies: &[Sent]) -> &str {
    assert_eq!(replies.len(), 1, "{replies:#?}");
    &replies[0].text
}
