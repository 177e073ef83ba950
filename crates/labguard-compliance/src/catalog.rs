//! The HIPAA Security Rule catalog: every standard and implementation specification of
//! 45 CFR 164.308, 164.310, 164.312, 164.314 and 164.316, what each means for a lab, and the
//! NIST SP 800-66r2 key activities behind it (from the embedded OSCAL catalog). The January
//! 2025 proposal's new requirements are listed separately as "proposed".

use std::sync::OnceLock;

use serde::{Deserialize, Serialize};

/// The section a specification belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Safeguard {
    Administrative,
    Physical,
    Technical,
    Organizational,
    Documentation,
}

impl Safeguard {
    pub const ALL: [Safeguard; 5] = [
        Safeguard::Administrative,
        Safeguard::Physical,
        Safeguard::Technical,
        Safeguard::Organizational,
        Safeguard::Documentation,
    ];

    pub fn section(self) -> &'static str {
        match self {
            Safeguard::Administrative => "164.308",
            Safeguard::Physical => "164.310",
            Safeguard::Technical => "164.312",
            Safeguard::Organizational => "164.314",
            Safeguard::Documentation => "164.316",
        }
    }

    pub fn title(self) -> &'static str {
        match self {
            Safeguard::Administrative => "Administrative safeguards",
            Safeguard::Physical => "Physical safeguards",
            Safeguard::Technical => "Technical safeguards",
            Safeguard::Organizational => "Organizational requirements",
            Safeguard::Documentation => "Policies, procedures and documentation",
        }
    }
}

/// Required, or Addressable (implement, or document why an equivalent is reasonable).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Requirement {
    Required,
    Addressable,
}

/// A standard, or an implementation specification under one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum SpecKind {
    Standard,
    Implementation,
}

/// One entry of the catalog.
#[derive(Debug, Clone, Serialize)]
pub struct Spec {
    /// The CFR citation, e.g. `164.312(a)(2)(iv)`; also the spec's id.
    pub citation: &'static str,
    pub title: &'static str,
    pub kind: SpecKind,
    pub requirement: Requirement,
    pub safeguard: Safeguard,
    /// What it asks of a small lab, in plain words.
    pub meaning: &'static str,
    /// The standard this falls under (its own citation for a standard).
    pub standard: &'static str,
    /// Ids of the NIST SP 800-66r2 key activities (OSCAL control ids, `hipaa-NNN`).
    pub key_activities: Vec<String>,
}

use Requirement::{Addressable as A, Required as R};
use SpecKind::{Implementation as I, Standard as S};

/// (citation, title, kind, requirement, standard, OSCAL group standard id, meaning)
type Row = (
    &'static str,
    &'static str,
    SpecKind,
    Requirement,
    &'static str,
    &'static str,
    &'static str,
);

