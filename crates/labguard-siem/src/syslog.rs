//! RFC 5424 rendering.
//!
//! ```text
//! SYSLOG-MSG = <PRI>1 SP TIMESTAMP SP HOSTNAME SP APP-NAME SP PROCID SP MSGID SP SD SP BOM MSG
//! ```

use crate::event::SiemEvent;

/// The SD-ID of labguard's structured element. 32473 is the private enterprise number
/// RFC 5612 reserves for documentation; a lab's collector matches on the name.
pub const SD_ID: &str = "labguard@32473";

/// UTF-8 byte order mark, which RFC 5424 §6.4 requires before a UTF-8 MSG.
const BOM: &str = "\u{feff}";

/// The header values that are the sender's, not the event's.
#[derive(Debug, Clone)]
pub struct Syslog {
    hostname: String,
    procid: String,
}

impl Syslog {
    /// `hostname` and `procid` are cleaned to printable ASCII and cut to the RFC's
    /// lengths (255 and 128); empty becomes the NILVALUE `-`.
    pub fn new(hostname: &str, procid: &str) -> Syslog {
        Syslog {
            hostname: header_field(hostname, 255),
            procid: header_field(procid, 128),
        }
    }

    /// One RFC 5424 message (without framing).
    pub fn render(&self, ev: &SiemEvent) -> String {
        let pri = u16::from(ev.kind.facility()) * 8 + u16::from(ev.severity.code());
        let mut out = format!(
            "<{pri}>1 {} {} labguard {} {} [{SD_ID}",
            timestamp(&ev.time),
            self.hostname,
            self.procid,
            header_field(&ev.msgid, 32)
        );
        // The stable event id first, so a receiver can drop a re-sent event.
        out.push_str(" id=\"");
        out.push_str(&escape_param_value(&ev.id));
        out.push('"');
        for (name, value) in &ev.fields {
            out.push(' ');
            out.push_str(&sd_name(name));
            out.push_str("=\"");
            out.push_str(&escape_param_value(value));
            out.push('"');
        }
        out.push_str("] ");
        out.push_str(BOM);
        out.push_str(&ev.message);
        out
    }
}

/// PRINTUSASCII only, bounded, `-` when empty.
fn header_field(s: &str, max: usize) -> String {
    let s: String = s
        .chars()
        .filter(|c| c.is_ascii_graphic())
        .take(max)
        .collect();
    if s.is_empty() {
        "-".into()
    } else {
        s
    }
}

/// SD-NAME: 1–32 PRINTUSASCII except `=`, SP, `]`, `"`.
fn sd_name(s: &str) -> String {
    let s: String = s
        .chars()
        .filter(|c| c.is_ascii_graphic() && !matches!(c, '=' | ']' | '"'))
        .take(32)
        .collect();
    if s.is_empty() {
        "x".into()
    } else {
        s
    }
}

/// RFC 5424 allows at most 6 fractional digits (TIME-SECFRAC); the audit log keeps up
/// to 9, so extra digits are cut (never rounded up into the next second).
fn timestamp(t: &str) -> String {
    let Some((whole, rest)) = t.split_once('.') else {
        return header_field(t, 64);
    };
    let digits: String = rest.chars().take_while(char::is_ascii_digit).collect();
    let zone = &rest[digits.len()..];
    let digits = &digits[..digits.len().min(6)];
    header_field(&format!("{whole}.{digits}{zone}"), 64)
}

