//! Hand-computed cases on a tiny market, and the no-look-ahead properties.

use chrono::NaiveDate;

use crate::test_support::weekdays;

use super::engine::{Params, Run, run};
use super::{benchmark, metrics};
use crate::domain::Symbol;
use crate::query::{DayBars, PriceHistory};
use crate::screen::{DrawdownColumns, PeakBasis, ScreenParams};
use crate::strategy::{ExitReason, ExitRules, Fill, PortfolioRule, Rebalance, Sizing};

/// One name's bars: (open, close) per session, `None` for no bar.
type Series = Vec<Option<(f64, f64)>>;

/// A market of named series of (open, close) per session; `None` is no bar.
/// High = max(open, close), low = min.
fn market(series: &[(&str, Series)]) -> PriceHistory {
    let n = series.iter().map(|s| s.1.len()).max().unwrap_or(0);
    let cal = weekdays(n);
    let mut days: Vec<DayBars> = cal.iter().map(|d| DayBars::new(*d, false)).collect();
    for (name, bars) in series {
        let sym = Symbol::parse(name).unwrap();
        for (day, bar) in days.iter_mut().zip(bars) {
            if let Some((o, c)) = bar {
                day.push(&sym, [*o, o.max(*c), o.min(*c), *c, 1000.0]);
            }
        }
    }
    PriceHistory::from_days(days)
}

/// Bars whose open equals the close.
fn closes(c: &[f64]) -> Series {
    c.iter().map(|c| Some((*c, *c))).collect()
}

const SCREEN: ScreenParams = ScreenParams {
    lookback_days: 5,
    min_history: 1,
    peak_basis: PeakBasis::Close,
};

fn params(fill: Fill) -> Params {
    Params {
        rebalance: Rebalance::Daily,
        entry_pct: -30.0,
        max_positions: 2,
        sizing: Sizing::Equal,
        exits: ExitRules {
            take_profit_pct: Some(50.0),
            stop_loss_pct: None,
            max_hold: None,
        },
        portfolio_rule: None,
        fill,
        commission: 0.0,
        slippage_bps: 0.0,
        initial_capital: 1000.0,
        delist_after: 3,
        delist_haircut_pct: 50.0,
    }
}

fn backtest(h: &PriceHistory, p: &Params) -> Run {
    let ranks = DrawdownColumns::new(h, &SCREEN);
    run(h, &ranks, p, &[], 0, h.dates().len() - 1)
}

fn close_to(a: f64, b: f64) -> bool {
    (a - b).abs() < 1e-9 * b.abs().max(1.0)
}

#[test]
fn close_fills_buy_the_dip_and_take_profit_on_the_close() {
    let h = market(&[("AAA", closes(&[100.0, 100.0, 60.0, 60.0, 90.0, 95.0]))]);
    let r = backtest(&h, &params(Fill::Close));
    // d2: -40% <= -30%: buy 1000 / 2 = 500 at 60. d4: 90 / 60 = +50%: sell.
    assert_eq!(r.trades.len(), 1);
    let t = &r.trades[0];
    assert_eq!((t.entry_date, t.exit_date), (h.dates()[2], h.dates()[4]));
    assert_eq!(t.reason, ExitReason::TakeProfit);
    assert!(close_to(t.shares, 500.0 / 60.0));
    assert!(close_to(t.pnl, 250.0) && close_to(t.return_pct, 50.0));
    let want = [1000.0, 1000.0, 1000.0, 1000.0, 1250.0, 1250.0];
    assert!(
        r.equity.iter().zip(want).all(|(a, b)| close_to(*a, b)),
        "{:?}",
        r.equity
    );
    // At d4 AAA is down only 10% from its peak: not bought again.
    assert!(r.open.is_empty());
    assert_eq!(r.invested, [false, false, true, true, false, false]);
}

