//! Sign-up, sign-in and sign-out pages (P1, P2).

use super::*;

pub(super) async fn home(
    State(state): State<AppState>,
    headers: HeaderMap,
    Query(q): Query<LangQuery>,
) -> Response {
    let page = page(&state, &headers, q.lang.as_deref());
    if signed_in_person(&state, &headers).await.is_some() {
        return Redirect::to("/dashboard").into_response();
    }
    let t = |k| page.lang.t(k);
    let body = html! {
        p { (page.text("intro")) }
        p { a href="/signup" { (t("sign_up")) } " · " a href="/signin" { (t("sign_in")) } }
    };
    respond(
        &page,
        StatusCode::OK,
        layout(&page, &page.text("title"), false, body),
    )
}

pub(super) fn signup_form(
    page: &Page,
    state: &AppState,
    form: &HashMap<String, String>,
    errors: &[String],
) -> Markup {
    let lang = page.lang;
    let v = |k: &str| form.get(k).cloned();
    html! {
        (errors_box(lang, errors))
        form method="post" action="/signup" {
            input type="hidden" name="_csrf" value=(page.csrf);
            (text_input(lang, "name", "text", v("name").as_deref(), "name"))
            (text_input(lang, "company", "text", v("company").as_deref(), "organization"))
            (text_input(lang, "email", "email", v("email").as_deref(), "email"))
            (text_input(lang, "phone", "tel", v("phone").as_deref(), "tel"))
            fieldset {
                legend { (lang.t("postal_address")) }
                (text_input(lang, "street", "text", v("street").as_deref(), "street-address"))
                (text_input(lang, "postal_code", "text", v("postal_code").as_deref(), "postal-code"))
                (text_input(lang, "city", "text", v("city").as_deref(), "address-level2"))
                (text_input(lang, "country", "text", v("country").as_deref(), "country"))
            }
            label for="business_sector" { (lang.t("business_sector")) }
            select id="business_sector" name="business_sector" {
                option value="" { "—" }
                @for sector in &state.app.policy.business_sectors {
                    option value=(sector) selected[v("business_sector").as_deref() == Some(sector.as_str())] { (sector.replace('_', " ")) }
                }
            }
            label for="interest" { (lang.t("interest")) }
            textarea id="interest" name="interest" rows="3" maxlength="2000" { (v("interest").unwrap_or_default()) }
            (text_input(lang, "birth_date", "date", v("birth_date").as_deref(), "bday"))
            label {
                input type="checkbox" name="marketing_opt_in" value="yes" checked[v("marketing_opt_in").is_some()];
                " " (lang.t("marketing_opt_in"))
            }
            p { a href="/privacy" { (lang.t("privacy")) } }
            button type="submit" { (lang.t("submit_sign_up")) }
        }
    }
}

pub(super) async fn signup_page(
    State(state): State<AppState>,
    headers: HeaderMap,
    Query(q): Query<LangQuery>,
) -> Response {
    let page = page(&state, &headers, q.lang.as_deref());
    let body = signup_form(&page, &state, &HashMap::new(), &[]);
    respond(
        &page,
        StatusCode::OK,
        layout(&page, page.lang.t("sign_up"), false, body),
    )
}

pub(super) fn address_from(form: &HashMap<String, String>) -> Option<PostalAddress> {
    let parts = ["street", "postal_code", "city", "country"].map(|k| field(form, k));
    parts.iter().any(Option::is_some).then(|| {
        let [street, postal_code, city, country] = parts.map(Option::unwrap_or_default);
        PostalAddress {
            street,
            postal_code,
            city,
            country,
        }
    })
}

pub(super) async fn signup_submit(
    State(state): State<AppState>,
    headers: HeaderMap,
    Form(form): Form<HashMap<String, String>>,
) -> Response {
    let page = page(&state, &headers, None);
    let lang = page.lang;
    if !csrf_ok(&headers, &form) {
        let body = signup_form(&page, &state, &form, &[lang.t("err_csrf").to_owned()]);
        return respond(
            &page,
            StatusCode::FORBIDDEN,
            layout(&page, lang.t("sign_up"), false, body),
        );
    }
    let input = SignUpInput {
        name: field(&form, "name"),
        company: field(&form, "company"),
        email: field(&form, "email"),
        phone: field(&form, "phone"),
        postal_address: address_from(&form),
        business_sector: field(&form, "business_sector"),
        interest: field(&form, "interest"),
        birth_date: field(&form, "birth_date"),
        marketing_opt_in: Some(form.contains_key("marketing_opt_in")),
        entity: None,
    };
    match accounts::sign_up(&state.app, &input).await {
        Ok(account) => {
            let body = html! {
                p class="notice" { (lang.t("credentials_once")) }
                dl {
                    dt { (lang.t("user_id")) }
                    dd { span id="user-id" class="secret" { (account.user_id) } }
                    dt { (lang.t("password")) }
                    dd { span id="password" class="secret" { (account.password.expose_secret()) } }
                }
                p { a href="/signin" { (lang.t("sign_in")) } }
            };
            respond(
                &page,
                StatusCode::CREATED,
                layout(&page, lang.t("sign_up"), false, body),
            )
        }
        Err(err) => {
            let mut shown = form.clone();
            if matches!(err, AccountError::CardNumber) {
                // Never send a card number back, not even to its owner.
                shown.retain(|k, v| k == "_csrf" || !accounts::card_guard::contains_card_number(v));
            }
            let body = signup_form(&page, &state, &shown, &problem_lines(lang, &err));
            respond(
                &page,
                if err.is_unavailable() {
                    StatusCode::SERVICE_UNAVAILABLE
                } else {
                    StatusCode::UNPROCESSABLE_ENTITY
                },
                layout(&page, lang.t("sign_up"), false, body),
            )
        }
    }
}

