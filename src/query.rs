//! Daily bar history as columns: dates x symbols, one contiguous `f64`
//! column per field and symbol, with a presence mask. Charts, the backtest
//! and the risk view read a symbol's whole series as one slice instead of
//! walking per-date rows.
//!
//! The layout is symbol-major (`[symbol * dates + date]`): what every
//! consumer asks for is "this symbol over time", which is then one slice.
//! `f64` because the screen's drawdowns are computed in `f64` from the same
//! prices; a backtest ranking on this history must agree with the screen to
//! the last digit.

use std::collections::HashMap;

use chrono::NaiveDate;

use crate::domain::{Bar, Symbol};

/// One bar field held as a column.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Field {
    /// Opening price.
    Open,
    /// High.
    High,
    /// Low.
    Low,
    /// Close.
    Close,
    /// Shares traded.
    Volume,
}

/// One published date's bars, parsed (the unit the loader works in). The
/// tickers are kept as one text, not a [`Symbol`] a row: years of history
/// are millions of rows of the same thousand tickers, made symbols once
/// when the columns are assembled.
#[derive(Debug, Clone, PartialEq)]
pub struct DayBars {
    /// The session.
    pub date: NaiveDate,
    /// Whether the date's run was on simulated prices.
    pub simulated: bool,
    tickers: String,
    ends: Vec<usize>,
    values: Vec<[f64; 5]>,
}

impl DayBars {
    /// No rows yet.
    pub fn new(date: NaiveDate, simulated: bool) -> Self {
        Self {
            date,
            simulated,
            tickers: String::new(),
            ends: Vec::new(),
            values: Vec::new(),
        }
    }

    /// Add a row: `symbol` and `[open, high, low, close, volume]`.
    pub fn push(&mut self, symbol: &Symbol, values: [f64; 5]) {
        self.push_text(symbol.as_str(), values);
    }

    /// Add a row whose ticker is known canonical ([`Symbol::is_canonical`]):
    /// the bars parser checked it, so it is not made a [`Symbol`] again.
    pub(crate) fn push_text(&mut self, ticker: &str, values: [f64; 5]) {
        self.tickers.push_str(ticker);
        self.ends.push(self.tickers.len());
        self.values.push(values);
    }

    /// The rows in file order: ticker and `[open, high, low, close, volume]`.
    pub fn rows(&self) -> impl Iterator<Item = (&str, [f64; 5])> {
        let starts = std::iter::once(0).chain(self.ends.iter().copied());
        starts
            .zip(&self.ends)
            .zip(&self.values)
            .map(|((start, end), v)| (&self.tickers[start..*end], *v))
    }
}

/// The universe's daily bars over a run of published dates. (No
/// `PartialEq`: absent cells are `NaN`, which never equals itself.)
#[derive(Debug, Clone, Default)]
pub struct PriceHistory {
    dates: Vec<NaiveDate>,
    simulated: Vec<bool>,
    symbols: Vec<Symbol>,
    index: HashMap<Symbol, usize>,
    /// Five columns (see [`Field`]), each `symbols x dates`, symbol-major.
    columns: [Vec<f64>; 5],
    present: Vec<bool>,
}

