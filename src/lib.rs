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
//! was published into the in-memory [`state`], which the Telegram [`bot`],
//! the [`alerts`] and the [`http`] endpoints read; none of them calls the
//! market-data API or reads the store on its hot path.
//!
//! - [`domain`] holds the plain data types (tickers, bars, drawdown rows,
//!   positions, the account, run reports). External input becomes these
//!   types at the edge, where bad records are rejected with a reason.
//! - [`config`] layers `config/default.toml` (compiled in), an optional
//!   `--config` file and `DIPWATCH__SECTION__KEY` environment variables,
//!   parses every value once, and loads secrets from the environment, files
//!   or systemd credentials as `secrecy` values that never print.
//! - [`market`] defines the [`market::MarketData`] and [`market::Broker`]
//!   traits, the NYSE trading calendar, and the deterministic simulated
//!   market used by the demo and the tests.
//! - [`alpaca`] is the one Alpaca HTTP client (rate budget, retries,
//!   circuit breaker, counters); [`market::alpaca`] (bars) and [`broker`]
//!   (account, positions, calendar, clock) are thin callers of it.
//! - [`screen`] is the drawdown engine: a pure function from bars to ranked
//!   rows, following the definition in the design notes exactly.
//! - [`collect`] is one collection run: calendar, fetch, validate, screen,
//!   publish, report. A symbol with bad data is skipped with its reason; a
//!   failed market-data phase publishes nothing.
//! - [`store`] is the `object_store`-backed data lake: Hive-style date
//!   partitions, deterministic CSV encoding, and a per-date run manifest
//!   written last, whose checksums let readers detect and skip anything
//!   truncated, corrupted or half-written.
//! - [`query`] is the read path over what was published: dates, and
//!   objects read concurrently (bounded), verified and decoded; its
//!   [`query::PriceHistory`] holds daily bars as columns (dates x symbols)
//!   for charts, backtests and risk.
//! - [`risk`] is the portfolio risk view: weights, volatility, beta,
//!   correlations and clusters of the positions, candidates sized by
//!   inverse volatility, the strategy's exits; a pure analysis over what
//!   [`query`] reads.
//! - [`retry`] is the dead-letter queue of symbols whose fetch failed,
//!   retried by later runs and given up after a bounded number of tries.
//! - [`runner`] makes runs single-flight (schedule, catch-up and `/trigger`
//!   share one slot), reloads the [`state`] after each one and records
//!   [`metrics`]; [`schedule`] computes fire times in exchange time (pure
//!   `next_fire`, DST-safe), skips closed days, catches up after downtime
//!   and retries a day whose data is not yet available.
//! - [`http`] serves `/healthz`, `/readyz` and `/metrics` (the Prometheus
//!   families of [`metrics`]).
//! - [`bot`] is the teloxide bot: a dptree handler tree, access control,
//!   replies from pure formatting functions, its own update loop and
//!   send limiter; [`panics`] counts panics caught on shared paths.
//! - [`alerts`] holds the alert rules and their pure evaluation;
//!   [`notify`] is their runtime: one stored document for rules, states and
//!   the outbox, evaluation on each new screen, delivery with retries.
//! - [`cli`] has one file per command (`run`, `collect`, `screen`, `export`,
//!   `portfolio`, `check-config`); [`numbers`] and [`telemetry`] are the shared number
//!   formatting and logging setup.

pub mod alerts;
pub mod alpaca;
pub mod bot;
pub mod broker;
pub mod cli;
pub mod collect;
pub mod config;
pub mod domain;
pub mod echo;
pub mod health;
pub mod http;
pub mod market;
pub mod metrics;
pub mod notify;
pub mod numbers;
pub mod panics;
pub mod query;
pub mod retry;
pub mod risk;
pub mod runner;
pub mod schedule;
pub mod screen;
pub mod state;
pub mod store;
pub mod strategy;
pub mod telemetry;
