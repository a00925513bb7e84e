//! `[web]`: the dashboard's listener, its public address, sign-ins, the
//! proxies it trusts, its limits and who may frame it.

use std::net::SocketAddr;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::error::{ConfigError, ConfigWarning, invalid, warning};
use crate::cidr::Cidr;

/// `[web]` as written.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct WebSettings {
    /// Listen address of the dashboard (separate from `http.listen`).
    pub listen: String,
    /// The address users reach the dashboard at (behind a proxy: its
    /// https URL); sign-in links point there. Empty: `http://{listen}`.
    pub public_url: String,
    /// How long a sign-in lasts, seconds.
    pub session_ttl_secs: u64,
    /// Without a bot token, serve read-only pages to loopback clients.
    pub anonymous_loopback: bool,
    /// Reverse proxies (addresses or CIDR ranges) whose `X-Forwarded-For`
    /// and `Forwarded` headers name the client; nobody else's are read.
    #[serde(default)]
    pub trusted_proxies: Vec<String>,
    /// Connections the dashboard serves at once (lowered to what the
    /// open-file limit leaves after the store's and the bot's share).
    #[serde(default = "default_web_connections")]
    pub max_connections: usize,
    /// Sessions a chat may hold at once; signing in again ends its oldest.
    #[serde(default = "default_sessions_per_chat")]
    pub sessions_per_chat: usize,
    /// Origins besides the dashboard's own that may show it in a frame:
    /// Telegram Web runs the Mini App in one.
    #[serde(default = "default_frame_ancestors")]
    pub frame_ancestors: Vec<String>,
}

fn default_frame_ancestors() -> Vec<String> {
    vec!["https://web.telegram.org".to_string()]
}

fn default_web_connections() -> usize {
    512
}

fn default_sessions_per_chat() -> usize {
    10
}

/// The most `web.sessions_per_chat` takes.
const MAX_SESSIONS_PER_CHAT: usize = 100;
/// The most `web.max_connections` takes.
const MAX_WEB_CONNECTIONS: usize = 100_000;

/// `[web]` checked: what the dashboard serves with.
#[derive(Debug, Clone)]
pub struct Web {
    /// The dashboard's listen address (never `http.listen`'s).
    pub listen: SocketAddr,
    /// Where users reach the dashboard (`web.public_url`, or
    /// `http://{web.listen}`); sign-in links point here.
    pub public_url: url::Url,
    /// Whether `public_url` is only `listen`'s (`web.public_url` empty): the
    /// daemon then points links at the address it actually bound.
    pub public_url_from_listen: bool,
    /// How long a sign-in lasts.
    pub session_ttl: Duration,
    /// Without a bot token, serve read-only pages to loopback clients.
    pub anonymous_loopback: bool,
    /// `web.trusted_proxies`, parsed.
    pub trusted_proxies: Vec<Cidr>,
    /// Connections served at once (1 to 100,000).
    pub max_connections: usize,
    /// Sessions a chat may hold at once (1 to 100).
    pub sessions_per_chat: usize,
    /// Origins besides the dashboard's own that may frame it.
    pub frame_ancestors: Vec<String>,
}

impl WebSettings {
    /// Parse the addresses and check the limits, naming the key; `http` is
    /// the health/metrics listener the dashboard must not share. Warnings
    /// for anonymous mode where it would not be private.
    pub(crate) fn parse(&self, http: SocketAddr) -> Result<(Web, Vec<ConfigWarning>), ConfigError> {
        let listen: SocketAddr = self.listen.parse().map_err(|_| {
            invalid(
                "web.listen",
                format!(
                    "{:?} is not an address:port (e.g. 127.0.0.1:9185)",
                    self.listen
                ),
            )
        })?;
        if listen == http && listen.port() != 0 {
            return Err(invalid(
                "web.listen",
                "must differ from http.listen: exposing the dashboard must never expose /metrics",
            ));
        }
        let public_url_from_listen = self.public_url.trim().is_empty();
        let public = match public_url_from_listen {
            true => format!("http://{listen}"),
            false => self.public_url.trim().to_string(),
        };
        let public_url = url::Url::parse(&public)
            .ok()
            .filter(|u| matches!(u.scheme(), "http" | "https") && u.host().is_some())
            .ok_or_else(|| {
                invalid(
                    "web.public_url",
                    format!("{public:?} is not an http:// or https:// URL"),
                )
            })?;
        let trusted_proxies = self
            .trusted_proxies
            .iter()
            .map(|p| p.parse().map_err(|e| invalid("web.trusted_proxies", e)))
            .collect::<Result<Vec<Cidr>, _>>()?;
        self.check_limits()?;
        self.check_frame_ancestors()?;
        let warnings = self.anonymous_warnings(listen, !trusted_proxies.is_empty());
        if !(60..=366 * 24 * 3600).contains(&self.session_ttl_secs) {
            return Err(invalid(
                "web.session_ttl_secs",
                format!(
                    "{} must be between 60 and 31622400 (a year)",
                    self.session_ttl_secs
                ),
            ));
        }
        let web = Web {
            listen,
            public_url,
            public_url_from_listen,
            session_ttl: Duration::from_secs(self.session_ttl_secs),
            anonymous_loopback: self.anonymous_loopback,
            trusted_proxies,
            max_connections: self.max_connections,
            sessions_per_chat: self.sessions_per_chat,
            frame_ancestors: self.frame_ancestors.clone(),
        };
        Ok((web, warnings))
    }

    /// Sessions per chat and connections: at least one, at most the bounds.
    fn check_limits(&self) -> Result<(), ConfigError> {
        for (key, value, most) in [
            (
                "web.sessions_per_chat",
                self.sessions_per_chat,
                MAX_SESSIONS_PER_CHAT,
            ),
            (
                "web.max_connections",
                self.max_connections,
                MAX_WEB_CONNECTIONS,
            ),
        ] {
            if !(1..=most).contains(&value) {
                return Err(invalid(
                    key,
                    format!("{value} must be between 1 and {most}"),
                ));
            }
        }
        Ok(())
    }

    /// Each frame ancestor is a bare origin (it goes into the CSP header
    /// as written, so nothing that could end or extend the directive).
    fn check_frame_ancestors(&self) -> Result<(), ConfigError> {
        for origin in &self.frame_ancestors {
            let ok = url::Url::parse(origin).is_ok_and(|u| {
                matches!(u.scheme(), "http" | "https")
                    && u.host().is_some()
                    && u.path() == "/"
                    && u.query().is_none()
                    && !origin.ends_with('/')
            }) && !origin.contains([';', ',', ' ', '\'', '"']);
            if !ok {
                return Err(invalid(
                    "web.frame_ancestors",
                    format!("{origin:?} is not an origin like https://web.telegram.org"),
                ));
            }
        }
        Ok(())
    }

    /// Anonymous pages on a listener others reach, or behind a proxy.
    fn anonymous_warnings(&self, listen: SocketAddr, proxied: bool) -> Vec<ConfigWarning> {
        let mut warnings = Vec::new();
        if self.anonymous_loopback && !listen.ip().is_loopback() {
            warnings.push(warning(
                "web.anonymous_loopback",
                format!(
                    "the dashboard listens on {listen}, not a loopback address: anonymous pages \
                     are served only to loopback clients, but keep web.listen on 127.0.0.1"
                ),
            ));
        }
        if self.anonymous_loopback && proxied {
            warnings.push(warning(
                "web.anonymous_loopback",
                "a proxy in front of an anonymous dashboard makes every remote client look local: \
                 anonymous mode refuses every request that carries forwarding headers",
            ));
        }
        warnings
    }
}
