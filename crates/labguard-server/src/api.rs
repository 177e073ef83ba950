//! Patient-data routes. Each handler turns the request into a store call made as the
//! signed-in actor; the store checks the permission and audits the access, so a handler
//! cannot forget either.

use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use chrono::{DateTime, NaiveDate, Utc};
use labguard_core::{
    AbnormalFlag, ContainerType, Id, LabResult, LoincCode, Patient, ReferenceRange, ResultStatus,
    Specimen,
};
use labguard_identity::{BreakGlassPolicy, BreakGlassRequest};
use labguard_store::NewGrant;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::auth::Principal;
use crate::error::{ApiError, ApiResult, ErrorBody};
use crate::extract::{ApiJson, ApiPath, ApiQuery};
use crate::state::AppState;

#[derive(Serialize, ToSchema)]
pub struct PatientOut {
    pub id: String,
    pub mrn: String,
    pub family: String,
    pub given: String,
    pub birth_date: NaiveDate,
    /// F, M, O or U.
    pub sex: String,
    pub phone: Option<String>,
    pub email: Option<String>,
}

impl From<&Patient> for PatientOut {
    fn from(p: &Patient) -> Self {
        PatientOut {
            id: p.id.to_string(),
            mrn: p.mrn.clone(),
            family: p.family.clone(),
            given: p.given.clone(),
            birth_date: p.birth_date,
            sex: p.sex.code().into(),
            phone: p.phone.clone(),
            email: p.email.clone(),
        }
    }
}

/// A patient search. It travels in a POST body, never the query string: identifiers in a URL
/// end up in proxy, load-balancer and browser-history logs.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PatientSearch {
    /// Medical record number (exact).
    #[schema(max_length = 64)]
    pub mrn: Option<String>,
    #[schema(max_length = 100)]
    pub family: Option<String>,
    #[schema(max_length = 100)]
    pub given: Option<String>,
    /// YYYY-MM-DD; with family and given.
    pub birth_date: Option<NaiveDate>,
}

#[derive(Serialize, ToSchema)]
pub struct SpecimenOut {
    pub id: String,
    pub patient_id: String,
    pub accession: String,
    pub collector: String,
    pub collected_at: DateTime<Utc>,
    pub container: String,
    pub body_site: String,
}

