//! [`Lease`]: taking, renewing and releasing the writer lease, and the
//! role it gives this process.

use std::sync::{Arc, Mutex};
use std::time::Instant;

use chrono::Utc;
use serde::Serialize;
use tokio::sync::watch;
use tokio_util::sync::CancellationToken;

use super::cas::{LeaseTarget, Seen, Tag, Written};
use super::{Fence, LeaseDoc, LeaseError, LeaseSettings};

/// What this process is to the store.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// It holds the lease: it collects, polls the bot, writes.
    Primary,
    /// Another holds it: it serves what is stored, and waits.
    Standby,
}

impl Role {
    /// `primary` or `standby`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Primary => "primary",
            Self::Standby => "standby",
        }
    }
}

/// The role and the lease as last seen.
#[derive(Debug, Clone)]
pub struct Status {
    /// This process's role.
    pub role: Role,
    /// The lease document last read or written (`None`: none seen yet).
    pub lease: Option<LeaseDoc>,
}

impl Status {
    /// The `lease` object of `/readyz`: holder, host, pid, command, until.
    pub fn lease_json(&self) -> serde_json::Value {
        match &self.lease {
            None => serde_json::Value::Null,
            Some(d) => serde_json::json!({
                "holder": d.holder,
                "host": d.host,
                "pid": d.pid,
                "command": d.command,
                "version": d.version,
                "until": d.expires,
                "released": d.released,
            }),
        }
    }
}

/// What one attempt to take the lease found.
#[derive(Debug, Clone)]
pub enum Attempt {
    /// This process holds it now.
    Took,
    /// Another holds it.
    HeldBy(LeaseDoc),
}

/// Who this process is, in the documents it writes.
struct Identity {
    holder: String,
    host: String,
    node: String,
    command: String,
}

/// The lease as this process holds it.
struct Held {
    tag: Tag,
    doc: LeaseDoc,
}

/// This process's side of the writer lease (shared by `Arc`).
pub struct Lease {
    object: LeaseTarget,
    settings: LeaseSettings,
    me: Identity,
    fence: Fence,
    status: watch::Sender<Status>,
    held: Mutex<Option<Held>>,
    /// Another's lease seen unchanged since when, by our clock.
    watched: Mutex<Option<(Tag, Instant)>>,
}

impl std::fmt::Debug for Lease {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Lease")
            .field("holder", &self.me.holder)
            .finish()
    }
}

impl Lease {
    /// This process's lease in `object` (`Store::lease_target`), for
    /// `command` (`run`, `collect`...); nothing is read or written yet.
    pub fn new(object: LeaseTarget, settings: &LeaseSettings, command: &str) -> Arc<Self> {
        let holder = format!("{:016x}", rand::random::<u64>());
        Arc::new(Self {
            object,
            settings: settings.clone(),
            me: Identity {
                holder,
                host: host_name(),
                node: node_id(),
                command: command.to_string(),
            },
            fence: Fence::default(),
            status: watch::Sender::new(Status {
                role: Role::Standby,
                lease: None,
            }),
            held: Mutex::new(None),
            watched: Mutex::new(None),
        })
    }

    /// The fence the store's writes pass while this lease is held.
    pub fn fence(&self) -> Fence {
        self.fence.clone()
    }

    /// The role and lease, now and as they change.
    pub fn subscribe(&self) -> watch::Receiver<Status> {
        self.status.subscribe()
    }

    /// The settings it runs with.
    pub fn settings(&self) -> &LeaseSettings {
        &self.settings
    }

    /// Prove the store honours conditional writes (see
    /// [`super::cas`]); an error says what to do instead.
    pub async fn check_store(&self) -> Result<(), LeaseError> {
        self.object.check_conditional(&self.me.holder).await
    }

    /// The lease document as stored now.
    pub async fn current(&self) -> Result<Option<LeaseDoc>, LeaseError> {
        Ok(self.object.read().await?.map(|s| s.doc))
    }

