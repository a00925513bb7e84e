//! The `Host` a request names must be one this daemon is reached at:
//! `localhost`, a loopback address, the listen address and the public
//! URL's host. Anything else is answered 421 (Misdirected Request), so a
//! web page that rebinds its own name to 127.0.0.1 (DNS rebinding) reads
//! nothing from a browser on the same machine.

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;

use axum::extract::{Request, State};
use axum::http::{StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

/// The hosts one listener answers to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AllowedHosts {
    /// Names (lower case, no trailing dot): `localhost` and the public
    /// URL's host name.
    names: Vec<String>,
    /// Addresses besides loopback: the listen address, the public URL's.
    ips: Vec<IpAddr>,
    /// Listening on every address (0.0.0.0 or ::): any address literal is
    /// one of ours (a rebinding page always names a domain, never an
    /// address, so this opens nothing to it).
    any_ip: bool,
}

impl AllowedHosts {
    /// The hosts of a listener on `listen`, reached at `public` too.
    pub fn new(listen: SocketAddr, public: Option<&url::Url>) -> Self {
        let mut hosts = Self {
            names: vec!["localhost".to_string()],
            ips: vec![listen.ip()],
            any_ip: listen.ip().is_unspecified(),
        };
        match public.and_then(|u| u.host()) {
            Some(url::Host::Domain(d)) => hosts.names.push(normalize(d)),
            Some(url::Host::Ipv4(ip)) => hosts.ips.push(IpAddr::V4(ip)),
            Some(url::Host::Ipv6(ip)) => hosts.ips.push(IpAddr::V6(ip)),
            None => {}
        }
        hosts
    }

    /// Whether `authority` (a `Host` header: a name or an address, with or
    /// without a port) is one of ours.
    pub fn allows(&self, authority: &str) -> bool {
        match host_of(authority) {
            Some(Host::Ip(ip)) => {
                ip.is_loopback() || self.any_ip || self.ips.contains(&ip) || mapped(ip, &self.ips)
            }
            Some(Host::Name(name)) => self.names.contains(&name),
            None => false,
        }
    }
}

/// An IPv4 address written as IPv6 (`::ffff:127.0.0.1`) is that address.
fn mapped(ip: IpAddr, ips: &[IpAddr]) -> bool {
    match ip {
        IpAddr::V6(v6) => v6
            .to_ipv4_mapped()
            .is_some_and(|v4| v4.is_loopback() || ips.contains(&IpAddr::V4(v4))),
        IpAddr::V4(_) => false,
    }
}

/// A host as named in a request.
#[derive(Debug, PartialEq, Eq)]
enum Host {
    Ip(IpAddr),
    Name(String),
}

fn normalize(name: &str) -> String {
    name.trim_end_matches('.').to_ascii_lowercase()
}

/// The host part of an authority: `[v6]:port`, `v4:port`, `name:port` or
/// any of them without the port; `None` when malformed.
fn host_of(authority: &str) -> Option<Host> {
    let authority = authority.trim();
    if let Some(rest) = authority.strip_prefix('[') {
        let (inside, after) = rest.split_once(']')?;
        if !(after.is_empty() || after.strip_prefix(':').is_some_and(is_port)) {
            return None;
        }
        return inside.parse().ok().map(Host::Ip);
    }
    let host = match authority.rsplit_once(':') {
        Some((h, port)) if is_port(port) => h,
        Some(_) => return None,
        None => authority,
    };
    if host.is_empty() || host.contains(['/', '@', ' ', ':']) {
        return None;
    }
    Some(match host.parse::<IpAddr>() {
        Ok(ip) => Host::Ip(ip),
        Err(_) => Host::Name(normalize(host)),
    })
}

fn is_port(p: &str) -> bool {
    !p.is_empty() && p.len() <= 5 && p.bytes().all(|b| b.is_ascii_digit())
}

/// Middleware: 421 unless the request's host is allowed (the URI's
/// authority when the request line has one, else the `Host` header; a
/// request with neither is refused too).
pub async fn check(State(hosts): State<Arc<AllowedHosts>>, req: Request, next: Next) -> Response {
    let named = req
        .uri()
        .authority()
        .map(|a| a.as_str().to_string())
        .or_else(|| {
            req.headers()
                .get(header::HOST)
                .and_then(|v| v.to_str().ok())
                .map(str::to_string)
        });
    if named.is_some_and(|h| hosts.allows(&h)) {
        next.run(req).await
    } else {
        (
            StatusCode::MISDIRECTED_REQUEST,
            "This server does not answer for that host name.",
        )
            .into_response()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loopback_localhost_the_listen_address_and_the_public_host_are_ours() {
        let public: url::Url = "https://Dip.Example.com/".parse().unwrap();
        let h = AllowedHosts::new("192.168.1.5:9185".parse().unwrap(), Some(&public));
        for ok in [
            "localhost",
            "LOCALHOST:9185",
            "127.0.0.1:9185",
            "127.9.9.9",
            "[::1]:9185",
            "[::ffff:127.0.0.1]",
            "192.168.1.5:9185",
            "dip.example.com",
            "dip.example.com.:443",
        ] {
            assert!(h.allows(ok), "{ok}");
        }
        for refused in [
            "evil.example",
            "dip.example.com.evil.example",
            "192.168.1.6",
            "localhost.evil.example",
            "",
            "localhost:99999999",
            "a b",
            "user@localhost",
            "[::1",
            "[::1]x",
        ] {
            assert!(!h.allows(refused), "{refused:?}");
        }
    }

    #[test]
    fn an_unspecified_listen_address_takes_any_address_but_no_other_name() {
        let h = AllowedHosts::new("0.0.0.0:9184".parse().unwrap(), None);
        assert!(h.allows("10.1.2.3:9184"));
        assert!(h.allows("[2001:db8::1]:9184"));
        assert!(!h.allows("rebound.example:9184"));
    }
}
