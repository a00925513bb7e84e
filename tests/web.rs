//! The dashboard over real HTTP on loopback, assembled by `App::build`:
//! signing in with a one-time link, what each refusal looks like, the
//! figures shown against the state's, sign-out with its CSRF token, and
//! anonymous loopback mode.

mod common;

use std::collections::HashMap;

use dipwatch::app::App;
use dipwatch::collect::Dates;
use dipwatch::config::AppConfig;
use dipwatch::domain::RunSource;
use dipwatch::runner::Trigger;
use reqwest::StatusCode;
use reqwest::header::{CONTENT_SECURITY_POLICY, LOCATION, SET_COOKIE};

const READER: i64 = 1001;
const ADMIN: i64 = 1002;
const STRANGER: i64 = 1003;
const TEST_TOKEN: &str = "7000000001:AAWebTestTokenNeverSentAnywhere_123";

/// A simulated-market app with a published screen, its dashboard served.
async fn start(token: bool, anonymous: bool) -> (App, String, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let universe = dir.path().join("u.txt");
    std::fs::write(&universe, common::universe_head(120)).unwrap();
    let mut env: HashMap<String, String> = [
        ("DIPWATCH__MARKET__PROVIDER", "sim".to_string()),
        ("DIPWATCH__MARKET__UNIVERSE", universe.display().to_string()),
        (
            "DIPWATCH__STORAGE__URL",
            dir.path().join("data").display().to_string(),
        ),
        ("DIPWATCH__HTTP__LISTEN", "127.0.0.1:0".to_string()),
        ("DIPWATCH__WEB__LISTEN", "127.0.0.1:0".to_string()),
        ("DIPWATCH__TELEGRAM__ALLOWED_CHAT_IDS", READER.to_string()),
        ("DIPWATCH__TELEGRAM__ADMIN_CHAT_IDS", ADMIN.to_string()),
        ("DIPWATCH__WEB__ANONYMOUS_LOOPBACK", anonymous.to_string()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v))
    .collect();
    if token {
        env.insert("TELOXIDE_TOKEN".into(), TEST_TOKEN.into());
    }
    let config = AppConfig::load_with_env(None, env).unwrap();
    let mut app = App::build(config).await.unwrap();
    match app.runner().trigger(RunSource::Manual, Dates::Latest) {
        Trigger::Started(done) => {
            done.await.expect("run");
        }
        Trigger::AlreadyRunning(_) => unreachable!(),
    }
    app.load_state().await;
    let addr = app.web_addr().expect("dashboard on");
    let shutdown = tokio_util::sync::CancellationToken::new();
    app.spawn_web(&shutdown).expect("served");
    // The server stops with the runtime at the end of the test.
    std::mem::forget(shutdown);
    (app, format!("http://{addr}"), dir)
}

fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

