//! What every test binary shares (each includes this folder with
//! `#[path = "../support/mod.rs"] mod support;`): a real S3-compatible
//! server (moto) on loopback, a scratch workspace for running the real
//! `dipwatch` binary with child processes that die with their test, the
//! loopback fakes of Alpaca (`fake_alpaca/`) and the Bot API
//! (`fake_telegram`), the store audit (`store_audit`), the daemon's `App`
//! with its dashboard served (`dashboard`) and the small values tests
//! build their data from (`fixtures`).

#![allow(dead_code)]

pub mod dashboard;
pub mod fake_alpaca;
pub mod fake_telegram;
pub mod fixtures;
pub mod store_audit;

// Not every binary uses every fixture.
#[allow(unused_imports)]
pub use fixtures::{account, d, days_before_today, report, sym};

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::ops::{Deref, DerefMut};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

/// `dipwatch backtest ARGS --format json` with only `env` (and `PATH`)
/// set: the run's JSON document (a failure panics with the command's
/// stderr).
pub fn backtest_json<K, V>(
    env: impl IntoIterator<Item = (K, V)>,
    args: &[&str],
) -> serde_json::Value
where
    K: AsRef<std::ffi::OsStr>,
    V: AsRef<std::ffi::OsStr>,
{
    let out = Command::new(env!("CARGO_BIN_EXE_dipwatch"))
        .arg("backtest")
        .args(args)
        .args(["--format", "json"])
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .envs(env)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

/// An independent reference implementation in Python (`python3`, or
/// `$PYTHON`): `args` (a script under `tests/reference/`, or `-c` and a
/// program, then its arguments), `input` as JSON on its stdin when given;
/// its JSON answer. `needs` names what it imports, for the failure message.
pub fn python_reference<S: AsRef<std::ffi::OsStr>>(
    args: &[S],
    input: Option<&serde_json::Value>,
    needs: &str,
) -> serde_json::Value {
    let python = std::env::var("PYTHON").unwrap_or_else(|_| "python3".into());
    let mut child = Command::new(python)
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("python3 is needed ({needs}; scripts/test installs it): {e}"));
    let mut stdin = child.stdin.take().unwrap();
    if let Some(input) = input {
        stdin.write_all(input.to_string().as_bytes()).unwrap();
    }
    drop(stdin);
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "the reference failed (is {needs} installed? scripts/test installs it): {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

/// Poll every 50 ms until `poll` has an answer; `within` only ends a hang
/// (never a verdict on speed), panicking with `state()`: what was seen.
pub fn wait_for<T>(
    within: Duration,
    state: impl Fn() -> String,
    mut poll: impl FnMut() -> Option<T>,
) -> T {
    let deadline = Instant::now() + within;
    loop {
        if let Some(answer) = poll() {
            return answer;
        }
        assert!(
            Instant::now() < deadline,
            "nothing after {within:?}: {}",
            state()
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Absolute path of a file in the repository.
pub fn repo(rel: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(rel)
}

/// A free loopback port.
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A moto S3 server on loopback, killed on drop.
pub struct MotoServer {
    child: Child,
    /// `http://127.0.0.1:PORT`.
    pub endpoint: String,
    port: u16,
}

impl MotoServer {
    /// Start moto's S3 server (PyPI `moto[server]`, installed by `.ci/run`)
    /// as `python3 -m moto.server`, which needs no script on PATH.
    pub fn start() -> Self {
        let port = free_port();
        let python = std::env::var("PYTHON").unwrap_or_else(|_| "python3".into());
        let child = Command::new(python)
            .args(["-m", "moto.server", "-H", "127.0.0.1", "-p", &port.to_string()])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("python3 not found; the S3 tests need python3 -m pip install 'moto[server]' (.ci/run does)");
        let server = Self {
            child,
            endpoint: format!("http://127.0.0.1:{port}"),
            port,
        };
        let deadline = Instant::now() + Duration::from_secs(30);
        while Instant::now() < deadline {
            if server
                .request("GET", "/")
                .is_some_and(|r| r.starts_with("HTTP/1.1 200"))
            {
                return server;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        panic!(
            "moto's S3 server did not come up on port {port}: is `moto[server]` installed? (python3 -m pip install 'moto[server]')"
        );
    }

    /// Create a bucket (object_store cannot).
    pub fn create_bucket(&self, name: &str) {
        let resp = self
            .request("PUT", &format!("/{name}"))
            .expect("create bucket");
        assert!(resp.starts_with("HTTP/1.1 200"), "create bucket: {resp}");
    }

    /// One raw HTTP/1.1 request, the whole response as text.
    fn request(&self, method: &str, path: &str) -> Option<String> {
        let mut s = TcpStream::connect(("127.0.0.1", self.port)).ok()?;
        s.set_read_timeout(Some(Duration::from_secs(5))).ok()?;
        write!(
            s,
            "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1:{}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
            self.port
        )
        .ok()?;
        let mut out = String::new();
        s.read_to_string(&mut out).ok()?;
        Some(out)
    }

    /// Storage options pointing object_store at this server.
    pub fn options(&self) -> Vec<(String, String)> {
        [
            ("endpoint", self.endpoint.as_str()),
            ("allow_http", "true"),
            ("region", "us-east-1"),
            ("access_key_id", "testing"),
            ("secret_access_key", "testing"),
        ]
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
    }
}

impl Drop for MotoServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A spawned child process that dies with its test: killed (SIGKILL) and
/// reaped when the guard is dropped, whether the test passed or panicked.
/// It is also started with `PR_SET_PDEATHSIG`, so it dies even when the test
/// process itself is killed (a timed-out CI job), since nothing unwinds then.
/// Spawn it on the thread that owns the guard: Linux sends that signal
/// when the spawning thread ends.
pub struct ChildGuard(Option<Child>);

impl ChildGuard {
    /// Spawn `cmd` under the guard.
    pub fn spawn(cmd: &mut Command) -> std::io::Result<Self> {
        use std::os::unix::process::CommandExt;
        // SAFETY: prctl(2) is async-signal-safe and touches no memory of
        // the parent; it runs in the forked child before exec.
        unsafe {
            cmd.pre_exec(|| {
                if libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL) == -1 {
                    return Err(std::io::Error::last_os_error());
                }
                Ok(())
            });
        }
        cmd.spawn().map(|c| Self(Some(c)))
    }

    /// Send SIGTERM (the daemon's graceful stop).
    pub fn terminate(&self) {
        self.signal(libc::SIGTERM);
    }

    /// Send SIGHUP (the daemon reloads its allow-lists).
    pub fn signal_hangup(&self) {
        self.signal(libc::SIGHUP);
    }

    fn signal(&self, signal: libc::c_int) {
        // SAFETY: kill(2) on our own unreaped child: its pid cannot be reused.
        let rc = unsafe { libc::kill(self.id() as libc::pid_t, signal) };
        assert_eq!(rc, 0, "kill: {}", std::io::Error::last_os_error());
    }

    /// Wait for the child to exit and collect its piped output; the guard
    /// is spent.
    pub fn wait_with_output(mut self) -> std::io::Result<Output> {
        self.0.take().expect("child present").wait_with_output()
    }
}

impl Deref for ChildGuard {
    type Target = Child;
    fn deref(&self) -> &Child {
        self.0.as_ref().expect("child present")
    }
}

impl DerefMut for ChildGuard {
    fn deref_mut(&mut self) -> &mut Child {
        self.0.as_mut().expect("child present")
    }
}

impl Drop for ChildGuard {
    fn drop(&mut self) {
        if let Some(mut child) = self.0.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// A scratch working directory for the real binary, with a small universe.
pub struct Workspace {
    /// The temp dir (removed on drop).
    pub dir: tempfile::TempDir,
    /// Extra environment for every command.
    pub env: Vec<(String, String)>,
}

/// The first `n` tickers of the bundled universe, as file text.
pub fn universe_head(n: usize) -> String {
    let text = std::fs::read_to_string(repo("config/universe/russell1000.txt")).unwrap();
    text.lines().take(n).map(|l| format!("{l}\n")).collect()
}

impl Workspace {
    /// A workspace whose universe is the first `symbols` bundled tickers and
    /// whose store is `./data` inside it.
    pub fn new(symbols: usize) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let universe = dir.path().join("universe.txt");
        std::fs::write(&universe, universe_head(symbols)).unwrap();
        let env = vec![
            (
                "DIPWATCH__MARKET__UNIVERSE".into(),
                universe.display().to_string(),
            ),
            ("DIPWATCH__STORAGE__URL".into(), "./data".into()),
            ("DIPWATCH__LOG__FORMAT".into(), "json".into()),
            // No benchmark ticker fetched beside the universe (the fake
            // Alpaca serves only its universe): suites compare the stored
            // bars across providers. tests/backtest.rs sets SPY.
            ("DIPWATCH__BACKTEST__BENCHMARK".into(), "universe".into()),
        ];
        Self { dir, env }
    }

    /// A workspace with exactly these tickers as its universe.
    pub fn with_tickers(tickers: &[String]) -> Self {
        let ws = Self::new(1);
        let text: String = tickers.iter().map(|t| format!("{t}\n")).collect();
        std::fs::write(ws.path("universe.txt"), text).unwrap();
        ws
    }

    /// Path inside the workspace.
    pub fn path(&self, rel: &str) -> PathBuf {
        self.dir.path().join(rel)
    }

    /// Set (or replace) an environment variable for later commands.
    pub fn set_env(&mut self, key: &str, value: &str) {
        self.env.retain(|(k, _)| k != key);
        self.env.push((key.into(), value.into()));
    }

    /// `dipwatch ARGS` in the workspace, clean of the caller's secrets and
    /// dipwatch settings, with only the workspace's environment.
    pub fn command(&self, args: &[&str]) -> Command {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_dipwatch"));
        cmd.current_dir(self.dir.path()).args(args);
        for (k, _) in std::env::vars() {
            if k.starts_with("DIPWATCH__")
                || k.starts_with("APCA_")
                || k.starts_with("TELOXIDE_")
                || k.starts_with("AWS_")
                || k == "RUST_LOG"
                || k == "CREDENTIALS_DIRECTORY"
                || k == "DIPWATCH_CONFIG"
            {
                cmd.env_remove(k);
            }
        }
        // A daemon with a bot token also serves the dashboard: on a port of
        // its own, so tests running at once never collide (a test may set
        // its own).
        cmd.env("DIPWATCH__WEB__LISTEN", "127.0.0.1:0");
        cmd.envs(self.env.iter().map(|(k, v)| (k.as_str(), v.as_str())));
        cmd
    }

    /// Run `dipwatch ARGS` to completion (see [`Workspace::command`]).
    pub fn run(&self, args: &[&str]) -> Output {
        self.checked(self.command(args).output().expect("spawn dipwatch"))
    }

    /// Check a finished run's output for every secret it was given, and
    /// hand it back. Every run of every suite goes through here.
    pub fn checked(&self, out: Output) -> Output {
        assert_no_secrets(&self.env, &String::from_utf8_lossy(&out.stdout));
        assert_no_secrets(&self.env, &String::from_utf8_lossy(&out.stderr));
        out
    }

    /// Point the workspace at a fake Alpaca: provider, both base URLs and
    /// the fake's key pair.
    pub fn use_fake_alpaca(&mut self, fake: &fake_alpaca::FakeAlpaca) {
        self.set_env("DIPWATCH__MARKET__PROVIDER", "alpaca");
        self.set_env("DIPWATCH__MARKET__DATA_URL", &fake.url());
        self.set_env("DIPWATCH__MARKET__TRADING_URL", &fake.url());
        for (k, v) in fake.credentials_env() {
            self.set_env(k, &v);
        }
    }

    /// Keep the store at `url` on `moto` (`s3://BUCKET/PREFIX`), with the
    /// options that reach it, as users write them.
    pub fn use_s3(&mut self, moto: &MotoServer, url: &str) {
        self.set_env("DIPWATCH__STORAGE__URL", url);
        for (k, v) in moto.options() {
            self.set_env(
                &format!("DIPWATCH__STORAGE__OPTIONS__{}", k.to_uppercase()),
                &v,
            );
        }
    }

    /// Run with the demo config.
    pub fn demo(&self, args: &[&str]) -> Output {
        let demo = repo("config/demo.toml").display().to_string();
        let mut all: Vec<&str> = args.to_vec();
        all.extend(["--config", demo.as_str()]);
        self.run(&all)
    }
}

/// Variables whose values are secrets (ours and the S3 store's).
pub const SECRET_VARS: [&str; 5] = [
    "APCA_API_KEY_ID",
    "APCA_API_SECRET_KEY",
    "TELOXIDE_TOKEN",
    "AWS_SECRET_ACCESS_KEY",
    "DIPWATCH__STORAGE__OPTIONS__SECRET_ACCESS_KEY",
];

/// Panic if any secret value in `env` appears in `text` (log lines,
/// errors, printed config). Values under 10 characters (moto's "testing")
/// are placeholders that could match ordinary words, so they are skipped.
#[track_caller]
pub fn assert_no_secrets(env: &[(String, String)], text: &str) {
    for (k, v) in env {
        if SECRET_VARS.contains(&k.as_str()) && v.len() >= 10 {
            assert!(
                !text.contains(v.as_str()),
                "the value of {k} leaked into output:\n{text}"
            );
        }
    }
}

/// The value of the first sample of `series` (a metric name, with its
/// labels if any) in Prometheus text, if present.
pub fn metric(metrics: &str, series: &str) -> Option<f64> {
    metrics
        .lines()
        .find(|l| l.starts_with(series) && l[series.len()..].starts_with(' '))
        .and_then(|l| l.rsplit(' ').next())
        .and_then(|v| v.parse().ok())
}

/// A raw HTTP/1.1 GET on loopback: (status, body).
pub fn http_get(port: u16, path: &str) -> Option<(u16, String)> {
    http_get_as(port, path, "127.0.0.1", Duration::from_secs(5))
}

/// A raw HTTP/1.1 GET on loopback with `host` as its `Host` header:
/// (status, body); `None` if nothing came back within `wait`.
pub fn http_get_as(port: u16, path: &str, host: &str, wait: Duration) -> Option<(u16, String)> {
    let mut s = TcpStream::connect(("127.0.0.1", port)).ok()?;
    s.set_read_timeout(Some(wait)).ok()?;
    write!(
        s,
        "GET {path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n"
    )
    .ok()?;
    let mut raw = String::new();
    s.read_to_string(&mut raw).ok()?;
    let status = raw.split_whitespace().nth(1)?.parse().ok()?;
    let body = raw.split_once("\r\n\r\n").map(|(_, b)| b.to_string())?;
    Some((status, body))
}

/// Stdout as text.
pub fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

/// Stderr as text.
pub fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// Assert the process said `text` on stderr, showing stderr otherwise.
#[track_caller]
pub fn assert_stderr_has(o: &Output, text: &str) {
    let err = stderr(o);
    assert!(err.contains(text), "{err}");
}

/// Assert the process exited with `code` and said `text` on stderr.
#[track_caller]
pub fn assert_fails_with(o: &Output, code: i32, text: &str) {
    assert_eq!(o.status.code(), Some(code), "{}", stderr(o));
    assert_stderr_has(o, text);
}

/// Assert `text` holds every one of `parts`, naming the one missing.
#[track_caller]
pub fn assert_has_all(text: &str, parts: &[&str]) {
    for part in parts {
        assert!(text.contains(part), "{part} missing: {text}");
    }
}

/// Copy the folder `from` into `to`, subfolders included.
pub fn copy_tree(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        let target = to.join(e.file_name());
        if e.file_type().unwrap().is_dir() {
            copy_tree(&e.path(), &target);
        } else {
            std::fs::copy(e.path(), target).unwrap();
        }
    }
}

/// The strings `pick` takes from each element of the JSON array `array`.
pub fn json_strs<'a>(
    array: &'a serde_json::Value,
    pick: impl Fn(&'a serde_json::Value) -> &'a serde_json::Value,
) -> Vec<&'a str> {
    array
        .as_array()
        .expect("a JSON array")
        .iter()
        .map(|v| pick(v).as_str().expect("a JSON string"))
        .collect()
}

/// Assert success, showing both streams otherwise.
#[track_caller]
pub fn ok(o: &Output) -> String {
    assert!(
        o.status.success(),
        "exit {:?}\nstdout:\n{}\nstderr:\n{}",
        o.status,
        stdout(o),
        stderr(o)
    );
    stdout(o)
}
