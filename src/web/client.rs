//! Who is on the other end of a request: the TCP peer, or, when the peer
//! is one of `web.trusted_proxies`, the client its forwarding headers name.
//! Headers from anyone else are never read, so a direct client cannot pick
//! the address its sign-in attempts are counted under.

use std::net::{IpAddr, SocketAddr};

use axum::extract::{ConnectInfo, FromRequestParts};
use axum::http::HeaderMap;
use axum::http::request::Parts;

use super::WebContext;
use crate::cidr::Cidr;

/// Headers by which a proxy says whom it forwards for.
const FORWARDING: [&str; 3] = ["forwarded", "x-forwarded-for", "x-real-ip"];

/// Whether the request carries any forwarding header (whoever sent it).
pub fn forwarded(headers: &HeaderMap) -> bool {
    FORWARDING.iter().any(|h| headers.contains_key(*h))
}

/// The client's address: `peer` unless `peer` is a trusted proxy; then
/// the nearest hop its headers list that is not itself a trusted proxy
/// (each proxy appends the address it was reached from, so hops further
/// left were written by the client and are not believed). `Forwarded`
/// (RFC 7239) is read when present, `X-Forwarded-For` otherwise.
pub fn client_addr(peer: IpAddr, headers: &HeaderMap, trusted: &[Cidr]) -> IpAddr {
    let is_trusted = |ip: IpAddr| trusted.iter().any(|c| c.contains(ip));
    if !is_trusted(peer) {
        return peer;
    }
    let hops = forwarded_hops(headers);
    let mut client = peer;
    for hop in hops.iter().rev() {
        match hop {
            // Past a hop we cannot read, nothing further left is believed.
            None => break,
            Some(ip) => {
                client = *ip;
                if !is_trusted(*ip) {
                    break;
                }
            }
        }
    }
    client
}

/// The hops a request's forwarding headers list, left (the first client)
/// to right (the nearest proxy); `None` for one that is not an address
/// (`unknown`, an obfuscated name, garbage).
fn forwarded_hops(headers: &HeaderMap) -> Vec<Option<IpAddr>> {
    let values = |name: &str| -> Vec<String> {
        headers
            .get_all(name)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .map(str::to_string)
            .collect()
    };
    let forwarded = values("forwarded");
    if !forwarded.is_empty() {
        return forwarded
            .iter()
            .flat_map(|v| v.split(','))
            .map(|element| {
                element
                    .split(';')
                    .filter_map(|pair| pair.trim().split_once('='))
                    .find(|(k, _)| k.eq_ignore_ascii_case("for"))
                    .and_then(|(_, v)| parse_node(v))
            })
            .collect();
    }
    values("x-forwarded-for")
        .iter()
        .flat_map(|v| v.split(','))
        .map(parse_node)
        .collect()
}

/// An address as a forwarding header writes it: `1.2.3.4`, `1.2.3.4:80`,
/// `"[2001:db8::1]:80"`, `2001:db8::1`.
fn parse_node(raw: &str) -> Option<IpAddr> {
    let v = raw.trim().trim_matches('"');
    if let Ok(ip) = v.parse() {
        return Some(ip);
    }
    if let Some(rest) = v.strip_prefix('[') {
        return rest.split_once(']')?.0.parse().ok();
    }
    v.parse::<SocketAddr>().ok().map(|s| s.ip())
}

/// The requesting client's address, resolved through the trusted proxies.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClientAddr(pub IpAddr);

impl FromRequestParts<WebContext> for ClientAddr {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(
        parts: &mut Parts,
        ctx: &WebContext,
    ) -> Result<Self, Self::Rejection> {
        let peer = peer(parts).unwrap_or(IpAddr::from([0, 0, 0, 0]));
        Ok(Self(client_addr(
            peer,
            &parts.headers,
            &ctx.config.web.trusted_proxies,
        )))
    }
}

/// The TCP peer's address (set by the server for every connection).
pub fn peer(parts: &Parts) -> Option<IpAddr> {
    parts
        .extensions
        .get::<ConnectInfo<SocketAddr>>()
        .map(|ConnectInfo(p)| p.ip())
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.append(*k, HeaderValue::from_str(v).unwrap());
        }
        h
    }

    #[test]
    fn only_a_trusted_proxys_headers_are_read_and_only_its_own_hop_believed() {
        let trusted: Vec<Cidr> = vec!["127.0.0.1".parse().unwrap(), "10.0.0.0/8".parse().unwrap()];
        let xff = headers(&[("x-forwarded-for", "6.6.6.6, 203.0.113.9")]);
        // A direct client's header is ignored.
        assert_eq!(
            client_addr(ip("198.51.100.7"), &xff, &trusted),
            ip("198.51.100.7")
        );
        // Through the proxy: the hop it appended, not the one the client wrote.
        assert_eq!(
            client_addr(ip("127.0.0.1"), &xff, &trusted),
            ip("203.0.113.9")
        );
        // Two trusted proxies in a row are skipped.
        let chain = headers(&[("x-forwarded-for", "6.6.6.6, 203.0.113.9, 10.1.1.1")]);
        assert_eq!(
            client_addr(ip("127.0.0.1"), &chain, &trusted),
            ip("203.0.113.9")
        );
        // Split across two header lines, the same list.
        let split = headers(&[
            ("x-forwarded-for", "6.6.6.6"),
            ("x-forwarded-for", "203.0.113.9"),
        ]);
        assert_eq!(
            client_addr(ip("127.0.0.1"), &split, &trusted),
            ip("203.0.113.9")
        );
        // A proxy that sent no header: the proxy itself.
        assert_eq!(
            client_addr(ip("127.0.0.1"), &HeaderMap::new(), &trusted),
            ip("127.0.0.1")
        );
        // An unreadable nearest hop: nothing beyond it is believed.
        let junk = headers(&[("x-forwarded-for", "6.6.6.6, junk")]);
        assert_eq!(
            client_addr(ip("127.0.0.1"), &junk, &trusted),
            ip("127.0.0.1")
        );
        // No trusted proxies: never read.
        assert_eq!(client_addr(ip("127.0.0.1"), &xff, &[]), ip("127.0.0.1"));
    }

    #[test]
    fn rfc_7239_forwarded_is_read_with_ports_quotes_and_ipv6() {
        let trusted: Vec<Cidr> = vec!["::1".parse().unwrap()];
        let h = headers(&[(
            "forwarded",
            r#"for=6.6.6.6;proto=https, For="[2001:db8::7]:4711";by=x"#,
        )]);
        assert_eq!(client_addr(ip("::1"), &h, &trusted), ip("2001:db8::7"));
        let v4 = headers(&[("forwarded", "for=192.0.2.60:1234;proto=http")]);
        assert_eq!(client_addr(ip("::1"), &v4, &trusted), ip("192.0.2.60"));
        let unknown = headers(&[("forwarded", "for=unknown")]);
        assert_eq!(client_addr(ip("::1"), &unknown, &trusted), ip("::1"));
        assert!(forwarded(&h));
        assert!(forwarded(&headers(&[("x-real-ip", "1.2.3.4")])));
        assert!(!forwarded(&HeaderMap::new()));
    }
}
