//! A headless Chromium driven over the W3C WebDriver protocol: the
//! browser and `chromedriver` as children that die with the test, and the
//! few WebDriver commands the tests use, as plain JSON over loopback HTTP
//! (reqwest, already a dependency: no WebDriver crate and its tree).
//!
//! Chromium is started by the harness, not by chromedriver, so that it
//! carries `PR_SET_PDEATHSIG` itself (chromedriver's own Chromium outlives
//! a killed chromedriver); chromedriver attaches to it through
//! `debuggerAddress`. Each child leads its own process group, and the
//! guard kills the whole group (renderers, zygotes, crash handlers).

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use base64::Engine;
use serde_json::{Value, json};

use crate::support::{ChildGuard, free_port};

/// The env variable that opts out of the browser tests (`skip`): without
/// it a missing `chromium` or `chromedriver` fails the tests.
pub const OPT_OUT: &str = "DIPWATCH_BROWSER_TESTS";

/// The W3C key of an element reference in WebDriver answers.
const ELEMENT_KEY: &str = "element-6066-11e4-a52e-4f735466cecf";

/// How long the browser and the driver may take to come up (a loaded CI
/// machine), and any one command (a hang fails the test).
const STARTUP: Duration = Duration::from_secs(30);
const COMMAND: Duration = Duration::from_secs(30);
/// How long a click's page may take to load.
const NAVIGATION: Duration = Duration::from_secs(15);

/// Whether the browser tests were opted out of (`DIPWATCH_BROWSER_TESTS=skip`);
/// says so on stderr, so a skip is never silent.
pub fn opted_out() -> bool {
    let skip = std::env::var(OPT_OUT).is_ok_and(|v| v == "skip");
    if skip {
        eprintln!("browser test skipped: {OPT_OUT}=skip");
    }
    skip
}

/// `name`'s path on `PATH`, or a failure that says how to install it.
fn on_path(name: &str) -> PathBuf {
    std::env::var_os("PATH")
        .iter()
        .flat_map(std::env::split_paths)
        .map(|dir| dir.join(name))
        .find(|p| p.is_file())
        .unwrap_or_else(|| {
            panic!(
                "`{name}` is not on PATH: the browser tests need Debian's `chromium` and \
                 `chromium-driver` (scripts/test installs them), or {OPT_OUT}=skip to opt out"
            )
        })
}

/// A child in its own process group with `PR_SET_PDEATHSIG`; dropping it
/// kills the whole group, then the guard reaps the leader.
struct Group(ChildGuard);

impl Group {
    fn spawn(cmd: &mut Command) -> Self {
        use std::os::unix::process::CommandExt;
        cmd.process_group(0)
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        let program = cmd.get_program().to_string_lossy().into_owned();
        Self(ChildGuard::spawn(cmd).unwrap_or_else(|e| panic!("spawn {program}: {e}")))
    }
}

impl Drop for Group {
    fn drop(&mut self) {
        // SAFETY: kill(2) on the process group our unreaped child leads:
        // its id cannot have been reused.
        unsafe {
            libc::kill(-(self.0.id() as libc::pid_t), libc::SIGKILL);
        }
    }
}

/// A headless Chromium with a WebDriver session on it. Fields drop in
/// order: the driver, then the browser, then its profile directory.
pub struct Browser {
    http: reqwest::Client,
    /// `http://127.0.0.1:PORT/session/ID`.
    session: String,
    _driver: Group,
    _chromium: Group,
    _profile: tempfile::TempDir,
}

/// An element of the current page.
#[derive(Debug, Clone)]
pub struct Element(String);

