//! Prometheus metrics (`/metrics`): runs, Alpaca requests, the circuit
//! breaker, the bot, and the business gauges the original system pushed to
//! CloudWatch. No label ever carries a chat id, a ticker or a secret.

use std::sync::atomic::AtomicU64;
use std::time::Duration;

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::{Metric, Registry};

use crate::domain::{LastOutcome, RequestStats};
use crate::state::Snapshot;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct OutcomeLabel {
    outcome: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct StateLabel {
    state: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct StatusLabel {
    status: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RoleLabel {
    role: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct BreakerLabel {
    breaker: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct CommandLabel {
    command: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct SignInLabel {
    method: &'static str,
    outcome: &'static str,
}

/// The `method` labels of `dipwatch_web_sign_ins`: a one-time link, the
/// Mini App's launch data.
pub const SIGN_IN_METHODS: [&str; 2] = ["link", "miniapp"];
/// The `outcome` labels of `dipwatch_web_sign_ins`.
pub const SIGN_IN_OUTCOMES: [&str; 3] = ["ok", "refused", "rate_limited"];

type FloatGauge = Gauge<f64, AtomicU64>;

/// The `state` labels of `dipwatch_symbols`.
const SYMBOL_STATES: [&str; 3] = ["ok", "skipped", "failed"];
type FloatCounter = Counter<f64, AtomicU64>;

/// Every metric family, registered once, grouped by what it watches.
pub struct Metrics {
    registry: Registry,
    process: ProcessGauges,
    runs: RunFamilies,
    alpaca: AlpacaFamilies,
    bot: BotFamilies,
    latest: LatestGauges,
    /// `dipwatch_lease_role`: 1 on this process's role under the writer lease.
    lease_role: Family<RoleLabel, Gauge>,
    web_sign_ins: Family<SignInLabel, Counter>,
    /// `dipwatch_journal_audit_failures`: audit events not written.
    journal_audit_failures: Counter,
}

/// Register `metric` under `name` and hand it back: the registry keeps a
/// clone, which shares the same atomic values.
fn add<M: Metric + Clone>(r: &mut Registry, name: &str, help: &str, metric: M) -> M {
    r.register(name, help, metric.clone());
    metric
}

/// The process itself, read on each scrape ([`Metrics::encode`]).
struct ProcessGauges {
    resident_memory: Gauge,
    open_fds: Gauge,
    alive_tasks: Gauge,
}

/// Collection runs: how many, how long, and the symbols of the last one.
struct RunFamilies {
    count: Family<OutcomeLabel, Counter>,
    duration: Family<OutcomeLabel, Histogram>,
    symbols: Family<StateLabel, Gauge>,
}

impl RunFamilies {
    fn register(r: &mut Registry) -> Self {
        let runs = Self {
            count: add(r, "runs", "Collection runs by outcome", Family::default()),
            duration: add(
                r,
                "run_duration_seconds",
                "Collection run duration by outcome",
                Family::new_with_constructor(|| Histogram::new(exponential_buckets(0.05, 2.0, 14))),
            ),
            symbols: add(
                r,
                "symbols",
                "Symbols of the last published run by state (ok, skipped, failed)",
                Family::default(),
            ),
        };
        // Every labelled family gets its series now: a scraper (and an
        // alert rule on `increase(...)`) sees zeros after a restart rather
        // than no series until the first run.
        for outcome in LastOutcome::LABELS {
            let label = OutcomeLabel { outcome };
            let _ = runs.count.get_or_create(&label);
            let _ = runs.duration.get_or_create(&label);
        }
        for state in SYMBOL_STATES {
            let _ = runs.symbols.get_or_create(&StateLabel { state });
        }
        runs
    }
}

/// Alpaca requests, rate-limit waits and the circuit breakers.
struct AlpacaFamilies {
    requests: Family<StatusLabel, Counter>,
    retries: Counter,
    rate_limit_waits: Counter,
    rate_limit_wait_seconds: FloatCounter,
    breaker_state: Family<BreakerLabel, Gauge>,
    breaker_trips: Family<BreakerLabel, Counter>,
    refused_symbols: Gauge,
}

impl AlpacaFamilies {
    fn register(r: &mut Registry) -> Self {
        let alpaca = Self {
            requests: add(
                r,
                "alpaca_requests",
                "Alpaca requests by HTTP status or error kind",
                Family::default(),
            ),
            retries: add(
                r,
                "alpaca_retries",
                "Alpaca requests that were retries",
                Counter::default(),
            ),
            rate_limit_waits: add(
                r,
                "alpaca_rate_limit_waits",
                "Times an Alpaca call waited for the rate budget or a server hint",
                Counter::default(),
            ),
            rate_limit_wait_seconds: add(
                r,
                "alpaca_rate_limit_wait_seconds",
                "Seconds spent in those waits",
                FloatCounter::default(),
            ),
            breaker_state: add(
                r,
                "alpaca_circuit_breaker_state",
                "Circuit breaker per dependency at the end of the last run: 0 closed, 1 half-open, 2 open",
                Family::default(),
            ),
            breaker_trips: add(
                r,
                "alpaca_circuit_breaker_trips",
                "Times each dependency's circuit breaker opened",
                Family::default(),
            ),
            refused_symbols: add(
                r,
                "alpaca_refused_symbols",
                "Tickers Alpaca refused as invalid in the last published run (never retried: fix the universe)",
                Gauge::default(),
            ),
        };
        let _ = alpaca.requests.get_or_create(&StatusLabel {
            status: "200".into(),
        });
        alpaca
    }
}

/// Telegram updates answered and how fast.
struct BotFamilies {
    updates: Family<CommandLabel, Counter>,
    reply_seconds: Family<CommandLabel, Histogram>,
}

impl BotFamilies {
    fn register(r: &mut Registry) -> Self {
        Self {
            updates: add(
                r,
                "bot_updates",
                "Telegram updates handled by command",
                Family::default(),
            ),
            reply_seconds: add(
                r,
                "bot_reply_seconds",
                "Update-to-reply latency by command",
                Family::new_with_constructor(|| {
                    Histogram::new(exponential_buckets(0.0005, 2.0, 14))
                }),
            ),
        }
    }
}

/// The business gauges the original system pushed to CloudWatch: the
/// latest screen and portfolio snapshot.
struct LatestGauges {
    last_success: FloatGauge,
    worst_drawdown: FloatGauge,
    names_below_20: Gauge,
    ranked: Gauge,
    equity: FloatGauge,
    top_avg_return: FloatGauge,
    take_profit: Gauge,
}

impl LatestGauges {
    fn register(r: &mut Registry) -> Self {
        Self {
            last_success: add(
                r,
                "last_success_timestamp_seconds",
                "Unix time of the last published run",
                FloatGauge::default(),
            ),
            worst_drawdown: add(
                r,
                "worst_drawdown_pct",
                "Deepest drawdown of the latest screen, percent",
                FloatGauge::default(),
            ),
            names_below_20: add(
                r,
                "names_below_minus_20pct",
                "Ranked names down 20% or more in the latest screen",
                Gauge::default(),
            ),
            ranked: add(
                r,
                "ranked_names",
                "Names ranked in the latest screen",
                Gauge::default(),
            ),
            equity: add(
                r,
                "portfolio_equity",
                "Account equity of the latest snapshot",
                FloatGauge::default(),
            ),
            top_avg_return: add(
                r,
                "top_positions_avg_return_pct",
                "Average return of the best positions (profit rule), percent",
                FloatGauge::default(),
            ),
            take_profit: add(
                r,
                "take_profit_signal",
                "1 when the profit-taking rule is met",
                Gauge::default(),
            ),
        }
    }
}

impl std::fmt::Debug for Metrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Metrics")
    }
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

impl Metrics {
    /// Register every family under the `dipwatch_` prefix.
    pub fn new() -> Self {
        let mut registry = Registry::default();
        // The standard process gauges keep their usual unprefixed names.
        let resident_memory = add(
            &mut registry,
            "process_resident_memory_bytes",
            "Resident memory size in bytes",
            Gauge::default(),
        );
        let open_fds = add(
            &mut registry,
            "process_open_fds",
            "Number of open file descriptors",
            Gauge::default(),
        );
        let r = registry.sub_registry_with_prefix("dipwatch");
        let process = ProcessGauges {
            resident_memory,
            open_fds,
            alive_tasks: add(
                r,
                "tokio_alive_tasks",
                "Tasks alive in the runtime (a leak shows as growth)",
                Gauge::default(),
            ),
        };
        let runs = RunFamilies::register(r);
        let alpaca = AlpacaFamilies::register(r);
        let bot = BotFamilies::register(r);
        let latest = LatestGauges::register(r);
        let lease_role = add(
            r,
            "lease_role",
            "1 on this process's role: primary (holds the store's writer lease and writes) or standby",
            Family::<RoleLabel, Gauge>::default(),
        );
        let web_sign_ins: Family<SignInLabel, Counter> = add(
            r,
            "web_sign_ins",
            "Dashboard sign-in attempts by method (link, miniapp) and outcome (ok, refused, rate_limited)",
            Family::default(),
        );
        for method in SIGN_IN_METHODS {
            for outcome in SIGN_IN_OUTCOMES {
                let _ = web_sign_ins.get_or_create(&SignInLabel { method, outcome });
            }
        }
        let journal_audit_failures = add(
            r,
            "journal_audit_failures",
            "Audit events (trigger, alert edits, reloads, sign-ins) the journal could not write",
            Counter::default(),
        );
        Self {
            registry,
            process,
            runs,
            alpaca,
            bot,
            latest,
            lease_role,
            web_sign_ins,
            journal_audit_failures,
        }
    }

    /// Read the process gauges (Linux `/proc`; left at zero elsewhere).
    fn refresh_process(&self) {
        if let Ok(status) = std::fs::read_to_string("/proc/self/status")
            && let Some(kb) = status
                .lines()
                .find_map(|l| l.strip_prefix("VmRSS:"))
                .and_then(|v| v.split_whitespace().next())
                .and_then(|v| v.parse::<i64>().ok())
        {
            self.process.resident_memory.set(kb * 1024);
        }
        if let Ok(fds) = std::fs::read_dir("/proc/self/fd") {
            self.process.open_fds.set(fds.count() as i64);
        }
        if let Ok(handle) = tokio::runtime::Handle::try_current() {
            self.process
                .alive_tasks
                .set(handle.metrics().num_alive_tasks() as i64);
        }
    }

    /// The text exposition format.
    pub fn encode(&self) -> String {
        self.refresh_process();
        let mut out = String::new();
        if let Err(e) = prometheus_client::encoding::text::encode(&mut out, &self.registry) {
            tracing::error!(error = %e, "metrics encoding failed");
        }
        out
    }

    /// The classic Prometheus text format (`text/plain; version=0.0.4`),
    /// for scrapers that do not ask for OpenMetrics (promtool, curl, older
    /// agents): the same samples, counter HELP/TYPE lines named with their
    /// `_total` suffix as that format wants, and no `# EOF`.
    pub fn encode_classic(&self) -> String {
        let open = self.encode();
        let counters: std::collections::HashSet<&str> = open
            .lines()
            .filter_map(|l| l.strip_prefix("# TYPE "))
            .filter_map(|l| l.strip_suffix(" counter"))
            .collect();
        let mut out = String::with_capacity(open.len() + 64);
        for line in open.lines() {
            if line == "# EOF" {
                continue;
            }
            let renamed = ["# HELP ", "# TYPE "].iter().find_map(|p| {
                let rest = line.strip_prefix(p)?;
                let (name, tail) = rest.split_once(' ')?;
                counters
                    .contains(name)
                    .then(|| format!("{p}{name}_total {tail}"))
            });
            out.push_str(renamed.as_deref().unwrap_or(line));
            out.push('\n');
        }
        out
    }

    /// A run ended.
    pub fn record_run(&self, outcome: &LastOutcome, duration: Duration) {
        let label = OutcomeLabel {
            outcome: outcome.label(),
        };
        self.runs.count.get_or_create(&label).inc();
        self.runs
            .duration
            .get_or_create(&label)
            .observe(duration.as_secs_f64());
        if let LastOutcome::Published {
            ranked,
            skipped,
            failed,
            ..
        } = outcome
        {
            self.set_symbols([*ranked, *skipped, *failed]);
            let now = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_secs_f64())
                .unwrap_or(0.0);
            self.latest.last_success.set(now);
        }
    }

    /// `dipwatch_symbols{state}` in [`SYMBOL_STATES`] order.
    fn set_symbols(&self, counts: [usize; 3]) {
        for (state, n) in SYMBOL_STATES.into_iter().zip(counts) {
            self.runs
                .symbols
                .get_or_create(&StateLabel { state })
                .set(n as i64);
        }
    }

    /// This process's role under the writer lease (`dipwatch_lease_role`).
    pub fn set_role(&self, role: crate::lease::Role) {
        for r in [crate::lease::Role::Primary, crate::lease::Role::Standby] {
            self.lease_role
                .get_or_create(&RoleLabel { role: r.as_str() })
                .set(i64::from(r == role));
        }
    }

    /// Give each of the provider client's circuit breakers its series now
    /// (closed, no trips), so a scraper sees them before the first run.
    pub fn declare_breakers<'a>(&self, names: impl IntoIterator<Item = &'a String>) {
        for name in names {
            let label = BreakerLabel {
                breaker: name.clone(),
            };
            let _ = self.alpaca.breaker_state.get_or_create(&label);
            let _ = self.alpaca.breaker_trips.get_or_create(&label);
        }
    }

    /// Alpaca figures of one run (a delta).
    pub fn record_requests(&self, r: &RequestStats) {
        for (status, n) in &r.by_status {
            self.alpaca
                .requests
                .get_or_create(&StatusLabel {
                    status: status.clone(),
                })
                .inc_by(*n);
        }
        self.alpaca.retries.inc_by(r.retries);
        self.alpaca.rate_limit_waits.inc_by(r.rate_limit_waits);
        self.alpaca
            .rate_limit_wait_seconds
            .inc_by(r.rate_limit_wait_secs);
        for (name, b) in &r.breakers {
            let label = BreakerLabel {
                breaker: name.clone(),
            };
            self.alpaca
                .breaker_trips
                .get_or_create(&label)
                .inc_by(b.trips);
            let state = match b.state.as_str() {
                "open" => 2,
                "half_open" => 1,
                _ => 0,
            };
            self.alpaca.breaker_state.get_or_create(&label).set(state);
        }
    }

    /// The business gauges, from a fresh snapshot.
    pub fn record_snapshot(&self, s: &Snapshot) {
        if let Some(screen) = &s.screen {
            // After a restart, the last success is when the stored screen
            // was published, not "never": a staleness alert must not fire
            // just because the daemon restarted.
            let published = screen.report.finished_at.timestamp_millis() as f64 / 1e3;
            if published > self.latest.last_success.get() {
                self.latest.last_success.set(published);
            }
            // The stored run's symbol counts stand until the next run.
            let counts = &screen.report.symbols;
            self.set_symbols([counts.ok, counts.skipped, counts.failed]);
            self.alpaca
                .refused_symbols
                .set(screen.report.refused.len() as i64);
            self.latest
                .worst_drawdown
                .set(screen.rows.first().map_or(0.0, |r| r.drawdown_pct));
            self.latest
                .names_below_20
                .set(screen.count_below(-20.0) as i64);
            self.latest.ranked.set(screen.rows.len() as i64);
        }
        if let Some(p) = &s.portfolio {
            use rust_decimal::prelude::ToPrimitive;
            // An equity the broker did not send is unknown (NaN), not zero.
            self.latest.equity.set(
                p.account
                    .equity
                    .and_then(|e| e.to_f64())
                    .unwrap_or(f64::NAN),
            );
            self.latest.top_avg_return.set(
                p.profit
                    .average_return_pct
                    .and_then(|d| d.to_f64())
                    .unwrap_or(0.0),
            );
            self.latest.take_profit.set(i64::from(p.profit.take_profit));
        }
    }

    /// A dashboard sign-in attempt: `method` one of [`SIGN_IN_METHODS`],
    /// `outcome` one of [`SIGN_IN_OUTCOMES`] (fixed names; never a chat or
    /// an address).
    pub fn web_sign_in(&self, method: &'static str, outcome: &'static str) {
        self.web_sign_ins
            .get_or_create(&SignInLabel { method, outcome })
            .inc();
    }

    /// The counter of audit events the journal could not write, for
    /// [`crate::journal::Journal::counting`].
    pub fn journal_audit_failures(&self) -> Counter {
        self.journal_audit_failures.clone()
    }

    /// A bot update was answered (`command` is a fixed name, never user text).
    pub fn bot_update(&self, command: &'static str, elapsed: Duration) {
        let label = CommandLabel { command };
        self.bot.updates.get_or_create(&label).inc();
        self.bot
            .reply_seconds
            .get_or_create(&label)
            .observe(elapsed.as_secs_f64());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classic_format_names_counters_with_total_and_has_no_eof() {
        let m = Metrics::new();
        m.record_run(
            &LastOutcome::Published {
                date: "2026-11-24".parse().unwrap(),
                ranked: 900,
                skipped: 3,
                failed: 0,
            },
            Duration::from_millis(150),
        );
        m.bot_update("screen", Duration::from_millis(3));
        let open = m.encode();
        assert!(open.contains("# TYPE dipwatch_runs counter"));
        assert!(open.trim_end().ends_with("# EOF"));
        let classic = m.encode_classic();
        assert!(classic.contains("# TYPE dipwatch_runs_total counter\n"));
        assert!(classic.contains("# HELP dipwatch_runs_total Collection runs by outcome."));
        assert!(classic.contains("dipwatch_runs_total{outcome=\"published\"} 1\n"));
        assert!(classic.contains("dipwatch_symbols{state=\"ok\"} 900"));
        assert!(classic.contains("dipwatch_bot_reply_seconds_count{command=\"screen\"} 1"));
        assert!(!classic.contains("# EOF"));
    }

    #[test]
    fn each_breaker_is_a_series_named_after_its_dependency() {
        use crate::domain::BreakerStats;
        let m = Metrics::new();
        m.declare_breakers(&["trading.clock".to_string()]);
        let classic = m.encode_classic();
        assert!(
            classic
                .contains("dipwatch_alpaca_circuit_breaker_state{breaker=\"trading.clock\"} 0\n"),
            "a declared breaker has its series before any run: {classic}"
        );
        let stats = |state: &str, trips| BreakerStats {
            state: state.into(),
            trips,
        };
        let run = RequestStats {
            breaker_trips: 1,
            breakers: [
                ("trading.account".to_string(), stats("open", 1)),
                ("trading.positions".to_string(), stats("closed", 0)),
                ("data.bars".to_string(), stats("half_open", 0)),
            ]
            .into(),
            ..RequestStats::default()
        };
        m.record_requests(&run);
        m.record_requests(&run);
        let classic = m.encode_classic();
        for line in [
            "dipwatch_alpaca_circuit_breaker_state{breaker=\"trading.account\"} 2\n",
            "dipwatch_alpaca_circuit_breaker_state{breaker=\"trading.positions\"} 0\n",
            "dipwatch_alpaca_circuit_breaker_state{breaker=\"data.bars\"} 1\n",
            "dipwatch_alpaca_circuit_breaker_trips_total{breaker=\"trading.account\"} 2\n",
            "dipwatch_alpaca_circuit_breaker_trips_total{breaker=\"data.bars\"} 0\n",
        ] {
            assert!(classic.contains(line), "{line} missing:\n{classic}");
        }
    }
}
