//! The drawdown engine's tests: the three implementations agree, and
//! each follows the definition on hand-computed cases.

use super::*;
use crate::test_support::weekdays;

/// Bars on `dates` with the given (high, close); open = low = close.
fn series(dates: &[NaiveDate], hc: &[(f64, f64)]) -> Vec<Bar> {
    dates
        .iter()
        .zip(hc)
        .map(|(d, (h, c))| Bar {
            date: *d,
            open: *c,
            high: *h,
            low: *c,
            close: *c,
            volume: 100,
            trade_count: None,
            vwap: None,
        })
        .collect()
}

fn params(lookback: usize, min: usize) -> ScreenParams {
    ScreenParams {
        lookback_days: lookback,
        min_history: min,
        peak_basis: PeakBasis::High,
    }
}

fn run(cal: &[NaiveDate], input: &[(&str, Vec<Bar>)], p: ScreenParams) -> Screen {
    let syms: Vec<_> = input
        .iter()
        .map(|(s, b)| (Symbol::parse(s).unwrap(), b))
        .collect();
    let days = TradingDays::new(cal.to_vec());
    screen(
        *cal.last().unwrap(),
        syms.iter().map(|(s, b)| (s, b.as_slice())),
        &days,
        &p,
    )
}

#[test]
fn flat_prices_are_zero_drawdown_peaking_today() {
    let cal = weekdays(40);
    let s = run(
        &cal,
        &[("FLAT", series(&cal, &[(10.0, 10.0); 40]))],
        params(180, 30),
    );
    let r = &s.rows[0];
    assert_eq!(r.drawdown_pct, 0.0);
    assert!(r.drawdown_pct.is_sign_positive());
    assert_eq!(r.peak_date, cal[39]);
    assert_eq!(r.days_since_peak, 0);
    assert_eq!(r.rank, 1);
}

#[test]
fn new_high_today_is_zero_days() {
    let cal = weekdays(35);
    let hc: Vec<_> = (0..35).map(|i| (10.0 + i as f64, 9.5 + i as f64)).collect();
    let s = run(&cal, &[("UP", series(&cal, &hc))], params(180, 30));
    let r = &s.rows[0];
    // peak = today's high 44, close 43.5: -1.1364%
    assert_eq!(r.peak_price, 44.0);
    assert_eq!(r.peak_date, cal[34]);
    assert_eq!(r.days_since_peak, 0);
    assert_eq!(r.drawdown_pct, -1.1364);
    assert_eq!(r.current_price, 43.5);
}

#[test]
fn peak_tie_takes_the_most_recent_bar() {
    let cal = weekdays(30);
    let mut hc = vec![(10.0, 10.0); 30];
    hc[5] = (12.0, 11.0);
    hc[20] = (12.0, 11.0);
    hc[29] = (9.0, 9.0);
    let s = run(&cal, &[("TIE", series(&cal, &hc))], params(180, 30));
    let r = &s.rows[0];
    assert_eq!(r.peak_date, cal[20]);
    assert_eq!(r.days_since_peak, 9);
    assert_eq!(r.drawdown_pct, -25.0);
}

#[test]
fn fewer_than_min_history_is_skipped_with_reason() {
    let cal = weekdays(40);
    let s = run(
        &cal,
        &[("NEW", series(&cal[11..], &[(10.0, 10.0); 29]))],
        params(180, 30),
    );
    assert!(s.rows.is_empty());
    assert_eq!(s.skipped[0].symbol.as_str(), "NEW");
    assert_eq!(
        s.skipped[0].reason,
        SkipReason::InsufficientHistory {
            bars: 29,
            required: 30
        }
    );
}

