use chrono::NaiveDate;

/// The exchange's trading days over some span, sorted and unique. Used to
/// count "trading days since" and to size look-back windows so a symbol
/// with missing bars (a halt) is not credited with a shorter distance.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TradingDays(Vec<NaiveDate>);

impl TradingDays {
    /// Build from any dates; sorts and removes duplicates.
    pub fn new(mut days: Vec<NaiveDate>) -> Self {
        days.sort_unstable();
        days.dedup();
        Self(days)
    }

    /// The days, oldest first.
    pub fn as_slice(&self) -> &[NaiveDate] {
        &self.0
    }

    /// Position of `date` if it is a trading day in the span.
    pub fn index_of(&self, date: NaiveDate) -> Option<usize> {
        self.0.binary_search(&date).ok()
    }

    /// Whether `date` is a trading day in the span.
    pub fn contains(&self, date: NaiveDate) -> bool {
        self.index_of(date).is_some()
    }

    /// The latest trading day on or before `date`.
    pub fn on_or_before(&self, date: NaiveDate) -> Option<NaiveDate> {
        let i = self.0.partition_point(|d| *d <= date);
        i.checked_sub(1).map(|i| self.0[i])
    }

    /// The trading day `n` sessions before `date` (`n = 0` is `date`'s own
    /// session), or `None` if the span does not reach that far back.
    pub fn sessions_before(&self, date: NaiveDate, n: usize) -> Option<NaiveDate> {
        let end = self.0.partition_point(|d| *d <= date);
        end.checked_sub(1 + n).map(|i| self.0[i])
    }

    /// Trading days in `from..=to`, oldest first.
    pub fn between(&self, from: NaiveDate, to: NaiveDate) -> &[NaiveDate] {
        let a = self.0.partition_point(|d| *d < from);
        let b = self.0.partition_point(|d| *d <= to);
        &self.0[a..b.max(a)]
    }
}
