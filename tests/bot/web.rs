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
