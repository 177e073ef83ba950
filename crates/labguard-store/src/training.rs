//! Training records: lab-added course versions, assignment rules, quiz attempts and
//! completions with their certificates. Course content and grading rules live in
//! `labguard-training`; open assignments are recomputed from what is stored here.

use chrono::{DateTime, Utc};
use labguard_audit::Outcome;
use labguard_core::{Id, Permission};
use labguard_training::{AssignmentRule, Completion, RuleKind};
use serde::{Deserialize, Serialize};

use crate::action::Action;
use crate::actor::{Actor, ActorKind, STAFF_READERS};
use crate::backend::{Tx, Value};
use crate::codec::{parse_id, parse_time};
use crate::store::{rfc3339, Store};
use crate::StoreError;

/// One stored version of a lab-written course.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoredCourse {
    pub course_id: String,
    pub version: u32,
    pub source: String,
    pub released_at: DateTime<Utc>,
}

/// A quiz attempt as stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Attempt {
    pub id: Id,
    pub staff_id: Id,
    pub course_id: String,
    pub course_version: u32,
    pub seed: u64,
    pub started_at: DateTime<Utc>,
    pub submitted_at: Option<DateTime<Utc>>,
    pub score_percent: Option<u8>,
    pub passed: Option<bool>,
}

fn u32_of(v: &Value) -> Result<u32, StoreError> {
    u32::try_from(v.as_int()?).map_err(|_| StoreError::Corrupt("number out of range".into()))
}

/// Staff act on their own training; managing anyone else's needs TrainingManage.
fn is_self(actor: &Actor, staff: Id) -> bool {
    matches!(actor.kind, ActorKind::Staff(_)) && actor.id == staff.to_string()
}

impl Store {
    fn authorize_self_or_manage(
        &self,
        actor: &Actor,
        staff: Id,
        action: Action,
        resource: &str,
        id: &str,
    ) -> Result<(), StoreError> {
        if is_self(actor, staff) {
            return Ok(());
        }
        self.authorize(actor, Permission::TrainingManage, action, resource, id)
    }

    /// For reads outside the store's own tables' rules (reports built from several
    /// tables): passes if the actor has any of `perms`; a refusal is audited.
    pub fn require_any(
        &self,
        actor: &Actor,
        perms: &[Permission],
        action: Action,
        resource: &str,
    ) -> Result<(), StoreError> {
        if perms.iter().any(|p| actor.may(*p)) {
            return Ok(());
        }
        let first = perms.first().copied().unwrap_or(Permission::AuditRead);
        self.authorize(actor, first, action, resource, "")
    }

    /// One person's own records are theirs to read; anyone else's (or everyone's) need one of
    /// `STAFF_READERS`.
    pub(crate) fn may_read_person(
        &self,
        actor: &Actor,
        who: Option<Id>,
        action: Action,
        resource: &str,
    ) -> Result<(), StoreError> {
        if who.is_some_and(|id| actor.is_staff(id)) {
            return Ok(());
        }
        self.require_any(actor, STAFF_READERS, action, resource)
    }

    /// Courses and assignment rules are what everyone is asked to take: any person or
    /// labguard itself may read them, an instrument may not.
    fn may_read_training(&self, actor: &Actor, resource: &str) -> Result<(), StoreError> {
        if actor.kind == ActorKind::Device {
            return self.authorize(
                actor,
                Permission::TrainingManage,
                Action::TrainingRead,
                resource,
                "",
            );
        }
        Ok(())
    }

