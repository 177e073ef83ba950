//! Privacy tunings: explicit, audited records of a change to one role's detector settings
//! (who, why, role, detector). The scan applies them in order over the default config, so
//! a false-positive label alone never silences a rule.

use labguard_audit::Outcome;
use labguard_core::Permission as P;
use labguard_privacy::{Config, Tuning};

use crate::action::Action;
use crate::backend::{Tx, Value};
use crate::codec::{from_json, to_json};
use crate::store::{rfc3339, Store};
use crate::{Actor, StoreError};

impl Store {
    /// Records a tuning made by `actor` (its `by` must be the actor: nobody files a change
    /// in someone else's name). Needs `PrivacyReview`; audited. Returns the record's number.
    pub fn privacy_tune(&self, actor: &Actor, t: &Tuning) -> Result<u64, StoreError> {
        let detector = t.change.detector().code();
        self.authorize(
            actor,
            P::PrivacyReview,
            Action::PrivacyTune,
            "privacy-tuning",
            detector,
        )?;
        if actor.id != t.by.to_string() {
            return Err(StoreError::Denied(
                "a tuning is recorded by the person making it".into(),
            ));
        }
        // The same check the scan applies on reading it back.
        Config::default().apply(t)?;
        let now = self.now();
        self.write(|tx, pending| {
            // The scan row's lock orders tunings against a scan running at the same time.
            tx.execute(
                "UPDATE privacy_scan_state SET updated_at = ? WHERE id = 1",
                &[rfc3339(now).into()],
            )?;
            let next = tx
                .query("SELECT COALESCE(MAX(id), 0) FROM privacy_tunings", &[])?
                .first()
                .and_then(|r| r.first().map(|v| v.as_int()))
                .transpose()?
                .unwrap_or(0)
                + 1;
            tx.execute(
                "INSERT INTO privacy_tunings (id, role, detector, tuning, created_by, created_at) VALUES (?, ?, ?, ?, ?, ?)",
                &[
                    Value::Int(next),
                    t.role.code().into(),
                    detector.into(),
                    to_json(t)?.into(),
                    t.by.to_string().into(),
                    rfc3339(t.at).into(),
                ],
            )?;
            pending.push(self.entry(
                actor,
                Action::PrivacyTune,
                "privacy-tuning",
                &next.to_string(),
                None,
                Outcome::Success,
            )?);
            Ok(u64::try_from(next).unwrap_or(0))
        })
    }

    /// The tunings in force, oldest first. Needs `PrivacyReview`.
    pub fn privacy_tunings(&self, actor: &Actor) -> Result<Vec<Tuning>, StoreError> {
        self.authorize(
            actor,
            P::PrivacyReview,
            Action::PrivacyTune,
            "privacy-tuning",
            "",
        )?;
        let mut tx = self.backend.begin()?;
        tunings(tx.as_mut())
    }
}

pub(crate) fn tunings(tx: &mut dyn Tx) -> Result<Vec<Tuning>, StoreError> {
    tx.query("SELECT tuning FROM privacy_tunings ORDER BY id", &[])?
        .into_iter()
        .map(|r| match r.first() {
            Some(v) => from_json::<Tuning>(v, "privacy_tunings.tuning"),
            None => Err(StoreError::Corrupt("privacy tuning row shape".into())),
        })
        .collect()
}

/// The default config with every stored tuning applied in order.
pub(crate) fn config(tx: &mut dyn Tx) -> Result<Config, StoreError> {
    let mut cfg = Config::default();
    for t in tunings(tx)? {
        cfg = cfg
            .apply(&t)
            .map_err(|e| StoreError::Corrupt(format!("privacy tuning: {e}")))?;
    }
    Ok(cfg)
}
