//! Any bytes as the JSON body of every endpoint that takes one, sent through the whole
//! router to a real instance (SQLite in a temporary directory) with a signed-in person
//! and an admin operator: never a 5xx, and an error never repeats the body it refuses.
#![no_main]

use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::http::{Method, Request};
use libfuzzer_sys::fuzz_target;
use secrecy::ExposeSecret;
use std::sync::OnceLock;
use tower::ServiceExt;

struct Instance {
    runtime: tokio::runtime::Runtime,
    router: axum::Router,
    person_token: String,
    operator_token: String,
    person_id: String,
    _dir: tempfile::TempDir,
}

fn instance() -> &'static Instance {
    static INSTANCE: OnceLock<Instance> = OnceLock::new();
    INSTANCE.get_or_init(|| {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("runtime");
        let dir = tempfile::tempdir().expect("dir");
        let (router, person_token, operator_token, person_id) = runtime.block_on(async {
            let policy = datavow_policy::Policy::bundled().expect("policy");
            let app = datavow_core::Datavow::open(datavow_core::OpenOptions {
                data_dir: dir.path().to_owned(),
                location: datavow_core::StoreLocation::Sqlite { dir: dir.path().to_owned() },
                policy: std::sync::Arc::new(policy),
                master_key_file: None,
                mail: None,
            })
            .await
            .expect("open");
            let input: datavow_core::accounts::SignUpInput = serde_json::from_value(serde_json::json!({
                "name": "Fuzz Person", "email": "fuzz@example.de",
                "postal_address": {"street": "Witzlebenstraße 6", "postal_code": "14057", "city": "Berlin", "country": "DE"}
            }))
            .expect("input");
            let account = datavow_core::accounts::sign_up(&app, &input).await.expect("sign up");
            let session = datavow_core::accounts::sign_in(&app, &account.user_id, &account.password, "fuzz")
                .await
                .expect("sign in");
            let operator = datavow_core::operators::add(
                &app,
                &datavow_core::Principal::system("fuzz"),
                "fuzz-admin",
                datavow_policy::Role::Admin,
            )
            .await
            .expect("operator");
            (
                datavow_server::router(app, datavow_server::ServerOptions::default()),
                session.token.expose_secret().to_owned(),
                operator.token.expose_secret().to_owned(),
                account.person.to_string(),
            )
        });
        Instance { runtime, router, person_token, operator_token, person_id, _dir: dir }
    })
}

/// (method, path, who): 0 nobody, 1 the person, 2 the operator.
const ROUTES: [(Method, &str, u8); 13] = [
    (Method::POST, "/api/v1/accounts", 0),
    (Method::POST, "/api/v1/session", 0),
    (Method::POST, "/api/v1/contact", 0),
    (Method::POST, "/api/v1/recovery", 0),
    (Method::PATCH, "/api/v1/me", 1),
    (Method::POST, "/api/v1/me/password", 1),
    (Method::POST, "/api/v1/me/marketing", 1),
    (Method::POST, "/api/v1/admin/persons/search", 2),
    (Method::POST, "/api/v1/admin/marketing/campaigns", 2),
    (Method::POST, "/api/v1/admin/persons/{id}/invoices", 2),
    (Method::PUT, "/api/v1/admin/persons/{id}/marketing", 2),
    (Method::PUT, "/api/v1/admin/persons/{id}/payment-reference", 2),
    (Method::POST, "/api/v1/events", 2),
];

fuzz_target!(|data: &[u8]| {
    let Some((&pick, body)) = data.split_first() else { return };
    let it = instance();
    let (method, path, who) = &ROUTES[usize::from(pick) % ROUTES.len()];
    let path = path.replace("{id}", &it.person_id);
    let mut request = Request::builder()
        .method(method.clone())
        .uri(&path)
        .header("content-type", "application/json");
    match who {
        1 => request = request.header("authorization", format!("Bearer {}", it.person_token)),
        2 => request = request.header("authorization", format!("Bearer {}", it.operator_token)),
        _ => {}
    }
    let mut request = request.body(Body::from(body.to_vec())).expect("request");
    request
        .extensions_mut()
        .insert(ConnectInfo(std::net::SocketAddr::from(([192, 0, 2, 1], 40000))));
    let (status, answer) = it.runtime.block_on(async {
        let response = it.router.clone().oneshot(request).await.expect("infallible");
        let status = response.status();
        let bytes = axum::body::to_bytes(response.into_body(), 1 << 20).await.expect("body");
        (status, bytes)
    });
    assert!(!status.is_server_error(), "{path}: {status}");
    if !status.is_success() && body.len() >= 12 {
        assert!(
            !answer.windows(body.len()).any(|w| w == body),
            "{path}: the error repeats the body"
        );
    }
});
