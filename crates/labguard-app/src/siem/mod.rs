//! The SIEM forwarder: every audit entry and security alert, as labguard-siem events, to
//! a syslog collector over TLS (RFC 5425) or as JSON lines to a file or stdout.
//!
//! Per sink, one loop: spool (the store moves events past its cursor into the bounded
//! spool table and the cursor past them, one transaction), deliver (the oldest spooled
//! events are written and flushed to the collector, then the delivered mark moves).
//! When delivery keeps failing the spool grows to its cap, a `siem-backlog` alert is
//! raised once, and spooling stops with the rest still in the audit log: nothing is
//! dropped. When the spool drains, a `siem-recovered` note is recorded. On PostgreSQL only
//! the node holding the sink's cross-node lock forwards. See docs/siem.md.

mod jsonl;
mod tls;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use labguard_siem::SiemEvent;
use labguard_store::{Actor, Store, StoreError};

pub use jsonl::JsonLines;
pub use tls::{TlsSyslog, TlsSyslogConfig};

/// Why forwarding or a connection failed. Carries addresses and TLS reasons, never events.
#[derive(Debug, thiserror::Error)]
pub enum SiemError {
    /// The store refused or failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// Connecting, the TLS handshake or a write failed.
    #[error("collector: {0}")]
    Io(#[from] std::io::Error),
    /// The TLS set-up (CA file, client certificate) is unusable.
    #[error("siem tls configuration: {0}")]
    Config(String),
}

/// Where events go. `send` returns only once the bytes are flushed to the collector
/// (or to the file's disk); an error means none of the batch may be counted as delivered.
pub trait Transport: Send {
    /// The sink's name in `siem_cursor` (`syslog`, `jsonl`).
    fn sink(&self) -> &str;
    /// Writes and flushes `events` in order.
    fn send(&mut self, events: &[SiemEvent]) -> Result<(), SiemError>;
}

/// Forwarding limits.
#[derive(Debug, Clone)]
pub struct ForwardOptions {
    /// Events per spool step and per write.
    pub batch: u32,
    /// Spool cap in bytes of event JSON; past it spooling stops (events stay in the log).
    pub spool_cap: u64,
    /// Sleep when there is nothing to send.
    pub poll: Duration,
    /// Sleep after a failed delivery before reconnecting.
    pub retry: Duration,
    /// How long delivery must keep failing before the `siem-backlog` alert.
    pub backlog_after: Duration,
}

impl Default for ForwardOptions {
    fn default() -> Self {
        ForwardOptions {
            batch: 256,
            spool_cap: 64 * 1024 * 1024,
            poll: Duration::from_secs(1),
            retry: Duration::from_secs(5),
            backlog_after: Duration::from_secs(60),
        }
    }
}

/// What one step did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    /// Nothing was waiting.
    Idle,
    /// This many events were delivered.
    Sent(usize),
    /// The collector could not be reached; events wait in the spool (`full`: at its cap).
    Down {
        /// The spool is at its cap and spooling has paused.
        full: bool,
    },
}

/// One sink's forwarder.
pub struct Forwarder {
    store: Arc<Store>,
    transport: Box<dyn Transport>,
    opts: ForwardOptions,
    down_since: Option<Instant>,
}

impl Forwarder {
    /// A forwarder for `transport`'s sink; [`run`](Self::run) or [`step`](Self::step) it.
    pub fn new(store: Arc<Store>, transport: Box<dyn Transport>, opts: ForwardOptions) -> Self {
        Forwarder {
            store,
            transport,
            opts,
            down_since: None,
        }
    }

    /// One spool step and one delivery attempt.
    pub fn step(&mut self) -> Result<Step, SiemError> {
        let sink = self.transport.sink().to_string();
        let spooled = self
            .store
            .siem_spool(&sink, self.opts.batch, self.opts.spool_cap)?;
        let pending = self.store.siem_pending(&sink, self.opts.batch)?;
        let Some(&(last, _)) = pending.last() else {
            self.down_since = None;
            self.store.siem_recovered(&sink)?;
            return Ok(Step::Idle);
        };
        let events: Vec<SiemEvent> = pending.into_iter().map(|(_, e)| e).collect();
        match self.transport.send(&events) {
            Ok(()) => {
                // Only now, after the flush: a crash before this line re-sends this batch
                // (same event ids), one after it cannot lose it.
                self.store.siem_delivered(&sink, last + 1)?;
                self.down_since = None;
                self.store.siem_recovered(&sink)?;
                Ok(Step::Sent(events.len()))
            }
            Err(_) => {
                let since = *self.down_since.get_or_insert_with(Instant::now);
                if since.elapsed() >= self.opts.backlog_after {
                    self.store.siem_backlog(&sink)?;
                }
                Ok(Step::Down { full: spooled.full })
            }
        }
    }

    /// Forwards until `stop` is set, as the only forwarder of this sink across nodes
    /// (waits for the cross-node lock first). A step in progress finishes before it
    /// returns, so a clean stop neither loses nor repeats an event. `on_error` hears of
    /// store failures; delivery failures are the backlog's business.
    pub fn run(
        mut self,
        operator: &Actor,
        stop: &AtomicBool,
        on_error: impl Fn(&SiemError),
    ) -> Result<(), SiemError> {
        let sink = self.transport.sink().to_string();
        let lock = format!("siem.forward.{sink}");
        let store = self.store.clone();
        let _held = store.cross_node_locks(&[lock.as_str()])?;
        self.store.siem_start(operator, &sink)?;
        while !stop.load(Ordering::SeqCst) {
            let pause = match self.step() {
                Ok(Step::Sent(_)) => Duration::ZERO,
                Ok(Step::Idle) => self.opts.poll,
                Ok(Step::Down { .. }) => self.opts.retry,
                Err(e) => {
                    on_error(&e);
                    self.opts.retry
                }
            };
            sleep_unless(stop, pause);
        }
        Ok(())
    }
}

/// Sleeps up to `d`, waking early when `stop` is set.
fn sleep_unless(stop: &AtomicBool, d: Duration) {
    let end = Instant::now() + d;
    while !stop.load(Ordering::SeqCst) {
        let left = end.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return;
        }
        std::thread::sleep(left.min(Duration::from_millis(50)));
    }
}

/// Runs `forwarder` on a thread of its own until `stop` is set.
pub fn spawn(
    forwarder: Forwarder,
    operator: Actor,
    stop: Arc<AtomicBool>,
    on_error: impl Fn(&SiemError) + Send + 'static,
) -> std::thread::JoinHandle<Result<(), SiemError>> {
    std::thread::spawn(move || forwarder.run(&operator, &stop, on_error))
}
