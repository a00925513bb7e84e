//! What a newcomer meets first, through the real binary: `healthcheck`
//! following the configured `http.listen` (the container's HEALTHCHECK),
//! `DIPWATCH_CONFIG`, listener warnings only where a listener opens, `run`
//! refusing a store it cannot write (exit 2, no retry loop), `collect
//! --from` alone, and the log line saying why the dashboard is off.

use crate::support;

use std::process::{Output, Stdio};
use std::time::{Duration, Instant};

use chrono::Utc;
use support::{
    ChildGuard, Workspace, assert_fails_with, assert_stderr_has, free_port, ok, stderr, stdout,
};

fn demo() -> String {
    support::repo("config/demo.toml").display().to_string()
}

/// The dates a `collect` printed as published, in order.
fn published(out: &str) -> Vec<String> {
    out.lines()
        .filter(|l| l.contains("  published  "))
        .map(|l| l.split_whitespace().next().unwrap().to_string())
        .collect()
}

/// `dipwatch healthcheck` in `ws` with `env` on top.
fn healthcheck(ws: &Workspace, env: &[(&str, String)]) -> Output {
    let mut cmd = ws.command(&["healthcheck"]);
    cmd.envs(env.iter().map(|(k, v)| (*k, v.as_str())));
    ws.checked(cmd.output().expect("spawn dipwatch healthcheck"))
}

