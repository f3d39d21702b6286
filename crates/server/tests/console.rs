//! The operator console over real loopback HTTP, on both backends: sign-in with a
//! password and TOTP, replayed and wrong codes, recovery codes, sign-out, navigation
//! and 403s per role, the home page's requests, and that console and customer
//! sessions never open each other.

use datavow_core::persons::PersonKey;
use datavow_core::requests::{self, By};
use datavow_core::Principal;
use datavow_policy::Role;
use datavow_store::backend_tests;
use datavow_store::testkit::TestStores;
use reqwest::StatusCode;
use serde_json::json;

mod common;

use common::console::{browser, code, set_cookie};
use common::start;

fn location(response: &reqwest::Response) -> String {
    response.headers()["location"]
        .to_str()
        .expect("location")
        .to_owned()
}

/// Waits until the next 30-second TOTP step, so a fresh code is not the one just used.
async fn next_step() {
    let now = common::console::now_seconds();
    let wait = 30 - now % 30 + 1;
    tokio::time::sleep(std::time::Duration::from_secs(wait)).await;
}

async fn a_privacy_officer_signs_in_with_totp_and_wrong_replayed_or_used_codes_are_refused(
    t: TestStores,
) {
    let server = start(&t).await;
    let officer = server.console("olga", Role::PrivacyOfficer).await;
    let secret = officer
        .secret
        .clone()
        .expect("the role requires a second factor");
    assert_eq!(
        officer.recovery_codes.len(),
        10,
        "ten recovery codes shown once"
    );
    assert_eq!(officer.get("/admin/account").await.status(), StatusCode::OK);

    let response = server
        .console_password(&browser(), "olga", "not-the-password")
        .await;
    assert_eq!(
        response.status(),
        StatusCode::UNAUTHORIZED,
        "a wrong password"
    );
    let client = browser();

    // A second sign-in asks for a code, not for enrolment.
    let pending = start_second_sign_in(&server, &officer).await;
    let pending_cookie = format!("dv_console={pending}");
    // The pending session opens no page.
    let response = client
        .get(server.url("/admin"))
        .header("cookie", &pending_cookie)
        .send()
        .await
        .expect("home");
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&response), "/admin/second-factor");
    let submit = |code: String| second_factor(&server, &pending, code);
    // The code used at enrolment is spent: replaying it is refused (same 30 s step).
    let enrolment_code = code(&secret);
    let replay = submit(enrolment_code.clone()).await;
    let replay_refused = replay.status() == StatusCode::UNAUTHORIZED;
    let wrong = submit(if enrolment_code == "000000" {
        "111111".into()
    } else {
        "000000".into()
    })
    .await;
    assert_eq!(wrong.status(), StatusCode::UNAUTHORIZED, "a wrong code");
    assert!(wrong
        .text()
        .await
        .expect("html")
        .contains("wrong, expired or already used"));
    if replay_refused {
        next_step().await;
    } else {
        panic!("a code already used at enrolment was accepted again");
    }
    let good = submit(code(&secret)).await;
    assert_eq!(good.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&good), "/admin");
    let signed_in = set_cookie(&good, "dv_console").expect("a new session cookie");
    assert_ne!(
        signed_in, pending_cookie,
        "the token changes at the second factor"
    );
    let home = client
        .get(server.url("/admin"))
        .header("cookie", &signed_in)
        .send()
        .await
        .expect("home");
    assert_eq!(home.status(), StatusCode::OK);
    let stale = client
        .get(server.url("/admin"))
        .header("cookie", &pending_cookie)
        .send()
        .await
        .expect("home");
    assert_eq!(
        location(&stale),
        "/admin/signin",
        "the pre-second-factor token is dead"
    );

    // The same code again, in a new sign-in: refused as a replay.
    let pending = start_second_sign_in(&server, &officer).await;
    let status = second_factor(&server, &pending, code(&secret))
        .await
        .status();
    assert_eq!(status, StatusCode::UNAUTHORIZED, "a code is accepted once");
    // A recovery code works once, typed loosely.
    let recovery = officer.recovery_codes[0].to_uppercase().replace('-', " ");
    let status = second_factor(&server, &pending, &recovery).await.status();
    assert_eq!(status, StatusCode::SEE_OTHER);
    let pending = start_second_sign_in(&server, &officer).await;
    let status = second_factor(&server, &pending, &officer.recovery_codes[0])
        .await
        .status();
    assert_eq!(status, StatusCode::UNAUTHORIZED, "a recovery code is spent");
    let secrets_at_rest = t.raw_places_containing(secret.as_bytes()).await;
    assert!(
        secrets_at_rest.is_empty(),
        "TOTP secret stored in the clear: {secrets_at_rest:?}"
    );
}

