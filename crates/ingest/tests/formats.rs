//! Every named format on lines as their servers write them (copied from real servers'
//! logs on this machine, or from the vendors' documented examples), recognition of
//! each from its first lines, and the custom format strings' directives.

use datavow_ingest::{recognise, Format, LineParser, LogRecord, Reject, Template, TemplateError};
use std::net::IpAddr;

fn parser(format: Format) -> LineParser {
    LineParser::named(format).expect("a named format")
}

fn ip(text: &str) -> IpAddr {
    text.parse().expect("an address")
}

/// What a test compares: the record's kept fields as text.
fn kept(
    r: &LogRecord,
) -> (
    String,
    String,
    String,
    u16,
    Option<u64>,
    Option<String>,
    Option<String>,
) {
    (
        r.ip.to_string(),
        r.time.to_rfc3339(),
        format!("{} {}", r.method, r.path),
        r.status,
        r.bytes,
        r.referrer.as_deref().map(str::to_owned),
        r.user_agent.as_deref().map(str::to_owned),
    )
}

/// Caddy 2.6's JSON access log, as written on this machine.
const CADDY: [&str; 2] = [
    r#"{"level":"info","ts":1795980006.3636644,"logger":"http.log.access.log0","msg":"handled request","request":{"remote_ip":"127.0.0.1","remote_port":"35142","proto":"HTTP/1.1","method":"GET","host":"127.0.0.1:18081","uri":"/a/b?card=4111111111111111","headers":{"Accept-Language":["da-DK,da;q=0.9"],"User-Agent":["Mozilla/5.0 \"odd\" agent"],"Accept":["*/*"],"Referer":["https://ref.example/x?q=1"]}},"user_id":"","duration":0.000018689,"size":2,"status":200,"resp_headers":{"Server":["Caddy"],"Content-Type":["text/plain; charset=utf-8"]}}"#,
    r#"{"level":"info","ts":1795980006.3739002,"logger":"http.log.access.log0","msg":"handled request","request":{"remote_ip":"::1","remote_port":"57448","proto":"HTTP/1.1","method":"GET","host":"[::1]:18081","uri":"/v6","headers":{"Authorization":[],"User-Agent":["curl/7.88.1"],"Accept":["*/*"]}},"user_id":"alice","duration":0.000015884,"size":2,"status":200,"resp_headers":{"Server":["Caddy"]}}"#,
];

#[test]
fn caddy_json_is_read_with_its_nested_request_and_header_lists() {
    let p = parser(Format::Caddy);
    let r = p.parse(CADDY[0].as_bytes()).expect("caddy line");
    assert_eq!(
        kept(&r),
        (
            "127.0.0.1".into(),
            "2026-11-29T19:20:06.363664+00:00".into(),
            "GET /a/b".into(),
            200,
            Some(2),
            Some("https://ref.example/x".into()),
            Some("Mozilla/5.0 \"odd\" agent".into()),
        )
    );
    assert_eq!((r.user, r.language.as_deref()), (None, Some("da-DK")));
    let r = p.parse(CADDY[1].as_bytes()).expect("caddy line");
    assert_eq!((r.ip, r.user.as_deref()), (ip("::1"), Some("alice")));
    // Caddy 2.7 and later name the client behind trusted proxies `client_ip`.
    let behind_proxy = CADDY[1].replace(
        r#""remote_ip":"::1""#,
        r#""remote_ip":"10.0.0.2","client_ip":"2001:db8::9""#,
    );
    assert_eq!(
        p.parse(behind_proxy.as_bytes()).expect("line").ip,
        ip("2001:db8::9")
    );
}

#[test]
fn a_json_line_of_another_shape_says_which_shape_was_expected() {
    let flat = r#"{"ip":"192.0.2.1","time":"2026-11-25T08:00:00Z","path":"/","status":200}"#;
    assert_eq!(
        parser(Format::Caddy).parse(flat.as_bytes()),
        Err(Reject::Shape(Format::Caddy))
    );
    assert_eq!(
        Reject::Shape(Format::Caddy).as_str(),
        "unknown line shape: expected caddy JSON"
    );
    assert_eq!(parser(Format::Caddy).parse(b"{oops"), Err(Reject::NotJson));
    assert_eq!(
        parser(Format::Json).parse(CADDY[0].as_bytes()),
        Err(Reject::Shape(Format::Json))
    );
}

