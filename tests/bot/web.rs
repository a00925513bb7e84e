//! /web and /logout: sign-in links to the dashboard.

#![allow(unused_imports)]

use super::helpers::*;

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

/// The dashboard's "Run now" and the bot's `/trigger` share one cooldown:
/// a run started on the web makes the bot's `/trigger` wait.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn run_now_on_the_dashboard_and_trigger_in_the_bot_share_one_cooldown() {
    let mut h = start(Setup {
        env: vec![("TELOXIDE_TOKEN".to_string(), TOKEN.to_string())],
        ..Setup::default()
    })
    .await;
    let base = format!("http://127.0.0.1:{}", h.web_port);
    let replies = h.ask(ADMIN, "/web", 1).await;
    let link = replies[0].reply_markup.as_ref().unwrap()["inline_keyboard"][0][0]["url"]
        .as_str()
        .unwrap()
        .to_string();
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let r = client.get(&link).send().await.unwrap();
    let cookie = r.headers()["set-cookie"].to_str().unwrap();
    let cookie = cookie.split(';').next().unwrap().to_string();
    let page = client
        .get(format!("{base}/runs"))
        .header("cookie", &cookie)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let csrf = page
        .split("name=\"csrf\" value=\"")
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .unwrap()
        .to_string();
    let r = client
        .post(format!("{base}/trigger"))
        .header("cookie", &cookie)
        .form(&[("csrf", csrf.as_str())])
        .send()
        .await
        .unwrap();
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
