//! Single sign-on policy (OpenID Connect), free of I/O: the lab's role-mapping rules, whether
//! an ID token's `amr`/`acr` shows multi-factor authentication, the pending sign-in flows
//! (bounded, expiring, single use, bound to the browser that started them) and safe return
//! paths. The HTTP flow and the token verification (the `openidconnect` crate) live in the
//! server.

use std::collections::HashMap;

use chrono::{DateTime, TimeDelta, Utc};
use labguard_core::Role;
use subtle::ConstantTimeEq;
use zeroize::Zeroizing;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum OidcPolicyError {
    #[error("role rule must look like `CLAIM=VALUE -> ROLE` (e.g. `groups=lab-techs -> lab-technologist`)")]
    RuleShape,
    #[error("role rule names an unknown role (one of: {0})")]
    UnknownRole(String),
    #[error("too many sign-ins are under way; try again in a few minutes")]
    TooManyFlows,
    #[error(
        "no sign-in is under way for this answer (expired, already used, or never started here)"
    )]
    NoSuchFlow,
}

/// One rule: when the ID token's claim `claim` is the string `value`, or an array holding
/// it, the account gets `role`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RoleRule {
    pub claim: String,
    pub value: String,
    pub role: Role,
}

impl std::str::FromStr for RoleRule {
    type Err = OidcPolicyError;
    fn from_str(s: &str) -> Result<RoleRule, OidcPolicyError> {
        let (lhs, role) = s.split_once("->").ok_or(OidcPolicyError::RuleShape)?;
        let (claim, value) = lhs.split_once('=').ok_or(OidcPolicyError::RuleShape)?;
        let (claim, value, role) = (claim.trim(), value.trim(), role.trim());
        let plain = |t: &str| !t.is_empty() && t.len() <= 256 && !t.chars().any(char::is_control);
        if !plain(claim) || !plain(value) || claim.contains(char::is_whitespace) {
            return Err(OidcPolicyError::RuleShape);
        }
        let role = Role::from_code(role).map_err(|_| {
            OidcPolicyError::UnknownRole(
                Role::ALL
                    .iter()
                    .map(|r| r.code())
                    .collect::<Vec<_>>()
                    .join(", "),
            )
        })?;
        Ok(RoleRule {
            claim: claim.into(),
            value: value.into(),
            role,
        })
    }
}

/// The lab's rules, tried in the order given: the first that matches decides. No match:
/// no account (the sign-in is refused).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RoleMap(pub Vec<RoleRule>);

impl RoleMap {
    pub fn parse<S: AsRef<str>>(rules: &[S]) -> Result<RoleMap, OidcPolicyError> {
        rules
            .iter()
            .map(|r| r.as_ref().parse())
            .collect::<Result<Vec<_>, _>>()
            .map(RoleMap)
    }

    /// The role the claims map to. `claims` is the ID token's JSON object.
    pub fn role_for(&self, claims: &serde_json::Value) -> Option<Role> {
        self.0.iter().find_map(|r| {
            let hit = match claims.get(&r.claim) {
                Some(serde_json::Value::String(s)) => *s == r.value,
                Some(serde_json::Value::Array(a)) => a.iter().any(|v| v.as_str() == Some(&r.value)),
                Some(serde_json::Value::Bool(b)) => r.value == b.to_string(),
                _ => false,
            };
            hit.then_some(r.role)
        })
    }
}

/// RFC 8176 `amr` values that show a second factor (or several) was used.
pub const MFA_AMR: &[&str] = &["mfa", "mca", "otp", "hwk", "swk", "sc"];
/// `acr` values that count as MFA by default (OpenID PAPE multi-factor, and the phishing-
/// resistant values of the OpenID EAP ACR profile).
pub const DEFAULT_MFA_ACR: &[&str] = &[
    "http://schemas.openid.net/pape/policies/2007/06/multi-factor",
    "phr",
    "phrh",
];

