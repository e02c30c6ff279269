//! The one HTTP error type: every failure of every route becomes one of these, and each answers
//! with the same JSON shape, in English and Hindi.

use axum::Json;
use axum::extract::rejection::{JsonRejection, PathRejection, QueryRejection};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use sangathan_core::{FieldError, Invalid};
use sangathan_store::StoreError;
use serde::Serialize;
use std::collections::BTreeMap;
use utoipa::ToSchema;

/// The body of every error answer.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ErrorBody {
    pub error: ErrorDetail,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ErrorDetail {
    /// A stable machine-readable code, e.g. `invalid_mobile`, `not_found`, `unauthorized`.
    #[schema(example = "invalid_mobile")]
    pub code: String,
    /// What went wrong, in English.
    pub message: String,
    /// What went wrong, in Hindi.
    pub message_hi: String,
    /// For validation errors: field name → reason in English.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fields: Option<BTreeMap<String, String>>,
    /// For validation errors: field name → reason in Hindi.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fields_hi: Option<BTreeMap<String, String>>,
}

/// Marks a response as a denied request, for the audit log.
#[derive(Debug, Clone, Copy)]
pub struct Denied;

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// No bearer token, or one the store does not know.
    #[error("authentication required")]
    Unauthorized,
    #[error("not found")]
    NotFound,
    /// Outside the caller's scope: answered exactly as [`ApiError::NotFound`], and audited as denied.
    #[error("not found")]
    Hidden,
    /// A login that did not succeed; never says whether the account exists.
    #[error("login failed")]
    LoginFailed,
    /// The caller's posts allow this action nowhere.
    #[error("forbidden")]
    Forbidden,
    /// A cookie-authenticated write without the session's CSRF token.
    #[error("CSRF token missing or wrong")]
    Csrf,
    /// Too many failed attempts: wait this many seconds.
    #[error("too many attempts")]
    TooManyRequests(i64),
    #[error("method not allowed")]
    MethodNotAllowed,
    /// One or more fields were rejected.
    #[error("{0}")]
    Invalid(Invalid),
    /// The body is not JSON of the expected shape.
    #[error("invalid JSON body: {0}")]
    InvalidJson(String),
    /// The query string could not be read.
    #[error("invalid query string: {0}")]
    InvalidQuery(String),
    #[error("request body too large")]
    PayloadTooLarge,
    #[error("idempotency key reused for a different request")]
    KeyReused,
    /// The store refused the request (state conflict).
    #[error("{0}")]
    Conflict(String),
    #[error("the database is not initialised")]
    NotInitialised,
    /// A first load of members is pending: writes of people wait for it.
    #[error("{}", sangathan_store::LOAD_PENDING_EN)]
    LoadPending,
    /// Something broke on our side; the details went to the log, not to the client.
    #[error("internal error")]
    Internal,
}