#[rustfmt::skip]
const ROWS: &[Row] = &[
    // 164.308 Administrative safeguards
    ("164.308(a)(1)(i)", "Security management process", S, R, "164.308(a)(1)(i)", "164.308(a)(1)",
     "Have a working process to find, fix and keep track of security risks to patient data."),
    ("164.308(a)(1)(ii)(A)", "Risk analysis", I, R, "164.308(a)(1)(i)", "164.308(a)(1)",
     "Write down, for every system holding patient data (LIS, analyzers, laptops, backups), what could go wrong, how likely it is and how bad it would be."),
    ("164.308(a)(1)(ii)(B)", "Risk management", I, R, "164.308(a)(1)(i)", "164.308(a)(1)",
     "Act on the risk analysis: give each risk an owner, a fix and a due date, and bring risks down to an acceptable level."),
    ("164.308(a)(1)(ii)(C)", "Sanction policy", I, R, "164.308(a)(1)(i)", "164.308(a)(1)",
     "Have and apply written consequences for staff who break security policies."),
    ("164.308(a)(1)(ii)(D)", "Information system activity review", I, R, "164.308(a)(1)(i)", "164.308(a)(1)",
     "Regularly look at audit logs, access reports and security alerts, and follow up what they show."),
    ("164.308(a)(2)", "Assigned security responsibility", S, R, "164.308(a)(2)", "164.308(a)(2)",
     "Name one security officer who is responsible for the lab's security program."),
    ("164.308(a)(3)(i)", "Workforce security", S, R, "164.308(a)(3)(i)", "164.308(a)(3)",
     "Make sure only the staff who need patient data can get to it, and nobody else."),
    ("164.308(a)(3)(ii)(A)", "Authorization and/or supervision", I, A, "164.308(a)(3)(i)", "164.308(a)(3)",
     "Authorize or supervise staff (and cleaners, service engineers) who work where patient data is."),
    ("164.308(a)(3)(ii)(B)", "Workforce clearance procedure", I, A, "164.308(a)(3)(i)", "164.308(a)(3)",
     "Check that a person's access fits their job before granting it."),
    ("164.308(a)(3)(ii)(C)", "Termination procedures", I, A, "164.308(a)(3)(i)", "164.308(a)(3)",
     "When someone leaves, end their accounts, sessions, tokens and badge access promptly."),
    ("164.308(a)(4)(i)", "Information access management", S, R, "164.308(a)(4)(i)", "164.308(a)(4)",
     "Grant access to patient data by role, on the minimum-necessary principle."),
    ("164.308(a)(4)(ii)(A)", "Isolating health care clearinghouse functions", I, R, "164.308(a)(4)(i)", "164.308(a)(4)",
     "Only if the lab runs a clearinghouse: keep that work separate. Usually not applicable to a lab."),
    ("164.308(a)(4)(ii)(B)", "Access authorization", I, A, "164.308(a)(4)(i)", "164.308(a)(4)",
     "Have a written way to decide who gets access to what."),
    ("164.308(a)(4)(ii)(C)", "Access establishment and modification", I, A, "164.308(a)(4)(i)", "164.308(a)(4)",
     "Set up, review and change access as jobs change; review accounts periodically."),
    ("164.308(a)(5)(i)", "Security awareness and training", S, R, "164.308(a)(5)(i)", "164.308(a)(5)",
     "Train every staff member in security, including managers."),
    ("164.308(a)(5)(ii)(A)", "Security reminders", I, A, "164.308(a)(5)(i)", "164.308(a)(5)",
     "Send periodic security reminders (phishing, passwords, locking screens)."),
    ("164.308(a)(5)(ii)(B)", "Protection from malicious software", I, A, "164.308(a)(5)(i)", "164.308(a)(5)",
     "Guard against, detect and report malware; patch analyzers and PCs."),
    ("164.308(a)(5)(ii)(C)", "Log-in monitoring", I, A, "164.308(a)(5)(i)", "164.308(a)(5)",
     "Watch for failed sign-ins and unusual access and act on them."),
    ("164.308(a)(5)(ii)(D)", "Password management", I, A, "164.308(a)(5)(i)", "164.308(a)(5)",
     "Have rules for creating, changing and protecting passwords."),
    ("164.308(a)(6)(i)", "Security incident procedures", S, R, "164.308(a)(6)(i)", "164.308(a)(6)",
     "Have written procedures for handling security incidents."),
    ("164.308(a)(6)(ii)", "Response and reporting", I, R, "164.308(a)(6)(i)", "164.308(a)(6)",
     "Identify, respond to, mitigate and document security incidents and their outcomes."),
    ("164.308(a)(7)(i)", "Contingency plan", S, R, "164.308(a)(7)(i)", "164.308(a)(7)",
     "Be ready to keep working and recover patient data after a fire, ransomware or outage."),
    ("164.308(a)(7)(ii)(A)", "Data backup plan", I, R, "164.308(a)(7)(i)", "164.308(a)(7)",
     "Make exact, retrievable copies of patient data on a schedule."),
    ("164.308(a)(7)(ii)(B)", "Disaster recovery plan", I, R, "164.308(a)(7)(i)", "164.308(a)(7)",
     "Know how to restore any lost data, and prove it by restoring."),
    ("164.308(a)(7)(ii)(C)", "Emergency mode operation plan", I, R, "164.308(a)(7)(i)", "164.308(a)(7)",
     "Keep critical processes (results to clinicians) running securely during an emergency."),
    ("164.308(a)(7)(ii)(D)", "Testing and revision procedures", I, A, "164.308(a)(7)(i)", "164.308(a)(7)",
     "Test the contingency plans periodically (restore drills) and fix what the test shows."),
    ("164.308(a)(7)(ii)(E)", "Applications and data criticality analysis", I, A, "164.308(a)(7)(i)", "164.308(a)(7)",
     "Rank which systems and data matter most for recovery order."),
    ("164.308(a)(8)", "Evaluation", S, R, "164.308(a)(8)", "164.308(a)(8)",
     "Periodically evaluate, technically and on paper, how well the lab meets this rule."),
    ("164.308(b)(1)", "Business associate contracts and other arrangements", S, R, "164.308(b)(1)", "164.308(b)(1)",
     "Only let vendors handle patient data under a business associate agreement."),
    ("164.308(b)(3)", "Written contract or other arrangement", I, R, "164.308(b)(1)", "164.308(b)(1)",
     "Keep a signed BAA for every vendor (LIS host, courier, billing, remote service) that touches patient data."),
    // 164.310 Physical safeguards
    ("164.310(a)(1)", "Facility access controls", S, R, "164.310(a)(1)", "164.310(a)",
     "Limit physical access to rooms and systems holding patient data to those allowed in."),
    ("164.310(a)(2)(i)", "Contingency operations", I, A, "164.310(a)(1)", "164.310(a)",
     "Allow facility access needed to restore data during an emergency."),
    ("164.310(a)(2)(ii)", "Facility security plan", I, A, "164.310(a)(1)", "164.310(a)",
     "Protect the building and equipment from unauthorized access, tampering and theft."),
    ("164.310(a)(2)(iii)", "Access control and validation procedures", I, A, "164.310(a)(1)", "164.310(a)",
     "Control and check who enters, including visitors and service engineers."),
    ("164.310(a)(2)(iv)", "Maintenance records", I, A, "164.310(a)(1)", "164.310(a)",
     "Record repairs and changes to locks, doors and other physical security."),
    ("164.310(b)", "Workstation use", S, R, "164.310(b)", "164.310(b)",
     "Say how workstations that show patient data may be used and where they may stand."),
    ("164.310(c)", "Workstation security", S, R, "164.310(c)", "164.310(c)",
     "Physically protect workstations (screen placement, locks, restricted areas)."),
    ("164.310(d)(1)", "Device and media controls", S, R, "164.310(d)(1)", "164.310(d)",
     "Control hardware and media with patient data coming in, moving and leaving."),
    ("164.310(d)(2)(i)", "Disposal", I, R, "164.310(d)(1)", "164.310(d)",
     "Wipe or destroy patient data on disks, analyzers and media before disposal."),
    ("164.310(d)(2)(ii)", "Media re-use", I, R, "164.310(d)(1)", "164.310(d)",
     "Remove patient data before media or devices are reused."),
    ("164.310(d)(2)(iii)", "Accountability", I, A, "164.310(d)(1)", "164.310(d)",
     "Keep a record of hardware and media movements and who is responsible (asset inventory)."),
    ("164.310(d)(2)(iv)", "Data backup and storage", I, A, "164.310(d)(1)", "164.310(d)",
     "Back up patient data before moving equipment."),
    // 164.312 Technical safeguards
    ("164.312(a)(1)", "Access control", S, R, "164.312(a)(1)", "164.312(a)",
     "Systems holding patient data allow access only to authorized people and software."),
    ("164.312(a)(2)(i)", "Unique user identification", I, R, "164.312(a)(1)", "164.312(a)",
     "Every person signs in with their own account; no shared logins."),
    ("164.312(a)(2)(ii)", "Emergency access procedure", I, R, "164.312(a)(1)", "164.312(a)",
     "Have a break-glass way to reach patient data in an emergency, and review each use."),
    ("164.312(a)(2)(iii)", "Automatic logoff", I, A, "164.312(a)(1)", "164.312(a)",
     "End idle sessions automatically."),
    ("164.312(a)(2)(iv)", "Encryption and decryption", I, A, "164.312(a)(1)", "164.312(a)",
     "Encrypt stored patient data and manage the keys."),
    ("164.312(b)", "Audit controls", S, R, "164.312(b)", "164.312(b)",
     "Record and examine activity in systems with patient data; keep the log tamper-evident."),
    ("164.312(c)(1)", "Integrity", S, R, "164.312(c)(1)", "164.312(c)",
     "Protect patient data (results) from improper change or destruction."),
    ("164.312(c)(2)", "Mechanism to authenticate electronic protected health information", I, A, "164.312(c)(1)", "164.312(c)",
     "Be able to prove that results have not been altered."),
    ("164.312(d)", "Person or entity authentication", S, R, "164.312(d)", "164.312(d)",
     "Verify that people and instruments are who they claim (passwords plus MFA, device certificates)."),
    ("164.312(e)(1)", "Transmission security", S, R, "164.312(e)(1)", "164.312(e)(1)",
     "Protect patient data sent over networks."),
    ("164.312(e)(2)(i)", "Integrity controls", I, A, "164.312(e)(1)", "164.312(e)(1)",
     "Detect changes to data in transit."),
    ("164.312(e)(2)(ii)", "Encryption", I, A, "164.312(e)(1)", "164.312(e)(1)",
     "Encrypt data in transit (TLS for web sessions and instrument links)."),
    // 164.314 Organizational requirements
    ("164.314(a)(1)", "Business associate contracts or other arrangements", S, R, "164.314(a)(1)", "164.314(a)",
     "BAAs must contain the Security Rule's required terms."),
    ("164.314(a)(2)(i)", "Business associate contracts", I, R, "164.314(a)(1)", "164.314(a)",
     "The BAA makes the vendor safeguard data, report incidents and bind its subcontractors."),
    ("164.314(a)(2)(ii)", "Other arrangements", I, R, "164.314(a)(1)", "164.314(a)",
     "For government entities: a memorandum of understanding instead of a BAA."),
    ("164.314(a)(2)(iii)", "Business associate contracts with subcontractors", I, R, "164.314(a)(1)", "164.314(a)",
     "Vendors' own subcontractors are bound by the same terms."),
    ("164.314(b)(1)", "Requirements for group health plans", S, R, "164.314(b)(1)", "164.314(b)",
     "Only for group health plans; usually not applicable to a lab."),
    ("164.314(b)(2)", "Implementation specifications (group health plans)", I, R, "164.314(b)(1)", "164.314(b)",
     "Plan documents must require the sponsor to safeguard data; usually not applicable to a lab."),
    // 164.316 Policies, procedures and documentation
    ("164.316(a)", "Policies and procedures", S, R, "164.316(a)", "164.316(a)",
     "Write reasonable policies and procedures for each standard; change them as needed."),
    ("164.316(b)(1)", "Documentation", S, R, "164.316(b)(1)", "164.316(b)",
     "Keep policies, procedures and records of required actions in writing (electronic is fine)."),
    ("164.316(b)(2)(i)", "Time limit", I, R, "164.316(b)(1)", "164.316(b)",
     "Keep documentation 6 years from creation or from when it was last in effect, whichever is later."),
    ("164.316(b)(2)(ii)", "Availability", I, R, "164.316(b)(1)", "164.316(b)",
     "Make documentation available to those who must follow it."),
    ("164.316(b)(2)(iii)", "Updates", I, R, "164.316(b)(1)", "164.316(b)",
     "Review documentation periodically and update it after changes."),
];

