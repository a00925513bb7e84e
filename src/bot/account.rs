//! `/account`: the one live call the bot makes, to the trading API through
//! the broker the daemon was given, cached so a chat cannot turn the bot
//! into an Alpaca load generator. Concurrent requests share one call.

use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::{DateTime, NaiveDate, Utc};
use tokio::sync::Mutex;

use crate::domain::Account;
use crate::market::Broker;

/// What `/account` shows.
#[derive(Debug, Clone, PartialEq)]
pub enum AccountView {
    /// Fresh from the broker (at most the cache's age old).
    Live {
        /// The account.
        account: Account,
        /// When it was fetched.
        fetched_at: DateTime<Utc>,
    },
    /// The broker could not be reached: the latest collected snapshot.
    Snapshot {
        /// The account.
        account: Account,
        /// Snapshot date.
        date: NaiveDate,
    },
    /// Neither a broker answer nor a snapshot.
    Unavailable,
}

struct Cached {
    at: Instant,
    fetched_at: DateTime<Utc>,
    account: Account,
}

/// The cached live account.
pub struct AccountCache {
    broker: Option<Arc<dyn Broker>>,
    ttl: Duration,
    timeout: Duration,
    slot: Mutex<Option<Cached>>,
    /// When the last call failed: for [`FAILURE_TTL`] after it, answers
    /// come from the snapshot at once, so a burst of `/account` during an
    /// Alpaca outage does not wait out one timeout per message.
    failed_at: std::sync::Mutex<Option<Instant>>,
}

/// How long a failed live call sends `/account` straight to the snapshot.
const FAILURE_TTL: Duration = Duration::from_secs(30);

impl std::fmt::Debug for AccountCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AccountCache")
            .field("broker", &self.broker.is_some())
            .field("ttl", &self.ttl)
            .finish()
    }
}

impl AccountCache {
    /// Answers from `broker`, each answer reused for `ttl`; a call taking
    /// longer than `timeout` counts as failed.
    pub fn new(broker: Option<Arc<dyn Broker>>, ttl: Duration, timeout: Duration) -> Self {
        Self {
            broker,
            ttl,
            timeout,
            slot: Mutex::new(None),
            failed_at: std::sync::Mutex::new(None),
        }
    }