impl PriceHistory {
    /// Assemble columns from per-date bars (any order; a date given twice
    /// keeps the later one). Symbols are sorted; a symbol missing on a date
    /// is absent there (`NaN`, mask false).
    pub fn from_days(mut days: Vec<DayBars>) -> Self {
        days.sort_by_key(|d| d.date);
        days.dedup_by(|later, earlier| {
            let same = later.date == earlier.date;
            if same {
                std::mem::swap(later, earlier);
            }
            same
        });
        // Every row's ticker is canonical (checked when parsed or pushed),
        // so each distinct one becomes a Symbol once.
        let mut texts: Vec<&str> = days.iter().flat_map(|d| d.rows().map(|(t, _)| t)).collect();
        texts.sort_unstable();
        texts.dedup();
        let symbols: Vec<Symbol> = texts.iter().filter_map(|t| Symbol::parse(t).ok()).collect();
        // (Canonical text always parses; were one not to, it is left out.)
        texts.retain(|t| Symbol::is_canonical(t));
        let slot: HashMap<&str, usize> = texts.iter().enumerate().map(|(i, t)| (*t, i)).collect();
        let n_dates = days.len();
        let cells = texts.len() * n_dates;
        let mut columns: [Vec<f64>; 5] = std::array::from_fn(|_| vec![f64::NAN; cells]);
        let mut present = vec![false; cells];
        for (d, day) in days.iter().enumerate() {
            for (ticker, values) in day.rows() {
                let Some(row) = slot.get(ticker) else {
                    continue;
                };
                let cell = row * n_dates + d;
                for (column, v) in columns.iter_mut().zip(values) {
                    column[cell] = v;
                }
                present[cell] = true;
            }
        }
        let index: HashMap<Symbol, usize> = symbols
            .iter()
            .enumerate()
            .map(|(i, s)| (s.clone(), i))
            .collect();
        Self {
            dates: days.iter().map(|d| d.date).collect(),
            simulated: days.iter().map(|d| d.simulated).collect(),
            symbols,
            index,
            columns,
            present,
        }
    }

    /// The dates, oldest first.
    pub fn dates(&self) -> &[NaiveDate] {
        &self.dates
    }

    /// The symbols that have at least one bar, sorted.
    pub fn symbols(&self) -> &[Symbol] {
        &self.symbols
    }

    /// True when no date is held.
    pub fn is_empty(&self) -> bool {
        self.dates.is_empty()
    }

    /// Bars held (present cells).
    pub fn bar_count(&self) -> usize {
        self.present.iter().filter(|p| **p).count()
    }

    /// Whether any held date was collected from simulated prices: every
    /// picture or figure drawn from this history must then say so.
    pub fn any_simulated(&self) -> bool {
        self.simulated.iter().any(|s| *s)
    }

    /// Whether the date at `d` was collected from simulated prices.
    pub fn is_simulated(&self, d: usize) -> bool {
        self.simulated[d]
    }

    /// Position of `symbol`, if it has bars here.
    pub fn symbol_index(&self, symbol: &Symbol) -> Option<usize> {
        self.index.get(symbol).copied()
    }

    /// Position of `date`, if held.
    pub fn date_index(&self, date: NaiveDate) -> Option<usize> {
        self.dates.binary_search(&date).ok()
    }

    /// One field of symbol `s` over every date (`NaN` where absent).
    pub fn series(&self, s: usize, field: Field) -> &[f64] {
        let n = self.dates.len();
        &self.columns[field as usize][s * n..(s + 1) * n]
    }

    /// Which dates symbol `s` has a bar on.
    pub fn present(&self, s: usize) -> &[bool] {
        let n = self.dates.len();
        &self.present[s * n..(s + 1) * n]
    }

    /// Symbol `s`'s bars up to and including date position `through`, as
    /// the screen engine takes them (`trade_count` and `vwap` are not held).
    pub fn bars(&self, s: usize, through: usize) -> Vec<Bar> {
        let field = |f: Field| self.series(s, f);
        let (open, high, low, close, volume) = (
            field(Field::Open),
            field(Field::High),
            field(Field::Low),
            field(Field::Close),
            field(Field::Volume),
        );
        let present = self.present(s);
        (0..=through.min(self.dates.len().saturating_sub(1)))
            .filter(|d| present[*d])
            .map(|d| Bar {
                date: self.dates[d],
                open: open[d],
                high: high[d],
                low: low[d],
                close: close[d],
                volume: volume[d] as u64,
                trade_count: None,
                vwap: None,
            })
            .collect()
    }

