//! The daemon's side of systemd's protocol: readiness (`Type=notify`) and
//! the watchdog, both no-ops when not run by systemd.

use std::time::Duration;

use tokio_util::sync::CancellationToken;

/// Tell systemd (Type=notify) we are up; a no-op elsewhere.
pub(super) fn notify_systemd_ready() {
    if let Err(e) = sd_notify::notify(false, &[sd_notify::NotifyState::Ready]) {
        tracing::warn!(error = %e, "sd_notify READY failed");
    }
}

/// Pet systemd's watchdog at half its interval, from the runtime itself, so
/// a wedged runtime gets restarted.
pub(super) async fn pet_watchdog(shutdown: CancellationToken) {
    let mut usec = 0u64;
    if !sd_notify::watchdog_enabled(false, &mut usec) || usec == 0 {
        return;
    }
    let every = Duration::from_micros(usec / 2);
    tracing::info!(
        every_secs = every.as_secs_f64(),
        "petting the systemd watchdog"
    );
    loop {
        tokio::select! {
            () = tokio::time::sleep(every) => {
                let _ = sd_notify::notify(false, &[sd_notify::NotifyState::Watchdog]);
            }
            () = shutdown.cancelled() => return,
        }
    }
}
