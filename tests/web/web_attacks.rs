//! The dashboard and the health listener under attack, each defect of
//! issue 24 reproduced against the real daemon: a slow-upload flood under
//! a low open-file limit while `/healthz` is asked, a foreign `Host`
//! (DNS rebinding), a proxy on loopback in front of the dashboard (the
//! sign-in rate limit and anonymous mode), replayed Mini App launch data,
//! a chat removed and added back, and the allow-lists a reload cannot
//! change.

use crate::support;
use crate::support::dashboard::{self, SimApp};

use std::io::Write;
use std::net::{IpAddr, SocketAddr, TcpStream};
use std::process::Stdio;
use std::time::{Duration, Instant};

use dipwatch::access::Access;
use dipwatch::app::App;
use dipwatch::collect::Dates;
use reqwest::StatusCode;
use reqwest::header::SET_COOKIE;
use secrecy::SecretString;
use support::{ChildGuard, Workspace, free_port};

const READER: i64 = 2001;
const ADMIN: i64 = 2002;
const TEST_TOKEN: &str = "7000000002:AAAttackTestTokenNeverSentAnywhere_12";

/// The longest any single answer may take here: far above what a loaded
/// machine needs, only there so a hang fails instead of blocking.
const ANSWER: Duration = Duration::from_secs(30);

/// A raw GET with `host` as its `Host` header, waiting up to [`ANSWER`].
fn raw_get(port: u16, path: &str, host: &str) -> Option<(u16, String)> {
    support::http_get_as(port, path, host, ANSWER)
}

