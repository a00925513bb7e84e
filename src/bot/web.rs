//! `/web` and `/logout`: the bot signs its chats in to the web dashboard
//! with one-time links, and signs them out everywhere.

use teloxide::types::{ChatId, InlineKeyboardButton, InlineKeyboardMarkup, WebAppInfo};

use super::send::{self, TgBot};
use crate::access::WebAuth;

/// The reply to `/web`: where the link leads and how long it works. The
/// link itself is in the button, so the token never sits in the text.
pub fn link_text(public_url: &url::Url) -> String {
    format!(
        "Your sign-in link to the dashboard at {} works <b>once</b>, for <b>10 minutes</b>. \
         Do not forward it: it signs in as this chat.",
        super::html::escape(public_url.as_str())
    )
}

/// The buttons under `/web`'s reply: the one-time link, and in a private
/// chat on an https dashboard the Mini App, which signs in by itself.
pub fn keyboard(public_url: &url::Url, token: &str, private_chat: bool) -> InlineKeyboardMarkup {
    let mut login = public_url.clone();
    login.set_path("/login");
    login.set_query(Some(&format!("token={token}")));
    let mut rows = vec![vec![InlineKeyboardButton::url("Open dashboard", login)]];
    if private_chat && public_url.scheme() == "https" {
        let mut app = public_url.clone();
        app.set_path("/miniapp");
        rows.push(vec![InlineKeyboardButton::web_app(
            "Open in Telegram",
            WebAppInfo { url: app },
        )]);
    }
    InlineKeyboardMarkup::new(rows)
}

/// The reply to `/logout`.
pub fn logout_text(ended: usize) -> String {
    match ended {
        0 => "No dashboard session was open for this chat.".to_string(),
        1 => "Signed out of 1 dashboard session.".to_string(),
        n => format!("Signed out of {n} dashboard sessions."),
    }
}

/// The reply when the dashboard is not served.
pub const OFF: &str = "The web dashboard is off.";

/// Answer `/web`.
pub async fn web(
    bot: &TgBot,
    chat: ChatId,
    auth: Option<&WebAuth>,
    public_url: &url::Url,
) -> Result<(), teloxide::RequestError> {
    let Some(auth) = auth else {
        send::html(bot, chat, OFF).await?;
        return Ok(());
    };
    match auth.issue_login(chat.0) {
        Some(token) => {
            let keyboard = keyboard(public_url, &token, chat.0 > 0);
            send::html_with_keyboard(bot, chat, &link_text(public_url), Some(keyboard)).await?;
        }
        None => {
            send::html(
                bot,
                chat,
                "No link can be given right now; try again in a few minutes.",
            )
            .await?;
        }
    }
    Ok(())
}

/// Answer `/logout`.
pub async fn logout(
    bot: &TgBot,
    chat: ChatId,
    auth: Option<&WebAuth>,
) -> Result<(), teloxide::RequestError> {
    let text = match auth {
        Some(auth) => logout_text(auth.logout_chat(chat.0)),
        None => OFF.to_string(),
    };
    send::html(bot, chat, &text).await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_link_is_in_the_button_not_the_text_and_the_mini_app_needs_https() {
        let http: url::Url = "http://127.0.0.1:9185".parse().unwrap();
        let https: url::Url = "https://dip.example.com/".parse().unwrap();
        let token = "00112233445566778899aabbccddeeff";
        assert!(!link_text(&https).contains(token));
        let k = keyboard(&https, token, true);
        let json = serde_json::to_string(&k).unwrap();
        assert!(
            json.contains("https://dip.example.com/login?token=00112233445566778899aabbccddeeff")
        );
        assert!(json.contains("https://dip.example.com/miniapp"));
        assert_eq!(
            keyboard(&https, token, false).inline_keyboard.len(),
            1,
            "groups: no Mini App"
        );
        assert_eq!(
            keyboard(&http, token, true).inline_keyboard.len(),
            1,
            "http: no Mini App"
        );
        assert_eq!(
            logout_text(0),
            "No dashboard session was open for this chat."
        );
        assert_eq!(logout_text(2), "Signed out of 2 dashboard sessions.");
    }
}