/// The embedded NIST SP 800-66r2 OSCAL catalog (Apache-2.0, see data/NOTICE.md).
const OSCAL_CATALOG: &str = include_str!("../data/hipaa-800-66r2-catalog.json");

#[derive(Deserialize)]
struct OscalDoc {
    catalog: OscalGroup,
}

#[derive(Deserialize, Default)]
struct OscalGroup {
    #[serde(default)]
    id: String,
    #[serde(default)]
    title: String,
    #[serde(default)]
    props: Vec<OscalProp>,
    #[serde(default)]
    groups: Vec<OscalGroup>,
    #[serde(default)]
    controls: Vec<OscalControl>,
}

#[derive(Deserialize)]
struct OscalProp {
    name: String,
    value: String,
}

#[derive(Deserialize)]
struct OscalControl {
    id: String,
    title: String,
    #[serde(default)]
    parts: Vec<OscalPart>,
}

#[derive(Deserialize)]
struct OscalPart {
    name: String,
    #[serde(default)]
    prose: String,
}

/// One NIST SP 800-66r2 key activity.
#[derive(Debug, Clone, Serialize)]
pub struct KeyActivity {
    /// OSCAL control id (`hipaa-001`).
    pub id: String,
    pub title: String,
    /// The standard it serves, as the catalog names it (`164.308(a)(1)`).
    pub standard: String,
    pub statement: String,
}