/// Wait for a spawned daemon to exit on its own; its output. A daemon
/// that keeps running fails the test (instead of hanging it) after a bound
/// far beyond what the exit needs.
fn exit_of(mut child: ChildGuard, ws: &Workspace) -> Output {
    let deadline = Instant::now() + Duration::from_secs(120);
    while child.try_wait().unwrap().is_none() {
        if Instant::now() > deadline {
            child.terminate();
            let out = child.wait_with_output().unwrap();
            panic!("still running after 120 s:\n{}", stderr(&out));
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    ws.checked(child.wait_with_output().unwrap())
}

#[test]
fn healthcheck_follows_the_configured_listen_address_and_the_config_variable() {
    let mut ws = Workspace::new(5);
    let port = free_port();
    // The listen address comes from the file DIPWATCH_CONFIG names, not
    // from an argument: a HEALTHCHECK sees the environment only.
    std::fs::write(
        ws.path("local.toml"),
        format!(
            "[market]\nprovider = \"sim\"\n[storage]\nurl = \"./data\"\n[http]\nlisten = \"127.0.0.1:{port}\"\n"
        ),
    )
    .unwrap();
    ws.set_env("DIPWATCH_CONFIG", "local.toml");
    let down = healthcheck(&ws, &[]);
    assert_eq!(down.status.code(), Some(1), "{}", stdout(&down));
    assert_stderr_has(
        &down,
        &format!("unhealthy: http://127.0.0.1:{port}/healthz"),
    );

    let mut cmd = ws.command(&["run"]);
    cmd.stdout(Stdio::piped()).stderr(Stdio::piped());
    let mut daemon = ChildGuard::spawn(&mut cmd).expect("spawn dipwatch run");
    let deadline = Instant::now() + Duration::from_secs(120);
    let up = loop {
        let out = healthcheck(&ws, &[]);
        if out.status.success() {
            break out;
        }
        assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
        assert!(
            daemon.try_wait().unwrap().is_none(),
            "the daemon exited before it was healthy"
        );
        assert!(Instant::now() < deadline, "not healthy: {}", stderr(&out));
        std::thread::sleep(Duration::from_millis(100));
    };
    assert_eq!(
        stdout(&up).trim(),
        format!("healthy: http://127.0.0.1:{port}/healthz answered 200 OK")
    );
    // The probe reads the same layers as `run`: an environment override of
    // the address wins over the file, and then nothing answers there.
    let elsewhere = free_port();
    let moved = healthcheck(
        &ws,
        &[("DIPWATCH__HTTP__LISTEN", format!("127.0.0.1:{elsewhere}"))],
    );
    assert_eq!(moved.status.code(), Some(1));
    assert!(stderr(&moved).contains(&format!(":{elsewhere}/healthz")));
    // A port picked at start cannot be probed: said, not guessed.
    let zero = healthcheck(&ws, &[("DIPWATCH__HTTP__LISTEN", "127.0.0.1:0".into())]);
    assert_fails_with(&zero, 1, "cannot be probed");
    // A configuration that does not load is unhealthy (1), never Docker's
    // reserved 2, and says which key.
    let bad = healthcheck(&ws, &[("DIPWATCH__HTTP__LISTEN", "nowhere".into())]);
    assert_eq!(bad.status.code(), Some(1), "{}", stderr(&bad));
    assert!(stderr(&bad).contains("http.listen"), "{}", stderr(&bad));

    daemon.terminate();
    let out = ws.checked(daemon.wait_with_output().unwrap());
    assert!(out.status.success(), "{}", stderr(&out));
    let logs = stderr(&out);
    // No bot token: the log says the dashboard is off, and how to turn it on.
    let hint = logs
        .lines()
        .find(|l| l.contains("dashboard off"))
        .unwrap_or_else(|| panic!("no dashboard hint:\n{logs}"));
    assert!(hint.contains("TELOXIDE_TOKEN"), "{hint}");
    assert!(hint.contains("web.anonymous_loopback"), "{hint}");
    let after = healthcheck(&ws, &[]);
    assert_eq!(after.status.code(), Some(1), "stopped, so unhealthy");
}

#[test]
fn only_run_warns_about_a_listener_reachable_from_other_hosts() {
    let mut ws = Workspace::new(5);
    ws.set_env(
        "DIPWATCH__HTTP__LISTEN",
        &format!("0.0.0.0:{}", free_port()),
    );
    let collected = ws.demo(&["collect"]);
    ok(&collected);
    assert!(
        !stderr(&collected).contains("http.listen"),
        "collect opens no listener:\n{}",
        stderr(&collected)
    );
    let screened = ws.demo(&["screen"]);
    ok(&screened);
    assert!(!stderr(&screened).contains("http.listen"));
    // check-config reports every warning, this one included.
    let checked = ws.demo(&["check-config"]);
    ok(&checked);
    let all = format!("{}{}", stdout(&checked), stderr(&checked));
    assert!(all.contains("reachable from other hosts"), "{all}");
}

#[test]
fn run_on_a_store_it_cannot_write_exits_2_at_once() {
    let mut ws = Workspace::new(5);
    // The store opens, but no object can be written where the write probe
    // goes: a directory is in the way (as root, file modes would not stop
    // the write).
    std::fs::create_dir_all(ws.path("data/_meta/write-probe.json")).unwrap();
    // All interfaces: `run` is the command that warns about it (before the
    // probe; nothing listens, since the probe stops it first).
    ws.set_env(
        "DIPWATCH__HTTP__LISTEN",
        &format!("0.0.0.0:{}", free_port()),
    );
    let mut cmd = ws.command(&["run", "--config", &demo()]);
    cmd.stdout(Stdio::piped()).stderr(Stdio::piped());
    let out = exit_of(ChildGuard::spawn(&mut cmd).unwrap(), &ws);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert_stderr_has(&out, "storage.url: the store cannot be written");
    assert!(
        stderr(&out).contains("\"key\":\"http.listen\""),
        "run warns about its listener: {}",
        stderr(&out)
    );
    // Nothing was collected before the refusal.
    assert!(!ws.path("data/runs").exists());
}

#[test]
fn collect_from_alone_runs_to_the_latest_closed_session() {
    let ws = Workspace::new(5);
    let latest = published(&ok(&ws.demo(&["collect"])));
    assert_eq!(latest.len(), 1, "{latest:?}");
    // Ten calendar days back holds several sessions whatever today is.
    let from = (Utc::now().date_naive() - chrono::Duration::days(10)).to_string();
    let ws = Workspace::new(5);
    let out = ok(&ws.demo(&["collect", "--from", &from]));
    let dates = published(&out);
    assert!(dates.len() >= 3, "{out}");
    assert!(dates.iter().all(|d| *d >= from), "{out}");
    assert_eq!(dates.last(), latest.last(), "{out}");
    // --to alone still needs --from.
    let out = ws.demo(&["collect", "--to", &from]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
}
