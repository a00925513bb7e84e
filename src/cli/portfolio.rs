//! `dipwatch portfolio`: the risk of the latest positions snapshot and what
//! to do next (suggestions only: it places no order).

use std::fmt::Write as _;
use std::process::ExitCode;

use anyhow::bail;

use super::open_store_to_read;
use super::table::table;
use crate::config::AppConfig;
use crate::numbers::{price, share_pct, signed_pct};
use crate::risk::{RiskParams, RiskReport, analyze, load_data};

/// Output formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// Aligned tables for people.
    Table,
    /// One JSON document (`weights`, `volatility`, `correlation`,
    /// `clusters`, `suggestions`, `exits`, ...).
    Json,
}

/// `portfolio` options.
#[derive(Debug, clap::Args)]
pub struct PortfolioArgs {
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Table)]
    pub format: Format,
}

/// Print the analysis.
pub async fn run(config: &AppConfig, args: &PortfolioArgs) -> anyhow::Result<ExitCode> {
    let store = open_store_to_read(config).await?;
    let params = RiskParams::new(
        &config.risk,
        &config.backtest,
        &config.portfolio,
        &config.universe,
    );
    let lake = crate::store::Lake::new(store.clone()).session();
    let Some(data) = load_data(&lake, &params, None).await? else {
        bail!(
            "no positions snapshot in the last {} published sessions of {}: \
             `dipwatch collect` stores one when the trading API answers",
            params.window_returns() + 1,
            store.url()
        )
    };
    for w in &data.warnings {
        eprintln!("warning: {w}");
    }
    let report = analyze(&data.input(), &params);
    let out = match args.format {
        Format::Table => render_table(&report),
        Format::Json => {
            let mut s = serde_json::to_string_pretty(&report)?;
            s.push('\n');
            s
        }
    };
    print!("{out}");
    Ok(ExitCode::SUCCESS)
}

fn opt(x: Option<f64>, f: impl Fn(f64) -> String) -> String {
    x.filter(|v| v.is_finite()).map_or_else(|| "-".into(), f)
}

/// The report as aligned tables, section by section, with the
/// simulated-data marker when it applies.
pub fn render_table(r: &RiskReport) -> String {
    let mut out = String::new();
    let _ = write!(out, "Portfolio risk, snapshot {}", r.date);
    if let Some(d) = r.prices_through {
        let _ = write!(out, " (prices through {d})");
    }
    if r.simulated {
        out.push_str("  [SIMULATED PRICES, not market data]");
    }
    out.push('\n');
    let _ = writeln!(
        out,
        "Equity {} · cash {} · benchmark {} · correlations over {} sessions · suggestions only, no orders",
        price(r.equity),
        opt(r.cash, price),
        r.benchmark,
        r.lookback
    );
    if r.is_empty() {
        let _ = writeln!(
            out,
            "\nNo open positions in the snapshot of {}: nothing to measure.",
            r.date
        );
    } else {
        positions_section(&mut out, r);
        correlation_section(&mut out, r);
    }
    suggestions_section(&mut out, r);
    exits_section(&mut out, r);
    if let Some(e) = &r.equity_vs_benchmark {
        let _ = writeln!(
            out,
            "\nEquity against {}, {} to {} ({} snapshots)",
            r.benchmark, e.from, e.to, e.points
        );
        let mut rows = vec![vec![
            "account".to_string(),
            signed_pct(e.equity.return_pct),
            share_pct(e.equity.volatility_pct, 2),
            signed_pct(e.equity.max_drawdown_pct),
        ]];
        if let Some(b) = &e.benchmark {
            rows.push(vec![
                r.benchmark.clone(),
                signed_pct(b.return_pct),
                share_pct(b.volatility_pct, 2),
                signed_pct(b.max_drawdown_pct),
            ]);
        }
        out.push_str(&table(
            &["", "return", "volatility", "max drawdown"],
            &rows,
            &[false, true, true, true],
        ));
    }
    if !r.excluded.is_empty() {
        out.push_str("\nLeft out of the statistics\n");
        let rows: Vec<Vec<String>> = r
            .excluded
            .iter()
            .map(|x| vec![x.symbol.to_string(), x.reason.clone()])
            .collect();
        out.push_str(&table(&["symbol", "why"], &rows, &[]));
    }
    if !r.notes.is_empty() {
        out.push_str("\nNotes\n");
        for n in &r.notes {
            let _ = writeln!(out, "- {n}");
        }
    }
    out
}