/// The whole catalog, parsed once.
#[derive(Debug)]
pub struct Catalog {
    pub specs: Vec<Spec>,
    pub activities: Vec<KeyActivity>,
    pub proposed: Vec<Proposed>,
}

static CATALOG: OnceLock<Catalog> = OnceLock::new();

/// The catalog (the embedded data is part of the build, so parsing it cannot fail at run
/// time unless the file was broken at build time, which the tests catch).
pub fn catalog() -> &'static Catalog {
    CATALOG.get_or_init(|| {
        let activities = parse_activities(OSCAL_CATALOG).unwrap_or_default();
        let specs = ROWS
            .iter()
            .map(
                |&(citation, title, kind, requirement, standard, group, meaning)| Spec {
                    citation,
                    title,
                    kind,
                    requirement,
                    safeguard: safeguard_of(citation),
                    meaning,
                    standard,
                    key_activities: activities
                        .iter()
                        .filter(|a| a.standard == group)
                        .map(|a| a.id.clone())
                        .collect(),
                },
            )
            .collect();
        Catalog {
            specs,
            activities,
            proposed: proposed(),
        }
    })
}

fn safeguard_of(citation: &str) -> Safeguard {
    Safeguard::ALL
        .into_iter()
        .find(|s| citation.starts_with(s.section()))
        .unwrap_or(Safeguard::Administrative)
}

