//! Fixed data the command tests share: a published screen of twelve
//! names, a portfolio, a run report, an empty state, a fixed clock.

use std::collections::HashMap;
use std::time::Duration;

use chrono::{DateTime, NaiveDate, TimeZone, Utc};
use rust_decimal::{Decimal, dec};

use crate::bot::format::Params;
use crate::domain::{
    Account, DrawdownRow, LastOutcome, LastRun, Position, RunReport, RunSource, Symbol,
    SymbolCounts, SymbolIssue, profit_check,
};
use crate::state::{DatasetStatus, HistoryPoint, PortfolioState, ScreenState, Snapshot};
use crate::store::Dataset;

/// A date from `YYYY-MM-DD`.
pub(crate) fn d(s: &str) -> NaiveDate {
    s.parse().unwrap()
}

/// A symbol from its ticker.
pub(crate) fn sym(s: &str) -> Symbol {
    Symbol::parse(s).unwrap()
}

/// The fixed clock: 2026-11-25 13:00 UTC.
pub(crate) fn now() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 25, 13, 0, 0).unwrap()
}

/// A screen row of 2026-11-24 (peak on 2026-07-02).
pub(crate) fn row(rank: u32, s: &str, dd: f64, peak: f64, cur: f64, days: u32) -> DrawdownRow {
    DrawdownRow {
        date: d("2026-11-24"),
        symbol: sym(s),
        current_price: cur,
        peak_price: peak,
        peak_date: d("2026-07-02"),
        drawdown_pct: dd,
        days_since_peak: days,
        volume: 1_234_567,
        rank,
    }
}

/// The run report of 2026-11-24: 12 ranked, one skipped, one failed.
pub(crate) fn report() -> RunReport {
    RunReport {
        started_at: Utc.with_ymd_and_hms(2026, 11, 24, 23, 30, 0).unwrap(),
        finished_at: Utc.with_ymd_and_hms(2026, 11, 24, 23, 30, 1).unwrap(),
        symbols: SymbolCounts {
            requested: 14,
            ok: 12,
            skipped: 1,
            failed: 1,
        },
        skipped: vec![SymbolIssue {
            symbol: sym("NEWCO"),
            reason: "insufficient history: 12 bars, 30 required".into(),
        }],
        failed: vec![SymbolIssue {
            symbol: sym("FLAKY"),
            reason: "alpaca data request failed: 503 <html>".into(),
        }],
        ..crate::test_support::report(d("2026-11-24"))
    }
}

/// An account with every value the broker may send.
pub(crate) fn acct() -> Account {
    Account {
        equity: Some(dec!(105234.12)),
        cash: Some(dec!(12000)),
        buying_power: Some(dec!(24000.5)),
        status: "ACTIVE".into(),
        currency: Some("USD".into()),
        last_equity: Some(dec!(104000.12)),
        long_market_value: Some(dec!(93234.12)),
        daytrade_count: Some(1),
        pattern_day_trader: Some(false),
    }
}

/// Three positions: NVDA, BF.B and AAPL.
pub(crate) fn positions() -> Vec<Position> {
    vec![
        Position::from_prices(sym("NVDA"), dec!(50), dec!(100), dec!(252.10)),
        Position::from_prices(sym("BF.B"), dec!(100), dec!(50), dec!(32.95)),
        Position::from_prices(sym("AAPL"), dec!(10.5), dec!(150), dec!(180)),
    ]
}

/// The settings replies mention: top 10, 180 sessions, best 5 at +100%.
pub(crate) fn params() -> Params {
    Params {
        top_n: 10,
        lookback_days: 180,
        top_positions: 5,
        profit_target_pct: dec!(100),
    }
}