    /// The account as of `as_of` (a live broker ignores the date), or the
    /// `fallback` snapshot when the broker fails or there is none.
    pub async fn get(
        &self,
        as_of: NaiveDate,
        fallback: Option<(NaiveDate, &Account)>,
    ) -> AccountView {
        let fallback = || match fallback {
            Some((date, a)) => AccountView::Snapshot {
                account: a.clone(),
                date,
            },
            None => AccountView::Unavailable,
        };
        let Some(broker) = &self.broker else {
            return fallback();
        };
        let recently_failed = || {
            self.failed_at
                .lock()
                .ok()
                .and_then(|f| *f)
                .is_some_and(|at| at.elapsed() < FAILURE_TTL)
        };
        if recently_failed() {
            return fallback();
        }
        // Held across the call: a burst of /account makes one request.
        let mut slot = self.slot.lock().await;
        if let Some(c) = slot.as_ref()
            && c.at.elapsed() < self.ttl
        {
            return AccountView::Live {
                account: c.account.clone(),
                fetched_at: c.fetched_at,
            };
        }
        // Those who waited for the lock behind a call that just failed.
        if recently_failed() {
            return fallback();
        }
        let failed = || {
            if let Ok(mut f) = self.failed_at.lock() {
                *f = Some(Instant::now());
            }
        };
        match tokio::time::timeout(self.timeout, broker.account(as_of)).await {
            Ok(Ok(account)) => {
                let fetched_at = Utc::now();
                *slot = Some(Cached {
                    at: Instant::now(),
                    fetched_at,
                    account: account.clone(),
                });
                AccountView::Live {
                    account,
                    fetched_at,
                }
            }
            Ok(Err(e)) => {
                tracing::warn!(error = %e, "account request failed; showing the last snapshot");
                failed();
                fallback()
            }
            Err(_) => {
                failed();
                tracing::warn!(
                    timeout_secs = self.timeout.as_secs(),
                    "account request timed out; showing the last snapshot"
                );
                fallback()
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::Positions;
    use crate::market::MarketError;
    use async_trait::async_trait;
    use rust_decimal::Decimal;
    use std::sync::atomic::{AtomicUsize, Ordering};

    struct Counting {
        calls: AtomicUsize,
        fail: bool,
    }

    fn account(equity: i64) -> Account {
        Account {
            equity: Some(Decimal::from(equity)),
            cash: Some(Decimal::ZERO),
            buying_power: Some(Decimal::ZERO),
            status: "ACTIVE".into(),
            currency: Some("USD".into()),
            last_equity: Some(Decimal::from(equity)),
            long_market_value: Some(Decimal::ZERO),
            daytrade_count: None,
            pattern_day_trader: None,
        }
    }

    #[async_trait]
    impl Broker for Counting {
        async fn account(&self, _as_of: NaiveDate) -> Result<Account, MarketError> {
            let n = self.calls.fetch_add(1, Ordering::SeqCst);
            if self.fail {
                return Err(MarketError::Request {
                    source_name: "alpaca trading",
                    message: "503".into(),
                });
            }
            Ok(account(1000 + n as i64))
        }
        async fn positions(&self, _as_of: NaiveDate) -> Result<Positions, MarketError> {
            Ok(Positions::default())
        }
    }

    fn day() -> NaiveDate {
        NaiveDate::from_ymd_opt(2026, 11, 24).unwrap()
    }

    #[tokio::test]
    async fn answers_are_reused_for_the_ttl_then_refreshed() {
        let broker = Arc::new(Counting {
            calls: AtomicUsize::new(0),
            fail: false,
        });
        let cache = AccountCache::new(
            Some(broker.clone()),
            Duration::from_secs(3600),
            Duration::from_secs(5),
        );
        let views = futures::future::join_all((0..5).map(|_| cache.get(day(), None))).await;
        assert_eq!(
            broker.calls.load(Ordering::SeqCst),
            1,
            "one call for a burst"
        );
        for v in &views {
            assert!(
                matches!(v, AccountView::Live { account, .. } if account.equity == Some(Decimal::from(1000)))
            );
        }
        let fresh = AccountCache::new(Some(broker.clone()), Duration::ZERO, Duration::from_secs(5));
        fresh.get(day(), None).await;
        fresh.get(day(), None).await;
        assert_eq!(
            broker.calls.load(Ordering::SeqCst),
            3,
            "expired: called again"
        );
    }

    #[tokio::test]
    async fn a_failing_broker_falls_back_to_the_snapshot() {
        let broker = Arc::new(Counting {
            calls: AtomicUsize::new(0),
            fail: true,
        });
        let cache = AccountCache::new(
            Some(broker.clone()),
            Duration::from_secs(60),
            Duration::from_secs(5),
        );
        let snap = account(7);
        assert_eq!(
            cache.get(day(), Some((day(), &snap))).await,
            AccountView::Snapshot {
                account: snap.clone(),
                date: day()
            }
        );
        assert_eq!(cache.get(day(), None).await, AccountView::Unavailable);
        // A burst during the outage: answered from the snapshot at once,
        // one failed call in all, not one per message.
        let burst = futures::future::join_all((0..10).map(|_| cache.get(day(), None))).await;
        assert!(burst.iter().all(|v| *v == AccountView::Unavailable));
        assert_eq!(broker.calls.load(Ordering::SeqCst), 1);
        let none = AccountCache::new(None, Duration::from_secs(60), Duration::from_secs(5));
        assert!(matches!(
            none.get(day(), Some((day(), &snap))).await,
            AccountView::Snapshot { .. }
        ));
    }
}
