//! The fence every write of the store passes: open only while this process
//! holds the writer lease with time to spare.

use std::sync::{Arc, Mutex};
use std::time::Instant;

/// Where the fence stands.
#[derive(Debug, Clone, Copy)]
enum Gate {
    /// Not armed yet: a lease handed to an app that has not started (an
    /// embedding, a test driving the parts by hand) lets writes pass.
    Unarmed,
    /// Writes pass until the deadline, under that lease version.
    Open(Instant, u64),
    /// No lease held.
    Closed,
}

/// Until when this process may write, and the lease version that allows
/// it. Cheap to clone; clones share it.
#[derive(Debug, Clone)]
pub struct Fence {
    gate: Arc<Mutex<Gate>>,
}

impl Default for Fence {
    fn default() -> Self {
        Self {
            gate: Arc::new(Mutex::new(Gate::Unarmed)),
        }
    }
}

impl Fence {
    /// `Ok` while the lease is held and its deadline not reached; otherwise
    /// why this process may not write.
    pub fn check(&self) -> Result<(), String> {
        let gate = self.gate.lock().map_or(Gate::Closed, |g| *g);
        match gate {
            Gate::Unarmed => Ok(()),
            Gate::Open(until, _) if Instant::now() < until => Ok(()),
            Gate::Open(_, version) => Err(format!(
                "this process no longer holds the store's writer lease (version {version} was not renewed in time): nothing written"
            )),
            Gate::Closed => Err(
                "this process does not hold the store's writer lease (another dipwatch writes this store): nothing written"
                    .into(),
            ),
        }
    }

    /// Whether writes pass now.
    pub fn is_open(&self) -> bool {
        self.check().is_ok()
    }

    /// Let writes pass until `until`, under lease `version`.
    pub(crate) fn open_until(&self, until: Instant, version: u64) {
        self.set(Gate::Open(until, version));
    }

    /// Stop writes now (and arm the fence: from here on only a lease
    /// taken opens it).
    pub fn close(&self) {
        self.set(Gate::Closed);
    }

    fn set(&self, gate: Gate) {
        if let Ok(mut g) = self.gate.lock() {
            *g = gate;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn the_fence_opens_until_its_deadline_only() {
        let f = Fence::default();
        assert!(f.is_open(), "unarmed");
        f.close();
        assert!(f.check().unwrap_err().contains("does not hold"));
        f.clone()
            .open_until(Instant::now() + Duration::from_secs(3600), 4);
        assert!(f.is_open());
        f.open_until(Instant::now() - Duration::from_millis(1), 5);
        assert!(f.check().unwrap_err().contains("version 5"));
        f.open_until(Instant::now() + Duration::from_secs(3600), 6);
        f.close();
        assert!(!f.is_open());
    }
}