pub(super) fn signin_form(page: &Page, errors: &[String]) -> Markup {
    let lang = page.lang;
    html! {
        (errors_box(lang, errors))
        form method="post" action="/signin" {
            input type="hidden" name="_csrf" value=(page.csrf);
            label for="user_id" { (lang.t("user_id")) }
            input id="user_id" name="user_id" type="text" autocomplete="username";
            label for="password" { (lang.t("password")) }
            input id="password" name="password" type="password" autocomplete="current-password";
            button type="submit" { (lang.t("sign_in")) }
        }
        p { a href="/recover" { (lang.t("recover")) } }
    }
}

pub(super) async fn signin_page(
    State(state): State<AppState>,
    headers: HeaderMap,
    Query(q): Query<LangQuery>,
) -> Response {
    let page = page(&state, &headers, q.lang.as_deref());
    respond(
        &page,
        StatusCode::OK,
        layout(
            &page,
            page.lang.t("sign_in"),
            false,
            signin_form(&page, &[]),
        ),
    )
}

pub(super) async fn signin_submit(
    State(state): State<AppState>,
    headers: HeaderMap,
    client: ClientAddr,
    Form(form): Form<HashMap<String, String>>,
) -> Response {
    let page = page(&state, &headers, None);
    let lang = page.lang;
    if !csrf_ok(&headers, &form) {
        return respond(
            &page,
            StatusCode::FORBIDDEN,
            layout(
                &page,
                lang.t("sign_in"),
                false,
                signin_form(&page, &[lang.t("err_csrf").to_owned()]),
            ),
        );
    }
    let user_id = field(&form, "user_id").unwrap_or_default();
    let password = SecretString::from(form.get("password").cloned().unwrap_or_default());
    match accounts::sign_in(&state.app, &user_id, &password, &client.key()).await {
        Ok(session) => {
            let cookie = session_cookie(
                &state,
                session.token.expose_secret(),
                accounts::SESSION_LIFETIME.as_secs() as i64,
            );
            let mut response = Redirect::to("/dashboard").into_response();
            response.headers_mut().append(header::SET_COOKIE, cookie);
            response
        }
        Err(err) => {
            let status = if matches!(err, AccountError::TooManyAttempts(_)) {
                StatusCode::TOO_MANY_REQUESTS
            } else if err.is_unavailable() {
                StatusCode::SERVICE_UNAVAILABLE
            } else {
                StatusCode::UNAUTHORIZED
            };
            respond(
                &page,
                status,
                layout(
                    &page,
                    lang.t("sign_in"),
                    false,
                    signin_form(&page, &problem_lines(lang, &err)),
                ),
            )
        }
    }
}

pub(super) async fn signout(
    State(state): State<AppState>,
    headers: HeaderMap,
    Form(form): Form<HashMap<String, String>>,
) -> Response {
    if !csrf_ok(&headers, &form) {
        // A sign-out posted from another site changes nothing (neither the session nor
        // the cookie); the page offers the button again.
        let page = page(&state, &headers, None);
        let lang = page.lang;
        let body = html! {
            (errors_box(lang, &[lang.t("err_csrf").to_owned()]))
            form method="post" action="/signout" {
                input type="hidden" name="_csrf" value=(page.csrf);
                button type="submit" { (lang.t("sign_out")) }
            }
        };
        let signed_in = signed_in_person(&state, &headers).await.is_some();
        return respond(
            &page,
            StatusCode::FORBIDDEN,
            layout(&page, lang.t("sign_out"), signed_in, body),
        );
    }
    if let Some(token) = cookie(&headers, SESSION_COOKIE) {
        let _ = accounts::sign_out(&state.app, &token).await;
    }
    let mut response = Redirect::to("/").into_response();
    response
        .headers_mut()
        .append(header::SET_COOKIE, session_cookie(&state, "", 0));
    response
}
