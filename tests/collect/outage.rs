//! Storage outages: the store going away in the middle of a run.
//!
//! S3: moto keeps its objects in memory, so instead of stopping it a
//! loopback TCP proxy between dipwatch and moto is cut (existing
//! connections closed, the port closed so new ones are refused) at an
//! exact point of the publish, recognised by the request line of a PUT,
//! and brought back later. Local disk: a file-size limit (`RLIMIT_FSIZE`,
//! writes fail with EFBIG as on a full disk), a path the store must write
//! into blocked by a file, and a truly read-only directory.
//!
//! An outage shorter than the S3 client's retries is ridden through. Any
//! other: exit 1 with a clear one-line error naming the store and the
//! object, nothing partial visible to readers, nothing already stored lost
//! or changed, and the next run completes with the store an uninterrupted
//! run would have. The audit is `tests/support/store_audit.rs`, shared with
//! `tests/daemon/crash.rs`.

use crate::support;

use std::collections::BTreeSet;
use std::net::SocketAddr;
use std::os::unix::fs::PermissionsExt;
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::{Command, Output};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use chrono::NaiveDate;
use dipwatch::domain::Symbol;
use object_store::ObjectStore;
use support::fake_alpaca::{FakeAlpaca, FakeAlpacaOptions};
use support::store_audit::{Audit, audit, audit_dir, differences, files_under, split_partition};
use support::{MotoServer, Workspace, ok, stderr, stdout};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;

const SYMBOLS: usize = 30;
const BUCKET: &str = "dipwatch-outage";
const STORE_URL: &str = "s3://dipwatch-outage/lake";
/// dipwatch's S3 secret: it must never appear in an error.
const S3_SECRET: &str = "outage-secret-7f3a9c";
/// The dates of every scenario: three stored first, then two more.
const FIRST: &str = "2026-11-16";
const LAST: &str = "2026-11-20";

// ---------------------------------------------------------------------------
// The proxy.

/// A loopback TCP proxy in front of moto that can be cut and restored.
struct Proxy {
    port: u16,
    shared: Arc<ProxyShared>,
    _runtime: tokio::runtime::Runtime,
}

struct ProxyShared {
    /// Up (true) or down; every change closes the connections in flight.
    up: watch::Sender<bool>,
    /// Go down when a PUT's request line contains this, and come back up
    /// after the duration, if any.
    trip: Mutex<Option<(String, Option<Duration>)>>,
    /// Trips that fired.
    trips: AtomicUsize,
}

impl Proxy {
    fn start(target: SocketAddr) -> Self {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .thread_name("outage-proxy")
            .enable_all()
            .build()
            .unwrap();
        let listener = runtime.block_on(TcpListener::bind("127.0.0.1:0")).unwrap();
        let port = listener.local_addr().unwrap().port();
        let shared = Arc::new(ProxyShared {
            up: watch::channel(true).0,
            trip: Mutex::new(None),
            trips: AtomicUsize::new(0),
        });
        runtime.spawn(serve(listener, port, target, shared.clone()));
        Self {
            port,
            shared,
            _runtime: runtime,
        }
    }

