//! Slow, silent and greedy clients over real TCP: half-sent headers and idle
//! connections are closed after the header time-out, one address cannot hold more than
//! its share of connections, and the server keeps answering everyone else.

mod common;

use common::start_with_options;
use datavow_server::{ConnectionLimits, ServerOptions};
use datavow_store::testkit::TestStores;
use std::net::{IpAddr, SocketAddr};
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpSocket, TcpStream};

fn limits(max_connections: usize, per_client: usize) -> ServerOptions {
    ServerOptions {
        limits: ConnectionLimits {
            max_connections,
            per_client,
            header_timeout: Duration::from_secs(1),
            drain: Duration::from_secs(1),
        },
        ..Default::default()
    }
}

fn server_addr(base: &str) -> SocketAddr {
    base.trim_start_matches("http://").parse().expect("address")
}

/// A connection from `from` (any 127.x.y.z address works on loopback).
async fn connect_from(from: &str, to: SocketAddr) -> TcpStream {
    let socket = TcpSocket::new_v4().expect("socket");
    socket
        .bind(SocketAddr::new(from.parse::<IpAddr>().expect("ip"), 0))
        .expect("bind");
    socket.connect(to).await.expect("connect")
}

/// Whether the server closes `stream` within `within` (reads until end of stream).
async fn closed_within(stream: &mut TcpStream, within: Duration) -> bool {
    let mut buf = [0u8; 1024];
    tokio::time::timeout(within, async {
        loop {
            match stream.read(&mut buf).await {
                Ok(0) | Err(_) => return,
                Ok(_) => {}
            }
        }
    })
    .await
    .is_ok()
}

async fn healthz_from(base: &str, from: &str) -> reqwest::StatusCode {
    let client = reqwest::Client::builder()
        .local_address(from.parse::<IpAddr>().expect("ip"))
        .timeout(Duration::from_secs(10))
        .build()
        .expect("client");
    client
        .get(format!("{base}/healthz"))
        .send()
        .await
        .expect("answer")
        .status()
}

#[tokio::test]
async fn half_sent_headers_and_idle_connections_are_closed_after_the_header_timeout() {
    let t = TestStores::sqlite().await;
    let server = start_with_options(&t, |_| None, limits(64, 64)).await;
    let addr = server_addr(&server.base);

    let mut silent = connect_from("127.0.0.1", addr).await;
    let mut half = connect_from("127.0.0.1", addr).await;
    half.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Slow: ")
        .await
        .expect("write");
    let mut idle = connect_from("127.0.0.1", addr).await;
    idle.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
        .await
        .expect("write");
    let mut answer = [0u8; 12];
    idle.read_exact(&mut answer).await.expect("answer");
    assert_eq!(&answer, b"HTTP/1.1 200");

    for (what, stream) in [
        ("silent", &mut silent),
        ("half-sent", &mut half),
        ("idle", &mut idle),
    ] {
        assert!(
            closed_within(stream, Duration::from_secs(5)).await,
            "the {what} connection is still open"
        );
    }
}

#[tokio::test]
async fn one_address_cannot_hold_more_than_its_share_of_connections() {
    let t = TestStores::sqlite().await;
    let server = start_with_options(&t, |_| None, limits(64, 4)).await;
    let addr = server_addr(&server.base);

    let mut held = Vec::new();
    for _ in 0..4 {
        held.push(connect_from("127.0.0.3", addr).await);
    }
    // Let the server register the four before the fifth arrives.
    tokio::time::sleep(Duration::from_millis(100)).await;
    let mut fifth = connect_from("127.0.0.3", addr).await;
    assert!(
        closed_within(&mut fifth, Duration::from_millis(500)).await,
        "a fifth connection from one address is refused at once"
    );
    assert_eq!(
        healthz_from(&server.base, "127.0.0.4").await,
        reqwest::StatusCode::OK,
        "another address is served meanwhile"
    );
    drop(held);
}

#[tokio::test]
async fn when_every_connection_is_taken_by_silent_clients_the_server_recovers() {
    let t = TestStores::sqlite().await;
    let server = start_with_options(&t, |_| None, limits(8, 64)).await;
    let addr = server_addr(&server.base);

    let mut silent = Vec::new();
    for i in 0..8 {
        silent.push(connect_from(&format!("127.0.1.{}", i + 1), addr).await);
    }
    // The request waits in the backlog until the header time-out frees a place.
    assert_eq!(
        healthz_from(&server.base, "127.0.2.1").await,
        reqwest::StatusCode::OK
    );
    drop(silent);
}

#[tokio::test]
async fn public_writes_are_limited_per_client_address_and_the_rest_are_served() {
    let t = TestStores::sqlite().await;
    let options = ServerOptions {
        trusted_proxies: vec!["127.0.0.1".parse().expect("ip")],
        ..Default::default()
    };
    let server = start_with_options(&t, |_| None, options).await;
    let enquiry = serde_json::json!({"name": "Ada Visitor", "email": "ada@example.org", "message": "Racks in Aarhus?"});
    let contact = |client: &'static str| {
        let request = server
            .client
            .post(server.url("/api/v1/contact"))
            .header("x-forwarded-for", client)
            .json(&enquiry);
        async move {
            let response = request.send().await.expect("answer");
            let retry = response.headers().get("retry-after").is_some();
            let status = response.status();
            (
                status,
                retry,
                response
                    .json::<serde_json::Value>()
                    .await
                    .unwrap_or_default(),
            )
        }
    };
    for n in 0..datavow_server::PUBLIC_WRITES_PER_MINUTE {
        let (status, _, body) = contact("198.51.100.7").await;
        assert_eq!(status, reqwest::StatusCode::ACCEPTED, "write {n}: {body}");
    }
    let (status, retry, body) = contact("198.51.100.7").await;
    assert_eq!(status, reqwest::StatusCode::TOO_MANY_REQUESTS, "{body}");
    assert!(retry, "the answer says when to retry");
    assert_eq!(body["error"]["code"], "too_many_requests");
    let (status, _, body) = contact("198.51.100.8").await;
    assert_eq!(
        status,
        reqwest::StatusCode::ACCEPTED,
        "another address: {body}"
    );
}