impl ApiError {
    pub fn status(&self) -> StatusCode {
        match self {
            ApiError::Unauthorized | ApiError::LoginFailed => StatusCode::UNAUTHORIZED,
            ApiError::NotFound | ApiError::Hidden => StatusCode::NOT_FOUND,
            ApiError::Forbidden | ApiError::Csrf => StatusCode::FORBIDDEN,
            ApiError::TooManyRequests(_) => StatusCode::TOO_MANY_REQUESTS,
            ApiError::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
            ApiError::Invalid(_) | ApiError::InvalidJson(_) | ApiError::InvalidQuery(_) => {
                StatusCode::UNPROCESSABLE_ENTITY
            }
            ApiError::PayloadTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            ApiError::KeyReused | ApiError::Conflict(_) => StatusCode::CONFLICT,
            ApiError::NotInitialised | ApiError::LoadPending => StatusCode::SERVICE_UNAVAILABLE,
            ApiError::Internal => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    pub fn body(&self) -> ErrorBody {
        let plain = |code: &str, en: String, hi: String| ErrorDetail {
            code: code.to_string(),
            message: en,
            message_hi: hi,
            fields: None,
            fields_hi: None,
        };
        let error = match self {
            ApiError::Unauthorized => plain(
                "unauthorized",
                "a valid bearer token is required (Authorization: Bearer <token>)".into(),
                "मान्य बेयरर टोकन आवश्यक है (Authorization: Bearer <token>)".into(),
            ),
            ApiError::NotFound | ApiError::Hidden => {
                plain("not_found", "not found".into(), "नहीं मिला".into())
            }
            ApiError::LoginFailed => plain(
                "login_failed",
                "the mobile, password or code is wrong".into(),
                "मोबाइल नंबर, पासवर्ड या कोड गलत है".into(),
            ),
            ApiError::Forbidden => plain(
                "forbidden",
                "your posts do not allow this".into(),
                "आपके पद से यह अनुमति नहीं है".into(),
            ),
            ApiError::Csrf => plain(
                "csrf",
                "this request needs the session's CSRF token in the X-CSRF-Token header".into(),
                "इस अनुरोध के लिए X-CSRF-Token हेडर में सत्र का CSRF टोकन आवश्यक है".into(),
            ),
            ApiError::TooManyRequests(secs) => plain(
                "too_many_attempts",
                format!(
                    "too many attempts; try again in {} minutes",
                    (secs + 59) / 60
                ),
                format!("बहुत अधिक प्रयास; {} मिनट बाद फिर प्रयास करें", (secs + 59) / 60),
            ),
            ApiError::MethodNotAllowed => plain(
                "method_not_allowed",
                "method not allowed".into(),
                "यह तरीका (मेथड) अनुमत नहीं है".into(),
            ),
            ApiError::Invalid(i) => ErrorDetail {
                code: i.code().to_string(),
                message: i.message_en(),
                message_hi: i.message_hi(),
                fields: Some(i.fields()),
                fields_hi: Some(i.fields_hi()),
            },
            ApiError::InvalidJson(why) => plain(
                "invalid_json",
                format!("the request body is not valid JSON of the expected shape: {why}"),
                format!("अनुरोध का JSON अमान्य है या अपेक्षित रूप में नहीं है: {why}"),
            ),
            ApiError::InvalidQuery(why) => plain(
                "invalid_query",
                format!("the query string is not valid: {why}"),
                format!("क्वेरी स्ट्रिंग अमान्य है: {why}"),
            ),
            ApiError::PayloadTooLarge => plain(
                "payload_too_large",
                "the request body is larger than 64 KiB".into(),
                "अनुरोध का आकार 64 KiB से अधिक है".into(),
            ),
            ApiError::KeyReused => plain(
                "idempotency_key_reused",
                "this Idempotency-Key was already used for a different request".into(),
                "यह Idempotency-Key पहले किसी दूसरे अनुरोध के लिए उपयोग हो चुकी है".into(),
            ),
            ApiError::Conflict(msg) => plain(
                "conflict",
                msg.clone(),
                format!("अनुरोध अस्वीकार किया गया: {msg}"),
            ),
            ApiError::NotInitialised => plain(
                "not_initialised",
                "the database is not initialised: run `sangathan init` first".into(),
                "डेटाबेस अभी तैयार नहीं है: पहले `sangathan init` चलाएँ".into(),
            ),
            ApiError::LoadPending => plain(
                "first_load_pending",
                sangathan_store::LOAD_PENDING_EN.into(),
                sangathan_store::LOAD_PENDING_HI.into(),
            ),
            ApiError::Internal => plain(
                "internal_error",
                "something went wrong on the server; please try again".into(),
                "सर्वर पर कोई त्रुटि हुई; कृपया फिर से प्रयास करें".into(),
            ),
        };
        ErrorBody { error }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut res = (self.status(), Json(self.body())).into_response();
        match self {
            ApiError::Unauthorized => {
                res.headers_mut()
                    .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
            }
            ApiError::TooManyRequests(secs) => {
                res.headers_mut()
                    .insert(header::RETRY_AFTER, HeaderValue::from(secs.max(1)));
            }
            ApiError::Hidden | ApiError::Forbidden | ApiError::Csrf => {
                res.extensions_mut().insert(Denied);
            }
            _ => {}
        }
        res
    }
}

impl From<Invalid> for ApiError {
    fn from(i: Invalid) -> Self {
        ApiError::Invalid(i)
    }
}

impl From<FieldError> for ApiError {
    fn from(e: FieldError) -> Self {
        ApiError::Invalid(Invalid::one(e))
    }
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::Invalid(i) => ApiError::Invalid(i),
            StoreError::NotFound => ApiError::NotFound,
            StoreError::KeyReused => ApiError::KeyReused,
            StoreError::NotInitialised => ApiError::NotInitialised,
            StoreError::AlreadyInitialised => {
                ApiError::Conflict("the database is already initialised".into())
            }
            StoreError::Refused(msg) => ApiError::Conflict(msg),
            StoreError::LoadPending => ApiError::LoadPending,
            StoreError::Db(err) => {
                tracing::error!(error = %describe_db_error(&err), "database error");
                ApiError::Internal
            }
            StoreError::Migrate(err) => {
                tracing::error!(error = %err, "migration error");
                ApiError::Internal
            }
        }
    }
}

/// A database error as it may be logged: for errors raised by the database itself only the
/// SQLSTATE, kind and constraint (their messages can quote the row, i.e. personal data).
fn describe_db_error(err: &sqlx::Error) -> String {
    use sqlx::Error as E;
    match err {
        E::Database(db) => {
            format!(
                "database refused the statement: code {:?}, kind {:?}, constraint {:?}",
                db.code(),
                db.kind(),
                db.constraint()
            )
        }
        E::ColumnDecode { index, .. } => format!("could not decode column {index}"),
        E::Decode(_) => "could not decode a value".to_string(),
        E::Encode(_) => "could not encode a value".to_string(),
        other => other.to_string(),
    }
}

impl From<JsonRejection> for ApiError {
    fn from(r: JsonRejection) -> Self {
        if r.status() == StatusCode::PAYLOAD_TOO_LARGE {
            return ApiError::PayloadTooLarge;
        }
        match r {
            JsonRejection::MissingJsonContentType(_) => {
                ApiError::InvalidJson("the Content-Type header must be application/json".into())
            }
            other => ApiError::InvalidJson(other.body_text()),
        }
    }
}

impl From<QueryRejection> for ApiError {
    fn from(r: QueryRejection) -> Self {
        ApiError::InvalidQuery(r.body_text())
    }
}

impl From<PathRejection> for ApiError {
    fn from(_: PathRejection) -> Self {
        ApiError::NotFound
    }
}