/// Traefik's JSON access log with headers kept (`fields.headers.defaultMode: keep`).
const TRAEFIK: &str = r#"{"ClientAddr":"[2001:db8::5]:50321","ClientHost":"2001:db8::5","ClientPort":"50321","ClientUsername":"-","DownstreamContentSize":1024,"DownstreamStatus":404,"Duration":1209300,"OriginContentSize":1024,"OriginDuration":1143200,"OriginStatus":404,"Overhead":66100,"RequestAddr":"shop.example","RequestContentSize":0,"RequestCount":7,"RequestHost":"shop.example","RequestMethod":"GET","RequestPath":"/cart?session=abc","RequestPort":"-","RequestProtocol":"HTTP/2.0","RequestScheme":"https","RetryAttempts":0,"RouterName":"shop@docker","StartLocal":"2026-11-25T09:00:01.845978700+01:00","StartUTC":"2026-11-25T08:00:01.8459787Z","entryPointName":"websecure","level":"info","msg":"","request_Referer":"https://shop.example/?q=x","request_User-Agent":"Mozilla/5.0 (X11; Linux x86_64; rv:121.0) Gecko/20100101 Firefox/121.0","time":"2026-11-25T09:00:01+01:00"}"#;

#[test]
fn traefik_json_is_read_by_its_field_names() {
    let r = parser(Format::Traefik)
        .parse(TRAEFIK.as_bytes())
        .expect("traefik line");
    assert_eq!(r.ip, ip("2001:db8::5"));
    assert_eq!(r.time.to_rfc3339(), "2026-11-25T08:00:01.845978700+00:00");
    assert_eq!(
        (&*r.method, &*r.path, r.status, r.bytes),
        ("GET", "/cart", 404, Some(1024))
    );
    assert_eq!(r.referrer.as_deref(), Some("https://shop.example/"));
    assert!(r
        .user_agent
        .as_deref()
        .unwrap_or("")
        .contains("Firefox/121.0"));
    assert_eq!(r.user, None, "Traefik writes - for no user");
}

/// Apache 2.4's `common` and `vhost_combined`, as written on this machine.
const APACHE_COMMON: &str = r#"::1 - - [29/Nov/2026:19:20:20 +0000] "GET /v6 HTTP/1.1" 404 397"#;
const APACHE_VHOST: &str = r#"localhost:80 127.0.0.1 - - [29/Nov/2026:19:20:20 +0000] "GET /index.html?x=1 HTTP/1.1" 200 203 "https://ref.example/x?q=1" "Mozilla/5.0 \"odd\" \\ agent \xc3\xa6""#;

#[test]
fn apache_common_and_vhost_combined_are_read() {
    let r = parser(Format::Common)
        .parse(APACHE_COMMON.as_bytes())
        .expect("common");
    assert_eq!(
        (r.ip, &*r.path, r.status, r.bytes),
        (ip("::1"), "/v6", 404, Some(397))
    );
    assert_eq!((r.referrer, r.user_agent), (None, None));
    let r = parser(Format::VCombined)
        .parse(APACHE_VHOST.as_bytes())
        .expect("vhost_combined");
    assert_eq!((r.ip, &*r.path), (ip("127.0.0.1"), "/index.html"));
    assert_eq!(
        r.user_agent.as_deref(),
        Some("Mozilla/5.0 \"odd\" \\ agent æ")
    );
    let vcommon =
        "shop.example:443 192.0.2.4 - - [29/Nov/2026:19:20:20 +0000] \"GET / HTTP/1.1\" 200 5";
    assert_eq!(
        parser(Format::VCommon)
            .parse(vcommon.as_bytes())
            .expect("vcommon")
            .ip,
        ip("192.0.2.4")
    );
    // A combined line with more fields after the agent (request and upstream times).
    let extra = r#"192.0.2.4 - - [29/Nov/2026:19:20:20 +0000] "GET / HTTP/1.1" 200 5 "-" "curl/8" 0.004 0.003"#;
    assert!(parser(Format::Combined).parse(extra.as_bytes()).is_ok());
}