/// Reads every key activity with the standard its group names.
pub(crate) fn parse_activities(json: &str) -> Result<Vec<KeyActivity>, serde_json::Error> {
    let doc: OscalDoc = serde_json::from_str(json)?;
    let mut out = Vec::new();
    fn walk(g: &OscalGroup, standard: Option<&str>, out: &mut Vec<KeyActivity>) {
        let own = g
            .props
            .iter()
            .find(|p| p.name == "standards-identifiers")
            .map(|p| p.value.as_str());
        let std = own.or(standard);
        for c in &g.controls {
            out.push(KeyActivity {
                id: c.id.clone(),
                title: c.title.clone(),
                standard: std.unwrap_or_default().to_string(),
                statement: c
                    .parts
                    .iter()
                    .find(|p| p.name == "statement")
                    .map(|p| p.prose.clone())
                    .unwrap_or_default(),
            });
        }
        for sub in &g.groups {
            walk(sub, std, out);
        }
        let _ = (&g.id, &g.title);
    }
    walk(&doc.catalog, None, &mut out);
    Ok(out)
}

impl Catalog {
    pub fn spec(&self, citation: &str) -> Option<&Spec> {
        self.specs.iter().find(|s| s.citation == citation)
    }

    pub fn activity(&self, id: &str) -> Option<&KeyActivity> {
        self.activities.iter().find(|a| a.id == id)
    }
}

