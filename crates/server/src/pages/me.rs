//! "My data" (P13): every field held, corrections, download, erasure request, the
//! marketing switch, password change and who accessed the data.

use super::*;

/// The dashboard page, with optional notices and errors from the last form.
pub(super) async fn render_dashboard(
    state: &AppState,
    page: &Page,
    me: &SignedIn,
    notice: Option<String>,
    errors: &[String],
) -> Response {
    let lang = page.lang;
    let t = |k| lang.t(k);
    let profile = match accounts::profile(&state.app, me).await {
        Ok(p) => p,
        Err(_) => return Redirect::to("/signin").into_response(),
    };
    let log = accounts::access_log(&state.app, me, 50)
        .await
        .unwrap_or_default();
    let policy_notice = datavow_core::policy_versions::status(&state.app, me, chrono::Utc::now())
        .await
        .ok()
        .and_then(|s| s.notice);
    let Profile {
        ref postal_address, ..
    } = profile;
    let address_line = postal_address
        .as_ref()
        .map(|a| format!("{}, {} {}, {}", a.street, a.postal_code, a.city, a.country));
    let rows: Vec<(&str, Option<String>)> = vec![
        (t("user_id"), Some(profile.user_id.clone())),
        (t("name"), profile.name.clone()),
        (t("company"), profile.company.clone()),
        (t("email"), profile.email.clone()),
        (t("phone"), profile.phone.clone()),
        (t("postal_address"), address_line),
        (t("business_sector"), profile.business_sector.clone()),
        (t("interest"), profile.interest.clone()),
        (t("birth_date"), profile.birth_date.clone()),
    ];
    let body = html! {
        @if let Some(notice) = &notice { p class="notice" role="status" { (notice) } }
        (errors_box(lang, errors))
        @if let Some(n) = &policy_notice {
            div class="notice" id="policy-notice" role="status" {
                p { (t("policy_changed").replace("{version}", &n.version).replace("{date}", &n.effective_at.format("%Y-%m-%d").to_string())) }
                p {
                    a href={ "/privacy?version=" (n.version) } { (t("read_policy")) }
                    @if let Some(since) = &n.since {
                        " · " a href={ "/privacy/diff?from=" (since) "&to=" (n.version) } { (t("see_changes")) }
                    }
                }
                form method="post" action="/dashboard/policy-notice" {
                    input type="hidden" name="_csrf" value=(page.csrf);
                    input type="hidden" name="version" value=(n.version);
                    button type="submit" id="dismiss-policy-notice" { (t("dismiss")) }
                }
            }
        }
        table id="my-data" {
            @for (label, value) in &rows {
                tr { th { (label) } td { (value.clone().unwrap_or_else(|| "—".into())) } }
            }
            tr { th { (t("controller")) } td { (profile.entity.name) br; (profile.entity.address.join(", ")) br; (t("privacy_contact")) ": " a href={ "mailto:" (profile.entity.privacy_contact) } { (profile.entity.privacy_contact) } } }
            tr { th { (t("policy_version")) } td { (profile.policy_version_acknowledged.clone().unwrap_or_else(|| "—".into())) } }
        }
        p { a id="download" href="/api/v1/me/export" download="datavow-export.json" { (t("download")) } }

        section {
            h2 { (t("edit")) }
            form method="post" action="/dashboard/profile" {
                input type="hidden" name="_csrf" value=(page.csrf);
                (text_input(lang, "name", "text", profile.name.as_deref(), "name"))
                (text_input(lang, "company", "text", profile.company.as_deref(), "organization"))
                (text_input(lang, "email", "email", profile.email.as_deref(), "email"))
                (text_input(lang, "phone", "tel", profile.phone.as_deref(), "tel"))
                (text_input(lang, "street", "text", postal_address.as_ref().map(|a| a.street.as_str()), "street-address"))
                (text_input(lang, "postal_code", "text", postal_address.as_ref().map(|a| a.postal_code.as_str()), "postal-code"))
                (text_input(lang, "city", "text", postal_address.as_ref().map(|a| a.city.as_str()), "address-level2"))
                (text_input(lang, "country", "text", postal_address.as_ref().map(|a| a.country.as_str()), "country"))
                label for="interest" { (t("interest")) }
                textarea id="interest" name="interest" rows="3" maxlength="2000" { (profile.interest.clone().unwrap_or_default()) }
                button type="submit" id="save-profile" { (t("save")) }
            }
        }
        section {
            h2 { (t("marketing")) }
            p { (if profile.marketing_opt_in { t("marketing_on") } else { t("marketing_off") }) }
            form method="post" action="/dashboard/marketing" {
                input type="hidden" name="_csrf" value=(page.csrf);
                input type="hidden" name="opt_in" value=(if profile.marketing_opt_in { "no" } else { "yes" });
                button type="submit" { (if profile.marketing_opt_in { t("marketing_turn_off") } else { t("marketing_turn_on") }) }
            }
        }
        section {
            h2 { (t("change_password")) }
            form method="post" action="/dashboard/password" {
                input type="hidden" name="_csrf" value=(page.csrf);
                label for="current_password" { (t("current_password")) }
                input id="current_password" name="current_password" type="password" autocomplete="current-password";
                label for="new_password" { (t("new_password")) }
                input id="new_password" name="new_password" type="password" autocomplete="new-password" minlength="12";
                button type="submit" { (t("change_password")) }
            }
        }
        section {
            h2 { (t("access_log")) }
            table id="access-log" {
                tr { th { (t("when")) } th { (t("who")) } th { (t("what")) } th { (t("purpose")) } }
                @for record in &log {
                    tr {
                        td { (chrono::DateTime::parse_from_rfc3339(&record.at).map(|d| d.format("%Y-%m-%d %H:%M UTC").to_string()).unwrap_or_default()) }
                        td { (actor_text(lang, &page.policy.controller, &record.actor)) }
                        td { (action_text(lang, &record.action, &record.outcome, &record.fields.join(","))) }
                        td { (record.purpose.clone().unwrap_or_else(|| "—".into())) }
                    }
                }
            }
        }
        section {
            h2 { (t("erasure")) }
            p { (t("erasure_explain")) }
            form method="post" action="/dashboard/erasure" {
                input type="hidden" name="_csrf" value=(page.csrf);
                label { input type="checkbox" name="confirm" value="yes" required; " " (t("erasure_confirm")) }
                button type="submit" { (t("erasure")) }
            }
        }
    };
    respond(page, StatusCode::OK, layout(page, t("my_data"), true, body))
}

