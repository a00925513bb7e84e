//! `/logout`: end every dashboard session of this chat.

use super::web::OFF;
use super::{Answer, Call, Spec};
use crate::bot::error::BotError;

/// `/logout`.
pub(crate) const SPEC: Spec = Spec::new(
    "logout",
    "",
    "Sign out of the web dashboard everywhere",
    Answer::Act(|call| Box::pin(act(call))),
);

async fn act(call: &Call<'_>) -> Result<(), BotError> {
    let text = match call.shared.ctx.web.as_deref() {
        Some(auth) => logout_text(auth.logout_chat(call.chat.0)),
        None => OFF.to_string(),
    };
    call.say(&text).await
}

/// The reply to `/logout`.
fn logout_text(ended: usize) -> String {
    match ended {
        0 => "No dashboard session was open for this chat.".to_string(),
        1 => "Signed out of 1 dashboard session.".to_string(),
        n => format!("Signed out of {n} dashboard sessions."),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_reply_counts_the_sessions_ended() {
        assert_eq!(
            logout_text(0),
            "No dashboard session was open for this chat."
        );
        assert_eq!(logout_text(2), "Signed out of 2 dashboard sessions.");
        assert_eq!(logout_text(1), "Signed out of 1 dashboard session.");
    }
}
