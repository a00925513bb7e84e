//! The daemon's own assembly (`App::build`) over the simulated market,
//! its dashboard served on loopback: what the web tests start, fill with a
//! real collection run, sign in to and ask over real HTTP.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::Path;

use dipwatch::app::App;
use dipwatch::collect::Dates;
use dipwatch::config::AppConfig;
use dipwatch::domain::RunSource;
use dipwatch::runner::Trigger;
use reqwest::StatusCode;
use reqwest::header::SET_COOKIE;
use tempfile::TempDir;

/// A simulated-market app being set up: its store in a temp dir it owns,
/// the settings as `DIPWATCH__*` variables (the way users write them).
pub struct SimApp {
    dir: TempDir,
    env: HashMap<String, String>,
}

impl SimApp {
    /// The first `symbols` tickers of the bundled universe on the simulated
    /// market, the store in a fresh temp dir; no listener yet.
    pub fn new(symbols: usize) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let universe = dir.path().join("u.txt");
        std::fs::write(&universe, super::universe_head(symbols)).unwrap();
        let env = [
            ("DIPWATCH__MARKET__PROVIDER", "sim".to_string()),
            ("DIPWATCH__MARKET__UNIVERSE", universe.display().to_string()),
            (
                "DIPWATCH__STORAGE__URL",
                dir.path().join("data").display().to_string(),
            ),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v))
        .collect();
        Self { dir, env }
    }

    /// One more setting (`DIPWATCH__SECTION__KEY` or `TELOXIDE_TOKEN`).
    pub fn set(mut self, key: &str, value: impl ToString) -> Self {
        self.env.insert(key.to_string(), value.to_string());
        self
    }

    /// The health and dashboard listeners on free loopback ports.
    pub fn listening(self) -> Self {
        self.set("DIPWATCH__HTTP__LISTEN", "127.0.0.1:0")
            .set("DIPWATCH__WEB__LISTEN", "127.0.0.1:0")
    }

    /// The store's folder (the temp dir).
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    /// The settings so far: also what the real binary gets to read the
    /// same store.
    pub fn env(&self) -> &HashMap<String, String> {
        &self.env
    }

    /// The app as the daemon assembles it, not served yet; the temp dir
    /// lives as long as the caller keeps it.
    pub async fn build(self) -> (App, TempDir) {
        let config = AppConfig::load_with_env(None, self.env).unwrap();
        (App::build(config).await.unwrap(), self.dir)
    }

    /// [`SimApp::build`], one run over `dates` published, then served:
    /// the app, its dashboard's address and the temp dir.
    pub async fn start(self, dates: Dates) -> (App, SocketAddr, TempDir) {
        let (mut app, dir) = self.build().await;
        run(&app, RunSource::Manual, dates).await;
        let addr = serve(&mut app).await;
        (app, addr, dir)
    }
}

/// One collection run through the runner, to the end.
pub async fn run(app: &App, source: RunSource, dates: Dates) {
    match app.runner().trigger(source, dates) {
        Trigger::Started(done) => {
            done.await.expect("run");
        }
        Trigger::AlreadyRunning(_) => unreachable!("nothing else runs"),
    }
}

/// Load the state and serve the dashboard; its address.
pub async fn serve(app: &mut App) -> SocketAddr {
    app.load_state().await;
    let addr = app.web_addr().expect("dashboard on");
    let shutdown = tokio_util::sync::CancellationToken::new();
    app.spawn_web(&shutdown).expect("served");
    // The server stops with the runtime at the end of the test.
    std::mem::forget(shutdown);
    addr
}

/// A client that follows no redirects (the sign-in's 303 is asserted).
pub fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

