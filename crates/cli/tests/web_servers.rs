//! `datavow ingest` on logs written by real web servers from Debian's packages (nginx,
//! Apache httpd, Caddy), each started here on loopback and sent real requests over
//! IPv4 and IPv6: odd user agents (quotes, backslashes, non-ASCII and invalid bytes),
//! referrers with queries, a card number in a query string (kept, the query cut) and
//! one in a user agent (refused). Every line must be stored, or refused only for the
//! card number, whether the format is named or recognised.
//!
//! `scripts/test.sh` installs the servers and sets DATAVOW_WEB_SERVER_TESTS=1; without
//! them, this test says it is skipped (and fails if that variable is set).

mod common;

use common::{datavow, free_port, run, text};
use std::io::{Read, Write};
use std::net::{IpAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// One request: the target, extra header lines, and whether a card number in it
/// (outside a query string) makes its line refused.
struct Request {
    target: &'static str,
    method: &'static str,
    headers: Vec<u8>,
    refused: bool,
}

fn requests() -> Vec<Request> {
    let header = |name: &str, value: &[u8]| {
        let mut line = format!("{name}: ").into_bytes();
        line.extend_from_slice(value);
        line.extend_from_slice(b"\r\n");
        line
    };
    vec![
        Request {
            target: "/",
            method: "GET",
            headers: header(
                "User-Agent",
                b"Mozilla/5.0 (X11; Linux x86_64; rv:121.0) Gecko/20100101 Firefox/121.0",
            ),
            refused: false,
        },
        Request {
            target: "/products/colocation?utm_source=mail&email=a%40b.dk#top",
            method: "GET",
            headers: [
                header(
                    "User-Agent",
                    b"Odd \"quoted\" agent \\ with backslash \xc3\xa6\xc3\xb8 \xff end",
                ),
                header(
                    "Referer",
                    b"https://www.google.com/search?q=hosting+denmark&hl=da",
                ),
                header("Accept-Language", b"da-DK,da;q=0.9,en;q=0.5"),
            ]
            .concat(),
            refused: false,
        },
        Request {
            target: "/pay?card=4111111111111111",
            method: "POST",
            headers: header("User-Agent", b"curl/8.4.0"),
            refused: false,
        },
        Request {
            target: "/missing/page.html",
            method: "HEAD",
            headers: Vec::new(),
            refused: false,
        },
        Request {
            target: "/login",
            method: "GET",
            headers: [
                header("User-Agent", b"Agent/1.0 (4012 8888 8888 1881)"),
                header("Authorization", b"Basic Ym9iOnB3"),
            ]
            .concat(),
            refused: true,
        },
    ]
}

/// Sends every request to `port` on both loopbacks; returns how many of them were sent
/// and how many of those must be refused.
fn send_requests(port: u16) -> (u64, u64) {
    let (mut sent, mut refused) = (0, 0);
    for host in ["127.0.0.1", "::1"] {
        let ip: IpAddr = host.parse().expect("loopback");
        for request in requests() {
            let mut stream = TcpStream::connect((ip, port)).expect("connect");
            stream
                .set_read_timeout(Some(Duration::from_secs(10)))
                .expect("timeout");
            let mut bytes = format!(
                "{} {} HTTP/1.1\r\nHost: localhost:{port}\r\nConnection: close\r\n",
                request.method, request.target
            )
            .into_bytes();
            bytes.extend_from_slice(&request.headers);
            if request.method == "POST" {
                bytes.extend_from_slice(b"Content-Length: 0\r\n");
            }
            bytes.extend_from_slice(b"\r\n");
            stream.write_all(&bytes).expect("send");
            let mut answer = Vec::new();
            stream.read_to_end(&mut answer).expect("answer");
            assert!(
                answer.starts_with(b"HTTP/1.1 "),
                "{host}: {}",
                text(&answer)
            );
            sent += 1;
            refused += u64::from(request.refused);
        }
    }
    (sent, refused)
}

/// A server process, killed when dropped.
struct Server(Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn start(command: &mut Command, port: u16, what: &str) -> Server {
    // Owned by `Server` at once, so every way out of here kills and reaps it.
    let mut server = Server(
        command
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| panic!("start {what}: {e}")),
    );
    let deadline = Instant::now() + Duration::from_secs(20);
    while Instant::now() < deadline {
        let both = TcpStream::connect(("127.0.0.1", port)).is_ok()
            && TcpStream::connect(("::1", port)).is_ok();
        if both {
            return server;
        }
        if let Ok(Some(status)) = server.0.try_wait() {
            let mut err = String::new();
            if let Some(mut stderr) = server.0.stderr.take() {
                let _ = stderr.read_to_string(&mut err);
            }
            panic!("{what} exited with {status}: {err}");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    panic!("{what} did not listen on port {port} within 20 s");
}

/// Starts a server, sends it the requests, and stops it, so its logs are complete.
fn serve_requests(command: &mut Command, port: u16, what: &str) -> (u64, u64) {
    let server = start(command, port, what);
    let counts = send_requests(port);
    drop(server);
    counts
}

/// Ingests `log` and checks the summary: every line read, all stored but the refused.
fn ingest_all(log: &Path, args: &[&str], want_format: &str, sent: u64, refused: u64) {
    let dir = tempfile::tempdir().expect("tempdir");
    let out = run(datavow()
        .arg("ingest")
        .args(args)
        .arg("--data-dir")
        .arg(dir.path())
        .arg(log));
    let stdout = text(&out.stdout);
    let context = format!("{} {args:?}:\n{stdout}{}", log.display(), text(&out.stderr));
    assert!(out.status.success(), "{context}");
    assert!(
        stdout.contains(&format!("format:     {want_format}")),
        "{context}"
    );
    assert!(
        stdout.contains(&format!("lines read: {sent}\n")),
        "{context}"
    );
    assert!(
        stdout.contains(&format!("stored:     {}\n", sent - refused)),
        "{context}"
    );
    assert!(
        stdout.contains(&format!("rejected:   {refused}\n")),
        "{context}"
    );
    if refused > 0 {
        assert!(
            stdout.contains(&format!("{refused}  card number in line")),
            "refused only for the card number: {context}"
        );
    }
}

/// Whether the servers are here; a skipped test says why, and fails when required.
fn servers_available() -> bool {
    let present = ["/usr/sbin/nginx", "/usr/sbin/apache2", "/usr/bin/caddy"]
        .iter()
        .all(|p| Path::new(p).exists());
    if !present {
        assert!(
            std::env::var_os("DATAVOW_WEB_SERVER_TESTS").is_none(),
            "DATAVOW_WEB_SERVER_TESTS is set but nginx, apache2 or caddy is missing"
        );
        #[allow(clippy::print_stderr)]
        {
            eprintln!("skipped: nginx, apache2-bin and caddy (Debian) are not installed");
        }
    }
    present
}

fn write(path: &Path, content: &str) -> PathBuf {
    std::fs::write(path, content).expect("write config");
    path.to_owned()
}

#[test]
fn nginx_combined_and_json_logs_are_stored_whole_named_or_recognised() {
    if !servers_available() {
        return;
    }
    let dir = tempfile::tempdir().expect("tempdir");
    let d = dir.path().display().to_string();
    let port = free_port();
    let config = write(
        &dir.path().join("nginx.conf"),
        &format!(
            r#"daemon off;
master_process off;
pid {d}/nginx.pid;
error_log {d}/error.log;
events {{}}
http {{
  access_log {d}/combined.log combined;
  log_format jsonlog escape=json '{{"remote_addr":"$remote_addr","time_local":"$time_local","request_method":"$request_method","request_uri":"$request_uri","status":$status,"body_bytes_sent":$body_bytes_sent,"http_referer":"$http_referer","http_user_agent":"$http_user_agent","remote_user":"$remote_user","http_accept_language":"$http_accept_language"}}';
  access_log {d}/access.json jsonlog;
  log_format timed '$remote_addr - $remote_user [$time_local] "$request" $status $body_bytes_sent "$http_referer" "$http_user_agent" rt=$request_time ua="$upstream_addr"';
  access_log {d}/timed.log timed;
  client_body_temp_path {d}/body;
  proxy_temp_path {d}/proxy;
  fastcgi_temp_path {d}/fastcgi;
  uwsgi_temp_path {d}/uwsgi;
  scgi_temp_path {d}/scgi;
  server {{
    listen 127.0.0.1:{port};
    listen [::1]:{port};
    location / {{ return 200 "ok"; }}
    location /missing {{ return 404; }}
  }}
}}
"#
        ),
    );
    let (sent, refused) = serve_requests(
        Command::new("/usr/sbin/nginx")
            .arg("-c")
            .arg(&config)
            .arg("-e")
            .arg(dir.path().join("error.log")),
        port,
        "nginx",
    );
    let combined = dir.path().join("combined.log");
    ingest_all(&combined, &[], "combined (recognised", sent, refused);
    ingest_all(
        &combined,
        &["--format", "combined"],
        "combined\n",
        sent,
        refused,
    );
    let json = dir.path().join("access.json");
    ingest_all(&json, &[], "json (recognised", sent, refused);
    ingest_all(&json, &["--format", "json"], "json\n", sent, refused);
    // The same server's custom format, read from its own format string.
    let timed = dir.path().join("timed.log");
    let format = r#"$remote_addr - $remote_user [$time_local] "$request" $status $body_bytes_sent "$http_referer" "$http_user_agent" rt=$request_time ua="$upstream_addr""#;
    ingest_all(&timed, &["--log-format", format], "custom\n", sent, refused);
    // Extra fields after the agent: still recognised as combined.
    ingest_all(&timed, &[], "combined (recognised", sent, refused);
}

#[test]
fn apache_combined_common_and_vhost_combined_logs_are_stored_whole() {
    if !servers_available() {
        return;
    }
    let dir = tempfile::tempdir().expect("tempdir");
    let d = dir.path().display().to_string();
    std::fs::create_dir(dir.path().join("www")).expect("www");
    std::fs::write(dir.path().join("www/index.html"), "hi").expect("index");
    let port = free_port();
    // The LogFormat lines of Debian's apache2.conf.
    let config = write(
        &dir.path().join("httpd.conf"),
        &format!(
            r#"ServerRoot {d}
PidFile {d}/httpd.pid
DefaultRuntimeDir {d}
Mutex file:{d} default
ServerName localhost
Listen 127.0.0.1:{port}
Listen [::1]:{port}
LoadModule mpm_event_module /usr/lib/apache2/modules/mod_mpm_event.so
LoadModule authz_core_module /usr/lib/apache2/modules/mod_authz_core.so
ErrorLog {d}/error.log
LogFormat "%v:%p %h %l %u %t \"%r\" %>s %O \"%{{Referer}}i\" \"%{{User-Agent}}i\"" vhost_combined
LogFormat "%h %l %u %t \"%r\" %>s %O \"%{{Referer}}i\" \"%{{User-Agent}}i\"" combined
LogFormat "%h %l %u %t \"%r\" %>s %O" common
CustomLog {d}/combined.log combined
CustomLog {d}/common.log common
CustomLog {d}/vhost.log vhost_combined
DocumentRoot {d}/www
<Directory {d}/www>
  Require all granted
</Directory>
"#
        ),
    );
    let (sent, refused) = serve_requests(
        Command::new("/usr/sbin/apache2")
            .arg("-X")
            .arg("-f")
            .arg(&config),
        port,
        "apache2",
    );
    let combined = dir.path().join("combined.log");
    ingest_all(&combined, &[], "combined (recognised", sent, refused);
    // `common` has no user agent, so the card number in one is not in the log at all.
    let common = dir.path().join("common.log");
    ingest_all(&common, &[], "common (recognised", sent, 0);
    ingest_all(&common, &["--format", "common"], "common\n", sent, 0);
    let vhost = dir.path().join("vhost.log");
    ingest_all(&vhost, &[], "vcombined (recognised", sent, refused);
    ingest_all(
        &vhost,
        &["--format", "vcombined"],
        "vcombined\n",
        sent,
        refused,
    );
    let format = r#"%v:%p %h %l %u %t \"%r\" %>s %O \"%{Referer}i\" \"%{User-Agent}i\""#;
    ingest_all(&vhost, &["--log-format", format], "custom\n", sent, refused);
}

#[test]
fn caddy_json_logs_are_stored_whole() {
    if !servers_available() {
        return;
    }
    let dir = tempfile::tempdir().expect("tempdir");
    let d = dir.path().display().to_string();
    let port = free_port();
    let config = write(
        &dir.path().join("Caddyfile"),
        &format!(
            r#"{{
  admin off
  auto_https off
  storage file_system {d}/data
}}
http://:{port} {{
  bind 127.0.0.1 ::1
  log {{
    output file {d}/caddy.log
    format json
  }}
  respond "ok" 200
}}
"#
        ),
    );
    let (sent, refused) = serve_requests(
        Command::new("/usr/bin/caddy")
            .args(["run", "--adapter", "caddyfile", "--config"])
            .arg(&config)
            .env("HOME", dir.path())
            .env("XDG_DATA_HOME", dir.path())
            .env("XDG_CONFIG_HOME", dir.path()),
        port,
        "caddy",
    );
    let log = dir.path().join("caddy.log");
    ingest_all(&log, &[], "caddy (recognised", sent, refused);
    ingest_all(&log, &["--format", "caddy"], "caddy\n", sent, refused);
}
