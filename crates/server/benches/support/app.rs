//! A Datavow instance as the benches use it: the same signed-in person, a server on
//! loopback. Each bench includes this file and uses part of it.

#![allow(dead_code)]

use datavow_core::{accounts, Datavow};

/// Signs up the benches' person (a full profile with non-ASCII text) and signs them in.
pub async fn signed_in_person(app: &Datavow) -> accounts::Session {
    let input = accounts::SignUpInput {
        name: Some("Zoë Müller-Łukasiewicz".into()),
        company: Some("Müller Webhosting GmbH".into()),
        email: Some("zoe@example.de".into()),
        phone: Some("+49 30 901820".into()),
        interest: Some("Dedicated servers".into()),
        ..Default::default()
    };
    let account = accounts::sign_up(app, &input).await.expect("sign up");
    accounts::sign_in(app, &account.user_id, &account.password, "bench")
        .await
        .expect("sign in")
}

/// Serves `app` on a free loopback port until the process ends; returns the address.
pub async fn serve(app: Datavow) -> std::net::SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    tokio::spawn(datavow_server::serve(
        app,
        listener,
        Default::default(),
        std::future::pending(),
    ));
    addr
}