/// Signs in again with the console's operator's password; returns the pending
/// session's token (the second factor is next).
async fn start_second_sign_in(
    server: &common::Server,
    console: &common::console::Console,
) -> String {
    let response = server
        .console_password(&browser(), &console.name, &console.password)
        .await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&response), "/admin/second-factor");
    set_cookie(&response, "dv_console")
        .expect("cookie")
        .trim_start_matches("dv_console=")
        .to_owned()
}

async fn second_factor(
    server: &common::Server,
    pending: &str,
    code: impl AsRef<str>,
) -> reqwest::Response {
    let client = browser();
    let cookie = format!("dv_console={pending}");
    let page = client
        .get(server.url("/admin/second-factor"))
        .header("cookie", &cookie)
        .send()
        .await
        .expect("page");
    let status = page.status();
    let location = page.headers().get("location").cloned();
    let page = page.text().await.expect("html");
    let csrf = common::console::attr_value(&page, "name=\"_csrf\"")
        .unwrap_or_else(|| panic!("no code form: {status} {location:?} {page}"));
    client
        .post(server.url("/admin/second-factor"))
        .header("cookie", &cookie)
        .form(&[("_csrf", csrf.as_str()), ("code", code.as_ref())])
        .send()
        .await
        .expect("code")
}

async fn a_support_operator_sees_no_privacy_officer_navigation_and_gets_403_on_its_pages(
    t: TestStores,
) {
    let server = start(&t).await;
    let support = server.console("sam", Role::Support).await;
    assert!(
        support.secret.is_none(),
        "a second factor is optional for support"
    );
    let html = support.get("/admin").await.text().await.expect("html");
    assert!(
        html.contains("href=\"/admin/requests\""),
        "support answers requests"
    );
    assert!(
        !html.contains("href=\"/admin/access-log\""),
        "no privacy-officer navigation: {html}"
    );
    assert!(!html.contains("href=\"/admin/marketing\""));
    for path in ["/admin/access-log", "/admin/marketing"] {
        assert_eq!(
            support.get(path).await.status(),
            StatusCode::FORBIDDEN,
            "{path}"
        );
    }
    let response = support
        .post("/admin/access-log", &[("email", "x@example.dk")])
        .await;
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    let officer = server.console("olga", Role::PrivacyOfficer).await;
    let html = officer.get("/admin").await.text().await.expect("html");
    assert!(html.contains("href=\"/admin/access-log\""), "{html}");
    assert_eq!(
        officer.get("/admin/access-log").await.status(),
        StatusCode::OK
    );
    // The same pages in German and Danish.
    for (lang, word) in [
        ("de", "Anfragen betroffener Personen"),
        ("da", "Anmodninger fra registrerede"),
    ] {
        let response = officer
            .client
            .get(server.url("/admin"))
            .header("cookie", format!("{}; dv_lang={lang}", officer.cookie))
            .send()
            .await
            .expect("home");
        let html = response.text().await.expect("html");
        assert!(
            html.contains(word) && html.contains(&format!("lang=\"{lang}\"")),
            "{lang}: {html}"
        );
    }
}

