//! The privacy policy page (P16).

use super::*;

/// The policy text served at `/privacy`.
const POLICY_TEXT: &str = include_str!("../../../../policy/asergo-privacy-policy.txt");

pub(super) async fn privacy(
    State(state): State<AppState>,
    headers: HeaderMap,
    Query(q): Query<LangQuery>,
) -> Response {
    let page = page(&headers, q.lang.as_deref());
    let signed_in = signed_in_person(&state, &headers).await.is_some();
    let policy = &state.app.policy;
    let body = html! {
        p { (policy.name) " · " (policy.version) " · " (policy.effective_date) }
        pre class="policy" { (POLICY_TEXT) }
    };
    respond(
        &page,
        StatusCode::OK,
        layout(&page, page.lang.t("privacy"), signed_in, body),
    )
}