/// An IIS 10 log with its headers; the second `#Fields:` changes the selection.
const IIS: &str = "#Software: Microsoft Internet Information Services 10.0
#Version: 1.0
#Date: 2026-11-25 08:00:00
#Fields: date time s-ip cs-method cs-uri-stem cs-uri-query s-port cs-username c-ip cs(User-Agent) cs(Referer) sc-status sc-substatus sc-win32-status time-taken
2026-11-25 08:00:01 10.0.0.5 GET /default.htm q=4111111111111111 443 - 192.0.2.10 Mozilla/5.0+(Windows+NT+10.0;+Win64;+x64)+Edg/120.0 https://www.bing.com/search?q=x 200 0 0 15
2026-11-25 08:00:02 10.0.0.5 POST /login - 443 jdoe 2001:db8::10 curl/8.4.0 - 302 0 0 3
#Fields: date time c-ip cs-method cs-uri-stem sc-status sc-bytes
2026-11-25 08:00:03 192.0.2.11 GET /img/logo.png 200 5120
";

#[test]
fn w3c_lines_are_read_by_the_fields_of_the_header_before_them() {
    let mut p = parser(Format::W3c);
    let mut records = Vec::new();
    for line in IIS.lines() {
        if let Some(next) = p.directive(line.as_bytes()) {
            p = next;
        }
        match p.parse(line.as_bytes()) {
            Ok(r) => records.push(kept(&r)),
            Err(reason) => assert_eq!(reason, Reject::Directive, "{line}"),
        }
    }
    assert_eq!(records.len(), 3);
    assert_eq!(records[0].0, "192.0.2.10");
    assert_eq!(records[0].1, "2026-11-25T08:00:01+00:00");
    assert_eq!(records[0].2, "GET /default.htm");
    assert_eq!(
        records[0].6.as_deref(),
        Some("Mozilla/5.0 (Windows NT 10.0; Win64; x64) Edg/120.0")
    );
    assert_eq!(records[0].5.as_deref(), Some("https://www.bing.com/search"));
    assert_eq!((records[1].0.as_str(), records[1].3), ("2001:db8::10", 302));
    assert_eq!(
        (records[2].2.as_str(), records[2].4),
        ("GET /img/logo.png", Some(5120))
    );
}

/// CloudFront's documented example line (tab separated, values URL-encoded).
const CLOUDFRONT: &str = "2019-12-04\t21:02:31\tLAX1\t392\t192.0.2.100\tGET\td111111abcdef8.cloudfront.net\t/index.html\t200\t-\tMozilla/5.0%20(Windows%20NT%2010.0;%20Win64;%20x64)%20AppleWebKit/537.36%20(KHTML,%20like%20Gecko)%20Chrome/78.0.3904.108%20Safari/537.36\t-\t-\tHit\tSOX4xwn4XV6Q4rgb7XiVGOHms_BGlTAC4KyHmureZmBNrjGdRLiNIQ==\td111111abcdef8.cloudfront.net\thttps\t23\t0.001\t-\tTLSv1.2\tECDHE-RSA-AES128-GCM-SHA256\tHit\tHTTP/2.0\t-\t-\t11040\t0.001\tHit\ttext/html\t78\t-\t-";