#[test]
fn split_adjusted_four_for_one_is_not_a_crash() {
    // Raw prices ~400 then ~100 after a 4:1 split on day 20; the
    // adjusted feed divides the pre-split bars by 4.
    let cal = weekdays(40);
    let raw: Vec<(f64, f64)> = (0..40)
        .map(|i| {
            if i < 20 {
                (404.0, 400.0)
            } else {
                (101.0, 100.0)
            }
        })
        .collect();
    let adjusted: Vec<(f64, f64)> = raw
        .iter()
        .enumerate()
        .map(|(i, (h, c))| if i < 20 { (h / 4.0, c / 4.0) } else { (*h, *c) })
        .collect();
    let s = run(&cal, &[("SPLT", series(&cal, &adjusted))], params(180, 30));
    let r = &s.rows[0];
    // Peak 101 (the most recent 101 high), close 100: -0.9901%, not -75%.
    assert_eq!(r.peak_price, 101.0);
    assert_eq!(r.drawdown_pct, -0.9901);
    assert_eq!(r.days_since_peak, 0);
    // The same bars unadjusted would read as a crash: the reason the
    // collector asks for split-adjusted data.
    let crash = run(&cal, &[("SPLT", series(&cal, &raw))], params(180, 30));
    assert_eq!(crash.rows[0].drawdown_pct, -75.2475);
}

#[test]
fn gaps_count_trading_days_not_bars() {
    // The symbol has no bars on sessions 31..=35 (a halt).
    let cal = weekdays(45);
    let dates: Vec<_> = cal
        .iter()
        .enumerate()
        .filter(|(i, _)| !(31..=35).contains(i))
        .map(|(_, d)| *d)
        .collect();
    let mut hc = vec![(10.0, 10.0); dates.len()];
    hc[30] = (20.0, 19.0); // session 30, just before the halt
    *hc.last_mut().unwrap() = (15.0, 15.0);
    let s = run(&cal, &[("GAP", series(&dates, &hc))], params(180, 30));
    let r = &s.rows[0];
    assert_eq!(r.peak_date, cal[30]);
    assert_eq!(r.days_since_peak, 14, "sessions 30 -> 44, halt included");
    assert_eq!(r.drawdown_pct, -25.0);
}

#[test]
fn window_is_the_last_lookback_sessions() {
    let cal = weekdays(50);
    let mut hc = vec![(10.0, 8.0); 50];
    hc[10] = (100.0, 90.0); // outside a 30-session window
    hc[25] = (12.0, 11.0); // inside
    let s = run(&cal, &[("WIN", series(&cal, &hc))], params(30, 20));
    let r = &s.rows[0];
    assert_eq!(r.peak_price, 12.0);
    assert_eq!(r.peak_date, cal[25]);
    assert_eq!(r.drawdown_pct, -33.3333);
    // a wider window sees the old peak
    let wide = run(&cal, &[("WIN", series(&cal, &hc))], params(180, 20));
    assert_eq!(wide.rows[0].peak_price, 100.0);
    assert_eq!(wide.rows[0].drawdown_pct, -92.0);
}

#[test]
fn stale_and_empty_series_are_skipped() {
    let cal = weekdays(40);
    let s = run(
        &cal,
        &[
            ("OLD", series(&cal[..39], &[(10.0, 10.0); 39])),
            ("NONE", vec![]),
        ],
        params(180, 30),
    );
    assert!(s.rows.is_empty());
    assert_eq!(s.skipped[0].reason, SkipReason::Stale { last_bar: cal[38] });
    assert_eq!(s.skipped[1].reason, SkipReason::NoBars);
}

#[test]
fn bars_after_the_screen_date_are_ignored() {
    let cal = weekdays(40);
    let mut hc = vec![(10.0, 10.0); 40];
    hc[39] = (50.0, 50.0);
    let bars = series(&cal, &hc);
    let sym = Symbol::parse("FUT").unwrap();
    let days = TradingDays::new(cal.clone());
    let s = screen(cal[38], [(&sym, bars.as_slice())], &days, &params(180, 30));
    assert_eq!(s.date, cal[38]);
    assert_eq!(s.rows[0].current_price, 10.0);
    assert_eq!(s.rows[0].peak_price, 10.0);
}

