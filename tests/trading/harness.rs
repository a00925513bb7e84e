//! What the trading tests share: a fake Alpaca and a workspace pointed at
//! it with trading on, its store collected once (bars and a positions
//! snapshot of the latest session), the market open by the fake's clock,
//! and helpers to run `dipwatch order ...` and read the journal back.

use crate::support::fake_alpaca::{FakeAlpaca, FakeAlpacaOptions};
use crate::support::{self, Workspace};

use std::process::{Output, Stdio};

use rust_decimal::Decimal;
use serde_json::Value;

/// Tickers of the universe (the first of the bundled list).
pub const UNIVERSE: usize = 12;

/// A fake Alpaca, a workspace using it with `trading.enabled`, the store
/// collected.
pub struct Market {
    pub fake: FakeAlpaca,
    pub ws: Workspace,
    /// Universe tickers the simulated portfolio holds.
    pub held: Vec<String>,
    /// Universe tickers it does not hold.
    pub not_held: Vec<String>,
}

impl Market {
    /// Trading on, the market open, the store collected.
    pub fn open() -> Self {
        let tickers = dipwatch::domain::parse_universe(&support::universe_head(UNIVERSE)).unwrap();
        let fake = FakeAlpaca::start(FakeAlpacaOptions::new().universe(tickers.clone()));
        let mut ws = Workspace::new(UNIVERSE);
        ws.use_fake_alpaca(&fake);
        ws.set_env("DIPWATCH__TRADING__ENABLED", "true");
        // Each order is looked up once at most after an unknown outcome in
        // these tests: keep the client's own patience short.
        ws.set_env("DIPWATCH__MARKET__REQUEST_TIMEOUT_SECS", "5");
        support::ok(&ws.run(&["collect"]));
        fake.set_market_open(Some(true));
        let (held, not_held): (Vec<String>, Vec<String>) = tickers
            .iter()
            .map(|t| t.as_str().to_string())
            .partition(|t| fake.position_qty(t) > Decimal::ZERO);
        assert!(
            held.len() >= 2 && not_held.len() >= 3,
            "the simulated portfolio holds some of the universe: {held:?} {not_held:?}"
        );
        Self {
            fake,
            ws,
            held,
            not_held,
        }
    }

    /// Set a `[trading]` key for later commands.
    pub fn set(&mut self, key: &str, value: &str) {
        self.ws
            .set_env(&format!("DIPWATCH__TRADING__{}", key.to_uppercase()), value);
    }

    /// `dipwatch ARGS` with stdin closed (no terminal), checked for secrets.
    pub fn run(&self, args: &[&str]) -> Output {
        let out = self
            .ws
            .command(args)
            .stdin(Stdio::null())
            .output()
            .expect("spawn dipwatch");
        self.ws.checked(out)
    }

    /// `dipwatch order buy|sell TICKER ARGS... --yes --format json`: the
    /// output and, on success, its JSON document.
    pub fn order(&self, side: &str, ticker: &str, args: &[&str]) -> (Output, Option<Value>) {
        let mut all = vec!["order", side, ticker];
        all.extend_from_slice(args);
        all.extend(["--yes", "--format", "json"]);
        let out = self.run(&all);
        let doc = serde_json::from_slice(&out.stdout).ok();
        (out, doc)
    }

    /// Every journal row of the store, in time order: each a map of the
    /// columns by name (read from the CSV objects under `orders/`).
    pub fn journal(&self) -> Vec<std::collections::BTreeMap<String, String>> {
        let mut rows = Vec::new();
        let root = self.ws.path("data/orders");
        let mut files = Vec::new();
        collect_files(&root, &mut files);
        files.sort();
        for f in files {
            let mut r = csv::Reader::from_path(&f).unwrap();
            let header: Vec<String> = r.headers().unwrap().iter().map(String::from).collect();
            for rec in r.records() {
                let rec = rec.unwrap();
                rows.push(
                    header
                        .iter()
                        .cloned()
                        .zip(rec.iter().map(String::from))
                        .collect(),
                );
            }
        }
        rows.sort_by(|a: &std::collections::BTreeMap<String, String>, b| a["time"].cmp(&b["time"]));
        rows
    }

    /// The journal's events for `client_order_id`, in order.
    pub fn events_of(&self, client_order_id: &str) -> Vec<String> {
        self.journal()
            .into_iter()
            .filter(|r| r["client_order_id"] == client_order_id)
            .map(|r| r["event"].clone())
            .collect()
    }
}

fn collect_files(dir: &std::path::Path, out: &mut Vec<std::path::PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for e in entries.flatten() {
        let p = e.path();
        if p.is_dir() {
            collect_files(&p, out);
        } else if p.extension().is_some_and(|x| x == "csv") {
            out.push(p);
        }
    }
}

/// Exit code of a finished command.
pub fn code(o: &Output) -> Option<i32> {
    o.status.code()
}

/// A pseudo-terminal pair: the child gets the replica as its stdin (so
/// `stdin().is_terminal()` holds), the test types into the primary.
pub struct Pty {
    primary: std::fs::File,
    replica: std::fs::File,
}

impl Pty {
    /// Open a new pair (posix_openpt, grantpt, unlockpt, ptsname_r).
    pub fn open() -> Self {
        use std::os::fd::FromRawFd;
        // SAFETY: plain libc calls on a descriptor this function owns; the
        // name buffer is sized and NUL-terminated by ptsname_r.
        unsafe {
            let fd = libc::posix_openpt(libc::O_RDWR | libc::O_NOCTTY);
            assert!(fd >= 0, "posix_openpt: {}", std::io::Error::last_os_error());
            assert_eq!(libc::grantpt(fd), 0, "grantpt");
            assert_eq!(libc::unlockpt(fd), 0, "unlockpt");
            let mut name = [0 as libc::c_char; 128];
            assert_eq!(
                libc::ptsname_r(fd, name.as_mut_ptr(), name.len()),
                0,
                "ptsname_r"
            );
            let path = std::ffi::CStr::from_ptr(name.as_ptr())
                .to_str()
                .unwrap()
                .to_string();
            let primary = std::fs::File::from_raw_fd(fd);
            let replica = std::fs::OpenOptions::new()
                .read(true)
                .write(true)
                .open(&path)
                .unwrap();
            Self { primary, replica }
        }
    }
}

impl Market {
    /// `dipwatch ARGS` with a terminal as stdin on which `typed` is typed
    /// (a line); stdout and stderr piped.
    pub fn run_on_terminal(&self, args: &[&str], typed: &str) -> Output {
        use std::io::Write;
        let mut pty = Pty::open();
        pty.primary.write_all(typed.as_bytes()).unwrap();
        let out = self
            .ws
            .command(args)
            .stdin(pty.replica.try_clone().unwrap())
            .output()
            .expect("spawn dipwatch");
        drop(pty);
        self.ws.checked(out)
    }
}