async fn an_overdue_request_shows_on_the_home_page_and_a_new_one_is_registered_from_the_console(
    t: TestStores,
) {
    let server = start(&t).await;
    let signup = json!({"name": "Ida Holm", "email": "ida.holm@example.dk", "company": "Holm ApS",
        "phone": "+4531234567", "postal_address": {"street": "Agern Allé 24", "postal_code": "2970",
        "city": "Hørsholm", "country": "DK"}, "business_sector": "hosting_and_cloud", "interest": "colocation"});
    let (_, _) = server.sign_up_and_in(&signup).await;
    let received = chrono::Utc::now() - chrono::Duration::days(40);
    let overdue = requests::register(
        &server.app,
        By::Owner(&Principal::system("test")),
        &PersonKey::Email("ida.holm@example.dk".into()),
        "access",
        received,
        "letter",
    )
    .await
    .expect("register");
    let officer = server.console("olga", Role::PrivacyOfficer).await;
    let html = officer.get("/admin").await.text().await.expect("html");
    let short = &overdue.id.to_string()[..8];
    assert!(
        html.contains("class=\"overdue\"") && html.contains(short),
        "{html}"
    );
    assert!(
        !html.contains("ida.holm"),
        "the home page shows no personal data"
    );
    // Register one from the console, then close the overdue one.
    let response = officer
        .post(
            "/admin/requests",
            &[
                ("email", "ida.holm@example.dk"),
                ("kind", "rectification"),
                ("channel", "phone"),
            ],
        )
        .await;
    assert_eq!(response.status(), StatusCode::CREATED);
    let open = requests::open(&server.app, By::Owner(&Principal::system("test")))
        .await
        .expect("open");
    assert_eq!(open.len(), 2);
    let fresh = open
        .iter()
        .find(|r| r.kind == "rectification")
        .expect("registered");
    assert!(!fresh.overdue(chrono::Utc::now()));
    // Extend it from the console: two months at most in all, with a reason.
    let path = format!("/admin/requests/{}/extend", fresh.id);
    let response = officer
        .post(
            &path,
            &[("months", "2"), ("reason", "archived tickets to search")],
        )
        .await;
    assert_eq!(response.status(), StatusCode::OK);
    let html = response.text().await.expect("html");
    assert!(
        html.contains("Extended request") && html.contains("tell the person yourself"),
        "no mail set up: {html}"
    );
    let response = officer
        .post(&path, &[("months", "1"), ("reason", "more")])
        .await;
    assert_eq!(
        response.status(),
        StatusCode::BAD_REQUEST,
        "past the two months"
    );
    let response = officer
        .post(&path, &[("months", "1"), ("reason", "")])
        .await;
    assert_eq!(
        response.status(),
        StatusCode::BAD_REQUEST,
        "a reason is needed"
    );
    let response = officer
        .post(
            &format!("/admin/requests/{}/close", overdue.id),
            &[("status", "completed")],
        )
        .await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    let html = officer.get("/admin").await.text().await.expect("html");
    assert!(
        !html.contains(short),
        "a closed request leaves the home page"
    );
    // A billing operator may not see or register requests.
    let billing = server.console("bill", Role::Billing).await;
    assert_eq!(
        billing.get("/admin/requests").await.status(),
        StatusCode::FORBIDDEN
    );
}

async fn console_and_customer_sessions_never_open_each_other(t: TestStores) {
    let server = start(&t).await;
    let signup = json!({"name": "Ida Holm", "email": "ida.holm@example.dk", "company": "Holm ApS",
        "phone": "+4531234567", "postal_address": {"street": "Agern Allé 24", "postal_code": "2970",
        "city": "Hørsholm", "country": "DK"}, "business_sector": "hosting_and_cloud", "interest": "colocation"});
    let (_, customer) = server.sign_up_and_in(&signup).await;
    let support = server.console("sam", Role::Support).await;
    let operator_token = support.cookie.trim_start_matches("dv_console=").to_owned();
    // The operator's console token on the customer API and dashboard.
    let (status, _) = server.get(&operator_token, "/api/v1/me").await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let dashboard = browser()
        .get(server.url("/dashboard"))
        .header("cookie", format!("dv_session={operator_token}"))
        .send()
        .await
        .expect("dashboard");
    assert_ne!(
        dashboard.status(),
        StatusCode::OK,
        "a console token is no customer session"
    );
    // The customer's session on the console.
    for cookie in [
        format!("dv_console={customer}"),
        format!("dv_session={customer}"),
    ] {
        let response = browser()
            .get(server.url("/admin"))
            .header("cookie", &cookie)
            .send()
            .await
            .expect("console");
        assert_eq!(location(&response), "/admin/signin", "{cookie}");
    }
    // The console cookie is scoped to /admin and strict.
    let password = server.operator_password("sue", Role::Support).await;
    let response = server.console_password(&browser(), "sue", &password).await;
    let header = response
        .headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|v| v.starts_with("dv_console="))
        .expect("cookie")
        .to_owned();
    assert!(
        header.contains("Path=/admin")
            && header.contains("HttpOnly")
            && header.contains("SameSite=Strict"),
        "{header}"
    );
}