impl From<&Specimen> for SpecimenOut {
    fn from(s: &Specimen) -> Self {
        SpecimenOut {
            id: s.id.to_string(),
            patient_id: s.patient_id.to_string(),
            accession: s.accession.clone(),
            collector: s.collector.clone(),
            collected_at: s.collected_at,
            container: s.container.code().into(),
            body_site: s.body_site.clone(),
        }
    }
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DrawIn {
    #[schema(value_type = String, format = Uuid)]
    pub patient_id: Id,
    #[schema(min_length = 1, max_length = 64)]
    pub accession: String,
    /// edta, citrate, heparin, serum, fluoride, blood-culture, capillary or other.
    pub container: String,
    #[schema(max_length = 100)]
    pub body_site: String,
    /// Defaults to now.
    pub collected_at: Option<DateTime<Utc>>,
}

#[derive(Serialize, ToSchema)]
pub struct ResultOut {
    pub id: String,
    pub patient_id: String,
    pub specimen_id: Option<String>,
    pub analyte: String,
    pub analyte_name: String,
    pub value: String,
    pub units: String,
    pub reference_range: String,
    /// N, L, H, LL, HH or A.
    pub abnormal_flag: String,
    /// P (preliminary), F (final) or C (corrected).
    pub status: String,
    pub verified_by: Option<String>,
    pub observed_at: DateTime<Utc>,
}

impl From<&LabResult> for ResultOut {
    fn from(r: &LabResult) -> Self {
        ResultOut {
            id: r.id.to_string(),
            patient_id: r.patient_id.to_string(),
            specimen_id: r.specimen_id.map(|s| s.to_string()),
            analyte: r.analyte.to_string(),
            analyte_name: r.analyte_name.clone(),
            value: r.value.clone(),
            units: r.units.clone(),
            reference_range: r.reference_range.text.clone(),
            abnormal_flag: r.abnormal_flag.code().into(),
            status: r.status.code().into(),
            verified_by: r.verified_by.clone(),
            observed_at: r.observed_at,
        }
    }
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ResultIn {
    #[schema(value_type = String, format = Uuid)]
    pub patient_id: Id,
    #[schema(value_type = Option<String>, format = Uuid)]
    pub specimen_id: Option<Id>,
    /// LOINC code, e.g. 2345-7.
    pub analyte: String,
    #[schema(max_length = 100)]
    pub analyte_name: String,
    #[schema(max_length = 100)]
    pub value: String,
    #[schema(max_length = 32)]
    pub units: String,
    #[schema(max_length = 64)]
    pub reference_range: String,
    pub abnormal_flag: Option<String>,
}

#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct AccessionQuery {
    pub accession: String,
}

#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct Limit {
    pub limit: Option<u32>,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct BreakGlassIn {
    #[schema(value_type = String, format = Uuid)]
    pub patient_id: Id,
    /// Why access outside your role is needed now (at least 10 characters).
    #[schema(max_length = 1000)]
    pub reason: String,
}

#[derive(Serialize, ToSchema)]
pub struct BreakGlassOut {
    pub grant_id: String,
    pub expires_at: DateTime<Utc>,
}

#[derive(Serialize, ToSchema)]
pub struct PatientRecord {
    pub patient: PatientOut,
    pub results: Vec<ResultOut>,
}

fn text_field(name: &str, v: &str, max: usize) -> ApiResult<()> {
    if v.chars().count() > max || v.chars().any(char::is_control) {
        return Err(ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid-fields",
            format!("{name} must be at most {max} characters with no control characters"),
        ));
    }
    Ok(())
}

/// The old search by query string. It answers 410 without reading the query, so a client
/// still sending `?mrn=` learns where search went instead of silently getting nothing.
#[utoipa::path(get, path = "/api/v1/patients",
    responses((status = 410, body = ErrorBody,
               description = "gone: search moved to POST /api/v1/patients/search (JSON body)")))]
pub async fn search_patients_gone() -> ApiError {
    ApiError::new(
        StatusCode::GONE,
        "moved",
        "patient search takes a JSON body now: POST /api/v1/patients/search with {\"mrn\": ...} \
         or {\"family\", \"given\", \"birth_date\"}; identifiers never go in the URL",
    )
}

#[utoipa::path(post, path = "/api/v1/patients/search", request_body = PatientSearch,
    responses((status = 200, body = Vec<PatientOut>), (status = 400, body = ErrorBody),
              (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)))]
pub async fn search_patients(
    State(st): State<AppState>,
    p: Principal,
    ApiJson(q): ApiJson<PatientSearch>,
) -> ApiResult<Json<Vec<PatientOut>>> {
    let actor = p.actor.clone();
    let found = match (q.mrn, q.family, q.given, q.birth_date) {
        (Some(mrn), None, None, None) => {
            text_field("mrn", &mrn, 64)?;
            st.run(move |s| {
                Ok(s.find_patient_by_mrn(&actor, &mrn)?
                    .into_iter()
                    .collect::<Vec<_>>())
            })
            .await?
        }
        (None, Some(f), Some(g), Some(d)) => {
            text_field("family", &f, 100)?;
            text_field("given", &g, 100)?;
            st.run(move |s| Ok(s.find_patients_by_name_dob(&actor, &f, &g, d)?))
                .await?
        }
        _ => {
            return Err(ApiError::bad_request(
                "search by mrn, or by family, given and birth_date together",
            ))
        }
    };
    Ok(Json(found.iter().map(PatientOut::from).collect()))
}

