//! The HTTP plumbing both listeners share (the operations server of
//! [`crate::ops_server`] on `http.listen`, the dashboard of [`crate::web`]
//! on `web.listen`); no route lives here.
//!
//! [`serve_router`] is the one server of both: a cap on concurrent
//! connections (sized from the open-file limit, [`fds`]), a header-read
//! timeout, an idle timeout, request bodies bounded in size and time
//! ([`body`]), and only the daemon's own host names answered ([`host`]),
//! the last two through [`guarded`].

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use tokio_util::sync::CancellationToken;

pub mod body;
pub mod fds;
pub mod host;
mod idle;

/// `app` behind the checks both listeners make before any handler runs:
/// the host name first (cheap), then the body read whole within `bounds`.
pub fn guarded(app: Router, hosts: Arc<host::AllowedHosts>, bounds: body::BodyBounds) -> Router {
    app.layer(axum::middleware::from_fn_with_state(bounds, body::bounded))
        .layer(axum::middleware::from_fn_with_state(hosts, host::check))
}

/// How long a client may take to send a request's head, counted from the
/// connection's start or the end of the previous response: a connection
/// that sends a partial request (or nothing), or trickles a byte at a
/// time, is closed after this. Keep-alive connections waiting for their
/// next request are closed after it too.
pub const HEADER_READ_TIMEOUT: Duration = Duration::from_secs(10);

/// How long a connection may make no progress at all (nothing read,
/// nothing written: a client that stopped reading its response) before it
/// is closed.
pub const IDLE_TIMEOUT: Duration = Duration::from_secs(30);

/// The connection timeouts [`serve_router`] enforces.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Timeouts {
    /// See [`HEADER_READ_TIMEOUT`].
    pub header_read: Duration,
    /// See [`IDLE_TIMEOUT`].
    pub idle: Duration,
}

impl Default for Timeouts {
    fn default() -> Self {
        Self {
            header_read: HEADER_READ_TIMEOUT,
            idle: IDLE_TIMEOUT,
        }
    }
}

/// Serve `app` on `listener` with `timeouts` until `shutdown`, at most
/// `max_connections` at once, then let the open connections finish (idle
/// ones close at once). One task per connection; `axum::serve` is not used
/// because it sets no timeout, so a client holding connections open would
/// hold them forever.
///
/// At the cap nothing more is accepted: further clients wait in the
/// kernel's backlog, holding none of the process's file handles, until a
/// connection ends (the timeouts bound how long that takes).
pub async fn serve_router(
    listener: tokio::net::TcpListener,
    app: Router,
    timeouts: Timeouts,
    max_connections: usize,
    shutdown: CancellationToken,
) -> std::io::Result<()> {
    let slots = Arc::new(tokio::sync::Semaphore::new(max_connections.max(1)));
    let mut connections = tokio::task::JoinSet::new();
    loop {
        let slot = tokio::select! {
            s = slots.clone().acquire_owned() => s,
            () = shutdown.cancelled() => break,
        };
        let Ok(slot) = slot else { break };
        let accepted = tokio::select! {
            a = listener.accept() => a,
            () = shutdown.cancelled() => break,
        };
        while connections.try_join_next().is_some() {}
        let tcp = match accepted {
            Ok((tcp, _)) => tcp,
            Err(e) => {
                // Out of file descriptors, a connection reset before accept:
                // neither ends the server; pause so it is not a busy loop.
                tracing::warn!(error = %e, "http: accept failed");
                tokio::time::sleep(Duration::from_millis(100)).await;
                continue;
            }
        };
        let connection = serve_connection(tcp, app.clone(), timeouts, shutdown.clone());
        connections.spawn(async move {
            connection.await;
            drop(slot);
        });
    }
    while connections.join_next().await.is_some() {}
    Ok(())
}