/// Who acted, for the person: "you", an operator's role, or the service itself.
pub(super) fn actor_text(lang: Lang, controller: &str, actor: &str) -> String {
    match actor.split_once(':') {
        Some(("person", _)) => lang.t("you").to_owned(),
        None if actor == "visitor" => lang.t("visitor").to_owned(),
        Some(("operator", who)) => who.to_owned(),
        Some((_, what)) => format!("{controller} ({what})"),
        None => controller.to_owned(),
    }
}

/// What was done, in the person's language, with the fields by their labels.
pub(super) fn action_text(lang: Lang, action: &str, outcome: &str, fields: &str) -> String {
    let verb = match action {
        "create" => lang.t("act_create"),
        "read" => lang.t("act_read"),
        "update" => lang.t("act_update"),
        "search" => lang.t("act_search"),
        "export" => lang.t("act_export"),
        "sign_in" => lang.t("act_sign_in"),
        "shred" => lang.t("act_shred"),
        "verify" => lang.t("act_verify"),
        "access_log_read" => lang.t("act_access_log_read"),
        "request_filed" => lang.t("act_request_filed"),
        other => return other.to_owned(),
    };
    let labels: Vec<String> = fields
        .split(',')
        .filter(|f| !f.is_empty())
        .map(|f| match f {
            "user_id" => lang.t("user_id").to_owned(),
            "password_hash" => lang.t("password").to_owned(),
            "postal_address" => lang.t("postal_address").to_owned(),
            "marketing_consent" => lang.t("marketing").to_owned(),
            other => field_label(lang, other),
        })
        .collect();
    let refused = match outcome {
        "refused" => format!(" ({})", lang.t("act_refused")),
        "failed" => format!(" ({})", lang.t("act_failed")),
        _ => String::new(),
    };
    format!("{verb}: {}{refused}", labels.join(", "))
        .trim_end_matches(": ")
        .to_owned()
}