async fn sign_out_needs_its_token_and_ends_the_session_and_reset_2fa_makes_the_operator_enrol_again(
    t: TestStores,
) {
    let server = start(&t).await;
    let officer = server.console("olga", Role::PrivacyOfficer).await;
    // A cross-site form without the token does not end the session.
    let response = officer
        .client
        .post(server.url("/admin/signout"))
        .header("cookie", &officer.cookie)
        .form(&[("_csrf", "forged")])
        .send()
        .await
        .expect("sign out");
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    assert_eq!(officer.get("/admin").await.status(), StatusCode::OK);
    let response = officer.post("/admin/signout", &[]).await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(location(&officer.get("/admin").await), "/admin/signin");

    let other = server.console("oscar", Role::PrivacyOfficer).await;
    let had = datavow_core::console::sign_in::reset_second_factor(
        &server.app,
        &Principal::system("test"),
        "oscar",
    )
    .await
    .expect("reset");
    assert!(had);
    assert_eq!(
        location(&other.get("/admin").await),
        "/admin/signin",
        "sessions end at a reset"
    );
    let response = server
        .console_password(&browser(), "oscar", &other.password)
        .await;
    assert_eq!(
        location(&response),
        "/admin/enrol",
        "after a reset the operator enrols again"
    );
    let log = server.app.audit_log().verify().await.expect("verify");
    assert!(log.broken.is_none());
}

fn token_hash(console: &common::console::Console) -> Vec<u8> {
    use sha2::Digest;
    sha2::Sha256::digest(console.cookie.trim_start_matches("dv_console=").as_bytes()).to_vec()
}

async fn an_idle_or_too_old_console_session_ends_and_forms_without_their_token_are_refused(
    t: TestStores,
) {
    let server = start(&t).await;
    let stores = server.app.stores().clone();
    let idle = server.console("sam", Role::Support).await;
    // A form without the session's token changes nothing.
    let response = idle
        .client
        .post(server.url("/admin/requests"))
        .header("cookie", &idle.cookie)
        .form(&[
            ("_csrf", "0123456789abcdef0123456789abcdef"),
            ("email", "x@example.dk"),
            ("kind", "access"),
        ])
        .send()
        .await
        .expect("post");
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    // 31 minutes without a request: the policy's idle time-out is 30.
    let now = chrono::Utc::now().timestamp_micros();
    stores
        .console
        .touch_operator_session(&token_hash(&idle), now - 31 * 60 * 1_000_000)
        .await
        .expect("age the session");
    assert_eq!(
        location(&idle.get("/admin").await),
        "/admin/signin",
        "idle time-out"
    );
    // Active, but signed in more than 12 hours ago.
    let old = server.console("sue", Role::Support).await;
    let hash = token_hash(&old);
    let mut row = stores
        .console
        .operator_session(&hash)
        .await
        .expect("read")
        .expect("session");
    stores
        .console
        .delete_operator_session(&hash)
        .await
        .expect("delete");
    row.expires_at_micros = now - 1;
    stores
        .console
        .insert_operator_session(&hash, &row)
        .await
        .expect("insert");
    assert_eq!(
        location(&old.get("/admin").await),
        "/admin/signin",
        "absolute time-out"
    );
    // A disabled operator's session ends at once.
    let gone = server.console("gus", Role::Support).await;
    datavow_core::operators::disable(&server.app, &Principal::system("test"), "gus")
        .await
        .expect("disable");
    assert_eq!(
        location(&gone.get("/admin").await),
        "/admin/signin",
        "disabled"
    );
}

async fn wrong_passwords_are_throttled_like_customers_and_a_collector_has_no_console(
    t: TestStores,
) {
    let server = start(&t).await;
    let password = server.operator_password("sam", Role::Support).await;
    for _ in 0..5 {
        let response = server
            .console_password(&browser(), "sam", "wrong-password")
            .await;
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    }
    let response = server.console_password(&browser(), "sam", &password).await;
    assert_eq!(
        response.status(),
        StatusCode::TOO_MANY_REQUESTS,
        "even the right password waits"
    );
    let html = response.text().await.expect("html");
    assert!(html.contains("try again in 15 minutes"), "{html}");
    let collector = server.operator_password("web-tier", Role::Collector).await;
    let response = server
        .console_password(&browser(), "web-tier", &collector)
        .await;
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    assert!(
        set_cookie(&response, "dv_console").is_none(),
        "no session for a machine account"
    );
}