#[utoipa::path(get, path = "/api/v1/patients/{id}", params(("id" = String, Path, format = Uuid)),
    responses((status = 200, body = PatientOut), (status = 400, body = ErrorBody),
              (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn get_patient(
    State(st): State<AppState>,
    p: Principal,
    ApiPath(id): ApiPath<Id>,
) -> ApiResult<Json<PatientOut>> {
    let actor = p.actor.clone();
    let pt = st.run(move |s| Ok(s.get_patient(&actor, id)?)).await?;
    Ok(Json(PatientOut::from(&pt)))
}

#[utoipa::path(get, path = "/api/v1/patients/{id}/results", params(("id" = String, Path, format = Uuid)),
    responses((status = 200, body = Vec<ResultOut>), (status = 400, body = ErrorBody),
              (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)))]
pub async fn patient_results(
    State(st): State<AppState>,
    p: Principal,
    ApiPath(id): ApiPath<Id>,
) -> ApiResult<Json<Vec<ResultOut>>> {
    let actor = p.actor.clone();
    let rs = st
        .run(move |s| Ok(s.results_for_patient(&actor, id)?))
        .await?;
    Ok(Json(rs.iter().map(ResultOut::from).collect()))
}

#[utoipa::path(post, path = "/api/v1/specimens", request_body = DrawIn,
    responses((status = 201, body = SpecimenOut), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
              (status = 403, body = ErrorBody), (status = 409, body = ErrorBody), (status = 415, body = ErrorBody),
              (status = 422, body = ErrorBody)))]
pub async fn record_draw(
    State(st): State<AppState>,
    p: Principal,
    ApiJson(d): ApiJson<DrawIn>,
) -> ApiResult<(StatusCode, Json<SpecimenOut>)> {
    text_field("accession", &d.accession, 64)?;
    text_field("body_site", &d.body_site, 100)?;
    let container = ContainerType::from_code(&d.container).map_err(|_| {
        ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid-fields",
            "container must be one of edta, citrate, heparin, serum, fluoride, blood-culture, capillary, other",
        )
    })?;
    let s = Specimen {
        id: Id::new_v4(),
        patient_id: d.patient_id,
        accession: d.accession.trim().to_string(),
        collector: p.account.staff.username.clone(),
        collected_at: d.collected_at.unwrap_or_else(|| st.now()),
        container,
        body_site: d.body_site,
    };
    let actor = p.actor.clone();
    let out = SpecimenOut::from(&s);
    st.run(move |store| Ok(store.add_specimen(&actor, &s)?))
        .await?;
    Ok((StatusCode::CREATED, Json(out)))
}

#[utoipa::path(get, path = "/api/v1/collections", params(Limit),
    responses((status = 200, body = Vec<SpecimenOut>), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)))]
pub async fn collection_list(
    State(st): State<AppState>,
    p: Principal,
    ApiQuery(l): ApiQuery<Limit>,
) -> ApiResult<Json<Vec<SpecimenOut>>> {
    let actor = p.actor.clone();
    let limit = l.limit.unwrap_or(50).min(500);
    let v = st
        .run(move |s| Ok(s.collection_list(&actor, limit)?))
        .await?;
    Ok(Json(v.iter().map(SpecimenOut::from).collect()))
}