/// A field's label, or its name when it has none.
pub(super) fn field_label(lang: Lang, field: &str) -> String {
    match label_for(lang, field) {
        generic if generic == lang.t("err_generic") => field.to_owned(),
        label => label.to_owned(),
    }
}

pub(super) async fn dashboard(
    State(state): State<AppState>,
    headers: HeaderMap,
    Query(q): Query<LangQuery>,
) -> Response {
    let page = page(&state, &headers, q.lang.as_deref());
    let Some(person) = signed_in_person(&state, &headers).await else {
        return Redirect::to("/signin").into_response();
    };
    render_dashboard(&state, &page, &person, None, &[]).await
}

/// Runs a dashboard form: checks session and CSRF, applies `action`, re-renders.
pub(super) async fn dashboard_form<F, Fut>(
    state: &AppState,
    headers: &HeaderMap,
    form: &HashMap<String, String>,
    action: F,
) -> Response
where
    F: FnOnce(SignedIn) -> Fut,
    Fut: std::future::Future<Output = Result<Option<String>, AccountError>>,
{
    let page = page(state, headers, None);
    let Some(person) = signed_in_person(state, headers).await else {
        return Redirect::to("/signin").into_response();
    };
    if !csrf_ok(headers, form) {
        return render_dashboard(
            state,
            &page,
            &person,
            None,
            &[page.lang.t("err_csrf").to_owned()],
        )
        .await;
    }
    match action(person.clone()).await {
        Ok(notice) => {
            render_dashboard(
                state,
                &page,
                &person,
                notice.or_else(|| Some(page.lang.t("saved").to_owned())),
                &[],
            )
            .await
        }
        Err(AccountError::BadCredentials) => {
            let lines = vec![format!(
                "{}: {}",
                page.lang.t("current_password"),
                page.lang.t("err_invalid_credentials")
            )];
            render_dashboard(state, &page, &person, None, &lines).await
        }
        Err(err) => {
            render_dashboard(state, &page, &person, None, &problem_lines(page.lang, &err)).await
        }
    }
}

pub(super) async fn profile_submit(
    State(state): State<AppState>,
    headers: HeaderMap,
    Form(form): Form<HashMap<String, String>>,
) -> Response {
    let update = ProfileUpdate {
        name: field(&form, "name"),
        company: field(&form, "company"),
        email: field(&form, "email"),
        phone: field(&form, "phone"),
        postal_address: address_from(&form),
        business_sector: field(&form, "business_sector"),
        interest: field(&form, "interest"),
    };
    let app = state.app.clone();
    dashboard_form(&state, &headers, &form, |person| async move {
        accounts::update_profile(&app, &person, &update)
            .await
            .map(|()| None)
    })
    .await
}

pub(super) async fn dismiss_policy_notice(
    State(state): State<AppState>,
    headers: HeaderMap,
    Form(form): Form<HashMap<String, String>>,
) -> Response {
    let version = form.get("version").cloned().unwrap_or_default();
    let app = state.app.clone();
    dashboard_form(&state, &headers, &form, |person| async move {
        datavow_core::policy_versions::dismiss_notice(&app, &person, &version, chrono::Utc::now())
            .await
            .map(|()| None)
    })
    .await
}

pub(super) async fn marketing_submit(
    State(state): State<AppState>,
    headers: HeaderMap,
    Form(form): Form<HashMap<String, String>>,
) -> Response {
    let opt_in = form.get("opt_in").is_some_and(|v| v == "yes");
    let app = state.app.clone();
    dashboard_form(&state, &headers, &form, |person| async move {
        accounts::set_marketing(&app, &person, opt_in)
            .await
            .map(|()| None)
    })
    .await
}

