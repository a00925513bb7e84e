//! `dipwatch collect` against Alpaca: the real binary and the real client
//! against a loopback fake of Alpaca's APIs.

mod common;

use common::{Workspace, stderr, stdout};

const KEY_ID: &str = "PKTESTKEYID0123456789";
const SECRET: &str = "sEcReT-0123456789-abcdefghij";

/// A workspace on the real provider with fast retry settings.
fn alpaca_workspace(url: &str, symbols: usize) -> Workspace {
    let mut ws = Workspace::new(symbols);
    for (k, v) in [
        ("DIPWATCH__MARKET__PROVIDER", "alpaca"),
        ("DIPWATCH__MARKET__DATA_URL", url),
        ("DIPWATCH__MARKET__TRADING_URL", url),
        ("DIPWATCH__MARKET__RETRY_BASE_MS", "10"),
        ("DIPWATCH__MARKET__REQUEST_TIMEOUT_SECS", "2"),
        ("APCA_API_KEY_ID", KEY_ID),
        ("APCA_API_SECRET_KEY", SECRET),
    ] {
        ws.set_env(k, v);
    }
    ws
}

#[track_caller]
fn assert_no_secret(text: &str) {
    for secret in [KEY_ID, SECRET] {
        assert!(!text.contains(secret), "secret leaked into output:\n{text}");
    }
}

#[test]
fn keys_never_appear_in_logs_or_errors_of_a_failing_run() {
    // Nothing listens on this port: every attempt fails to connect.
    let port = common::free_port();
    let mut ws = alpaca_workspace(&format!("http://127.0.0.1:{port}"), 5);
    ws.set_env("DIPWATCH__MARKET__MAX_RETRIES", "2");
    // Everything, dependencies included, at the most verbose level.
    ws.set_env("RUST_LOG", "trace");
    let out = ws.run(&["collect", "--date", "2026-11-20"]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let err = stderr(&out);
    assert!(err.contains("connection failed"), "{err}");
    assert!(err.lines().count() > 5, "trace logging was on");
    assert_no_secret(&err);
    assert_no_secret(&stdout(&out));
    assert!(!ws.path("data/runs").exists(), "nothing published");

    let cfg = ws.run(&["check-config"]);
    assert_no_secret(&stdout(&cfg));
    assert_no_secret(&stderr(&cfg));
    assert!(stdout(&cfg).contains("APCA_API_SECRET_KEY = \"set (environment)\""));
}
