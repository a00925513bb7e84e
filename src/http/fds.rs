//! File handles: the soft `RLIMIT_NOFILE` raised to the hard limit at
//! start, and the connection caps derived from whatever limit is in force,
//! so a flood of connections can never take the handles the store, the
//! bot and the market-data client need.

/// Handles kept out of reach of the listeners: the store's concurrent
/// reads (32 at a time per reader, a few readers at once), the bot's and
/// Alpaca's HTTP pools, the listening sockets, the runtime's own.
pub const RESERVED_FDS: u64 = 128;

/// Connections the health and metrics listener serves at once: probes and
/// a scraper need a handful; the rest wait in the kernel's backlog.
pub const HEALTH_CONNECTIONS: usize = 32;

/// The fewest connections the dashboard is given, however low the limit.
pub const MIN_WEB_CONNECTIONS: usize = 8;

/// The connection caps of the two listeners under a file limit of
/// `nofile` handles: health and metrics always get
/// [`HEALTH_CONNECTIONS`]; the dashboard gets `configured`
/// (`web.max_connections`), at most what remains after the reserve.
pub fn connection_caps(nofile: u64, configured: usize) -> (usize, usize) {
    let room = nofile.saturating_sub(RESERVED_FDS + HEALTH_CONNECTIONS as u64);
    let web = usize::try_from(room)
        .unwrap_or(usize::MAX)
        .min(configured)
        .max(MIN_WEB_CONNECTIONS);
    (web, HEALTH_CONNECTIONS)
}

/// The soft and hard `RLIMIT_NOFILE` now (`None` where it cannot be read).
// `rlim_t` is u64 on Linux but not on every Unix: the casts stay.
#[allow(clippy::unnecessary_cast)]
pub fn nofile_limits() -> Option<(u64, u64)> {
    #[cfg(unix)]
    {
        let mut r = libc::rlimit {
            rlim_cur: 0,
            rlim_max: 0,
        };
        // SAFETY: getrlimit writes the struct we pass and nothing else.
        let ok = unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut r) } == 0;
        ok.then_some((r.rlim_cur as u64, r.rlim_max as u64))
    }
    #[cfg(not(unix))]
    {
        None
    }
}

/// The soft file limit in force, or a conservative 1,024 (the usual
/// default) where it cannot be read.
pub fn nofile_soft() -> u64 {
    nofile_limits().map_or(1024, |(soft, _)| soft)
}

/// Raise the soft `RLIMIT_NOFILE` to the hard limit (the default soft
/// limit of 1,024 is a relic of `select()`, which nothing here uses).
/// Returns the soft limit in force afterwards; a failure is logged and the
/// old limit stays.
#[allow(clippy::unnecessary_cast)]
pub fn raise_nofile() -> u64 {
    #[cfg(unix)]
    {
        let Some((soft, hard)) = nofile_limits() else {
            tracing::warn!("cannot read the open-file limit (RLIMIT_NOFILE)");
            return 1024;
        };
        if soft >= hard {
            return soft;
        }
        let r = libc::rlimit {
            rlim_cur: hard as libc::rlim_t,
            rlim_max: hard as libc::rlim_t,
        };
        // SAFETY: setrlimit reads the struct we pass and nothing else.
        if unsafe { libc::setrlimit(libc::RLIMIT_NOFILE, &r) } == 0 {
            tracing::debug!(from = soft, to = hard, "open-file limit raised");
            hard
        } else {
            tracing::warn!(
                soft,
                hard,
                error = %std::io::Error::last_os_error(),
                "cannot raise the open-file limit"
            );
            soft
        }
    }
    #[cfg(not(unix))]
    {
        1024
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_caps_leave_the_reserve_and_health_its_share() {
        // The common default soft limit.
        assert_eq!(connection_caps(1024, 512), (512, 32));
        // A low limit: the dashboard gets what is left after the reserve.
        assert_eq!(connection_caps(256, 512), (96, 32));
        // Lower still: a floor, so the dashboard is never shut.
        assert_eq!(connection_caps(64, 512), (8, 32));
        // A high limit: the configured cap.
        assert_eq!(connection_caps(1 << 20, 2000), (2000, 32));
    }

    #[test]
    fn raising_the_soft_limit_never_lowers_it() {
        let before = nofile_soft();
        let after = raise_nofile();
        assert!(after >= before);
        assert_eq!(nofile_soft(), after);
    }
}
