//! The retry queue (the original system's missing dead-letter queue):
//! symbols whose fetch failed for a date, kept in the store
//! (`_retry/queue.json`) until a later run gets them or they have failed
//! `max_attempts` times, when they are reported and dropped.

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};

use crate::domain::{Symbol, SymbolIssue};

/// One symbol still missing from one published date.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RetryEntry {
    /// The date it is missing from.
    pub date: NaiveDate,
    /// Ticker.
    pub symbol: Symbol,
    /// The latest failure.
    pub reason: String,
    /// Failed attempts so far.
    pub attempts: u32,
    /// When it first failed.
    pub first_failed_at: DateTime<Utc>,
    /// When it last failed.
    pub last_attempt_at: DateTime<Utc>,
}

/// The queue, sorted by date then symbol.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RetryQueue {
    /// Entries.
    pub entries: Vec<RetryEntry>,
}

/// What settling one date changed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Settled {
    /// Queued symbols that this run fetched.
    pub recovered: Vec<Symbol>,
    /// Symbols that reached the attempt limit and left the queue.
    pub gave_up: Vec<SymbolIssue>,
}

impl RetryQueue {
    /// Dates with queued symbols, oldest first.
    pub fn dates(&self) -> Vec<NaiveDate> {
        let mut d: Vec<NaiveDate> = self.entries.iter().map(|e| e.date).collect();
        d.dedup();
        d
    }

    /// Record the outcome of publishing `date`, where `failed` are the
    /// symbols that failed this time and `refused` those of them the source
    /// refused as invalid: never queued (waiting does not make a ticker
    /// valid), and given up at once if they were.
    pub fn settle(
        &mut self,
        date: NaiveDate,
        failed: &[SymbolIssue],
        refused: &[Symbol],
        max_attempts: u32,
        now: DateTime<Utc>,
    ) -> Settled {
        let mut settled = Settled::default();
        let mut kept = Vec::with_capacity(self.entries.len() + failed.len());
        for mut e in std::mem::take(&mut self.entries) {
            if e.date != date {
                kept.push(e);
                continue;
            }
            match failed.iter().find(|f| f.symbol == e.symbol) {
                None => settled.recovered.push(e.symbol),
                Some(f) if refused.contains(&f.symbol) => settled.gave_up.push(SymbolIssue {
                    symbol: e.symbol,
                    reason: format!("gave up: {}", f.reason),
                }),
                Some(f) => {
                    e.attempts += 1;
                    e.reason = f.reason.clone();
                    e.last_attempt_at = now;
                    if e.attempts >= max_attempts {
                        settled.gave_up.push(SymbolIssue {
                            symbol: e.symbol,
                            reason: format!("gave up after {} attempts: {}", e.attempts, e.reason),
                        });
                    } else {
                        kept.push(e);
                    }
                }
            }
        }
        for f in failed {
            let known = kept.iter().any(|e| e.date == date && e.symbol == f.symbol)
                || settled.gave_up.iter().any(|g| g.symbol == f.symbol)
                || refused.contains(&f.symbol);
            if known {
                continue;
            }
            if max_attempts <= 1 {
                settled.gave_up.push(SymbolIssue {
                    symbol: f.symbol.clone(),
                    reason: format!("gave up after 1 attempt: {}", f.reason),
                });
                continue;
            }
            kept.push(RetryEntry {
                date,
                symbol: f.symbol.clone(),
                reason: f.reason.clone(),
                attempts: 1,
                first_failed_at: now,
                last_attempt_at: now,
            });
        }
        kept.sort_by(|a, b| a.date.cmp(&b.date).then_with(|| a.symbol.cmp(&b.symbol)));
        self.entries = kept;
        settled
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn issue(s: &str) -> SymbolIssue {
        SymbolIssue {
            symbol: Symbol::parse(s).unwrap(),
            reason: format!("{s} failed"),
        }
    }

    #[test]
    fn a_refused_symbol_is_never_queued_and_leaves_the_queue_at_once() {
        let d: NaiveDate = "2026-11-24".parse().unwrap();
        let now = Utc::now();
        let mut q = RetryQueue::default();
        q.settle(d, &[issue("AAA")], &[], 5, now);
        let bad = Symbol::parse("BC-C").unwrap();
        let aaa = Symbol::parse("AAA").unwrap();
        // Both refused now: BC-C is never queued, queued AAA is given up.
        let s = q.settle(
            d,
            &[issue("AAA"), issue("BC-C")],
            &[aaa.clone(), bad],
            5,
            now,
        );
        assert!(q.entries.is_empty(), "{:?}", q.entries);
        assert_eq!(s.gave_up.len(), 1);
        assert_eq!(s.gave_up[0].symbol, aaa);
        assert_eq!(s.gave_up[0].reason, "gave up: AAA failed");
        assert!(s.recovered.is_empty());
    }

    #[test]
    fn failures_queue_recover_or_give_up() {
        let d: NaiveDate = "2026-11-24".parse().unwrap();
        let now = Utc::now();
        let mut q = RetryQueue::default();
        let s = q.settle(d, &[issue("AAA"), issue("BBB")], &[], 3, now);
        assert_eq!(s, Settled::default());
        assert_eq!(q.dates(), vec![d]);
        assert_eq!(q.entries.len(), 2);

        // Next run: AAA arrives, BBB fails again.
        let s = q.settle(d, &[issue("BBB")], &[], 3, now);
        assert_eq!(s.recovered, vec![Symbol::parse("AAA").unwrap()]);
        assert_eq!(q.entries.len(), 1);
        assert_eq!(q.entries[0].attempts, 2);

        // Third failure: reported and dropped, never retried forever.
        let s = q.settle(d, &[issue("BBB")], &[], 3, now);
        assert_eq!(s.gave_up.len(), 1);
        assert!(s.gave_up[0].reason.starts_with("gave up after 3 attempts"));
        assert!(q.entries.is_empty());
    }

    #[test]
    fn other_dates_are_left_alone() {
        let d1: NaiveDate = "2026-11-23".parse().unwrap();
        let d2: NaiveDate = "2026-11-24".parse().unwrap();
        let mut q = RetryQueue::default();
        q.settle(d1, &[issue("AAA")], &[], 3, Utc::now());
        q.settle(d2, &[], &[], 3, Utc::now());
        assert_eq!(q.dates(), vec![d1]);
        let s = q.settle(d2, &[issue("CCC")], &[], 1, Utc::now());
        assert_eq!(s.gave_up.len(), 1, "max 1 attempt: no queueing");
        assert_eq!(q.dates(), vec![d1]);
    }
}
