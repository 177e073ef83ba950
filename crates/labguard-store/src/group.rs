//! Group commit of read-audit entries. A read's audit entry must be durable before the
//! data leaves the store, but giving every read its own commit (an fsync on SQLite, a round
//! trip on PostgreSQL) caps concurrent reads at the disk's commit rate. Callers that arrive
//! while a commit is in flight add their entries to the next one; the first of them leads
//! it, and everyone waits until the commit that holds their entries is done.

use std::collections::BTreeMap;
use std::sync::{Condvar, Mutex};

use labguard_audit::AuditEntry;

use crate::store::Store;
use crate::StoreError;

#[derive(Default)]
struct State {
    /// Entries waiting for the next commit, and that commit's number.
    pending: Vec<AuditEntry>,
    next: u64,
    /// Whether a leader is committing now.
    flushing: bool,
    /// The newest commit finished (all before it are finished too).
    done: Option<u64>,
    /// Recent failed commits, so their waiters can return the error.
    failed: BTreeMap<u64, String>,
}

#[derive(Default)]
pub(crate) struct AuditGroup {
    state: Mutex<State>,
    finished: Condvar,
}

/// How many failed commits to remember for waiters that have not woken yet.
const FAILURES_KEPT: usize = 64;

impl AuditGroup {
    /// Appends `entries` durably, sharing the commit with concurrent callers.
    pub(crate) fn append(&self, store: &Store, entries: Vec<AuditEntry>) -> Result<(), StoreError> {
        if entries.is_empty() {
            return Ok(());
        }
        let poisoned = || StoreError::Audit("audit group lock poisoned".into());
        let mut st = self.state.lock().map_err(|_| poisoned())?;
        let mine = st.next;
        st.pending.extend(entries);
        loop {
            if st.done.is_some_and(|d| d >= mine) {
                return match st.failed.get(&mine) {
                    Some(why) => Err(StoreError::Audit(format!(
                        "the audit entry could not be committed: {why}"
                    ))),
                    None => Ok(()),
                };
            }
            if !st.flushing {
                // Lead the commit of everything pending (ours included).
                st.flushing = true;
                let batch = std::mem::take(&mut st.pending);
                let id = st.next;
                st.next += 1;
                drop(st);
                let outcome = store.append_entries(&batch);
                st = self.state.lock().map_err(|_| poisoned())?;
                st.flushing = false;
                st.done = Some(id);
                if let Err(e) = outcome {
                    st.failed.insert(id, e.to_string());
                    while st.failed.len() > FAILURES_KEPT {
                        st.failed.pop_first();
                    }
                }
                self.finished.notify_all();
                continue;
            }
            st = self.finished.wait(st).map_err(|_| poisoned())?;
        }
    }
}