async fn the_person_page_records_a_phone_consent_and_erases_a_flagged_child_only_when_confirmed(
    t: TestStores,
) {
    let server = start(&t).await;
    let signup = json!({"name": "Ida Holm", "email": "ida.kid@example.dk", "company": "Holm ApS",
        "phone": "+4531234567", "postal_address": {"street": "Agern Allé 24", "postal_code": "2970",
        "city": "Hørsholm", "country": "DK"}, "business_sector": "hosting_and_cloud", "interest": "colocation"});
    server.sign_up_and_in(&signup).await;
    let support = server.console("sam", Role::Support).await;
    let view = || {
        support.post(
            "/admin/person",
            &[("email", "ida.kid@example.dk"), ("purpose", "requests")],
        )
    };
    let html = view().await.text().await.expect("html");
    assert!(
        html.contains("id=\"person-actions\"") && html.contains("id=\"flag-child\""),
        "{html}"
    );
    let person = common::console::element_text(&html, "person-id").expect("person id");
    let response = support
        .post(
            &format!("/admin/person/{person}/marketing"),
            &[("opt_in", "yes")],
        )
        .await;
    assert_eq!(response.status(), StatusCode::OK);
    let html = view().await.text().await.expect("html");
    assert!(
        html.contains("opted_in@") && html.contains("how=operator"),
        "the phone consent shows: {html}"
    );
    // The billing role sees no actions and may not take them.
    let billing = server.console("bill", Role::Billing).await;
    let response = billing
        .post(
            &format!("/admin/person/{person}/child"),
            &[("confirm", "yes")],
        )
        .await;
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    // Unconfirmed: nothing happens.
    let response = support
        .post(&format!("/admin/person/{person}/child"), &[])
        .await;
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    assert_eq!(view().await.status(), StatusCode::OK, "still there");
    let response = support
        .post(
            &format!("/admin/person/{person}/child"),
            &[("confirm", "yes")],
        )
        .await;
    assert_eq!(response.status(), StatusCode::OK);
    assert!(response
        .text()
        .await
        .expect("html")
        .contains("id=\"child-erased\""));
    assert_eq!(
        view().await.status(),
        StatusCode::NOT_FOUND,
        "erased at once"
    );
}

backend_tests!(
    a_privacy_officer_signs_in_with_totp_and_wrong_replayed_or_used_codes_are_refused,
    a_support_operator_sees_no_privacy_officer_navigation_and_gets_403_on_its_pages,
    an_overdue_request_shows_on_the_home_page_and_a_new_one_is_registered_from_the_console,
    console_and_customer_sessions_never_open_each_other,
    sign_out_needs_its_token_and_ends_the_session_and_reset_2fa_makes_the_operator_enrol_again,
    an_idle_or_too_old_console_session_ends_and_forms_without_their_token_are_refused,
    wrong_passwords_are_throttled_like_customers_and_a_collector_has_no_console,
    the_person_page_records_a_phone_consent_and_erases_a_flagged_child_only_when_confirmed,
);

mod statistics {
    use super::*;
    use datavow_core::browser::{BrowserIngest, Format, InputFormat};

    const FIREFOX: &str = "Mozilla/5.0 (X11; Linux x86_64; rv:121.0) Gecko/20100101 Firefox/121.0";

    async fn ingest_day(server: &common::Server, day: chrono::DateTime<chrono::Utc>) {
        let mut log = String::new();
        for v in 0..120u32 {
            for path in ["/", "/pricing"].iter().take(if v < 40 { 2 } else { 1 }) {
                log.push_str(&format!(
                    "198.51.100.{} - - [{}] \"GET {path} HTTP/1.1\" 200 512 \"-\" \"{FIREFOX}\"\n",
                    v,
                    day.format("%d/%b/%Y:%H:%M:%S +0000")
                ));
            }
        }
        BrowserIngest::new(&server.app, None, None)
            .ingest(
                &Principal::system("test"),
                Box::new(std::io::Cursor::new(log.into_bytes())),
                InputFormat::named(Format::Combined).expect("format"),
                std::sync::Arc::default(),
            )
            .await
            .expect("ingest");
    }

