//! Screen one date from bars: the pure core of a collection run, and what a
//! backtest calls per date. Given every symbol's bars (bars after the date
//! are ignored, so one history serves many dates), the exchange's sessions
//! and the screen settings, it ranks the drawdowns, lists what was skipped
//! and why, picks the bars the date publishes, and says whether the source
//! has published the day at all. No I/O, no clock.

use chrono::NaiveDate;

use crate::domain::{Bar, Symbol, SymbolIssue, TradingDays};
use crate::screen::{Screen, ScreenParams, screen};

/// When fewer than this share of the symbols that have history also have a
/// bar on the screen date, the source has not published the day yet.
pub const MIN_SHARE_WITH_TODAYS_BAR: f64 = 0.5;

/// One date's screen and the report figures that follow from the bars.
#[derive(Debug, Clone, PartialEq)]
pub struct DateScreen<'a> {
    /// Ranked rows (rank 1 deepest) and the symbols left out, with why.
    pub screen: Screen,
    /// Each symbol's bar on the date, in input order: the date's `bars`
    /// dataset.
    pub bars: Vec<(&'a Symbol, &'a Bar)>,
    /// Symbols with at least one bar on or before the date.
    pub with_history: usize,
}

impl DateScreen<'_> {
    /// The screen date.
    pub fn date(&self) -> chrono::NaiveDate {
        self.screen.date
    }

    /// Why the date cannot be published (too few symbols have a bar on it:
    /// the source has not published the day yet), or `None` when it can.
    pub fn unavailable(&self) -> Option<String> {
        let with_bar = self.bars.len();
        let enough = self.with_history > 0
            && with_bar as f64 >= MIN_SHARE_WITH_TODAYS_BAR * self.with_history as f64;
        (!enough).then(|| {
            format!(
                "only {with_bar} of {} symbols have a bar for {}: the source has not published the day yet",
                self.with_history,
                self.date()
            )
        })
    }

    /// The skipped symbols as the run report lists them.
    pub fn skipped_issues(&self) -> Vec<SymbolIssue> {
        self.screen
            .skipped
            .iter()
            .map(|s| SymbolIssue {
                symbol: s.symbol.clone(),
                reason: s.reason.to_string(),
            })
            .collect()
    }
}

