//! Phishing events: what a tracking URL records (opened, clicked, submitted, reported) for
//! the one recipient its token belongs to, and the remedial assignment a click triggers.

use labguard_audit::Outcome;
use labguard_core::Id;
use labguard_training::phishing::{EventKind, PhishEvent, TrackingToken};
use labguard_training::{AssignmentRule, Recurrence, RuleKind, Target, VersionPolicy};

use crate::action::Action;
use crate::actor::Actor;
use crate::codec::{parse_id, parse_time, to_json};
use crate::phishing::{event_action, event_code, event_from_code, TrackedEvent};
use crate::store::{rfc3339, Store};
use crate::StoreError;

impl Store {
    /// Records what a tracking URL says happened. `Ok(None)` for a token that is malformed
    /// or belongs to no recipient: the caller answers a plain 404 and learns nothing more.
    /// A click or submission also assigns the phishing course to that person as remedial
    /// training (once per campaign), in the same transaction.
    pub fn record_tracking_event(
        &self,
        token: &str,
        kind: EventKind,
        remedial_due_days: u32,
    ) -> Result<Option<TrackedEvent>, StoreError> {
        let Ok(token) = TrackingToken::parse(token) else {
            return Ok(None);
        };
        let digest = token.digest();
        let now = self.now();
        self.write(|tx, pending| {
            let rows = tx.query(
                "SELECT r.id, r.campaign_id, r.staff_id, r.token_digest, c.template_id FROM phishing_recipients r JOIN phishing_campaigns c ON c.id = r.campaign_id WHERE r.token_digest = ? AND r.status IN ('sending', 'sent')",
                &[digest.clone().into()],
            )?;
            let Some([rid, cid, sid, stored, tpl]) = rows.first().map(Vec::as_slice) else {
                return Ok(None);
            };
            // The index lookup found the row; compare the digest again in constant time so
            // the decision itself does not depend on where two digests first differ.
            let same: bool =
                subtle::ConstantTimeEq::ct_eq(stored.as_text()?.as_bytes(), digest.as_bytes())
                    .into();
            if !same {
                return Ok(None);
            }
            let rid_s = rid.as_text()?.to_string();
            let campaign_id = parse_id(cid)?;
            let staff_id = parse_id(sid)?;
            let n = tx.execute(
                "INSERT INTO phishing_events (id, campaign_id, recipient_id, staff_id, kind, at) VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING",
                &[
                    Id::new_v4().to_string().into(),
                    campaign_id.to_string().into(),
                    rid_s.clone().into(),
                    staff_id.to_string().into(),
                    event_code(kind).into(),
                    rfc3339(now).into(),
                ],
            )?;
            let mut remedial_assigned = false;
            if n == 1 {
                let actor = Actor {
                    id: format!("phishing-recipient:{rid_s}"),
                    kind: crate::ActorKind::System,
                };
                pending.push(self.entry(
                    &actor,
                    event_action(kind),
                    "phishing_recipient",
                    &rid_s,
                    None,
                    Outcome::Success,
                )?);
                if matches!(kind, EventKind::Clicked | EventKind::Submitted) {
                    let rule = AssignmentRule {
                        id: Id::new_v4(),
                        course_id: labguard_training::PHISHING_COURSE_ID.to_string(),
                        target: Target::Person(staff_id),
                        recurrence: Recurrence::Once,
                        due_within_days: remedial_due_days,
                        starts_at: now,
                        version_policy: VersionPolicy::KeepOld,
                        min_completed_at: Some(now),
                        kind: RuleKind::Remedial { campaign_id },
                    };
                    let added = tx.execute(
                        "INSERT INTO training_rules (id, course_id, rule, remedial_campaign, remedial_staff, created_at) VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING",
                        &[
                            rule.id.to_string().into(),
                            rule.course_id.clone().into(),
                            to_json(&rule)?.into(),
                            campaign_id.to_string().into(),
                            staff_id.to_string().into(),
                            rfc3339(now).into(),
                        ],
                    )?;
                    if added == 1 {
                        remedial_assigned = true;
                        pending.push(self.entry(
                            &actor,
                            Action::TrainingAssignRemedial,
                            "training_rule",
                            &rule.id.to_string(),
                            None,
                            Outcome::Success,
                        )?);
                    }
                }
            }
            Ok(Some(TrackedEvent {
                campaign_id,
                staff_id,
                template_id: tpl.as_text()?.to_string(),
                kind,
                first: n == 1,
                remedial_assigned,
            }))
        })
    }

    /// Every recorded event of a campaign, oldest first.
    pub fn campaign_events(
        &self,
        actor: &Actor,
        campaign: Id,
    ) -> Result<Vec<PhishEvent>, StoreError> {
        self.may_read_campaigns(actor, Action::PhishingReportRead)?;
        let mut tx = self.backend.begin()?;
        tx.query(
            "SELECT staff_id, kind, at FROM phishing_events WHERE campaign_id = ? ORDER BY at",
            &[campaign.to_string().into()],
        )?
        .iter()
        .map(|r| {
            let [sid, kind, at] = r.as_slice() else {
                return Err(StoreError::Corrupt("event row shape".into()));
            };
            Ok(PhishEvent {
                campaign_id: campaign,
                staff_id: parse_id(sid)?,
                kind: event_from_code(kind.as_text()?)?,
                at: parse_time(at)?,
            })
        })
        .collect()
    }
}