/// Follow a fresh one-time link for `chat` with `client`: the session
/// cookie as `name=value`, after checking it is a 303 to `/` with an
/// HttpOnly, SameSite=Strict cookie (not Secure: the public URL is http).
pub async fn sign_in_with(client: &reqwest::Client, app: &App, base: &str, chat: i64) -> String {
    let token = app.web_auth().issue_login(chat).unwrap();
    let r = client
        .get(format!("{base}/login?token={token}"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    assert_eq!(r.headers()[reqwest::header::LOCATION], "/");
    let cookie = r.headers()[SET_COOKIE].to_str().unwrap().to_string();
    assert!(
        cookie.contains("HttpOnly") && cookie.contains("SameSite=Strict"),
        "{cookie}"
    );
    assert!(!cookie.contains("Secure"), "the public URL is http");
    cookie.split(';').next().unwrap().to_string()
}

/// [`sign_in_with`] a plain [`client`].
pub async fn sign_in(app: &App, base: &str, chat: i64) -> String {
    sign_in_with(&client(), app, base, chat).await
}

/// The body of a GET of `url` sent with the session `cookie`
/// (`name=value`).
pub async fn get_text(
    client: &reqwest::Client,
    url: impl reqwest::IntoUrl,
    cookie: &str,
) -> String {
    client
        .get(url)
        .header("cookie", cookie)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap()
}

/// A form POSTed to `url` with the session `cookie` (`name=value`): the
/// response, for its status.
pub async fn post_form(
    client: &reqwest::Client,
    url: impl reqwest::IntoUrl,
    cookie: &str,
    form: &[(&str, &str)],
) -> reqwest::Response {
    client
        .post(url)
        .header("cookie", cookie)
        .form(form)
        .send()
        .await
        .unwrap()
}

/// The CSRF token the page's forms carry.
pub fn csrf_of(page: &str) -> String {
    page.split("name=\"csrf\" value=\"")
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .expect("the page's forms carry a CSRF token")
        .to_string()
}

impl SimApp {
    /// Market data and the broker from `fake` instead of the simulation
    /// (`market.provider = "alpaca"`, both URLs, its key pair), with
    /// trading on: orders go to the fake, PAPER (it is not the live URL).
    pub fn trading_on(mut self, fake: &super::fake_alpaca::FakeAlpaca) -> Self {
        self = self
            .set("DIPWATCH__MARKET__PROVIDER", "alpaca")
            .set("DIPWATCH__MARKET__DATA_URL", fake.url())
            .set("DIPWATCH__MARKET__TRADING_URL", fake.url())
            .set("DIPWATCH__TRADING__ENABLED", true);
        for (k, v) in fake.credentials_env() {
            self = self.set(k, v);
        }
        self
    }
}

/// A symbol of the latest screen the account does not hold, its last trade
/// set to $50 on `fake`: one order of a few shares passes every guard.
pub fn unheld_symbol(app: &App, fake: &super::fake_alpaca::FakeAlpaca) -> dipwatch::Symbol {
    let snap = app.runner().state().snapshot();
    let held: Vec<&str> = snap.portfolio.as_ref().map_or(vec![], |p| {
        p.positions.iter().map(|x| x.symbol.as_str()).collect()
    });
    let symbol = snap
        .screen
        .as_ref()
        .expect("collected")
        .rows
        .iter()
        .map(|r| r.symbol.clone())
        .find(|s| !held.contains(&s.as_str()))
        .expect("a symbol not held");
    fake.set_last_price(symbol.as_str(), rust_decimal::dec!(50));
    symbol
}

/// Buy `shares` of `symbol` the bot's way, as the admin `chat`: previewed,
/// then confirmed. The order as placed.
pub async fn buy_as(
    app: &App,
    chat: i64,
    symbol: &dipwatch::Symbol,
    shares: rust_decimal::Decimal,
) -> dipwatch::domain::Order {
    use dipwatch::trading::{Actor, Amount, Ask, Source};
    let trading = app.web_context().trading.expect("trading is on");
    let actor = Actor {
        source: Source::Chat(chat),
        role: dipwatch::access::Role::Admin,
    };
    let ask = Ask {
        symbol: symbol.clone(),
        side: dipwatch::domain::OrderSide::Buy,
        amount: Amount::Shares(shares),
        limit: None,
    };
    let preview = trading.preview(&ask, &actor).await.expect("previewed");
    trading
        .confirm(&preview.token, &actor)
        .await
        .expect("placed")
        .order
}

/// Place an order for 3 shares of `symbol` on `fake` as another app would
/// (no dipwatch id, no journal row): its Alpaca id.
pub async fn placed_elsewhere(fake: &super::fake_alpaca::FakeAlpaca, symbol: &str) -> String {
    let body = serde_json::json!({
        "symbol": symbol, "qty": "3", "side": "buy", "type": "limit",
        "time_in_force": "day", "limit_price": "10.00",
    });
    let r = reqwest::Client::new()
        .post(format!("{}/v2/orders", fake.url()))
        .header("APCA-API-KEY-ID", fake.key_id())
        .header("APCA-API-SECRET-KEY", fake.secret_key())
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let order: serde_json::Value = r.json().await.unwrap();
    order["id"].as_str().unwrap().to_string()
}