#[test]
fn next_open_fills_trade_at_the_following_open() {
    let mut aaa = closes(&[100.0, 100.0, 60.0, 60.0, 90.0, 120.0, 115.0, 115.0]);
    aaa[3] = Some((62.0, 60.0));
    aaa[6] = Some((110.0, 115.0));
    let h = market(&[("AAA", aaa)]);
    let r = backtest(&h, &params(Fill::NextOpen));
    // Decided on d2's close, bought at d3's open 62: 500 / 62 shares.
    // d4: 90 / 62 = +45%: held. d5: 120 / 62 = +94%: sold at d6's open 110.
    let shares = 500.0 / 62.0;
    let t = &r.trades[0];
    assert_eq!((t.entry_date, t.exit_date), (h.dates()[3], h.dates()[6]));
    assert!(close_to(t.entry_price, 62.0) && close_to(t.exit_price, 110.0));
    assert_eq!(t.sessions, 3);
    let want = [
        1000.0,
        1000.0,
        1000.0,
        500.0 + shares * 60.0,
        500.0 + shares * 90.0,
        500.0 + shares * 120.0,
        500.0 + shares * 110.0,
        500.0 + shares * 110.0,
    ];
    assert!(
        r.equity.iter().zip(want).all(|(a, b)| close_to(*a, b)),
        "{:?}",
        r.equity
    );
}

#[test]
fn costs_are_slippage_on_the_price_and_commission_per_fill() {
    let h = market(&[("AAA", closes(&[100.0, 100.0, 60.0, 60.0, 90.0]))]);
    let mut p = params(Fill::Close);
    p.commission = 1.0;
    p.slippage_bps = 100.0; // 1%
    let r = backtest(&h, &p);
    let buy = 60.0 * 1.01;
    let shares = (500.0 - 1.0) / buy;
    // 90 / 60.6 = +48.5%: the slippage keeps it under the take-profit.
    assert!(r.trades.is_empty());
    assert!(close_to(r.equity[4], 500.0 + shares * 90.0));
    p.exits.take_profit_pct = Some(45.0);
    let r = backtest(&h, &p);
    let t = &r.trades[0];
    assert!(close_to(t.exit_price, 90.0 * 0.99));
    assert!(close_to(t.pnl, shares * 90.0 * 0.99 - 1.0 - 500.0));
    assert!(close_to(r.equity[4], 500.0 + shares * 90.0 * 0.99 - 1.0));
    assert!(close_to(r.traded_value, shares * 60.0 + shares * 90.0));
}

#[test]
fn the_deepest_names_are_bought_first_up_to_max_positions() {
    let h = market(&[
        ("AAA", closes(&[100.0, 100.0, 65.0, 65.0])),
        ("BBB", closes(&[100.0, 100.0, 50.0, 50.0])),
        ("CCC", closes(&[100.0, 100.0, 55.0, 55.0])),
    ]);
    let r = backtest(&h, &params(Fill::Close));
    let mut held: Vec<&str> = r.open.iter().map(|o| o.symbol.as_str()).collect();
    held.sort();
    // -50% and -45% are bought; -35% waits for a free slot.
    assert_eq!(held, ["BBB", "CCC"]);
    assert!(
        r.open
            .iter()
            .all(|o| close_to(o.shares * o.entry_price, 500.0))
    );
}

#[test]
fn split_adjusted_bars_make_a_split_no_event() {
    // A 4:1 split on d3: the adjusted feed divides earlier bars by 4, so
    // the series is continuous and nothing is bought.
    let adjusted = closes(&[25.0, 25.5, 25.0, 25.25, 25.0, 24.5]);
    let h = market(&[("SPLT", adjusted)]);
    let r = backtest(&h, &params(Fill::Close));
    assert!(r.trades.is_empty() && r.open.is_empty());
    assert!(r.equity.iter().all(|e| close_to(*e, 1000.0)));
    // The raw prices would look like a 75% crash and be bought.
    let raw = closes(&[100.0, 102.0, 100.0, 25.25, 25.0, 24.5]);
    let r = backtest(&market(&[("SPLT", raw)]), &params(Fill::Close));
    assert_eq!(r.open.len(), 1);
}

#[test]
fn a_name_missing_delist_after_sessions_is_sold_at_its_last_close_less_the_haircut() {
    let mut ccc = closes(&[100.0, 100.0, 50.0, 55.0, 52.0, 48.0]);
    ccc.extend([None, None, None, None]);
    let h = market(&[("AAA", closes(&[10.0; 10])), ("CCC", ccc)]);
    let r = backtest(&h, &params(Fill::NextOpen));
    // Bought at d3's open 55 (500 / 55 shares); last bar d5 (48). d6 and
    // d7 could be a halt: held at 48. d8 is the third session without a
    // bar (delist_after = 3): sold at 48 less 50%.
    let shares = 500.0 / 55.0;
    let t = &r.trades[0];
    assert_eq!(t.reason, ExitReason::BarsEnded);
    assert_eq!(t.exit_date, h.dates()[8]);
    assert!(close_to(t.exit_price, 24.0));
    assert!(close_to(r.equity[6], 500.0 + shares * 48.0));
    assert!(close_to(r.equity[7], r.equity[6]));
    assert!(close_to(r.equity[8], 500.0 + shares * 24.0));
    assert_eq!(r.warnings.len(), 1);
    assert!(
        r.warnings[0].contains("CCC") && r.warnings[0].contains("2026-01-12"),
        "{}",
        r.warnings[0]
    );
}

