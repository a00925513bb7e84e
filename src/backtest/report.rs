//! A backtest's result as stored and printed: the summary document
//! (`summary.json`), the equity and trades CSVs, and the table. Pure: the
//! command reads and writes them.

use std::fmt::Write as _;

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

use super::engine::{OpenPosition, Params, Trade};
use super::metrics::{Metrics, MonthlyReturn};
use crate::numbers::{price, signed_pct};
use crate::screen::ScreenParams;
use crate::strategy::Fill;

/// The survivorship note every output carries.
pub const SURVIVORSHIP: &str = "universe: today's list; names that left the index or were delisted before today are missing, so results are biased upward (survivorship)";
/// The note of `fill = close`.
pub const OPTIMISTIC: &str = "fills at the decision close: OPTIMISTIC (a close is only known once it can no longer be traded at); next_open is the honest default";
/// The note of simulated data.
pub const SIMULATED: &str = "SIMULATED PRICES (market.provider = \"sim\"), not market data";

/// Every parameter a run was computed with, as `summary.json` stores it
/// under `parameters` (the same document the first versions wrote, now
/// typed: readers ask `parameters.strategy.fill`, not a string path).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Parameters {
    /// The strategy's.
    pub strategy: Params,
    /// The ranking's (`[screen]`).
    pub screen: ScreenParams,
    /// `backtest.benchmark`: a ticker or `universe`.
    pub benchmark: String,
    /// The yearly risk-free rate of Sharpe and Sortino, percent.
    pub risk_free_rate_pct: f64,
    /// First session simulated.
    pub from: NaiveDate,
    /// Last session simulated.
    pub to: NaiveDate,
}

impl Parameters {
    /// Whether the run filled at the decision close (optimistic, labelled).
    pub fn optimistic(&self) -> bool {
        self.strategy.fill == Fill::Close
    }
}

/// What data a backtest was computed from.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DataUsed {
    /// First session simulated.
    pub from: NaiveDate,
    /// Last session simulated.
    pub to: NaiveDate,
    /// Sessions simulated.
    pub sessions: usize,
    /// First session loaded (ranking warm-up starts here).
    pub loaded_from: NaiveDate,
    /// Symbols with bars in the loaded history.
    pub symbols: usize,
    /// Whether any loaded date was simulated.
    pub simulated: bool,
    /// Sessions simulated, from the first, whose ranking window is
    /// shorter than `[screen] lookback_days` (the lake starts too late).
    #[serde(default)]
    pub short_window_sessions: usize,
    /// SHA-256 over every loaded date's bars checksum (from the manifests).
    pub fingerprint: String,
    /// Dates passed over as unreadable, with the reason.
    pub skipped_dates: Vec<String>,
}

/// A strategy's and its benchmark's figures side by side.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Side<T> {
    /// The strategy's.
    pub strategy: T,
    /// The benchmark's.
    pub benchmark: T,
}

/// `summary.json`: everything but the daily curve and the trades.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Summary {
    /// Content address: the parameters and the data fingerprint hashed.
    pub id: String,
    /// Every parameter (strategy, screen, benchmark, risk-free rate).
    pub parameters: Parameters,
    /// The data used.
    pub data: DataUsed,
    /// What the benchmark is.
    pub benchmark: String,
    /// The honesty notes (period, survivorship, optimism, simulation,
    /// shortened ranking windows).
    pub notes: Vec<String>,
    /// What the simulation leaves out (see [`limitations`]).
    #[serde(default)]
    pub leaves_out: Vec<String>,
    /// The figures.
    pub metrics: Side<Metrics>,
    /// Monthly returns.
    pub monthly: Side<Vec<MonthlyReturn>>,
    /// Positions open at the end.
    pub open_positions: usize,
    /// Those positions, valued at their last close.
    #[serde(default)]
    pub open: Vec<OpenPosition>,
    /// Warnings (names taken as delisted).
    pub warnings: Vec<String>,
}

/// One row of `equity.csv`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EquityRow {
    /// Session.
    pub date: NaiveDate,
    /// The strategy's equity at the close.
    pub equity: f64,
    /// The benchmark's.
    pub benchmark: f64,
}

