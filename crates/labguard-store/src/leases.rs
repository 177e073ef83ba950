//! Lab-wide jobs that must run once per period, not once per node.

use chrono::{DateTime, Utc};

use crate::{Store, StoreError};

impl Store {
    /// Claims `job` for `period` (a sortable label such as `2026-12-07`) for this node.
    /// True for exactly one caller per period across every node sharing the database:
    /// the claim is one conditional upsert, so two nodes racing cannot both move the
    /// period forward (PostgreSQL re-checks the condition after the other commits).
    pub fn claim_period(
        &self,
        job: &str,
        period: &str,
        now: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        let holder = self.opts.node.clone();
        self.write(|tx, _| {
            let changed = tx.execute(
                "INSERT INTO job_leases (job, period, holder, claimed_at) VALUES (?, ?, ?, ?) \
                 ON CONFLICT (job) DO UPDATE SET period = excluded.period, holder = excluded.holder, \
                 claimed_at = excluded.claimed_at WHERE job_leases.period < excluded.period",
                &[
                    job.into(),
                    period.into(),
                    holder.clone().into(),
                    now.to_rfc3339().into(),
                ],
            )?;
            Ok(changed == 1)
        })
    }
}
