//! Group commit: one dedicated thread owns the store's write path. Connections hand it
//! messages through a channel; it takes whatever has queued up (up to `max_batch`), files
//! it in one transaction, and only then answers each connection. One fsync then covers
//! many messages from many connections, and no ACK goes out before its commit.

use std::sync::Arc;

use labguard_store::{Inbound, IngestOutcome, Store};
use tokio::sync::{mpsc, oneshot};

use crate::MllpError;

/// Why a message was not stored: `denied` (the device is no longer enrolled: reject) or
/// a storage failure the sender may retry. `why` is for the log (no PHI).
#[derive(Debug, Clone)]
pub struct Failure {
    pub denied: bool,
    pub why: String,
}

/// The store's answer for one message.
pub type Reply = Result<IngestOutcome, Failure>;

struct Job {
    item: Box<Inbound>,
    reply: oneshot::Sender<Reply>,
}

#[derive(Clone)]
pub struct Writer {
    tx: mpsc::Sender<Job>,
}

impl Writer {
    /// Starts the writer thread. It stops when every `Writer` clone is dropped.
    pub fn start(store: Arc<Store>, max_batch: usize) -> Result<Writer, MllpError> {
        let (tx, mut rx) = mpsc::channel::<Job>(max_batch.max(1) * 4);
        let max_batch = max_batch.max(1);
        std::thread::Builder::new()
            .name("labguard-ingest".into())
            .spawn(move || {
                while let Some(first) = rx.blocking_recv() {
                    let mut jobs = vec![first];
                    while jobs.len() < max_batch {
                        match rx.try_recv() {
                            Ok(j) => jobs.push(j),
                            Err(_) => break,
                        }
                    }
                    let (items, replies): (Vec<Inbound>, Vec<_>) =
                        jobs.into_iter().map(|j| (*j.item, j.reply)).unzip();
                    match store.ingest_batch(&items) {
                        Ok(outcomes) => {
                            for (o, r) in outcomes.into_iter().zip(replies) {
                                let _ = r.send(o.map_err(|e| Failure {
                                    denied: matches!(e, labguard_store::StoreError::Denied(_)),
                                    why: e.to_string(),
                                }));
                            }
                        }
                        Err(e) => {
                            let f = Failure {
                                denied: false,
                                why: e.to_string(),
                            };
                            for r in replies {
                                let _ = r.send(Err(f.clone()));
                            }
                        }
                    }
                }
            })?;
        Ok(Writer { tx })
    }

    /// Files one message; resolves after its transaction committed (or failed).
    pub async fn submit(&self, item: Box<Inbound>) -> Result<Reply, MllpError> {
        let (reply, rx) = oneshot::channel();
        self.tx
            .send(Job { item, reply })
            .await
            .map_err(|_| MllpError::WriterGone)?;
        rx.await.map_err(|_| MllpError::WriterGone)
    }
}
