//! `_lease/writer.json`: who holds the store's writer lease, until when.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::LeaseError;

/// Where the lease lives, under the store root.
pub const LEASE_PATH: &str = "_lease/writer.json";

/// The lease document. `expires` is the holder's own clock's word, shown
/// to people; no process decides on it (clocks differ): a standby takes
/// over a lease it has seen unchanged for a whole period by its own clock.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LeaseDoc {
    /// This holding's id (random per process).
    pub holder: String,
    /// The holder's host name.
    pub host: String,
    /// The holder's process id.
    pub pid: u32,
    /// Where that pid means something: the kernel's boot id and the pid
    /// namespace. A holder on the same node whose pid is gone is dead, and
    /// its lease is taken at once (a `collect` killed by hand, a daemon
    /// restarted after a crash); any other is waited out.
    #[serde(default)]
    pub node: String,
    /// What holds it: `run` (the daemon), `collect`, `backtest`.
    pub command: String,
    /// Counts every write of the lease, by any holder.
    pub version: u64,
    /// When this holder took it.
    pub started: DateTime<Utc>,
    /// When the holder last wrote it plus the lease period.
    pub expires: DateTime<Utc>,
    /// The holder gave it up (it stopped): anyone may take it at once.
    #[serde(default)]
    pub released: bool,
}

impl LeaseDoc {
    /// Read a stored document.
    pub(crate) fn parse(bytes: &[u8]) -> Result<Self, LeaseError> {
        serde_json::from_slice(bytes).map_err(|e| {
            LeaseError::Store(format!(
                "{} is not a lease document ({e}); remove it if no dipwatch writes this store",
                LEASE_PATH
            ))
        })
    }

    /// The stored form.
    pub(crate) fn to_bytes(&self) -> Vec<u8> {
        let mut json = serde_json::to_vec_pretty(self).unwrap_or_default();
        json.push(b'\n');
        json
    }

    /// "pid 42 (run) on host-a, until 2026-12-06T21:00:00Z" for messages.
    pub fn describe(&self) -> String {
        let until = self
            .expires
            .to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
        format!(
            "dipwatch {} (pid {}) on {}, lease until {until}",
            self.command, self.pid, self.host
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_document_reads_back_and_an_old_one_without_released_is_held() {
        let doc = LeaseDoc {
            holder: "h1".into(),
            host: "home".into(),
            pid: 7,
            node: "boot/ns".into(),
            command: "run".into(),
            version: 3,
            started: "2026-12-06T20:00:00Z".parse().unwrap(),
            expires: "2026-12-06T20:01:00Z".parse().unwrap(),
            released: false,
        };
        assert_eq!(LeaseDoc::parse(&doc.to_bytes()).unwrap(), doc);
        let text = String::from_utf8(doc.to_bytes())
            .unwrap()
            .replace(",\n  \"released\": false", "")
            .replace("  \"node\": \"boot/ns\",\n", "");
        assert!(!LeaseDoc::parse(text.as_bytes()).unwrap().released);
        assert_eq!(
            doc.describe(),
            "dipwatch run (pid 7) on home, lease until 2026-12-06T20:01:00Z"
        );
        assert!(LeaseDoc::parse(b"{}").is_err());
    }
}
