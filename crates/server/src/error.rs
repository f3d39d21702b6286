//! API errors: a status, a stable code and a message for the user, kept apart from the
//! cause that is logged.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Serialize;

/// The JSON body of every error response.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ErrorBody {
    pub error: ErrorDetail,
}

/// What went wrong, for the caller.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ErrorDetail {
    /// Stable, machine-readable code such as `not_found`.
    pub code: String,
    /// A sentence for a person. Never contains submitted personal data.
    pub message: String,
    /// For validation errors: every refused field, by name and code.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fields: Option<Vec<FieldError>>,
}

/// One refused field of a request.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct FieldError {
    pub field: String,
    pub code: String,
    pub message: String,
}

/// An error answered to the client. The `cause` is logged, never sent.
#[derive(Debug)]
pub struct ApiError {
    pub status: StatusCode,
    pub code: &'static str,
    pub message: String,
    pub cause: Option<String>,
    pub fields: Option<Vec<FieldError>>,
    pub retry_after: Option<u64>,
}

impl ApiError {
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        ApiError {
            status,
            code,
            message: message.into(),
            cause: None,
            fields: None,
            retry_after: None,
        }
    }

    /// A 500 whose cause is logged and whose message says nothing of it.
    pub fn internal(cause: impl std::fmt::Display) -> Self {
        ApiError {
            status: StatusCode::INTERNAL_SERVER_ERROR,
            code: "internal",
            message: "something went wrong on our side; it has been logged".into(),
            cause: Some(cause.to_string()),
            fields: None,
            retry_after: None,
        }
    }

    /// A store failure: 503 when the store is down, full or busy, else 500.
    pub fn from_store(err: datavow_core::StoreError) -> Self {
        if err.is_unavailable() {
            ApiError::unavailable(err)
        } else {
            ApiError::internal(err)
        }
    }

    /// A 503 for a store that does not answer or cannot write; the client may retry.
    pub fn unavailable(cause: impl std::fmt::Display) -> Self {
        ApiError {
            status: StatusCode::SERVICE_UNAVAILABLE,
            code: "unavailable",
            message: "the service cannot store or read data right now; nothing was changed, try again shortly".into(),
            cause: Some(cause.to_string()),
            fields: None,
            retry_after: Some(5),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        if let Some(cause) = &self.cause {
            log_failure(self.code, self.status, cause);
        }
        let body = ErrorBody {
            error: ErrorDetail {
                code: self.code.to_owned(),
                message: self.message,
                fields: self.fields,
            },
        };
        let mut response = (self.status, Json(body)).into_response();
        if let Some(seconds) = self.retry_after {
            if let Ok(value) = axum::http::HeaderValue::from_str(&seconds.to_string()) {
                response
                    .headers_mut()
                    .insert(axum::http::header::RETRY_AFTER, value);
            }
        }
        response
    }
}

/// Error lines logged per second at most; a failing disk or database must not fill the
/// log (and the disk) with one line per request.
const LOG_LINES_PER_SECOND: u32 = 10;

/// Logs a failed request's cause, at most [`LOG_LINES_PER_SECOND`] a second; the lines
/// left out are counted in the next one logged.
pub(crate) fn log_failure(code: &str, status: StatusCode, cause: &str) {
    struct Window {
        start: Option<std::time::Instant>,
        logged: u32,
        suppressed: u64,
    }
    static WINDOW: std::sync::Mutex<Window> = std::sync::Mutex::new(Window {
        start: None,
        logged: 0,
        suppressed: 0,
    });
    let mut window = WINDOW.lock().unwrap_or_else(|e| e.into_inner());
    let now = std::time::Instant::now();
    if window
        .start
        .is_none_or(|start| now.duration_since(start).as_secs() >= 1)
    {
        window.start = Some(now);
        window.logged = 0;
    }
    metrics::counter!("datavow_request_failures_total", "code" => code.to_owned()).increment(1);
    if window.logged >= LOG_LINES_PER_SECOND {
        window.suppressed += 1;
        return;
    }
    window.logged += 1;
    let suppressed = std::mem::take(&mut window.suppressed);
    drop(window);
    tracing::error!(code, status = status.as_u16(), %cause, suppressed, "request failed");
}

/// The answer for a path that does not exist.
pub(crate) async fn not_found() -> ApiError {
    ApiError::new(StatusCode::NOT_FOUND, "not_found", "no such endpoint")
}

/// `name` if it may be repeated in an error message: shaped like a field or purpose
/// name (a letter or `_` first, then letters, digits and `_`, at most 40 characters,
/// at most 4 digits). Anything else a client sent as a name could be personal data or
/// a card number, and is not repeated.
pub(crate) fn repeatable_name(name: &str) -> Option<&str> {
    let mut chars = name.chars();
    let first_ok = chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_');
    let rest_ok = chars.all(|c| c.is_ascii_alphanumeric() || c == '_');
    let digits = name.bytes().filter(u8::is_ascii_digit).count();
    (first_ok && rest_ok && name.len() <= 40 && digits <= 4).then_some(name)
}

/// Answers that axum or tower make before a handler runs (a method not allowed, a body
/// over the limit, a malformed query string, a timeout) come as plain text or empty.
/// This layer gives them the same JSON error body as every other error, with a fixed
/// message: the framework's own text can quote what was submitted.
pub(crate) async fn plain_errors_as_json(
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> Response {
    let response = next.run(request).await;
    let status = response.status();
    let typed = response
        .headers()
        .get(axum::http::header::CONTENT_TYPE)
        .and_then(|t| t.to_str().ok())
        .is_some_and(|t| t.starts_with("application/json") || t.starts_with("text/html"));
    if !(status.is_client_error() || status.is_server_error()) || typed {
        return response;
    }
    let (code, message) = match status {
        StatusCode::BAD_REQUEST => (
            "bad_request",
            "the request could not be read: its query string, path or body is malformed",
        ),
        StatusCode::METHOD_NOT_ALLOWED => (
            "method_not_allowed",
            "this path does not take that method; the Allow header lists those it takes",
        ),
        StatusCode::PAYLOAD_TOO_LARGE => ("body_too_large", "the request body is too large"),
        StatusCode::UNSUPPORTED_MEDIA_TYPE => (
            "unsupported_media_type",
            "the body is not of a content type this path takes",
        ),
        StatusCode::REQUEST_TIMEOUT => ("timeout", "the request took too long and was stopped"),
        StatusCode::UNPROCESSABLE_ENTITY => ("unprocessable", "the request body could not be used"),
        s if s.is_server_error() => (
            "internal",
            "something went wrong on our side; it has been logged",
        ),
        _ => ("refused", "the request was refused"),
    };
    let (mut parts, _) = response.into_parts();
    parts.headers.remove(axum::http::header::CONTENT_LENGTH);
    let body = ApiError::new(status, code, message).into_response();
    let (body_parts, body) = body.into_parts();
    for (name, value) in &body_parts.headers {
        parts.headers.insert(name, value.clone());
    }
    Response::from_parts(parts, body)
}

#[cfg(test)]
mod tests {
    #[test]
    fn only_names_shaped_like_field_names_are_repeated() {
        for name in ["emial", "postal_address", "address_line2", "_x", "billing"] {
            assert_eq!(super::repeatable_name(name), Some(name));
        }
        for name in [
            "4111111111111111",
            "card4111111111111111",
            "anna@example.dk",
            "Søren",
            "a b",
            "",
            &"x".repeat(41),
        ] {
            assert_eq!(super::repeatable_name(name), None, "{name}");
        }
    }
}