#[test]
fn cloudfront_lines_are_read_in_its_documented_order_and_decoded() {
    let r = parser(Format::Cloudfront)
        .parse(CLOUDFRONT.as_bytes())
        .expect("cloudfront");
    assert_eq!(r.ip, ip("192.0.2.100"));
    assert_eq!(r.time.to_rfc3339(), "2019-12-04T21:02:31+00:00");
    assert_eq!(
        (&*r.path, r.status, r.bytes),
        ("/index.html", 200, Some(392))
    );
    assert!(r
        .user_agent
        .as_deref()
        .unwrap_or("")
        .starts_with("Mozilla/5.0 (Windows NT 10.0;"));
    let short = CLOUDFRONT
        .split('\t')
        .take(5)
        .collect::<Vec<_>>()
        .join("\t");
    assert_eq!(
        parser(Format::Cloudfront).parse(short.as_bytes()),
        Err(Reject::Shape(Format::Cloudfront))
    );
}

/// The AWS documentation's examples: an Application and a Classic Load Balancer line.
const ALB: &str = r#"https 2026-11-25T08:00:01.086000Z app/my-loadbalancer/50dc6c495c0c9188 192.168.131.39:2817 10.0.0.1:80 0.086 0.048 0.037 200 200 0 57 "GET https://www.example.com:443/checkout?card=4111111111111111 HTTP/1.1" "curl/7.46.0" ECDHE-RSA-AES128-GCM-SHA256 TLSv1.2 arn:aws:elasticloadbalancing:us-east-2:123456789012:targetgroup/my-targets/73e2d6bc24d8a067 "Root=1-58337281-1d84f3d73c47ec4e58577259" "www.example.com" "arn:aws:acm:us-east-2:123456789012:certificate/12345678-1234-1234-1234-123456789012" 1 2026-11-25T08:00:00.999000Z "authenticate,forward" "-" "-" "10.0.0.1:80" "200" "-" "-""#;
const CLASSIC_ELB: &str = r#"2026-11-25T08:00:02.945958Z my-loadbalancer [2001:db8::20]:2817 10.0.0.1:80 0.000073 0.001048 0.000057 200 200 0 29 "GET http://www.example.com:80/ HTTP/1.1" "curl/7.38.0" - -"#;

#[test]
fn aws_load_balancer_lines_are_read_with_the_path_taken_from_the_url() {
    let p = parser(Format::Elb);
    let r = p.parse(ALB.as_bytes()).expect("alb");
    assert_eq!(r.ip, ip("192.168.131.39"));
    assert_eq!((&*r.path, r.status, r.bytes), ("/checkout", 200, Some(57)));
    assert_eq!(r.user_agent.as_deref(), Some("curl/7.46.0"));
    let r = p.parse(CLASSIC_ELB.as_bytes()).expect("classic");
    assert_eq!((r.ip, &*r.path), (ip("2001:db8::20"), "/"));
    let tcp = r#"2026-11-25T08:00:02.945958Z my-loadbalancer 192.0.2.1:2817 10.0.0.1:80 0.000073 0.001048 0.000057 - - 57 502 "- - - " "-" - -"#;
    assert!(
        p.parse(tcp.as_bytes()).is_err(),
        "a TCP listener's line is no HTTP request"
    );
}

#[test]
fn each_named_format_is_recognised_from_its_first_lines() {
    let nginx_json = r#"{"remote_addr":"127.0.0.1","time_local":"29/Nov/2026:19:20:15 +0000","request_method":"GET","request_uri":"/a/b?x=1","status":200,"body_bytes_sent":2,"http_referer":"https://ref.example/x?q=1","http_user_agent":"Mozilla/5.0","remote_user":"bob"}"#;
    let combined = r#"127.0.0.1 - bob [29/Nov/2026:19:20:15 +0000] "GET /a/b?x=1 HTTP/1.1" 200 2 "https://ref.example/x?q=1" "Mozilla/5.0 \x22odd\x22""#;
    let vcommon =
        "shop.example:443 192.0.2.4 - - [29/Nov/2026:19:20:20 +0000] \"GET / HTTP/1.1\" 200 5";
    let cases: Vec<(Format, Vec<&str>)> = vec![
        (Format::Combined, vec![combined, "garbage", combined]),
        (Format::VCombined, vec![APACHE_VHOST]),
        (Format::Common, vec![APACHE_COMMON]),
        (Format::VCommon, vec![vcommon]),
        (Format::Json, vec![nginx_json]),
        (Format::Caddy, CADDY.to_vec()),
        (Format::Traefik, vec![TRAEFIK]),
        (Format::W3c, IIS.lines().collect()),
        (Format::Cloudfront, vec!["#Version: 1.0", CLOUDFRONT]),
        (Format::Elb, vec![ALB, CLASSIC_ELB]),
    ];
    for (format, lines) in cases {
        let lines: Vec<&[u8]> = lines.iter().map(|l| l.as_bytes()).collect();
        let found = recognise(&Format::NAMED, &lines).map(|p| p.format());
        assert_eq!(found, Some(format), "{format:?}");
    }
    assert_eq!(recognise(&Format::NAMED, &[b"hello", b"world"]), None);
    assert_eq!(recognise(&Format::JSON, &[APACHE_COMMON.as_bytes()]), None);
}