/// Screen `date` from `series` (each sorted by date, unique: see
/// [`crate::domain::validate_series`]; bars after `date` are ignored) on
/// the sessions `days` with `params`.
pub fn screen_date<'a>(
    date: NaiveDate,
    series: &'a [(Symbol, Vec<Bar>)],
    unranked: Option<&Symbol>,
    days: &TradingDays,
    params: &ScreenParams,
) -> DateScreen<'a> {
    // The benchmark's bars are kept (the backtester compares against
    // them) but it is never ranked nor counted as the universe.
    let ranked = || series.iter().filter(move |(s, _)| Some(s) != unranked);
    let screen = screen(date, ranked().map(|(s, b)| (s, b.as_slice())), days, params);
    let bars = series
        .iter()
        .filter_map(|(s, bars)| {
            bars.binary_search_by_key(&date, |b| b.date)
                .ok()
                .map(|i| (s, &bars[i]))
        })
        .collect();
    let with_history = ranked()
        .filter(|(_, b)| b.first().is_some_and(|b| b.date <= date))
        .count();
    DateScreen {
        screen,
        bars,
        with_history,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::SkipReason;
    use crate::market::calendar::trading_days;
    use crate::screen::PeakBasis;
    use crate::test_support::{d, sym};

    fn bar(date: NaiveDate, close: f64) -> Bar {
        Bar {
            date,
            open: close,
            high: close,
            low: close,
            close,
            volume: 1_000,
            trade_count: None,
            vwap: None,
        }
    }

    /// One bar per session in `days`, closing at `closes` in turn.
    fn series(days: &[NaiveDate], closes: &[f64]) -> Vec<Bar> {
        days.iter().zip(closes).map(|(d, c)| bar(*d, *c)).collect()
    }

    const PARAMS: ScreenParams = ScreenParams {
        lookback_days: 5,
        min_history: 3,
        peak_basis: PeakBasis::Close,
    };

    #[test]
    fn ranks_lists_skips_and_picks_the_dates_bars() {
        // Five sessions, 2026-11-17 ..= 2026-11-23 (the weekend skipped).
        let all = trading_days(d("2026-11-17"), d("2026-11-23"));
        assert_eq!(all.len(), 5);
        let days = TradingDays::new(all.clone());
        let input = vec![
            // Peak 100, now 80: -20%, peak 3 sessions back.
            (sym("AAA"), series(&all, &[90.0, 100.0, 95.0, 85.0, 80.0])),
            // At its peak.
            (sym("BBB"), series(&all, &[10.0, 11.0, 12.0, 13.0, 14.0])),
            // Too short a history.
            (sym("CCC"), series(&all[3..], &[5.0, 5.0])),
            // No bar on the date.
            (sym("DDD"), series(&all[..4], &[7.0, 7.0, 7.0, 7.0])),
        ];
        let out = screen_date(d("2026-11-23"), &input, None, &days, &PARAMS);
        assert_eq!(out.date(), d("2026-11-23"));
        let ranked: Vec<(&str, f64, u32, u32)> = out
            .screen
            .rows
            .iter()
            .map(|r| (r.symbol.as_str(), r.drawdown_pct, r.rank, r.days_since_peak))
            .collect();
        assert_eq!(ranked, [("AAA", -20.0, 1, 3), ("BBB", 0.0, 2, 0)]);
        let skipped: Vec<(String, String)> = out
            .skipped_issues()
            .into_iter()
            .map(|s| (s.symbol.to_string(), s.reason))
            .collect();
        assert_eq!(
            skipped,
            [
                (
                    "CCC".to_string(),
                    SkipReason::InsufficientHistory {
                        bars: 2,
                        required: 3
                    }
                    .to_string()
                ),
                (
                    "DDD".to_string(),
                    SkipReason::Stale {
                        last_bar: d("2026-11-20")
                    }
                    .to_string()
                ),
            ]
        );
        let published: Vec<(&str, f64)> = out
            .bars
            .iter()
            .map(|(s, b)| (s.as_str(), b.close))
            .collect();
        assert_eq!(published, [("AAA", 80.0), ("BBB", 14.0), ("CCC", 5.0)]);
        assert_eq!(out.with_history, 4);
        assert_eq!(out.unavailable(), None);
    }

    #[test]
    fn bars_after_the_date_are_ignored_so_one_history_serves_many_dates() {
        let all = trading_days(d("2026-11-17"), d("2026-11-24"));
        let days = TradingDays::new(all.clone());
        let input = vec![(
            sym("AAA"),
            series(&all, &[90.0, 100.0, 95.0, 85.0, 80.0, 120.0]),
        )];
        let earlier = screen_date(d("2026-11-23"), &input, None, &days, &PARAMS);
        let later = screen_date(d("2026-11-24"), &input, None, &days, &PARAMS);
        assert_eq!(earlier.screen.rows[0].drawdown_pct, -20.0);
        assert_eq!(earlier.bars[0].1.close, 80.0);
        assert_eq!(later.screen.rows[0].drawdown_pct, 0.0);
        assert_eq!(later.bars[0].1.close, 120.0);
    }

    #[test]
    fn a_day_most_symbols_lack_is_not_available() {
        let all = trading_days(d("2026-11-17"), d("2026-11-24"));
        let days = TradingDays::new(all.clone());
        let closes = [1.0; 6];
        // Two of three symbols stop the day before: 1 of 3 < 50%.
        let input = vec![
            (sym("AAA"), series(&all, &closes)),
            (sym("BBB"), series(&all[..5], &closes)),
            (sym("CCC"), series(&all[..5], &closes)),
            // Listed after the date: not counted as having history.
            (sym("NEW"), Vec::new()),
        ];
        let out = screen_date(d("2026-11-24"), &input, None, &days, &PARAMS);
        assert_eq!(
            out.unavailable().as_deref(),
            Some(
                "only 1 of 3 symbols have a bar for 2026-11-24: the source has not published the day yet"
            )
        );
        // Half of them is enough.
        let out = screen_date(d("2026-11-24"), &input[..2], None, &days, &PARAMS);
        assert_eq!(out.unavailable(), None);
        // No history at all: nothing to publish.
        let empty = screen_date(d("2026-11-24"), &input[3..], None, &days, &PARAMS);
        assert!(
            empty
                .unavailable()
                .unwrap()
                .starts_with("only 0 of 0 symbols")
        );
    }
}