#[test]
fn a_gap_shorter_than_delist_after_is_a_halt_held_at_the_last_close() {
    let mut ccc = closes(&[100.0, 100.0, 50.0, 55.0, 52.0, 48.0, 0.0, 0.0, 60.0, 61.0]);
    ccc[6] = None;
    ccc[7] = None;
    let h = market(&[("AAA", closes(&[10.0; 10])), ("CCC", ccc)]);
    let r = backtest(&h, &params(Fill::NextOpen));
    let shares = 500.0 / 55.0;
    assert!(r.trades.is_empty(), "{:?}", r.trades);
    assert!(r.warnings.is_empty());
    assert!(close_to(r.equity[7], 500.0 + shares * 48.0));
    assert!(close_to(r.equity[9], 500.0 + shares * 61.0));
    assert_eq!(r.open.len(), 1);
}

/// `h` cut after session `c`: the lake as it stood that evening.
fn cut(h: &PriceHistory, c: usize) -> PriceHistory {
    use crate::query::Field::*;
    let days = (0..=c)
        .map(|d| {
            let mut day = DayBars::new(h.dates()[d], false);
            for (s, sym) in h.symbols().iter().enumerate() {
                if h.present(s)[d] {
                    let v = |f| h.series(s, f)[d];
                    day.push(sym, [v(Open), v(High), v(Low), v(Close), 1000.0]);
                }
            }
            day
        })
        .collect();
    PriceHistory::from_days(days)
}

/// A random market with gaps: pauses of 1 to 8 sessions in names that
/// trade again, and names that stop for good.
fn gappy_market(seed: u64) -> PriceHistory {
    use rand::{Rng, SeedableRng};
    let base = random_market(seed, 30, 220);
    let mut rng = rand_pcg::Pcg64::seed_from_u64(seed + 1);
    let mut holes: Vec<(usize, std::ops::Range<usize>)> = Vec::new();
    for s in 0..base.symbols().len() {
        for _ in 0..3 {
            let at = rng.random_range(30..200);
            holes.push((s, at..at + rng.random_range(1..9)));
        }
    }
    use crate::query::Field::*;
    let days = (0..base.dates().len())
        .map(|d| {
            let mut day = DayBars::new(base.dates()[d], false);
            for (s, sym) in base.symbols().iter().enumerate() {
                let hole = holes.iter().any(|(hs, r)| *hs == s && r.contains(&d));
                if base.present(s)[d] && !hole {
                    let v = |f| base.series(s, f)[d];
                    day.push(sym, [v(Open), v(High), v(Low), v(Close), 1000.0]);
                }
            }
            day
        })
        .collect();
    PriceHistory::from_days(days)
}

#[test]
fn the_lake_cut_at_any_date_decides_as_the_full_lake_did() {
    // Every session cut, gaps and stops included: the run on the lake as
    // it stood on D equals the full lake's run through D (its equity, its
    // trades closed, its warnings), so nothing after D was used on D.
    let h = gappy_market(11);
    let ranks = DrawdownColumns::new(&h, &WIDE);
    for fill in [Fill::NextOpen, Fill::Close] {
        let p = strategy(fill);
        let full = run(&h, &ranks, &p, &[], 20, h.dates().len() - 1);
        let delisted = full
            .trades
            .iter()
            .filter(|t| t.reason == ExitReason::BarsEnded)
            .count();
        assert!(delisted > 0, "the case must delist a name");
        assert!(full.trades.len() > 20, "{}", full.trades.len());
        for c in 20..h.dates().len() {
            let lake = cut(&h, c);
            let short = run(&lake, &DrawdownColumns::new(&lake, &WIDE), &p, &[], 20, c);
            let n = short.equity.len();
            assert_eq!(short.equity[..], full.equity[..n], "{fill:?} cut at {c}");
            assert_eq!(
                short.trades[..],
                full.trades[..short.trades.len()],
                "{fill:?} cut at {c}"
            );
            let closed_by_c = full
                .trades
                .iter()
                .filter(|t| t.exit_date <= h.dates()[c])
                .count();
            assert_eq!(short.trades.len(), closed_by_c, "{fill:?} cut at {c}");
            assert_eq!(short.warnings[..], full.warnings[..short.warnings.len()]);
        }
    }
}

