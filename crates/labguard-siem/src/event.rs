//! The SIEM event: what one audit entry or alert becomes, pseudonymous by construction.

use labguard_audit::{AuditEntry, Outcome};
use serde::{Deserialize, Serialize};

/// RFC 5424 severity (§6.2.1, table 2).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// 1: action must be taken immediately.
    Alert,
    /// 2: critical conditions.
    Critical,
    /// 3: error conditions.
    Error,
    /// 4: warning conditions.
    Warning,
    /// 5: normal but significant condition.
    Notice,
    /// 6: informational messages.
    Info,
}

impl Severity {
    /// The numeric code.
    pub fn code(self) -> u8 {
        match self {
            Severity::Alert => 1,
            Severity::Critical => 2,
            Severity::Error => 3,
            Severity::Warning => 4,
            Severity::Notice => 5,
            Severity::Info => 6,
        }
    }
}

/// What the event came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum EventKind {
    /// An entry of the Merkle audit log.
    Audit,
    /// A security alert (break-glass, MFA change, instrument, privacy, SIEM backlog …).
    Alert,
}

impl EventKind {
    /// RFC 5424 facility: 13 "log audit" for entries, 14 "log alert" for alerts.
    pub fn facility(self) -> u8 {
        match self {
            EventKind::Audit => 13,
            EventKind::Alert => 14,
        }
    }
}

/// Which of the store's alert tables an alert row is from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum AlertSource {
    /// `alerts`: break-glass, MFA changes, key usage, device findings, SIEM backlog.
    Security,
    /// `instrument_alerts`: held results, refused deliveries, QC rejections.
    Instrument,
    /// `privacy_alerts`: the privacy scanner's detectors.
    Privacy,
}

impl AlertSource {
    /// Stable code, used in event ids.
    pub fn code(self) -> &'static str {
        match self {
            AlertSource::Security => "security",
            AlertSource::Instrument => "instrument",
            AlertSource::Privacy => "privacy",
        }
    }
}

/// An alert row as the store hands it over: codes and opaque ids only. The store keeps
/// sealed fields (a break-glass reason) and free-form scanner output out of it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AlertRecord {
    /// Table it is from.
    pub source: AlertSource,
    /// The alert's row id.
    pub id: String,
    /// Kind or detector code, e.g. `break-glass`, `qc-rejected`, `same-surname`.
    pub kind: String,
    /// When it was raised (RFC 3339 UTC).
    pub created_at: String,
    /// Staff member concerned, by staff id.
    pub user_id: Option<String>,
    /// Opaque id of what it is about (grant, device, sink …), never a patient row id.
    pub subject_id: Option<String>,
    /// The patient, by audit pseudonym.
    pub patient_ref: Option<String>,
    /// A reason code (instrument alerts' `detail`, which holds codes, never values).
    pub detail: Option<String>,
}

/// One event for the SIEM. `fields` become the STRUCTURED-DATA parameters (syslog) or the
/// `fields` object (JSON), in order; every value is a code, an opaque id or a pseudonym.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SiemEvent {
    /// Stable id: `audit-<seq>` or `alert-<source>-<row id>`, so a receiver can tell a
    /// re-sent event (the one crash window, see docs/siem.md) from a new one.
    pub id: String,
    /// Audit entry or alert.
    pub kind: EventKind,
    /// When the source recorded it (RFC 3339 UTC, up to 9 fractional digits).
    pub time: String,
    /// Syslog severity.
    pub severity: Severity,
    /// RFC 5424 MSGID: the action code (`patient.read`) or alert kind, at most 32
    /// printable ASCII characters.
    pub msgid: String,
    /// Named values, in order.
    pub fields: Vec<(String, String)>,
    /// Human-readable one-line summary built from the same values.
    pub message: String,
}

impl SiemEvent {
    /// The event for audit entry `seq`. The entry already carries the pseudonym; the
    /// resource id of a `patient` resource is the patient's row id, which staff with
    /// database access could look up, so it is left out (the pseudonym stands for it).
    pub fn from_audit(seq: u64, e: &AuditEntry) -> SiemEvent {
        let outcome = match e.outcome {
            Outcome::Success => "success",
            Outcome::Denied => "denied",
            Outcome::Error => "error",
        };
        let severity = match e.outcome {
            Outcome::Success if e.action.starts_with("break-glass") => Severity::Warning,
            Outcome::Success => Severity::Info,
            Outcome::Denied => Severity::Warning,
            Outcome::Error => Severity::Error,
        };
        let mut fields = vec![
            ("seq".to_string(), seq.to_string()),
            ("actor".into(), e.actor.clone()),
            ("role".into(), e.role.clone()),
            ("action".into(), e.action.clone()),
            ("outcome".into(), outcome.into()),
            ("resource".into(), e.resource.clone()),
        ];
        let patient_row = e.resource == "patient";
        if !e.resource_id.is_empty() && !patient_row {
            fields.push(("resourceId".into(), e.resource_id.clone()));
        }
        push_opt(&mut fields, "patientRef", e.patient_ref.as_deref());
        push_opt(&mut fields, "reason", e.reason.as_deref());
        push_opt(&mut fields, "contentHash", e.content_hash.as_deref());
        push_opt(&mut fields, "node", e.node.as_deref());
        let message = format!(
            "{} ({}) {} {} {}",
            e.actor, e.role, e.action, e.resource, outcome
        );
        SiemEvent {
            id: format!("audit-{seq}"),
            kind: EventKind::Audit,
            time: e.time.clone(),
            severity,
            msgid: msgid(&e.action),
            fields,
            message,
        }
    }

