//! `/stats`: data health (the latest date and rows per dataset), the
//! latest run report, this process's last run, the next scheduled run.

use chrono::{DateTime, NaiveDate, Utc};

use super::{Answer, Spec};
use crate::bot::format::{outcome_line, relative, when};
use crate::bot::html::{Align, Table, clip, escape};
use crate::domain::RunReport;
use crate::numbers::{duration, thousands};
use crate::state::Snapshot;

/// `/stats`.
pub(crate) const SPEC: Spec = Spec::new(
    "stats",
    "",
    "Data health, last run and next run",
    Answer::Snapshot(|r| stats(r.snap, r.now).into()),
);

/// `/stats`: data health, the latest run report, this process's last run,
/// the next scheduled run.
pub(crate) fn stats(snap: &Snapshot, now: DateTime<Utc>) -> String {
    let mut out = format!(
        "<b>Data health</b> · provider {}{}\n",
        escape(&snap.provider),
        if snap.simulated {
            " (simulated prices)"
        } else {
            ""
        }
    );
    let mut t = Table::new(&[
        ("dataset", Align::Left),
        ("latest", Align::Left),
        ("rows", Align::Right),
    ]);
    for d in &snap.datasets {
        t.row(vec![
            d.dataset.name().into(),
            d.latest.map_or("none".into(), |x: NaiveDate| x.to_string()),
            thousands(d.rows),
        ]);
    }
    if snap.datasets.iter().any(|d| d.latest.is_some()) {
        out.push_str(&t.render());
        out.push('\n');
    } else {
        out.push_str("Nothing published in the store yet.\n");
    }
    out.push_str(&latest_screen(snap));
    match &snap.last_run {
        Some(l) => out.push_str(&format!(
            "<b>Last run</b> (since start): {}, started {}, took {}: {}\n",
            l.source.label(),
            when(l.started_at),
            duration(l.duration),
            outcome_line(&l.outcome)
        )),
        None => out.push_str("<b>Last run</b> (since start): none yet\n"),
    }
    match snap.next_run {
        Some(n) => out.push_str(&format!(
            "<b>Next run</b>: {} ({})\n",
            when(n),
            relative(n, now)
        )),
        None => out.push_str("<b>Next run</b>: not scheduled\n"),
    }
    if let Some(l) = snap.loaded_at {
        out.push_str(&format!("State read from the store {}", when(l)));
        if !snap.load_warnings.is_empty() {
            out.push_str(&format!(
                "; {} damaged date{} skipped",
                snap.load_warnings.len(),
                if snap.load_warnings.len() == 1 {
                    ""
                } else {
                    "s"
                }
            ));
        }
        out.push('.');
    }
    out
}

/// The latest published screen's run report: counts, duration, refused
/// tickers and circuit breakers left open.
fn latest_screen(snap: &Snapshot) -> String {
    let Some(s) = &snap.screen else {
        return "<b>Latest screen</b>: none published yet\n".into();
    };
    let r = &s.report;
    let took = (r.finished_at - r.started_at).to_std().unwrap_or_default();
    let mut out = format!(
        "<b>Latest screen</b> {}: {} ranked, {} skipped, {} failed of {}; the run took {}\n",
        s.date,
        thousands(r.symbols.ok as u64),
        thousands(r.symbols.skipped as u64),
        thousands(r.symbols.failed as u64),
        thousands(r.symbols.requested as u64),
        duration(took)
    );
    out.push_str(&refused_line(r));
    out.push_str(&breakers_line(r));
    out
}

/// The tickers Alpaca refused in a run, with its message: they are never
/// retried, so `/stats` says the universe needs fixing. Empty when none.
fn refused_line(r: &RunReport) -> String {
    if r.refused.is_empty() {
        return String::new();
    }
    const SHOWN: usize = 10;
    let named: Vec<String> = r
        .refused
        .iter()
        .take(SHOWN)
        .map(|sym| {
            let why = r
                .failed
                .iter()
                .find(|f| &f.symbol == sym)
                .map(|f| f.reason.trim_start_matches("refused by Alpaca: "))
                .unwrap_or("invalid symbol");
            format!("{} ({})", escape(sym.as_str()), escape(&clip(why, 80)))
        })
        .collect();
    let more = r.refused.len().saturating_sub(SHOWN);
    format!(
        "<b>Refused by Alpaca</b> (not retried; fix the universe): {}{}\n",
        named.join(", "),
        if more > 0 {
            format!(" and {more} more")
        } else {
            String::new()
        }
    )
}

/// The Alpaca circuit breakers that were not closed at the end of a run.
/// Empty when all were closed (or the provider has none).
fn breakers_line(r: &RunReport) -> String {
    let not_closed: Vec<String> = r
        .requests
        .breakers
        .iter()
        .filter(|(_, b)| b.state != "closed")
        .map(|(name, b)| format!("{} {}", escape(name), b.state.replace('_', "-")))
        .collect();
    if not_closed.is_empty() {
        return String::new();
    }
    format!(
        "<b>Circuit breakers</b> not closed after that run: {}\n",
        not_closed.join(", ")
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bot::commands::fixtures::{report, sym};
    use crate::domain::SymbolIssue;

    #[test]
    fn stats_names_refused_tickers_and_breakers_not_closed() {
        let mut r = report();
        assert_eq!(refused_line(&r), "");
        assert_eq!(breakers_line(&r), "");
        r.failed.push(SymbolIssue {
            symbol: sym("BC-C"),
            reason: "refused by Alpaca: invalid symbol: BC-C (code 42210000)".into(),
        });
        r.refused = vec![sym("BC-C")];
        assert_eq!(
            refused_line(&r),
            "<b>Refused by Alpaca</b> (not retried; fix the universe): BC-C (invalid symbol: BC-C (code 42210000))\n"
        );
        let b = |state: &str| crate::domain::BreakerStats {
            state: state.into(),
            trips: 1,
        };
        r.requests.breakers = [
            ("trading.account".to_string(), b("open")),
            ("trading.clock".to_string(), b("half_open")),
            ("data.bars".to_string(), b("closed")),
        ]
        .into();
        assert_eq!(
            breakers_line(&r),
            "<b>Circuit breakers</b> not closed after that run: trading.account open, trading.clock half-open\n"
        );
    }
}
