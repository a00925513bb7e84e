//! Alpaca's error answers, read leniently: `{"code":..,"message":..}`,
//! `{"message":..}`, an HTML page or plain text all become a short message.
//! And the server's own "wait this long" hints.

use std::time::Duration;

use chrono::{DateTime, Utc};
use reqwest::header::HeaderMap;

/// Longest message kept from an error body.
const MAX_MESSAGE: usize = 200;

/// A short, single-line message from an error body of any shape.
pub fn error_message(body: &[u8]) -> String {
    #[derive(serde::Deserialize)]
    struct Json {
        code: Option<serde_json::Value>,
        message: Option<String>,
    }
    if let Ok(j) = serde_json::from_slice::<Json>(body)
        && let Some(m) = j.message
    {
        let code = j.code.map(|c| format!(" (code {c})")).unwrap_or_default();
        return shorten(&format!("{m}{code}"));
    }
    let text = String::from_utf8_lossy(body);
    let lower = text.to_ascii_lowercase();
    if let (Some(a), Some(b)) = (lower.find("<title>"), lower.find("</title>"))
        && a + 7 <= b
    {
        return shorten(&text[a + 7..b]);
    }
    let stripped = strip_tags(&text);
    if stripped.trim().is_empty() {
        "empty error body".into()
    } else {
        shorten(&stripped)
    }
}

/// Drop `<...>` tags, keep the text.
fn strip_tags(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut in_tag = false;
    for c in s.chars() {
        match c {
            '<' => in_tag = true,
            '>' => {
                in_tag = false;
                out.push(' ');
            }
            c if !in_tag => out.push(c),
            _ => {}
        }
    }
    out
}

/// One line, whitespace collapsed, at most [`MAX_MESSAGE`] characters.
fn shorten(s: &str) -> String {
    let one_line = s.split_whitespace().collect::<Vec<_>>().join(" ");
    if one_line.chars().count() <= MAX_MESSAGE {
        one_line
    } else {
        let cut: String = one_line.chars().take(MAX_MESSAGE).collect();
        format!("{cut}...")
    }
}

/// How long the server asks us to wait: `Retry-After` (seconds or an HTTP
/// date) or `X-RateLimit-Reset` (Unix seconds), whichever is present.
pub fn server_wait_hint(headers: &HeaderMap, now: DateTime<Utc>) -> Option<Duration> {
    if let Some(v) = headers.get("retry-after").and_then(|v| v.to_str().ok()) {
        let v = v.trim();
        if let Ok(secs) = v.parse::<f64>()
            && secs.is_finite()
            && secs >= 0.0
        {
            return Some(Duration::from_secs_f64(secs));
        }
        if let Ok(at) = DateTime::parse_from_rfc2822(v) {
            return Some(
                (at.with_timezone(&Utc) - now)
                    .to_std()
                    .unwrap_or(Duration::ZERO),
            );
        }
    }
    if let Some(v) = headers
        .get("x-ratelimit-reset")
        .and_then(|v| v.to_str().ok())
        && let Ok(epoch) = v.trim().parse::<i64>()
        && let Some(at) = DateTime::from_timestamp(epoch, 0)
    {
        return Some((at - now).to_std().unwrap_or(Duration::ZERO));
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use reqwest::header::HeaderValue;

    #[test]
    fn reads_every_error_shape() {
        assert_eq!(
            error_message(br#"{"code":40110000,"message":"request is not authorized"}"#),
            "request is not authorized (code 40110000)"
        );
        assert_eq!(
            error_message(br#"{"message":"too many requests"}"#),
            "too many requests"
        );
        assert_eq!(
            error_message(b"<html><head><title>502 Bad Gateway</title></head><body><h1>502</h1></body></html>"),
            "502 Bad Gateway"
        );
        assert_eq!(
            error_message(b"<h1>Service\n  Unavailable</h1>"),
            "Service Unavailable"
        );
        assert_eq!(error_message(b""), "empty error body");
        assert!(error_message("x".repeat(5000).as_bytes()).len() <= MAX_MESSAGE + 3);
        assert_eq!(
            error_message(b"\xff\xfe garbage"),
            "\u{fffd}\u{fffd} garbage"
        );
    }

    #[test]
    fn wait_hints() {
        let now: DateTime<Utc> = "2026-11-25T12:00:00Z".parse().unwrap();
        let mut h = HeaderMap::new();
        assert_eq!(server_wait_hint(&h, now), None);
        h.insert("retry-after", HeaderValue::from_static("3"));
        assert_eq!(server_wait_hint(&h, now), Some(Duration::from_secs(3)));
        h.insert(
            "retry-after",
            HeaderValue::from_static("Wed, 25 Nov 2026 12:00:07 GMT"),
        );
        assert_eq!(server_wait_hint(&h, now), Some(Duration::from_secs(7)));
        let mut h = HeaderMap::new();
        let reset = (now.timestamp() + 12).to_string();
        h.insert("x-ratelimit-reset", HeaderValue::from_str(&reset).unwrap());
        assert_eq!(server_wait_hint(&h, now), Some(Duration::from_secs(12)));
        h.insert("x-ratelimit-reset", HeaderValue::from_static("1000"));
        assert_eq!(
            server_wait_hint(&h, now),
            Some(Duration::ZERO),
            "a reset in the past means go"
        );
    }
}
