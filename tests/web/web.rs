//! The dashboard over real HTTP on loopback, assembled by `App::build`:
//! signing in with a one-time link, what each refusal looks like, the
//! figures shown against the state's, sign-out with its CSRF token, and
//! anonymous loopback mode.

use crate::support::dashboard::{SimApp, client, csrf_of, sign_in};

use dipwatch::app::App;
use dipwatch::collect::Dates;
use dipwatch::domain::RunSource;
use reqwest::StatusCode;
use reqwest::header::{CONTENT_SECURITY_POLICY, SET_COOKIE};

const READER: i64 = 1001;
const ADMIN: i64 = 1002;
const STRANGER: i64 = 1003;
const TEST_TOKEN: &str = "7000000001:AAWebTestTokenNeverSentAnywhere_123";

/// A simulated-market app with a published screen, its dashboard served.
async fn start(token: bool, anonymous: bool) -> (App, String, tempfile::TempDir) {
    start_with(token, anonymous, Dates::Latest).await
}

/// [`start`] with the store filled with the sessions of `dates`.
async fn start_with(
    token: bool,
    anonymous: bool,
    dates: Dates,
) -> (App, String, tempfile::TempDir) {
    let mut app = SimApp::new(120)
        .listening()
        .set("DIPWATCH__TELEGRAM__ALLOWED_CHAT_IDS", READER)
        .set("DIPWATCH__TELEGRAM__ADMIN_CHAT_IDS", ADMIN)
        .set("DIPWATCH__WEB__ANONYMOUS_LOOPBACK", anonymous);
    if token {
        app = app.set("TELOXIDE_TOKEN", TEST_TOKEN);
    }
    let (app, addr, dir) = app.start(dates).await;
    (app, format!("http://{addr}"), dir)
}

/// POST `form` to `path` with the session `cookie`.
async fn post(base: &str, path: &str, cookie: &str, form: &[(&str, &str)]) -> (StatusCode, String) {
    let r = client()
        .post(format!("{base}{path}"))
        .header("cookie", cookie)
        .form(form)
        .send()
        .await
        .unwrap();
    (r.status(), r.text().await.unwrap())
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
            .find(&format!(">{}</a></td>", r.symbol.as_str()))
            .unwrap_or_else(|| panic!("{} missing or out of order", r.symbol.as_str()));
        at += found;
        assert!(body.contains(&dipwatch::numbers::signed_pct(r.drawdown_pct)));
    }

    // The whole ranking pages 50 at a time; the CSV holds what is selected.
    let (status, page2) = get(&base, "/screen?page=2", Some(&cookie)).await;
    assert_eq!(status, StatusCode::OK);
    assert!(page2.contains(&format!(">{}</a></td>", screen.rows[50].symbol.as_str())));
    assert!(!page2.contains(&format!(">{}</a></td>", screen.rows[49].symbol.as_str())));
    let (status, csv) = get(&base, "/screen.csv?min_drawdown=20", Some(&cookie)).await;
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
    let equity = dipwatch::numbers::usd(p.account.equity.unwrap());
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
    let first = filtered.find(&format!(">{}</a></td>", symbols[0])).unwrap();
    let second = filtered.find(&format!(">{}</a></td>", symbols[1])).unwrap();
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
    let csrf = csrf_of(&page);
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
    let (app, _dir) = SimApp::new(5).listening().build().await;
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
    use dipwatch::access::tokens::sign_init_data;
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

/// The points of the SVG polyline drawn in the light theme's line colour
/// with the most points (the price line; the marks are paths of two).
fn price_line_points(svg: &str) -> usize {
    svg.split("<polyline")
        .skip(1)
        .filter(|p| p.contains("stroke=\"#0D6EFD\""))
        .filter_map(|p| {
            let start = p.find("points=\"")? + 8;
            let end = p[start..].find('"')? + start;
            Some(p[start..end].split_whitespace().count())
        })
        .max()
        .unwrap_or(0)
}

/// The light-theme copy of the first full-size figure on a page.
fn first_light_figure(page: &str) -> &str {
    let at = page
        .find("<figure class=\"chart\"")
        .expect("a figure on the page");
    let rest = &page[at..];
    let light = rest.find("theme-light").unwrap();
    let end = rest.find("theme-dark").unwrap();
    &rest[light..end]
}

