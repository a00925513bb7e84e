//! Server plumbing: the background runtime, a hand-rolled HTTP/1.1 reader
//! and writer (keep-alive; `GET`, and `POST`/`DELETE` with a
//! `Content-Length` body) so tests control hangs, resets, dropped answers
//! and partial bodies down to the byte.

#![allow(dead_code, unused_imports)]

use std::collections::{BTreeMap, HashMap, HashSet, VecDeque};
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use chrono::{DateTime, Datelike, Days, NaiveDate, SecondsFormat, TimeZone, Utc};
use chrono_tz::America::New_York;
use dipwatch::domain::{Bar, Symbol};
use dipwatch::market::calendar;
use dipwatch::market::sim::SimMarket;
use rust_decimal::Decimal;
use serde_json::{Map, Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::oneshot;

use super::*;

/// The background thread: a small runtime that accepts until told to stop,
/// then drops every connection task.
pub(super) fn run(
    listener: std::net::TcpListener,
    shared: Arc<Shared>,
    mut stopped: oneshot::Receiver<()>,
) {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .thread_name("fake-alpaca-worker")
        .enable_all()
        .build()
        .expect("fake alpaca: runtime");
    rt.block_on(async {
        let listener = TcpListener::from_std(listener).expect("fake alpaca: listener");
        loop {
            tokio::select! {
                _ = &mut stopped => break,
                accepted = listener.accept() => match accepted {
                    Ok((stream, _)) => {
                        shared.connections.fetch_add(1, Ordering::SeqCst);
                        let _ = stream.set_nodelay(true);
                        tokio::spawn(serve_connection(stream, shared.clone()));
                    }
                    // Out of descriptors and the like: back off briefly.
                    Err(_) => tokio::time::sleep(Duration::from_millis(5)).await,
                },
            }
        }
    });
    rt.shutdown_timeout(Duration::from_secs(1));
}

/// A parsed request head.
#[derive(Debug, Clone)]
pub(super) struct Request {
    pub(super) method: String,
    pub(super) path: String,
    pub(super) query: Vec<(String, String)>,
    /// Lower-cased names.
    pub(super) headers: Vec<(String, String)>,
    pub(super) close: bool,
    /// The body as sent (empty without one).
    pub(super) body: Vec<u8>,
}

impl Request {
    pub(super) fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    pub(super) fn param(&self, name: &str) -> Option<&str> {
        self.query
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }
}

/// A response before it is written.
#[derive(Debug, Clone)]
pub(super) struct Response {
    pub(super) status: u16,
    pub(super) headers: Vec<(String, String)>,
    pub(super) body: Vec<u8>,
}

impl Response {
    /// A status with no body (`204 No Content`).
    pub(super) fn empty(status: u16) -> Self {
        Self {
            status,
            headers: Vec::new(),
            body: Vec::new(),
        }
    }

    pub(super) fn json(status: u16, value: &Value) -> Self {
        Self {
            status,
            headers: vec![(
                "Content-Type".into(),
                "application/json; charset=UTF-8".into(),
            )],
            body: value.to_string().into_bytes(),
        }
    }
}

/// What the connection does with one request.
pub(super) enum Action {
    Respond(Response),
    Partial(Response),
    Reset,
    /// The request was handled; close the connection without a byte.
    Drop,
}

/// Why a request head could not be read.
pub(super) enum ReadError {
    /// Answer this status, then close.
    Bad(u16, &'static str),
    /// The peer went away.
    Gone,
}

pub(super) async fn serve_connection(mut stream: TcpStream, shared: Arc<Shared>) {
    let mut buf = Vec::with_capacity(4096);
    loop {
        let req = match read_request(&mut stream, &mut buf).await {
            Ok(req) => req,
            Err(ReadError::Gone) => return,
            Err(ReadError::Bad(status, message)) => {
                let resp = Response::json(status, &json!({ "message": message }));
                let _ = write_response(&mut stream, &shared, &resp, true, None).await;
                return;
            }
        };
        let n = shared.in_flight.fetch_add(1, Ordering::SeqCst) + 1;
        shared.max_in_flight.fetch_max(n, Ordering::SeqCst);
        let keep = answer(&mut stream, &shared, req).await;
        shared.in_flight.fetch_sub(1, Ordering::SeqCst);
        if !keep {
            return;
        }
    }
}

/// Answer one request; false when the connection must end.
pub(super) async fn answer(stream: &mut TcpStream, shared: &Arc<Shared>, req: Request) -> bool {
    let at = Utc::now();
    let (fault, latency) = {
        let mut c = lock(&shared.config);
        // A spec is a path prefix, optionally `?needle`: then one of the
        // decoded `key=value` query pairs must contain the needle (to aim
        // a fault at one batch of symbols, say).
        let matches_path = |spec: &str| match spec.split_once('?') {
            None => req.path.starts_with(spec),
            Some((path, needle)) => {
                req.path.starts_with(path)
                    && req
                        .query
                        .iter()
                        .any(|(k, v)| format!("{k}={v}").contains(needle))
            }
        };
        // `POST /v2/orders`: only requests of that method.
        let matches = |spec: &str| {
            let spec = match spec.split_once(' ') {
                Some((method, rest)) if !method.starts_with('/') => {
                    if method != req.method {
                        return false;
                    }
                    rest
                }
                _ => spec,
            };
            matches_path(spec)
        };
        let pos = c.faults.iter().position(|(spec, _)| matches(spec));
        let fault = pos.and_then(|i| c.faults.remove(i)).map(|(_, f)| f);
        (fault, c.latency)
    };
    let normal = |req: Request| {
        let shared = shared.clone();
        async move {
            tokio::task::spawn_blocking(move || route(&shared, &req))
                .await
                .unwrap_or_else(|_| {
                    Response::json(500, &json!({ "message": "fake alpaca handler panicked" }))
                })
        }
    };
    let mut delay = latency;
    let (action, status) = match &fault {
        None | Some(Fault::Pass) => {
            let r = normal(req.clone()).await;
            let s = r.status;
            (Action::Respond(r), s)
        }
        Some(Fault::Status {
            code,
            body,
            headers,
        }) => {
            let mut all = headers.clone();
            if !all
                .iter()
                .any(|(k, _)| k.eq_ignore_ascii_case("content-type"))
            {
                let t = body.trim_start();
                let ct = if t.starts_with('{') || t.starts_with('[') {
                    "application/json; charset=UTF-8"
                } else {
                    "text/html; charset=utf-8"
                };
                all.push(("Content-Type".into(), ct.into()));
            }
            let r = Response {
                status: *code,
                headers: all,
                body: body.clone().into_bytes(),
            };
            (Action::Respond(r), *code)
        }
        Some(Fault::Hang(d)) => {
            delay += *d;
            let r = normal(req.clone()).await;
            let s = r.status;
            (Action::Respond(r), s)
        }
        Some(Fault::Reset) => (Action::Reset, 0),
        Some(Fault::DropAnswer) => {
            // Handled (an order is placed), then the answer is lost.
            let _ = normal(req.clone()).await;
            (Action::Drop, 0)
        }
        Some(Fault::MalformedJson) => {
            let mut r = normal(req.clone()).await;
            r.status = 200;
            let cut = (r.body.len() / 2).max(1).min(r.body.len());
            r.body.truncate(cut);
            (Action::Respond(r), 200)
        }
        Some(Fault::PartialBody) => {
            let mut r = normal(req.clone()).await;
            r.status = 200;
            (Action::Partial(r), 200)
        }
        Some(Fault::RateLimitedFor(secs)) => {
            let reset = at.timestamp() + i64::try_from(*secs).unwrap_or(i64::MAX / 2);
            let mut r = error(429, 42_910_000, "rate limit exceeded");
            r.headers.extend([
                ("X-RateLimit-Limit".to_string(), "200".to_string()),
                ("X-RateLimit-Remaining".to_string(), "0".to_string()),
                ("X-RateLimit-Reset".to_string(), reset.to_string()),
            ]);
            (Action::Respond(r), 429)
        }
    };
    lock(&shared.log).push(Recorded {
        method: req.method.clone(),
        path: req.path.clone(),
        query: req.query.clone(),
        body: String::from_utf8_lossy(&req.body).into_owned(),
        status,
        fault: fault.as_ref().map(Fault::kind),
        at,
    });
    if !delay.is_zero() {
        tokio::time::sleep(delay).await;
    }
    match action {
        Action::Reset => {
            let _ = stream.set_zero_linger();
            false
        }
        Action::Drop => {
            let _ = stream.shutdown().await;
            false
        }
        Action::Respond(r) => write_response(stream, shared, &r, req.close, None)
            .await
            .is_ok_and(|()| !req.close),
        Action::Partial(r) => {
            let half = r.body.len() / 2;
            let _ = write_response(stream, shared, &r, true, Some(half)).await;
            false
        }
    }
}

/// Largest request body the fake reads before answering 413.
const MAX_BODY: usize = 64 * 1024;

/// Read one request (head and `Content-Length` body) from the connection.
pub(super) async fn read_request(
    stream: &mut TcpStream,
    buf: &mut Vec<u8>,
) -> Result<Request, ReadError> {
    let head_end = loop {
        if let Some(i) = find(buf, b"\r\n\r\n") {
            break i;
        }
        if buf.len() > MAX_HEAD {
            return Err(ReadError::Bad(431, "request header fields too large"));
        }
        let mut chunk = [0u8; 8192];
        match stream.read(&mut chunk).await {
            Ok(0) | Err(_) => return Err(ReadError::Gone),
            Ok(n) => buf.extend_from_slice(&chunk[..n]),
        }
    };
    let head = String::from_utf8_lossy(&buf[..head_end]).into_owned();
    buf.drain(..head_end + 4);
    let mut lines = head.split("\r\n");
    let request_line = lines.next().unwrap_or("");
    let mut parts = request_line.split(' ');
    let (Some(method), Some(target), Some(version), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(ReadError::Bad(400, "malformed request line"));
    };
    if !version.starts_with("HTTP/1.") {
        return Err(ReadError::Bad(400, "unsupported HTTP version"));
    }
    let mut headers = Vec::new();
    for line in lines {
        let Some((name, value)) = line.split_once(':') else {
            return Err(ReadError::Bad(400, "malformed header"));
        };
        headers.push((name.trim().to_ascii_lowercase(), value.trim().to_string()));
    }
    let connection = headers
        .iter()
        .filter(|(k, _)| k == "connection")
        .map(|(_, v)| v.to_ascii_lowercase())
        .collect::<Vec<_>>()
        .join(",");
    let has = |token: &str| connection.split(',').any(|t| t.trim() == token);
    let close = if version == "HTTP/1.0" {
        !has("keep-alive")
    } else {
        has("close")
    };
    if headers.iter().any(|(k, _)| k == "transfer-encoding") {
        return Err(ReadError::Bad(400, "request bodies are not supported"));
    }
    let body_len = headers
        .iter()
        .find(|(k, _)| k == "content-length")
        .map(|(_, v)| v.parse::<usize>())
        .transpose()
        .map_err(|_| ReadError::Bad(400, "bad content-length"))?
        .unwrap_or(0);
    if body_len > MAX_BODY {
        return Err(ReadError::Bad(413, "request body too large"));
    }
    let from_buf = body_len.min(buf.len());
    let mut body: Vec<u8> = buf.drain(..from_buf).collect();
    while body.len() < body_len {
        let mut chunk = [0u8; 8192];
        let want = (body_len - body.len()).min(chunk.len());
        match stream.read(&mut chunk[..want]).await {
            Ok(0) | Err(_) => return Err(ReadError::Gone),
            Ok(n) => body.extend_from_slice(&chunk[..n]),
        }
    }
    let (path, raw_query) = target.split_once('?').unwrap_or((target, ""));
    Ok(Request {
        method: method.to_string(),
        path: path.to_string(),
        query: parse_query(raw_query),
        headers,
        close,
        body,
    })
}

pub(super) fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

/// Write a response; with `cut`, send only that many body bytes (the
/// Content-Length still announces the whole body).
pub(super) async fn write_response(
    stream: &mut TcpStream,
    shared: &Shared,
    resp: &Response,
    close: bool,
    cut: Option<usize>,
) -> std::io::Result<()> {
    let id = shared.request_ids.fetch_add(1, Ordering::Relaxed);
    let mut head = format!(
        "HTTP/1.1 {} {}\r\nDate: {}\r\nContent-Length: {}\r\nX-Request-ID: {:032x}\r\n",
        resp.status,
        reason(resp.status),
        Utc::now().format("%a, %d %b %Y %H:%M:%S GMT"),
        resp.body.len(),
        0x00fa_ce00_0000_0000_u128 + u128::from(id),
    );
    for (k, v) in &resp.headers {
        head.push_str(&format!("{k}: {v}\r\n"));
    }
    if close {
        head.push_str("Connection: close\r\n");
    }
    head.push_str("\r\n");
    let body = match cut {
        Some(n) => &resp.body[..n.min(resp.body.len())],
        None => &resp.body[..],
    };
    let mut out = head.into_bytes();
    out.extend_from_slice(body);
    stream.write_all(&out).await?;
    stream.flush().await?;
    if close {
        let _ = stream.shutdown().await;
    }
    Ok(())
}

pub(super) fn reason(code: u16) -> &'static str {
    match code {
        200 => "OK",
        204 => "No Content",
        207 => "Multi-Status",
        400 => "Bad Request",
        401 => "Unauthorized",
        403 => "Forbidden",
        404 => "Not Found",
        405 => "Method Not Allowed",
        408 => "Request Timeout",
        413 => "Payload Too Large",
        422 => "Unprocessable Entity",
        429 => "Too Many Requests",
        431 => "Request Header Fields Too Large",
        500 => "Internal Server Error",
        502 => "Bad Gateway",
        503 => "Service Unavailable",
        504 => "Gateway Timeout",
        _ => "Unknown",
    }
}

/// Split and percent-decode a query string (`+` is a space, as in forms and
/// in Go's `url.ParseQuery`, which Alpaca uses).
pub(super) fn parse_query(raw: &str) -> Vec<(String, String)> {
    raw.split('&')
        .filter(|p| !p.is_empty())
        .map(|p| {
            let (k, v) = p.split_once('=').unwrap_or((p, ""));
            (percent_decode(k), percent_decode(v))
        })
        .collect()
}

pub(super) fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' if i + 2 < bytes.len() => {
                let hex = std::str::from_utf8(&bytes[i + 1..i + 3]).ok();
                match hex.and_then(|h| u8::from_str_radix(h, 16).ok()) {
                    Some(b) => {
                        out.push(b);
                        i += 2;
                    }
                    None => out.push(b'%'),
                }
            }
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}
