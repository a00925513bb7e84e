//! `dipwatch healthcheck`: ask the running daemon's `/healthz` on the
//! configured `http.listen` and exit 0 (healthy) or 1. It reads the same
//! configuration layers as `run` (built-in defaults, `--config`, the
//! `DIPWATCH__*` environment), so a container's HEALTHCHECK follows a
//! changed listen address, and the image needs neither a shell nor curl.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::process::ExitCode;
use std::time::Duration;

use crate::config::AppConfig;

/// How long one probe may take: Docker's own `--timeout` is the outer
/// bound; this one makes the message say what happened instead.
const PROBE_TIMEOUT: Duration = Duration::from_secs(4);

/// Probe `/healthz` once; print one line saying what was found.
pub async fn run(config: &AppConfig) -> anyhow::Result<ExitCode> {
    let Some(target) = probe_address(config.http.listen) else {
        eprintln!(
            "unhealthy: http.listen is {}: a port chosen at start cannot be probed",
            config.http.listen
        );
        return Ok(ExitCode::FAILURE);
    };
    let url = format!("http://{target}/healthz");
    // No proxy: the probe is for this host's own listener, and a proxy from
    // the environment (HTTP_PROXY in a container) would answer instead.
    let client = reqwest::Client::builder()
        .no_proxy()
        .timeout(PROBE_TIMEOUT)
        .build()?;
    match client.get(&url).send().await {
        Ok(resp) if resp.status().is_success() => {
            println!("healthy: {url} answered {}", resp.status());
            Ok(ExitCode::SUCCESS)
        }
        Ok(resp) => {
            eprintln!("unhealthy: {url} answered {}", resp.status());
            Ok(ExitCode::FAILURE)
        }
        Err(e) => {
            eprintln!("unhealthy: {url}: {}", describe(&e));
            Ok(ExitCode::FAILURE)
        }
    }
}

/// Where to reach a listener bound to `listen`: an unspecified address
/// (`0.0.0.0`, `::`) listens on loopback too, so the probe goes there;
/// `None` for port 0 (the port is picked at start and not known here).
pub fn probe_address(listen: SocketAddr) -> Option<SocketAddr> {
    if listen.port() == 0 {
        return None;
    }
    let ip = match listen.ip() {
        IpAddr::V4(v4) if v4.is_unspecified() => IpAddr::V4(Ipv4Addr::LOCALHOST),
        IpAddr::V6(v6) if v6.is_unspecified() => IpAddr::V6(Ipv6Addr::LOCALHOST),
        ip => ip,
    };
    Some(SocketAddr::new(ip, listen.port()))
}

/// The reason a probe failed, in words (reqwest's Display names only the URL).
fn describe(e: &reqwest::Error) -> String {
    if e.is_timeout() {
        format!("no answer within {} s", PROBE_TIMEOUT.as_secs())
    } else if e.is_connect() {
        "connection refused or unreachable (is `dipwatch run` up?)".to_string()
    } else {
        let mut text = e.to_string();
        let mut source = std::error::Error::source(e);
        while let Some(s) = source {
            text.push_str(": ");
            text.push_str(&s.to_string());
            source = s.source();
        }
        text
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn addr(s: &str) -> SocketAddr {
        s.parse().unwrap()
    }

    #[test]
    fn unspecified_addresses_are_probed_on_loopback() {
        assert_eq!(
            probe_address(addr("0.0.0.0:9184")),
            Some(addr("127.0.0.1:9184"))
        );
        assert_eq!(probe_address(addr("[::]:9300")), Some(addr("[::1]:9300")));
    }

    #[test]
    fn a_specific_address_is_probed_as_configured() {
        assert_eq!(
            probe_address(addr("127.0.0.2:9999")),
            Some(addr("127.0.0.2:9999"))
        );
        assert_eq!(
            probe_address(addr("192.0.2.7:9184")),
            Some(addr("192.0.2.7:9184"))
        );
    }

    #[test]
    fn port_zero_cannot_be_probed() {
        assert_eq!(probe_address(addr("127.0.0.1:0")), None);
    }
}
