//! A JSON body extractor whose errors follow the API's error shape and never echo the
//! submitted values (serde's messages quote them, so only the place is reported).

use crate::ApiError;
use axum::extract::rejection::JsonRejection;
use axum::extract::{FromRequest, Request};
use axum::http::StatusCode;
use serde::de::DeserializeOwned;

/// Like `axum::Json`, with API errors: 400 `invalid_json` or `unknown_field`, 415
/// without a JSON content type.
#[derive(Debug, Clone, Copy, Default)]
pub struct ApiJson<T>(pub T);

impl<S, T> FromRequest<S> for ApiJson<T>
where
    T: DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        match axum::Json::<T>::from_request(req, state).await {
            Ok(axum::Json(value)) => Ok(ApiJson(value)),
            Err(rejection) => Err(json_error(&rejection)),
        }
    }
}

fn json_error(rejection: &JsonRejection) -> ApiError {
    match rejection {
        JsonRejection::MissingJsonContentType(_) => ApiError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_media_type",
            "send the body as JSON with Content-Type: application/json",
        ),
        JsonRejection::JsonDataError(err) => {
            let detail = err.body_text();
            // serde names unknown fields as "unknown field `x`": the client's own key,
            // repeated only when it is shaped like a field name (a key can be anything,
            // an email address or a card number too).
            if let Some(field) = detail
                .split("unknown field `")
                .nth(1)
                .and_then(|rest| rest.split('`').next())
            {
                return ApiError::new(
                    StatusCode::BAD_REQUEST,
                    "unknown_field",
                    match crate::error::repeatable_name(field) {
                        Some(field) => format!("unknown field `{field}`"),
                        None => "a field this request does not take".to_owned(),
                    },
                );
            }
            let place = detail
                .rsplit(" at line ")
                .next()
                .filter(|_| detail.contains(" at line "));
            ApiError::new(
                StatusCode::BAD_REQUEST,
                "invalid_json",
                match place {
                    Some(place) => {
                        format!("a value has the wrong type or is missing (at line {place})")
                    }
                    None => "a value has the wrong type or a required field is missing".to_owned(),
                },
            )
        }
        JsonRejection::BytesRejection(_) => ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "body_too_large",
            "the request body is too large",
        ),
        _ => ApiError::new(
            StatusCode::BAD_REQUEST,
            "invalid_json",
            "the body is not valid JSON",
        ),
    }
}