/// A requirement of the January 2025 Security Rule NPRM (not yet final).
#[derive(Debug, Clone, Serialize)]
pub struct Proposed {
    pub id: &'static str,
    pub title: &'static str,
    pub meaning: &'static str,
    /// The current citation it tightens.
    pub relates_to: &'static str,
}

#[rustfmt::skip]
fn proposed() -> Vec<Proposed> {
    vec![
        Proposed { id: "proposed-asset-inventory", title: "Technology asset inventory and network map, reviewed every 12 months",
            meaning: "List every analyzer, PC and system touching patient data and draw how data flows between them; review at least yearly.", relates_to: "164.308(a)(1)(ii)(A)" },
        Proposed { id: "proposed-compliance-audit", title: "Compliance audit every 12 months",
            meaning: "Audit the lab's compliance with the Security Rule at least once a year.", relates_to: "164.308(a)(8)" },
        Proposed { id: "proposed-encryption", title: "Encryption of ePHI at rest and in transit, without exception",
            meaning: "Encryption stops being addressable: all stored and transmitted patient data is encrypted.", relates_to: "164.312(a)(2)(iv)" },
        Proposed { id: "proposed-mfa", title: "Multi-factor authentication, without exception",
            meaning: "Every account that can reach patient data signs in with a second factor.", relates_to: "164.312(d)" },
        Proposed { id: "proposed-vuln-scan", title: "Vulnerability scans every 6 months",
            meaning: "Scan systems for known vulnerabilities at least twice a year.", relates_to: "164.308(a)(1)(ii)(B)" },
        Proposed { id: "proposed-pen-test", title: "Penetration test every 12 months",
            meaning: "Have systems penetration-tested at least once a year.", relates_to: "164.308(a)(8)" },
        Proposed { id: "proposed-restore-72h", title: "Restore critical systems within 72 hours",
            meaning: "Be able to restore critical systems and data within 72 hours of a loss, and show it in a drill.", relates_to: "164.308(a)(7)(ii)(B)" },
        Proposed { id: "proposed-leaver-1h", title: "Leaver access ended within 1 hour",
            meaning: "End a departing person's access no later than one hour after their employment ends.", relates_to: "164.308(a)(3)(ii)(C)" },
        Proposed { id: "proposed-backup-48h", title: "Backups no older than 48 hours",
            meaning: "Keep a backup of patient data that is never more than 48 hours old.", relates_to: "164.308(a)(7)(ii)(A)" },
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_section_and_its_activities() {
        let c = catalog();
        assert_eq!(c.activities.len(), 126);
        for s in Safeguard::ALL {
            assert!(c.specs.iter().any(|x| x.safeguard == s), "{s:?}");
        }
        // Every spec maps to at least one key activity, and every id is in the catalog.
        for s in &c.specs {
            assert!(
                !s.key_activities.is_empty(),
                "{} has no key activity",
                s.citation
            );
            for a in &s.key_activities {
                assert!(c.activity(a).is_some());
            }
            assert!(c.spec(s.standard).is_some(), "{} standard", s.citation);
        }
        let enc = c.spec("164.312(a)(2)(iv)").unwrap();
        assert_eq!(enc.requirement, Requirement::Addressable);
        assert_eq!(enc.safeguard, Safeguard::Technical);
        assert_eq!(
            c.spec("164.308(a)(1)(ii)(A)").unwrap().requirement,
            Requirement::Required
        );
        assert_eq!(c.proposed.len(), 9);
        // Citations are unique.
        let mut ids: Vec<_> = c.specs.iter().map(|s| s.citation).collect();
        ids.sort_unstable();
        ids.dedup();
        assert_eq!(ids.len(), c.specs.len());
    }
}