/// Follow a sign-in link; the session cookie.
async fn sign_in(app: &App, base: &str, chat: i64) -> String {
    let token = app.web_auth().issue_login(chat).unwrap();
    let r = client()
        .get(format!("{base}/login?token={token}"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    assert_eq!(r.headers()[LOCATION], "/");
    let cookie = r.headers()[SET_COOKIE].to_str().unwrap().to_string();
    assert!(
        cookie.contains("HttpOnly") && cookie.contains("SameSite=Strict"),
        "{cookie}"
    );
    assert!(!cookie.contains("Secure"), "the public URL is http");
    cookie.split(';').next().unwrap().to_string()
}

async fn get(base: &str, path: &str, cookie: Option<&str>) -> (StatusCode, String) {
    let mut req = client().get(format!("{base}{path}"));
    if let Some(c) = cookie {
        req = req.header("cookie", c);
    }
    let r = req.send().await.unwrap();
    (r.status(), r.text().await.unwrap())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_one_time_link_signs_in_and_the_pages_show_the_states_figures() {
    let (app, base, _dir) = start(true, false).await;
    // Signed out: 401, nothing about why, no data.
    let (status, body) = get(&base, "/", None).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert!(body.contains("/web"), "{body}");
    let snap = app.runner().state().snapshot();
    let screen = snap.screen.as_ref().expect("published");
    assert!(!body.contains(screen.rows[0].symbol.as_str()));

    let cookie = sign_in(&app, &base, READER).await;
    let (status, body) = get(&base, "/", Some(&cookie)).await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        body.contains("SIMULATED"),
        "the simulated market is labelled"
    );
    assert!(body.contains(&screen.date.to_string()));
    // The top 10, in rank order, as the state has them.
    let mut at = 0;
    for r in &screen.rows[..10] {
        let found = body[at..]
            .find(&format!("<td>{}</td>", r.symbol.as_str()))
            .unwrap_or_else(|| panic!("{} missing or out of order", r.symbol.as_str()));
        at += found;
        assert!(body.contains(&dipwatch::numbers::signed_pct(r.drawdown_pct)));
    }

    // The whole ranking pages 50 at a time; the CSV holds what is selected.
    let (status, page2) = get(&base, "/screen?page=2", Some(&cookie)).await;
    assert_eq!(status, StatusCode::OK);
    assert!(page2.contains(&format!("<td>{}</td>", screen.rows[50].symbol.as_str())));
    assert!(!page2.contains(&format!("<td>{}</td>", screen.rows[49].symbol.as_str())));
    let (status, csv) = get(&base, "/screen.csv?max_drawdown=-20", Some(&cookie)).await;
    assert_eq!(status, StatusCode::OK);
    let want = screen.count_below(-20.0);
    assert_eq!(csv.lines().count(), want + 1, "{csv}");
    // The portfolio: every position, best return first, and the equity.
    let p = snap
        .portfolio
        .as_ref()
        .expect("the simulated broker has positions");
    let (status, page) = get(&base, "/portfolio", Some(&cookie)).await;
    assert_eq!(status, StatusCode::OK);
    let equity = p.account.equity.unwrap().round_dp(2).to_string();
    assert!(page.contains(&equity), "equity {equity}");
    let mut ranked: Vec<_> = p.positions.iter().collect();
    ranked.sort_by_key(|x| std::cmp::Reverse(x.unrealized_return_pct));
    let at: Vec<usize> = ranked
        .iter()
        .map(|x| {
            page.find(&format!("<td>{}</td>", x.symbol.as_str()))
                .unwrap()
        })
        .collect();
    assert!(at.windows(2).all(|w| w[0] < w[1]), "by return: {at:?}");
    // The runs: the published date's report with its counts.
    let (status, page) = get(&base, "/runs", Some(&cookie)).await;
    assert_eq!(status, StatusCode::OK);
    let r = &screen.report;
    assert!(page.contains(&format!(
        "{} of {} symbols",
        r.symbols.ok, r.symbols.requested
    )));

    let (_, filtered) = get(&base, "/screen?sort=symbol", Some(&cookie)).await;
    let mut symbols: Vec<&str> = screen.rows.iter().map(|r| r.symbol.as_str()).collect();
    symbols.sort();
    let first = filtered.find(&format!("<td>{}</td>", symbols[0])).unwrap();
    let second = filtered.find(&format!("<td>{}</td>", symbols[1])).unwrap();
    assert!(first < second, "sorted by symbol");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reused_forged_and_refused_tokens_and_cookies_all_get_the_same_401() {
    let (app, base, _dir) = start(true, false).await;
    let token = app.web_auth().issue_login(READER).unwrap();
    let link = format!("/login?token={token}");
    let (first, _) = get(&base, &link, None).await;
    assert_eq!(first, StatusCode::SEE_OTHER);
    let (reused, reused_body) = get(&base, &link, None).await;
    let (forged, forged_body) =
        get(&base, "/login?token=00112233445566778899aabbccddeeff", None).await;
    let stranger = app.web_auth().issue_login(STRANGER).unwrap();
    let (refused, refused_body) = get(&base, &format!("/login?token={stranger}"), None).await;
    for s in [reused, forged, refused] {
        assert_eq!(s, StatusCode::UNAUTHORIZED);
    }
    assert_eq!(reused_body, forged_body);
    assert_eq!(forged_body, refused_body);
    let (status, _) = get(
        &base,
        "/",
        Some("dipwatch_session=0123456789abcdef0123456789abcdef"),
    )
    .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "a forged cookie");
    // Every response carries the strict policy.
    let r = client().get(format!("{base}/")).send().await.unwrap();
    let csp = r.headers()[CONTENT_SECURITY_POLICY].to_str().unwrap();
    assert!(csp.contains("default-src 'none'") && csp.contains("script-src 'self'"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sign_out_needs_the_csrf_token_and_the_bot_can_end_every_session() {
    let (app, base, _dir) = start(true, false).await;
    let cookie = sign_in(&app, &base, ADMIN).await;
    let (_, page) = get(&base, "/", Some(&cookie)).await;
    let csrf = page
        .split("name=\"csrf\" value=\"")
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .expect("the sign-out form carries a CSRF token")
        .to_string();
    let post = |form: Vec<(&'static str, String)>| {
        client()
            .post(format!("{base}/logout"))
            .header("cookie", &cookie)
            .form(&form)
            .send()
    };
    let r = post(vec![("csrf", "wrong".into())]).await.unwrap();
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    assert_eq!(
        get(&base, "/", Some(&cookie)).await.0,
        StatusCode::OK,
        "still signed in"
    );
    let r = post(vec![("csrf", csrf)]).await.unwrap();
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    assert_eq!(
        get(&base, "/", Some(&cookie)).await.0,
        StatusCode::UNAUTHORIZED
    );

    // The bot's /logout ends every session of the chat.
    let a = sign_in(&app, &base, READER).await;
    let b = sign_in(&app, &base, READER).await;
    assert_eq!(app.web_auth().logout_chat(READER), 2);
    for c in [a, b] {
        assert_eq!(get(&base, "/", Some(&c)).await.0, StatusCode::UNAUTHORIZED);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_a_bot_token_the_dashboard_is_off_unless_anonymous_loopback() {
    let dir = tempfile::tempdir().unwrap();
    let config = AppConfig::load_with_env(
        None,
        [
            ("DIPWATCH__MARKET__PROVIDER", "sim"),
            ("DIPWATCH__HTTP__LISTEN", "127.0.0.1:0"),
            ("DIPWATCH__WEB__LISTEN", "127.0.0.1:0"),
            (
                "DIPWATCH__STORAGE__URL",
                &dir.path().join("data").display().to_string(),
            ),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect(),
    )
    .unwrap();
    let app = App::build(config).await.unwrap();
    assert_eq!(
        app.web_addr(),
        None,
        "no token, no anonymous mode: no dashboard"
    );

    let (_app, base, _dir) = start(false, true).await;
    let (status, body) = get(&base, "/", None).await;
    assert_eq!(status, StatusCode::OK, "a loopback client reads");
    assert!(!body.contains("Sign out"));
    let (status, _) = get(&base, "/login?token=00112233445566778899aabbccddeeff", None).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_mini_app_signs_in_with_init_data_signed_by_the_bot_token() {
    use dipwatch::web::auth::sign_init_data;
    use secrecy::SecretString;
    let (_app, base, _dir) = start(true, false).await;
    let token = SecretString::from(TEST_TOKEN);
    let now = chrono::Utc::now().timestamp();
    let signed = |user: i64, at: i64, key: &SecretString| {
        sign_init_data(
            &[
                ("auth_date", &at.to_string()),
                ("user", &format!(r#"{{"id":{user},"first_name":"A"}}"#)),
            ],
            key,
        )
    };
    let post = |init_data: String| {
        client()
            .post(format!("{base}/login/miniapp"))
            .form(&[("init_data", init_data)])
            .send()
    };
    let r = post(signed(READER, now, &token)).await.unwrap();
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let cookie = r.headers()[SET_COOKIE].to_str().unwrap();
    let cookie = cookie.split(';').next().unwrap().to_string();
    assert_eq!(get(&base, "/", Some(&cookie)).await.0, StatusCode::OK);
    // Stale, another bot's, a stranger: the same 401.
    let other = SecretString::from("7000000009:AAnother");
    for data in [
        signed(READER, now - 7200, &token),
        signed(READER, now, &other),
        signed(STRANGER, now, &token),
    ] {
        assert_eq!(post(data).await.unwrap().status(), StatusCode::UNAUTHORIZED);
    }
    // The landing page loads its script from the server, never inline.
    let (status, page) = get(&base, "/miniapp", None).await;
    assert_eq!(status, StatusCode::OK);
    assert!(page.contains(r#"<script src="/static/miniapp.js">"#));
}