    /// Adds a version of a lab-written course (the caller has parsed and validated it).
    pub fn add_course_version(&self, actor: &Actor, c: &StoredCourse) -> Result<(), StoreError> {
        let rid = format!("{}@{}", c.course_id, c.version);
        self.authorize(
            actor,
            Permission::TrainingManage,
            Action::TrainingCourseAdd,
            "training_course",
            &rid,
        )?;
        let now = rfc3339(self.now());
        self.write(|tx, pending| {
            tx.execute(
                "INSERT INTO training_courses (course_id, version, source, released_at, added_at) VALUES (?, ?, ?, ?, ?)",
                &[
                    c.course_id.clone().into(),
                    Value::Int(i64::from(c.version)),
                    c.source.clone().into(),
                    rfc3339(c.released_at).into(),
                    now.clone().into(),
                ],
            )?;
            pending.push(self.entry(actor, Action::TrainingCourseAdd, "training_course", &rid, None, Outcome::Success)?);
            Ok(())
        })
    }

    /// Every stored version of every lab course, oldest version first.
    pub fn lab_courses(&self, actor: &Actor) -> Result<Vec<StoredCourse>, StoreError> {
        self.may_read_training(actor, "training_course")?;
        let mut tx = self.backend.begin()?;
        tx.query(
            "SELECT course_id, version, source, released_at FROM training_courses ORDER BY course_id, version",
            &[],
        )?
        .iter()
        .map(|r| {
            let [id, v, src, rel] = r.as_slice() else {
                return Err(StoreError::Corrupt("course row shape".into()));
            };
            Ok(StoredCourse {
                course_id: id.as_text()?.into(),
                version: u32_of(v)?,
                source: src.as_text()?.into(),
                released_at: parse_time(rel)?,
            })
        })
        .collect()
    }

    pub fn add_training_rule(
        &self,
        actor: &Actor,
        rule: &AssignmentRule,
    ) -> Result<(), StoreError> {
        let id = rule.id.to_string();
        self.authorize(
            actor,
            Permission::TrainingManage,
            Action::TrainingAssign,
            "training_rule",
            &id,
        )?;
        let body = serde_json::to_string(rule).map_err(|e| StoreError::Corrupt(e.to_string()))?;
        let (rc, rs) = match (&rule.kind, &rule.target) {
            (RuleKind::Remedial { campaign_id }, labguard_training::Target::Person(p)) => {
                (Some(campaign_id.to_string()), Some(p.to_string()))
            }
            _ => (None, None),
        };
        let now = rfc3339(self.now());
        self.write(|tx, pending| {
            tx.execute(
                "INSERT INTO training_rules (id, course_id, rule, remedial_campaign, remedial_staff, created_at) VALUES (?, ?, ?, ?, ?, ?)",
                &[
                    id.clone().into(),
                    rule.course_id.clone().into(),
                    body.clone().into(),
                    rc.clone().into(),
                    rs.clone().into(),
                    now.clone().into(),
                ],
            )?;
            pending.push(self.entry(actor, Action::TrainingAssign, "training_rule", &id, None, Outcome::Success)?);
            Ok(())
        })
    }

    pub fn training_rules(&self, actor: &Actor) -> Result<Vec<AssignmentRule>, StoreError> {
        self.may_read_training(actor, "training_rule")?;
        let mut tx = self.backend.begin()?;
        tx.query(
            "SELECT rule FROM training_rules ORDER BY created_at, id",
            &[],
        )?
        .iter()
        .map(|r| {
            let v = r
                .first()
                .ok_or_else(|| StoreError::Corrupt("rule row".into()))?;
            serde_json::from_str(v.as_text()?)
                .map_err(|_| StoreError::Corrupt("training rule json".into()))
        })
        .collect()
    }