/// The honesty notes of a run.
pub fn notes(data: &DataUsed, close_fills: bool) -> Vec<String> {
    let mut out = vec![
        format!(
            "period: {} to {} ({} sessions; ranking warm-up from {})",
            data.from, data.to, data.sessions, data.loaded_from
        ),
        SURVIVORSHIP.to_string(),
    ];
    if data.short_window_sessions > 0 {
        out.push(format!(
            "shortened windows: the first {} session(s) simulated rank on fewer than [screen] lookback_days sessions (the lake starts {}): peaks there are of a shorter span",
            data.short_window_sessions, data.loaded_from
        ));
    }
    if close_fills {
        out.push(OPTIMISTIC.to_string());
    }
    if data.simulated {
        out.push(SIMULATED.to_string());
    }
    out
}

/// What a backtest leaves out (survivorship is in its notes), as the
/// table, the JSON and the dashboard say it, from the settings it ran with: `adjustment` and `feed` are
/// `market.adjustment` and `market.feed` (`None` for simulated prices).
pub fn limitations(
    adjustment: Option<&str>,
    feed: Option<&str>,
    slippage_bps: f64,
    commission: f64,
    delist_after: usize,
    delist_haircut_pct: f64,
) -> Vec<String> {
    let dividends = match adjustment {
        Some("all" | "dividend") => format!(
            "dividends: prices adjusted for dividends (market.adjustment = \"{}\"), so they count as reinvested; no withholding tax",
            adjustment.unwrap_or_default()
        ),
        Some(a) => format!(
            "dividends: left out (market.adjustment = \"{a}\"): neither paid nor reinvested, for the strategy and the benchmark alike, so both returns are understated by their yield"
        ),
        None => "dividends: none (simulated prices)".to_string(),
    };
    let open = match feed {
        Some(f) => format!(
            "fills at the open: the first print of the {f:?} feed, which for the free \"iex\" feed is one venue's, not the official opening auction"
        ),
        None => "fills at the open: the simulated open".to_string(),
    };
    vec![
        dividends,
        open,
        format!(
            "costs: a flat {slippage_bps} bps slippage and {commission} commission per fill; no bid-ask spread, no volume cap, no market impact"
        ),
        "fractional shares: every amount is bought exactly, where whole shares would leave cash idle".to_string(),
        format!(
            "delistings: a held name without a bar for {delist_after} sessions in a row is taken as delisted and sold at its last close less {delist_haircut_pct}%; the true recovery is unknown"
        ),
    ]
}

/// The content address of a result: SHA-256 of the parameters and the
/// fingerprint, 16 hex digits. The parameters are hashed as a JSON value
/// (keys sorted), the text the first versions hashed, so a request keeps
/// its id across versions.
pub fn id(parameters: &Parameters, fingerprint: &str) -> String {
    use sha2::{Digest, Sha256};
    let text = serde_json::to_value(parameters).map_or_else(|_| String::new(), |v| v.to_string());
    let mut h = Sha256::new();
    h.update(text.as_bytes());
    h.update(fingerprint.as_bytes());
    let hex: String = h.finalize().iter().map(|b| format!("{b:02x}")).collect();
    hex[..16].to_string()
}

/// The fingerprint of loaded data: SHA-256 over `date sha256` lines.
pub fn fingerprint(checksums: &[(NaiveDate, String)]) -> String {
    use sha2::{Digest, Sha256};
    let mut h = Sha256::new();
    for (d, sha) in checksums {
        h.update(format!("{d} {sha}\n").as_bytes());
    }
    h.finalize().iter().map(|b| format!("{b:02x}")).collect()
}

fn opt(v: Option<f64>, f: impl Fn(f64) -> String) -> String {
    v.map_or("-".into(), f)
}

fn ratio(v: f64) -> String {
    format!("{v:.2}")
}

fn pct(v: f64) -> String {
    signed_pct(v)
}

/// A share (volatility, win rate, exposure): no sign.
fn share(v: f64) -> String {
    format!("{v:.2}%")
}

/// The rows of the compact summary (the bot's): the figures a glance
/// needs, formatted as in [`table`].
pub const KEY_ROWS: &[&str] = &[
    "total return",
    "CAGR",
    "max drawdown",
    "Sharpe",
    "trades",
    "win rate",
];

