//! Snapshot-style tests of every reply on fixed data.

use std::collections::HashMap;

use chrono::TimeZone;
use rust_decimal::dec;

use super::*;
use crate::domain::RunSource;
use crate::domain::{DrawdownRow, Position, RunReport, SymbolCounts, SymbolIssue, profit_check};
use crate::state::{DatasetStatus, HistoryPoint};
use crate::store::Dataset;

use crate::test_support::{d, sym};

fn now() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 25, 13, 0, 0).unwrap()
}

fn row(rank: u32, s: &str, dd: f64, peak: f64, cur: f64, days: u32) -> DrawdownRow {
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

fn report() -> RunReport {
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

fn acct() -> Account {
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

fn positions() -> Vec<Position> {
    vec![
        Position::from_prices(sym("NVDA"), dec!(50), dec!(100), dec!(252.10)),
        Position::from_prices(sym("BF.B"), dec!(100), dec!(50), dec!(32.95)),
        Position::from_prices(sym("AAPL"), dec!(10.5), dec!(150), dec!(180)),
    ]
}

fn params() -> Params {
    Params {
        top_n: 10,
        lookback_days: 180,
        top_positions: 5,
        profit_target_pct: dec!(100),
    }
}

fn snapshot() -> Snapshot {
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

fn empty() -> Snapshot {
    Snapshot {
        provider: "alpaca".into(),
        next_run: Some(Utc.with_ymd_and_hms(2026, 11, 25, 23, 30, 0).unwrap()),
        ..Snapshot::default()
    }
}

fn hostile_account() -> Account {
    Account {
        status: "ACTIVE & <ok>".into(),
        currency: Some("U$D".into()),
        ..acct()
    }
}

fn taking_profit() -> Snapshot {
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
    s.portfolio = Some(PortfolioState {
        date: d("2026-11-24"),
        account: acct(),
        profit: profit_check(&positions, 5, dec!(100)),
        positions,
    });
    s
}

pub(super) fn cases() -> Vec<(&'static str, String)> {
    let s = snapshot();
    let p = params();
    let r = |c: Command| snapshot_reply(&c, &s, &p, now()).unwrap();
    let e = empty();
    let re = |c: Command| snapshot_reply(&c, &e, &p, now()).unwrap();
    vec![
        ("help", r(Command::Help)),
        ("dashboard", r(Command::Dashboard)),
        ("screen", r(Command::Screen(String::new()))),
        ("screen_capped", r(Command::Screen("500".into()))),
        ("screen_usage", r(Command::Screen("ten".into()))),
        ("symbol", r(Command::Symbol("bf.b".into()))),
        ("symbol_skipped", r(Command::Symbol("NEWCO".into()))),
        ("symbol_failed", r(Command::Symbol("flaky".into()))),
        ("symbol_usage", r(Command::Symbol("<b>A&B</b>".into()))),
        ("portfolio", r(Command::Portfolio)),
        ("monitor", r(Command::Monitor)),
        (
            "monitor_take_profit",
            snapshot_reply(&Command::Monitor, &taking_profit(), &p, now()).unwrap(),
        ),
        ("stats", r(Command::Stats)),
        (
            "account_live",
            account(
                &AccountView::Live {
                    account: hostile_account(),
                    fetched_at: now(),
                },
                false,
            ),
        ),
        (
            "account_snapshot",
            account(
                &AccountView::Snapshot {
                    account: acct(),
                    date: d("2026-11-24"),
                },
                true,
            ),
        ),
        ("empty_help", re(Command::Start)),
        ("empty_dashboard", re(Command::Dashboard)),
        ("empty_screen", re(Command::Screen(String::new()))),
        ("empty_portfolio", re(Command::Portfolio)),
        ("empty_stats", re(Command::Stats)),
    ]
}

/// The expected text of each case, reviewed by eye when written (a
/// snapshot): any change to a reply shows up here as a diff.
fn expected(name: &str) -> &'static str {
    match name {
        "help" => {
            r#"<b>dipwatch</b> ranks a universe of stocks by how far each has fallen from its recent peak, and watches your portfolio for the profit target.
<b>Strategy</b>: buy the stocks furthest below their 180-session peak; take profit when your best 5 positions average +100.00% or more.

/help — What the bot does and every command
/dashboard — Account, portfolio, profit target and top candidates (also /daily)
/screen [N] — The worst drawdowns: rank, drop, peak and price
/symbol TICKER — One symbol: rank, drawdown, history, position
/chart TICKER [3m|6m|1y|5y] — A symbol's price chart: window, peak and drawdown
/breadth — Chart: names down 20% and 30% or more, median drawdown
/portfolio — Positions by return, with value, P&amp;L and totals
/monitor — The profit-taking rule: top positions vs target
/risk — Portfolio risk: concentration, effective bets, exits, candidates
/backtest [from YYYY-MM-DD] [to YYYY-MM-DD] [top N] [entry -30] [take-profit 100] ... — Replay the strategy over the history vs the benchmark, with a chart
/account — Equity, cash, buying power (live, cached 60 s)
/stats — Data health, last run and next run
/download [drawdowns|positions|bars|account] [days] — A dataset as a CSV file
/trigger — Collect now (admins only)
/alert TICKER below -30 | top N | market below -20 count 50 | profit | risk weight|hhi|cluster LEVEL | digest 07:30 — Set an alert pushed after each run
/alerts — Your alerts, with delete buttons
/unalert ID — Delete an alert by id
/web — Sign in to the web dashboard (a one-time link)
/logout — Sign out of the web dashboard everywhere

<i>Data last updated: screen of 2026-11-24, read 2026-11-24 23:30 UTC (13 h 30 min ago).</i>
<i>Prices are simulated (market.provider = sim).</i>"#
        }
        "dashboard" => {
            r#"<i>[SIMULATED PRICES, not market data]</i>
<b>Dashboard</b> · 2026-11-24

<b>Account</b> (snapshot 2026-11-24)
Equity <b>$105,234.12</b> · day +$1,234.00 (+1.19%)
Cash $12,000.00 · buying power $24,000.50

<b>Portfolio</b>: 3 positions · value $17,790.00 · P&amp;L +$6,215.00 (+53.69%)
<pre>symbol    return         P&amp;L
NVDA    +152.10%  +$7,605.00
AAPL     +20.00%    +$315.00
BF.B     -34.10%  -$1,705.00</pre>

<b>Profit target</b>
Top 5 average <b>+46.00%</b> vs the +100.00% target: 54.00 points to go.
<i>Only 3 positions held: the average is over those.</i>

<b>Top 10 candidates</b> of 12 ranked
<pre> #  symbol  drawdown   price
 1  SAM      -73.33%    7.86
 2  ALSN     -68.33%   18.67
 3  BF.B     -63.33%   32.42
 4  MRNA     -58.33%   49.12
 5  PFE      -53.33%   68.77
 6  INTC     -48.33%   91.36
 7  WBA      -43.33%  116.90
 8  PARA     -38.33%  145.39
 9  DG       -33.33%  176.83
10  EL       -28.33%  211.21</pre>"#
        }
        "screen" => {
            r#"<i>[SIMULATED PRICES, not market data]</i>
<b>Worst drawdowns</b> · screen 2026-11-24
Top 10 of 12 ranked
<pre> #  symbol  drawdown    peak     now  days
 1  SAM      -73.33%   29.47    7.86   101
 2  ALSN     -68.33%   58.94   18.67   100
 3  BF.B     -63.33%   88.41   32.42    99
 4  MRNA     -58.33%  117.88   49.12    98
 5  PFE      -53.33%  147.35   68.77    97
 6  INTC     -48.33%  176.82   91.36    96
 7  WBA      -43.33%  206.29  116.90    95
 8  PARA     -38.33%  235.76  145.39    94
 9  DG       -33.33%  265.23  176.83    93
10  EL       -28.33%  294.70  211.21    92</pre>
<i>peak → now: highest price in the window, then the last close; days: sessions since the peak.</i>"#
        }
        "screen_capped" => {
            r#"<i>[SIMULATED PRICES, not market data]</i>
<b>Worst drawdowns</b> · screen 2026-11-24
Top 12 of 12 ranked (at most 50 per reply)
<pre> #  symbol  drawdown    peak     now  days
 1  SAM      -73.33%   29.47    7.86   101
 2  ALSN     -68.33%   58.94   18.67   100
 3  BF.B     -63.33%   88.41   32.42    99
 4  MRNA     -58.33%  117.88   49.12    98
 5  PFE      -53.33%  147.35   68.77    97
 6  INTC     -48.33%  176.82   91.36    96
 7  WBA      -43.33%  206.29  116.90    95
 8  PARA     -38.33%  235.76  145.39    94
 9  DG       -33.33%  265.23  176.83    93
10  EL       -28.33%  294.70  211.21    92
11  CVS      -23.33%  324.17  248.54    91
12  TGT      -18.33%  353.64  288.82    90</pre>
<i>peak → now: highest price in the window, then the last close; days: sessions since the peak.</i>"#
        }
        "screen_usage" => r#"Usage: /screen [N], N a whole number from 1 to 50 (default 10)."#,
        "symbol" => {
            r#"<i>[SIMULATED PRICES, not market data]</i>
<b>BF.B</b> · screen 2026-11-24
Rank <b>3</b> of 12 · drawdown <b>-63.33%</b>
Peak 88.41 on 2026-07-02 (99 sessions ago) · now 32.42
Volume 1,234,567

<b>History</b>: 12 sessions, 2026-11-09 → 2026-11-20
<code>█▇▅▄▂▁▇▆▄▃▁▇</code>
Deepest -48.50% (2026-11-14) · shallowest -40.00% (2026-11-09)
<pre>date        drawdown  rank
2026-11-20   -40.70%     3
2026-11-19   -48.00%     4
2026-11-18   -46.30%     5
2026-11-17   -44.60%     3
2026-11-16   -42.90%     4
2026-11-15   -41.20%     5
2026-11-14   -48.50%     3
2026-11-13   -46.80%     4
2026-11-12   -45.10%     5
2026-11-11   -43.40%     3</pre>

<b>Position</b> (snapshot 2026-11-24)
100 shares at $50.00 · now $32.95
Value $3,295.00 · P&amp;L -$1,705.00 (-34.10%)"#
        }
        "symbol_skipped" => {
            r#"<i>[SIMULATED PRICES, not market data]</i>
<b>NEWCO</b> · screen 2026-11-24
Not ranked on 2026-11-24: insufficient history: 12 bars, 30 required.

Not held (snapshot 2026-11-24)."#
        }
        "symbol_failed" => {
            r#"<i>[SIMULATED PRICES, not market data]</i>
<b>FLAKY</b> · screen 2026-11-24
Could not be fetched on 2026-11-24: alpaca data request failed: 503 &lt;html&gt;.

Not held (snapshot 2026-11-24)."#
        }
        "symbol_usage" => {
            r#"“&lt;b&gt;A&amp;B&lt;/b&gt;” is not a ticker (letters, digits, '.' and '-', up to 12 characters). Usage: /symbol TICKER, for example /symbol AAPL or /symbol BF.B."#
        }
        "portfolio" => {
            r#"<i>[SIMULATED PRICES, not market data]</i>
<b>Portfolio</b> · snapshot 2026-11-24 · 3 positions
<pre>symbol    return       value         P&amp;L
NVDA    +152.10%  $12,605.00  +$7,605.00
AAPL     +20.00%   $1,890.00    +$315.00
BF.B     -34.10%   $3,295.00  -$1,705.00</pre>
Value <b>$17,790.00</b> · cost $11,575.00 · P&amp;L <b>+$6,215.00</b> (+53.69%)
Equity $105,234.12 · cash $12,000.00"#
        }
        "monitor" => {
            r#"<i>[SIMULATED PRICES, not market data]</i>
<b>Profit-taking rule</b> · snapshot 2026-11-24
Take profit when the best 5 positions average +100.00% or more.
<pre>#  symbol    return
1  NVDA    +152.10%
2  AAPL     +20.00%
3  BF.B     -34.10%</pre>
The best 5 average <b>+46.00%</b> vs the +100.00% target: 54.00 points to go.
<i>Only 3 positions held: the average is over those.</i>"#
        }
        "monitor_take_profit" => {
            r#"<i>[SIMULATED PRICES, not market data]</i>
<b>Profit-taking rule</b> · snapshot 2026-11-24
Take profit when the best 5 positions average +100.00% or more.
<pre>#  symbol    return
1  P0      +250.00%
2  P1      +180.00%
3  P2      +120.00%
4  P3       +90.00%
5  P4       +70.00%</pre>
✅ <b>TAKE PROFIT</b>: the best 5 average <b>+142.00%</b>, at or above the +100.00% target."#
        }
        "stats" => {
            r#"<b>Data health</b> · provider sim (simulated prices)
<pre>dataset    latest      rows
bars       2026-11-24    12
drawdowns  2026-11-24    12
positions  2026-11-24     3
account    2026-11-24     1</pre>
<b>Latest screen</b> 2026-11-24: 12 ranked, 1 skipped, 1 failed of 14; the run took 1.0 s
<b>Last run</b> (since start): the schedule, started 2026-11-24 23:30 UTC, took 1.3 s: published 2026-11-24: 12 ranked, 1 skipped, 1 failed
<b>Next run</b>: 2026-11-25 23:30 UTC (in 10 h 30 min)
State read from the store 2026-11-24 23:30 UTC."#
        }
        "account_live" => {
            r#"<b>Account</b> · live, as of 13:00:00 UTC (refreshed at most once a minute)
<pre>equity        $105,234.12
day change    +$1,234.00 (+1.19%)
cash          $12,000.00
buying power  $24,000.50
long value    $93,234.12
status        ACTIVE &amp; &lt;ok&gt; (U$D)
day trades    1 in 5 sessions · PDT no</pre>"#
        }
        "account_snapshot" => {
            r#"<i>[SIMULATED PRICES, not market data]</i>
<b>Account</b> · the trading API did not answer just now; last snapshot 2026-11-24
<pre>equity        $105,234.12
day change    +$1,234.00 (+1.19%)
cash          $12,000.00
buying power  $24,000.50
long value    $93,234.12
status        ACTIVE (USD)
day trades    1 in 5 sessions · PDT no</pre>"#
        }
        "empty_help" => {
            r#"<b>dipwatch</b> ranks a universe of stocks by how far each has fallen from its recent peak, and watches your portfolio for the profit target.
<b>Strategy</b>: buy the stocks furthest below their 180-session peak; take profit when your best 5 positions average +100.00% or more.

/help — What the bot does and every command
/dashboard — Account, portfolio, profit target and top candidates (also /daily)
/screen [N] — The worst drawdowns: rank, drop, peak and price
/symbol TICKER — One symbol: rank, drawdown, history, position
/chart TICKER [3m|6m|1y|5y] — A symbol's price chart: window, peak and drawdown
/breadth — Chart: names down 20% and 30% or more, median drawdown
/portfolio — Positions by return, with value, P&amp;L and totals
/monitor — The profit-taking rule: top positions vs target
/risk — Portfolio risk: concentration, effective bets, exits, candidates
/backtest [from YYYY-MM-DD] [to YYYY-MM-DD] [top N] [entry -30] [take-profit 100] ... — Replay the strategy over the history vs the benchmark, with a chart
/account — Equity, cash, buying power (live, cached 60 s)
/stats — Data health, last run and next run
/download [drawdowns|positions|bars|account] [days] — A dataset as a CSV file
/trigger — Collect now (admins only)
/alert TICKER below -30 | top N | market below -20 count 50 | profit | risk weight|hhi|cluster LEVEL | digest 07:30 — Set an alert pushed after each run
/alerts — Your alerts, with delete buttons
/unalert ID — Delete an alert by id
/web — Sign in to the web dashboard (a one-time link)
/logout — Sign out of the web dashboard everywhere

<i>No screen has been published yet. The next collection runs 2026-11-25 23:30 UTC (in 10 h 30 min). An admin can start one now with /trigger.</i>"#
        }
        "empty_dashboard" => {
            r#"<b>Dashboard</b>

No portfolio snapshot yet: one is taken with each collection when an account is configured.

No screen has been published yet. The next collection runs 2026-11-25 23:30 UTC (in 10 h 30 min). An admin can start one now with /trigger."#
        }
        "empty_screen" => {
            r#"No screen has been published yet. The next collection runs 2026-11-25 23:30 UTC (in 10 h 30 min). An admin can start one now with /trigger."#
        }
        "empty_portfolio" => {
            r#"No portfolio snapshot yet: one is taken with each collection when an account is configured."#
        }
        "empty_stats" => {
            r#"<b>Data health</b> · provider alpaca
Nothing published in the store yet.
<b>Latest screen</b>: none published yet
<b>Last run</b> (since start): none yet
<b>Next run</b>: 2026-11-25 23:30 UTC (in 10 h 30 min)
"#
        }
        other => panic!("no snapshot for {other}"),
    }
}

#[test]
fn replies_match_their_snapshots() {
    for (name, text) in cases() {
        assert_eq!(text, expected(name), "reply {name:?} changed:\n{text}");
    }
}

#[test]
fn every_reply_is_well_formed_html() {
    for (name, text) in cases() {
        assert!(crate::bot::html::well_formed(&text), "{name}: {text}");
    }
    for text in [
        trigger_started(),
        trigger_busy(RunSource::Schedule),
        trigger_finished(None),
        admin_only(-100123),
        refusal(42),
        unknown_command(),
        plain_text(),
        apology(),
        download_usage(),
    ] {
        assert!(crate::bot::html::well_formed(&text), "{text}");
    }
}

#[test]
fn real_prices_carry_no_simulated_marker() {
    let mut s = snapshot();
    s.simulated = false;
    let text = snapshot_reply(&Command::Screen("3".into()), &s, &params(), now()).unwrap();
    assert!(!text.contains("SIMULATED"), "{text}");
    assert!(text.starts_with("<b>Worst drawdowns</b>"));
    let sim = snapshot_reply(&Command::Screen("3".into()), &snapshot(), &params(), now()).unwrap();
    assert!(sim.starts_with("<i>[SIMULATED PRICES, not market data]</i>"));
}

#[test]
fn numbers_have_signs_and_thousands_separators() {
    assert_eq!(usd(dec!(1234567.891)), "$1,234,567.89");
    assert_eq!(usd(dec!(-0.004)), "$0.00");
    assert_eq!(usd(dec!(-1234.5)), "-$1,234.50");
    assert_eq!(signed_usd(dec!(1234.5)), "+$1,234.50");
    assert_eq!(signed_usd(dec!(-0.005)), "-$0.01");
    assert_eq!(signed_usd(dec!(0.001)), "$0.00");
    assert_eq!(pct(dec!(1234.565)), "+1,234.57%");
    assert_eq!(pct(dec!(-0.5)), "-0.50%");
    assert_eq!(pct(dec!(0)), "0.00%");
    assert_eq!(qty(dec!(1250.000)), "1,250");
    assert_eq!(qty(dec!(-0.50)), "-0.5");
    assert_eq!(qty(dec!(12345.125)), "12,345.125");
    assert_eq!(duration(Duration::from_millis(850)), "850 ms");
    assert_eq!(duration(Duration::from_millis(1_340)), "1.3 s");
    assert_eq!(duration(Duration::from_secs(125)), "2 min 5 s");
    assert_eq!(duration(Duration::from_secs(3_900)), "1 h 5 min");
}

#[test]
fn run_summaries() {
    let run = |outcome| LastRun {
        source: RunSource::Manual,
        started_at: now(),
        duration: Duration::from_millis(2_500),
        outcome,
    };
    assert_eq!(
        trigger_finished(Some(&run(LastOutcome::Published {
            date: d("2026-11-24"),
            ranked: 1234,
            skipped: 3,
            failed: 0
        }))),
        "✅ Collection finished in 2.5 s: published 2026-11-24: 1,234 ranked, 3 skipped, 0 failed."
    );
    assert_eq!(
        trigger_finished(Some(&run(LastOutcome::Failed {
            reason: "market data: <503> & down".into()
        }))),
        "❌ Collection finished in 2.5 s: failed: market data: &lt;503&gt; &amp; down."
    );
    assert_eq!(
        trigger_finished(Some(&run(LastOutcome::NotAvailable {
            reason: "data not yet available".into()
        }))),
        "Collection finished in 2.5 s: no new data yet (data not yet available)."
    );
    assert_eq!(
        trigger_busy(RunSource::Schedule),
        "A collection is already running (started by the schedule); not starting another."
    );
    assert_eq!(
        refusal(-100_123),
        "This is a private dipwatch bot. Your chat id is <code>-100123</code>: its owner can add \
         it to telegram.allowed_chat_ids."
    );
}

#[test]
fn a_long_portfolio_splits_into_well_formed_messages() {
    let mut s = snapshot();
    let positions: Vec<Position> = (0..150)
        .map(|i| {
            Position::from_prices(
                sym(&format!("S{i:03}")),
                dec!(10),
                dec!(100),
                dec!(50) + Decimal::from(i),
            )
        })
        .collect();
    s.portfolio = Some(PortfolioState {
        date: d("2026-11-24"),
        account: acct(),
        profit: profit_check(&positions, 5, dec!(100)),
        positions,
    });
    let text = portfolio(&s);
    assert!(text.encode_utf16().count() > 4096);
    let parts = crate::bot::html::split(&text, crate::bot::html::MAX_MESSAGE);
    assert!(parts.len() >= 2);
    for part in &parts {
        assert!(crate::bot::html::well_formed(part), "{part}");
    }
    assert!(
        parts[1].starts_with("<pre>"),
        "the table is reopened: {}",
        parts[1]
    );
    let all = parts.concat();
    for i in 0..150 {
        assert!(all.contains(&format!("S{i:03} ")), "S{i:03} lost");
    }
    assert!(parts.last().unwrap().contains("Equity $105,234.12"));
}

/// A random message: a command (ours, an alias, a made-up one, odd case)
/// or plain text, with arguments drawn from unicode, markup characters,
/// digits and huge strings.
pub(crate) fn random_message(rng: &mut rand_pcg::Pcg64) -> String {
    use rand::Rng;
    const WORDS: [&str; 18] = [
        "/start",
        "/help",
        "/dashboard",
        "/daily",
        "/screen",
        "/symbol",
        "/portfolio",
        "/monitor",
        "/stats",
        "/SCREEN",
        "/Symbol@dipwatch_bot",
        "/help@other_bot",
        "/nope",
        "/",
        "/screen@",
        "hello",
        "",
        "/symbol\n",
    ];
    const PIECES: [&str; 24] = [
        "<",
        ">",
        "&",
        "&amp;",
        "<b>",
        "</pre>",
        "\"",
        "'",
        " ",
        "\n",
        "\t",
        "😀",
        "中文",
        "שלום",
        "\u{200b}",
        "e\u{301}",
        "BF.B",
        "brk-b",
        "$AAPL",
        "50",
        "-3",
        "99999999999999999999999",
        "0",
        "\u{0}",
    ];
    let mut out = String::from(WORDS[rng.random_range(0..WORDS.len())]);
    let pieces = match rng.random_range(0..10) {
        0 => 0,
        1 => rng.random_range(500..3000),
        _ => rng.random_range(1..8),
    };
    if pieces > 0 && !out.is_empty() {
        out.push(' ');
    }
    for _ in 0..pieces {
        if rng.random_range(0..4) == 0 {
            out.push(char::from_u32(rng.random_range(0x20..0x3_0000)).unwrap_or('?'));
        } else {
            out.push_str(PIECES[rng.random_range(0..PIECES.len())]);
        }
    }
    out
}

#[test]
fn fuzzed_messages_never_panic_and_always_get_well_formed_replies() {
    use rand::SeedableRng;
    let mut rng = rand_pcg::Pcg64::seed_from_u64(0x00d1_9a7c);
    let (full, none) = (snapshot(), empty());
    let p = params();
    for i in 0..5_000 {
        let text = random_message(&mut rng);
        let snap = if i % 2 == 0 { &full } else { &none };
        let reply = match super::super::commands::parse_input(Some(&text), "dipwatch_bot") {
            super::super::commands::Input::Command(c) => {
                snapshot_reply(&c, snap, &p, now()).unwrap_or_else(trigger_started)
            }
            super::super::commands::Input::Unknown => unknown_command(),
            _ => plain_text(),
        };
        let parts = crate::bot::html::split(&reply, crate::bot::html::MAX_MESSAGE);
        assert!(!parts.is_empty(), "{text:?} got no reply");
        for part in parts {
            assert!(crate::bot::html::well_formed(&part), "{text:?} -> {part}");
        }
    }
}

#[test]
fn download_link_escapes_the_url_and_says_how_long_it_works() {
    let html = download_link(
        "<b>bars</b>: 1 date",
        "bars_2026-11-20.csv",
        "http://127.0.0.1:9000/b/_downloads/x.csv?X-Amz-Expires=3600&X-Amz-Signature=ab\"c",
        7200,
    );
    assert_eq!(
        html,
        "<b>bars</b>: 1 date\n<a href=\"http://127.0.0.1:9000/b/_downloads/x.csv?X-Amz-Expires=3600&amp;X-Amz-Signature=ab&quot;c\">bars_2026-11-20.csv</a> (link works for 2 hours)"
    );
    assert!(crate::bot::html::well_formed(&html));
    assert!(download_link("c", "f", "u", 90).ends_with("(link works for 2 minutes)"));
    assert!(download_link("c", "f", "u", 3600).ends_with("(link works for 1 hour)"));
}

#[test]
fn monitor_says_when_no_held_position_is_of_a_counted_class() {
    let mut coin = Position::from_prices(sym("BTCUSD"), dec!(1), dec!(100), dec!(900));
    coin.asset_class = crate::domain::AssetClass::Crypto;
    let mut s = snapshot();
    if let Some(p) = &mut s.portfolio {
        p.positions = vec![coin];
        p.profit = crate::domain::profit_rule(
            &p.positions,
            &[crate::domain::AssetClass::UsEquity],
            5,
            dec!(100),
        );
    }
    let text = monitor(&s, &params());
    assert!(
        text.contains("No position the rule counts (portfolio.asset_classes"),
        "{text}"
    );
    assert!(!text.contains("TAKE PROFIT"), "{text}");
}

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

#[test]
fn positions_of_other_classes_are_labelled_never_dropped() {
    let mut p = Position::from_prices(sym("AAPL"), dec!(1), dec!(100), dec!(110));
    assert_eq!(held_label(&p), "AAPL");
    p.asset_class = crate::domain::AssetClass::from_wire("crypto_perp");
    assert_eq!(held_label(&p), "AAPL (crypto_perp)");
    p.asset_class = crate::domain::AssetClass::from_wire("us_future");
    assert_eq!(held_label(&p), "AAPL (us_future)");
}