#[test]
fn the_portfolio_rule_sells_the_best_when_they_average_the_target() {
    let h = market(&[
        ("AAA", closes(&[100.0, 100.0, 50.0, 55.0, 75.0, 75.0])),
        ("BBB", closes(&[100.0, 100.0, 64.0, 64.0, 80.0, 80.0])),
    ]);
    let mut p = params(Fill::Close);
    p.exits.take_profit_pct = None;
    p.portfolio_rule = Some(PortfolioRule {
        top: 2,
        target_pct: 30.0,
    });
    let r = backtest(&h, &p);
    // d3: +10% and 0% (average 5): held. d4: +50% and +25% (average 37.5): both sold.
    assert_eq!(r.trades.len(), 2);
    assert!(
        r.trades
            .iter()
            .all(|t| t.reason == ExitReason::PortfolioRule)
    );
    assert!(r.trades.iter().all(|t| t.exit_date == h.dates()[4]));
    assert!(close_to(
        r.equity[4],
        500.0 / 50.0 * 75.0 + 500.0 / 64.0 * 80.0
    ));
}

#[test]
fn weekly_and_monthly_decisions_are_the_first_session_of_the_period() {
    use super::engine::is_decision;
    let cal = weekdays(30); // from Monday 2026-01-05
    let weekly: Vec<usize> = (0..30)
        .filter(|&d| is_decision(&cal, d, Rebalance::Weekly))
        .collect();
    assert_eq!(weekly, [0, 5, 10, 15, 20, 25]);
    let monthly: Vec<NaiveDate> = (0..30)
        .filter(|&d| is_decision(&cal, d, Rebalance::Monthly))
        .map(|d| cal[d])
        .collect();
    assert_eq!(
        monthly,
        [cal[0], NaiveDate::from_ymd_opt(2026, 2, 2).unwrap()]
    );
}

#[test]
fn a_benchmark_symbol_is_held_and_the_universe_equal_weighted() {
    let h = market(&[
        ("AAA", closes(&[100.0, 110.0, 99.0])),
        ("SPY", closes(&[400.0, 404.0, 408.04])),
    ]);
    let spy = benchmark::Benchmark::Symbol(Symbol::parse("SPY").unwrap());
    let b = benchmark::equity(&h, &spy, &[], 0, 2, 1000.0).unwrap();
    assert!(close_to(b[2], 1000.0 * 1.01 * 1.01));
    // AAA alone (SPY excluded): +10% then -10%.
    let u = benchmark::equity(&h, &benchmark::Benchmark::EqualWeight, &[1], 0, 2, 1000.0).unwrap();
    assert!(close_to(u[1], 1100.0) && close_to(u[2], 990.0));
    let missing = benchmark::Benchmark::Symbol(Symbol::parse("QQQ").unwrap());
    assert!(benchmark::equity(&h, &missing, &[], 0, 2, 1000.0).is_err());
}

#[test]
fn metrics_of_a_hand_computed_curve() {
    let cal = weekdays(4);
    // 1000 -> 1100 -> 990 -> 1089 -> 1200
    let equity = [1100.0, 990.0, 1089.0, 1200.0];
    let m = metrics::curve(&cal, &equity, 1000.0, 0.0, None);
    assert!(close_to(m.total_return_pct, 20.0));
    assert!(close_to(m.max_drawdown_pct, -10.0));
    assert_eq!(m.max_drawdown_peak, Some(cal[0]));
    assert_eq!(m.max_drawdown_trough, Some(cal[1]));
    assert_eq!(m.max_drawdown_recovery, Some(cal[3]));
    assert_eq!(m.longest_drawdown_sessions, 2);
    let r = [0.1, -0.1, 0.1, 1200.0 / 1089.0 - 1.0];
    let mean = r.iter().sum::<f64>() / 4.0;
    let sd = (r.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / 3.0).sqrt();
    assert!(close_to(m.sharpe.unwrap(), mean / sd * 252f64.sqrt()));
    assert!(close_to(
        m.cagr_pct.unwrap(),
        (1.2f64.powf(252.0 / 4.0) - 1.0) * 100.0
    ));
    let months = metrics::monthly(&cal, &equity, 1000.0);
    assert_eq!(months.len(), 1);
    assert!(close_to(months[0].return_pct, 20.0));
}

