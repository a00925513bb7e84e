//! Who is asking: the signed-in chat and its role, checked against the
//! allow-lists on every request, or an anonymous loopback reader.

use axum::extract::FromRequestParts;
use axum::http::header;
use axum::http::request::Parts;
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Utc};

use super::WebConfig;
use super::{WebContext, auth, client, cookie, lock};
use crate::access::Role;

/// The role `chat` has now, from the allow-lists as last (re)loaded.
pub fn role_of(config: &WebConfig, chat: i64) -> Role {
    config.access.role(chat)
}

/// A request allowed to read the dashboard.
#[derive(Debug, Clone)]
pub struct Viewer {
    /// The signed-in chat; `None` for an anonymous loopback reader.
    pub chat: Option<i64>,
    /// Reader or admin (an anonymous reader is a reader).
    pub role: Role,
    session: Option<(String, auth::Session)>,
}

impl Viewer {
    /// An anonymous loopback reader (`web.anonymous_loopback`): no chat,
    /// no session, read-only.
    pub fn anonymous() -> Self {
        Self {
            chat: None,
            role: Role::Reader,
            session: None,
        }
    }

    /// The session's CSRF token, for forms.
    pub fn csrf(&self) -> Option<&str> {
        self.session.as_ref().map(|(_, s)| s.csrf.as_str())
    }

    /// Whether `submitted` is this session's CSRF token.
    pub fn csrf_ok(&self, submitted: &str) -> bool {
        self.session
            .as_ref()
            .is_some_and(|(_, s)| auth::csrf_matches(s, submitted))
    }

    /// The session cookie's value, when signed in.
    pub(super) fn session_cookie(&self) -> Option<&str> {
        self.session.as_ref().map(|(id, _)| id.as_str())
    }

    /// Whether the session started in the Mini App.
    pub(super) fn miniapp(&self) -> bool {
        self.session.as_ref().is_some_and(|(_, s)| s.miniapp)
    }

    /// Who this is in the journal's `source` column: `web:<id>` (an
    /// anonymous loopback reader changes nothing, so never appears).
    pub(super) fn journal_source(&self) -> String {
        web_source(self.chat)
    }
}

/// The journal's `source` of a dashboard request by `chat`.
pub(super) fn web_source(chat: Option<i64>) -> String {
    match chat {
        Some(id) => crate::trading::Source::Web(id).to_string(),
        None => "web:anonymous".into(),
    }
}

/// The session cookie's value in a `Cookie` header (`name`: the name the
/// dashboard uses, by its scheme).
fn session_cookie(parts: &Parts, name: &str) -> Option<String> {
    parts
        .headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|kv| kv.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.to_string())
}

impl FromRequestParts<WebContext> for Viewer {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, ctx: &WebContext) -> Result<Self, Response> {
        if !ctx.enabled() {
            return Err((axum::http::StatusCode::NOT_FOUND, "Not found.").into_response());
        }
        let now = Utc::now();
        if ctx.bot_configured
            && let Some(id) = session_cookie(parts, cookie::name(ctx.https()))
        {
            let session = lock(&ctx.auth.sessions).get(&id, now).cloned();
            if let Some(session) = session {
                if still_valid(ctx, session.chat, session.started) {
                    return Ok(Self {
                        chat: Some(session.chat),
                        role: role_of(&ctx.config, session.chat),
                        session: Some((id, session)),
                    });
                }
                // Signed out or taken off the lists since it started: the
                // session is over for good, even if the chat comes back.
                lock(&ctx.auth.sessions).end(&id);
            }
        }
        // Anonymous pages go to loopback peers that no proxy forwarded:
        // behind a proxy on the same host every client is a loopback peer,
        // and the forwarding headers are the sign.
        let loopback = client::peer(parts).is_some_and(|ip| ip.is_loopback())
            && !client::forwarded(&parts.headers);
        if ctx.config.web.anonymous_loopback && !ctx.bot_configured && loopback {
            return Ok(Self::anonymous());
        }
        Err(super::pages::refused().into_response())
    }
}

/// Whether a credential for `chat` issued at `issued` still signs in: the
/// chat may read now, and was neither signed out everywhere (`/logout`)
/// nor taken off the allow-lists since.
pub(super) fn still_valid(ctx: &WebContext, chat: i64, issued: DateTime<Utc>) -> bool {
    if role_of(&ctx.config, chat) == crate::access::Role::Refused {
        return false;
    }
    let void_before = [
        ctx.auth.signed_out_at(chat),
        ctx.config.access.removed_at(chat),
    ]
    .into_iter()
    .flatten()
    .max();
    void_before.is_none_or(|t| issued > t)
}