#[test]
fn ranks_deepest_first_and_breaks_ties_by_symbol() {
    let cal = weekdays(30);
    let mk = |close: f64| {
        let mut hc = vec![(10.0, 10.0); 30];
        hc[29] = (close, close);
        series(&cal, &hc)
    };
    let s = run(
        &cal,
        &[
            ("BBB", mk(5.0)),
            ("CCC", mk(9.0)),
            ("AAA", mk(5.0)),
            ("DDD", mk(2.0)),
        ],
        params(180, 30),
    );
    let order: Vec<_> = s
        .rows
        .iter()
        .map(|r| (r.rank, r.symbol.as_str(), r.drawdown_pct))
        .collect();
    assert_eq!(
        order,
        [
            (1, "DDD", -80.0),
            (2, "AAA", -50.0),
            (3, "BBB", -50.0),
            (4, "CCC", -10.0)
        ]
    );
}

#[test]
fn close_basis_ignores_intraday_highs() {
    let cal = weekdays(30);
    let mut hc = vec![(10.0, 10.0); 30];
    hc[3] = (30.0, 12.0);
    hc[29] = (9.0, 9.0);
    let mut p = params(180, 30);
    p.peak_basis = PeakBasis::Close;
    let s = run(&cal, &[("CLS", series(&cal, &hc))], p);
    assert_eq!(s.rows[0].peak_price, 12.0);
    assert_eq!(s.rows[0].drawdown_pct, -25.0);
}

/// The definition, written the obvious way: filter the bars by date
/// window, take the max, count calendar sessions.
fn naive(
    date: NaiveDate,
    bars: &[Bar],
    cal: &[NaiveDate],
    p: &ScreenParams,
) -> Result<(f64, NaiveDate, u32, f64), SkipReason> {
    let upto: Vec<&Bar> = bars.iter().filter(|b| b.date <= date).collect();
    let last = upto.last().ok_or(SkipReason::NoBars)?;
    if last.date < date {
        return Err(SkipReason::Stale {
            last_bar: last.date,
        });
    }
    let sessions: Vec<NaiveDate> = cal.iter().copied().filter(|d| *d <= date).collect();
    let ws = sessions[sessions.len().saturating_sub(p.lookback_days)];
    let window: Vec<&Bar> = upto.iter().copied().filter(|b| b.date >= ws).collect();
    if window.len() < p.min_history {
        return Err(SkipReason::InsufficientHistory {
            bars: window.len(),
            required: p.min_history,
        });
    }
    let peak = window.iter().map(|b| b.high).fold(f64::MIN, f64::max);
    let peak_date = window.iter().rev().find(|b| b.high == peak).unwrap().date;
    let pos = |d: NaiveDate| sessions.iter().position(|x| *x == d).unwrap();
    let days = (pos(last.date) - pos(peak_date)) as u32;
    Ok((
        peak,
        peak_date,
        days,
        round4((last.close - peak) / peak * 100.0),
    ))
}