/// Which roles need MFA, and what from the directory counts as MFA.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MfaPolicy {
    /// Roles beyond those that see patient data (which always need it).
    pub extra_roles: Vec<Role>,
    /// `acr` values the lab's directory uses for MFA (e.g. Keycloak's level names).
    pub acr_values: Vec<String>,
}

impl Default for MfaPolicy {
    fn default() -> Self {
        MfaPolicy {
            extra_roles: Vec::new(),
            acr_values: DEFAULT_MFA_ACR.iter().map(|s| s.to_string()).collect(),
        }
    }
}

impl MfaPolicy {
    pub fn role_needs_mfa(&self, role: Role) -> bool {
        role.sees_phi() || self.extra_roles.contains(&role)
    }

    /// Whether the directory says it did MFA: an `amr` entry from [`MFA_AMR`], or an `acr`
    /// the lab configured.
    pub fn idp_did_mfa(&self, amr: &[String], acr: Option<&str>) -> bool {
        amr.iter().any(|a| MFA_AMR.contains(&a.as_str()))
            || acr.is_some_and(|a| self.acr_values.iter().any(|v| v == a))
    }

    /// Whether labguard must ask for its own second factor before the session is full.
    pub fn needs_local_mfa(&self, role: Role, amr: &[String], acr: Option<&str>) -> bool {
        self.role_needs_mfa(role) && !self.idp_did_mfa(amr, acr)
    }
}

/// A sign-in sent to the directory and not yet back. The secrets are wiped on drop.
pub struct PendingFlow {
    /// SHA-256 of the flow cookie the starting browser holds.
    pub browser: [u8; 32],
    pub nonce: Zeroizing<String>,
    pub pkce_verifier: Zeroizing<String>,
    pub return_to: String,
    pub source: String,
    pub started: DateTime<Utc>,
}

/// Limits on flows under way: a stranger who starts sign-ins in a loop fills only their
/// own share, and every flow dies after `ttl`.
#[derive(Debug, Clone, Copy)]
pub struct FlowLimits {
    pub max_total: usize,
    pub max_per_source: usize,
    pub ttl: TimeDelta,
}

impl Default for FlowLimits {
    fn default() -> Self {
        FlowLimits {
            max_total: 2000,
            max_per_source: 20,
            ttl: TimeDelta::minutes(10),
        }
    }
}

/// The flows under way, keyed by their `state`.
pub struct PendingFlows {
    limits: FlowLimits,
    flows: HashMap<String, PendingFlow>,
}

impl PendingFlows {
    pub fn new(limits: FlowLimits) -> PendingFlows {
        PendingFlows {
            limits,
            flows: HashMap::new(),
        }
    }

    pub fn len(&self) -> usize {
        self.flows.len()
    }

    pub fn is_empty(&self) -> bool {
        self.flows.is_empty()
    }

    fn prune(&mut self, now: DateTime<Utc>) {
        let ttl = self.limits.ttl;
        self.flows.retain(|_, f| now - f.started < ttl);
    }

    /// Records a new flow, refused past the limits (after dropping expired ones).
    pub fn insert(
        &mut self,
        state: String,
        flow: PendingFlow,
        now: DateTime<Utc>,
    ) -> Result<(), OidcPolicyError> {
        self.prune(now);
        let from_source = self
            .flows
            .values()
            .filter(|f| f.source == flow.source)
            .count();
        if self.flows.len() >= self.limits.max_total || from_source >= self.limits.max_per_source {
            return Err(OidcPolicyError::TooManyFlows);
        }
        self.flows.insert(state, flow);
        Ok(())
    }

    /// Takes the flow `state` names, once: it is removed whatever the outcome, so a replayed
    /// or stolen `state` finds nothing. Refused unless `browser` (SHA-256 of the presented
    /// flow cookie) is the starting browser's, and unless it is younger than the TTL.
    pub fn take(
        &mut self,
        state: &str,
        browser: &[u8; 32],
        now: DateTime<Utc>,
    ) -> Result<PendingFlow, OidcPolicyError> {
        let flow = self
            .flows
            .remove(state)
            .ok_or(OidcPolicyError::NoSuchFlow)?;
        self.prune(now);
        let same_browser: bool = flow.browser.ct_eq(browser).into();
        if !same_browser || now - flow.started >= self.limits.ttl {
            return Err(OidcPolicyError::NoSuchFlow);
        }
        Ok(flow)
    }
}