    /// The last `n` dates of this history (all of it when shorter): the
    /// span the daemon keeps in memory.
    pub fn tail(&self, n: usize) -> Self {
        let start = self.dates.len().saturating_sub(n);
        if start == 0 {
            return self.clone();
        }
        let n_dates = self.dates.len();
        let keep = n_dates - start;
        let slice = |v: &Vec<f64>| -> Vec<f64> {
            v.chunks(n_dates)
                .flat_map(|c| c[start..].iter().copied())
                .collect()
        };
        let present: Vec<bool> = self
            .present
            .chunks(n_dates)
            .flat_map(|c| c[start..].iter().copied())
            .collect();
        // Symbols with no bar left in the span are dropped.
        let kept: Vec<usize> = (0..self.symbols.len())
            .filter(|s| present[s * keep..(s + 1) * keep].iter().any(|p| *p))
            .collect();
        let pick_f = |v: Vec<f64>| -> Vec<f64> {
            kept.iter()
                .flat_map(|s| v[s * keep..(s + 1) * keep].iter().copied())
                .collect()
        };
        let columns = self.columns.each_ref().map(|c| pick_f(slice(c)));
        let present = kept
            .iter()
            .flat_map(|s| present[s * keep..(s + 1) * keep].iter().copied())
            .collect();
        let symbols: Vec<Symbol> = kept.iter().map(|s| self.symbols[*s].clone()).collect();
        let index = symbols
            .iter()
            .enumerate()
            .map(|(i, s)| (s.clone(), i))
            .collect();
        Self {
            dates: self.dates[start..].to_vec(),
            simulated: self.simulated[start..].to_vec(),
            symbols,
            index,
            columns,
            present,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    use crate::test_support::d;

    fn day(date: &str, rows: &[(&str, f64)]) -> DayBars {
        let mut day = DayBars::new(d(date), false);
        for (s, c) in rows {
            let values = [*c - 1.0, *c + 1.0, *c - 2.0, *c, 1000.0];
            day.push(&Symbol::parse(s).unwrap(), values);
        }
        day
    }

    #[test]
    fn columns_are_symbol_major_with_gaps_masked() {
        let h = PriceHistory::from_days(vec![
            day("2026-11-20", &[("MSFT", 20.0), ("AAPL", 10.0)]),
            day("2026-11-18", &[("AAPL", 8.0)]),
            day("2026-11-19", &[("AAPL", 9.0), ("MSFT", 19.0)]),
        ]);
        assert_eq!(
            h.dates(),
            [d("2026-11-18"), d("2026-11-19"), d("2026-11-20")]
        );
        let names: Vec<&str> = h.symbols().iter().map(|s| s.as_str()).collect();
        assert_eq!(names, ["AAPL", "MSFT"]);
        let aapl = h.symbol_index(&Symbol::parse("AAPL").unwrap()).unwrap();
        let msft = h.symbol_index(&Symbol::parse("MSFT").unwrap()).unwrap();
        assert_eq!(h.series(aapl, Field::Close), [8.0, 9.0, 10.0]);
        assert_eq!(h.present(msft), [false, true, true]);
        assert!(h.series(msft, Field::Close)[0].is_nan());
        assert_eq!(h.series(msft, Field::High)[2], 21.0);
        assert_eq!(h.bar_count(), 5);
        let bars = h.bars(msft, 1);
        assert_eq!(bars.len(), 1);
        assert_eq!(
            (bars[0].date, bars[0].close, bars[0].volume),
            (d("2026-11-19"), 19.0, 1000)
        );
    }

    #[test]
    fn tail_keeps_the_last_dates_and_drops_symbols_without_bars_there() {
        let h = PriceHistory::from_days(vec![
            day("2026-11-18", &[("GONE", 5.0), ("AAPL", 8.0)]),
            day("2026-11-19", &[("AAPL", 9.0)]),
            day("2026-11-20", &[("AAPL", 10.0), ("MSFT", 20.0)]),
        ]);
        let t = h.tail(2);
        assert_eq!(t.dates(), [d("2026-11-19"), d("2026-11-20")]);
        let names: Vec<&str> = t.symbols().iter().map(|s| s.as_str()).collect();
        assert_eq!(names, ["AAPL", "MSFT"]);
        let msft = t.symbol_index(&Symbol::parse("MSFT").unwrap()).unwrap();
        assert_eq!(t.present(msft), [false, true]);
        assert_eq!(t.series(0, Field::Close), [9.0, 10.0]);
        let whole = h.tail(10);
        assert_eq!(whole.dates(), h.dates());
        assert_eq!(whole.symbols(), h.symbols());
        assert_eq!(whole.present(1), h.present(1));
    }
}
