//! API errors: a status and a JSON body `{"error": code, "message": text}`. Messages are
//! written for the person at the screen and never carry patient data; store errors are
//! mapped to a status and a fixed message, and anything unexpected becomes a bare 500.

use axum::extract::rejection::{JsonRejection, PathRejection, QueryRejection};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use labguard_store::StoreError;
use serde::Serialize;
use utoipa::ToSchema;

#[derive(Debug, Serialize, ToSchema)]
pub struct ErrorBody {
    /// Machine-readable code, e.g. `forbidden`, `invalid-json`.
    pub error: String,
    pub message: String,
}

#[derive(Debug)]
pub struct ApiError {
    pub status: StatusCode,
    pub code: &'static str,
    pub message: String,
    /// Seconds, for 429 answers.
    pub retry_after: Option<u64>,
}

impl ApiError {
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> ApiError {
        ApiError {
            status,
            code,
            message: message.into(),
            retry_after: None,
        }
    }

    pub fn bad_request(message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::BAD_REQUEST, "bad-request", message)
    }

    pub fn unauthenticated() -> ApiError {
        ApiError::new(
            StatusCode::UNAUTHORIZED,
            "unauthenticated",
            "sign in to continue",
        )
    }

    pub fn session_expired() -> ApiError {
        ApiError::new(
            StatusCode::UNAUTHORIZED,
            "session-expired",
            "you were signed out after a period of inactivity; sign in again",
        )
    }

    pub fn forbidden(message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::FORBIDDEN, "forbidden", message)
    }

    /// The one answer for every failed sign-in, whatever the cause, so it reveals nothing
    /// about which usernames exist.
    pub fn invalid_credentials() -> ApiError {
        ApiError::new(
            StatusCode::UNAUTHORIZED,
            "invalid-credentials",
            "the username, password or code is not correct",
        )
    }

    pub fn internal() -> ApiError {
        ApiError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal",
            "something went wrong on the server; the problem has been logged",
        )
    }
}

impl From<labguard_app::training::SubmitError> for ApiError {
    fn from(e: labguard_app::training::SubmitError) -> Self {
        use labguard_app::training::SubmitError;
        match e {
            SubmitError::Store(s) => s.into(),
            SubmitError::Quiz(q) => {
                ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, "invalid", q.to_string())
            }
        }
    }
}

impl From<labguard_app::error::AppError> for ApiError {
    fn from(e: labguard_app::error::AppError) -> Self {
        use labguard_app::error::AppError;
        match e {
            AppError::Store(s) => s.into(),
            AppError::Invalid(m) => {
                ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, "invalid-fields", m)
            }
            AppError::Internal(m) => {
                crate::log::error("app", m);
                ApiError::internal()
            }
        }
    }
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> ApiError {
        match e {
            StoreError::Denied(m) => ApiError::forbidden(m),
            StoreError::NotFound(_) => {
                ApiError::new(StatusCode::NOT_FOUND, "not-found", "no such record")
            }
            StoreError::Conflict => ApiError::new(
                StatusCode::CONFLICT,
                "conflict",
                "a record with the same unique key already exists",
            ),
            StoreError::MissingReference => ApiError::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "missing-reference",
                "a referenced patient, specimen or order does not exist",
            ),
            StoreError::Invalid(d) => {
                ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, "invalid", d.to_string())
            }
            StoreError::Busy => ApiError::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "busy",
                "the database is busy; try again",
            ),
            other => {
                // Store errors never carry patient data (see StoreError), so they may be logged.
                crate::log::error("store", &other.to_string());
                ApiError::internal()
            }
        }
    }
}

impl From<JsonRejection> for ApiError {
    fn from(r: JsonRejection) -> ApiError {
        let (status, code) = match &r {
            JsonRejection::MissingJsonContentType(_) => {
                (StatusCode::UNSUPPORTED_MEDIA_TYPE, "unsupported-media-type")
            }
            JsonRejection::JsonSyntaxError(_) => (StatusCode::BAD_REQUEST, "invalid-json"),
            JsonRejection::JsonDataError(_) => (StatusCode::UNPROCESSABLE_ENTITY, "invalid-fields"),
            _ if r.status() == StatusCode::PAYLOAD_TOO_LARGE => {
                (StatusCode::PAYLOAD_TOO_LARGE, "body-too-large")
            }
            _ => (StatusCode::BAD_REQUEST, "bad-request"),
        };
        // serde's messages name fields and types, not values, except for unknown enum
        // variants; keep only the part before any quoted input.
        let text = match code {
            "unsupported-media-type" => "send the body as application/json".to_string(),
            "body-too-large" => "the request body is too large".to_string(),
            "invalid-json" => "the body is not valid JSON".to_string(),
            _ => redact(&r.body_text()),
        };
        ApiError::new(status, code, text)
    }
}

impl From<QueryRejection> for ApiError {
    fn from(r: QueryRejection) -> ApiError {
        ApiError::new(
            StatusCode::BAD_REQUEST,
            "invalid-query",
            redact(&r.body_text()),
        )
    }
}

impl From<PathRejection> for ApiError {
    fn from(_: PathRejection) -> ApiError {
        ApiError::new(
            StatusCode::BAD_REQUEST,
            "invalid-path",
            "the path does not name a valid record id",
        )
    }
}

/// Cuts an error text at the first quote, so input echoed inside quotes is not repeated.
fn redact(s: &str) -> String {
    let cut = s.find(['`', '"', '\'']).unwrap_or(s.len());
    let mut out: String = s[..cut].chars().take(200).collect();
    if out.trim().is_empty() {
        out = "the request is not valid".into();
    }
    out.trim_end().trim_end_matches(':').to_string()
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = ErrorBody {
            error: self.code.to_string(),
            message: self.message,
        };
        let mut resp = (self.status, axum::Json(body)).into_response();
        if let Some(s) = self.retry_after {
            if let Ok(v) = HeaderValue::from_str(&s.to_string()) {
                resp.headers_mut().insert(header::RETRY_AFTER, v);
            }
        }
        resp
    }
}

pub type ApiResult<T> = Result<T, ApiError>;
