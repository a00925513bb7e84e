//! /web and /logout: sign-in links to the dashboard.

#![allow(unused_imports)]

use super::helpers::*;

/// `/web` gives a one-time link in a button (never in the text), a new
/// token each time; `/logout` says how many sessions it ended.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn web_gives_a_one_time_link_in_a_button_and_logout_answers() {
    // The dashboard runs where the bot does: with the token configured.
    let mut h = start(Setup::with_dashboard()).await;
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

/// The dashboard's "Run now" and the bot's `/trigger` share one cooldown:
/// a run started on the web makes the bot's `/trigger` wait.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn run_now_on_the_dashboard_and_trigger_in_the_bot_share_one_cooldown() {
    let mut h = start(Setup::with_dashboard()).await;
    let base = format!("http://127.0.0.1:{}", h.web_port);
    let replies = h.ask(ADMIN, "/web", 1).await;
    let link = button_url(&replies[0]);
    let client = support::dashboard::client();
    let r = client.get(&link).send().await.unwrap();
    let cookie = r.headers()["set-cookie"].to_str().unwrap();
    let cookie = cookie.split(';').next().unwrap().to_string();
    let page = support::dashboard::get_text(&client, format!("{base}/runs"), &cookie).await;
    let csrf = support::dashboard::csrf_of(&page);
    let form = [("csrf", csrf.as_str())];
    let r = support::dashboard::post_form(&client, format!("{base}/trigger"), &cookie, &form).await;
    assert_eq!(r.status(), reqwest::StatusCode::ACCEPTED);
    while h.runner.running().is_some() {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let text = one_text(&h.ask(ADMIN2, "/trigger", 1).await).to_string();
    assert!(
        text.contains("/trigger works again in") && text.contains("the dashboard"),
        "{text}"
    );
    assert_eq!(h.runner.running(), None, "nothing started");
    h.stop().await;
}

/// The bot's `/logout` signs a chat out for good: its Mini App session
/// ends, launch data signed before it (used or not) no longer signs in,
/// and a link it was given before no longer works.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn logout_voids_sessions_launch_data_and_links_from_before_it() {
    let mut h = start(Setup::with_dashboard()).await;
    let chat = READERS.start + 1;
    let base = format!("http://127.0.0.1:{}", h.web_port);
    let http = support::dashboard::client();
    let launch = |auth_date: i64| {
        let user = format!(r#"{{"id":{chat}}}"#);
        dipwatch::access::tokens::sign_init_data(
            &[("auth_date", &auth_date.to_string()), ("user", &user)],
            &SecretString::from(TOKEN),
        )
    };
    let now = chrono::Utc::now().timestamp();
    let (used, unused) = (launch(now - 2), launch(now - 1));
    let post = |data: String| {
        http.post(format!("{base}/login/miniapp"))
            .form(&[("init_data", data)])
            .send()
    };
    let signed_in = post(used.clone()).await.unwrap();
    assert_eq!(signed_in.status(), reqwest::StatusCode::SEE_OTHER);
    let cookie = signed_in.headers()["set-cookie"].to_str().unwrap();
    let cookie = cookie.split(';').next().unwrap().to_string();
    let link = h.ask(chat, "/web", 1).await;
    let url = button_url(&link[0]);
    let page = |cookie: String| http.get(format!("{base}/")).header("cookie", cookie).send();
    assert_eq!(page(cookie.clone()).await.unwrap().status(), 200);

    let replies = h.ask(chat, "/logout", 1).await;
    assert_eq!(one_text(&replies), "Signed out of 1 dashboard session.");
    assert_eq!(page(cookie).await.unwrap().status(), 401);
    for data in [used, unused] {
        assert_eq!(
            post(data).await.unwrap().status(),
            reqwest::StatusCode::UNAUTHORIZED,
            "launch data from before /logout"
        );
    }
    let old_link = http.get(&url).send().await.unwrap();
    assert_eq!(old_link.status(), 401, "a link from before /logout");
    h.stop().await;
}
