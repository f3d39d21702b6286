use super::*;

const APACHE: &str = r#"203.0.113.9 - frank [10/Oct/2025:13:55:36 -0700] "GET /products/colocation?utm_source=mail&email=a%40b.dk#top HTTP/1.1" 200 2326 "https://www.google.com/search?q=hosting+denmark" "Mozilla/5.0 (X11; Linux x86_64; rv:121.0) Gecko/20100101 Firefox/121.0""#;

#[test]
fn a_combined_line_is_read_and_queries_are_stripped_from_path_and_referrer() {
    let r = parse_combined(APACHE.as_bytes()).expect("parses");
    assert_eq!(r.ip, "203.0.113.9".parse::<IpAddr>().expect("ip"));
    assert_eq!(r.time.to_rfc3339(), "2025-10-10T13:55:36-07:00");
    assert_eq!((&*r.method, &*r.path), ("GET", "/products/colocation"));
    assert_eq!((r.status, r.bytes), (200, Some(2326)));
    assert_eq!(r.referrer.as_deref(), Some("https://www.google.com/search"));
    assert!(r
        .user_agent
        .as_deref()
        .unwrap_or("")
        .contains("Firefox/121.0"));
}

#[test]
fn ipv6_clients_and_dash_fields_are_read() {
    let line = r#"2001:db8::1 - - [25/Nov/2026:08:00:01 +0100] "HEAD / HTTP/2.0" 304 - "-" "-""#;
    let r = parse_combined(line.as_bytes()).expect("parses");
    assert_eq!(r.ip, "2001:db8::1".parse::<IpAddr>().expect("ip"));
    assert_eq!((r.bytes, r.referrer, r.user_agent), (None, None, None));
}