/// Every figure as `(label, strategy, benchmark)`, formatted (`-` where a
/// figure does not apply or is undefined).
pub fn rows(s: &Summary) -> Vec<(&'static str, String, String)> {
    let (a, b) = (&s.metrics.strategy, &s.metrics.benchmark);
    let date = |d: Option<NaiveDate>| d.map_or("-".to_string(), |d| d.to_string());
    vec![
        (
            "total return",
            pct(a.total_return_pct),
            pct(b.total_return_pct),
        ),
        ("CAGR", opt(a.cagr_pct, pct), opt(b.cagr_pct, pct)),
        (
            "annual volatility",
            opt(a.annual_volatility_pct, share),
            opt(b.annual_volatility_pct, share),
        ),
        ("Sharpe", opt(a.sharpe, ratio), opt(b.sharpe, ratio)),
        ("Sortino", opt(a.sortino, ratio), opt(b.sortino, ratio)),
        (
            "max drawdown",
            pct(a.max_drawdown_pct),
            pct(b.max_drawdown_pct),
        ),
        (
            "  peak",
            date(a.max_drawdown_peak),
            date(b.max_drawdown_peak),
        ),
        (
            "  trough",
            date(a.max_drawdown_trough),
            date(b.max_drawdown_trough),
        ),
        (
            "  recovery",
            a.max_drawdown_recovery
                .map_or("not yet".into(), |d| d.to_string()),
            b.max_drawdown_recovery
                .map_or("not yet".into(), |d| d.to_string()),
        ),
        (
            "longest drawdown",
            format!("{} sessions", a.longest_drawdown_sessions),
            format!("{} sessions", b.longest_drawdown_sessions),
        ),
        ("Calmar", opt(a.calmar, ratio), opt(b.calmar, ratio)),
        (
            "trades",
            a.trades.map_or("-".into(), |t| t.to_string()),
            "-".into(),
        ),
        ("win rate", opt(a.win_rate_pct, share), "-".into()),
        ("profit factor", opt(a.profit_factor, ratio), "-".into()),
        ("payoff ratio", opt(a.payoff_ratio, ratio), "-".into()),
        ("expectancy", opt(a.expectancy, price), "-".into()),
        (
            "avg holding",
            opt(a.avg_holding_sessions, |v| format!("{v:.1} sessions")),
            "-".into(),
        ),
        ("time in market", opt(a.exposure_pct, share), "-".into()),
        (
            "capital deployed",
            opt(a.capital_deployed_pct, share),
            "-".into(),
        ),
        ("turnover / year", opt(a.turnover_pct, share), "-".into()),
        ("best trade", opt(a.best_trade_pct, pct), "-".into()),
        ("worst trade", opt(a.worst_trade_pct, pct), "-".into()),
        ("beta", opt(a.beta, ratio), "-".into()),
        ("alpha / year", opt(a.alpha_pct, pct), "-".into()),
        ("correlation", opt(a.correlation, ratio), "-".into()),
    ]
}

/// The table: notes, the figures side by side, the monthly returns.
pub fn table(s: &Summary) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "Backtest {}", s.id);
    for n in &s.notes {
        let _ = writeln!(out, "  {n}");
    }
    if !s.leaves_out.is_empty() {
        out.push_str("Leaves out:\n");
        for n in &s.leaves_out {
            let _ = writeln!(out, "  - {n}");
        }
    }
    out.push('\n');
    let rows = rows(s);
    let w0 = rows.iter().map(|r| r.0.len()).max().unwrap_or(0);
    let w1 = rows.iter().map(|r| r.1.len()).max().unwrap_or(0).max(8);
    let _ = writeln!(out, "{:w0$}  {:>w1$}  {}", "", "strategy", s.benchmark);
    for (k, x, y) in &rows {
        let _ = writeln!(out, "{k:w0$}  {x:>w1$}  {y}");
    }
    out.push_str("\nmonthly returns (strategy / benchmark)\n");
    for (m, bm) in s.monthly.strategy.iter().zip(&s.monthly.benchmark) {
        let _ = writeln!(
            out,
            "  {}-{:02}  {:>9}  {:>9}",
            m.year,
            m.month,
            pct(m.return_pct),
            pct(bm.return_pct)
        );
    }
    if s.open_positions > 0 {
        let _ = writeln!(
            out,
            "\n{} position(s) still open at the end, valued at their last close",
            s.open_positions
        );
    }
    out
}

