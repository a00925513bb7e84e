//! The writer lease for the commands that write the store by hand
//! (`collect`, `backtest`): take it, or refuse (exit 75) naming the holder
//! and how to ask it instead.

use std::process::ExitCode;
use std::sync::Arc;

use chrono::Utc;
use tokio_util::sync::CancellationToken;

use super::EXIT_TEMPFAIL;
use crate::config::{AppConfig, ConfigError};
use crate::lease::{Attempt, Lease, LeaseDoc, LeaseError};
use crate::store::Store;

/// The lease a command holds while it writes: renewed in the background,
/// released by [`Writer::release`].
pub(super) struct Writer {
    keeper: Option<(CancellationToken, tokio::task::JoinHandle<()>)>,
}

impl Writer {
    /// Give the lease up (the daemon may take it at once).
    pub(super) async fn release(self) {
        if let Some((token, task)) = self.keeper {
            token.cancel();
            let _ = task.await;
        }
    }
}

/// `store` fenced by the writer lease this command now holds, or the exit
/// code of a refusal (75: another dipwatch writes the store; said why).
/// `force` takes the lease from a live holder, with a warning.
pub(super) async fn take(
    config: &AppConfig,
    store: Store,
    command: &str,
    force: bool,
) -> anyhow::Result<Result<(Store, Writer), ExitCode>> {
    if !config.lease.enabled {
        return Ok(Ok((store, Writer { keeper: None })));
    }
    let lease = Lease::new(store.lease_target(), &config.lease, command);
    lease
        .check_store()
        .await
        .map_err(|e| ConfigError::Unusable(format!("storage.url: {e}")))?;
    // As the write probe says it: a store that takes no writes is one the
    // configuration cannot use (exit 2), before anything is fetched.
    let acquired = acquire(&lease, force).await.map_err(|e| {
        ConfigError::Unusable(format!("storage.url: the store cannot be written: {e}"))
    })?;
    if let Err(holder) = acquired {
        eprintln!("error: {}", refusal(&holder));
        return Ok(Err(ExitCode::from(EXIT_TEMPFAIL)));
    }
    let token = CancellationToken::new();
    let task = tokio::spawn(lease.clone().keep(token.clone()));
    Ok(Ok((
        store.fenced(lease.fence()),
        Writer {
            keeper: Some((token, task)),
        },
    )))
}

/// Take the lease: at once when it is free or released; after watching it
/// unchanged for a whole period when its holder's own clock says it ran
/// out (a holder that died); never from a holder that renews it, unless
/// `force`d. `Err(holder)` when it stays held.
async fn acquire(lease: &Arc<Lease>, force: bool) -> Result<Result<(), LeaseDoc>, LeaseError> {
    let settings = lease.settings().clone();
    let mut waited = false;
    loop {
        let holder = match lease.try_take(false).await? {
            Attempt::Took => return Ok(Ok(())),
            Attempt::HeldBy(doc) => doc,
        };
        if force {
            tracing::warn!(
                holder = %holder.describe(),
                "--force-lease: taking the store's writer lease from a holder that may still be running; \
                 it stops writing at its next renewal, so two processes may write for up to lease.ttl_secs"
            );
            return match lease.try_take(true).await? {
                Attempt::Took => Ok(Ok(())),
                Attempt::HeldBy(doc) => Ok(Err(doc)),
            };
        }
        if holder.expires > Utc::now() {
            return Ok(Err(holder));
        }
        if !waited {
            eprintln!(
                "the store's writer lease of {} ran out; making sure its holder stopped (up to {} s)",
                holder.describe(),
                settings.ttl_secs
            );
            waited = true;
        }
        tokio::time::sleep(settings.poll_every()).await;
    }
}

/// What a refused command prints.
fn refusal(holder: &LeaseDoc) -> String {
    format!(
        "another dipwatch writes this store: {}. Ask it instead (/trigger in the Telegram bot, \
         or Run now on the dashboard), or stop it; --force-lease takes the lease anyway \
         (two writers until the holder notices)",
        holder.describe()
    )
}
