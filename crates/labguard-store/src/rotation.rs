//! Online key rotation: a new data-key version takes over new writes at once; a background
//! pass re-encrypts old rows in small transactions; old versions stay readable until the
//! pass finishes, then their key material is destroyed. A pass that is interrupted (crash,
//! kill, Ctrl-C) resumes from the rows still on an old version.

use labguard_audit::Outcome;
use labguard_crypto::KeyPurpose;

use crate::action::Action;
use crate::actor::Actor;
use crate::backend::{query_one, Value};
use crate::store::{rfc3339, Store};
use crate::table::{reseal, split_row, TableSpec, PHI_TABLES};
use crate::StoreError;

#[derive(Debug, Clone)]
pub struct RotateOptions {
    pub batch_size: u32,
    /// Stop after this many batches (tests use it to simulate an interruption).
    pub max_batches: Option<usize>,
}

impl Default for RotateOptions {
    fn default() -> Self {
        RotateOptions {
            batch_size: 256,
            max_batches: None,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RotationReport {
    pub to_version: u32,
    pub resumed: bool,
    pub rows_reencrypted: u64,
    pub finished: bool,
}

impl Store {
    /// Starts (or resumes) a rotation and re-encrypts every row. `progress(done, total)`.
    pub fn rotate_keys(
        &self,
        actor: &Actor,
        opts: &RotateOptions,
        progress: &mut dyn FnMut(u64, u64),
    ) -> Result<RotationReport, StoreError> {
        self.authorize(
            actor,
            labguard_core::Permission::KeysManage,
            Action::KeysRotate,
            "key",
            "data",
        )?;
        let (to, resumed) = self.begin_rotation(actor)?;
        self.reload_keys()?;
        let total = self.rows_below(to)?;
        let mut done = 0u64;
        let mut batches = 0usize;
        progress(0, total);
        for spec in PHI_TABLES {
            loop {
                if opts.max_batches.is_some_and(|m| batches >= m) {
                    return Ok(RotationReport {
                        to_version: to,
                        resumed,
                        rows_reencrypted: done,
                        finished: false,
                    });
                }
                let n = self.rekey_batch(actor, spec, to, opts.batch_size)?;
                if n == 0 {
                    break;
                }
                batches += 1;
                done += n;
                progress(done, total);
            }
        }
        // Identity secrets (TOTP, break-glass reasons) are sealed with the data key too.
        done += self.reseal_identity_secrets(to)?;
        // So are the TLS private keys (device CA, MLLP and HTTPS server keys).
        done += self.reseal_sealed_keys(to)?;
        self.finish_rotation(actor, to)?;
        self.reload_keys()?;
        Ok(RotationReport {
            to_version: to,
            resumed,
            rows_reencrypted: done,
            finished: true,
        })
    }

    /// The rotation in progress, if any: (target version).
    pub fn rotation_in_progress(&self) -> Result<Option<u32>, StoreError> {
        let mut tx = self.backend.begin()?;
        let row = query_one(
            tx.as_mut(),
            "SELECT to_version FROM key_rotation WHERE finished_at IS NULL",
            &[],
        )?;
        row.and_then(|r| r.first().cloned())
            .map(|v| {
                u32::try_from(v.as_int()?)
                    .map_err(|_| StoreError::Corrupt("rotation version".into()))
            })
            .transpose()
    }

    fn begin_rotation(&self, actor: &Actor) -> Result<(u32, bool), StoreError> {
        if let Some(v) = self.rotation_in_progress()? {
            return Ok((v, true));
        }
        let to = self.write(|tx, pending| {
            let max = query_one(
                tx,
                "SELECT MAX(version) FROM keys WHERE purpose = 'data'",
                &[],
            )?
            .and_then(|r| r.first().cloned())
            .ok_or_else(|| StoreError::Corrupt("no data keys".into()))?
            .as_int()?;
            let to = u32::try_from(max + 1)
                .map_err(|_| StoreError::Keys("key version overflow".into()))?;
            let key = labguard_crypto::random_key()?;
            let wrapped = self.kek.wrap(KeyPurpose::Data, to, &key)?;
            let now = rfc3339(self.now());
            tx.execute(
                "UPDATE keys SET state = 'retiring' WHERE purpose = 'data' AND state = 'active'",
                &[],
            )?;
            tx.execute(
                "INSERT INTO keys (purpose, version, wrapped, state, created_at) VALUES ('data', ?, ?, 'active', ?)",
                &[Value::Int(to.into()), wrapped.into(), now.clone().into()],
            )?;
            tx.execute(
                "INSERT INTO key_rotation (to_version, started_at) VALUES (?, ?)",
                &[Value::Int(to.into()), now.into()],
            )?;
            pending.push(self.entry(actor, Action::KeysRotateStart, "key", &format!("data-v{to}"), None, Outcome::Success)?);
            Ok(to)
        })?;
        Ok((to, false))
    }

    fn rows_below(&self, to: u32) -> Result<u64, StoreError> {
        let mut tx = self.backend.begin()?;
        let mut total = 0u64;
        for spec in PHI_TABLES {
            let sql = format!("SELECT COUNT(*) FROM {} WHERE key_version < ?", spec.name);
            let n = query_one(tx.as_mut(), &sql, &[Value::Int(to.into())])?
                .and_then(|r| r.first().cloned())
                .map(|v| v.as_int())
                .transpose()?
                .unwrap_or(0);
            total += u64::try_from(n).unwrap_or(0);
        }
        Ok(total)
    }

    /// Re-encrypts up to `limit` rows of one table in one transaction; returns how many.
    fn rekey_batch(
        &self,
        actor: &Actor,
        spec: &TableSpec,
        to: u32,
        limit: u32,
    ) -> Result<u64, StoreError> {
        let select = format!(
            "{} WHERE key_version < ? ORDER BY id LIMIT ?",
            spec.select_sql()
        );
        let sets: Vec<String> = std::iter::once("key_version = ?".to_string())
            .chain(spec.encrypted.iter().map(|c| format!("{c} = ?")))
            .collect();
        let update = format!("UPDATE {} SET {} WHERE id = ?", spec.name, sets.join(", "));
        let kv = spec.index_of("key_version")?;
        let patient_idx = match spec.patient_column {
            Some("id") | None => None,
            Some(c) => Some(spec.index_of(c)?),
        };
        self.write(|tx, pending| {
            let rows = tx.query(&select, &[Value::Int(to.into()), Value::Int(limit.into())])?;
            let n = rows.len() as u64;
            let ring = self.ring()?;
            let mut entries = Vec::with_capacity(rows.len());
            for row in rows {
                let (id, mut values) = split_row(row)?;
                let mut params = vec![Value::Int(to.into())];
                for col in spec.encrypted {
                    let i = spec.index_of(col)?;
                    let slot = values.get_mut(i).ok_or_else(|| {
                        StoreError::Corrupt(format!("{} row too short", spec.name))
                    })?;
                    let ct = reseal(&ring, spec.name, &id, col, slot)?;
                    *slot = ct.clone();
                    params.push(ct);
                }
                if let Some(v) = values.get_mut(kv) {
                    *v = Value::Int(to.into());
                }
                params.push(id.clone().into());
                tx.execute(&update, &params)?;
                let patient = match patient_idx {
                    Some(i) => values
                        .get(i)
                        .ok_or_else(|| StoreError::Corrupt(format!("{} row too short", spec.name)))?
                        .as_text()?
                        .to_string(),
                    None => id.clone(),
                };
                entries.push((id, patient, spec.row_hash(&values)));
            }
            drop(ring);
            for (id, patient, hash) in entries {
                let mut e = self.entry(
                    actor,
                    Action::KeysRotateRow,
                    spec.resource,
                    &id,
                    Some(&patient),
                    Outcome::Success,
                )?;
                e.content_hash = Some(hash);
                pending.push(e);
            }
            Ok(n)
        })
    }

    fn finish_rotation(&self, actor: &Actor, to: u32) -> Result<(), StoreError> {
        self.write(|tx, pending| {
            for spec in PHI_TABLES {
                let sql = format!("SELECT COUNT(*) FROM {} WHERE key_version < ?", spec.name);
                let left = query_one(tx, &sql, &[Value::Int(to.into())])?
                    .and_then(|r| r.first().cloned())
                    .map(|v| v.as_int())
                    .transpose()?
                    .unwrap_or(0);
                if left > 0 {
                    return Err(StoreError::Keys(format!(
                        "{left} {} rows still use an old key; run the rotation again",
                        spec.name
                    )));
                }
            }
            // Destroy old key material: nothing in the live database needs it any more.
            tx.execute(
                "UPDATE keys SET state = 'retired', wrapped = ? WHERE purpose = 'data' AND version < ?",
                &[Value::Blob(Vec::new()), Value::Int(to.into())],
            )?;
            tx.execute(
                "UPDATE key_rotation SET finished_at = ? WHERE to_version = ?",
                &[rfc3339(self.now()).into(), Value::Int(to.into())],
            )?;
            pending.push(self.entry(actor, Action::KeysRotateFinish, "key", &format!("data-v{to}"), None, Outcome::Success)?);
            Ok(())
        })
    }
}