#[test]
fn matches_a_naive_reference_on_random_series() {
    use rand::{Rng, SeedableRng};
    let mut rng = rand_pcg::Pcg64::seed_from_u64(7);
    let cal = weekdays(120);
    let days = TradingDays::new(cal.clone());
    for case in 0..400 {
        let p = ScreenParams {
            lookback_days: rng.random_range(2..100),
            min_history: rng.random_range(1..40),
            peak_basis: PeakBasis::High,
        };
        // A random subset of sessions (gaps, late starts), random prices.
        let keep = rng.random_range(0.3..1.0);
        let mut bars: Vec<Bar> = Vec::new();
        for d in &cal {
            if !rng.random_bool(keep) {
                continue;
            }
            let c = rng.random_range(1.0..100.0_f64).round();
            let h = c + rng.random_range(0..3) as f64;
            bars.push(Bar {
                date: *d,
                open: c,
                high: h,
                low: c,
                close: c,
                volume: 1,
                trade_count: None,
                vwap: None,
            });
        }
        let date = cal[rng.random_range(0..cal.len())];
        let sym = Symbol::parse("R").unwrap();
        let got = screen(date, [(&sym, bars.as_slice())], &days, &p);
        let want = naive(date, &bars, &cal, &p);
        match (got.rows.first(), want) {
            (Some(r), Ok((peak, peak_date, d, dd))) => {
                assert_eq!(
                    (r.peak_price, r.peak_date, r.days_since_peak, r.drawdown_pct),
                    (peak, peak_date, d, dd),
                    "case {case}"
                );
            }
            (None, Err(reason)) => assert_eq!(got.skipped[0].reason, reason, "case {case}"),
            (row, want) => panic!(
                "case {case}: engine {row:?} / {:?}, reference {want:?}",
                got.skipped
            ),
        }
    }
}

#[test]
fn columns_rank_exactly_as_the_screen_on_every_date_both_ways() {
    use crate::query::{DayBars, PriceHistory};
    use rand::{Rng, SeedableRng};
    let mut rng = rand_pcg::Pcg64::seed_from_u64(11);
    let cal = weekdays(90);
    let names = ["AAA", "BBB", "CCC", "DDD", "EEE", "FFF"];
    let mut days: Vec<DayBars> = cal.iter().map(|d| DayBars::new(*d, false)).collect();
    for name in names {
        let sym = Symbol::parse(name).unwrap();
        // Late starts, gaps and early ends; integer prices so ties occur.
        let (start, end) = (rng.random_range(0..30), rng.random_range(60..=90));
        for day in &mut days[start..end] {
            if rng.random_bool(0.1) {
                continue;
            }
            let c = rng.random_range(5..40) as f64;
            let h = c + rng.random_range(0..3) as f64;
            day.push(&sym, [c, h, c, c, 1000.0]);
        }
    }
    let history = PriceHistory::from_days(days);
    let calendar = TradingDays::new(history.dates().to_vec());
    for (lookback, min_history, peak_basis) in [
        (20, 10, PeakBasis::High),
        (45, 30, PeakBasis::Close),
        (1, 1, PeakBasis::High),
        (200, 5, PeakBasis::High),
        (7, 3, PeakBasis::High),
        (90, 1, PeakBasis::Close),
        (89, 2, PeakBasis::High),
    ] {
        let p = ScreenParams {
            lookback_days: lookback,
            min_history,
            peak_basis,
        };
        let columns = DrawdownColumns::new(&history, &p);
        for d in 0..history.dates().len() {
            let bars: Vec<Vec<Bar>> = (0..history.symbols().len())
                .map(|s| history.bars(s, d))
                .collect();
            let want = screen(
                history.dates()[d],
                history.symbols().iter().zip(bars.iter().map(Vec::as_slice)),
                &calendar,
                &p,
            );
            let got = screen_columns(&history, d, &p);
            assert_eq!(got, want, "columns, date {d}, lookback {lookback}");
            // The all-dates columns rank the same names in the same
            // order with the same drawdowns, and no others.
            let ranked: Vec<(usize, f64)> = want
                .rows
                .iter()
                .map(|r| (history.symbol_index(&r.symbol).unwrap(), r.drawdown_pct))
                .collect();
            assert_eq!(
                columns.ranked_at(d, f64::INFINITY),
                ranked,
                "date {d}, lookback {lookback}"
            );
            for (s, _) in history.symbols().iter().enumerate() {
                let row = want
                    .rows
                    .iter()
                    .find(|r| history.symbol_index(&r.symbol) == Some(s));
                assert_eq!(columns.drawdown(s, d), row.map(|r| r.drawdown_pct));
            }
        }
    }
}
