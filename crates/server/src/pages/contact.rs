//! The contact form for visitors without an account (P1).

use super::*;

pub(super) fn contact_form(
    page: &Page,
    form: &HashMap<String, String>,
    errors: &[String],
) -> Markup {
    let lang = page.lang;
    let v = |k: &str| form.get(k).cloned();
    html! {
        (errors_box(lang, errors))
        form method="post" action="/contact" {
            input type="hidden" name="_csrf" value=(page.csrf);
            (text_input(lang, "name", "text", v("name").as_deref(), "name"))
            (text_input(lang, "company", "text", v("company").as_deref(), "organization"))
            (text_input(lang, "email", "email", v("email").as_deref(), "email"))
            (text_input(lang, "phone", "tel", v("phone").as_deref(), "tel"))
            label for="message" { (lang.t("message")) }
            textarea id="message" name="message" rows="6" maxlength="5000" { (v("message").unwrap_or_default()) }
            button type="submit" { (lang.t("send")) }
        }
    }
}

pub(super) async fn contact_page(
    State(state): State<AppState>,
    headers: HeaderMap,
    Query(q): Query<LangQuery>,
) -> Response {
    let page = page(&state, &headers, q.lang.as_deref());
    let signed_in = signed_in_person(&state, &headers).await.is_some();
    respond(
        &page,
        StatusCode::OK,
        layout(
            &page,
            page.lang.t("contact"),
            signed_in,
            contact_form(&page, &HashMap::new(), &[]),
        ),
    )
}

pub(super) async fn contact_submit(
    State(state): State<AppState>,
    headers: HeaderMap,
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
                lang.t("contact"),
                false,
                contact_form(&page, &form, &[lang.t("err_csrf").to_owned()]),
            ),
        );
    }
    let input = ContactInput {
        name: field(&form, "name"),
        company: field(&form, "company"),
        email: field(&form, "email"),
        phone: field(&form, "phone"),
        message: field(&form, "message"),
    };
    match accounts::contact(&state.app, &input).await {
        Ok(_) => respond(
            &page,
            StatusCode::OK,
            layout(
                &page,
                lang.t("contact"),
                false,
                html! { p class="notice" { (lang.t("contact_thanks")) } },
            ),
        ),
        Err(err) => {
            let mut shown = form.clone();
            shown.retain(|k, v| k == "_csrf" || !accounts::card_guard::contains_card_number(v));
            respond(
                &page,
                StatusCode::UNPROCESSABLE_ENTITY,
                layout(
                    &page,
                    lang.t("contact"),
                    false,
                    contact_form(&page, &shown, &problem_lines(lang, &err)),
                ),
            )
        }
    }
}
