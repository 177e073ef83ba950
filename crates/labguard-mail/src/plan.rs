//! Creating a campaign: who gets it, checked against the lab's domains, stored.

use chrono::{DateTime, Utc};
use labguard_core::Id;
use labguard_store::{Actor, Campaign, NewRecipient, Store};
use labguard_training::phishing::{
    builtin_template, plan_recipients, send_schedule, DomainAllowList, Recipient, SendWindow,
    TargetGroup,
};
use serde::Serialize;

use crate::{MailError, SmtpTarget};

#[derive(Debug, Clone)]
pub struct CampaignSpec {
    pub name: String,
    pub template_id: String,
    pub target: TargetGroup,
    pub from_address: String,
    pub smtp_url: String,
    pub base_url: String,
    /// Empty: the lab's configured domains, or failing that the From address's domain.
    pub allowed_domains: Vec<String>,
    pub per_minute: u32,
    pub window_start: DateTime<Utc>,
    pub window_end: DateTime<Utc>,
    pub max_attempts: u32,
}

/// Someone in the target group who will not be mailed, and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Refused {
    pub staff_id: Id,
    pub username: String,
    pub reason: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct Created {
    pub campaign_id: Id,
    pub allowed_domains: Vec<String>,
    pub recipients: usize,
    pub refused: Vec<Refused>,
}

fn domain_of(address: &str) -> Option<&str> {
    address.rsplit_once('@').map(|(_, d)| d)
}

/// The domains a campaign may mail. Explicit domains must be among the lab's configured
/// ones when the lab has configured any: a campaign cannot widen the lab's own list.
pub fn allowed_domains(
    store: &Store,
    explicit: &[String],
    from_address: &str,
) -> Result<Vec<String>, MailError> {
    let lab = store.lab_mail_domains()?;
    let lab_list = DomainAllowList::new(&lab)?;
    if !explicit.is_empty() {
        DomainAllowList::new(explicit)?;
        if !lab.is_empty() {
            for d in explicit {
                let probe = format!("postmaster@{}", d.trim_start_matches("*."));
                if lab_list.check(&probe).is_err() {
                    return Err(MailError::Refused(format!(
                        "`{d}` is not one of the lab's mail domains ({}); change them with `labguard lab set-domains`",
                        lab.join(", ")
                    )));
                }
            }
        }
        return Ok(explicit.to_vec());
    }
    if !lab.is_empty() {
        return Ok(lab);
    }
    match domain_of(from_address) {
        Some(d) if !d.is_empty() => Ok(vec![d.to_ascii_lowercase()]),
        _ => Err(MailError::BadFrom(from_address.chars().take(64).collect())),
    }
}

/// Validates `spec`, selects the recipients (active staff in the group, inside the allowed
/// domains, one per address) and stores the campaign. Nothing is sent.
pub fn create_campaign(
    store: &Store,
    actor: &Actor,
    spec: &CampaignSpec,
) -> Result<Created, MailError> {
    // Control characters (NUL above all) have no place in any of these, and PostgreSQL
    // would refuse a NUL outright.
    for (what, v) in [
        ("name", &spec.name),
        ("smtp URL", &spec.smtp_url),
        ("from address", &spec.from_address),
        ("base URL", &spec.base_url),
    ] {
        if v.chars().any(char::is_control) {
            return Err(MailError::Refused(format!(
                "the {what} contains control characters"
            )));
        }
    }
    if spec.name.trim().is_empty() || spec.name.chars().count() > 200 {
        return Err(MailError::Refused(
            "the name must be 1 to 200 characters".into(),
        ));
    }
    builtin_template(&spec.template_id)?;
    SmtpTarget::parse(&spec.smtp_url)?;
    if spec.from_address.parse::<lettre::Address>().is_err() {
        return Err(MailError::BadFrom(
            spec.from_address.chars().take(64).collect(),
        ));
    }
    let base = spec.base_url.to_ascii_lowercase();
    if !(base.starts_with("https://") || base.starts_with("http://")) {
        return Err(MailError::Refused(
            "--base-url must be the http(s) address of the labguard server".into(),
        ));
    }
    if spec.max_attempts == 0 {
        return Err(MailError::Refused("max attempts must be at least 1".into()));
    }
    let allowed = allowed_domains(store, &spec.allowed_domains, &spec.from_address)?;
    let allow = DomainAllowList::new(&allowed)?;
    let staff = store.list_staff(actor)?;
    let mut seed = [0u8; 8];
    getrandom::fill(&mut seed).map_err(|e| MailError::Random(e.to_string()))?;
    // Tokens are drawn at send time; the plan's are placeholders and dropped here.
    let plan = plan_recipients(
        &staff,
        &spec.target,
        &allow,
        u64::from_le_bytes(seed),
        || [0u8; 32],
    );
    let window = SendWindow {
        start: spec.window_start,
        end: spec.window_end,
        per_minute: spec.per_minute,
    };
    let planned: Vec<Recipient> = plan
        .recipients
        .iter()
        .map(|p| p.recipient.clone())
        .collect();
    send_schedule(&planned, &window)?;
    let name_of = |id: Id| {
        staff
            .iter()
            .find(|s| s.id == id)
            .map(|s| s.username.clone())
            .unwrap_or_default()
    };
    let mut refused: Vec<Refused> = plan
        .rejected
        .iter()
        .map(|(id, e)| Refused {
            staff_id: *id,
            username: name_of(*id),
            reason: e.to_string(),
        })
        .collect();
    refused.extend(plan.duplicates.iter().map(|id| Refused {
        staff_id: *id,
        username: name_of(*id),
        reason: "shares an address with another recipient (one copy per mailbox)".into(),
    }));
    let recipients: Vec<NewRecipient> = planned
        .iter()
        .map(|r| NewRecipient {
            staff_id: r.staff_id,
            role: r.role,
            email: r.email.clone(),
            display_name: r.display_name.clone(),
        })
        .collect();
    let campaign = Campaign {
        id: Id::new_v4(),
        name: spec.name.clone(),
        template_id: spec.template_id.clone(),
        target: spec.target.clone(),
        from_address: spec.from_address.clone(),
        smtp_url: spec.smtp_url.clone(),
        base_url: spec.base_url.trim_end_matches('/').to_string(),
        allowed_domains: allowed.clone(),
        per_minute: spec.per_minute,
        window_start: spec.window_start,
        window_end: spec.window_end,
        max_attempts: spec.max_attempts,
        created_at: Utc::now(),
        launched_at: None,
    };
    store.create_campaign(actor, &campaign, &recipients)?;
    Ok(Created {
        campaign_id: campaign.id,
        allowed_domains: allowed,
        recipients: recipients.len(),
        refused,
    })
}
