//! A real Datavow server on an ephemeral loopback port, and a client for it.

#![allow(dead_code)]

pub mod console;

use datavow_core::Datavow;
use datavow_store::testkit::TestStores;
use reqwest::StatusCode;
use serde_json::Value;

pub struct Server {
    pub base: String,
    pub app: Datavow,
    pub client: reqwest::Client,
}

/// Opens an instance over the test stores and serves it on 127.0.0.1:0.
pub async fn start(t: &TestStores) -> Server {
    start_with(t, |_| None).await
}

/// [`start`] behind a proxy on loopback: `X-Forwarded-For` from 127.0.0.1 is believed.
pub async fn start_behind_proxy(t: &TestStores) -> Server {
    let options = datavow_server::ServerOptions {
        trusted_proxies: vec!["127.0.0.1".parse().expect("ip")],
        ..Default::default()
    };
    start_with_options(t, |_| None, options).await
}

/// [`start`] with mail settings made from the server's own base URL.
pub async fn start_with(
    t: &TestStores,
    mail: impl FnOnce(&str) -> Option<datavow_core::mail::MailSettings>,
) -> Server {
    start_with_options(t, mail, Default::default()).await
}

/// [`start`] with other server options (connection limits, proxies).
pub async fn start_with_options(
    t: &TestStores,
    mail: impl FnOnce(&str) -> Option<datavow_core::mail::MailSettings>,
    server_options: datavow_server::ServerOptions,
) -> Server {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let base = format!("http://{}", listener.local_addr().expect("addr"));
    let mut options = datavow_core::testkit::options(t, None);
    options.mail = mail(&base);
    let app = Datavow::open(options).await.expect("open Datavow");
    app.publish_policy_file_texts()
        .await
        .expect("publish the policy file's text");
    tokio::spawn(datavow_server::serve(
        app.clone(),
        listener,
        server_options,
        std::future::pending(),
    ));
    Server {
        base,
        app,
        client: reqwest::Client::new(),
    }
}

impl Server {
    /// Signs a person up with `signup` and in; returns the sign-up answer (userID and
    /// one-time password) and the session token.
    pub async fn sign_up_and_in(&self, signup: &serde_json::Value) -> (serde_json::Value, String) {
        let (status, created) = self.post_json("/api/v1/accounts", None, signup).await;
        assert_eq!(status, reqwest::StatusCode::CREATED, "{created}");
        let (status, session) = self
            .post_json(
                "/api/v1/session",
                None,
                &serde_json::json!({"user_id": created["user_id"], "password": created["password"]}),
            )
            .await;
        assert_eq!(status, reqwest::StatusCode::OK, "{session}");
        let token = session["token"].as_str().expect("token").to_owned();
        (created, token)
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// Sends JSON (given as text, so malformed bodies can be sent too).
    pub async fn send(
        &self,
        method: reqwest::Method,
        path: &str,
        token: Option<&str>,
        body: Option<&str>,
    ) -> (StatusCode, String) {
        let mut request = self.client.request(method, self.url(path));
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        if let Some(body) = body {
            request = request
                .header("content-type", "application/json")
                .body(body.to_owned());
        }
        let response = request.send().await.expect("request");
        let status = response.status();
        (status, response.text().await.expect("body"))
    }

    /// A GET with a bearer token; the body parsed as JSON (`null` if it is not).
    pub async fn get(&self, token: &str, path: &str) -> (StatusCode, Value) {
        let (status, text) = self
            .send(reqwest::Method::GET, path, Some(token), None)
            .await;
        (status, serde_json::from_str(&text).unwrap_or(Value::Null))
    }

    /// A new operator's API token.
    pub async fn token(&self, name: &str, role: datavow_policy::Role) -> String {
        use secrecy::ExposeSecret;
        self.add_operator(name, role)
            .await
            .token
            .expose_secret()
            .to_owned()
    }

    /// Adds an operator; their one-time password and API token.
    pub async fn add_operator(
        &self,
        name: &str,
        role: datavow_policy::Role,
    ) -> datavow_core::operators::Credentials {
        datavow_core::operators::add(
            &self.app,
            &datavow_core::Principal::system("test"),
            name,
            role,
        )
        .await
        .expect("operator")
    }

    /// `POST /api/v1/admin/persons/search` with a raw body.
    pub async fn search(&self, token: &str, body: &str) -> (StatusCode, String) {
        self.send(
            reqwest::Method::POST,
            "/api/v1/admin/persons/search",
            Some(token),
            Some(body),
        )
        .await
    }

    pub async fn post_json(
        &self,
        path: &str,
        token: Option<&str>,
        body: &Value,
    ) -> (StatusCode, Value) {
        let (status, text) = self
            .send(reqwest::Method::POST, path, token, Some(&body.to_string()))
            .await;
        (status, serde_json::from_str(&text).unwrap_or(Value::Null))
    }
}

/// The CSRF token a page set in its `dv_csrf` cookie.
pub fn csrf_cookie(response: &reqwest::Response) -> String {
    response
        .headers()
        .get_all(reqwest::header::SET_COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|v| v.starts_with("dv_csrf="))
        .and_then(|v| v.split(';').next())
        .expect("a CSRF cookie")
        .trim_start_matches("dv_csrf=")
        .to_owned()
}
