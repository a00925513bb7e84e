//! # dipwatch
//!
//! A self-hosted stock drawdown screener. One process collects daily bars
//! for a universe of stocks, ranks them by how far each has fallen from its
//! recent peak, snapshots a brokerage portfolio against a profit-taking
//! rule, and keeps everything as CSV in a data lake on local disk or S3.
//!
//! ## Layout
//!
//! Data flows one way: a [`market`] provider feeds a [`collect`] run, which
//! validates the bars, hands them to the pure [`screen`] engine, and
//! publishes the results through the [`store`]. The daemon then loads what
//! was published, through the [`store::Lake`] read API, into the in-memory
//! [`state`] (with `history.memory_days` of bars as columns), which the Telegram [`bot`],
//! the [`alerts`] and the operations server (`ops_server`) read; none of them calls the
//! market-data API or reads the store on its hot path.
//!
//! - [`domain`] holds the plain data types (tickers, bars, drawdown rows,
//!   positions and the profit rule, the account, run reports, and how a
//!   run of this process started and ended: [`domain::RunSource`],
//!   [`domain::LastRun`]). External input becomes these types at the edge,
//!   where bad records are rejected with a reason.
//! - [`config`] layers `config/default.toml` (compiled in), an optional
//!   `--config` file and `DIPWATCH__SECTION__KEY` environment variables,
//!   parses every value once, and loads secrets from the environment, files
//!   or systemd credentials as `secrecy` values that never print.
//! - [`market`] is provider-neutral: the [`market::MarketData`] and
//!   [`market::Broker`] traits with their types and errors (no provider's
//!   type in them), the built-in NYSE trading calendar, the provider's
//!   calendar as the schedule and the alert digests ask it
//!   ([`market::session_calendar`]), and the deterministic simulated
//!   market used by the demo and the tests.
//! - [`alpaca`] is everything Alpaca: the one HTTP client (rate budget,
//!   retries, circuit breaker, counters), the endpoints as thin callers of
//!   it (bars; calendar, clock, account, positions), and the
//!   `MarketData` and `Broker` implementations. It depends on [`market`],
//!   never the other way.
//! - [`provider`] builds the market and broker `market.provider` names
//!   (the simulated market or Alpaca).
//! - [`screen`] is the drawdown engine: a pure function from bars to ranked
//!   rows, following the definition in the design notes exactly.
//! - [`collect`] is one collection run, one file a step: the dates to
//!   publish, the retry queue, fetch and validation, the account snapshot,
//!   the screen of a date, the report, the publication. Its pure core,
//!   [`collect::screen_date()`], screens and reports one date from bars
//!   (what a backtest calls per date). A symbol with bad data is skipped
//!   with its reason; a failed market-data phase publishes nothing.
//! - [`store`] is the `object_store`-backed data lake: Hive-style date
//!   partitions, deterministic CSV encoding, and a per-date run manifest
//!   written last, whose checksums let readers detect and skip anything
//!   truncated, corrupted or half-written. Its [`store::Lake`] is the one
//!   read API: dates, manifests, screens, portfolio snapshots, the bar
//!   history and download parts, read concurrently (bounded), verified and
//!   decoded.
//! - [`query`]'s [`query::PriceHistory`] holds daily bars as columns
//!   (dates x symbols) for charts, backtests and risk.
//! - [`web`] is the dashboard on its own listener (`web.listen`): pages
//!   rendered on the server from the in-memory state, signed in through the
//!   bot ([`access::tokens`]: one-time links, sessions with CSRF tokens, Mini App
//!   `initData`), the role checked against the allow-lists per request.
//! - [`risk`] is the portfolio risk view: weights, volatility, beta,
//!   correlations and clusters of the positions, candidates sized by
//!   inverse volatility, the strategy's exits; a pure analysis over what
//!   [`store::Lake`] reads.
//! - [`backtest`] replays them over a
//!   [`query::PriceHistory`], ranking with the screen's own definition
//!   ([`screen::DrawdownColumns`]), and computes the standard metrics
//!   against a benchmark (`dipwatch backtest`).
//! - [`retry_queue`] is the dead-letter queue of symbols whose fetch
//!   failed, retried by later runs and given up after a bounded number of
//!   tries.
//! - [`runner`] makes runs single-flight (schedule, catch-up and `/trigger`
//!   share one slot), reloads the [`state`] after each one and records
//!   [`metrics`]; [`schedule`] computes fire times in exchange time (pure
//!   `next_fire`, DST-safe), skips closed days, catches up after downtime
//!   and retries a day whose data is not yet available.
//! - `ops_server` serves `/healthz`, `/readyz` and `/metrics` (the
//!   Prometheus families of [`metrics`]) on `http.listen`; `http` is the
//!   plumbing it shares with the dashboard (connection cap, timeouts,
//!   bounded bodies, host names).
//! - [`access`] holds who may read and who may act (`Role`, the
//!   allow-lists as one shared `Access` that SIGHUP replaces): below the bot,
//!   the dashboard, the alerts and the configuration, which all read it.
//! - [`bot`] is the teloxide bot: a dptree handler tree,
//!   replies from pure formatting functions, its own update loop and
//!   send limiter; [`panics`] counts panics caught on shared paths.
//! - [`chart`] draws each figure (a symbol's price with its window, peak
//!   and drawdown; drawdown and rank history; market breadth; equity; the
//!   top drawdowns) from the in-memory history as PNG (the bot's photos)
//!   and SVG (for the web), with a font compiled into the binary; its
//!   [`chart::data`] functions compute what each figure shows.
//! - [`alerts`] is everything about alerts but the bot's commands: rules
//!   and their bounds, the `/alert` parser, the pure evaluation (one
//!   function per rule kind), the stored book (rules, states, outbox), the
//!   outbox, delivery with retries, and [`alerts::AlertService`], the
//!   runtime's handle: opened once by the daemon's assembly (defaults
//!   given, the stored screen as baseline), spawned there, reached by the
//!   bot (and any other front end) to add, list and delete rules.
//! - [`app`] assembles the daemon from the configuration in one place
//!   ([`app::App::build`]): `dipwatch run`, the integration tests and the
//!   benchmarks all start the same wiring, and front ends are handed its
//!   parts (the runner and state, the alert runtime).
//! - [`strategy`] holds the contrarian strategy's rules (entries, a
//!   position's exits, the portfolio rule) as pure functions, one
//!   definition for the backtester and the risk view.
//! - [`cli`] has one file per command (`run`, `collect`, `screen`, `export`,
//!   `check-config`, `backtest`, `portfolio`, `order`, `orders`, `trading`);
//!   [`numbers`] and [`telemetry`] are the shared number formatting and
//!   logging setup.