/// Everything published: the screen, the portfolio, BF.B's history,
/// the datasets, a last run and the next.
pub(crate) fn snapshot() -> Snapshot {
    let names = [
        "SAM", "ALSN", "BF.B", "MRNA", "PFE", "INTC", "WBA", "PARA", "DG", "EL", "CVS", "TGT",
    ];
    let rows: Vec<DrawdownRow> = names
        .iter()
        .enumerate()
        .map(|(i, s)| {
            let dd = -73.33 + 5.0 * i as f64;
            let peak = 29.47 * (i + 1) as f64;
            row(
                i as u32 + 1,
                s,
                dd,
                peak,
                peak * (1.0 + dd / 100.0),
                101 - i as u32,
            )
        })
        .collect();
    let positions = positions();
    let mut history = HashMap::new();
    history.insert(
        sym("BF.B"),
        (0..12)
            .map(|i| HistoryPoint {
                date: d("2026-11-09") + chrono::Days::new(i),
                drawdown_pct: -40.0 - (i as f64 * 1.7) % 9.0,
                rank: 5 - (i as u32 % 3),
            })
            .collect(),
    );
    Snapshot {
        screen: Some(ScreenState::new(d("2026-11-24"), rows, report())),
        portfolio: Some(PortfolioState {
            date: d("2026-11-24"),
            account: acct(),
            profit: profit_check(&positions, 5, dec!(100)),
            positions,
        }),
        history,
        prices: Default::default(),
        prices_source: Default::default(),
        accounts: vec![],
        reports: vec![],
        datasets: Dataset::ALL
            .iter()
            .map(|ds| DatasetStatus {
                dataset: *ds,
                latest: Some(d("2026-11-24")),
                rows: match ds {
                    Dataset::Bars | Dataset::Drawdowns => 12,
                    Dataset::Positions => 3,
                    Dataset::Account => 1,
                },
            })
            .collect(),
        load_warnings: vec![],
        simulated_dates: vec![],
        last_run: Some(LastRun {
            source: RunSource::Schedule,
            started_at: Utc.with_ymd_and_hms(2026, 11, 24, 23, 30, 0).unwrap(),
            duration: Duration::from_millis(1_340),
            outcome: LastOutcome::Published {
                date: d("2026-11-24"),
                ranked: 12,
                skipped: 1,
                failed: 1,
            },
        }),
        next_run: Some(Utc.with_ymd_and_hms(2026, 11, 25, 23, 30, 0).unwrap()),
        provider: "sim".into(),
        simulated: true,
        loaded_at: Some(Utc.with_ymd_and_hms(2026, 11, 24, 23, 30, 2).unwrap()),
        risk: None,
    }
}

/// Nothing published yet (a real provider, a run scheduled).
pub(crate) fn empty() -> Snapshot {
    Snapshot {
        provider: "alpaca".into(),
        next_run: Some(Utc.with_ymd_and_hms(2026, 11, 25, 23, 30, 0).unwrap()),
        ..Snapshot::default()
    }
}

/// An account whose text fields carry markup.
pub(crate) fn hostile_account() -> Account {
    Account {
        status: "ACTIVE & <ok>".into(),
        currency: Some("U$D".into()),
        ..acct()
    }
}

/// [`snapshot`] with six positions whose best five call for taking profit.
pub(crate) fn taking_profit() -> Snapshot {
    let mut s = snapshot();
    let positions: Vec<Position> = [250, 180, 120, 90, 70, 10]
        .iter()
        .enumerate()
        .map(|(i, r)| {
            Position::from_prices(
                sym(&format!("P{i}")),
                dec!(10),
                dec!(100),
                dec!(100) + Decimal::from(*r),
            )
        })
        .collect();
    s.portfolio = Some(holding(positions));
    s
}

/// A portfolio snapshot of 2026-11-24 holding `positions`, the profit rule
/// evaluated on them (best 5 against +100%).
pub(crate) fn holding(positions: Vec<Position>) -> PortfolioState {
    PortfolioState {
        date: d("2026-11-24"),
        account: acct(),
        profit: profit_check(&positions, 5, dec!(100)),
        positions,
    }
}

/// A screen of `n` ranked names `S0`, `S1`, ... of 2026-11-20, and nothing
/// else: for the pages and their buttons.
pub(crate) fn ranked(n: usize) -> Snapshot {
    let date = d("2026-11-20");
    let rows = (0..n)
        .map(|i| DrawdownRow {
            date,
            symbol: sym(&format!("S{i}")),
            current_price: 1.0,
            peak_price: 2.0,
            peak_date: d("2026-10-01"),
            drawdown_pct: -50.0 + i as f64 * 0.01,
            days_since_peak: 30,
            volume: 1,
            rank: i as u32 + 1,
        })
        .collect();
    Snapshot {
        screen: Some(ScreenState::new(date, rows, RunReport { date, ..report() })),
        ..Snapshot::default()
    }
}

/// The reply to `text` (as a user types it) from the snapshot `snap`.
pub(crate) fn reply_to(text: &str, snap: &Snapshot) -> super::Reply {
    super::snapshot_reply(text, snap, &params(), now())
        .unwrap_or_else(|| panic!("{text} is not answered from the snapshot"))
}

/// The label and callback data of every button of a keyboard.
pub(crate) fn buttons(k: &teloxide::types::InlineKeyboardMarkup) -> Vec<(String, String)> {
    k.inline_keyboard
        .iter()
        .flatten()
        .map(|b| match &b.kind {
            teloxide::types::InlineKeyboardButtonKind::CallbackData(d) => {
                (b.text.clone(), d.clone())
            }
            other => panic!("not a callback button: {other:?}"),
        })
        .collect()
}