/// Escapes a PARAM-VALUE: `"`, `\` and `]` get a backslash (RFC 5424 §6.3.3).
pub fn escape_param_value(v: &str) -> String {
    let mut out = String::with_capacity(v.len());
    for c in v.chars() {
        if matches!(c, '"' | '\\' | ']') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// Why a PARAM-VALUE does not unescape.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EscapeError {
    /// A backslash not followed by `"`, `\` or `]` (RFC 5424 keeps it, labguard never
    /// writes one), at this byte offset.
    #[error("lone backslash at {0}")]
    LoneBackslash(usize),
    /// A `"` or `]` without its backslash, at this byte offset.
    #[error("unescaped delimiter at {0}")]
    Unescaped(usize),
}

/// The inverse of [`escape_param_value`], strict: exactly the strings it produces.
pub fn unescape_param_value(v: &str) -> Result<String, EscapeError> {
    let mut out = String::with_capacity(v.len());
    let mut it = v.char_indices();
    while let Some((i, c)) = it.next() {
        match c {
            '\\' => match it.next() {
                Some((_, n @ ('"' | '\\' | ']'))) => out.push(n),
                _ => return Err(EscapeError::LoneBackslash(i)),
            },
            '"' | ']' => return Err(EscapeError::Unescaped(i)),
            c => out.push(c),
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::{Severity, SiemEvent};
    use labguard_audit::{AuditEntry, Outcome};
    use proptest::prelude::*;

    fn ev() -> SiemEvent {
        SiemEvent::from_audit(
            3,
            &AuditEntry {
                time: "2026-12-07T10:00:00.123456789Z".into(),
                actor: "u-1".into(),
                role: "officer".into(),
                action: "audit.read".into(),
                resource: "audit-log".into(),
                resource_id: "0".into(),
                patient_ref: None,
                reason: Some("quote \" back \\ bracket ]".into()),
                outcome: Outcome::Success,
                content_hash: None,
                node: None,
            },
        )
    }

    #[test]
    fn renders_the_rfc_5424_header_sd_and_bom_message() {
        let line = Syslog::new("lab host", "4242").render(&ev());
        // facility 13 (log audit) * 8 + severity 6 (info) = 110.
        assert!(
            line.starts_with("<110>1 2026-12-07T10:00:00.123456Z labhost labguard 4242 audit.read [labguard@32473 id=\"audit-3\" seq=\"3\" "),
            "{line}"
        );
        assert!(
            line.contains(r#"reason="quote \" back \\ bracket \]""#),
            "{line}"
        );
        assert!(line.contains("] \u{feff}u-1 (officer) audit.read audit-log success"));
        assert_eq!(ev().severity, Severity::Info);
    }

    #[test]
    fn empty_header_fields_are_nil_and_times_without_fraction_pass() {
        let mut e = ev();
        e.time = "2026-12-07T10:00:00Z".into();
        let line = Syslog::new("", "").render(&e);
        assert!(line.starts_with("<110>1 2026-12-07T10:00:00Z - labguard - audit.read "));
    }

    #[test]
    fn strict_unescape_rejects_what_escape_never_writes() {
        assert_eq!(
            unescape_param_value(r"a\b"),
            Err(EscapeError::LoneBackslash(1))
        );
        assert_eq!(
            unescape_param_value(r"a\"),
            Err(EscapeError::LoneBackslash(1))
        );
        assert_eq!(unescape_param_value("a]"), Err(EscapeError::Unescaped(1)));
        assert_eq!(unescape_param_value(r#"\"\]\\"#).unwrap(), r#""]\"#);
    }

    proptest! {
        #[test]
        fn sd_escaping_round_trips(s in any::<String>()) {
            let escaped = escape_param_value(&s);
            prop_assert_eq!(unescape_param_value(&escaped).unwrap(), s);
            // No unescaped delimiter survives, so the value cannot close the element.
            let bare = escaped.replace("\\\\", "").replace("\\\"", "").replace("\\]", "");
            prop_assert!(!bare.contains('"') && !bare.contains(']'));
        }

        #[test]
        fn rendered_messages_keep_the_header_shape(v in any::<String>(), host in any::<String>()) {
            let mut e = ev();
            e.fields.push(("x".into(), v.clone()));
            let line = Syslog::new(&host, "1").render(&e);
            let parts: Vec<&str> = line.splitn(7, ' ').collect();
            prop_assert_eq!(parts.len(), 7);
            prop_assert!(parts[2].chars().all(|c| c.is_ascii_graphic()));
            let want = format!("x=\"{}\"] \u{feff}", escape_param_value(&v));
            prop_assert!(line.contains(&want));
        }

        #[test]
        fn unescape_accepts_only_what_escape_writes(s in "[a-z\\\\\"\\]]{0,12}") {
            if let Ok(v) = unescape_param_value(&s) {
                prop_assert_eq!(escape_param_value(&v), s);
            }
        }
    }
}