/// A random market: `symbols` names over `sessions`, some starting late or
/// stopping early.
fn random_market(seed: u64, symbols: usize, sessions: usize) -> PriceHistory {
    use rand::{Rng, SeedableRng};
    let mut rng = rand_pcg::Pcg64::seed_from_u64(seed);
    let names: Vec<String> = (0..symbols).map(|i| format!("S{i:03}")).collect();
    let series: Vec<(&str, Series)> = names
        .iter()
        .map(|name| {
            let (start, stop) = (
                rng.random_range(0..sessions / 4),
                if rng.random_bool(0.2) {
                    rng.random_range(sessions / 2..sessions)
                } else {
                    sessions
                },
            );
            let mut price = 100.0;
            let bars = (0..sessions)
                .map(|d| {
                    let open = price * (1.0 + rng.random_range(-0.01..0.01));
                    price *= 1.0 + rng.random_range(-0.06..0.055);
                    (start..stop).contains(&d).then_some((open, price))
                })
                .collect();
            (name.as_str(), bars)
        })
        .collect();
    market(&series)
}

fn strategy(fill: Fill) -> Params {
    Params {
        rebalance: Rebalance::Weekly,
        entry_pct: -20.0,
        max_positions: 5,
        sizing: Sizing::InverseVol,
        exits: ExitRules {
            take_profit_pct: Some(15.0),
            stop_loss_pct: Some(25.0),
            max_hold: Some(40),
        },
        portfolio_rule: Some(PortfolioRule {
            top: 3,
            target_pct: 10.0,
        }),
        fill,
        commission: 1.0,
        slippage_bps: 5.0,
        initial_capital: 100_000.0,
        delist_after: 4,
        delist_haircut_pct: 60.0,
    }
}

const WIDE: ScreenParams = ScreenParams {
    lookback_days: 60,
    min_history: 20,
    peak_basis: PeakBasis::High,
};

#[test]
fn a_shorter_backtest_is_the_same_up_to_its_end() {
    let h = random_market(3, 30, 250);
    let ranks = DrawdownColumns::new(&h, &WIDE);
    for fill in [Fill::NextOpen, Fill::Close] {
        let p = strategy(fill);
        let long = run(&h, &ranks, &p, &[], 20, 249);
        assert!(
            long.trades.len() > 10,
            "the case must trade: {}",
            long.trades.len()
        );
        for d2 in [60, 120, 200] {
            let short = run(&h, &ranks, &p, &[], 20, d2);
            assert_eq!(
                short.equity[..],
                long.equity[..short.equity.len()],
                "{fill:?} to {d2}"
            );
            // Trades are listed as they close: the short run's are the
            // long run's first ones.
            assert_eq!(short.trades[..], long.trades[..short.trades.len()]);
        }
    }
}

#[test]
fn changing_bars_after_a_decision_never_changes_it() {
    let h = random_market(5, 30, 200);
    let ranks = DrawdownColumns::new(&h, &WIDE);
    for fill in [Fill::NextOpen, Fill::Close] {
        let p = strategy(fill);
        let before = run(&h, &ranks, &p, &[], 20, 199);
        for x in [50, 100, 150] {
            // Every price after session x scaled by a different factor.
            let mut days: Vec<DayBars> =
                h.dates().iter().map(|d| DayBars::new(*d, false)).collect();
            for (s, sym) in h.symbols().iter().enumerate() {
                for (d, day) in days.iter_mut().enumerate() {
                    if !h.present(s)[d] {
                        continue;
                    }
                    let k = if d > x {
                        0.5 + (s * 7 + d) as f64 % 13.0 / 10.0
                    } else {
                        1.0
                    };
                    let v = |f| h.series(s, f)[d] * k;
                    use crate::query::Field::*;
                    day.push(sym, [v(Open), v(High), v(Low), v(Close), 1000.0]);
                }
            }
            let changed = PriceHistory::from_days(days);
            let after = run(
                &changed,
                &DrawdownColumns::new(&changed, &WIDE),
                &p,
                &[],
                20,
                199,
            );
            let upto = x + 1 - 20;
            assert_eq!(
                before.equity[..upto],
                after.equity[..upto],
                "{fill:?} at {x}"
            );
            // Positions taken on decisions up to x: the same names.
            let last_fill = h.dates()[if fill == Fill::Close { x } else { x + 1 }];
            let entries = |r: &Run| {
                let mut e: Vec<(String, NaiveDate)> = r
                    .trades
                    .iter()
                    .map(|t| (t.symbol.clone(), t.entry_date))
                    .chain(r.open.iter().map(|o| (o.symbol.clone(), o.entry_date)))
                    .filter(|(_, d)| *d <= last_fill)
                    .collect();
                e.sort();
                e
            };
            assert!(!entries(&before).is_empty());
            assert_eq!(entries(&before), entries(&after), "{fill:?} at {x}");
        }
    }
}

