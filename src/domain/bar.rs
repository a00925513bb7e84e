use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

/// One daily bar of one symbol, split-adjusted. `date` is the New York
/// trading date the bar belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Bar {
    /// Trading date (exchange time).
    pub date: NaiveDate,
    /// Opening price.
    pub open: f64,
    /// Highest price of the day.
    pub high: f64,
    /// Lowest price of the day.
    pub low: f64,
    /// Closing price.
    pub close: f64,
    /// Shares traded.
    pub volume: u64,
    /// Number of trades, when the source reports it.
    pub trade_count: Option<u64>,
    /// Volume-weighted average price, when the source reports it.
    pub vwap: Option<f64>,
}

/// A bar dropped at the edge, and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BarRejection {
    /// Date of the dropped bar.
    pub date: NaiveDate,
    /// What was wrong with it.
    pub reason: String,
}

impl Bar {
    /// Why this bar cannot be trusted on its own, if anything.
    fn defect(&self) -> Option<String> {
        let prices = [
            ("open", self.open),
            ("high", self.high),
            ("low", self.low),
            ("close", self.close),
        ];
        for (name, v) in prices {
            if !v.is_finite() || v <= 0.0 {
                return Some(format!("{name} {v} is not a positive finite price"));
            }
        }
        if self.low > self.high {
            return Some(format!("low {} above high {}", self.low, self.high));
        }
        for (name, v) in [("open", self.open), ("close", self.close)] {
            if v < self.low || v > self.high {
                return Some(format!(
                    "{name} {v} outside the day's range {}..{}",
                    self.low, self.high
                ));
            }
        }
        if let Some(vwap) = self.vwap
            && (!vwap.is_finite() || vwap <= 0.0 || vwap > MAX_PRICE)
        {
            return Some(format!("vwap {vwap} is not a plausible price"));
        }
        // Finite and ordered is not enough: a bad print (or a NaN that went
        // through a bad cast) can be 1e300, and one such high would be every
        // later screen's peak. No listed share costs ten million dollars, and
        // no real session trades ten times above (or below) both its open
        // and its close.
        let (body_lo, body_hi) = (self.open.min(self.close), self.open.max(self.close));
        if self.high > MAX_PRICE {
            return Some(format!("high {} is implausible", self.high));
        }
        if self.high > body_hi * MAX_WICK || self.low * MAX_WICK < body_lo {
            return Some(format!(
                "implausible range {}..{} for open {} and close {}",
                self.low, self.high, self.open, self.close
            ));
        }
        None
    }
}

/// Highest price a bar may carry (dollars).
const MAX_PRICE: f64 = 1e7;
/// How far a day's high (or low) may lie from its open and close, as a
/// factor, before the bar is taken for a bad print.
const MAX_WICK: f64 = 10.0;

/// Keep the bars of one symbol that can be trusted, in date order, and say
/// why each other one was dropped: non-positive, non-finite or implausible
/// prices (a bad print ten times away from the open and close), a low above
/// the high, an open or close outside the day's range, a date equal to or
/// before the previous kept bar (duplicate or out of order).
pub fn validate_series(bars: Vec<Bar>) -> (Vec<Bar>, Vec<BarRejection>) {
    let mut kept: Vec<Bar> = Vec::with_capacity(bars.len());
    let mut rejected = Vec::new();
    for bar in bars {
        if let Some(reason) = bar.defect() {
            rejected.push(BarRejection {
                date: bar.date,
                reason,
            });
            continue;
        }
        if let Some(prev) = kept.last() {
            if bar.date == prev.date {
                rejected.push(BarRejection {
                    date: bar.date,
                    reason: "duplicate date".into(),
                });
                continue;
            }
            if bar.date < prev.date {
                rejected.push(BarRejection {
                    date: bar.date,
                    reason: format!("out of order (after {})", prev.date),
                });
                continue;
            }
        }
        kept.push(bar);
    }
    (kept, rejected)
}

#[cfg(test)]
pub(crate) fn bar(date: &str, high: f64, close: f64) -> Bar {
    Bar {
        date: date.parse().expect("test date"),
        open: close,
        high,
        low: close.min(high),
        close,
        volume: 1000,
        trade_count: None,
        vwap: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_good_bars_in_order() {
        let (kept, rej) = validate_series(vec![
            bar("2026-01-02", 11.0, 10.0),
            bar("2026-01-05", 12.0, 11.0),
        ]);
        assert_eq!(kept.len(), 2);
        assert!(rej.is_empty());
    }

    #[test]
    fn drops_each_kind_of_bad_bar_with_a_reason() {
        let mut nan = bar("2026-01-06", 12.0, 11.0);
        nan.close = f64::NAN;
        let mut neg = bar("2026-01-07", 12.0, 11.0);
        neg.low = -1.0;
        let mut inverted = bar("2026-01-08", 12.0, 11.0);
        inverted.low = 13.0;
        let mut outside = bar("2026-01-09", 12.0, 11.0);
        outside.open = 12.5;
        let input = vec![
            bar("2026-01-02", 11.0, 10.0),
            bar("2026-01-02", 11.0, 10.0),
            bar("2026-01-01", 11.0, 10.0),
            nan,
            neg,
            inverted,
            outside,
            bar("2026-01-12", 12.0, 11.0),
        ];
        let (kept, rej) = validate_series(input);
        assert_eq!(
            kept.iter().map(|b| b.date.to_string()).collect::<Vec<_>>(),
            ["2026-01-02", "2026-01-12"]
        );
        let reasons: Vec<_> = rej.iter().map(|r| r.reason.as_str()).collect();
        assert_eq!(reasons[0], "duplicate date");
        assert!(reasons[1].starts_with("out of order"));
        assert!(reasons[2].contains("close NaN"));
        assert!(reasons[3].contains("low -1"));
        assert!(reasons[4].contains("above high"));
        assert!(reasons[5].contains("open 12.5 outside"));
    }

    #[test]
    fn drops_finite_but_implausible_prices() {
        // What the fake Alpaca's "huge value" spoiling sends: ordered and
        // finite, but one such high would be every later screen's peak.
        let mut huge = bar("2026-01-06", 12.0, 11.0);
        huge.high = 1e300;
        huge.vwap = Some(1e300);
        let mut wick = bar("2026-01-07", 12.0, 11.0);
        wick.high = 150.0;
        let mut low_wick = bar("2026-01-08", 12.0, 11.0);
        low_wick.low = 1.0;
        let mut vwap = bar("2026-01-09", 12.0, 11.0);
        vwap.vwap = Some(2e7);
        let mut berkshire = bar("2026-01-12", 730_000.0, 725_000.0);
        berkshire.low = 720_000.0;
        let (kept, rej) = validate_series(vec![huge, wick, low_wick, vwap, berkshire]);
        assert_eq!(kept.len(), 1, "a dear share is still a share: {rej:?}");
        assert_eq!(kept[0].close, 725_000.0);
        let reasons: Vec<_> = rej.iter().map(|r| r.reason.as_str()).collect();
        assert!(reasons[0].contains("not a plausible price"), "{reasons:?}");
        assert!(reasons[1].starts_with("implausible range"), "{reasons:?}");
        assert!(reasons[2].starts_with("implausible range"), "{reasons:?}");
        assert!(reasons[3].starts_with("vwap 20000000"), "{reasons:?}");
    }
}
