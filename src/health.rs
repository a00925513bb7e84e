//! Readiness conditions that parts of the daemon report to `/readyz`
//! without HTTP knowing them: each registers a probe (a cheap, lock-free
//! look at its own state) under a name, and `/readyz` lists every probe
//! that reports a problem. The alert runtime registers one (a corrupt or
//! unreachable `alerts/book.json`).

use std::sync::{Arc, RwLock};

/// A look at one part's state: `Some(problem)` when it is not ready.
pub type Probe = Arc<dyn Fn() -> Option<String> + Send + Sync>;

/// The probes `/readyz` asks (cheap to clone; clones share the list).
#[derive(Clone, Default)]
pub struct Health {
    probes: Arc<RwLock<Vec<(&'static str, Probe)>>>,
}

impl std::fmt::Debug for Health {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Health")
    }
}

impl Health {
    /// Add `probe` under `name` (the prefix of its problems).
    pub fn register(&self, name: &'static str, probe: Probe) {
        if let Ok(mut p) = self.probes.write() {
            p.push((name, probe));
        }
    }

    /// Every current problem, as `name: problem`.
    pub fn problems(&self) -> Vec<String> {
        let Ok(probes) = self.probes.read() else {
            return vec!["health: probe list poisoned".to_string()];
        };
        probes
            .iter()
            .filter_map(|(name, probe)| probe().map(|p| format!("{name}: {p}")))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_probes_with_a_problem_are_listed() {
        let h = Health::default();
        assert!(h.problems().is_empty());
        h.register("a", Arc::new(|| None));
        h.register("b", Arc::new(|| Some("down".into())));
        assert_eq!(h.clone().problems(), ["b: down"]);
    }
}
