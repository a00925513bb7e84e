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

/// How long a request's body may take to arrive, counted from the end of
/// its head (which [`super::HEADER_READ_TIMEOUT`] bounds): a whole request
/// takes at most the two added.
pub const BODY_DEADLINE: Duration = Duration::from_secs(10);

/// The largest body any route takes unless it says otherwise: the
/// dashboard's forms are a CSRF token and a short rule.
pub const DEFAULT_BODY_LIMIT: usize = 16 * 1024;

/// A listener's body bounds: a size for every route, smaller ones for
/// some paths, and the time a body may take.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BodyBounds {
    /// Most bytes, unless the path has its own.
    pub limit: usize,
    /// Paths with their own (smaller) limit.
    pub paths: &'static [(&'static str, usize)],
    /// Longest wait for the whole body.
    pub deadline: Duration,
}

impl BodyBounds {
    /// [`DEFAULT_BODY_LIMIT`] everywhere but `paths`, within
    /// [`BODY_DEADLINE`].
    pub const fn with_paths(paths: &'static [(&'static str, usize)]) -> Self {
        Self {
            limit: DEFAULT_BODY_LIMIT,
            paths,
            deadline: BODY_DEADLINE,
        }
    }

    /// The limit for a request to `path`.
    pub fn limit_for(&self, path: &str) -> usize {
        self.paths
            .iter()
            .find(|(p, _)| *p == path)
            .map_or(self.limit, |(_, limit)| *limit)
    }
}

impl Default for BodyBounds {
    fn default() -> Self {
        Self::with_paths(&[])
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
    let limit = bounds.limit_for(req.uri().path());
    let declared = req
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > limit as u64) {
        return refusal(Refused::TooLarge);
    }
    let (parts, body) = req.into_parts();
    match tokio::time::timeout(bounds.deadline, read(body, limit)).await {
        Ok(Ok(bytes)) => {
            next.run(Request::from_parts(parts, Body::from(bytes)))
                .await
        }
        Ok(Err(why)) => refusal(why),
        Err(_) => refusal(Refused::TooSlow),
    }
}

/// The body's bytes, refused once past `limit`. (`to_bytes` ends the body
/// on its declared length; a plain stream of its frames waits for the
/// connection's next read, which a client holding it open never gives.)
async fn read(body: Body, limit: usize) -> Result<bytes::Bytes, Refused> {
    axum::body::to_bytes(body, limit).await.map_err(|e| {
        // The limit's error is the one whose chain says so; anything else
        // is the client breaking off.
        let mut source: Option<&dyn std::error::Error> = Some(&e);
        while let Some(err) = source {
            if err.to_string().contains("length limit exceeded") {
                return Refused::TooLarge;
            }
            source = err.source();
        }
        Refused::Broken
    })
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
