//! One writer per store (issue 27): the writer lease in the store itself.
//!
//! Real binaries on one store (local disk, and moto's S3): two daemons, of
//! which exactly one collects and polls its bot (each has its own fake
//! Alpaca and fake Telegram, so their request logs say who did what); the
//! holder killed with SIGKILL or paused with SIGSTOP past its lease; a
//! `collect` by hand while the daemon holds the lease; a store whose client
//! refuses conditional writes. And, in process, the fence's promise: the
//! old holder stops writing before anyone else can take the lease.
//!
//! No assertion depends on how long anything took: every wait is for a
//! condition, with a generous bound that only turns a hang into a failure.

use crate::support;

use std::process::Stdio;
use std::sync::Arc;
use std::time::{Duration, Instant};

use dipwatch::domain::Symbol;
use support::fake_alpaca::{FakeAlpaca, FakeAlpacaOptions};
use support::fake_telegram::{FakeTelegram, TOKEN};
use support::{
    ChildGuard, MotoServer, Workspace, assert_stderr_has, free_port, http_get, ok, stderr,
};

/// The lease period the daemons run with: short, so takeovers happen
/// within a test, and long enough for renewals on a loaded machine.
const TTL_SECS: &str = "6";
/// Universe size.
const SYMBOLS: usize = 12;
/// The bound of every wait: far above anything expected, there only so a
/// hang fails instead of running forever.
const BOUND: Duration = Duration::from_secs(180);

fn tickers() -> Vec<Symbol> {
    dipwatch::domain::parse_universe(&support::universe_head(SYMBOLS)).unwrap()
}

/// A store both daemons share: a local directory in `ws`, or a moto bucket.
enum Shared {
    Local,
    S3(Arc<MotoServer>, &'static str),
}

impl Shared {
    fn s3(bucket: &'static str) -> Self {
        Self::s3_on(&Arc::new(MotoServer::start()), bucket)
    }

    /// A bucket of its own on `moto`.
    fn s3_on(moto: &Arc<MotoServer>, bucket: &'static str) -> Self {
        moto.create_bucket(bucket);
        Self::S3(moto.clone(), bucket)
    }

