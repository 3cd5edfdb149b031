//! The one error type of the HTTP layer.
//!
//! Every failure — a handler's, an extractor's, a fallback's — becomes the contract's envelope
//! `{"success": false, "error": "<sentence>", "code": "<machine code>", "details"?}`. Bodies of
//! 5xx answers never carry internal detail: the cause is logged (inside the request's span, so
//! with its request id) and the client gets a generic sentence.

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use laneway_core::DomainError;
use laneway_store::StoreError;
use serde_json::{json, Value};

#[derive(Debug)]
pub struct ApiError {
    pub status: StatusCode,
    pub code: &'static str,
    pub message: String,
    pub details: Option<Box<Value>>,
    pub retry_after: Option<u64>,
}

pub type ApiResult<T> = Result<T, ApiError>;

impl ApiError {
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        Self {
            status,
            code,
            message: message.into(),
            details: None,
            retry_after: None,
        }
    }

    pub fn with_details(mut self, details: Value) -> Self {
        self.details = Some(Box::new(details));
        self
    }

    /// 400 for a bad value in the body or query, naming the field.
    pub fn invalid(field: &str, message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "validation_failed", message)
            .with_details(json!({ "field": field }))
    }

    pub fn bad_request(code: &'static str, message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, code, message)
    }

    pub fn not_found(message: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, "not_found", message)
    }

    pub fn conflict(message: impl Into<String>) -> Self {
        Self::new(StatusCode::CONFLICT, "conflict", message)
    }

    pub fn unauthorized(message: impl Into<String>) -> Self {
        Self::new(StatusCode::UNAUTHORIZED, "unauthorized", message)
    }

    pub fn forbidden(message: impl Into<String>) -> Self {
        Self::new(StatusCode::FORBIDDEN, "forbidden", message)
    }

    pub fn internal() -> Self {
        Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal_error",
            "An unexpected error occurred; it has been logged with this request's X-Request-Id",
        )
    }

    pub fn unavailable() -> Self {
        let mut e = Self::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "service_unavailable",
            "The database is unavailable; retry shortly",
        );
        e.retry_after = Some(1);
        e
    }
}

impl From<DomainError> for ApiError {
    fn from(e: DomainError) -> Self {
        match e {
            DomainError::NotFound { .. } => ApiError::not_found(e.to_string()),
            DomainError::Conflict { message } => ApiError::conflict(message),
            DomainError::Validation { message, field } => match field {
                Some(f) => ApiError::invalid(&f, message),
                None => ApiError::bad_request("validation_failed", message),
            },
            DomainError::Forbidden { message } => ApiError::forbidden(message),
        }
    }
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::NotFound => ApiError::not_found("Resource not found"),
            StoreError::Conflict(msg) => {
                tracing::debug!(%msg, "unique violation");
                ApiError::conflict("A resource with the same unique value already exists")
            }
            StoreError::Reference(msg) => {
                tracing::debug!(%msg, "foreign key violation");
                ApiError::conflict(
                    "A resource this request refers to was changed or removed meanwhile; retry",
                )
            }
            StoreError::Unavailable(source) => {
                tracing::error!(error = %source, "database unavailable");
                ApiError::unavailable()
            }
            other => {
                tracing::error!(error = %other, "storage error");
                ApiError::internal()
            }
        }
    }
}

/// The error envelope, keys in contract order.
#[derive(serde::Serialize, utoipa::ToSchema)]
#[schema(as = Error, description = "The error envelope of every 4xx and 5xx answer.")]
pub(crate) struct ErrorBody {
    /// Always `false`.
    success: bool,
    /// One human sentence saying what went wrong, naming the culprit.
    error: String,
    /// A stable machine code, e.g. `validation_failed`, `not_found`, `conflict`.
    code: &'static str,
    /// Where useful, e.g. `{"field": "email"}` or `{"parameter": "page"}`.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    details: Option<Value>,
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        if self.status.is_server_error() {
            tracing::warn!(status = %self.status, code = self.code, "request failed");
        }
        let body = ErrorBody {
            success: false,
            error: self.message,
            code: self.code,
            details: self.details.map(|d| *d),
        };
        let mut resp = (self.status, axum::Json(body)).into_response();
        if let Some(secs) = self.retry_after {
            if let Ok(v) = HeaderValue::from_str(&secs.to_string()) {
                resp.headers_mut().insert(header::RETRY_AFTER, v);
            }
        }
        resp
    }
}