pub(super) async fn erasure_submit(
    State(state): State<AppState>,
    headers: HeaderMap,
    Form(form): Form<HashMap<String, String>>,
) -> Response {
    let page = page(&state, &headers, None);
    let Some(person) = signed_in_person(&state, &headers).await else {
        return Redirect::to("/signin").into_response();
    };
    if !csrf_ok(&headers, &form) {
        let errors = [page.lang.t("err_csrf").to_owned()];
        return render_dashboard(&state, &page, &person, None, &errors).await;
    }
    if form.get("confirm").is_none_or(|v| v != "yes") {
        let errors = [page.lang.t("erasure_confirm").to_owned()];
        return render_dashboard(&state, &page, &person, None, &errors).await;
    }
    match accounts::request_erasure(&state.app, &person).await {
        Ok(receipt) => erased_page(&state, &page, &receipt),
        Err(err) => {
            render_dashboard(
                &state,
                &page,
                &person,
                None,
                &problem_lines(page.lang, &err),
            )
            .await
        }
    }
}

/// What the person is told after their erasure (P14): what is gone, what is kept, on
/// which legal ground and until when. Their session cookie is cleared.
fn erased_page(state: &AppState, page: &Page, receipt: &accounts::ErasureReceipt) -> Response {
    let t = |k| page.lang.t(k);
    let result = &receipt.result;
    let body = html! {
        p role="status" { (t("erased_intro")) }
        ul id="erased" {
            @for category in &result.erased { li { (category_label(page.lang, category)) } }
        }
        @if result.kept.is_empty() {
            p { (t("erased_nothing_kept")) }
        } @else {
            p { (t("erased_kept")) }
            ul id="kept" {
                @for kept in &result.kept {
                    li {
                        (kept.categories.iter().map(|c| category_label(page.lang, c)).collect::<Vec<_>>().join(", "))
                        " — " (kept.legal_ground)
                        @if let Some(until) = &kept.until { " — " (t("erased_until")) " " (until.get(..10).unwrap_or(until)) }
                    }
                }
            }
        }
        p { (t("erased_request")) ": " code { (receipt.request.id) } }
    };
    let mut response = respond(
        page,
        StatusCode::OK,
        layout(page, t("erased_title"), false, body),
    );
    response
        .headers_mut()
        .append(header::SET_COOKIE, session_cookie(state, "", 0));
    response
}

/// A data category's name for people: its field labels where it has some.
fn category_label(lang: Lang, category: &str) -> String {
    match category {
        "identity" => format!("{}, {}", lang.t("name"), lang.t("company")),
        "contact" => format!("{}, {}", lang.t("email"), lang.t("phone")),
        "postal_address" => lang.t("postal_address").to_owned(),
        "business_profile" => lang.t("interest").to_owned(),
        "account_segment" => format!("{}, {}", lang.t("business_sector"), lang.t("country")),
        "age" => lang.t("birth_date").to_owned(),
        "credentials" => format!("{}, {}", lang.t("user_id"), lang.t("password")),
        "marketing_consent" => lang.t("marketing").to_owned(),
        other => other.replace('_', " "),
    }
}

pub(super) async fn password_submit(
    State(state): State<AppState>,
    headers: HeaderMap,
    Form(form): Form<HashMap<String, String>>,
) -> Response {
    let current = SecretString::from(form.get("current_password").cloned().unwrap_or_default());
    let new = SecretString::from(form.get("new_password").cloned().unwrap_or_default());
    let app = state.app.clone();
    let page_lang = page(&state, &headers, None).lang;
    dashboard_form(&state, &headers, &form, |person| async move {
        accounts::change_password(&app, &person, &current, &new)
            .await
            .map(|()| Some(page_lang.t("saved").to_owned()))
    })
    .await
}
