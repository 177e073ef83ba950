//! Compliance evidence collection, on demand and on the lab-wide daily schedule.
//!
//! Several nodes may share one PostgreSQL database; the daily run is the lab's, not each
//! node's, so a node collects only after it has claimed the day (`Store::claim_period`).
//! Nodes wake far more often than daily, so one restarted mid-day still collects when no
//! node has that day yet.

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use labguard_compliance::report::Report;
use labguard_store::{Actor, Store, StoreError};

use crate::compliance_facts::LiveFacts;

/// The job name in `job_leases`.
pub const COLLECT_JOB: &str = "compliance.collect";

/// How often a serving node checks whether today's collection is still to do.
pub const WAKE_EVERY: Duration = Duration::from_secs(3600);

/// Runs every collector over the live facts, saves the hashed evidence and the score
/// (audited by the store), and returns the report.
pub fn collect(store: &Store, actor: &Actor, now: DateTime<Utc>) -> Result<Report, StoreError> {
    let facts = LiveFacts::gather(store, actor, now);
    store.collect_compliance(actor, &facts)
}

/// The period a collection at `now` belongs to: its UTC date, `YYYY-MM-DD` (sorts as time).
pub fn period(now: DateTime<Utc>) -> String {
    now.date_naive().format("%Y-%m-%d").to_string()
}

/// One scheduler tick: collects if this node is the first of all nodes to claim `now`'s
/// day, else does nothing and returns `None`.
///
/// The claim comes first, so two nodes never both collect; a collection that then fails
/// leaves the day claimed (it is retried the next day, or by hand with `compliance collect`).
pub fn collect_if_due(
    store: &Store,
    actor: &Actor,
    now: DateTime<Utc>,
) -> Result<Option<Report>, StoreError> {
    if !store.claim_period(COLLECT_JOB, &period(now), now)? {
        return Ok(None);
    }
    collect(store, actor, now).map(Some)
}

/// Runs [`collect_if_due`] as the system actor now and then every `wake`, on a thread of
/// its own for as long as the process lives; `on_error` hears of each failed tick.
pub fn spawn_daily(
    store: Arc<Store>,
    wake: Duration,
    on_error: impl Fn(&StoreError) + Send + 'static,
) -> std::thread::JoinHandle<()> {
    std::thread::spawn(move || loop {
        if let Err(e) = collect_if_due(&store, &Actor::system(), Utc::now()) {
            on_error(&e);
        }
        std::thread::sleep(wake);
    })
}