    /// Starts a quiz attempt with the seed that fixes its question order, unless `max_graded`
    /// attempts at this course version are already graded. The count and the insert share
    /// one transaction under the write lock, so parallel starts cannot slip past the limit.
    pub fn start_attempt_within(
        &self,
        actor: &Actor,
        staff: Id,
        course_id: &str,
        course_version: u32,
        seed: u64,
        max_graded: u32,
    ) -> Result<Id, StoreError> {
        let id = Id::new_v4();
        let ids = id.to_string();
        self.authorize_self_or_manage(
            actor,
            staff,
            Action::TrainingAttemptStart,
            "training_attempt",
            &ids,
        )?;
        let now = rfc3339(self.now());
        self.write(|tx, pending| {
            tx.lock_audit_head()?;
            refuse_past_limit(tx, staff, course_id, course_version, max_graded)?;
            tx.execute(
                "INSERT INTO training_attempts (id, staff_id, course_id, course_version, seed, started_at) VALUES (?, ?, ?, ?, ?, ?)",
                &[
                    ids.clone().into(),
                    staff.to_string().into(),
                    course_id.into(),
                    Value::Int(i64::from(course_version)),
                    // Stored as the same 64 bits; SQL integers are signed.
                    Value::Int(i64::from_ne_bytes(seed.to_ne_bytes())),
                    now.clone().into(),
                ],
            )?;
            pending.push(self.entry(actor, Action::TrainingAttemptStart, "training_attempt", &ids, None, Outcome::Success)?);
            Ok(())
        })?;
        Ok(id)
    }

    /// One quiz attempt: the learner's own, or anyone's for those who manage training.
    pub fn attempt(&self, actor: &Actor, id: Id) -> Result<Attempt, StoreError> {
        let a = self.attempt_row(id)?;
        if !actor.is_staff(a.staff_id) {
            // Someone else's attempt looks as if it did not exist (no probing of ids); the
            // refusal is still audited.
            self.authorize(
                actor,
                Permission::TrainingManage,
                Action::TrainingRead,
                "training_attempt",
                &id.to_string(),
            )
            .map_err(|e| match e {
                StoreError::Denied(_) => StoreError::NotFound("quiz attempt".into()),
                e => e,
            })?;
        }
        Ok(a)
    }

    fn attempt_row(&self, id: Id) -> Result<Attempt, StoreError> {
        let mut tx = self.backend.begin()?;
        let rows = tx.query(
            "SELECT id, staff_id, course_id, course_version, seed, started_at, submitted_at, score_percent, passed FROM training_attempts WHERE id = ?",
            &[id.to_string().into()],
        )?;
        let Some([id, sid, cid, ver, seed, started, sub, score, passed]) =
            rows.first().map(Vec::as_slice)
        else {
            return Err(StoreError::NotFound("quiz attempt".into()));
        };
        Ok(Attempt {
            id: parse_id(id)?,
            staff_id: parse_id(sid)?,
            course_id: cid.as_text()?.into(),
            course_version: u32_of(ver)?,
            seed: u64::from_ne_bytes(seed.as_int()?.to_ne_bytes()),
            started_at: parse_time(started)?,
            submitted_at: match sub {
                Value::Null => None,
                v => Some(parse_time(v)?),
            },
            score_percent: match score {
                Value::Null => None,
                v => Some(
                    u8::try_from(v.as_int()?).map_err(|_| StoreError::Corrupt("score".into()))?,
                ),
            },
            passed: match passed {
                Value::Null => None,
                v => Some(v.as_int()? != 0),
            },
        })
    }

    /// Submitted attempts of one person at one course version (for the retry limit).
    pub fn attempts_used(
        &self,
        actor: &Actor,
        staff: Id,
        course_id: &str,
        version: u32,
    ) -> Result<u32, StoreError> {
        self.may_read_person(actor, Some(staff), Action::TrainingRead, "training_attempt")?;
        let mut tx = self.backend.begin()?;
        let n = graded_count(tx.as_mut(), staff, course_id, version)?;
        Ok(u32::try_from(n).unwrap_or(u32::MAX))
    }

