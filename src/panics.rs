//! Panics caught on a shared path (a send, alert delivery): each is logged
//! and counted here, the path keeps serving the others, and `/readyz`
//! reports the count, since a caught panic is still a bug to look at.
//!
//! Process-wide on purpose: the daemon has one of each path, and the
//! count must reach `/readyz` from wherever the panic was caught.

use std::sync::atomic::{AtomicU64, Ordering};

static CAUGHT: AtomicU64 = AtomicU64::new(0);

/// Record a panic caught at `place` (logged at ERROR; never a payload, which
/// could hold message text).
pub fn record(place: &'static str) {
    CAUGHT.fetch_add(1, Ordering::Relaxed);
    tracing::error!(
        place,
        "a panic was caught; this path keeps serving, /readyz reports it"
    );
}

/// Panics caught since the process started.
pub fn count() -> u64 {
    CAUGHT.load(Ordering::Relaxed)
}

/// The `/readyz` problem for `caught` panics, if any.
pub fn problem(caught: u64) -> Option<String> {
    (caught > 0).then(|| {
        format!("{caught} panic(s) caught in a send or delivery path (see the ERROR log lines)")
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_caught_panic_is_a_readiness_problem() {
        assert_eq!(problem(0), None);
        assert!(problem(2).unwrap().starts_with("2 panic(s) caught"));
    }
}
