//! `[lease]`: the writer lease's settings (their type lives with the lease,
//! `crate::lease::LeaseSettings`, which needs nothing from configuration),
//! checked here like every other section.

use super::error::{self, ConfigError, ConfigWarning};
pub use crate::lease::LeaseSettings;

/// Checked: an error naming the key, or the warning a disabled lease
/// deserves (nothing then keeps a second writer out).
pub(crate) fn check(lease: &LeaseSettings) -> Result<Option<ConfigWarning>, ConfigError> {
    if let Some((key, message)) = lease.problem() {
        return Err(error::invalid(key, message));
    }
    Ok((!lease.enabled).then(|| {
        error::warning(
            "lease.enabled",
            "false: no writer lease is taken, so nothing keeps a second dipwatch from writing \
             this store at the same time; run only one writer",
        )
    }))
}
