//! `[lease]`: how long the writer lease lasts, and whether there is one.

use std::time::Duration;

use serde::{Deserialize, Serialize};

/// The shortest lease period accepted: renewals every quarter of it must
/// fit a store round trip on a loaded machine.
const MIN_TTL_SECS: u64 = 3;
/// The longest: a dead holder keeps the store this long at most.
const MAX_TTL_SECS: u64 = 3600;

/// `[lease]`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct LeaseSettings {
    /// Whether writers take the lease (`_lease/writer.json`). Off only for a
    /// store without conditional writes that one dipwatch writes alone.
    pub enabled: bool,
    /// The lease period: a holder that stops renewing loses it this long
    /// after its last renewal, and a standby takes over within one more.
    pub ttl_secs: u64,
}

impl Default for LeaseSettings {
    fn default() -> Self {
        Self {
            enabled: true,
            ttl_secs: 60,
        }
    }
}

impl LeaseSettings {
    /// The key and the message of the first setting that cannot be used.
    pub fn problem(&self) -> Option<(&'static str, String)> {
        (!(MIN_TTL_SECS..=MAX_TTL_SECS).contains(&self.ttl_secs)).then(|| {
            (
                "lease.ttl_secs",
                format!(
                    "{} must be between {MIN_TTL_SECS} and {MAX_TTL_SECS} seconds",
                    self.ttl_secs
                ),
            )
        })
    }

    /// The lease period.
    pub fn ttl(&self) -> Duration {
        Duration::from_secs(self.ttl_secs)
    }

    /// How often the holder renews: four chances per period, three of them
    /// before its fence closes.
    pub(crate) fn renew_every(&self) -> Duration {
        self.ttl() / 4
    }

    /// How long before the lease could pass to another the holder stops
    /// writing: room for a write checked just before the deadline to land.
    pub(crate) fn fence_margin(&self) -> Duration {
        self.ttl() / 4
    }

    /// How often a standby looks at the lease (and the store).
    pub(crate) fn poll_every(&self) -> Duration {
        self.ttl() / 6
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_period_is_bounded_and_the_fence_closes_before_it_ends() {
        let s = LeaseSettings::default();
        assert!(s.problem().is_none());
        assert!(s.renew_every() * 3 <= s.ttl() - s.fence_margin());
        assert!(s.poll_every() * 2 <= s.ttl());
        for bad in [0, 2, 3601] {
            let s = LeaseSettings {
                ttl_secs: bad,
                ..LeaseSettings::default()
            };
            assert_eq!(s.problem().map(|p| p.0), Some("lease.ttl_secs"));
        }
    }
}