fn template(format: &str) -> Template {
    Template::new(format).unwrap_or_else(|e| panic!("{format}: {e}"))
}

/// A format string, a line written in it, and what must be read from it.
struct Case {
    format: &'static str,
    line: &'static str,
    want: (
        &'static str,
        &'static str,
        &'static str,
        u16,
        Option<u64>,
        Option<&'static str>,
        Option<&'static str>,
    ),
}

#[test]
fn nginx_and_apache_format_string_directives_are_read() {
    let t = "2026-11-25T08:00:01+00:00";
    let cases = [
        // nginx: the default `combined`, spelled out.
        Case {
            format: r#"$remote_addr - $remote_user [$time_local] "$request" $status $body_bytes_sent "$http_referer" "$http_user_agent""#,
            line: r#"192.0.2.1 - - [25/Nov/2026:08:00:01 +0000] "GET /a?b HTTP/1.1" 200 12 "https://r.example/p?q" "UA \x22x\x22""#,
            want: (
                "192.0.2.1",
                t,
                "GET /a",
                200,
                Some(12),
                Some("https://r.example/p"),
                Some("UA \"x\""),
            ),
        },
        // nginx: method and URI as separate variables, ISO time, bytes_sent, braces.
        Case {
            format: r#"${remote_addr}|$time_iso8601|$request_method|$request_uri|$status|$bytes_sent|$http_user_agent|$request_time|$upstream_response_time"#,
            line: "2001:db8::1|2026-11-25T08:00:01+00:00|POST|/form?x=1|201|99|curl/8|0.010|0.009",
            want: (
                "2001:db8::1",
                t,
                "POST /form",
                201,
                Some(99),
                None,
                Some("curl/8"),
            ),
        },
        // nginx: behind a proxy, the first X-Forwarded-For address; $msec; $uri.
        Case {
            format: r#""$http_x_forwarded_for" $msec "$request_method $uri$is_args$args" $status $body_bytes_sent lang=$http_accept_language"#,
            line: r#""203.0.113.5, 10.0.0.1" 1795593601.000 "GET /x?y=1" 304 0 lang=da,en;q=0.8"#,
            want: ("203.0.113.5", t, "GET /x", 304, Some(0), None, None),
        },
        // Apache: combined with %a, %>s and %O, as written in apache2.conf.
        Case {
            format: r#"%a %l %u %t \"%r\" %>s %O \"%{Referer}i\" \"%{User-Agent}i\""#,
            line: r#"192.0.2.2 - - [25/Nov/2026:08:00:01 +0000] "GET /i HTTP/1.1" 200 - "-" "Mozilla/5.0 \"q\" \\ b""#,
            want: (
                "192.0.2.2",
                t,
                "GET /i",
                200,
                None,
                None,
                Some(r#"Mozilla/5.0 "q" \ b"#),
            ),
        },
        // Apache: %{sec}t, %m %U%q, %s, %B, %D, a condition modifier, %%.
        Case {
            format: r#"%h %{sec}t %m %U%q %s %B %D 100%% %!200,304{X-Note}i"#,
            line: "192.0.2.3 1795593601 GET /p?x=1 500 7 1234 100% -",
            want: ("192.0.2.3", t, "GET /p", 500, Some(7), None, None),
        },
        // Apache: %{strftime}t with a zone, %{X-Forwarded-For}i, %{msec}t skipped times.
        Case {
            format: r#"%{X-Forwarded-For}i [%{%Y-%m-%d %H:%M:%S %z}t] "%r" %>s %b %v:%p"#,
            line: r#"198.51.100.7 [2026-11-25 09:00:01 +0100] "HEAD / HTTP/2.0" 200 - www.example:443"#,
            want: ("198.51.100.7", t, "HEAD /", 200, None, None, None),
        },
    ];
    for case in cases {
        let r = template(case.format).parse(case.line.as_bytes());
        let r = r.unwrap_or_else(|e| panic!("{}: {e:?}", case.format));
        let got = kept(&r);
        let want = case.want;
        assert_eq!(got.0, want.0, "{}", case.format);
        assert_eq!(
            r.time.with_timezone(&chrono::Utc).to_rfc3339(),
            want.1,
            "{}",
            case.format
        );
        assert_eq!(got.2, want.2, "{}", case.format);
        assert_eq!((got.3, got.4), (want.3, want.4), "{}", case.format);
        assert_eq!(got.5.as_deref(), want.5, "{}", case.format);
        assert_eq!(got.6.as_deref(), want.6, "{}", case.format);
    }
    let lang = template(r#"$remote_addr [$time_local] "$request" $status $http_accept_language"#)
        .parse(br#"192.0.2.1 [25/Nov/2026:08:00:01 +0000] "GET / HTTP/1.1" 200 de-DE,de;q=0.9"#)
        .expect("line");
    assert_eq!(lang.language.as_deref(), Some("de-DE"));
    let user = template("%h %l %u %t \"%r\" %>s %b")
        .parse(br#"192.0.2.1 - frank [25/Nov/2026:08:00:01 +0000] "GET / HTTP/1.1" 200 1"#)
        .expect("line");
    assert_eq!(user.user.as_deref(), Some("frank"));
}

#[test]
fn a_line_not_of_the_given_format_string_is_refused_as_such() {
    let t = template(r#"$remote_addr [$time_local] "$request" $status"#);
    assert_eq!(
        t.parse(b"192.0.2.1 25/Nov/2026:08:00:01 +0000 GET / 200"),
        Err(Reject::Shape(Format::Custom))
    );
    assert_eq!(
        Reject::Shape(Format::Custom).as_str(),
        "unknown line shape: expected the given log format"
    );
}

#[test]
fn unusable_format_strings_are_refused_with_the_reason() {
    let cases = [
        ("", TemplateError::Empty),
        ("$remote_addr %h", TemplateError::Mixed),
        ("just text", TemplateError::NoFields),
        (
            "$remote_addr [$time_local] $status",
            TemplateError::Missing("the request or its path"),
        ),
        ("%h %t \"%r\"", TemplateError::Missing("the status")),
        (
            "%h %t \"%r\" %>s %{Referer",
            TemplateError::Unfinished("%{Referer".into()),
        ),
    ];
    for (format, want) in cases {
        assert_eq!(Template::new(format), Err(want), "{format}");
    }
    assert!(matches!(
        Template::new("$remote_addr$remote_user [$time_local] \"$request\" $status"),
        Err(TemplateError::Adjacent(_))
    ));
}

#[test]
fn a_line_with_invalid_utf8_bytes_is_read_with_them_replaced() {
    // nginx's `escape=json` passes a client's invalid bytes through unescaped.
    let mut line = br#"{"remote_addr":"192.0.2.1","time_local":"25/Nov/2026:08:00:01 +0000","request_uri":"/","status":200,"http_user_agent":"Bot "#.to_vec();
    line.extend_from_slice(b"\xff\xfe");
    line.extend_from_slice(br#" 1.0"}"#);
    let r = parser(Format::Json).parse(&line).expect("read");
    assert_eq!(r.user_agent.as_deref(), Some("Bot \u{fffd}\u{fffd} 1.0"));
}
