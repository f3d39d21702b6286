//! The privacy policy's versions (P16): public reads of the published texts, and a
//! signed-in person's acknowledgements and notice.

use crate::api::accounts::{account_error, AuthPerson};
use crate::error::ApiError;
use crate::json::ApiJson;
use crate::AppState;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::{Json, Router};
use datavow_core::policy_versions::{self, PolicyStatus, PolicyText, PolicyVersion};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

pub(crate) fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/v1/policy", get(versions))
        .route("/api/v1/policy/{version}", get(text))
        .route("/api/v1/me/policy", get(status))
        .route("/api/v1/me/policy/dismissals", post(dismiss))
}

/// A published version.
#[derive(Debug, Serialize, ToSchema)]
pub struct VersionBody {
    pub version: String,
    /// RFC 3339.
    pub effective_at: String,
    /// A material change: people who accepted an earlier version are told.
    pub material: bool,
    /// Languages it is published in (`en`, `de`, `da`).
    pub langs: Vec<String>,
}

impl From<&PolicyVersion> for VersionBody {
    fn from(v: &PolicyVersion) -> Self {
        VersionBody {
            version: v.version.clone(),
            effective_at: rfc3339(v.effective_at),
            material: v.material,
            langs: v.langs.clone(),
        }
    }
}

fn rfc3339(at: chrono::DateTime<chrono::Utc>) -> String {
    at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

/// Every version and the one in force.
#[derive(Debug, Serialize, ToSchema)]
pub struct VersionsBody {
    /// `null` when no text is published.
    pub in_force: Option<String>,
    /// Oldest first, including versions that take effect later.
    pub versions: Vec<VersionBody>,
}

/// The policy's versions: which is in force, which came before and which are scheduled.
#[utoipa::path(get, path = "/api/v1/policy", tag = "policy", responses((status = 200, body = VersionsBody)))]
pub(crate) async fn versions(
    State(state): State<AppState>,
) -> Result<Json<VersionsBody>, ApiError> {
    let versions = policy_versions::versions(&state.app)
        .await
        .map_err(ApiError::from_store)?;
    Ok(Json(VersionsBody {
        in_force: versions
            .in_force(chrono::Utc::now())
            .map(|v| v.version.clone()),
        versions: versions.all().iter().map(VersionBody::from).collect(),
    }))
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
pub struct LangParam {
    /// `en`, `de` or `da`; English (or the only language) when the text has no such
    /// translation.
    pub lang: Option<String>,
}

/// One version's text.
#[derive(Debug, Serialize, ToSchema)]
pub struct TextBody {
    pub version: String,
    /// The language of `body` (see `lang`).
    pub lang: String,
    pub effective_at: String,
    pub material: bool,
    /// The text, in Markdown.
    pub body: String,
}

impl From<PolicyText> for TextBody {
    fn from(t: PolicyText) -> Self {
        TextBody {
            version: t.version,
            lang: t.lang,
            effective_at: rfc3339(t.effective_at),
            material: t.material,
            body: t.body,
        }
    }
}

/// The text of one version.
#[utoipa::path(get, path = "/api/v1/policy/{version}", tag = "policy", params(("version" = String, Path), LangParam),
    responses((status = 200, body = TextBody), (status = 404, body = crate::error::ErrorBody)))]
pub(crate) async fn text(
    State(state): State<AppState>,
    Path(version): Path<String>,
    Query(q): Query<LangParam>,
) -> Result<Json<TextBody>, ApiError> {
    let lang = q.lang.as_deref().unwrap_or("en");
    policy_versions::text(&state.app, &version, lang)
        .await
        .map_err(ApiError::from_store)?
        .map(|t| Json(TextBody::from(t)))
        .ok_or_else(|| ApiError::new(StatusCode::NOT_FOUND, "not_found", "no such policy version"))
}

/// An acknowledgement of a version.
#[derive(Debug, Serialize, ToSchema)]
pub struct AcknowledgementBody {
    pub version: String,
    pub at: String,
    /// `accepted_at_sign_up` or `continued_use` (the first sign-in while it was in force).
    pub how: String,
}

/// A material change the person has not dismissed.
#[derive(Debug, Serialize, ToSchema)]
pub struct NoticeBody {
    pub version: String,
    pub effective_at: String,
    /// The version the person knew before it (compare the two at
    /// `/privacy/diff?from=SINCE&to=VERSION`).
    pub since: Option<String>,
}

/// The person's standing towards the policy.
#[derive(Debug, Serialize, ToSchema)]
pub struct PolicyStatusBody {
    pub in_force: Option<VersionBody>,
    pub acknowledgements: Vec<AcknowledgementBody>,
    /// `null` when there is nothing to tell.
    pub notice: Option<NoticeBody>,
}

impl From<PolicyStatus> for PolicyStatusBody {
    fn from(s: PolicyStatus) -> Self {
        PolicyStatusBody {
            in_force: s.in_force.as_ref().map(VersionBody::from),
            acknowledgements: s
                .acknowledgements
                .into_iter()
                .map(|a| AcknowledgementBody {
                    version: a.version,
                    at: rfc3339(a.at),
                    how: a.how,
                })
                .collect(),
            notice: s.notice.map(|n| NoticeBody {
                version: n.version,
                effective_at: rfc3339(n.effective_at),
                since: n.since,
            }),
        }
    }
}

/// The versions the person acknowledged, and the notice of a material change.
#[utoipa::path(get, path = "/api/v1/me/policy", tag = "policy", responses((status = 200, body = PolicyStatusBody)))]
pub(crate) async fn status(
    State(state): State<AppState>,
    AuthPerson(me): AuthPerson,
) -> Result<Json<PolicyStatusBody>, ApiError> {
    let status = policy_versions::status(&state.app, &me, chrono::Utc::now())
        .await
        .map_err(account_error)?;
    Ok(Json(status.into()))
}

/// The notice to dismiss.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DismissRequest {
    /// The notice's version.
    #[schema(max_length = 64)]
    pub version: String,
}

/// Dismisses the notice of a version; it is not shown again.
#[utoipa::path(post, path = "/api/v1/me/policy/dismissals", tag = "policy", request_body = DismissRequest,
    responses((status = 204), (status = 404, body = crate::error::ErrorBody)))]
pub(crate) async fn dismiss(
    State(state): State<AppState>,
    AuthPerson(me): AuthPerson,
    ApiJson(request): ApiJson<DismissRequest>,
) -> Result<StatusCode, ApiError> {
    policy_versions::dismiss_notice(&state.app, &me, &request.version, chrono::Utc::now())
        .await
        .map_err(|err| match err {
            datavow_core::accounts::AccountError::NotFound => {
                ApiError::new(StatusCode::NOT_FOUND, "not_found", "no such policy version")
            }
            other => account_error(other),
        })?;
    Ok(StatusCode::NO_CONTENT)
}
