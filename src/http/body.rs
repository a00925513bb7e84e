//! Request bodies read whole, bounded in size and in time, before a
//! handler sees them: hyper's header-read timeout does not cover bodies,
//! and the idle timeout restarts on every byte, so without this a client
//! sending one byte every few seconds holds its connection (and a file
//! handle) for as long as it likes.

use std::time::Duration;

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use futures::StreamExt;

/// How long a request's body may take to arrive, counted from the end of
/// its head (which [`super::HEADER_READ_TIMEOUT`] bounds): a whole request
/// takes at most the two added.
pub const BODY_DEADLINE: Duration = Duration::from_secs(10);

/// The largest body any route takes unless it says otherwise: the
/// dashboard's forms are a CSRF token and a short rule.
pub const DEFAULT_BODY_LIMIT: usize = 16 * 1024;

/// A body's bounds: its size and the time it may take.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BodyBounds {
    /// Most bytes.
    pub limit: usize,
    /// Longest wait for the whole body.
    pub deadline: Duration,
}

impl BodyBounds {
    /// At most `limit` bytes, within [`BODY_DEADLINE`].
    pub const fn new(limit: usize) -> Self {
        Self {
            limit,
            deadline: BODY_DEADLINE,
        }
    }
}

impl Default for BodyBounds {
    fn default() -> Self {
        Self::new(DEFAULT_BODY_LIMIT)
    }
}

/// Why a body was not read.
#[derive(Debug, PartialEq, Eq)]
enum Refused {
    TooLarge,
    TooSlow,
    Broken,
}

/// Middleware: read the body whole within `bounds` (413 when larger, 408
/// when slower, 400 when the client broke it off), then hand the request
/// on with the bytes. The refusals close the connection, so whatever the
/// client still sends is never read.
pub async fn bounded(State(bounds): State<BodyBounds>, req: Request, next: Next) -> Response {
    let declared = req
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > bounds.limit as u64) {
        return refusal(Refused::TooLarge);
    }
    let (parts, body) = req.into_parts();
    match tokio::time::timeout(bounds.deadline, read(body, bounds.limit)).await {
        Ok(Ok(bytes)) => next.run(Request::from_parts(parts, Body::from(bytes))).await,
        Ok(Err(why)) => refusal(why),
        Err(_) => refusal(Refused::TooSlow),
    }
}

/// The body's bytes, refused once past `limit`.
async fn read(body: Body, limit: usize) -> Result<bytes::Bytes, Refused> {
    let mut stream = body.into_data_stream();
    let mut out = bytes::BytesMut::new();
    while let Some(chunk) = stream.next().await {
        let chunk = chunk.map_err(|_| Refused::Broken)?;
        if out.len() + chunk.len() > limit {
            return Err(Refused::TooLarge);
        }
        out.extend_from_slice(&chunk);
    }
    Ok(out.freeze())
}

fn refusal(why: Refused) -> Response {
    let (status, text) = match why {
        Refused::TooLarge => (StatusCode::PAYLOAD_TOO_LARGE, "Request body too large."),
        Refused::TooSlow => (StatusCode::REQUEST_TIMEOUT, "Request body too slow."),
        Refused::Broken => (StatusCode::BAD_REQUEST, "Request body incomplete."),
    };
    let mut response = (status, text).into_response();
    response
        .headers_mut()
        .insert(header::CONNECTION, HeaderValue::from_static("close"));
    response
}
