//! Signing in to the operator console over HTTP, as a browser would: password, then
//! the TOTP enrolment or code, with the test playing the authenticator app.

use super::Server;
use reqwest::StatusCode;

/// A browser's view of one console session.
pub struct Console {
    pub name: String,
    pub password: String,
    pub client: reqwest::Client,
    pub base: String,
    /// `dv_console=…`
    pub cookie: String,
    /// The session's CSRF token, from a page's form.
    pub csrf: String,
    /// The TOTP secret, when the operator enrolled one.
    pub secret: Option<String>,
    pub recovery_codes: Vec<String>,
}

/// A client that does not follow redirects, so each step's answer is seen.
pub fn browser() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("client")
}

pub fn set_cookie(response: &reqwest::Response, name: &str) -> Option<String> {
    response
        .headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|v| v.starts_with(&format!("{name}=")))
        .and_then(|v| v.split(';').next())
        .map(str::to_owned)
}

/// The value of `<input … name="NAME" value="…">` or of an element with `id`.
pub fn attr_value(html: &str, marker: &str) -> Option<String> {
    let at = html.find(marker)?;
    let rest = &html[at..];
    let start = rest.find("value=\"")? + 7;
    Some(rest[start..].split('"').next()?.to_owned())
}

pub fn element_text(html: &str, id: &str) -> Option<String> {
    let at = html.find(&format!("id=\"{id}\""))?;
    let rest = &html[at..];
    let start = rest.find('>')? + 1;
    Some(rest[start..].split('<').next()?.trim().to_owned())
}

pub fn now_seconds() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("clock")
        .as_secs()
}

/// The code an authenticator shows for `secret` now.
pub fn code(secret: &str) -> String {
    datavow_core::console::sign_in::code_at(secret, now_seconds())
}

impl Server {
    /// Adds an operator and returns their one-time password.
    pub async fn operator_password(&self, name: &str, role: datavow_policy::Role) -> String {
        use secrecy::ExposeSecret;
        self.add_operator(name, role)
            .await
            .password
            .expose_secret()
            .to_owned()
    }

    /// Posts the sign-in form; returns the answer.
    pub async fn console_password(
        &self,
        client: &reqwest::Client,
        name: &str,
        password: &str,
    ) -> reqwest::Response {
        let page = client
            .get(self.url("/admin/signin"))
            .send()
            .await
            .expect("page");
        let csrf_cookie = set_cookie(&page, "dv_admin_csrf").expect("csrf cookie");
        let csrf = csrf_cookie.trim_start_matches("dv_admin_csrf=").to_owned();
        client
            .post(self.url("/admin/signin"))
            .header("cookie", &csrf_cookie)
            .form(&[
                ("_csrf", csrf.as_str()),
                ("name", name),
                ("password", password),
            ])
            .send()
            .await
            .expect("sign in")
    }

    /// Adds an operator of `role` and signs them in to the console, enrolling a TOTP
    /// device when the role requires one.
    pub async fn console(&self, name: &str, role: datavow_policy::Role) -> Console {
        let password = self.operator_password(name, role).await;
        let client = browser();
        let response = self.console_password(&client, name, &password).await;
        assert_eq!(response.status(), StatusCode::SEE_OTHER);
        let next = response.headers()["location"]
            .to_str()
            .expect("location")
            .to_owned();
        let cookie = set_cookie(&response, "dv_console").expect("session cookie");
        let mut console = Console {
            name: name.to_owned(),
            password: password.clone(),
            client,
            base: self.base.clone(),
            cookie,
            csrf: String::new(),
            secret: None,
            recovery_codes: Vec::new(),
        };
        if next == "/admin/enrol" {
            let page = console.get("/admin/enrol").await;
            assert_eq!(page.status(), StatusCode::OK);
            let html = page.text().await.expect("html");
            let secret = element_text(&html, "totp-secret").expect("secret shown");
            let csrf = attr_value(&html, "name=\"_csrf\"").expect("csrf");
            let response = console
                .client
                .post(format!("{}/admin/enrol", console.base))
                .header("cookie", &console.cookie)
                .form(&[("_csrf", csrf.as_str()), ("code", code(&secret).as_str())])
                .send()
                .await
                .expect("enrol");
            assert_eq!(response.status(), StatusCode::OK);
            console.cookie = set_cookie(&response, "dv_console").expect("new session cookie");
            let html = response.text().await.expect("html");
            console.recovery_codes = html
                .split("<li><code>")
                .skip(1)
                .filter_map(|s| s.split('<').next())
                .map(str::to_owned)
                .collect();
            console.secret = Some(secret);
        } else {
            assert_eq!(next, "/admin");
        }
        let home = console.get("/admin").await;
        assert_eq!(home.status(), StatusCode::OK);
        let html = home.text().await.expect("html");
        console.csrf = attr_value(&html, "name=\"_csrf\"").expect("csrf");
        console
    }
}

impl Console {
    pub async fn get(&self, path: &str) -> reqwest::Response {
        self.client
            .get(format!("{}{path}", self.base))
            .header("cookie", &self.cookie)
            .send()
            .await
            .expect("get")
    }

    /// Posts a form with the session's CSRF token.
    pub async fn post(&self, path: &str, form: &[(&str, &str)]) -> reqwest::Response {
        let mut fields = vec![("_csrf", self.csrf.as_str())];
        fields.extend_from_slice(form);
        self.client
            .post(format!("{}{path}", self.base))
            .header("cookie", &self.cookie)
            .form(&fields)
            .send()
            .await
            .expect("post")
    }
}