/// One connection: HTTP/1.1 with hyper's header-read timeout, over a
/// socket that fails once it has been idle too long.
async fn serve_connection(
    tcp: tokio::net::TcpStream,
    app: Router,
    timeouts: Timeouts,
    shutdown: CancellationToken,
) {
    // Handlers that need the client's address (the dashboard's loopback
    // check, its sign-in rate limit) read axum's `ConnectInfo`.
    let app = match tcp.peer_addr() {
        Ok(peer) => app.layer(axum::Extension(axum::extract::ConnectInfo(peer))),
        Err(_) => app,
    };
    let io = hyper_util::rt::TokioIo::new(idle::Idle::new(tcp, timeouts.idle));
    let service = hyper_util::service::TowerToHyperService::new(app);
    let mut builder = hyper::server::conn::http1::Builder::new();
    builder
        .timer(hyper_util::rt::TokioTimer::new())
        .header_read_timeout(timeouts.header_read);
    let conn = builder.serve_connection(io, service);
    let mut conn = std::pin::pin!(conn);
    let result = tokio::select! {
        r = conn.as_mut() => r,
        () = shutdown.cancelled() => {
            conn.as_mut().graceful_shutdown();
            conn.await
        }
    };
    if let Err(e) = result {
        // Timeouts and clients that go away: routine, not worth more.
        tracing::debug!(error = %e, "http: connection closed");
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::routing::get;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    use tokio::net::TcpStream;

    /// Upper bound for "closed": far above the timeouts under test, only
    /// there so a connection left open fails instead of hanging.
    const HANG: Duration = Duration::from_secs(20);

    /// A server on loopback with `timeouts`: `/` answers "ok", `/big`
    /// 64 MiB (more than loopback buffers hold).
    async fn server(timeouts: Timeouts) -> (std::net::SocketAddr, CancellationToken) {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let app = Router::new()
            .route("/", get(|| async { "ok" }))
            .route("/big", get(|| async { vec![b'x'; 64 << 20] }));
        let stop = CancellationToken::new();
        tokio::spawn(serve_router(listener, app, timeouts, 64, stop.clone()));
        (addr, stop)
    }

    /// Read until the server closes; the bytes read (a reset counts as
    /// closed).
    async fn until_closed(c: &mut TcpStream) -> usize {
        let mut buf = vec![0u8; 1 << 16];
        let mut total = 0;
        loop {
            match tokio::time::timeout(HANG, c.read(&mut buf)).await {
                Err(_) => panic!("the connection is still open after {HANG:?}"),
                Ok(Ok(0) | Err(_)) => return total,
                Ok(Ok(n)) => total += n,
            }
        }
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_partial_request_is_closed_after_the_header_read_timeout() {
        let (addr, stop) = server(Timeouts {
            header_read: Duration::from_millis(300),
            idle: Duration::from_secs(600),
        })
        .await;
        // Half a request head, then silence.
        let mut c = TcpStream::connect(addr).await.unwrap();
        c.write_all(b"GET / HTTP/1.1\r\nHost: x\r\n").await.unwrap();
        until_closed(&mut c).await;
        // Nothing at all.
        let mut silent = TcpStream::connect(addr).await.unwrap();
        until_closed(&mut silent).await;
        // A byte every 50 ms: never idle, but the head never completes.
        let mut trickle = TcpStream::connect(addr).await.unwrap();
        let closed = async {
            for b in b"GET / HTTP/1.1\r\nX-Slow: "
                .iter()
                .chain([b'a'; 10_000].iter())
            {
                if trickle.write_all(&[*b]).await.is_err() {
                    return true;
                }
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
            false
        };
        assert!(
            tokio::time::timeout(HANG, closed).await.unwrap_or(false),
            "a trickled head is cut off"
        );
        // A request that arrives whole is still answered.
        let mut ok = TcpStream::connect(addr).await.unwrap();
        ok.write_all(b"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
            .await
            .unwrap();
        let mut answer = String::new();
        ok.read_to_string(&mut answer).await.unwrap();
        assert!(
            answer.starts_with("HTTP/1.1 200") && answer.ends_with("ok"),
            "{answer}"
        );
        stop.cancel();
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_client_that_stops_reading_is_closed_after_the_idle_timeout() {
        let (addr, stop) = server(Timeouts {
            header_read: Duration::from_secs(600),
            idle: Duration::from_millis(300),
        })
        .await;
        let mut c = TcpStream::connect(addr).await.unwrap();
        c.write_all(b"GET /big HTTP/1.1\r\nHost: x\r\n\r\n")
            .await
            .unwrap();
        // Not reading: the server's writes stall, then it gives up.
        tokio::time::sleep(Duration::from_secs(2)).await;
        let got = until_closed(&mut c).await;
        assert!(got < 64 << 20, "the whole response arrived ({got} bytes)");
        stop.cancel();
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn shutdown_closes_idle_keep_alive_connections_and_returns() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let app = Router::new().route("/", get(|| async { "ok" }));
        let stop = CancellationToken::new();
        let server = tokio::spawn(serve_router(
            listener,
            app,
            Timeouts::default(),
            64,
            stop.clone(),
        ));
        let mut c = TcpStream::connect(addr).await.unwrap();
        c.write_all(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
            .await
            .unwrap();
        let mut buf = [0u8; 256];
        let n = c.read(&mut buf).await.unwrap();
        assert!(buf[..n].starts_with(b"HTTP/1.1 200"));
        stop.cancel();
        tokio::time::timeout(HANG, server)
            .await
            .expect("the server returns on shutdown")
            .unwrap()
            .unwrap();
        until_closed(&mut c).await;
    }

    /// A guarded echo server (the checks both listeners make), at most
    /// `cap` connections, bodies within `deadline`, `/small`'s at most 8
    /// bytes.
    async fn guarded_server(
        cap: usize,
        deadline: Duration,
    ) -> (std::net::SocketAddr, CancellationToken) {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let bounds = body::BodyBounds {
            deadline,
            ..body::BodyBounds::with_paths(&[("/small", 8)])
        };
        let app = Router::new()
            .route(
                "/",
                axum::routing::post(|b: String| async move { format!("got {}", b.len()) }),
            )
            .route("/small", axum::routing::post(|b: String| async move { b }));
        let hosts = Arc::new(host::AllowedHosts::new(addr, None));
        let stop = CancellationToken::new();
        tokio::spawn(serve_router(
            listener,
            guarded(app, hosts, bounds),
            Timeouts::default(),
            cap,
            stop.clone(),
        ));
        (addr, stop)
    }

    /// Send `request` and read the answer until the server closes.
    async fn exchange(addr: std::net::SocketAddr, request: &[u8]) -> String {
        let mut c = TcpStream::connect(addr).await.unwrap();
        c.write_all(request).await.unwrap();
        let mut answer = Vec::new();
        let _ = tokio::time::timeout(HANG, c.read_to_end(&mut answer))
            .await
            .expect("answered and closed");
        String::from_utf8_lossy(&answer).into_owned()
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn bodies_are_bounded_in_size_and_time_and_foreign_hosts_refused() {
        let (addr, stop) = guarded_server(64, Duration::from_millis(300)).await;
        // Within bounds.
        let ok = exchange(addr, b"POST /small HTTP/1.1\r\nHost: localhost\r\nContent-Length: 5\r\nConnection: close\r\n\r\nhello").await;
        assert!(
            ok.starts_with("HTTP/1.1 200") && ok.ends_with("hello"),
            "{ok}"
        );
        // Declared too large: refused before a byte of it is read.
        let big = exchange(
            addr,
            b"POST /small HTTP/1.1\r\nHost: localhost\r\nContent-Length: 9\r\n\r\n",
        )
        .await;
        assert!(big.starts_with("HTTP/1.1 413"), "{big}");
        // Chunked past the bound.
        let chunked = exchange(
            addr,
            b"POST /small HTTP/1.1\r\nHost: localhost\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n5\r\nworld\r\n0\r\n\r\n",
        )
        .await;
        assert!(chunked.starts_with("HTTP/1.1 413"), "{chunked}");
        // The default bound on every other route.
        let mut head = format!(
            "POST / HTTP/1.1\r\nHost: localhost\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
            body::DEFAULT_BODY_LIMIT + 1
        )
        .into_bytes();
        head.extend(vec![b'x'; body::DEFAULT_BODY_LIMIT + 1]);
        assert!(exchange(addr, &head).await.starts_with("HTTP/1.1 413"));
        // A body that trickles in: cut off at the deadline with a 408 and the
        // connection closed, although a byte arrives every 50 ms.
        let mut c = TcpStream::connect(addr).await.unwrap();
        c.write_all(b"POST /small HTTP/1.1\r\nHost: localhost\r\nContent-Length: 8\r\n\r\n")
            .await
            .unwrap();
        let trickle = async {
            // Two of its eight bytes, 100 ms apart, then nothing more: what
            // the server read is all it was sent, so its close is clean.
            for _ in 0..2 {
                c.write_all(b"a").await.unwrap();
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            let mut answer = Vec::new();
            let _ = c.read_to_end(&mut answer).await;
            String::from_utf8_lossy(&answer).into_owned()
        };
        let answer = tokio::time::timeout(HANG, trickle).await.expect("closed");
        assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");
        // A foreign host name: 421, whatever the route.
        let foreign = exchange(addr, b"POST /small HTTP/1.1\r\nHost: rebound.example\r\nContent-Length: 1\r\nConnection: close\r\n\r\nx").await;
        assert!(foreign.starts_with("HTTP/1.1 421"), "{foreign}");
        let none = exchange(addr, b"POST /small HTTP/1.0\r\nContent-Length: 1\r\n\r\nx").await;
        assert!(
            none.starts_with("HTTP/1.1 421") || none.starts_with("HTTP/1.0 421"),
            "{none}"
        );
        stop.cancel();
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn past_the_connection_cap_clients_wait_until_a_connection_ends() {
        let (addr, stop) = guarded_server(2, Duration::from_secs(600)).await;
        // Two connections hold both slots with half-sent bodies.
        let mut held = Vec::new();
        for _ in 0..2 {
            let mut c = TcpStream::connect(addr).await.unwrap();
            c.write_all(b"POST / HTTP/1.1\r\nHost: localhost\r\nContent-Length: 4\r\nConnection: close\r\n\r\nab")
                .await
                .unwrap();
            held.push(c);
        }
        // A third is not served while they hold them ...
        let mut third = TcpStream::connect(addr).await.unwrap();
        third
            .write_all(b"POST / HTTP/1.1\r\nHost: localhost\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
            .await
            .unwrap();
        let mut buf = [0u8; 64];
        assert!(
            tokio::time::timeout(Duration::from_millis(500), third.read(&mut buf))
                .await
                .is_err(),
            "served past the cap"
        );
        // ... and is once one of them finishes.
        held[0].write_all(b"cd").await.unwrap();
        let mut answer = Vec::new();
        tokio::time::timeout(HANG, third.read_to_end(&mut answer))
            .await
            .expect("served once a slot is free")
            .unwrap();
        assert!(
            answer.starts_with(b"HTTP/1.1 200"),
            "{}",
            String::from_utf8_lossy(&answer)
        );
        stop.cancel();
    }
}
