//! `/web`: the bot signs its chat in to the web dashboard with a one-time
//! link (in a button, so the token never sits in the text) and, in a
//! private chat on an https dashboard, the Mini App.

use teloxide::types::{InlineKeyboardButton, InlineKeyboardMarkup, WebAppInfo};

use super::{Answer, Call, Reply, Spec};
use crate::bot::error::BotError;

/// `/web`.
pub(crate) const SPEC: Spec = Spec::new(
    "web",
    "",
    "Sign in to the web dashboard (a one-time link)",
    Answer::Act(|call| Box::pin(act(call))),
);

/// The reply to `/web`: where the link leads and how long it works. The
/// link itself is in the button, so the token never sits in the text.
pub(crate) fn link_text(public_url: &url::Url) -> String {
    format!(
        "Your sign-in link to the dashboard at {} works <b>once</b>, for <b>10 minutes</b>. \
         Do not forward it: it signs in as this chat.",
        crate::bot::html::escape(public_url.as_str())
    )
}

/// The buttons under `/web`'s reply: the one-time link, and in a private
/// chat on an https dashboard the Mini App, which signs in by itself.
pub(crate) fn keyboard(
    public_url: &url::Url,
    token: &str,
    private_chat: bool,
) -> InlineKeyboardMarkup {
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

/// The reply when the dashboard is not served.
pub(crate) const OFF: &str = "The web dashboard is off.";

/// Issue a one-time link for this chat.
async fn act(call: &Call<'_>) -> Result<(), BotError> {
    let ctx = &call.shared.ctx;
    let Some(auth) = ctx.web.as_deref() else {
        return call.say(OFF).await;
    };
    let public_url = &ctx.config.web_public_url;
    match auth.issue_login(call.chat.0) {
        Some(token) => {
            let keyboard = keyboard(public_url, &token, call.chat.0 > 0);
            let text = link_text(public_url);
            call.reply(&Reply {
                text,
                keyboard: Some(keyboard),
            })
            .await
        }
        None => {
            call.say("No link can be given right now; try again in a few minutes.")
                .await
        }
    }
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
    }
}