#[utoipa::path(get, path = "/api/v1/results", params(AccessionQuery),
    responses((status = 200, body = Vec<ResultOut>), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
              (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn results_by_accession(
    State(st): State<AppState>,
    p: Principal,
    ApiQuery(q): ApiQuery<AccessionQuery>,
) -> ApiResult<Json<Vec<ResultOut>>> {
    text_field("accession", &q.accession, 64)?;
    let actor = p.actor.clone();
    let v = st
        .run(move |s| Ok(s.results_by_accession(&actor, &q.accession)?))
        .await?
        .ok_or_else(|| {
            ApiError::new(
                StatusCode::NOT_FOUND,
                "not-found",
                "no specimen has that accession number",
            )
        })?;
    Ok(Json(v.iter().map(ResultOut::from).collect()))
}

#[utoipa::path(post, path = "/api/v1/results", request_body = ResultIn,
    responses((status = 201, body = ResultOut), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
              (status = 403, body = ErrorBody), (status = 415, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn enter_result(
    State(st): State<AppState>,
    p: Principal,
    ApiJson(r): ApiJson<ResultIn>,
) -> ApiResult<(StatusCode, Json<ResultOut>)> {
    for (n, v, m) in [
        ("analyte_name", &r.analyte_name, 100),
        ("value", &r.value, 100),
        ("units", &r.units, 32),
        ("reference_range", &r.reference_range, 64),
    ] {
        text_field(n, v, m)?;
    }
    let analyte = LoincCode::parse(&r.analyte).map_err(|_| {
        ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid-fields",
            "analyte must be a LOINC code such as 2345-7",
        )
    })?;
    let res = LabResult {
        id: Id::new_v4(),
        patient_id: r.patient_id,
        specimen_id: r.specimen_id,
        order_id: None,
        analyte,
        analyte_name: r.analyte_name,
        value: r.value,
        units: r.units,
        reference_range: ReferenceRange::parse(&r.reference_range),
        abnormal_flag: AbnormalFlag::from_code(r.abnormal_flag.as_deref().unwrap_or("N")),
        status: ResultStatus::Preliminary,
        performing_device: None,
        verified_by: None,
        observed_at: st.now(),
    };
    let out = ResultOut::from(&res);
    let actor = p.actor.clone();
    st.run(move |s| Ok(s.add_result(&actor, &res)?)).await?;
    Ok((StatusCode::CREATED, Json(out)))
}

#[utoipa::path(post, path = "/api/v1/results/{id}/verify", params(("id" = String, Path, format = Uuid)),
    responses((status = 200, body = ResultOut), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
              (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn verify_result(
    State(st): State<AppState>,
    p: Principal,
    ApiPath(id): ApiPath<Id>,
) -> ApiResult<Json<ResultOut>> {
    let actor = p.actor.clone();
    let r = st.run(move |s| Ok(s.verify_result(&actor, id)?)).await?;
    Ok(Json(ResultOut::from(&r)))
}

#[utoipa::path(post, path = "/api/v1/break-glass", request_body = BreakGlassIn,
    responses((status = 201, body = BreakGlassOut), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
              (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn break_glass(
    State(st): State<AppState>,
    p: Principal,
    ApiJson(b): ApiJson<BreakGlassIn>,
) -> ApiResult<(StatusCode, Json<BreakGlassOut>)> {
    let role = p.account.staff.role;
    let grant = BreakGlassPolicy::default()
        .grant(
            BreakGlassRequest {
                user: p.account.staff.id,
                role,
                patient_ref: b.patient_id,
                reason: b.reason,
            },
            Id::new_v4(),
            st.now(),
        )
        .map_err(|e| match e {
            labguard_identity::BreakGlassError::RoleNotEligible(_) => {
                ApiError::forbidden(e.to_string())
            }
            other => ApiError::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "invalid-fields",
                other.to_string(),
            ),
        })?;
    let out = BreakGlassOut {
        grant_id: grant.grant_id.to_string(),
        expires_at: grant.expires_at,
    };
    let actor = p.actor.clone();
    st.run(move |s| {
        Ok(s.grant_break_glass(
            &actor,
            &NewGrant {
                grant_id: grant.grant_id,
                patient_id: grant.patient_ref,
                reason: &grant.reason,
                granted_at: grant.granted_at,
                expires_at: grant.expires_at,
            },
        )?)
    })
    .await?;
    Ok((StatusCode::CREATED, Json(out)))
}

#[utoipa::path(get, path = "/api/v1/break-glass/{patient_id}", params(("patient_id" = String, Path, format = Uuid)),
    responses((status = 200, body = PatientRecord), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
              (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn break_glass_read(
    State(st): State<AppState>,
    p: Principal,
    ApiPath(id): ApiPath<Id>,
) -> ApiResult<Json<PatientRecord>> {
    let actor = p.actor.clone();
    let (pt, rs) = st
        .run(move |s| Ok(s.read_under_break_glass(&actor, id)?))
        .await?;
    Ok(Json(PatientRecord {
        patient: PatientOut::from(&pt),
        results: rs.iter().map(ResultOut::from).collect(),
    }))
}