/// The text of the facts table's cell after the header `name`.
fn fact<'a>(page: &'a str, name: &str) -> &'a str {
    let head = format!("<th>{name}</th><td class=\"num\">");
    let at = page.find(&head).unwrap_or_else(|| panic!("no {name}")) + head.len();
    &page[at..at + page[at..].find("</td>").unwrap()]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_symbol_page_shows_the_states_row_its_charts_by_period_and_refuses_unknown_tickers() {
    use dipwatch::numbers::{price, signed_pct, thousands};
    // About 90 sessions: more than 3 months, less than a year.
    let today = chrono::Utc::now().date_naive();
    let dates = Dates::Range {
        from: today - chrono::Days::new(130),
        to: today,
    };
    let (app, base, _dir) = start_with(true, false, dates).await;
    let cookie = sign_in(&app, &base, READER).await;
    let snap = app.runner().state().snapshot();
    let screen = snap.screen.as_ref().unwrap();
    let r = &screen.rows[3];
    let t = r.symbol.as_str();

    // The overview's sparkline and the screen's "Chart" link lead here.
    let (_, overview) = get(&base, "/", Some(&cookie)).await;
    assert!(overview.contains(&format!(
        "<a href=\"/symbol/{t}\"><figure class=\"chart spark\""
    )));
    assert!(overview.contains("aria-label=\"market breadth\""));
    let (_, page) = get(&base, "/screen", Some(&cookie)).await;
    assert!(page.contains(&format!("<a href=\"/symbol/{t}\">Chart</a>")));

    let (status, page) = get(&base, &format!("/symbol/{t}"), Some(&cookie)).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        fact(&page, "Rank"),
        format!("{} of {}", r.rank, thousands(screen.rows.len() as u64))
    );
    assert_eq!(fact(&page, "Drawdown"), signed_pct(r.drawdown_pct));
    assert_eq!(fact(&page, "Price"), price(r.current_price));
    assert_eq!(fact(&page, "Peak"), price(r.peak_price));
    assert_eq!(fact(&page, "Peak date"), r.peak_date.to_string());
    assert_eq!(
        fact(&page, "Days since peak"),
        r.days_since_peak.to_string()
    );
    assert!(page.contains("drawdown and rank history"));
    // Both themes are drawn; no style attribute (the CSP would block it).
    assert!(page.contains("theme-light") && page.contains("theme-dark"));
    assert!(!page.contains(" style="), "no inline style under the CSP");

    // One point a session held in the period, for each period offered.
    let prices = &snap.prices;
    let s = prices.symbol_index(&r.symbol).expect("bars held");
    let held = prices.dates().len();
    let present = prices.present(s);
    let mut counts = Vec::new();
    for (period, sessions) in [("3m", 63), ("1y", 252)] {
        let (status, page) = get(
            &base,
            &format!("/symbol/{t}?period={period}"),
            Some(&cookie),
        )
        .await;
        assert_eq!(status, StatusCode::OK);
        let want = present[held.saturating_sub(sessions)..]
            .iter()
            .filter(|p| **p)
            .count();
        assert_eq!(
            price_line_points(first_light_figure(&page)),
            want,
            "{period}"
        );
        counts.push(want);
    }
    assert!(
        held > 63 && counts[0] < counts[1],
        "{held} sessions held: {counts:?}"
    );

    // A symbol held in the portfolio shows the position.
    let held_pos = &snap.portfolio.as_ref().unwrap().positions[0];
    let (_, page) = get(
        &base,
        &format!("/symbol/{}", held_pos.symbol.as_str()),
        Some(&cookie),
    )
    .await;
    assert_eq!(fact(&page, "Quantity"), held_pos.quantity.to_string());
    assert_eq!(
        fact(&page, "Average entry"),
        held_pos.avg_entry_price.round_dp(2).to_string()
    );

    // Unknown: 404; not a ticker or not a period: 400; each says so.
    let (status, page) = get(&base, "/symbol/ZZZZZ", Some(&cookie)).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert!(page.contains("ZZZZZ is not in the latest screen"), "{page}");
    let (status, page) = get(&base, "/symbol/%3Cb%3E", Some(&cookie)).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(
        page.contains("is not a ticker") && !page.contains("<b>"),
        "{page}"
    );
    let (status, page) = get(&base, &format!("/symbol/{t}?period=2w"), Some(&cookie)).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(page.contains("is not a period"), "{page}");
    assert_eq!(
        get(&base, &format!("/symbol/{t}"), None).await.0,
        StatusCode::UNAUTHORIZED
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn alerts_are_added_with_the_bots_parser_deleted_and_need_the_csrf_token() {
    let (app, base, _dir) = start(true, false).await;
    let alerts = app.alerts().expect("alerts run with the bot token").clone();
    let cookie = sign_in(&app, &base, READER).await;
    let (status, page) = get(&base, "/alerts", Some(&cookie)).await;
    assert_eq!(status, StatusCode::OK);
    assert!(page.contains("No alerts yet."));
    let csrf = csrf_of(&page);
    let symbol = app
        .runner()
        .state()
        .snapshot()
        .screen
        .as_ref()
        .unwrap()
        .rows[0]
        .symbol
        .clone();
    let rule = format!("{} below -30", symbol.as_str());

    // No token, a wrong token: refused, nothing added.
    for form in [
        vec![("rule", rule.as_str())],
        vec![("rule", rule.as_str()), ("csrf", "0000")],
    ] {
        let (status, _) = post(&base, "/alerts", &cookie, &form).await;
        assert_eq!(status, StatusCode::FORBIDDEN);
    }
    assert!(alerts.rules_of(READER).await.is_empty());

    // Invalid: the parser's own words on the page, what was typed kept.
    let bad = "AAPL below 30";
    let (status, page) = post(&base, "/alerts", &cookie, &[("rule", bad), ("csrf", &csrf)]).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    let why = dipwatch::alerts::parse_alert(bad).unwrap_err().0;
    let first = maud::html! { (why.lines().next().unwrap()) }.into_string();
    assert!(page.contains(&first), "{first} not in {page}");
    assert!(page.contains(&format!("value=\"{bad}\"")));
    assert!(alerts.rules_of(READER).await.is_empty());

    // Valid: saved for this chat, as the bot's /alert saves it.
    let (status, page) = post(
        &base,
        "/alerts",
        &cookie,
        &[("rule", &rule), ("csrf", &csrf)],
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let rules = alerts.rules_of(READER).await;
    assert_eq!(rules.len(), 1);
    assert_eq!(rules[0].kind, dipwatch::alerts::parse_alert(&rule).unwrap());
    let id = rules[0].id;
    assert!(page.contains(&format!("Alert #{id} set: {} below -30%.", symbol.as_str())));
    // The symbol's page lists it.
    let (_, page) = get(
        &base,
        &format!("/symbol/{}", symbol.as_str()),
        Some(&cookie),
    )
    .await;
    assert!(
        page.contains(&format!("#{id} {} below -30%", symbol.as_str())),
        "{page}"
    );
    // Another chat does not see it.
    let admin = sign_in(&app, &base, ADMIN).await;
    let (_, page) = get(&base, "/alerts", Some(&admin)).await;
    assert!(page.contains("No alerts yet."));

    // Delete: a wrong token keeps it; with the token it goes.
    let id_text = id.to_string();
    let (status, _) = post(
        &base,
        "/alerts/delete",
        &cookie,
        &[("id", &id_text), ("csrf", "x")],
    )
    .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert_eq!(alerts.rules_of(READER).await.len(), 1);
    let admin_csrf = csrf_of(&get(&base, "/alerts", Some(&admin)).await.1);
    let (status, _) = post(
        &base,
        "/alerts/delete",
        &admin,
        &[("id", &id_text), ("csrf", &admin_csrf)],
    )
    .await;
    assert_eq!(
        status,
        StatusCode::NOT_FOUND,
        "another chat's rule is not found"
    );
    assert_eq!(alerts.rules_of(READER).await.len(), 1);
    let (status, page) = post(
        &base,
        "/alerts/delete",
        &cookie,
        &[("id", &id_text), ("csrf", &csrf)],
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert!(page.contains(&format!("Alert #{id} deleted.")));
    assert!(alerts.rules_of(READER).await.is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_anonymous_reader_has_no_alerts_page_and_no_run_button() {
    let (_app, base, _dir) = start(false, true).await;
    let (status, page) = get(&base, "/alerts", None).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert!(page.contains("Alerts belong to a Telegram chat"), "{page}");
    let (_, page) = get(&base, "/", None).await;
    assert!(!page.contains("href=\"/alerts\""));
    assert!(!page.contains("action=\"/trigger\""));
    let r = client()
        .post(format!("{base}/trigger"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn run_now_starts_a_run_for_an_admin_then_the_cooldown_refuses_and_readers_get_403() {
    let (app, base, _dir) = start(true, false).await;
    let reader = sign_in(&app, &base, READER).await;
    let (_, page) = get(&base, "/runs", Some(&reader)).await;
    assert!(
        !page.contains("action=\"/trigger\""),
        "readers never see the button"
    );
    let reader_csrf = csrf_of(&page);
    let (status, _) = post(&base, "/trigger", &reader, &[("csrf", &reader_csrf)]).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert_eq!(app.runner().running(), None, "nothing started");

    let admin = sign_in(&app, &base, ADMIN).await;
    let (_, page) = get(&base, "/", Some(&admin)).await;
    assert!(
        page.contains("action=\"/trigger\""),
        "an admin sees the button"
    );
    let csrf = csrf_of(&page);
    let (status, _) = post(&base, "/trigger", &admin, &[("csrf", "wrong")]).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert_eq!(app.runner().running(), None, "nothing started");

    let before = app.runner().state().snapshot().last_run.clone();
    let (status, page) = post(&base, "/trigger", &admin, &[("csrf", &csrf)]).await;
    assert_eq!(status, StatusCode::ACCEPTED, "{page}");
    assert!(page.contains("Collection started"));
    // It ran: the state records a new last run.
    let waited = tokio::time::timeout(std::time::Duration::from_secs(60), async {
        loop {
            let now = app.runner().state().snapshot().last_run.clone();
            if app.runner().running().is_none()
                && now.as_ref().map(|r| r.started_at) != before.as_ref().map(|r| r.started_at)
            {
                return now;
            }
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
    })
    .await
    .expect("the run finishes");
    assert_eq!(waited.unwrap().source, RunSource::Manual);

    // Finished, but within the cooldown: refused, with the time left.
    let (status, page) = post(&base, "/trigger", &admin, &[("csrf", &csrf)]).await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS, "{page}");
    assert!(page.contains("Run now works again in"), "{page}");
    assert_eq!(app.runner().running(), None, "nothing started");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_screen_sorts_filters_and_pages_and_its_csv_link_carries_the_query() {
    let (app, base, _dir) = start(true, false).await;
    let cookie = sign_in(&app, &base, READER).await;
    let snap = app.runner().state().snapshot();
    let rows = &snap.screen.as_ref().unwrap().rows;
    let cell = |r: &dipwatch::domain::DrawdownRow| format!(">{}</a></td>", r.symbol.as_str());
    let order = |page: &str, want: &[&dipwatch::domain::DrawdownRow]| {
        let at: Vec<usize> = want
            .iter()
            .map(|r| {
                page.find(&cell(r))
                    .unwrap_or_else(|| panic!("{} missing", r.symbol.as_str()))
            })
            .collect();
        assert!(at.windows(2).all(|w| w[0] < w[1]), "order {at:?}");
    };

    // Shallowest drawdown first.
    let mut by_dd: Vec<_> = rows.iter().collect();
    by_dd.sort_by(|a, b| {
        b.drawdown_pct
            .total_cmp(&a.drawdown_pct)
            .then(b.rank.cmp(&a.rank))
    });
    let (_, page) = get(&base, "/screen?sort=drawdown&dir=desc", Some(&cookie)).await;
    order(&page, &by_dd[..5]);
    assert!(!page.contains(&cell(by_dd[60])), "page 1 holds 50 rows");
    // Most days since the peak first.
    let mut by_days: Vec<_> = rows.iter().collect();
    by_days.sort_by_key(|r| {
        (
            std::cmp::Reverse(r.days_since_peak),
            std::cmp::Reverse(r.rank),
        )
    });
    let (_, page) = get(&base, "/screen?sort=days&dir=desc", Some(&cookie)).await;
    assert!(page.contains(&cell(by_days[0])));
    assert!(page.contains("aria-sort=\"descending\""));

    // Filtered: down 25% or more and at least 5 sessions past the peak.
    let want: Vec<_> = rows
        .iter()
        .filter(|r| r.drawdown_pct <= -25.0 && r.days_since_peak >= 5)
        .collect();
    assert!(
        !want.is_empty() && want.len() < rows.len(),
        "{} rows",
        want.len()
    );
    let q = "min_drawdown=25&min_days=5&sort=symbol&dir=asc";
    let (_, page) = get(&base, &format!("/screen?{q}"), Some(&cookie)).await;
    assert!(page.contains(&format!("{} of {} rows", want.len(), rows.len())));
    let mut by_symbol = want.clone();
    by_symbol.sort_by(|a, b| a.symbol.cmp(&b.symbol));
    order(&page, &by_symbol[..by_symbol.len().min(50)]);
    for r in rows.iter().filter(|r| r.drawdown_pct > -25.0) {
        assert!(
            !page.contains(&cell(r)),
            "{} is filtered out",
            r.symbol.as_str()
        );
    }
    // The CSV link carries the same query, and the CSV holds those rows.
    let href = format!("/screen.csv?{}", q.replace('&', "&amp;"));
    assert!(page.contains(&format!("{href}&amp;page=1")), "{page}");
    let (_, csv) = get(&base, &format!("/screen.csv?{q}"), Some(&cookie)).await;
    let symbols: Vec<&str> = csv
        .lines()
        .skip(1)
        .map(|l| l.split(',').nth(1).unwrap())
        .collect();
    let expect: Vec<&str> = by_symbol.iter().map(|r| r.symbol.as_str()).collect();
    assert_eq!(symbols, expect);

    // A blank box is no filter; a word is a clear 400.
    let (status, page) = get(&base, "/screen?min_drawdown=&min_days=", Some(&cookie)).await;
    assert_eq!(status, StatusCode::OK);
    assert!(page.contains(&format!("{0} of {0} rows", rows.len())));
    let (status, body) = get(&base, "/screen?min_drawdown=lots", Some(&cookie)).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(body.contains("is not a number"), "{body}");
}