    fn endpoint(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// Bring the store back.
    fn restore(&self) {
        self.shared.up.send_replace(true);
    }

    /// Cut the store when a PUT of a path containing `path` arrives (that
    /// PUT is not forwarded), for `outage` or until [`Proxy::restore`].
    fn cut_on_put(&self, path: &str, outage: Option<Duration>) {
        *self.shared.trip.lock().unwrap() = Some((path.to_string(), outage));
    }

    fn trips(&self) -> usize {
        self.shared.trips.load(Ordering::SeqCst)
    }
}

/// Accept while up; while down the port is closed, so connections are
/// refused as by a stopped server.
async fn serve(first: TcpListener, port: u16, target: SocketAddr, shared: Arc<ProxyShared>) {
    let mut state = shared.up.subscribe();
    let mut listener = Some(first);
    loop {
        if let Some(l) = &listener {
            let went_down = tokio::select! {
                accepted = l.accept() => {
                    if let Ok((client, _)) = accepted {
                        tokio::spawn(pipe(client, target, shared.clone()));
                    }
                    false
                }
                changed = state.changed() => {
                    if changed.is_err() {
                        return;
                    }
                    !*state.borrow_and_update()
                }
            };
            if went_down {
                listener = None;
            }
        } else {
            if state.changed().await.is_err() {
                return;
            }
            if *state.borrow_and_update() {
                listener = Some(rebind(port).await);
            }
        }
    }
}

async fn rebind(port: u16) -> TcpListener {
    for _ in 0..200 {
        if let Ok(l) = TcpListener::bind(("127.0.0.1", port)).await {
            return l;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!("proxy: cannot listen on port {port} again");
}

/// Forward one connection until either side closes or the proxy changes
/// state; a PUT that trips the cut is dropped, not forwarded.
async fn pipe(client: TcpStream, target: SocketAddr, shared: Arc<ProxyShared>) {
    let mut state = shared.up.subscribe();
    if !*state.borrow_and_update() {
        return;
    }
    let Ok(server) = TcpStream::connect(target).await else {
        return;
    };
    let (mut from_client, mut to_client) = client.into_split();
    let (mut from_server, mut to_server) = server.into_split();
    let upstream = async {
        let mut buf = vec![0u8; 64 * 1024];
        loop {
            let n = match from_client.read(&mut buf).await {
                Ok(0) | Err(_) => return,
                Ok(n) => n,
            };
            if trips(&shared, &buf[..n]) {
                return;
            }
            if to_server.write_all(&buf[..n]).await.is_err() {
                return;
            }
        }
    };
    let downstream = async {
        let _ = tokio::io::copy(&mut from_server, &mut to_client).await;
    };
    tokio::select! {
        () = upstream => {}
        () = downstream => {}
        _ = state.changed() => {}
    }
}

/// Whether `chunk` (the start of a request: HTTP/1.1 without pipelining)
/// trips the armed cut; if so the proxy goes down.
fn trips(shared: &Arc<ProxyShared>, chunk: &[u8]) -> bool {
    if !chunk.starts_with(b"PUT ") {
        return false;
    }
    let line = chunk.split(|b| *b == b'\n').next().unwrap_or_default();
    let line = String::from_utf8_lossy(line);
    let mut armed = shared.trip.lock().unwrap();
    let Some((path, outage)) = armed.as_ref() else {
        return false;
    };
    if !line.contains(path.as_str()) {
        return false;
    }
    let outage = *outage;
    *armed = None;
    shared.trips.fetch_add(1, Ordering::SeqCst);
    shared.up.send_replace(false);
    if let Some(outage) = outage {
        let shared = shared.clone();
        tokio::spawn(async move {
            tokio::time::sleep(outage).await;
            shared.up.send_replace(true);
        });
    }
    true
}

// ---------------------------------------------------------------------------
// Fixtures.

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

fn fake() -> FakeAlpaca {
    let tickers: Vec<Symbol> =
        dipwatch::domain::parse_universe(&support::universe_head(SYMBOLS)).unwrap();
    FakeAlpaca::start(
        FakeAlpacaOptions::new()
            .universe(tickers)
            .latency(Duration::from_millis(10)),
    )
}

/// A workspace on the fake Alpaca with the first `symbols` tickers, local
/// store `./data`.
fn workspace(fake: &FakeAlpaca, symbols: usize) -> Workspace {
    let mut ws = Workspace::new(symbols);
    ws.use_fake_alpaca(fake);
    ws
}

/// A workspace whose store is `s3://dipwatch-outage/lake` through `proxy`.
fn s3_workspace(fake: &FakeAlpaca, proxy: &Proxy) -> Workspace {
    let mut ws = workspace(fake, SYMBOLS);
    ws.set_env("DIPWATCH__STORAGE__URL", STORE_URL);
    for (k, v) in [
        ("ENDPOINT", proxy.endpoint().as_str()),
        ("ALLOW_HTTP", "true"),
        ("REGION", "us-east-1"),
        ("ACCESS_KEY_ID", "testing"),
        ("SECRET_ACCESS_KEY", S3_SECRET),
    ] {
        ws.set_env(&format!("DIPWATCH__STORAGE__OPTIONS__{k}"), v);
    }
    ws
}

/// The bucket's store, straight to moto (not through the proxy).
fn moto_store(moto: &MotoServer) -> Arc<dyn ObjectStore> {
    let s3 = object_store::aws::AmazonS3Builder::new()
        .with_bucket_name(BUCKET)
        .with_endpoint(&moto.endpoint)
        .with_allow_http(true)
        .with_region("us-east-1")
        .with_access_key_id("testing")
        .with_secret_access_key("testing")
        .build()
        .unwrap();
    Arc::new(object_store::prefix::PrefixStore::new(s3, "lake"))
}

/// `done` breaks no invariant and is the store of an uninterrupted run
/// (`reference`).
fn assert_as_uninterrupted(done: &Audit, reference: &Audit) {
    assert!(done.violations.is_empty(), "{:?}", done.violations);
    let diff = differences(done, reference);
    assert!(diff.is_empty(), "{diff:#?}");
}

fn audit_s3(rt: &tokio::runtime::Runtime, moto: &MotoServer) -> Audit {
    rt.block_on(audit(moto_store(moto), STORE_URL))
}

/// The store of an uninterrupted `collect --from FIRST --to LAST`.
fn reference(fake: &FakeAlpaca, symbols: usize, rt: &tokio::runtime::Runtime) -> Audit {
    let ws = workspace(fake, symbols);
    ok(&ws.run(&["collect", "--from", FIRST, "--to", LAST]));
    let a = audit_dir(rt, &ws.path("data"));
    assert!(a.violations.is_empty(), "{:?}", a.violations);
    assert_eq!(a.published().len(), 5);
    a
}

fn dates(list: &[&str]) -> BTreeSet<NaiveDate> {
    list.iter().map(|d| d.parse().unwrap()).collect()
}

/// A failed run: exit 1, and stderr ends with exactly one line
/// `error: ...` (the JSON log lines before it are the log). That line.
#[track_caller]
fn one_line_error(out: &Output) -> String {
    let err = stderr(out);
    assert_eq!(
        out.status.code(),
        Some(1),
        "stdout:\n{}\nstderr:\n{err}",
        stdout(out)
    );
    let last = err.trim_end().lines().last().unwrap_or_default();
    assert!(last.starts_with("error: "), "{err}");
    assert_eq!(
        err.lines().filter(|l| l.starts_with("error")).count(),
        1,
        "{err}"
    );
    last.to_string()
}

/// Everything `before` held is still there: the same bytes, except the
/// manifests of dates a later run re-published, which must list the same
/// objects.
#[track_caller]
fn nothing_lost(before: &Audit, after: &Audit, republished: &BTreeSet<NaiveDate>) {
    for (path, bytes) in &before.objects {
        let now = after.objects.get(path);
        match split_partition(path) {
            Some(("runs", date, _)) if republished.contains(&date) => assert_eq!(
                after.manifests.get(&date).map(|m| &m.objects),
                before.manifests.get(&date).map(|m| &m.objects),
                "{path}"
            ),
            // The writer lease is no data: every writing command rewrites it.
            _ if path.starts_with("_lease/") => {}
            _ => assert!(now == Some(bytes), "{path}: changed or lost"),
        }
    }
}

/// `dipwatch ARGS` in the workspace, like [`Workspace::run`], with
/// `prepare` run in the child before exec.
fn run_with(
    ws: &Workspace,
    args: &[&str],
    prepare: impl FnMut() -> std::io::Result<()> + Send + Sync + 'static,
) -> Output {
    let mut cmd = ws.command(args);
    // SAFETY: `prepare` only makes async-signal-safe system calls.
    unsafe { cmd.pre_exec(prepare) };
    ws.checked(cmd.output().expect("spawn dipwatch"))
}

/// `chmod -R` directories to `dir_mode` and files to `file_mode`.
fn chmod_tree(dir: &Path, dir_mode: u32, file_mode: u32) {
    for e in std::fs::read_dir(dir).unwrap() {
        let e = e.unwrap();
        if e.file_type().unwrap().is_dir() {
            chmod_tree(&e.path(), dir_mode, file_mode);
        } else {
            std::fs::set_permissions(e.path(), std::fs::Permissions::from_mode(file_mode)).unwrap();
        }
    }
    std::fs::set_permissions(dir, std::fs::Permissions::from_mode(dir_mode)).unwrap();
}

/// In a child before exec: give up the capabilities that let root ignore
/// file modes (CAP_DAC_OVERRIDE, CAP_DAC_READ_SEARCH, CAP_FOWNER), from the
/// bounding and inheritable sets too, so that exec does not grant them
/// back. Dropping capabilities needs no privilege beyond CAP_SETPCAP for
/// the bounding set; if it fails the probe in the test notices.
fn drop_file_mode_override() -> std::io::Result<()> {
    #[repr(C)]
    struct Header {
        version: u32,
        pid: i32,
    }
    #[repr(C)]
    #[derive(Clone, Copy)]
    struct Data {
        effective: u32,
        permitted: u32,
        inheritable: u32,
    }
    const CAPS: [u32; 3] = [1, 2, 3];
    const VERSION_3: u32 = 0x2008_0522;
    let keep = !CAPS.iter().fold(0u32, |m, c| m | (1 << c));
    let mut header = Header {
        version: VERSION_3,
        pid: 0,
    };
    let mut data = [Data {
        effective: 0,
        permitted: 0,
        inheritable: 0,
    }; 2];
    // SAFETY: plain system calls on locals of the layout the kernel expects.
    unsafe {
        for cap in CAPS {
            libc::prctl(libc::PR_CAPBSET_DROP, libc::c_ulong::from(cap), 0, 0, 0);
        }
        let h: *mut Header = &mut header;
        if libc::syscall(libc::SYS_capget, h, data.as_mut_ptr()) == 0 {
            data[0].effective &= keep;
            data[0].permitted &= keep;
            data[0].inheritable &= keep;
            libc::syscall(libc::SYS_capset, h, data.as_ptr());
        }
    }
    Ok(())
}

// ---------------------------------------------------------------------------
// S3.

/// Where both S3 outages start: moto behind the proxy that cuts it, the
/// Alpaca fake, the uninterrupted reference, and 11-16..11-18 stored.
struct S3Outage {
    moto: MotoServer,
    proxy: Proxy,
    _fake: FakeAlpaca,
    rt: tokio::runtime::Runtime,
    reference: Audit,
    ws: Workspace,
    before: Audit,
}

impl S3Outage {
    /// The bucket as it is now, checked for broken invariants.
    fn audit(&self) -> Audit {
        let audit = audit_s3(&self.rt, &self.moto);
        assert!(audit.violations.is_empty(), "{:?}", audit.violations);
        audit
    }

    /// `audit` is the store of an uninterrupted run.
    fn assert_like_the_reference(&self, audit: &Audit) {
        let diff = differences(audit, &self.reference);
        assert!(diff.is_empty(), "{diff:#?}");
    }

    fn stored_to_11_18() -> Self {
        let moto = MotoServer::start();
        moto.create_bucket(BUCKET);
        let moto_addr: SocketAddr = moto.endpoint.trim_start_matches("http://").parse().unwrap();
        let proxy = Proxy::start(moto_addr);
        let fake = fake();
        let rt = runtime();
        let reference = reference(&fake, SYMBOLS, &rt);
        let ws = s3_workspace(&fake, &proxy);
        ok(&ws.run(&["collect", "--from", FIRST, "--to", "2026-11-18"]));
        let before = audit_s3(&rt, &moto);
        Self {
            moto,
            proxy,
            _fake: fake,
            rt,
            reference,
            ws,
            before,
        }
    }
}

#[test]
fn s3_outage_mid_publish_fails_cleanly_and_the_next_run_completes() {
    let outage = S3Outage::stored_to_11_18();
    let (proxy, ws, before) = (&outage.proxy, &outage.ws, &outage.before);
    assert!(before.violations.is_empty(), "{:?}", before.violations);
    let stored = dates(&["2026-11-16", "2026-11-17", "2026-11-18"]);
    assert_eq!(before.published(), stored);

    // A run that re-publishes 11-17 and 11-18, then writes 11-19's objects
    // and loses the store at its manifest, the commit point, for longer
    // than the S3 client's retries last.
    proxy.cut_on_put("2026-11-19/run.json", None);
    let t = Instant::now();
    let out = ws.run(&["collect", "--from", "2026-11-17", "--to", LAST]);
    let failed_after = t.elapsed();
    assert_eq!(proxy.trips(), 1, "the outage hit the run");
    let err = one_line_error(&out);
    assert!(err.contains(STORE_URL), "{err}");
    assert!(err.contains("runs/date=2026-11-19/run.json"), "{err}");
    assert!(!stderr(&out).contains(S3_SECRET));
    assert!(!stdout(&out).contains("2026-11-19  published"));

    // The store is back: 11-19 is not visible, its objects are whole but
    // unlisted, and what was stored before is all there.
    proxy.restore();
    let after = outage.audit();
    assert_eq!(after.published(), stored);
    assert_eq!(
        after.unpublished,
        [
            "bars/date=2026-11-19/bars.csv",
            "drawdowns/date=2026-11-19/drawdowns.csv"
        ]
    );
    nothing_lost(before, &after, &dates(&["2026-11-17", "2026-11-18"]));
    let screen = ok(&ws.run(&["screen", "--top", "1"]));
    assert!(
        screen.starts_with("Drawdown screen for 2026-11-18\n"),
        "{screen}"
    );

    // The next run completes: the store of an uninterrupted run.
    ok(&ws.run(&["collect", "--from", "2026-11-17", "--to", LAST]));
    outage.assert_like_the_reference(&outage.audit());
    println!("S3 outage at the commit point: exit 1 after {failed_after:?}: {err}");
}

#[test]
fn s3_outage_shorter_than_the_retries_is_ridden_through() {
    let outage = S3Outage::stored_to_11_18();
    let (proxy, ws, before) = (&outage.proxy, &outage.ws, &outage.before);

    // The PUT of 11-19's drawdowns is cut and the store is gone for
    // 150 ms: the client's first retry (after 100 ms) is refused, a later
    // one gets through.
    proxy.cut_on_put("2026-11-19/drawdowns.csv", Some(Duration::from_millis(150)));
    let out = ok(&ws.run(&["collect", "--from", "2026-11-19", "--to", LAST]));
    assert_eq!(proxy.trips(), 1, "the outage hit the run");
    assert!(out.contains("2026-11-19  published"), "{out}");
    let done = outage.audit();
    nothing_lost(before, &done, &BTreeSet::new());
    outage.assert_like_the_reference(&done);
    println!("S3 outage of 150 ms during a PUT: ridden through");
}

// ---------------------------------------------------------------------------
// Local disk.

#[test]
fn local_full_disk_is_a_clear_error_and_corrupts_nothing() {
    // Few symbols: the CSVs are smaller than a manifest (see the limit).
    let symbols = 8;
    let fake = fake();
    let rt = runtime();
    let reference = reference(&fake, symbols, &rt);
    let ws = workspace(&fake, symbols);
    ok(&ws.run(&["collect", "--from", FIRST, "--to", "2026-11-18"]));
    let before = audit_dir(&rt, &ws.path("data"));
    assert!(before.violations.is_empty(), "{:?}", before.violations);

    // Files may grow to a size between the largest CSV and the smallest
    // manifest: a run's objects are written, its manifest is not.
    let size = |run: bool| {
        reference
            .objects
            .iter()
            .filter(move |(p, _)| p.ends_with("/run.json") == run && p.ends_with(".csv") != run)
            .map(|(_, b)| b.len() as u64)
    };
    let (largest_csv, smallest_manifest) = (size(false).max().unwrap(), size(true).min().unwrap());
    assert!(
        largest_csv < smallest_manifest,
        "{largest_csv} {smallest_manifest}"
    );
    let limit = (largest_csv + smallest_manifest) / 2;
    let out = run_with(
        &ws,
        &["collect", "--from", "2026-11-18", "--to", LAST],
        move || {
            let rlimit = libc::rlimit {
                rlim_cur: limit,
                rlim_max: limit,
            };
            // SAFETY: async-signal-safe calls between fork and exec.
            unsafe {
                if libc::setrlimit(libc::RLIMIT_FSIZE, &rlimit) != 0 {
                    return Err(std::io::Error::last_os_error());
                }
                // EFBIG instead of death by SIGXFSZ, as on a full disk.
                libc::signal(libc::SIGXFSZ, libc::SIG_IGN);
            }
            Ok(())
        },
    );
    let err = one_line_error(&out);
    assert!(err.contains("File too large"), "{err}");
    assert!(err.contains("runs/date=2026-11-18/run.json"), "{err}");
    assert!(err.contains("data"), "names the store: {err}");
    println!("full disk (files limited to {limit} bytes): {err}");

    // The re-run of 11-18 rewrote its objects (the same bytes) and failed
    // at its manifest: the store is exactly as before.
    let after = audit_dir(&rt, &ws.path("data"));
    assert!(after.violations.is_empty(), "{:?}", after.violations);
    assert_eq!(after.published(), before.published());
    nothing_lost(&before, &after, &BTreeSet::new());

    ok(&ws.run(&["collect", "--from", "2026-11-18", "--to", LAST]));
    assert_as_uninterrupted(&audit_dir(&rt, &ws.path("data")), &reference);
}

#[test]
fn local_unwritable_directory_is_a_clear_error_and_corrupts_nothing() {
    let fake = fake();
    let rt = runtime();
    let reference = reference(&fake, SYMBOLS, &rt);
    let ws = workspace(&fake, SYMBOLS);
    let data = ws.path("data");
    ok(&ws.run(&["collect", "--from", FIRST, "--to", "2026-11-18"]));
    let before = audit_dir(&rt, &data);
    assert!(before.violations.is_empty(), "{:?}", before.violations);
    let new_dates = ["collect", "--from", "2026-11-19", "--to", LAST];

    // 1. A file where 11-19's run partition must go: its objects are
    // written, its manifest cannot be.
    let blocker = data.join("runs/date=2026-11-19");
    std::fs::write(&blocker, "not a directory\n").unwrap();
    let err = one_line_error(&ws.run(&new_dates));
    assert!(err.contains("runs/date=2026-11-19/run.json"), "{err}");
    assert!(err.contains("Not a directory"), "{err}");
    assert!(err.contains("data"), "names the store: {err}");
    println!("a file in the way: {err}");
    let screen = ok(&ws.run(&["screen", "--top", "1"]));
    assert!(
        screen.starts_with("Drawdown screen for 2026-11-18\n"),
        "{screen}"
    );
    std::fs::remove_file(&blocker).unwrap();
    let after = audit_dir(&rt, &data);
    assert!(after.violations.is_empty(), "{:?}", after.violations);
    assert_eq!(after.published(), before.published());
    nothing_lost(&before, &after, &BTreeSet::new());

    // 2. The whole store read-only. Root ignores file modes, so the child
    // gives up the capabilities that let it; a probe shows whether that
    // worked here.
    let snapshot = files_under(&data);
    chmod_tree(&data, 0o555, 0o444);
    let mut probe = Command::new("sh");
    probe
        .args(["-c", ": > \"$0/probe\"", &data.display().to_string()])
        .stderr(std::process::Stdio::null());
    // SAFETY: `drop_file_mode_override` only makes system calls.
    unsafe { probe.pre_exec(drop_file_mode_override) };
    let probed = probe.status().unwrap();
    // Never a silent pass: if the case cannot be set up, the test says so
    // by failing.
    assert!(
        !probed.success(),
        "the read-only case cannot be set up here: a child cannot give up root's override of file modes"
    );
    // Found by the write probe before the run: exit 2 (the store as
    // configured cannot be used), and not one bar fetched for nothing.
    let requests_before = fake.requests().len();
    let out = run_with(&ws, &new_dates, drop_file_mode_override);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    let err = stderr(&out);
    assert!(
        err.contains("storage.url: the store cannot be written"),
        "{err}"
    );
    assert!(err.contains("Permission denied"), "{err}");
    assert_eq!(fake.requests().len(), requests_before, "nothing fetched");
    assert_eq!(
        files_under(&data),
        snapshot,
        "nothing written, nothing removed"
    );
    println!("read-only store: {err}");
    // check-config says so too, instead of "OK".
    let checked = run_with(&ws, &["check-config"], drop_file_mode_override);
    assert_eq!(checked.status.code(), Some(2), "{}", stdout(&checked));
    assert!(stderr(&checked).contains("the store cannot be written"));
    assert!(!stdout(&checked).contains("configuration OK"));
    chmod_tree(&data, 0o755, 0o644);

    // Repaired: the next run completes.
    ok(&ws.run(&new_dates));
    assert_as_uninterrupted(&audit_dir(&rt, &data), &reference);
}

/// A range whose last date fails to publish after an earlier date of it
/// was published: what the user is told must agree with the store.
#[test]
fn a_range_that_fails_part_way_does_not_say_nothing_was_published() {
    let fake = fake();
    let rt = runtime();
    let ws = workspace(&fake, SYMBOLS);
    let data = ws.path("data");
    ok(&ws.run(&["collect", "--from", FIRST, "--to", "2026-11-18"]));
    // 11-20's manifest cannot be written; 11-19's can.
    std::fs::write(data.join("runs/date=2026-11-20"), "not a directory\n").unwrap();
    let out = ws.run(&["collect", "--from", "2026-11-19", "--to", LAST]);
    let err = one_line_error(&out);
    std::fs::remove_file(data.join("runs/date=2026-11-20")).unwrap();
    let after = audit_dir(&rt, &data);
    assert!(after.violations.is_empty(), "{:?}", after.violations);
    assert!(
        after.published().contains(&"2026-11-19".parse().unwrap()),
        "11-19 was published"
    );
    let told = format!("{}{err}", stdout(&out));
    assert!(
        !err.contains("nothing published"),
        "the error says nothing was published, but 2026-11-19 was:\n{told}"
    );
    assert!(
        told.contains("2026-11-19"),
        "nothing tells that 2026-11-19 was published:\n{told}"
    );
}