/// The real daemon on the simulated market, its dashboard anonymous on
/// loopback, with its open-file limit (soft and hard) set to `nofile`, and
/// its log going to `log`.
#[allow(clippy::unnecessary_cast)]
fn spawn_limited(
    ws: &Workspace,
    http: u16,
    web: u16,
    nofile: u64,
    log: &std::path::Path,
) -> ChildGuard {
    use std::os::unix::process::CommandExt;
    let mut cmd = ws.command(&["run"]);
    cmd.env("DIPWATCH__HTTP__LISTEN", format!("127.0.0.1:{http}"))
        .env("DIPWATCH__WEB__LISTEN", format!("127.0.0.1:{web}"))
        .stdout(Stdio::null())
        .stderr(Stdio::from(std::fs::File::create(log).unwrap()));
    // SAFETY: setrlimit(2) is async-signal-safe and touches no memory of
    // the parent; it runs in the forked child before exec.
    unsafe {
        cmd.pre_exec(move || {
            let r = libc::rlimit {
                rlim_cur: nofile as libc::rlim_t,
                rlim_max: nofile as libc::rlim_t,
            };
            if libc::setrlimit(libc::RLIMIT_NOFILE, &r) == -1 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
    ChildGuard::spawn(&mut cmd).expect("spawn dipwatch run")
}

/// Wait until `/readyz` says 200 with a published screen.
fn wait_ready(child: &mut ChildGuard, port: u16, log: &std::path::Path) {
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        if let Some((200, body)) = raw_get(port, "/readyz", "127.0.0.1") {
            let v: serde_json::Value = serde_json::from_str(&body).unwrap();
            if v["latest_screen"].is_string() {
                return;
            }
        }
        assert!(
            child.try_wait().unwrap().is_none(),
            "daemon exited early: {}",
            std::fs::read_to_string(log).unwrap_or_default()
        );
        assert!(Instant::now() < deadline, "not ready in 2 minutes");
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// Wait until the log file holds `needle` (the daemon logs as it goes).
fn wait_log(log: &std::path::Path, needle: &str) -> String {
    let deadline = Instant::now() + ANSWER;
    loop {
        let text = std::fs::read_to_string(log).unwrap_or_default();
        if text.contains(needle) {
            return text;
        }
        assert!(
            Instant::now() < deadline,
            "no {needle:?} in the log:\n{text}"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// Let this test process hold `want` sockets (its soft limit raised
/// toward the hard one; the attack's client side needs them).
// `rlim_t` is u64 on Linux but not on every Unix: the casts stay.
#[allow(clippy::unnecessary_cast)]
fn raise_own_file_limit(want: u64) {
    let mut r = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit/setrlimit read and write only the struct passed.
    unsafe {
        if libc::getrlimit(libc::RLIMIT_NOFILE, &mut r) == 0 && (r.rlim_cur as u64) < want {
            r.rlim_cur = (want as libc::rlim_t).min(r.rlim_max);
            libc::setrlimit(libc::RLIMIT_NOFILE, &r);
        }
    }
}

#[test]
fn a_slow_upload_flood_under_a_low_file_limit_leaves_health_and_the_store_answering() {
    let mut ws = Workspace::new(30);
    ws.set_env("DIPWATCH__MARKET__PROVIDER", "sim");
    ws.set_env("DIPWATCH__WEB__ANONYMOUS_LOOPBACK", "true");
    // Set in the environment: a reload cannot change them, and says so.
    ws.set_env("DIPWATCH__TELEGRAM__ALLOWED_CHAT_IDS", "77");
    let (http, web) = (free_port(), free_port());
    let log = ws.path("daemon.log");
    // 256 handles in all: the old daemon gave every one of them to the
    // first 256 connections.
    let mut child = spawn_limited(&ws, http, web, 256, &log);
    wait_ready(&mut child, http, &log);

    // 1,000 connections each start a form POST and send its body one byte
    // at a time: four times the handles the daemon has, so the old one's
    // backlog refilled every handle a timed-out connection freed.
    raise_own_file_limit(1200);
    let mut attackers: Vec<TcpStream> = Vec::new();
    for _ in 0..1000 {
        let Ok(mut s) = TcpStream::connect(("127.0.0.1", web)) else {
            continue;
        };
        let _ = s.write_all(
            b"POST /alerts HTTP/1.1\r\nHost: localhost\r\n\
              Content-Type: application/x-www-form-urlencoded\r\nContent-Length: 4000\r\n\r\nr",
        );
        attackers.push(s);
    }
    assert!(attackers.len() > 900, "the attack could not connect");
    // While they trickle, health, readiness (which reads the store) and
    // metrics keep answering.
    for round in 0..8 {
        for s in &mut attackers {
            let _ = s.write_all(b"a");
        }
        let health = raw_get(http, "/healthz", "127.0.0.1");
        assert_eq!(health.map(|r| r.0), Some(200), "round {round}: /healthz");
        let ready = raw_get(http, "/readyz", "127.0.0.1");
        assert_eq!(
            ready.as_ref().map(|r| r.0),
            Some(200),
            "round {round}: /readyz {ready:?}"
        );
        assert_eq!(
            raw_get(http, "/metrics", "localhost").map(|r| r.0),
            Some(200)
        );
        std::thread::sleep(Duration::from_millis(500));
    }
    drop(attackers);
    // Once they are gone the dashboard answers again.
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        if raw_get(web, "/", "localhost").map(|r| r.0) == Some(200) {
            break;
        }
        assert!(Instant::now() < deadline, "the dashboard did not come back");
        std::thread::sleep(Duration::from_millis(200));
    }

    // DNS rebinding: a page on another name that now resolves to 127.0.0.1
    // reads nothing from either listener.
    assert_eq!(
        raw_get(http, "/metrics", "rebound.example").map(|r| r.0),
        Some(421)
    );
    assert_eq!(raw_get(web, "/", "rebound.example").map(|r| r.0), Some(421));
    assert_eq!(
        raw_get(web, "/", &format!("localhost:{web}")).map(|r| r.0),
        Some(200)
    );

    child.signal_hangup();
    let text = wait_log(&log, "cannot change on a reload");
    assert!(
        text.contains("DIPWATCH__TELEGRAM__ALLOWED_CHAT_IDS"),
        "{text}"
    );
    child.terminate();
    let _ = child.wait_with_output();
    let text = std::fs::read_to_string(&log).unwrap();
    assert!(
        !text.contains("Too many open files"),
        "the daemon ran out of file handles:\n{}",
        text.lines()
            .filter(|l| l.contains("Too many"))
            .take(3)
            .collect::<Vec<_>>()
            .join("\n")
    );
}

/// A simulated-market app with a published screen, its dashboard served,
/// `extra` settings on top.
async fn start(token: bool, extra: &[(&str, &str)]) -> (App, SocketAddr, tempfile::TempDir) {
    let mut app = SimApp::new(40)
        .listening()
        .set("DIPWATCH__TELEGRAM__ALLOWED_CHAT_IDS", READER)
        .set("DIPWATCH__TELEGRAM__ADMIN_CHAT_IDS", ADMIN)
        .set("DIPWATCH__WEB__ANONYMOUS_LOOPBACK", !token);
    for (k, v) in extra {
        app = app.set(k, v);
    }
    if token {
        app = app.set("TELOXIDE_TOKEN", TEST_TOKEN);
    }
    app.start(Dates::Latest).await
}

/// A client whose connections come from `from` (any of 127.0.0.0/8 is
/// this machine), following no redirects.
fn client_from(from: &str) -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .local_address(from.parse::<IpAddr>().unwrap())
        // A connection per request: the test proxy adds its header to the
        // first request of a connection only.
        .pool_max_idle_per_host(0)
        .build()
        .unwrap()
}

/// A forwarding proxy on loopback, as a same-host nginx or Caddy is: each
/// request is passed to `upstream` with `X-Forwarded-For` set to the
/// address the client connected from. Its address.
async fn forwarding_proxy(upstream: SocketAddr) -> SocketAddr {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        while let Ok((mut down, peer)) = listener.accept().await {
            tokio::spawn(async move {
                // The request head, then the header added after its first line.
                let mut head = Vec::new();
                let mut byte = [0u8; 1];
                while !head.ends_with(b"\r\n\r\n") {
                    if down.read(&mut byte).await.unwrap_or(0) == 0 {
                        return;
                    }
                    head.push(byte[0]);
                }
                let text = String::from_utf8_lossy(&head).into_owned();
                let (line, rest) = text.split_once("\r\n").unwrap();
                let forwarded = format!("{line}\r\nX-Forwarded-For: {}\r\n{rest}", peer.ip());
                let Ok(mut up) = tokio::net::TcpStream::connect(upstream).await else {
                    return;
                };
                if up.write_all(forwarded.as_bytes()).await.is_ok() {
                    let _ = tokio::io::copy_bidirectional(&mut down, &mut up).await;
                }
            });
        }
    });
    addr
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn behind_a_trusted_proxy_one_strangers_junk_does_not_lock_out_everyone() {
    let (app, web, _dir) = start(true, &[("DIPWATCH__WEB__TRUSTED_PROXIES", "127.0.0.1")]).await;
    let proxy = forwarding_proxy(web).await;
    let via = |path: &str| format!("http://{proxy}{path}");
    // A stranger at 127.0.0.2 sends junk links through the proxy.
    let stranger = client_from("127.0.0.2");
    let mut statuses = Vec::new();
    for _ in 0..=dipwatch::web::LOGIN_ATTEMPTS_PER_MINUTE {
        let r = stranger.get(via("/login?token=junk")).send().await.unwrap();
        statuses.push(r.status());
    }
    assert_eq!(*statuses.last().unwrap(), StatusCode::TOO_MANY_REQUESTS);
    assert!(
        statuses[..statuses.len() - 1]
            .iter()
            .all(|s| *s == StatusCode::UNAUTHORIZED)
    );
    // A user at 127.0.0.3, through the same proxy, still signs in.
    let token = app.web_auth().issue_login(READER).unwrap();
    let r = client_from("127.0.0.3")
        .get(via(&format!("/login?token={token}")))
        .send()
        .await
        .unwrap();
    assert_eq!(
        r.status(),
        StatusCode::SEE_OTHER,
        "locked out by a stranger"
    );
    // A direct client cannot pick its address with the header: its
    // attempts count under its own whatever it claims.
    let direct = client_from("127.0.0.4");
    let mut last = StatusCode::OK;
    for i in 0..=dipwatch::web::LOGIN_ATTEMPTS_PER_MINUTE {
        last = direct
            .get(format!("http://{web}/login?token=junk"))
            .header("x-forwarded-for", format!("198.51.100.{i}"))
            .send()
            .await
            .unwrap()
            .status();
    }
    assert_eq!(last, StatusCode::TOO_MANY_REQUESTS);
    // Each outcome is counted.
    let metrics = app.metrics().encode_classic();
    let count = |outcome: &str| {
        support::metric(
            &metrics,
            &format!("dipwatch_web_sign_ins_total{{method=\"link\",outcome=\"{outcome}\"}}"),
        )
        .unwrap_or(-1.0)
    };
    assert_eq!(count("ok"), 1.0, "{metrics}");
    assert_eq!(count("rate_limited"), 2.0);
    assert_eq!(
        count("refused"),
        2.0 * f64::from(dipwatch::web::LOGIN_ATTEMPTS_PER_MINUTE)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn anonymous_pages_are_not_served_through_a_proxy_nor_to_a_forwarded_request() {
    let (_app, web, _dir) = start(false, &[]).await;
    let proxy = forwarding_proxy(web).await;
    let c = client_from("127.0.0.1");
    let direct = c.get(format!("http://{web}/")).send().await.unwrap();
    assert_eq!(direct.status(), StatusCode::OK, "a local browser reads");
    let proxied = c.get(format!("http://{proxy}/")).send().await.unwrap();
    assert_eq!(
        proxied.status(),
        StatusCode::UNAUTHORIZED,
        "a remote client behind the proxy"
    );
    for header in ["x-forwarded-for", "forwarded", "x-real-ip"] {
        let value = if header == "forwarded" {
            "for=127.0.0.1"
        } else {
            "127.0.0.1"
        };
        let r = c
            .get(format!("http://{web}/portfolio"))
            .header(header, value)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::UNAUTHORIZED, "{header}");
    }
    // A rebinding page's name: 421 before any page is read.
    let r = c
        .get(format!("http://{web}/portfolio"))
        .header("host", "rebound.example")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::MISDIRECTED_REQUEST);
}

/// Launch data for `chat`, signed with the test token at `auth_date`.
fn launch_data(chat: i64, auth_date: i64) -> String {
    let user = format!(r#"{{"id":{chat},"first_name":"T"}}"#);
    let auth = auth_date.to_string();
    dipwatch::access::tokens::sign_init_data(
        &[("auth_date", &auth), ("query_id", "AAQ"), ("user", &user)],
        &SecretString::from(TEST_TOKEN),
    )
}

async fn miniapp_login(from: &str, web: SocketAddr, init_data: &str) -> reqwest::Response {
    client_from(from)
        .post(format!("http://{web}/login/miniapp"))
        .form(&[("init_data", init_data)])
        .send()
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn launch_data_signs_in_once_and_never_after_logout() {
    let (app, web, _dir) = start(true, &[]).await;
    let now = chrono::Utc::now().timestamp();
    let data = launch_data(READER, now - 5);
    let first = miniapp_login("127.0.0.1", web, &data).await;
    assert_eq!(first.status(), StatusCode::SEE_OTHER);
    let cookie = first.headers()[SET_COOKIE].to_str().unwrap().to_string();
    assert!(
        cookie.contains("SameSite=None")
            && cookie.contains("Secure")
            && cookie.contains("Partitioned"),
        "a Mini App session's cookie survives Telegram Web's cross-site frame: {cookie}"
    );
    // Replayed, from the same address or others: refused, no session made.
    let before = app.web_auth().sessions();
    for from in ["127.0.0.1", "127.0.0.6", "127.0.0.7"] {
        let again = miniapp_login(from, web, &data).await;
        assert_eq!(
            again.status(),
            StatusCode::UNAUTHORIZED,
            "replayed from {from}"
        );
        assert!(again.headers().get(SET_COOKIE).is_none());
    }
    assert_eq!(app.web_auth().sessions(), before);
    // Launch data signed before the chat signed out everywhere (/logout)
    // no longer signs in, even never used.
    let unused = launch_data(READER, now - 3);
    assert_eq!(app.web_auth().logout_chat(READER), 1);
    let r = miniapp_login("127.0.0.1", web, &unused).await;
    assert_eq!(
        r.status(),
        StatusCode::UNAUTHORIZED,
        "signed in after /logout"
    );
    // A launch after the sign-out does.
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let fresh = launch_data(READER, chrono::Utc::now().timestamp());
    assert_eq!(
        miniapp_login("127.0.0.1", web, &fresh).await.status(),
        StatusCode::SEE_OTHER
    );
    // Two minutes ahead of our clock is too far; 20 s is clock skew.
    let skewed = launch_data(ADMIN, chrono::Utc::now().timestamp() + 20);
    assert_eq!(
        miniapp_login("127.0.0.1", web, &skewed).await.status(),
        StatusCode::SEE_OTHER
    );
    let future = launch_data(ADMIN, chrono::Utc::now().timestamp() + 120);
    assert_eq!(
        miniapp_login("127.0.0.1", web, &future).await.status(),
        StatusCode::UNAUTHORIZED
    );
    // A body larger than any launch data: refused unread.
    let huge = "x".repeat(dipwatch::web::MINIAPP_BODY_LIMIT + 1);
    assert_eq!(
        miniapp_login("127.0.0.1", web, &huge).await.status(),
        StatusCode::PAYLOAD_TOO_LARGE
    );
}

/// Follow a fresh link for `chat`: the `name=value` cookie.
async fn sign_in(app: &App, web: SocketAddr, chat: i64) -> String {
    let base = format!("http://{web}");
    dashboard::sign_in_with(&client_from("127.0.0.1"), app, &base, chat).await
}

async fn status_with(web: SocketAddr, cookie: &str) -> StatusCode {
    client_from("127.0.0.1")
        .get(format!("http://{web}/"))
        .header("cookie", cookie)
        .send()
        .await
        .unwrap()
        .status()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_chat_removed_and_added_back_does_not_get_its_old_sessions_or_links_back() {
    let (app, web, _dir) = start(true, &[]).await;
    let cookie = sign_in(&app, web, READER).await;
    let admin = sign_in(&app, web, ADMIN).await;
    let link = app.web_auth().issue_login(READER).unwrap();
    assert_eq!(status_with(web, &cookie).await, StatusCode::OK);
    let access = &app.config().access;
    // Taken off the lists (a SIGHUP reload) ...
    access.replace_with(&Access::new(&[], &[ADMIN]));
    assert_eq!(status_with(web, &cookie).await, StatusCode::UNAUTHORIZED);
    // ... and added back: the stolen cookie and the old link stay dead.
    tokio::time::sleep(Duration::from_millis(20)).await;
    access.replace_with(&Access::new(&[READER], &[ADMIN]));
    assert_eq!(status_with(web, &cookie).await, StatusCode::UNAUTHORIZED);
    let r = client_from("127.0.0.1")
        .get(format!("http://{web}/login?token={link}"))
        .send()
        .await
        .unwrap();
    assert_eq!(
        r.status(),
        StatusCode::UNAUTHORIZED,
        "a link from before the removal"
    );
    // A new sign-in works; the admin, never removed, kept its session.
    let again = sign_in(&app, web, READER).await;
    assert_eq!(status_with(web, &again).await, StatusCode::OK);
    assert_eq!(status_with(web, &admin).await, StatusCode::OK);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_chat_holds_a_bounded_number_of_sessions_and_loses_only_its_own_oldest() {
    let (app, web, _dir) = start(true, &[("DIPWATCH__WEB__SESSIONS_PER_CHAT", "3")]).await;
    let admin = sign_in(&app, web, ADMIN).await;
    let mut mine = Vec::new();
    for _ in 0..5 {
        mine.push(sign_in(&app, web, READER).await);
        // Sessions are ordered by when they started.
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    assert_eq!(status_with(web, &mine[0]).await, StatusCode::UNAUTHORIZED);
    assert_eq!(status_with(web, &mine[1]).await, StatusCode::UNAUTHORIZED);
    for c in &mine[2..] {
        assert_eq!(status_with(web, c).await, StatusCode::OK);
    }
    assert_eq!(
        status_with(web, &admin).await,
        StatusCode::OK,
        "another chat's session ended"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn over_https_cookies_take_the_host_prefix_and_hsts_is_sent_and_assets_cache() {
    let (app, web, _dir) = start(
        true,
        &[("DIPWATCH__WEB__PUBLIC_URL", "https://dip.example.com")],
    )
    .await;
    let token = app.web_auth().issue_login(READER).unwrap();
    let c = client_from("127.0.0.1");
    let r = c
        .get(format!("http://{web}/login?token={token}"))
        .header("host", "dip.example.com")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let cookie = r.headers()[SET_COOKIE].to_str().unwrap();
    assert!(cookie.starts_with("__Host-dipwatch_session="), "{cookie}");
    assert!(
        cookie.contains("; Secure")
            && cookie.contains("SameSite=Strict")
            && !cookie.contains("Domain")
    );
    assert_eq!(r.headers()["strict-transport-security"], "max-age=31536000");
    assert_eq!(r.headers()["x-frame-options"], "SAMEORIGIN");
    let session = cookie.split(';').next().unwrap();
    let page = c
        .get(format!("http://{web}/"))
        .header("host", "dip.example.com")
        .header("cookie", session)
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), StatusCode::OK);
    assert_eq!(page.headers()["cache-control"], "no-store");
    // The same value under the plain name is not a session.
    let plain = session.replacen("__Host-", "", 1);
    assert_eq!(status_with(web, &plain).await, StatusCode::UNAUTHORIZED);
    let css = c
        .get(format!("http://{web}/static/app.css"))
        .send()
        .await
        .unwrap();
    assert_eq!(css.headers()["cache-control"], "public, max-age=3600");
    // Not the public host, not ours: 421.
    let other = c
        .get(format!("http://{web}/"))
        .header("host", "dip.example.com.evil.example")
        .send()
        .await
        .unwrap();
    assert_eq!(other.status(), StatusCode::MISDIRECTED_REQUEST);
}
