//! One writer per store: a lease kept in the store itself.
//!
//! `_lease/writer.json` names the process that may write the store (the
//! daemon, or a `collect` run by hand). It is taken and renewed only with
//! the store's own conditional writes ([`cas`]: create-if-absent,
//! replace-if-unchanged), so of two processes racing for it exactly one
//! wins. The holder renews it every quarter of the lease period
//! (`lease.ttl_secs`); every write of the store passes the [`Fence`], which
//! closes a quarter period before the lease could pass to another, so a
//! holder that cannot renew in time (paused, cut off) stops writing before
//! anyone else may start. A standby takes over a lease it has seen
//! unchanged for a whole period by its own clock (no process trusts
//! another's), or at once when its holder released it.

mod cas;
mod doc;
mod fence;
mod keeper;
mod settings;

pub use cas::LeaseTarget;
pub use doc::LEASE_PATH;
pub use doc::LeaseDoc;
pub use fence::Fence;
pub use keeper::{Attempt, Lease, Role, Status};
pub use settings::LeaseSettings;

/// Why the lease could not be used.
#[derive(Debug, Clone, thiserror::Error)]
pub enum LeaseError {
    /// The store does not honour conditional writes, so a lease in it
    /// would not keep a second writer out.
    #[error(
        "the store does not support conditional writes ({0}), so dipwatch cannot make sure it is the only writer; use a store that does (AWS S3, MinIO, Ceph RGW, Cloudflare R2, local disk), or, if this is the only dipwatch that ever writes it, set lease.enabled = false"
    )]
    Unsupported(String),
    /// The lease object could not be read or written.
    #[error("writer lease: {0}")]
    Store(String),
}