impl Browser {
    /// Start Chromium and chromedriver and open a session; a missing
    /// binary or a browser that does not come up fails the test.
    pub async fn start() -> Self {
        let chromium = on_path("chromium");
        let chromedriver = on_path("chromedriver");
        let profile = tempfile::tempdir().unwrap();
        let browser = Group::spawn(
            Command::new(&chromium)
                .args([
                    "--headless=new",
                    "--no-sandbox",
                    "--disable-gpu",
                    "--disable-dev-shm-usage",
                    "--no-first-run",
                    "--disable-extensions",
                    "--remote-debugging-address=127.0.0.1",
                    "--remote-debugging-port=0",
                    "--window-size=1280,900",
                    "--hide-scrollbars",
                ])
                .arg(format!("--user-data-dir={}", profile.path().display()))
                .arg("about:blank"),
        );
        let devtools = devtools_port(profile.path());
        let port = free_port();
        let driver = Group::spawn(
            Command::new(&chromedriver).args([format!("--port={port}"), "--silent".into()]),
        );
        let http = reqwest::Client::builder().timeout(COMMAND).build().unwrap();
        let base = format!("http://127.0.0.1:{port}");
        let deadline = Instant::now() + STARTUP;
        loop {
            let ready = http.get(format!("{base}/status")).send().await;
            if let Ok(r) = ready
                && let Ok(v) = r.json::<Value>().await
                && v["value"]["ready"] == true
            {
                break;
            }
            assert!(Instant::now() < deadline, "chromedriver did not come up");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        let caps = json!({ "capabilities": { "alwaysMatch": {
            "browserName": "chrome",
            "goog:chromeOptions": { "debuggerAddress": format!("127.0.0.1:{devtools}") },
        } } });
        let answer = command(
            &http,
            reqwest::Method::POST,
            &format!("{base}/session"),
            Some(caps),
        )
        .await;
        let id = answer["sessionId"]
            .as_str()
            .unwrap_or_else(|| panic!("no session: {answer}"))
            .to_string();
        Self {
            http,
            session: format!("{base}/session/{id}"),
            _driver: driver,
            _chromium: browser,
            _profile: profile,
        }
    }

    async fn call(&self, method: reqwest::Method, path: &str, body: Option<Value>) -> Value {
        command(&self.http, method, &format!("{}{path}", self.session), body).await
    }

    async fn post(&self, path: &str, body: Value) -> Value {
        self.call(reqwest::Method::POST, path, Some(body)).await
    }

    async fn get(&self, path: &str) -> Value {
        self.call(reqwest::Method::GET, path, None).await
    }

    /// Open `url` and wait for it to load.
    pub async fn goto(&self, url: &str) {
        self.post("/url", json!({ "url": url })).await;
    }

    /// The address of the page shown.
    pub async fn url(&self) -> String {
        self.get("/url").await.as_str().unwrap().to_string()
    }

    /// The page's title.
    pub async fn title(&self) -> String {
        self.get("/title").await.as_str().unwrap().to_string()
    }

    /// Every element matching the CSS selector, in document order.
    pub async fn find_all(&self, css: &str) -> Vec<Element> {
        let v = self
            .post(
                "/elements",
                json!({ "using": "css selector", "value": css }),
            )
            .await;
        v.as_array()
            .unwrap_or_else(|| panic!("{css}: {v}"))
            .iter()
            .map(|e| Element(e[ELEMENT_KEY].as_str().unwrap().to_string()))
            .collect()
    }

    /// The one element matching `css` (a failure when there is none).
    pub async fn find(&self, css: &str) -> Element {
        let all = self.find_all(css).await;
        let url = self.url().await;
        all.into_iter()
            .next()
            .unwrap_or_else(|| panic!("no {css} on {url}"))
    }

    /// The rendered text of each element matching `css`.
    pub async fn texts(&self, css: &str) -> Vec<String> {
        let mut out = Vec::new();
        for e in self.find_all(css).await {
            out.push(self.text(&e).await);
        }
        out
    }

    /// The cells of each row matching `css` (rendered text, split at
    /// whitespace: no cell of the dashboard's tables holds a space).
    pub async fn table_rows(&self, css: &str) -> Vec<Vec<String>> {
        let mut out = Vec::new();
        for row in self.texts(css).await {
            out.push(row.split_whitespace().map(str::to_string).collect());
        }
        out
    }

    /// Replace an input's value with `text`, typed.
    pub async fn type_into(&self, e: &Element, text: &str) {
        self.post(&format!("/element/{}/clear", e.0), json!({}))
            .await;
        self.post(&format!("/element/{}/value", e.0), json!({ "text": text }))
            .await;
    }

    /// An element's rendered text.
    pub async fn text(&self, e: &Element) -> String {
        let v = self.get(&format!("/element/{}/text", e.0)).await;
        v.as_str().unwrap().to_string()
    }

    /// An element's attribute (`None` when it has none).
    pub async fn attribute(&self, e: &Element, name: &str) -> Option<String> {
        let v = self
            .get(&format!("/element/{}/attribute/{name}", e.0))
            .await;
        v.as_str().map(str::to_string)
    }

    /// Click a link or a form's button and wait until the page it opens
    /// has loaded. WebDriver's click may return before a navigation it
    /// starts has replaced the document, so reading the page right after
    /// could see the old one: this waits for the old document's root to go
    /// stale and the new one to be complete.
    pub async fn click(&self, e: &Element) {
        let old_root = self.find("html").await;
        self.post(&format!("/element/{}/click", e.0), json!({}))
            .await;
        let deadline = Instant::now() + NAVIGATION;
        loop {
            let old_gone = self
                .try_get(&format!("/element/{}/name", old_root.0))
                .await
                .is_err();
            if old_gone && self.ready_state().await == "complete" {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "the click did not open a page within {NAVIGATION:?} (still on {})",
                self.url().await
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// `document.readyState` of the page shown.
    async fn ready_state(&self) -> String {
        let v = self
            .post(
                "/execute/sync",
                json!({ "script": "return document.readyState", "args": [] }),
            )
            .await;
        v.as_str().unwrap_or_default().to_string()
    }

    /// A GET that may fail (an element gone with its page): its value or
    /// the error.
    async fn try_get(&self, path: &str) -> Result<Value, Value> {
        let url = format!("{}{path}", self.session);
        let r = self
            .http
            .get(&url)
            .send()
            .await
            .unwrap_or_else(|e| panic!("WebDriver GET {url}: {e}"));
        let ok = r.status().is_success();
        let mut v: Value = r.json().await.expect("a WebDriver answer is JSON");
        if ok {
            Ok(v["value"].take())
        } else {
            Err(v["value"].take())
        }
    }

    /// Choose `value` in a `<select>` (clicks its option; no navigation).
    pub async fn select(&self, select_css: &str, value: &str) {
        let option = self
            .find(&format!("{select_css} option[value=\"{value}\"]"))
            .await;
        self.post(&format!("/element/{}/click", option.0), json!({}))
            .await;
    }

    /// Run `script` (a function body; `return` gives its value) in the
    /// page shown: its value.
    pub async fn execute(&self, script: &str) -> Value {
        self.post("/execute/sync", json!({ "script": script, "args": [] }))
            .await
    }

    /// Look inside the frame `e` (later commands act on its document).
    pub async fn enter_frame(&self, e: &Element) {
        self.post(
            "/frame",
            json!({ "id": { "element-6066-11e4-a52e-4f735466cecf": e.0 } }),
        )
        .await;
    }

    /// The text of the whole page body.
    pub async fn body_text(&self) -> String {
        let body = self.find("body").await;
        self.text(&body).await
    }

    /// The browser's cookies for the current page, as (name, value, httpOnly).
    pub async fn cookies(&self) -> Vec<(String, String, bool)> {
        let v = self.get("/cookie").await;
        v.as_array()
            .unwrap()
            .iter()
            .map(|c| {
                (
                    c["name"].as_str().unwrap().to_string(),
                    c["value"].as_str().unwrap().to_string(),
                    c["httpOnly"] == true,
                )
            })
            .collect()
    }

    /// Set a cookie for the current page's site.
    pub async fn set_cookie(&self, name: &str, value: &str) {
        self.post(
            "/cookie",
            json!({ "cookie": { "name": name, "value": value, "path": "/" } }),
        )
        .await;
    }

    /// Drop every cookie (a browser that never signed in).
    pub async fn clear_cookies(&self) {
        self.call(reqwest::Method::DELETE, "/cookie", None).await;
    }

    /// Lay pages out for a `width` x `height` viewport at one device pixel
    /// per CSS pixel (a phone width emulates a mobile viewport).
    pub async fn viewport(&self, width: u32, height: u32) {
        self.post(
            "/goog/cdp/execute",
            json!({ "cmd": "Emulation.setDeviceMetricsOverride", "params": {
                "width": width, "height": height, "deviceScaleFactor": 1,
                "mobile": width < 600,
            } }),
        )
        .await;
    }

    /// A PNG of the viewport.
    pub async fn screenshot(&self) -> Vec<u8> {
        let v = self.get("/screenshot").await;
        base64::engine::general_purpose::STANDARD
            .decode(v.as_str().unwrap())
            .expect("base64 PNG")
    }
}

/// One WebDriver command: its `value`, or a failure naming the error.
async fn command(
    http: &reqwest::Client,
    method: reqwest::Method,
    url: &str,
    body: Option<Value>,
) -> Value {
    let mut req = http.request(method.clone(), url);
    if let Some(b) = body {
        req = req.json(&b);
    }
    let r = req
        .send()
        .await
        .unwrap_or_else(|e| panic!("WebDriver {method} {url}: {e}"));
    let status = r.status();
    let mut v: Value = r.json().await.expect("a WebDriver answer is JSON");
    assert!(
        status.is_success(),
        "WebDriver {method} {url}: {status} {}",
        v["value"]
    );
    v["value"].take()
}

/// The DevTools port Chromium chose, from the file it writes in its profile.
fn devtools_port(profile: &Path) -> u16 {
    let file = profile.join("DevToolsActivePort");
    let deadline = Instant::now() + STARTUP;
    loop {
        if let Some(port) = std::fs::read_to_string(&file)
            .ok()
            .and_then(|s| s.lines().next().and_then(|l| l.trim().parse().ok()))
        {
            return port;
        }
        assert!(
            Instant::now() < deadline,
            "chromium did not start (no {})",
            file.display()
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}