    /// One attempt to take (or keep) the lease: free, released, ours, seen
    /// unchanged for a whole period, or `force`d, it is written with a
    /// conditional write; otherwise it is held by another.
    pub async fn try_take(&self, force: bool) -> Result<Attempt, LeaseError> {
        let seen = self.object.read().await?;
        if let Some(s) = &seen {
            let ours = s.doc.holder == self.me.holder;
            let free = ours || s.doc.released || force || self.holder_is_gone(&s.doc);
            if !(free || self.lapsed(&s.tag)) {
                self.lose(Some(s.doc.clone()));
                return Ok(Attempt::HeldBy(s.doc.clone()));
            }
        }
        let now = Utc::now();
        let started = match &seen {
            Some(s) if s.doc.holder == self.me.holder => s.doc.started,
            _ => now,
        };
        let doc = self.doc(seen.as_ref().map_or(1, |s| s.doc.version + 1), started);
        self.write(doc, seen.map(|s| s.tag)).await
    }

    /// Renew the lease this process holds (a no-op when it holds none). A
    /// lease someone else took since is lost: the fence closes.
    pub async fn renew(&self) -> Result<(), LeaseError> {
        let Some((tag, doc)) = self.held_now() else {
            return Ok(());
        };
        let next = self.doc(doc.version + 1, doc.started);
        let renewal =
            tokio::time::timeout(self.settings.renew_every(), self.write(next, Some(tag)));
        let result = match renewal.await {
            Ok(r) => r.map(|_| ()),
            Err(_) => Err(LeaseError::Store("renewal: no answer in time".into())),
        };
        if result.is_err() && !self.fence.is_open() {
            // Past the deadline: from now on it is only ours again if a
            // conditional write says nobody took it.
            self.lose(Some(doc));
        }
        result
    }

    /// Give the lease up (on a clean stop), so another may take it at once.
    pub async fn release(&self) {
        self.fence.close();
        let Some((tag, doc)) = self.held_now() else {
            return;
        };
        let mut last = self.doc(doc.version + 1, doc.started);
        last.expires = Utc::now();
        last.released = true;
        match self.object.write(&last, Some(&tag)).await {
            Ok(Written::Done(_)) => tracing::info!("writer lease released"),
            Ok(Written::Lost) => tracing::info!("writer lease already taken by another"),
            Err(e) => {
                tracing::warn!(error = %e, "could not release the writer lease; it lapses by itself")
            }
        }
        // Given up on purpose: the role changes without the "lost" warning.
        self.stand_by(Some(last));
    }

    /// Keep the lease until `shutdown`: renew it while held, otherwise try
    /// to take it every poll; release it at the end.
    pub async fn keep(self: Arc<Self>, shutdown: CancellationToken) {
        loop {
            let wait = if self.held_now().is_some() {
                if let Err(e) = self.renew().await {
                    tracing::warn!(error = %e, "writer lease not renewed");
                }
                self.settings.renew_every()
            } else {
                match self.try_take(false).await {
                    Ok(Attempt::Took) => {}
                    Ok(Attempt::HeldBy(_)) => {}
                    Err(e) => tracing::warn!(error = %e, "writer lease not readable"),
                }
                self.settings.poll_every()
            };
            tokio::select! {
                () = tokio::time::sleep(wait) => {}
                () = shutdown.cancelled() => break,
            }
        }
        self.release().await;
    }

    /// A document of ours.
    fn doc(&self, version: u64, started: chrono::DateTime<Utc>) -> LeaseDoc {
        LeaseDoc {
            holder: self.me.holder.clone(),
            host: self.me.host.clone(),
            pid: std::process::id(),
            node: self.me.node.clone(),
            command: self.me.command.clone(),
            version,
            started,
            expires: Utc::now()
                + chrono::Duration::from_std(self.settings.ttl()).unwrap_or_default(),
            released: false,
        }
    }

    /// Write `doc` conditionally on `expected`; on success the fence opens
    /// until the deadline counted from before the request was sent (the
    /// store saw it later, so a standby's count starts later still).
    async fn write(&self, doc: LeaseDoc, expected: Option<Tag>) -> Result<Attempt, LeaseError> {
        let sent = Instant::now();
        match self.object.write(&doc, expected.as_ref()).await? {
            Written::Done(tag) => {
                let until = sent + self.settings.ttl() - self.settings.fence_margin();
                self.fence.open_until(until, doc.version);
                if let Ok(mut h) = self.held.lock() {
                    *h = Some(Held {
                        tag,
                        doc: doc.clone(),
                    });
                }
                let was = self.status.borrow().role;
                self.status.send_replace(Status {
                    role: Role::Primary,
                    lease: Some(doc.clone()),
                });
                if was != Role::Primary {
                    tracing::info!(
                        version = doc.version,
                        "writer lease taken: this process writes the store"
                    );
                }
                Ok(Attempt::Took)
            }
            Written::Lost => {
                let now = self.object.read().await?;
                let holder = now.as_ref().map(|s: &Seen| s.doc.clone());
                if let Some(s) = &now {
                    self.lapsed(&s.tag);
                }
                self.lose(holder.clone());
                holder.map(Attempt::HeldBy).ok_or_else(|| {
                    LeaseError::Store("the lease changed while it was written; trying again".into())
                })
            }
        }
    }