    /// Records a graded attempt; a pass also stores the completion and its certificate
    /// (JSON of `labguard_training::Certificate`). An attempt is graded once, and not at all
    /// once `max_graded` attempts at the version are graded: attempts started in parallel
    /// cannot be used to try more answers than the limit allows.
    pub fn finish_attempt_within(
        &self,
        actor: &Actor,
        attempt: &Attempt,
        score_percent: u8,
        passed: bool,
        certificate_json: Option<&str>,
        max_graded: u32,
    ) -> Result<(), StoreError> {
        let ids = attempt.id.to_string();
        self.authorize_self_or_manage(
            actor,
            attempt.staff_id,
            Action::TrainingAttemptSubmit,
            "training_attempt",
            &ids,
        )?;
        let now = rfc3339(self.now());
        self.write(|tx, pending| {
            tx.lock_audit_head()?;
            refuse_past_limit(
                tx,
                attempt.staff_id,
                &attempt.course_id,
                attempt.course_version,
                max_graded,
            )?;
            let n = tx.execute(
                "UPDATE training_attempts SET submitted_at = ?, score_percent = ?, passed = ? WHERE id = ? AND submitted_at IS NULL",
                &[
                    now.clone().into(),
                    Value::Int(i64::from(score_percent)),
                    Value::Int(i64::from(passed)),
                    ids.clone().into(),
                ],
            )?;
            if n != 1 {
                return Err(StoreError::Conflict);
            }
            pending.push(self.entry(actor, Action::TrainingAttemptSubmit, "training_attempt", &ids, None, Outcome::Success)?);
            if let (true, Some(cert)) = (passed, certificate_json) {
                let cid = Id::new_v4().to_string();
                tx.execute(
                    "INSERT INTO training_completions (id, staff_id, course_id, course_version, completed_at, score_percent, certificate) VALUES (?, ?, ?, ?, ?, ?, ?)",
                    &[
                        cid.clone().into(),
                        attempt.staff_id.to_string().into(),
                        attempt.course_id.clone().into(),
                        Value::Int(i64::from(attempt.course_version)),
                        now.clone().into(),
                        Value::Int(i64::from(score_percent)),
                        cert.into(),
                    ],
                )?;
                pending.push(self.entry(actor, Action::TrainingComplete, "training_completion", &cid, None, Outcome::Success)?);
            }
            Ok(())
        })
    }

    /// The key completion certificates are signed with: derived from the lab's blind-index
    /// key, so it never leaves the store's key ring in stored form and is stable per lab.
    pub fn certificate_key(&self) -> Result<zeroize::Zeroizing<[u8; 32]>, StoreError> {
        Ok(zeroize::Zeroizing::new(
            self.ring()?.blind_index("training-certificate", "v1"),
        ))
    }

    /// When each member of staff was added (the "on hire" date for assignments).
    pub fn staff_since(
        &self,
        actor: &Actor,
        only: Option<Id>,
    ) -> Result<Vec<(Id, DateTime<Utc>)>, StoreError> {
        self.may_read_person(actor, only, Action::StaffList, "staff")?;
        let mut tx = self.backend.begin()?;
        let (sql, params): (&str, Vec<Value>) = match only {
            Some(id) => (
                "SELECT id, created_at FROM staff WHERE id = ?",
                vec![id.to_string().into()],
            ),
            None => ("SELECT id, created_at FROM staff", vec![]),
        };
        tx.query(sql, &params)?
            .iter()
            .map(|r| {
                let [id, at] = r.as_slice() else {
                    return Err(StoreError::Corrupt("staff row shape".into()));
                };
                Ok((parse_id(id)?, parse_time(at)?))
            })
            .collect()
    }

    /// Keys of the reminders already sent.
    pub fn reminders_sent(
        &self,
        actor: &Actor,
    ) -> Result<std::collections::BTreeSet<String>, StoreError> {
        self.authorize(
            actor,
            Permission::TrainingManage,
            Action::TrainingRead,
            "training_reminder",
            "",
        )?;
        let mut tx = self.backend.begin()?;
        tx.query("SELECT key FROM training_reminders", &[])?
            .iter()
            .map(|r| {
                Ok(r.first()
                    .ok_or_else(|| StoreError::Corrupt("reminder row".into()))?
                    .as_text()?
                    .to_string())
            })
            .collect()
    }

