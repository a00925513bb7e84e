//! The browser tests' harness: the daemon's own `App` with its dashboard
//! and its bot on the fake Bot API (the bot tests' harness, reused), over
//! a store a real collection run filled on the simulated market; signing
//! in the way users do (`/web`, then the link from the bot's reply); and
//! the screenshots' folder and checks.

#![allow(dead_code, unused_imports)]

pub use std::path::PathBuf;
pub use std::sync::Arc;

pub use dipwatch::numbers::{price, signed_pct};
pub use dipwatch::state::Snapshot;
pub use dipwatch::web::SESSION_COOKIE;

pub use crate::bot_harness::{ADMIN, Harness, READERS, STRANGER, Setup, TOKEN, start};
pub(crate) use crate::support;
pub use crate::webdriver::{Browser, Element, opted_out};

/// Symbols in the universe: more than one page of `/screen` (50 rows).
pub const SYMBOLS: usize = 120;

/// The desktop and phone viewports of the screenshots.
pub const DESKTOP: (u32, u32) = (1280, 900);
pub const PHONE: (u32, u32) = (390, 844);

/// A running daemon whose dashboard signs in through the bot.
pub struct Dashboard {
    /// The daemon's parts and the fake Bot API.
    pub h: Harness,
    /// `http://127.0.0.1:PORT`.
    pub base: String,
    _universe: tempfile::TempDir,
}

/// The daemon with the bot's token configured (so the dashboard takes
/// sessions), `SYMBOLS` symbols collected, and `env` on top.
pub async fn dashboard(env: Vec<(&str, &str)>) -> Dashboard {
    let universe = tempfile::tempdir().unwrap();
    let file = universe.path().join("universe.txt");
    std::fs::write(&file, support::universe_head(SYMBOLS)).unwrap();
    let mut all = vec![
        ("TELOXIDE_TOKEN".to_string(), TOKEN.to_string()),
        (
            "DIPWATCH__MARKET__UNIVERSE".to_string(),
            file.display().to_string(),
        ),
    ];
    all.extend(env.into_iter().map(|(k, v)| (k.to_string(), v.to_string())));
    let h = start(Setup {
        env: all,
        ..Setup::default()
    })
    .await;
    assert_ne!(h.web_port, 0, "the dashboard is served");
    let base = format!("http://127.0.0.1:{}", h.web_port);
    Dashboard {
        h,
        base,
        _universe: universe,
    }
}

/// The dashboard ([`dashboard`] with no more settings) and a browser, or
/// `None` when browser tests are opted out (the test then returns).
pub async fn dashboard_and_browser() -> Option<(Dashboard, Browser)> {
    if opted_out() {
        return None;
    }
    Some((dashboard(vec![]).await, Browser::start().await))
}

/// [`dashboard_and_browser`] with the browser signed in as `chat`.
pub async fn signed_in(chat: i64) -> Option<(Dashboard, Browser)> {
    let (d, browser) = dashboard_and_browser().await?;
    d.sign_in(&browser, chat).await;
    Some((d, browser))
}

impl Dashboard {
    /// The state the pages are rendered from.
    pub fn snapshot(&self) -> Arc<Snapshot> {
        self.h.runner.state().snapshot()
    }

    /// The dashboard's address of `path`.
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// Send `/web` from `chat` through the fake Bot API: the sign-in link
    /// in the bot's button.
    pub async fn link_from_bot(&self, chat: i64) -> String {
        let replies = self.h.ask(chat, "/web", 1).await;
        let markup = replies[0]
            .reply_markup
            .as_ref()
            .unwrap_or_else(|| panic!("no button under {:?}", replies[0].text));
        let url = markup["inline_keyboard"][0][0]["url"]
            .as_str()
            .expect("the button is a link")
            .to_string();
        assert!(
            url.starts_with(&self.url("/login?token=")),
            "the link leads to this dashboard: {url}"
        );
        url
    }

    /// Sign `browser` in as `chat`: `/web`, then the bot's link opened; it
    /// lands on the overview.
    pub async fn sign_in(&self, browser: &Browser, chat: i64) {
        let link = self.link_from_bot(chat).await;
        browser.goto(&link).await;
        assert_eq!(browser.url().await, self.url("/"), "redirected home");
        assert_eq!(browser.title().await, "Overview · dipwatch");
    }
}

/// Whether `browser` shows the refusal (the sign-in page) rather than data.
pub async fn shows_refusal(browser: &Browser) -> bool {
    browser.title().await == "Sign in · dipwatch"
        && browser
            .body_text()
            .await
            .contains("Sign in from the bot: send /web to get a one-time link.")
}

/// The browser's session cookie (HttpOnly: invisible to pages, but the
/// driver sees it).
pub async fn session_cookie(browser: &Browser) -> String {
    let cookies = browser.cookies().await;
    let (_, value, http_only) = cookies
        .iter()
        .find(|(name, _, _)| name == SESSION_COOKIE)
        .expect("signed in: a session cookie");
    assert!(http_only, "the session cookie is HttpOnly");
    value.clone()
}

/// `target/screenshots/NAME.png` (the folder created).
pub fn screenshot_path(name: &str) -> PathBuf {
    // CARGO_TARGET_TMPDIR is `target/tmp`, wherever the target folder is.
    let dir = std::path::Path::new(env!("CARGO_TARGET_TMPDIR"))
        .parent()
        .unwrap()
        .join("screenshots");
    std::fs::create_dir_all(&dir).unwrap();
    dir.join(format!("{name}.png"))
}

/// Decode `png`: its (width, height), after checking it holds pixels.
pub fn png_size(png: &[u8]) -> (u32, u32) {
    let decoder = png::Decoder::new(std::io::Cursor::new(png));
    let mut reader = decoder.read_info().expect("a PNG");
    let mut buf = vec![0; reader.output_buffer_size()];
    let info = reader.next_frame(&mut buf).expect("PNG pixels");
    let pixels = &buf[..info.buffer_size()];
    assert!(
        pixels.iter().any(|&b| b != pixels[0]),
        "the screenshot is not one flat colour"
    );
    (info.width, info.height)
}

/// This machine's first IPv4 address that is not loopback: the source
/// address of a route out (a UDP "connect" sends nothing), else the first
/// of `hostname -I`. A machine with none fails the test saying so.
pub fn non_loopback_ipv4() -> std::net::IpAddr {
    let routed = std::net::UdpSocket::bind("0.0.0.0:0")
        .and_then(|s| s.connect("192.0.2.1:9").map(|_| s))
        .and_then(|s| s.local_addr())
        .map(|a| a.ip())
        .ok();
    let listed = || {
        let out = std::process::Command::new("hostname")
            .arg("-I")
            .output()
            .ok()?;
        String::from_utf8_lossy(&out.stdout)
            .split_whitespace()
            .filter_map(|a| a.parse::<std::net::IpAddr>().ok())
            .find(|a| a.is_ipv4() && !a.is_loopback())
    };
    routed
        .filter(|a| !a.is_loopback() && !a.is_unspecified())
        .or_else(listed)
        .expect("this machine has no non-loopback IPv4 address: the anonymous-mode test needs one")
}