    /// Not the holder (any more): close the fence, say so.
    fn lose(&self, lease: Option<LeaseDoc>) {
        if self.status.borrow().role == Role::Primary {
            tracing::warn!(
                holder = lease.as_ref().map(LeaseDoc::describe).unwrap_or_default(),
                "writer lease lost: this process stops writing and stands by"
            );
        }
        self.stand_by(lease);
    }

    /// Close the fence, forget the lease held, and publish the standby role
    /// with `lease` as the holder last seen.
    fn stand_by(&self, lease: Option<LeaseDoc>) {
        self.fence.close();
        if let Ok(mut h) = self.held.lock() {
            *h = None;
        }
        self.status.send_replace(Status {
            role: Role::Standby,
            lease,
        });
    }

    /// Whether `doc`'s holder ran on this node (same boot, same pid
    /// namespace) and its process is gone: killed, crashed. Its lease
    /// needs no waiting out.
    fn holder_is_gone(&self, doc: &LeaseDoc) -> bool {
        if doc.node.is_empty() || doc.node != self.me.node || doc.host != self.me.host {
            return false;
        }
        let Ok(pid) = libc::pid_t::try_from(doc.pid) else {
            return false;
        };
        // SAFETY: signal 0 sends nothing; it only asks whether the pid exists.
        let rc = unsafe { libc::kill(pid, 0) };
        let gone = if rc == 0 {
            // A process killed but not yet reaped by its parent is a zombie.
            std::fs::read_to_string(format!("/proc/{pid}/stat"))
                .ok()
                .and_then(|stat| {
                    stat.rsplit_once(") ")
                        .map(|(_, rest)| rest.starts_with('Z'))
                })
                .unwrap_or(false)
        } else {
            std::io::Error::last_os_error().raw_os_error() == Some(libc::ESRCH)
        };
        if gone {
            tracing::info!(holder = %doc.describe(), "the writer lease's holder ran here and is gone: taking it over");
        }
        gone
    }

    fn held_now(&self) -> Option<(Tag, LeaseDoc)> {
        let h = self.held.lock().ok()?;
        h.as_ref().map(|h| (h.tag.clone(), h.doc.clone()))
    }

    /// Whether another's lease tagged `tag` has been seen unchanged for a
    /// whole period (counting starts at the first sight of this tag).
    fn lapsed(&self, tag: &Tag) -> bool {
        let Ok(mut w) = self.watched.lock() else {
            return false;
        };
        match &*w {
            Some((seen, since)) if seen == tag => since.elapsed() >= self.settings.ttl(),
            _ => {
                *w = Some((tag.clone(), Instant::now()));
                false
            }
        }
    }
}

/// This kernel's boot and this process's pid namespace: pids compare only
/// within one (empty when unknown: then no pid is trusted).
fn node_id() -> String {
    let boot = std::fs::read_to_string("/proc/sys/kernel/random/boot_id").unwrap_or_default();
    let ns = std::fs::read_link("/proc/self/ns/pid").unwrap_or_default();
    let (boot, ns) = (boot.trim(), ns.to_string_lossy());
    if boot.is_empty() || ns.is_empty() {
        return String::new();
    }
    format!("{boot}/{ns}")
}

/// This machine's host name (for people reading the lease).
fn host_name() -> String {
    let mut buf = [0u8; 256];
    // SAFETY: gethostname writes at most `len` bytes into our buffer.
    let rc = unsafe { libc::gethostname(buf.as_mut_ptr().cast(), buf.len()) };
    if rc != 0 {
        return "unknown".into();
    }
    let end = buf.iter().position(|&b| b == 0).unwrap_or(buf.len());
    String::from_utf8_lossy(&buf[..end]).into_owned()
}