    /// The event for an alert row.
    pub fn from_alert(a: &AlertRecord) -> SiemEvent {
        let severity = match (a.source, a.kind.as_str()) {
            (_, "break-glass") | (_, "siem-backlog") => Severity::Alert,
            (_, "siem-recovered") => Severity::Notice,
            (AlertSource::Security, _) => Severity::Critical,
            _ => Severity::Warning,
        };
        let mut fields = vec![
            ("source".to_string(), a.source.code().to_string()),
            ("alertId".into(), a.id.clone()),
            ("kind".into(), a.kind.clone()),
        ];
        push_opt(&mut fields, "user", a.user_id.as_deref());
        push_opt(&mut fields, "subject", a.subject_id.as_deref());
        push_opt(&mut fields, "patientRef", a.patient_ref.as_deref());
        push_opt(&mut fields, "detail", a.detail.as_deref());
        let message = format!("{} alert {}", a.source.code(), a.kind);
        SiemEvent {
            id: format!("alert-{}-{}", a.source.code(), a.id),
            kind: EventKind::Alert,
            time: a.created_at.clone(),
            severity,
            msgid: msgid(&a.kind),
            fields,
            message,
        }
    }

    /// The JSON-lines form: one object and a newline.
    pub fn json_line(&self, hostname: &str) -> String {
        let fields: serde_json::Map<String, serde_json::Value> = self
            .fields
            .iter()
            .map(|(k, v)| (k.clone(), serde_json::Value::String(v.clone())))
            .collect();
        let v = serde_json::json!({
            "id": self.id,
            "kind": self.kind,
            "time": self.time,
            "host": hostname,
            "app": "labguard",
            "severity": self.severity,
            "msgid": self.msgid,
            "fields": fields,
            "msg": self.message,
        });
        let mut s = v.to_string();
        s.push('\n');
        s
    }
}

fn push_opt(fields: &mut Vec<(String, String)>, name: &str, v: Option<&str>) {
    if let Some(v) = v {
        fields.push((name.to_string(), v.to_string()));
    }
}

/// MSGID is 1–32 printable US-ASCII characters (RFC 5424 §6.2.7); anything else becomes `-`.
fn msgid(code: &str) -> String {
    let s: String = code
        .chars()
        .map(|c| if c.is_ascii_graphic() { c } else { '-' })
        .take(32)
        .collect();
    if s.is_empty() {
        "-".into()
    } else {
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    pub(crate) fn entry() -> AuditEntry {
        AuditEntry {
            time: "2026-12-07T10:00:00.123456789Z".into(),
            actor: "u-17".into(),
            role: "technologist".into(),
            action: "patient.read".into(),
            resource: "patient".into(),
            resource_id: "0b7c9a52-row-id".into(),
            patient_ref: Some("p-3c1e".into()),
            reason: None,
            outcome: Outcome::Success,
            content_hash: None,
            node: Some("node-1".into()),
        }
    }

    #[test]
    fn a_patient_read_carries_the_pseudonym_and_not_the_row_id() {
        let ev = SiemEvent::from_audit(42, &entry());
        assert_eq!(ev.id, "audit-42");
        assert!(ev.fields.contains(&("patientRef".into(), "p-3c1e".into())));
        let all = format!("{ev:?}");
        assert!(!all.contains("0b7c9a52"), "{all}");
        assert!(!ev.json_line("h").contains("0b7c9a52"));
    }

    #[test]
    fn other_resources_keep_their_opaque_id() {
        let mut e = entry();
        e.resource = "result".into();
        e.resource_id = "r-9".into();
        let ev = SiemEvent::from_audit(1, &e);
        assert!(ev.fields.contains(&("resourceId".into(), "r-9".into())));
    }

    #[test]
    fn severities_follow_outcome_and_alert_kind() {
        let mut e = entry();
        e.outcome = Outcome::Denied;
        assert_eq!(SiemEvent::from_audit(1, &e).severity, Severity::Warning);
        let a = AlertRecord {
            source: AlertSource::Security,
            id: "a1".into(),
            kind: "siem-backlog".into(),
            created_at: "2026-12-07T10:00:00Z".into(),
            user_id: None,
            subject_id: Some("syslog".into()),
            patient_ref: None,
            detail: None,
        };
        let ev = SiemEvent::from_alert(&a);
        assert_eq!(ev.severity, Severity::Alert);
        assert_eq!(ev.id, "alert-security-a1");
        assert_eq!(ev.kind.facility(), 14);
    }

    #[test]
    fn json_line_is_one_line_of_json() {
        let line = SiemEvent::from_audit(7, &entry()).json_line("lab-1");
        assert!(line.ends_with('\n'));
        assert_eq!(line.matches('\n').count(), 1);
        let v: serde_json::Value = serde_json::from_str(&line).unwrap();
        assert_eq!(v["fields"]["seq"], "7");
        assert_eq!(v["kind"], "audit");
    }

    #[test]
    fn msgid_is_printable_and_bounded() {
        assert_eq!(msgid("a b"), "a-b");
        assert_eq!(msgid(""), "-");
        assert_eq!(msgid(&"x".repeat(40)).len(), 32);
    }
}