    async fn the_statistics_page_draws_an_svg_chart_with_its_numbers_and_a_csv(t: TestStores) {
        let server = start(&t).await;
        let yesterday = chrono::Utc::now() - chrono::Duration::days(1);
        ingest_day(&server, yesterday).await;
        let day = yesterday.date_naive();
        let admin = server.console("adam", Role::Admin).await;
        let html = admin.get("/admin").await.text().await.expect("html");
        assert!(
            html.contains("href=\"/admin/stats\""),
            "admins see statistics"
        );
        let response = admin
            .get(&format!("/admin/stats?report=pages&from={day}&to={day}"))
            .await;
        assert_eq!(response.status(), StatusCode::OK);
        let csp = response.headers()["content-security-policy"]
            .to_str()
            .expect("csp")
            .to_owned();
        let html = response.text().await.expect("html");
        assert!(html.contains("<svg") && html.contains("/pricing"), "{html}");
        assert!(
            html.contains("<td>120</td>") && html.contains("<td>40</td>"),
            "numbers beside the chart: {html}"
        );
        assert!(
            !html.contains("<script") && !html.contains("198.51.100"),
            "{html}"
        );
        assert!(
            !html.contains(" style=\""),
            "the chart needs no inline style the CSP would block: {csp}"
        );
        let csv = admin
            .get(&format!(
                "/admin/stats.csv?report=visits&from={day}&to={day}"
            ))
            .await;
        assert_eq!(csv.status(), StatusCode::OK);
        assert!(csv.headers()["content-type"]
            .to_str()
            .expect("type")
            .starts_with("text/csv"));
        let text = csv.text().await.expect("csv");
        assert_eq!(text, format!("day,visits,visitors\r\n{day},160,120\r\n"));
        let bad = admin.get("/admin/stats?report=pages&from=yesterday").await;
        assert_eq!(bad.status(), StatusCode::BAD_REQUEST);
        let unknown = admin.get("/admin/stats.csv?report=ip-addresses").await;
        assert_eq!(unknown.status(), StatusCode::BAD_REQUEST);
        assert!(unknown.text().await.expect("json").contains("\"error\""));
        let support = server.console("sam", Role::Support).await;
        assert_eq!(
            support.get("/admin/stats").await.status(),
            StatusCode::FORBIDDEN
        );
        assert_eq!(
            support.get("/admin/stats.csv?report=visits").await.status(),
            StatusCode::FORBIDDEN
        );
    }

    async fn the_accounts_report_charts_entity_sector_and_country_and_never_shows_a_person(
        t: TestStores,
    ) {
        use datavow_core::accounts::{self, validate::PostalAddress, SignUpInput};
        let server = start(&t).await;
        for (country, code, sector, email) in [
            ("DE", "10115", "software", "kunde.eins@example.de"),
            ("DK", "2970", "software", "kunde.to@example.dk"),
            ("DK", "8000", "health", "kunde.tre@example.dk"),
        ] {
            accounts::sign_up(
                &server.app,
                &SignUpInput {
                    name: Some("Vibeke Statistik".into()),
                    email: Some(email.into()),
                    postal_address: Some(PostalAddress {
                        street: "Strandvejen 17".into(),
                        postal_code: code.into(),
                        city: "Aarhus".into(),
                        country: country.into(),
                    }),
                    business_sector: Some(sector.into()),
                    ..SignUpInput::default()
                },
            )
            .await
            .expect("sign up");
        }
        let admin = server.console("adam", Role::Admin).await;
        let response = admin.get("/admin/stats?report=accounts").await;
        assert_eq!(response.status(), StatusCode::OK);
        let html = response.text().await.expect("html");
        for chart in ["chart-entity", "chart-sector", "chart-country"] {
            assert!(html.contains(&format!("id=\"{chart}\"")), "{chart}: {html}");
        }
        assert!(
            html.contains("Business sector") && html.contains("<svg"),
            "{html}"
        );
        assert!(
            html.contains("<td>sector:software</td><td>2</td>")
                && html.contains("<td>country:DK</td><td>2</td>"),
            "numbers beside the charts: {html}"
        );
        for personal in ["Vibeke", "example.d", "Strandvejen", "8000", "Aarhus"] {
            assert!(!html.contains(personal), "{personal} shown: {html}");
        }
        let csv = admin.get("/admin/stats.csv?report=accounts").await;
        assert_eq!(csv.status(), StatusCode::OK);
        let text = csv.text().await.expect("csv");
        assert!(text.starts_with("value,accounts\r\n"), "{text}");
        for line in [
            "entity:asergo_scandinavia,2",
            "entity:asergo_europe,1",
            "sector:software,2",
            "sector:health,1",
            "country:DK,2",
            "country:DE,1",
        ] {
            assert!(text.contains(&format!("{line}\r\n")), "{line}: {text}");
        }
    }

    backend_tests!(
        the_statistics_page_draws_an_svg_chart_with_its_numbers_and_a_csv,
        the_accounts_report_charts_entity_sector_and_country_and_never_shows_a_person,
    );
}