#[test]
fn a_sweep_on_threads_equals_each_combination_run_alone() {
    use super::sweep;
    let h = random_market(9, 30, 200);
    let ranks = DrawdownColumns::new(&h, &WIDE);
    let axes = [
        sweep::parse_axis("entry=-15,-25").unwrap(),
        sweep::parse_axis("top=2,4,6").unwrap(),
    ];
    let combos = sweep::grid(&strategy(Fill::NextOpen), &axes);
    assert_eq!(combos.len(), 6);
    let points = sweep::run_grid(&h, &ranks, &combos, &[], 20, 199, None, 0.0, 3);
    for ((values, p), point) in combos.iter().zip(&points) {
        assert_eq!(&point.values, values);
        assert_eq!(
            (p.entry_pct, p.max_positions as f64),
            (values[0], values[1])
        );
        let alone = run(&h, &ranks, p, &[], 20, 199);
        assert_eq!(
            point.metrics,
            metrics::of_run(&alone, p.initial_capital, 0.0, None)
        );
    }
}

#[test]
fn the_underwater_curve_bottoms_at_the_max_drawdown() {
    let equity = [100.0, 110.0, 99.0, 88.0, 120.0, 96.0];
    let dates = weekdays(equity.len());
    let under = metrics::underwater(100.0, &equity);
    assert!(close_to(under[0], 0.0) && close_to(under[1], 0.0));
    assert!(close_to(under[3], -20.0), "88 is 20% below 110: {under:?}");
    assert!(close_to(under[4], 0.0) && close_to(under[5], -20.0));
    let m = metrics::curve(&dates, &equity, 100.0, 0.0, None);
    let lowest = under.iter().copied().fold(0.0, f64::min);
    assert!(
        close_to(lowest, m.max_drawdown_pct),
        "{lowest} vs {}",
        m.max_drawdown_pct
    );
    // From below the initial capital: underwater from the first session.
    assert!(close_to(metrics::underwater(100.0, &[90.0])[0], -10.0));
}

#[test]
fn a_position_past_its_take_profit_counts_for_the_portfolio_rule_as_in_the_risk_view() {
    // The README's example: take-profit 100, top 3, target 90; the three
    // names bought at 50 close at +120%, +90% and +85% on d3.
    let h = market(&[
        ("AAA", closes(&[100.0, 100.0, 50.0, 110.0, 110.0])),
        ("BBB", closes(&[100.0, 100.0, 50.0, 95.0, 95.0])),
        ("CCC", closes(&[100.0, 100.0, 50.0, 92.5, 92.5])),
    ]);
    let mut p = params(Fill::Close);
    p.max_positions = 3;
    p.exits.take_profit_pct = Some(100.0);
    p.portfolio_rule = Some(PortfolioRule {
        top: 3,
        target_pct: 90.0,
    });
    let r = backtest(&h, &p);
    let sold: Vec<(&str, ExitReason, NaiveDate)> = r
        .trades
        .iter()
        .map(|t| (t.symbol.as_str(), t.reason, t.exit_date))
        .collect();
    assert_eq!(
        sold,
        [
            ("AAA", ExitReason::TakeProfit, h.dates()[3]),
            ("BBB", ExitReason::PortfolioRule, h.dates()[3]),
            ("CCC", ExitReason::PortfolioRule, h.dates()[3]),
        ]
    );
    // The live account's verdict on the same returns: the rule fires over
    // the same three.
    use crate::domain::{Position, profit_check};
    use rust_decimal::Decimal;
    let held: Vec<Position> = [("AAA", 110), ("BBB", 95), ("CCC", 925)]
        .iter()
        .map(|(s, price)| {
            let price = if *s == "CCC" {
                Decimal::new(*price, 1)
            } else {
                Decimal::from(*price)
            };
            Position::from_prices(
                Symbol::parse(s).unwrap(),
                Decimal::ONE,
                Decimal::from(50),
                price,
            )
        })
        .collect();
    let verdict = profit_check(&held, 3, Decimal::from(90));
    assert!(verdict.take_profit);
    assert_eq!(verdict.considered.len(), 3);
}