    /// Point `ws` at the store.
    fn configure(&self, ws: &mut Workspace) {
        if let Self::S3(moto, bucket) = self {
            ws.use_s3(moto, &format!("s3://{bucket}/lake"));
        }
    }
}

/// A workspace on `store` with the short lease period.
fn workspace(store: &Shared) -> Workspace {
    let mut ws = Workspace::new(SYMBOLS);
    store.configure(&mut ws);
    ws.set_env("DIPWATCH__LEASE__TTL_SECS", TTL_SECS);
    ws.set_env("DIPWATCH__MARKET__RETRY_BASE_MS", "10");
    ws
}

/// One daemon with its own fake Alpaca and fake Telegram.
struct Daemon {
    child: ChildGuard,
    port: u16,
    alpaca: FakeAlpaca,
    telegram: FakeTelegram,
    log: std::path::PathBuf,
    _rt: tokio::runtime::Runtime,
}

impl Daemon {
    fn start(ws: &Workspace, name: &str) -> Self {
        let rt = tokio::runtime::Runtime::new().unwrap();
        let telegram = rt.block_on(async { FakeTelegram::start() });
        let alpaca = FakeAlpaca::start(
            FakeAlpacaOptions::new()
                .universe(tickers())
                .latency(Duration::from_millis(20)),
        );
        let port = free_port();
        let log = ws.path(&format!("{name}.log"));
        let mut cmd = ws.command(&["run"]);
        cmd.env("DIPWATCH__HTTP__LISTEN", format!("127.0.0.1:{port}"))
            .env("DIPWATCH__MARKET__PROVIDER", "alpaca")
            .env("DIPWATCH__MARKET__DATA_URL", alpaca.url())
            .env("DIPWATCH__MARKET__TRADING_URL", alpaca.url())
            .env("TELOXIDE_TOKEN", TOKEN)
            .env("TELOXIDE_API_URL", telegram.url().as_str())
            .env("DIPWATCH__TELEGRAM__ALLOWED_CHAT_IDS", "424242")
            .envs(alpaca.credentials_env())
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&log).unwrap());
        let child = ChildGuard::spawn(&mut cmd).expect("spawn dipwatch run");
        Self {
            child,
            port,
            alpaca,
            telegram,
            log,
            _rt: rt,
        }
    }

    /// `/readyz` as JSON, whatever its status.
    fn readyz(&self) -> Option<serde_json::Value> {
        let (_, body) = http_get(self.port, "/readyz")?;
        serde_json::from_str(&body).ok()
    }

    /// Wait until `/readyz` satisfies `done`; its body.
    fn wait(&mut self, what: &str, done: impl Fn(&serde_json::Value) -> bool) -> serde_json::Value {
        let deadline = Instant::now() + BOUND;
        loop {
            if let Some(v) = self.readyz()
                && done(&v)
            {
                return v;
            }
            assert!(
                self.child.try_wait().unwrap().is_none(),
                "daemon exited early:\n{}",
                self.logs()
            );
            assert!(
                Instant::now() < deadline,
                "{what}: not within {BOUND:?}: {:?}\n{}",
                self.readyz(),
                self.logs()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Primary with a published screen.
    fn wait_primary_with_screen(&mut self) -> serde_json::Value {
        self.wait("primary with a screen", |v| {
            v["role"] == "primary" && v["latest_screen"].is_string() && v["last_run"] == "published"
        })
    }

    fn logs(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    fn metrics(&self) -> String {
        http_get(self.port, "/metrics")
            .map(|(_, b)| b)
            .unwrap_or_default()
    }

    fn signal(&self, signal: libc::c_int) {
        // SAFETY: kill(2) on our own unreaped child: its pid cannot be reused.
        let rc = unsafe { libc::kill(self.child.id() as libc::pid_t, signal) };
        assert_eq!(rc, 0, "kill: {}", std::io::Error::last_os_error());
    }

    /// Requests this daemon sent its market and its bot.
    fn market_requests(&self) -> usize {
        self.alpaca.requests().len()
    }

    fn polls(&self) -> usize {
        self.telegram.count("getUpdates")
    }
}

/// Wait until `cond` holds, failing with `what` after [`BOUND`].
fn wait_until(what: &str, cond: impl Fn() -> bool) {
    let deadline = Instant::now() + BOUND;
    while !cond() {
        assert!(Instant::now() < deadline, "{what}: not within {BOUND:?}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Every dataset the store holds, as `dipwatch export` streams it.
fn exported(ws: &Workspace) -> Vec<String> {
    ["bars", "drawdowns"]
        .iter()
        .map(|d| ok(&ws.run(&["export", d])))
        .collect()
}

/// What one daemon alone publishes on a fresh store of the same kind (the
/// reference a pair's store must equal).
fn single_daemon_store(store: &Shared) -> Vec<String> {
    let ws = workspace(store);
    let mut d = Daemon::start(&ws, "single");
    d.wait_primary_with_screen();
    d.child.terminate();
    d.child.wait().unwrap();
    exported(&ws)
}

/// Two daemons on one store: exactly one collects and polls; kill -9 it,
/// the standby takes over, catches up, starts its bot; the store equals
/// one daemon's.
fn pair_then_kill_the_holder(store: &Shared, reference: &Shared) {
    let ws = workspace(store);
    let mut a = Daemon::start(&ws, "a");
    a.wait("primary", |v| v["role"] == "primary");
    let mut b = Daemon::start(&ws, "b");
    let standby = b.wait("standby behind a", |v| {
        v["role"] == "standby" && v["lease"]["command"] == "run"
    });
    assert_eq!(standby["lease"]["pid"], a.child.id(), "{standby}");
    assert!(
        b.metrics()
            .contains("dipwatch_lease_role{role=\"standby\"} 1")
    );
    // Killed while its catch-up may still be running: the standby must
    // finish what the holder did not publish.
    a.signal(libc::SIGKILL);
    a.child.wait().unwrap();
    let taken = b.wait_primary_with_screen();
    assert_eq!(taken["lease"]["pid"], b.child.id(), "{taken}");
    wait_until("b's bot polls", || b.polls() >= 1);
    assert!(
        b.market_requests() > 0,
        "b collects once it holds the lease"
    );
    assert!(
        b.metrics()
            .contains("dipwatch_lease_role{role=\"primary\"} 1")
    );
    b.child.terminate();
    b.child.wait().unwrap();
    assert_eq!(
        exported(&ws),
        single_daemon_store(reference),
        "the pair's store differs from one daemon's"
    );
}

/// While one holds the lease, the other sends nothing to its market or its
/// bot, whatever the holder does.
fn exactly_one_collects_and_polls(store: &Shared) {
    let ws = workspace(store);
    let mut a = Daemon::start(&ws, "a");
    a.wait_primary_with_screen();
    let mut b = Daemon::start(&ws, "b");
    let standby = b.wait("standby with the store read", |v| {
        v["role"] == "standby" && v["latest_screen"].is_string() && v["ready"] == true
    });
    assert_eq!(
        standby["latest_screen"],
        a.readyz().unwrap()["latest_screen"]
    );
    // Long enough for several of b's lease polls and a's renewals.
    let polls = a.polls();
    wait_until("a keeps polling its bot", || a.polls() >= polls + 3);
    let v = b.readyz().unwrap();
    assert_eq!(v["role"], "standby", "{v}");
    assert_eq!(b.polls(), 0, "a standby never polls the bot");
    assert_eq!(b.market_requests(), 0, "a standby never collects");
    assert!(a.market_requests() > 0);
    assert!(!b.logs().contains("409"), "{}", b.logs());
}

#[test]
fn two_daemons_on_local_disk_exactly_one_collects_and_polls() {
    exactly_one_collects_and_polls(&Shared::Local);
}

#[test]
fn two_daemons_on_s3_exactly_one_collects_and_polls() {
    exactly_one_collects_and_polls(&Shared::s3("dipwatch-lease-one"));
}

#[test]
fn on_local_disk_the_standby_takes_over_a_killed_holder() {
    pair_then_kill_the_holder(&Shared::Local, &Shared::Local);
}

#[test]
fn on_s3_the_standby_takes_over_a_killed_holder() {
    let moto = Arc::new(MotoServer::start());
    pair_then_kill_the_holder(
        &Shared::s3_on(&moto, "dipwatch-lease-pair"),
        &Shared::s3_on(&moto, "dipwatch-lease-single"),
    );
}

/// A holder paused (SIGSTOP) past its lease: the standby takes over; the
/// old holder, resumed, finds the lease gone at its next renewal and stands
/// by, its fence closed.
#[test]
fn a_holder_paused_past_its_lease_stands_by_when_it_resumes() {
    let ws = workspace(&Shared::Local);
    let mut a = Daemon::start(&ws, "a");
    a.wait_primary_with_screen();
    let mut b = Daemon::start(&ws, "b");
    b.wait("standby", |v| v["role"] == "standby");
    a.signal(libc::SIGSTOP);
    let taken = b.wait("b takes over the paused holder's lease", |v| {
        v["role"] == "primary"
    });
    assert_eq!(taken["lease"]["pid"], b.child.id(), "{taken}");
    a.signal(libc::SIGCONT);
    let resumed = a.wait("a stands by after resuming", |v| v["role"] == "standby");
    assert_eq!(resumed["lease"]["pid"], b.child.id(), "{resumed}");
    assert!(
        a.logs()
            .contains("writer lease lost: this process stops writing"),
        "{}",
        a.logs()
    );
    // /metrics says so too (set as the role changes; waited for, since
    // /readyz reads the lease's status a moment before).
    wait_until("a's metrics say standby", || {
        a.metrics()
            .contains("dipwatch_lease_role{role=\"standby\"} 1")
    });
    // b keeps it: a's renewals no longer win.
    let polls = b.polls();
    wait_until("b keeps polling", || b.polls() >= polls + 3);
    assert_eq!(b.readyz().unwrap()["role"], "primary");
    assert_eq!(a.readyz().unwrap()["role"], "standby");
}

/// `collect` by hand while the daemon holds the lease: exit 75, naming the
/// holder and the way to ask it; once the daemon stops (releasing the
/// lease), the same command runs at once.
#[test]
fn collect_by_hand_while_the_daemon_holds_the_lease_exits_75() {
    let ws = workspace(&Shared::Local);
    let mut d = Daemon::start(&ws, "daemon");
    d.wait_primary_with_screen();
    let mut collect = ws.command(&["collect"]);
    collect
        .env("DIPWATCH__MARKET__PROVIDER", "alpaca")
        .env("DIPWATCH__MARKET__DATA_URL", d.alpaca.url())
        .env("DIPWATCH__MARKET__TRADING_URL", d.alpaca.url())
        .envs(d.alpaca.credentials_env());
    let before = d.market_requests();
    let out = ws.checked(collect.output().unwrap());
    assert_eq!(out.status.code(), Some(75), "{}", stderr(&out));
    let err = stderr(&out);
    let pid = format!("dipwatch run (pid {})", d.child.id());
    assert!(err.contains(&pid), "{err}");
    assert!(err.contains("/trigger") && err.contains("Run now"), "{err}");
    assert!(err.contains("--force-lease"), "{err}");
    assert_eq!(d.readyz().unwrap()["role"], "primary");
    // The refused collect asked the market nothing (the daemon's own
    // requests do not grow by a whole collection either way: compare
    // with what a collect costs below).
    let refused_cost = d.market_requests() - before;
    d.child.terminate();
    assert!(d.child.wait().unwrap().success());
    let before = d.market_requests();
    let out = ws.checked(collect.output().unwrap());
    ok(&out);
    assert!(
        d.market_requests() - before > refused_cost,
        "the collect that holds the lease fetches"
    );
    let lease: serde_json::Value =
        serde_json::from_slice(&std::fs::read(ws.path("data/_lease/writer.json")).unwrap())
            .unwrap();
    assert_eq!(lease["command"], "collect");
    assert_eq!(lease["released"], true, "{lease}");
}

/// A store whose client refuses conditional writes is refused at start,
/// by the daemon and by `collect`, saying why and what to do.
#[test]
fn a_store_without_conditional_writes_is_refused_at_start() {
    let store = Shared::s3("dipwatch-lease-unconditional");
    let mut ws = workspace(&store);
    ws.set_env("DIPWATCH__STORAGE__OPTIONS__CONDITIONAL_PUT", "disabled");
    for args in [&["run"][..], &["collect", "--config", &demo()][..]] {
        let out = ws.run(args);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {}", stderr(&out));
        let err = stderr(&out);
        assert!(err.contains("does not support conditional writes"), "{err}");
        assert!(err.contains("lease.enabled = false"), "{err}");
    }
    // Turned off on purpose (one writer): it runs, with a warning.
    ws.set_env("DIPWATCH__LEASE__ENABLED", "false");
    let out = ws.run(&["collect", "--config", &demo()]);
    ok(&out);
    assert_stderr_has(&out, "no writer lease is taken");
}

fn demo() -> String {
    support::repo("config/demo.toml").display().to_string()
}

/// In process, on local disk: the holder that stops renewing closes its
/// fence before another can take the lease; its writes are refused from
/// then on; its next renewal finds the lease gone.
#[test]
fn the_old_holder_stops_writing_before_the_lease_can_pass() {
    use dipwatch::lease::{Attempt, Lease, LeaseSettings, Role};
    use dipwatch::store::{StorageUrl, Store, StoreError};
    let rt = tokio::runtime::Runtime::new().unwrap();
    let dir = tempfile::tempdir().unwrap();
    rt.block_on(async {
        let url = StorageUrl::Local(dir.path().to_path_buf());
        let store = Store::open(&url, &Default::default()).await.unwrap();
        let settings = LeaseSettings {
            enabled: true,
            ttl_secs: 3,
        };
        let a = Lease::new(store.lease_target(), &settings, "run");
        let b = Lease::new(store.lease_target(), &settings, "run");
        assert!(matches!(a.try_take(false).await.unwrap(), Attempt::Took));
        let a_store = store.clone().fenced(a.fence());
        a_store.write_doc("_meta/x.json", &1).await.unwrap();
        // a never renews (paused, cut off); b watches until it may take.
        let deadline = Instant::now() + BOUND;
        loop {
            match b.try_take(false).await.unwrap() {
                Attempt::Took => break,
                Attempt::HeldBy(holder) => assert_eq!(holder.pid, std::process::id()),
            }
            assert!(Instant::now() < deadline, "b never took the lapsed lease");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        assert!(
            !a.fence().is_open(),
            "a's fence was still open when b took the lease"
        );
        let refused = a_store.write_doc("_meta/x.json", &2).await.unwrap_err();
        assert!(matches!(refused, StoreError::Fenced(_)), "{refused}");
        a.renew().await.ok();
        assert_eq!(a.subscribe().borrow().role, Role::Standby);
        assert_eq!(b.subscribe().borrow().role, Role::Primary);
        // A second take by a fails too: b renews nothing here, but its
        // lease is fresh to a, which must watch it for a whole period.
        assert!(matches!(
            a.try_take(false).await.unwrap(),
            Attempt::HeldBy(_)
        ));
    });
}

/// Two processes' worth of leases racing for a free lease: exactly one
/// wins, on local disk and on S3.
#[test]
fn of_many_racing_for_a_free_lease_exactly_one_wins() {
    use dipwatch::lease::{Attempt, Lease, LeaseSettings};
    use dipwatch::store::{StorageUrl, Store};
    let moto = MotoServer::start();
    moto.create_bucket("dipwatch-lease-race");
    let rt = tokio::runtime::Runtime::new().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let options: std::collections::BTreeMap<String, String> = moto.options().into_iter().collect();
    for url in [
        StorageUrl::Local(dir.path().to_path_buf()),
        StorageUrl::parse("s3://dipwatch-lease-race/lake").unwrap(),
    ] {
        rt.block_on(async {
            let store = Store::open(&url, &options_for(&url, &options))
                .await
                .unwrap();
            let leases: Vec<_> = (0..8)
                .map(|_| Lease::new(store.lease_target(), &LeaseSettings::default(), "collect"))
                .collect();
            leases[0].check_store().await.unwrap();
            let attempts = futures_join(leases.iter().map(|l| {
                let l = l.clone();
                tokio::spawn(async move { l.try_take(false).await.unwrap() })
            }))
            .await;
            let won = attempts
                .iter()
                .filter(|a| matches!(a, Attempt::Took))
                .count();
            assert_eq!(won, 1, "{url}: {attempts:?}");
        });
    }
}

fn options_for(
    url: &dipwatch::store::StorageUrl,
    s3: &std::collections::BTreeMap<String, String>,
) -> std::collections::BTreeMap<String, String> {
    match url {
        dipwatch::store::StorageUrl::Local(_) => Default::default(),
        _ => s3.clone(),
    }
}

async fn futures_join<T: Send + 'static>(
    tasks: impl Iterator<Item = tokio::task::JoinHandle<T>>,
) -> Vec<T> {
    let mut out = Vec::new();
    for t in tasks.collect::<Vec<_>>() {
        out.push(t.await.unwrap());
    }
    out
}