#[test]
fn nginx_hex_escapes_of_backslashes_and_non_ascii_bytes_are_unescaped() {
    // As nginx 1.22 writes them (seen in a real nginx's combined log).
    let line = r#"127.0.0.1 - - [25/Nov/2026:22:07:06 +0000] "GET /q HTTP/1.1" 404 153 "-" "Evil \x22quoted\x22 UA\x5Cwith backslash \xC3\xA6\xC3\xB8""#;
    let r = parse_combined(line.as_bytes()).expect("parses");
    assert_eq!(
        r.user_agent.as_deref(),
        Some(r#"Evil "quoted" UA\with backslash æø"#)
    );
    let trailing =
        r#"127.0.0.1 - - [25/Nov/2026:22:07:06 +0000] "GET / HTTP/1.1" 200 1 "-" "ends in \x5"#;
    assert!(
        parse_combined(trailing.as_bytes()).is_err(),
        "no closing quote"
    );
}

#[test]
fn escaped_quotes_in_the_user_agent_are_unescaped_apache_and_nginx_style() {
    let apache = r#"198.51.100.7 - - [25/Nov/2026:08:00:01 +0000] "GET / HTTP/1.1" 200 5 "-" "Bot \"quoted\" v1""#;
    let nginx = r#"198.51.100.7 - - [25/Nov/2026:08:00:01 +0000] "GET / HTTP/1.1" 200 5 "-" "Bot \x22quoted\x22 v1""#;
    for line in [apache, nginx] {
        let r = parse_combined(line.as_bytes()).expect("parses");
        assert_eq!(r.user_agent.as_deref(), Some("Bot \"quoted\" v1"), "{line}");
    }
}

#[test]
fn malformed_lines_are_rejected_with_their_reason() {
    let cases: &[(&[u8], Reject)] = &[
        (b"", Reject::Empty),
        (b"   \n", Reject::Empty),
        (b"not an ip - - [25/Nov/2026:08:00:01 +0000] \"GET / HTTP/1.1\" 200 5 \"-\" \"-\"", Reject::BadIp),
        (b"10.0.0.1 - - [31/Feb/2026:08:00:01 +0000] \"GET / HTTP/1.1\" 200 5 \"-\" \"-\"", Reject::ImpossibleDate),
        (b"10.0.0.1 - - [25/Nov/2026:25:61:99 +0000] \"GET / HTTP/1.1\" 200 5 \"-\" \"-\"", Reject::BadTime),
        (b"10.0.0.1 - - [25/Foo/2026:08:00:01 +0000] \"GET / HTTP/1.1\" 200 5 \"-\" \"-\"", Reject::BadTime),
        (b"10.0.0.1 - - [25/Nov/2026:08:00:01 +0000] \"\" 200 5 \"-\" \"-\"", Reject::BadRequest),
        (b"10.0.0.1 - - [25/Nov/2026:08:00:01 +0000] \"GET / HTTP/1.1\" 999 5 \"-\" \"-\"", Reject::BadStatus),
        (b"10.0.0.1 - - [25/Nov/2026:08:00:01 +0000] \"GET / HTTP/1.1\" 200 lots \"-\" \"-\"", Reject::BadBytes),
        (b"10.0.0.1 - - [25/Nov/2026:08:00:01 +0000] \"GET / HTTP/1.1\" 200 5 \"-\" \"unterminated", Reject::MissingField),
        (b"10.0.0.1 - - [25/Nov/2026:08:00:01 +0000] \"GET /\xff\xfe HTTP/1.1\" 200 5 \"-\" \"-\"", Reject::NotUtf8),
    ];
    for (line, want) in cases {
        assert_eq!(
            parse_combined(line),
            Err(*want),
            "{}",
            String::from_utf8_lossy(line)
        );
    }
}

#[test]
fn a_very_long_line_is_rejected_not_parsed() {
    let ua = "A".repeat(MAX_LINE + 1);
    let line = format!(
        "10.0.0.1 - - [25/Nov/2026:08:00:01 +0000] \"GET / HTTP/1.1\" 200 5 \"-\" \"{ua}\""
    );
    assert_eq!(parse_combined(line.as_bytes()), Err(Reject::TooLong));
}

#[test]
fn a_card_number_in_a_kept_field_rejects_the_line() {
    for line in [
        r#"10.0.0.1 - - [25/Nov/2026:08:00:01 +0000] "GET /pay/4111111111111111 HTTP/1.1" 200 5 "-" "-""#,
        r#"10.0.0.1 - - [25/Nov/2026:08:00:01 +0000] "GET /pay/4111%201111%201111%201111 HTTP/1.1" 200 5 "-" "-""#,
        r#"10.0.0.1 - - [25/Nov/2026:08:00:01 +0000] "GET / HTTP/1.1" 200 5 "https://shop.example/5555-5555-5555-4444" "-""#,
        r#"10.0.0.1 - 4111111111111111 [25/Nov/2026:08:00:01 +0000] "GET / HTTP/1.1" 200 5 "-" "-""#,
        r#"10.0.0.1 - - [25/Nov/2026:08:00:01 +0000] "GET / HTTP/1.1" 200 5 "-" "Agent/1.0 (4012 8888 8888 1881)""#,
        r#"10.0.0.1 - - [25/Nov/2026:08:00:01 +0000] "GET /pay/4111.1111.1111.1111 HTTP/1.1" 200 5 "-" "-""#,
        r#"10.0.0.1 - - [25/Nov/2026:08:00:01 +0000] "GET /pay/card4111111111111111 HTTP/1.1" 200 5 "-" "-""#,
        r#"10.0.0.1 - - [25/Nov/2026:08:00:01 +0000] "GET /pay/%34%31%31%31%2E1111%2E1111%2E1111 HTTP/1.1" 200 5 "-" "-""#,
        r#"10.0.0.1 - - [25/Nov/2026:08:00:01 +0000] "GET /pay/4111%C2%A01111%C2%A01111%C2%A01111 HTTP/1.1" 200 5 "-" "-""#,
        "10.0.0.1 - - [25/Nov/2026:08:00:01 +0000] \"GET / HTTP/1.1\" 200 5 \"-\" \"Agent \u{ff14}\u{ff11}\u{ff11}\u{ff11}111111111111\"",
    ] {
        assert_eq!(
            parse_combined(line.as_bytes()),
            Err(Reject::CardNumber),
            "{line}"
        );
    }
}

#[test]
fn a_card_number_only_in_a_query_string_is_cut_off_with_it_and_the_record_kept() {
    for line in [
        r#"10.0.0.1 - - [25/Nov/2026:08:00:01 +0000] "GET /pay?card=4111111111111111 HTTP/1.1" 200 5 "-" "-""#,
        r#"10.0.0.1 - - [25/Nov/2026:08:00:01 +0000] "GET /pay?card=4111%201111%201111%201111 HTTP/1.1" 200 5 "https://shop.example/?cc=5555-5555-5555-4444" "-""#,
    ] {
        let record = parse_combined(line.as_bytes()).expect("kept");
        assert_eq!(record.path, "/pay", "{line}");
        let kept = format!("{:?}{:?}", record.path, record.referrer);
        assert!(!kept.contains("1111") && !kept.contains("4444"), "{kept}");
    }
}

#[test]
fn json_lines_with_nginx_field_names_are_read() {
    let line = r#"{"remote_addr":"2001:db8::7","time_iso8601":"2026-11-25T08:00:01+01:00","method":"POST","request_uri":"/login?next=/dashboard","status":"302","body_bytes_sent":"0","http_referer":"https://asergo.com/?utm=x","http_user_agent":"curl/8.4.0"}"#;
    let r = parse_json(line.as_bytes()).expect("parses");
    assert_eq!(r.path, "/login");
    assert_eq!((r.status, r.bytes), (302, Some(0)));
    assert_eq!(r.referrer.as_deref(), Some("https://asergo.com/"));
    assert_eq!(r.user_agent.as_deref(), Some("curl/8.4.0"));
    assert_eq!(
        parse_json(b"{\"ip\":\"1.2.3.4\"}"),
        Err(Reject::Shape(crate::Format::Json))
    );
    assert_eq!(parse_json(b"{not json"), Err(Reject::NotJson));
    assert_eq!(
        parse_json(b"[1,2]"),
        Err(Reject::Shape(crate::Format::Json))
    );
}

#[test]
fn the_remote_user_and_language_are_read_for_linking_only() {
    let r = parse_combined(APACHE.as_bytes()).expect("parses");
    assert_eq!(r.user.as_deref(), Some("frank"));
    let anonymous =
        r#"2001:db8::1 - - [25/Nov/2026:08:00:01 +0100] "GET / HTTP/2.0" 200 1 "-" "-""#;
    assert_eq!(
        parse_combined(anonymous.as_bytes()).expect("parses").user,
        None
    );
    let json = br#"{"ip":"192.0.2.1","time":"2026-11-25T08:00:00Z","path":"/","status":200,"user_id":"U-1","accept_language":"de-DE,de;q=0.9,en;q=0.5"}"#;
    let r = parse_json(json).expect("parses");
    assert_eq!(
        (r.user.as_deref(), r.language.as_deref()),
        (Some("U-1"), Some("de-DE"))
    );
    let odd = br#"{"ip":"192.0.2.1","time":"2026-11-25T08:00:00Z","path":"/","status":200,"language":"<script>"}"#;
    assert_eq!(
        parse_json(odd).expect("parses").language,
        None,
        "not a language tag"
    );
}