/// Each position's weight and risk, the portfolio's, and concentration.
fn positions_section(out: &mut String, r: &RiskReport) {
    out.push_str("\nPositions\n");
    let rows: Vec<Vec<String>> = r
        .weights
        .iter()
        .map(|w| {
            let risk = r
                .volatility
                .iter()
                .find(|v| v.symbol.as_str() == w.symbol.as_str());
            vec![
                w.symbol.to_string(),
                opt(w.market_value, price),
                opt(w.weight_pct, |v| share_pct(v, 2)),
                opt(risk.map(|v| v.volatility_pct), |v| share_pct(v, 2)),
                opt(risk.and_then(|v| v.beta), |b| format!("{b:.2}")),
                opt(risk.map(|v| v.risk_share_pct), |v| share_pct(v, 2)),
            ]
        })
        .collect();
    // Volatility, beta and share of risk are over the correlations' window.
    let vol_header = format!("vol {}d", r.lookback);
    out.push_str(&table(
        &[
            "symbol",
            "value",
            "weight",
            &vol_header,
            "beta",
            "risk share",
        ],
        &rows,
        &[false, true, true, true, true, true],
    ));
    if let Some(p) = &r.portfolio {
        let _ = writeln!(
            out,
            "Portfolio volatility {} · beta {}",
            share_pct(p.volatility_pct, 2),
            opt(p.beta, |b| format!("{b:.2}"))
        );
    }
    let c = &r.concentration;
    if let Some(largest) = &c.largest {
        let _ = writeln!(
            out,
            "Concentration: largest {largest} {} · Herfindahl {:.3} of the weights shown \
             (% of equity; {} invested, as concentrated as {:.1} equal positions)",
            share_pct(c.largest_weight_pct, 2),
            c.herfindahl,
            share_pct(c.invested_pct, 2),
            c.effective_positions
        );
    }
}

/// The most correlated pairs, the effective number of bets and the
/// correlation clusters of the measured positions.
fn correlation_section(out: &mut String, r: &RiskReport) {
    if !r.pairs.is_empty() {
        out.push_str("\nMost correlated pairs\n");
        let rows: Vec<Vec<String>> = r
            .pairs
            .iter()
            .map(|p| {
                vec![
                    p.a.to_string(),
                    p.b.to_string(),
                    format!("{:.2}", p.correlation),
                ]
            })
            .collect();
        out.push_str(&table(
            &["a", "b", "correlation"],
            &rows,
            &[false, false, true],
        ));
    }
    if let Some(bets) = r.effective_bets {
        let _ = writeln!(
            out,
            "\nEffective bets {bets:.1} of {} measured positions (Meucci: entropy of the \
             principal portfolios' shares of variance over {} sessions)",
            r.correlation.symbols.len(),
            r.lookback
        );
    }
    if !r.clusters.is_empty() {
        let _ = writeln!(
            out,
            "Correlation clusters (average correlation {:.2} or more): {}",
            r.cluster_correlation,
            r.clusters.len()
        );
        for (i, c) in r.clusters.iter().enumerate() {
            let names: Vec<&str> = c.symbols.iter().map(|s| s.as_str()).collect();
            let _ = writeln!(
                out,
                "{}. {}  ({} of equity)",
                i + 1,
                names.join(", "),
                share_pct(c.weight_pct, 2)
            );
        }
    }
}

fn suggestions_section(out: &mut String, r: &RiskReport) {
    if r.suggestions.is_empty() {
        return;
    }
    out.push_str("\nCandidates from the latest screen\n");
    let rows: Vec<Vec<String>> = r
        .suggestions
        .iter()
        .map(|s| {
            let note = match (&s.reason, s.duplicates, &s.closest) {
                (Some(why), _, _) => why.clone(),
                (None, true, Some(c)) => format!("duplicates {}", c.b),
                _ if s.capped_by_cash => "capped by cash".into(),
                _ => String::new(),
            };
            vec![
                s.rank.to_string(),
                s.symbol.to_string(),
                signed_pct(s.drawdown_pct),
                price(s.price),
                opt(s.volatility_pct, |v| share_pct(v, 2)),
                s.closest
                    .as_ref()
                    .map_or_else(|| "-".into(), |c| format!("{} {:.2}", c.b, c.correlation)),
                opt(s.value, price),
                s.shares.map_or_else(|| "-".into(), |n| n.to_string()),
                note,
            ]
        })
        .collect();
    out.push_str(&table(
        &[
            "rank", "symbol", "drawdown", "price", "vol 60d", "closest", "size", "shares", "note",
        ],
        &rows,
        &[true, false, true, true, true, false, true, true, false],
    ));
}

fn exits_section(out: &mut String, r: &RiskReport) {
    if r.exits.is_empty() {
        if !r.is_empty() {
            out.push_str("\nExits: no rule sells a position today.\n");
        }
        return;
    }
    out.push_str("\nExits (the strategy's rules would sell)\n");
    let rows: Vec<Vec<String>> = r
        .exits
        .iter()
        .map(|e| {
            let reasons: Vec<&str> = e.reasons.iter().map(|x| x.label()).collect();
            let held = e.held.map_or_else(
                || "unknown".into(),
                |h| {
                    format!(
                        "{}{} sessions",
                        if h.at_least { ">= " } else { "" },
                        h.sessions
                    )
                },
            );
            vec![
                e.symbol.to_string(),
                signed_pct(e.return_pct),
                held,
                reasons.join(", "),
            ]
        })
        .collect();
    out.push_str(&table(
        &["symbol", "return", "held", "why"],
        &rows,
        &[false, true, true, false],
    ));
}