/// Where to send the browser after sign-in: only a path on this server. Anything else
/// (another origin, `//host`, `/\host`, control characters, overlong) becomes `/app`.
pub fn safe_return_path(s: Option<&str>) -> String {
    let ok = |p: &str| {
        p.starts_with('/')
            && !p.starts_with("//")
            && p.len() <= 512
            && !p.contains('\\')
            && !p.chars().any(|c| c.is_control() || c.is_whitespace())
            && !p.contains("/auth/oidc/")
    };
    match s {
        Some(p) if ok(p) => p.to_string(),
        _ => "/app".into(),
    }
}

/// Whether an issuer URL may be used: `https`, or `http` only on a loopback host (a
/// directory on the same machine, and tests).
pub fn issuer_allowed(scheme: &str, host: &str) -> bool {
    match scheme {
        "https" => true,
        "http" => {
            let h = host.trim_start_matches('[').trim_end_matches(']');
            h == "localhost"
                || h.parse::<core::net::IpAddr>()
                    .is_ok_and(|ip| ip.is_loopback())
        }
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn rules_parse_and_the_first_match_wins() {
        let m = RoleMap::parse(&[
            "groups=lab-admins -> administrator",
            "groups = lab-techs->lab-technologist",
            "department=phlebotomy -> phlebotomist",
        ])
        .unwrap();
        let c = json!({"groups": ["lab-techs", "lab-admins"]});
        assert_eq!(m.role_for(&c), Some(Role::Administrator));
        let c = json!({"groups": ["lab-techs"]});
        assert_eq!(m.role_for(&c), Some(Role::LabTechnologist));
        let c = json!({"department": "phlebotomy", "groups": "finance"});
        assert_eq!(m.role_for(&c), Some(Role::Phlebotomist));
        // Exact, case-sensitive; a prefix or another claim does not match.
        for c in [
            json!({"groups": ["Lab-Techs"]}),
            json!({"groups": ["lab-techs-old"]}),
            json!({"roles": ["lab-techs"]}),
            json!({}),
        ] {
            assert_eq!(m.role_for(&c), None, "{c}");
        }
    }

    #[test]
    fn bad_rules_are_refused() {
        for r in [
            "groups lab-techs",
            "groups=x",
            "=x -> auditor",
            "groups= -> auditor",
        ] {
            assert_eq!(
                r.parse::<RoleRule>(),
                Err(OidcPolicyError::RuleShape),
                "{r}"
            );
        }
        assert!(matches!(
            "groups=x -> wizard".parse::<RoleRule>(),
            Err(OidcPolicyError::UnknownRole(_))
        ));
    }

    #[test]
    fn mfa_is_needed_for_patient_data_roles_without_an_mfa_claim() {
        let p = MfaPolicy::default();
        let pwd = vec!["pwd".to_string()];
        let mfa = vec!["pwd".to_string(), "mfa".to_string()];
        assert!(p.needs_local_mfa(Role::LabTechnologist, &pwd, None));
        assert!(!p.needs_local_mfa(Role::LabTechnologist, &mfa, None));
        assert!(!p.needs_local_mfa(Role::LabTechnologist, &["hwk".into()], None));
        assert!(!p.needs_local_mfa(Role::LabTechnologist, &[], Some("phrh")));
        assert!(p.needs_local_mfa(Role::LabTechnologist, &[], Some("1")));
        // A role that sees no patient data passes unless the lab adds it.
        assert!(!Role::Auditor.sees_phi() || p.needs_local_mfa(Role::Auditor, &pwd, None));
        let strict = MfaPolicy {
            extra_roles: Role::ALL.to_vec(),
            acr_values: vec!["gold".into()],
        };
        for r in Role::ALL {
            assert!(strict.needs_local_mfa(r, &pwd, Some("silver")));
            assert!(!strict.needs_local_mfa(r, &pwd, Some("gold")));
        }
    }

    fn flow(browser: u8, source: &str, at: DateTime<Utc>) -> PendingFlow {
        PendingFlow {
            browser: [browser; 32],
            nonce: Zeroizing::new("n".into()),
            pkce_verifier: Zeroizing::new("v".into()),
            return_to: "/app".into(),
            source: source.into(),
            started: at,
        }
    }

    #[test]
    fn a_flow_is_taken_once_by_its_own_browser_before_it_expires() {
        let t0 = DateTime::from_timestamp(1_800_000_000, 0).unwrap();
        let mut f = PendingFlows::new(FlowLimits::default());
        f.insert("s1".into(), flow(1, "a", t0), t0).unwrap();
        // Another browser holding the state gets nothing, and burns it.
        assert!(f.take("s1", &[2; 32], t0).is_err());
        assert!(f.take("s1", &[1; 32], t0).is_err());
        f.insert("s2".into(), flow(1, "a", t0), t0).unwrap();
        assert!(f.take("s2", &[1; 32], t0).is_ok());
        assert!(f.take("s2", &[1; 32], t0).is_err(), "replay");
        f.insert("s3".into(), flow(1, "a", t0), t0).unwrap();
        assert!(f.take("s3", &[1; 32], t0 + TimeDelta::minutes(10)).is_err());
    }

    #[test]
    fn flooding_is_bounded_per_source_and_in_total_and_expires() {
        let t0 = DateTime::from_timestamp(1_800_000_000, 0).unwrap();
        let lim = FlowLimits {
            max_total: 30,
            max_per_source: 5,
            ttl: TimeDelta::minutes(10),
        };
        let mut f = PendingFlows::new(lim);
        for i in 0..5 {
            f.insert(format!("a{i}"), flow(1, "a", t0), t0).unwrap();
        }
        assert_eq!(
            f.insert("a5".into(), flow(1, "a", t0), t0),
            Err(OidcPolicyError::TooManyFlows)
        );
        // Someone else still gets in.
        f.insert("b0".into(), flow(1, "b", t0), t0).unwrap();
        for i in 0..24 {
            f.insert(format!("c{i}"), flow(1, &format!("src{i}"), t0), t0)
                .unwrap();
        }
        assert_eq!(f.len(), 30);
        assert!(f.insert("z".into(), flow(1, "z", t0), t0).is_err());
        // Ten minutes on, the flood is gone.
        let later = t0 + TimeDelta::minutes(10);
        f.insert("z".into(), flow(1, "z", later), later).unwrap();
        assert_eq!(f.len(), 1);
    }

    #[test]
    fn return_paths_stay_on_this_server() {
        assert_eq!(safe_return_path(Some("/patients?q=1")), "/patients?q=1");
        for bad in [
            "https://evil.example/",
            "//evil.example/",
            "/\\evil.example",
            "\\\\evil",
            "javascript:alert(1)",
            "/app\r\nSet-Cookie: x",
            "/ evil",
            "",
            "/auth/oidc/start",
        ] {
            assert_eq!(safe_return_path(Some(bad)), "/app", "{bad:?}");
        }
        assert_eq!(safe_return_path(None), "/app");
    }

    #[test]
    fn issuers_must_be_https_unless_on_loopback() {
        assert!(issuer_allowed("https", "login.example.org"));
        assert!(issuer_allowed("http", "127.0.0.1"));
        assert!(issuer_allowed("http", "[::1]"));
        assert!(issuer_allowed("http", "localhost"));
        assert!(!issuer_allowed("http", "idp.lab.local"));
        assert!(!issuer_allowed("http", "10.0.0.1"));
        assert!(!issuer_allowed("ftp", "127.0.0.1"));
    }
}
