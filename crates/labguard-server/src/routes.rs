//! Every API route, the rule that governs it, and the OpenAPI document.
//!
//! [`RULES`] is the authorization matrix as the routes see it: the tests call every route as
//! every role and check the answer against it, and fail if a route exists without a rule.
//! The rules are *expectations*; enforcement is in the store, which checks the actor's
//! permission on every call, so a wrong rule makes a test fail rather than open a hole.

use axum::routing::{get, post, MethodRouter};
use axum::Router;
use labguard_core::Permission as P;
use utoipa::OpenApi;

use crate::state::AppState;
use crate::{
    admin, api, compliance, credentials as cred, devices, held, privacy_api as pv, signin, tokens,
    training_api as tr, verify_job,
};

/// Who may call a route.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rule {
    /// Anyone (sign-in).
    Public,
    /// A session at any stage of sign-in (sign-out, profile, MFA steps).
    AnySession,
    /// Fully signed in, any role; the store applies finer rules (e.g. break-glass eligibility).
    SignedIn,
    /// Fully signed in with every one of these permissions.
    All(&'static [P]),
    /// Fully signed in with at least one of these permissions.
    Any(&'static [P]),
    /// Fully signed in with a role that handles patient data (break-glass eligibility).
    PhiRoles,
}

impl Rule {
    /// Whether a fully signed-in member of staff with `role` passes this rule.
    pub fn allows(self, role: labguard_core::Role) -> bool {
        match self {
            Rule::Public | Rule::AnySession | Rule::SignedIn => true,
            Rule::All(ps) => ps.iter().all(|p| role.allows(*p)),
            Rule::Any(ps) => ps.iter().any(|p| role.allows(*p)),
            Rule::PhiRoles => role.sees_phi(),
        }
    }
}

pub const RULES: &[(&str, &str, Rule)] = &[
    ("POST", "/api/v1/auth/sign-in", Rule::Public),
    ("POST", "/api/v1/auth/mfa", Rule::AnySession),
    ("POST", "/api/v1/auth/sign-out", Rule::AnySession),
    ("POST", "/api/v1/auth/reauth", Rule::SignedIn),
    ("GET", "/api/v1/me", Rule::AnySession),
    ("POST", "/api/v1/me/password", Rule::SignedIn),
    ("POST", "/api/v1/mfa/enroll", Rule::AnySession),
    ("POST", "/api/v1/mfa/confirm", Rule::AnySession),
    // Gone: answers 410 to everyone without reading the query (search moved to a POST body).
    ("GET", "/api/v1/patients", Rule::Public),
    (
        "POST",
        "/api/v1/patients/search",
        Rule::All(&[P::DemographicsRead]),
    ),
    (
        "GET",
        "/api/v1/patients/{id}",
        Rule::All(&[P::DemographicsRead]),
    ),
    (
        "GET",
        "/api/v1/patients/{id}/results",
        Rule::All(&[P::ResultRead]),
    ),
    ("POST", "/api/v1/specimens", Rule::All(&[P::SpecimenRecord])),
    (
        "GET",
        "/api/v1/collections",
        Rule::All(&[P::CollectionListRead]),
    ),
    ("GET", "/api/v1/results", Rule::All(&[P::ResultRead])),
    ("POST", "/api/v1/results", Rule::All(&[P::ResultEnter])),
    (
        "POST",
        "/api/v1/results/{id}/verify",
        Rule::All(&[P::ResultVerify]),
    ),
    ("POST", "/api/v1/break-glass", Rule::PhiRoles),
    ("GET", "/api/v1/break-glass/{patient_id}", Rule::PhiRoles),
    ("GET", "/api/v1/held-results", Rule::All(&[P::ResultVerify])),
    (
        "POST",
        "/api/v1/held-results/{id}/release",
        Rule::All(&[P::ResultVerify]),
    ),
    (
        "POST",
        "/api/v1/held-results/{id}/reject",
        Rule::All(&[P::ResultVerify]),
    ),
    ("GET", "/api/v1/qc/recalls", Rule::All(&[P::ResultVerify])),
    (
        "POST",
        "/api/v1/qc/recalls/{id}/release",
        Rule::All(&[P::ResultVerify]),
    ),
    (
        "POST",
        "/api/v1/qc/recalls/{id}/reject",
        Rule::All(&[P::ResultVerify]),
    ),
    ("GET", "/api/v1/audit", Rule::All(&[P::AuditRead])),
    ("POST", "/api/v1/audit/verify", Rule::All(&[P::AuditRead])),
    ("GET", "/api/v1/audit/verify", Rule::All(&[P::AuditRead])),
    ("GET", "/api/v1/alerts", Rule::All(&[P::AlertsReview])),
    (
        "POST",
        "/api/v1/alerts/{id}/review",
        Rule::All(&[P::AlertsReview]),
    ),
    (
        "GET",
        "/api/v1/access-review",
        Rule::Any(&[P::AccountsManage, P::ReportsRead]),
    ),
    (
        "GET",
        "/api/v1/security/stats",
        Rule::All(&[P::ReportsRead, P::AuditRead]),
    ),
    (
        "GET",
        "/api/v1/accounts",
        Rule::Any(&[P::AccountsManage, P::ReportsRead]),
    ),
    ("POST", "/api/v1/accounts", Rule::All(&[P::AccountsManage])),
    (
        "POST",
        "/api/v1/accounts/{username}/disable",
        Rule::All(&[P::AccountsManage]),
    ),
    (
        "POST",
        "/api/v1/accounts/{username}/unlock",
        Rule::All(&[P::AccountsManage]),
    ),
    (
        "POST",
        "/api/v1/accounts/{username}/reset-password",
        Rule::All(&[P::AccountsManage]),
    ),
    ("GET", "/api/v1/tokens", Rule::SignedIn),
    ("POST", "/api/v1/tokens", Rule::SignedIn),
    ("POST", "/api/v1/tokens/revoke", Rule::SignedIn),
    ("GET", "/api/v1/training/courses", Rule::SignedIn),
    (
        "GET",
        "/api/v1/training/courses/{course_id}",
        Rule::SignedIn,
    ),
    (
        "POST",
        "/api/v1/training/courses/{course_id}/attempts",
        Rule::SignedIn,
    ),
    ("POST", "/api/v1/training/attempts/{id}", Rule::SignedIn),
    ("GET", "/api/v1/training/me", Rule::SignedIn),
    (
        "GET",
        "/api/v1/training/assignments",
        Rule::Any(&[P::TrainingManage, P::ReportsRead]),
    ),
    (
        "POST",
        "/api/v1/training/rules",
        Rule::All(&[P::TrainingManage]),
    ),
    (
        "GET",
        "/api/v1/phishing/campaigns",
        Rule::Any(&[P::PhishingManage, P::ReportsRead]),
    ),
    (
        "POST",
        "/api/v1/phishing/campaigns",
        Rule::All(&[P::PhishingManage]),
    ),
    (
        "POST",
        "/api/v1/phishing/campaigns/{id}/launch",
        Rule::All(&[P::PhishingManage]),
    ),
    (
        "GET",
        "/api/v1/phishing/campaigns/{id}/report",
        Rule::Any(&[P::PhishingManage, P::ReportsRead]),
    ),
    (
        "GET",
        "/api/v1/security/hygiene",
        Rule::Any(&[P::AccountsManage, P::ReportsRead]),
    ),
    (
        "GET",
        "/api/v1/compliance/status",
        Rule::All(&[P::ReportsRead]),
    ),
    (
        "GET",
        "/api/v1/compliance/report",
        Rule::All(&[P::ReportsRead]),
    ),
    (
        "POST",
        "/api/v1/compliance/collect",
        Rule::All(&[P::ComplianceManage]),
    ),
    ("GET", "/api/v1/devices", Rule::All(&[P::DevicesRead])),
    (
        "GET",
        "/api/v1/devices/report",
        Rule::All(&[P::DevicesRead]),
    ),
    ("GET", "/api/v1/devices/{id}", Rule::All(&[P::DevicesRead])),
    (
        "GET",
        "/api/v1/devices/{id}/findings",
        Rule::All(&[P::DevicesRead]),
    ),
    (
        "POST",
        "/api/v1/privacy/scan",
        Rule::All(&[P::PrivacyReview]),
    ),
    (
        "GET",
        "/api/v1/privacy/cases",
        Rule::All(&[P::PrivacyReview]),
    ),
    (
        "GET",
        "/api/v1/privacy/cases/{id}",
        Rule::All(&[P::PrivacyReview]),
    ),
    (
        "POST",
        "/api/v1/privacy/cases/{id}/assign",
        Rule::All(&[P::PrivacyReview]),
    ),
    (
        "POST",
        "/api/v1/privacy/cases/{id}/note",
        Rule::All(&[P::PrivacyReview]),
    ),
    (
        "POST",
        "/api/v1/privacy/cases/{id}/close",
        Rule::All(&[P::PrivacyReview]),
    ),
    (
        "POST",
        "/api/v1/privacy/patients/{id}/flag",
        Rule::All(&[P::PrivacyReview]),
    ),
    (
        "GET",
        "/api/v1/privacy/patients/{id}/access-report",
        Rule::All(&[P::PrivacyReview]),
    ),
    (
        "GET",
        "/api/v1/privacy/dashboard",
        Rule::All(&[P::PrivacyDashboardRead]),
    ),
];

/// The API routes as registered: (method, path, handler).
pub fn api_routes() -> Vec<(&'static str, &'static str, MethodRouter<AppState>)> {
    vec![
        ("POST", "/api/v1/auth/sign-in", post(signin::sign_in)),
        ("POST", "/api/v1/auth/mfa", post(signin::mfa)),
        ("POST", "/api/v1/auth/sign-out", post(signin::sign_out)),
        ("POST", "/api/v1/auth/reauth", post(cred::reauth)),
        ("GET", "/api/v1/me", get(signin::me)),
        ("POST", "/api/v1/me/password", post(cred::change_password)),
        ("POST", "/api/v1/mfa/enroll", post(cred::enroll)),
        ("POST", "/api/v1/mfa/confirm", post(cred::confirm)),
        ("GET", "/api/v1/patients", get(api::search_patients_gone)),
        (
            "POST",
            "/api/v1/patients/search",
            post(api::search_patients),
        ),
        ("GET", "/api/v1/patients/{id}", get(api::get_patient)),
        (
            "GET",
            "/api/v1/patients/{id}/results",
            get(api::patient_results),
        ),
        ("POST", "/api/v1/specimens", post(api::record_draw)),
        ("GET", "/api/v1/collections", get(api::collection_list)),
        ("GET", "/api/v1/results", get(api::results_by_accession)),
        ("POST", "/api/v1/results", post(api::enter_result)),
        (
            "POST",
            "/api/v1/results/{id}/verify",
            post(api::verify_result),
        ),
        ("POST", "/api/v1/break-glass", post(api::break_glass)),
        (
            "GET",
            "/api/v1/break-glass/{patient_id}",
            get(api::break_glass_read),
        ),
        ("GET", "/api/v1/held-results", get(held::list)),
        (
            "POST",
            "/api/v1/held-results/{id}/release",
            post(held::release),
        ),
        (
            "POST",
            "/api/v1/held-results/{id}/reject",
            post(held::reject),
        ),
        ("GET", "/api/v1/qc/recalls", get(held::recalls)),
        (
            "POST",
            "/api/v1/qc/recalls/{id}/release",
            post(held::release_recall),
        ),
        (
            "POST",
            "/api/v1/qc/recalls/{id}/reject",
            post(held::reject_recall),
        ),
        ("GET", "/api/v1/audit", get(admin::audit)),
        ("POST", "/api/v1/audit/verify", post(verify_job::start)),
        ("GET", "/api/v1/audit/verify", get(verify_job::status)),
        ("GET", "/api/v1/alerts", get(admin::alerts)),
        (
            "POST",
            "/api/v1/alerts/{id}/review",
            post(admin::review_alert),
        ),
        ("GET", "/api/v1/access-review", get(admin::access_review)),
        ("GET", "/api/v1/security/stats", get(admin::security_stats)),
        ("GET", "/api/v1/accounts", get(admin::list_accounts)),
        ("POST", "/api/v1/accounts", post(admin::create_account)),
        (
            "POST",
            "/api/v1/accounts/{username}/disable",
            post(admin::disable_account),
        ),
        (
            "POST",
            "/api/v1/accounts/{username}/unlock",
            post(admin::unlock_account),
        ),
        (
            "POST",
            "/api/v1/accounts/{username}/reset-password",
            post(cred::reset_password),
        ),
        ("GET", "/api/v1/tokens", get(tokens::list_tokens)),
        ("POST", "/api/v1/tokens", post(tokens::create_token)),
        ("POST", "/api/v1/tokens/revoke", post(tokens::revoke_token)),
        ("GET", "/api/v1/training/courses", get(tr::courses)),
        (
            "GET",
            "/api/v1/training/courses/{course_id}",
            get(tr::course),
        ),
        (
            "POST",
            "/api/v1/training/courses/{course_id}/attempts",
            post(tr::start_attempt),
        ),
        (
            "POST",
            "/api/v1/training/attempts/{id}",
            post(tr::submit_attempt),
        ),
        ("GET", "/api/v1/training/me", get(tr::my_training)),
        (
            "GET",
            "/api/v1/training/assignments",
            get(tr::all_assignments),
        ),
        ("POST", "/api/v1/training/rules", post(tr::add_rule)),
        ("GET", "/api/v1/phishing/campaigns", get(tr::campaigns)),
        (
            "POST",
            "/api/v1/phishing/campaigns",
            post(tr::create_campaign),
        ),
        (
            "POST",
            "/api/v1/phishing/campaigns/{id}/launch",
            post(tr::launch_campaign),
        ),
        (
            "GET",
            "/api/v1/phishing/campaigns/{id}/report",
            get(tr::campaign_report),
        ),
        ("GET", "/api/v1/security/hygiene", get(tr::hygiene)),
        ("GET", "/api/v1/compliance/status", get(compliance::status)),
        ("GET", "/api/v1/compliance/report", get(compliance::report)),
        (
            "POST",
            "/api/v1/compliance/collect",
            post(compliance::collect),
        ),
        ("GET", "/api/v1/devices", get(devices::list_devices)),
        ("GET", "/api/v1/devices/report", get(devices::fleet)),
        ("GET", "/api/v1/devices/{id}", get(devices::get_device)),
        (
            "GET",
            "/api/v1/devices/{id}/findings",
            get(devices::device_findings),
        ),
        ("POST", "/api/v1/privacy/scan", post(pv::scan)),
        ("GET", "/api/v1/privacy/cases", get(pv::cases)),
        ("GET", "/api/v1/privacy/cases/{id}", get(pv::case_show)),
        (
            "POST",
            "/api/v1/privacy/cases/{id}/assign",
            post(pv::case_assign),
        ),
        (
            "POST",
            "/api/v1/privacy/cases/{id}/note",
            post(pv::case_note),
        ),
        (
            "POST",
            "/api/v1/privacy/cases/{id}/close",
            post(pv::case_close),
        ),
        ("POST", "/api/v1/privacy/patients/{id}/flag", post(pv::flag)),
        (
            "GET",
            "/api/v1/privacy/patients/{id}/access-report",
            get(pv::access_report),
        ),
        ("GET", "/api/v1/privacy/dashboard", get(pv::dashboard)),
    ]
}

/// (method, path) of every registered API route.
pub fn route_list() -> Vec<(&'static str, &'static str)> {
    api_routes().into_iter().map(|(m, p, _)| (m, p)).collect()
}

pub fn api_router() -> Router<AppState> {
    let mut by_path: std::collections::BTreeMap<&str, MethodRouter<AppState>> = Default::default();
    for (_, path, h) in api_routes() {
        let merged = match by_path.remove(path) {
            Some(existing) => existing.merge(h),
            None => h,
        };
        by_path.insert(path, merged);
    }
    by_path
        .into_iter()
        .fold(Router::new(), |r, (path, h)| r.route(path, h))
}

/// Documents the error answers any route can give (bad input, authentication, CSRF,
/// throttling, body limits), so the document matches what the server sends.
pub struct CommonErrors;

impl utoipa::Modify for CommonErrors {
    fn modify(&self, doc: &mut utoipa::openapi::OpenApi) {
        use utoipa::openapi::{ContentBuilder, Ref, ResponseBuilder};
        let errors = [
            ("400", "malformed request, query or path"),
            (
                "401",
                "not signed in, session expired, or wrong credentials",
            ),
            (
                "403",
                "the role may not do this, the CSRF token is wrong, or the account must first replace its one-time password (password-change-required)",
            ),
            ("404", "no such record"),
            ("409", "conflicts with an existing record"),
            ("413", "body too large"),
            ("415", "body is not application/json"),
            ("422", "fields fail validation"),
            ("429", "too many failed sign-ins or credential checks"),
        ];
        for item in doc.paths.paths.values_mut() {
            for op in [&mut item.get, &mut item.post].into_iter().flatten() {
                for (code, why) in errors {
                    op.responses
                        .responses
                        .entry(code.to_string())
                        .or_insert_with(|| {
                            ResponseBuilder::new()
                                .description(why)
                                .content(
                                    "application/json",
                                    ContentBuilder::new()
                                        .schema(Some(Ref::from_schema_name("ErrorBody")))
                                        .build(),
                                )
                                .build()
                                .into()
                        });
                }
            }
        }
    }
}

#[derive(OpenApi)]
#[openapi(
    modifiers(&CommonErrors),
    components(schemas(crate::error::ErrorBody)),
    info(
        title = "labguard API",
        version = "1",
        description = "Lab staff API: sign-in with MFA, patients, draws, results, break-glass, audit and accounts, device security (inventory, findings, remediation report), security training and phishing simulation, HIPAA compliance status and reports, privacy monitoring (snooping cases, patient access reports). Authenticate with the session cookie (plus X-CSRF-Token on POST) or `Authorization: Bearer lgt_...`."
    ),
    paths(
        signin::sign_in,
        signin::mfa,
        signin::sign_out,
        cred::reauth,
        signin::me,
        cred::change_password,
        cred::enroll,
        cred::confirm,
        api::search_patients_gone,
        api::search_patients,
        api::get_patient,
        api::patient_results,
        api::record_draw,
        api::collection_list,
        api::results_by_accession,
        api::enter_result,
        api::verify_result,
        api::break_glass,
        api::break_glass_read,
        held::list,
        held::release,
        held::reject,
        held::recalls,
        held::release_recall,
        held::reject_recall,
        admin::audit,
        verify_job::start,
        verify_job::status,
        admin::alerts,
        admin::review_alert,
        admin::access_review,
        admin::security_stats,
        admin::list_accounts,
        admin::create_account,
        admin::disable_account,
        admin::unlock_account,
        cred::reset_password,
        tokens::list_tokens,
        tokens::create_token,
        tokens::revoke_token,
        tr::courses,
        tr::course,
        tr::start_attempt,
        tr::submit_attempt,
        tr::my_training,
        tr::all_assignments,
        tr::add_rule,
        tr::campaigns,
        tr::create_campaign,
        tr::launch_campaign,
        tr::campaign_report,
        tr::hygiene,
        compliance::status,
        compliance::report,
        compliance::collect,
        devices::list_devices,
        devices::fleet,
        devices::get_device,
        devices::device_findings,
        pv::scan,
        pv::cases,
        pv::case_show,
        pv::case_assign,
        pv::case_note,
        pv::case_close,
        pv::flag,
        pv::access_report,
        pv::dashboard,
    )
)]
pub struct ApiDoc;
