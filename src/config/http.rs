//! `[http]`: the health and metrics listener (never the dashboard's).

use std::net::SocketAddr;

use serde::{Deserialize, Serialize};

use super::error::{ConfigError, ConfigWarning, invalid, warning};

/// `[http]` as written.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct HttpSettings {
    /// Listen address for health and metrics.
    pub listen: String,
}

/// `[http]` checked.
#[derive(Debug, Clone, Copy)]
pub struct Http {
    /// Where `/healthz`, `/readyz` and `/metrics` are served.
    pub listen: SocketAddr,
}

impl HttpSettings {
    /// Parse the address; a warning when other hosts can reach it (these
    /// endpoints have no authentication).
    pub(crate) fn parse(&self) -> Result<(Http, Vec<ConfigWarning>), ConfigError> {
        let listen: SocketAddr = self.listen.parse().map_err(|_| {
            invalid(
                "http.listen",
                format!(
                    "{:?} is not an address:port (e.g. 127.0.0.1:9184)",
                    self.listen
                ),
            )
        })?;
        let mut warnings = Vec::new();
        if !listen.ip().is_loopback() {
            warnings.push(warning(
                "http.listen",
                format!(
                    "{listen} is reachable from other hosts: /metrics and /readyz \
                     (run state, portfolio equity) have no authentication; keep 127.0.0.1 \
                     unless a firewall or proxy guards the port"
                ),
            ));
        }
        Ok((Http { listen }, warnings))
    }
}