    /// Records that reminder `key` went out (after the SMTP server accepted it).
    pub fn record_reminder_sent(
        &self,
        actor: &Actor,
        key: &str,
        staff: Id,
        course_id: &str,
        step: &str,
        recipient: &str,
    ) -> Result<(), StoreError> {
        self.authorize(
            actor,
            Permission::TrainingManage,
            Action::TrainingRemind,
            "training_reminder",
            key,
        )?;
        let now = rfc3339(self.now());
        self.write(|tx, pending| {
            let n = tx.execute(
                "INSERT INTO training_reminders (key, staff_id, course_id, step, recipient, sent_at) VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING",
                &[
                    key.into(),
                    staff.to_string().into(),
                    course_id.into(),
                    step.into(),
                    recipient.into(),
                    now.clone().into(),
                ],
            )?;
            if n == 1 {
                pending.push(self.entry(actor, Action::TrainingRemind, "training_reminder", key, None, Outcome::Success)?);
            }
            Ok(())
        })
    }

    /// Completions, of one person or everyone.
    pub fn completions(
        &self,
        actor: &Actor,
        staff: Option<Id>,
    ) -> Result<Vec<Completion>, StoreError> {
        Ok(self
            .completion_records(actor, staff)?
            .into_iter()
            .map(|(c, _)| c)
            .collect())
    }

    /// Completions with their certificate JSON.
    pub fn completion_records(
        &self,
        actor: &Actor,
        staff: Option<Id>,
    ) -> Result<Vec<(Completion, String)>, StoreError> {
        self.may_read_person(actor, staff, Action::TrainingRead, "training_completion")?;
        let mut tx = self.backend.begin()?;
        let (sql, params): (&str, Vec<Value>) = match staff {
            Some(s) => (
                "SELECT staff_id, course_id, course_version, completed_at, score_percent, certificate FROM training_completions WHERE staff_id = ? ORDER BY completed_at",
                vec![s.to_string().into()],
            ),
            None => (
                "SELECT staff_id, course_id, course_version, completed_at, score_percent, certificate FROM training_completions ORDER BY completed_at",
                vec![],
            ),
        };
        tx.query(sql, &params)?
            .iter()
            .map(|r| {
                let [sid, cid, ver, at, score, cert] = r.as_slice() else {
                    return Err(StoreError::Corrupt("completion row shape".into()));
                };
                Ok((
                    Completion {
                        staff_id: parse_id(sid)?,
                        course_id: cid.as_text()?.into(),
                        course_version: u32_of(ver)?,
                        completed_at: parse_time(at)?,
                        score_percent: u8::try_from(score.as_int()?)
                            .map_err(|_| StoreError::Corrupt("score".into()))?,
                    },
                    cert.as_text()?.to_string(),
                ))
            })
            .collect()
    }
}

/// Refuses when `max_graded` attempts of `staff` at this course version are already graded.
/// Called inside the write transaction after the write lock is taken.
fn refuse_past_limit(
    tx: &mut dyn Tx,
    staff: Id,
    course_id: &str,
    version: u32,
    max_graded: u32,
) -> Result<(), StoreError> {
    if graded_count(tx, staff, course_id, version)? >= i64::from(max_graded) {
        return Err(StoreError::Denied(format!(
            "all {max_graded} attempts at this course version are used; ask the security officer"
        )));
    }
    Ok(())
}

/// Graded (submitted) attempts of `staff` at one course version.
fn graded_count(
    tx: &mut dyn Tx,
    staff: Id,
    course_id: &str,
    version: u32,
) -> Result<i64, StoreError> {
    Ok(tx
        .query(
            "SELECT COUNT(*) FROM training_attempts WHERE staff_id = ? AND course_id = ? AND course_version = ? AND submitted_at IS NOT NULL",
            &[staff.to_string().into(), course_id.into(), Value::Int(i64::from(version))],
        )?
        .first()
        .and_then(|r| r.first().cloned())
        .map(|v| v.as_int())
        .transpose()?
        .unwrap_or(0))
}