// The crate map: one line per module, from the data types up to the front
// ends. `pub` modules are what the binary (`cli::main`), the integration
// tests and the benchmarks use; `pub(crate)` ones nothing outside needs.

// Plain data and shared helpers, below everything else.
pub(crate) mod cidr; // address ranges (web.trusted_proxies)
pub mod domain; // tickers, bars, drawdown rows, positions, run reports
pub(crate) mod echo; // user input echoed in replies: clipped and quoted
pub(crate) mod health; // readiness probes other parts register for /readyz
pub mod numbers; // the one number formatting family (pct, usd, qty, prices)
pub(crate) mod panics; // panics caught on shared paths, counted for /readyz
pub mod telemetry; // the tracing subscriber

// Configuration and who may use dipwatch.
pub mod access; // roles, allow-lists, sign-in tokens, WebAuth
pub(crate) mod alert_rules; // what an alert rule is, and the /alert grammar
pub mod config; // layered settings parsed once; secrets

// Market data and the pure cores.
pub mod alpaca; // everything Alpaca: the one client, endpoints, implementations
pub mod backtest; // the backtester
pub mod chart; // figures as PNG and SVG
pub mod market; // provider-neutral traits, calendars, the simulated market
pub mod provider; // market.provider -> the market and broker
pub mod risk; // the portfolio risk view
pub mod screen; // the drawdown engine
pub(crate) mod screen_history; // breadth and a symbol's history per screen
pub mod strategy; // the contrarian strategy's rules
#[cfg(test)]
pub(crate) mod test_support; // d(), sym(), weekdays(), report(): unit-test fixtures

// The lake.
pub mod lease; // one writer per store: the lease object, its fence
pub mod query; // PriceHistory: daily bars as columns, pure
pub mod store; // the lake: layout, codec, publish, and Lake, the one read API

// Runs and the daemon's state.
pub mod alerts; // the alert runtime: evaluation, book, outbox, delivery
pub mod collect; // one collection run, a file per step
pub mod metrics; // Prometheus families
pub mod retry_queue; // symbols whose fetch failed, retried by later runs
pub mod runner; // single-flight runs, reload, metrics
pub mod schedule; // fire times, catch-up, retries
pub mod state; // the in-memory Snapshot the readers share
pub mod trigger; // manual runs: cooldown and single flight

// Acting on a signal.
pub mod journal; // the audit journal: orders and every command that changes something
pub mod trading; // orders with safeguards: preview, confirm, follow, halt

// Front ends and their servers.
pub mod app; // the daemon assembled in one place
pub mod bot; // the Telegram bot
pub mod cli; // one file per command; main
pub(crate) mod http; // the plumbing both listeners share (serve_router, guarded)
pub(crate) mod ops_server; // /healthz, /readyz, /metrics on http.listen
pub mod web; // the dashboard on web.listen

// What the binary, the tests and the benchmarks name most.
pub use app::App;
pub use config::AppConfig;
pub use domain::Symbol;
pub use state::Snapshot;