/// `equity.csv`.
pub fn equity_csv(rows: &[EquityRow]) -> Result<Vec<u8>, csv::Error> {
    to_csv(rows)
}

/// `trades.csv`.
pub fn trades_csv(trades: &[Trade]) -> Result<Vec<u8>, csv::Error> {
    to_csv(trades)
}

fn to_csv<T: Serialize>(rows: &[T]) -> Result<Vec<u8>, csv::Error> {
    let mut w = csv::Writer::from_writer(Vec::new());
    for r in rows {
        w.serialize(r)?;
    }
    w.into_inner().map_err(|e| e.into_error().into())
}

/// Read back a CSV written by [`equity_csv`] or [`trades_csv`].
pub fn from_csv<T: serde::de::DeserializeOwned>(bytes: &[u8]) -> Result<Vec<T>, csv::Error> {
    csv::Reader::from_reader(bytes).deserialize().collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::screen::PeakBasis;
    use crate::strategy::{ExitRules, PortfolioRule, Rebalance, Sizing};

    fn parameters() -> Parameters {
        Parameters {
            strategy: Params {
                rebalance: Rebalance::Weekly,
                entry_pct: -30.0,
                max_positions: 10,
                sizing: Sizing::InverseVol,
                exits: ExitRules {
                    take_profit_pct: Some(100.0),
                    stop_loss_pct: None,
                    max_hold: Some(120),
                },
                portfolio_rule: Some(PortfolioRule {
                    top: 3,
                    target_pct: 15.0,
                }),
                fill: Fill::Close,
                commission: 1.0,
                slippage_bps: 5.0,
                initial_capital: 100_000.0,
                delist_after: 5,
                delist_haircut_pct: 50.0,
            },
            screen: ScreenParams {
                lookback_days: 180,
                min_history: 30,
                peak_basis: PeakBasis::High,
            },
            benchmark: "SPY".into(),
            risk_free_rate_pct: 2.5,
            from: NaiveDate::from_ymd_opt(2026, 1, 5).unwrap(),
            to: NaiveDate::from_ymd_opt(2026, 11, 20).unwrap(),
        }
    }

    /// The document the previous version built by hand (`json!`), and
    /// hashed for the id.
    fn as_previously_written(p: &Parameters) -> serde_json::Value {
        serde_json::json!({
            "strategy": p.strategy,
            "screen": {
                "lookback_days": p.screen.lookback_days,
                "min_history": p.screen.min_history,
                "peak_basis": p.screen.peak_basis,
            },
            "benchmark": p.benchmark,
            "risk_free_rate_pct": p.risk_free_rate_pct,
            "from": p.from,
            "to": p.to,
        })
    }

    #[test]
    fn typed_parameters_are_the_stored_document_and_keep_the_id() {
        let p = parameters();
        let old = as_previously_written(&p);
        assert_eq!(serde_json::to_value(&p).unwrap(), old);
        // The id hashes the same text as before: the same request on the
        // same data keeps its stored run's id.
        use sha2::{Digest, Sha256};
        let mut h = Sha256::new();
        h.update(old.to_string().as_bytes());
        h.update(b"fp");
        let hex: String = h.finalize().iter().map(|b| format!("{b:02x}")).collect();
        assert_eq!(id(&p, "fp"), hex[..16]);
        // A stored document reads back as the same parameters.
        let read: Parameters = serde_json::from_value(old).unwrap();
        assert_eq!(read, p);
        assert!(read.optimistic(), "close fills are the optimistic ones");
    }

    #[test]
    fn runs_stored_before_the_delisting_settings_still_read() {
        let mut old = as_previously_written(&parameters());
        let strategy = old["strategy"].as_object_mut().unwrap();
        strategy.remove("delist_after");
        strategy.remove("delist_haircut_pct");
        strategy.insert("fill".into(), "next_open".into());
        let read: Parameters = serde_json::from_value(old).unwrap();
        assert_eq!(
            (read.strategy.delist_after, read.strategy.delist_haircut_pct),
            (1, 0.0)
        );
        assert!(!read.optimistic());
    }
}
