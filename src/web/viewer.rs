//! Who is asking: the signed-in chat and its role, checked against the
//! allow-lists on every request, or an anonymous loopback reader.

use std::net::SocketAddr;

use axum::extract::{ConnectInfo, FromRequestParts};
use axum::http::header;
use axum::http::request::Parts;
use axum::response::{IntoResponse, Response};
use chrono::Utc;

use super::{SESSION_COOKIE, WebContext, auth, lock};
use crate::bot::access::Role;
use crate::config::AppConfig;

/// The role `chat` has now, from the allow-lists as last (re)loaded.
pub fn role_of(config: &AppConfig, chat: i64) -> Role {
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
}

/// The session cookie's value in a `Cookie` header.
fn session_cookie(parts: &Parts) -> Option<String> {
    parts
        .headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|kv| kv.trim().split_once('='))
        .find(|(k, _)| *k == SESSION_COOKIE)
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
            && let Some(id) = session_cookie(parts)
        {
            let session = lock(&ctx.auth.sessions).get(&id, now).cloned();
            if let Some(session) = session {
                let role = role_of(&ctx.config, session.chat);
                if role != Role::Refused {
                    return Ok(Self {
                        chat: Some(session.chat),
                        role,
                        session: Some((id, session)),
                    });
                }
            }
        }
        let loopback = parts
            .extensions
            .get::<ConnectInfo<SocketAddr>>()
            .is_some_and(|ConnectInfo(peer)| peer.ip().is_loopback());
        if ctx.config.settings.web.anonymous_loopback && !ctx.bot_configured && loopback {
            return Ok(Self::anonymous());
        }
        Err(super::pages::refused().into_response())
    }
}
