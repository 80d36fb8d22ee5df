//! Redirect URI matching, and the spellings that must never match.

use super::*;

#[test]
fn exact_matches_normalized_candidate() {
    let p = pattern("https://app.example.com/cb?x=1");
    assert_matches(
        &p,
        &[
            "https://app.example.com/cb?x=1",
            "HTTPS://App.Example.com/cb?x=1",
            "https://app.example.com:443/cb?x=1",
        ],
        &[
            "https://app.example.com/cb",
            "https://app.example.com/cb?x=1&y=2",
            "https://app.example.com/cb?x=2",
            "https://app.example.com/CB?x=1",
            "https://app.example.com/cb/?x=1",
            "http://app.example.com/cb?x=1",
            "https://app.example.com:8443/cb?x=1",
            "https://app.example.com./cb?x=1",
            "https://evil.example.com/cb?x=1",
            "https://app.example.com.evil.com/cb?x=1",
        ],
    );
    // RFC 3986 §6.2.3: an empty port is the default port.
    assert!(pattern("https://app.example.com/cb").matches("https://app.example.com:/cb", false));
    let p = pattern("https://app.example.com");
    assert!(p.matches("https://app.example.com", false));
    assert!(p.matches("https://app.example.com/", false));
    assert!(!p.matches("https://app.example.com/?", false));
}

#[test]
fn path_wildcard() {
    let p = pattern("https://host.com/path/*");
    assert_matches(
        &p,
        &[
            "https://host.com/path/",
            "https://host.com/path/cb",
            "https://host.com/path/a/b/c?x=1&y",
            "https://HOST.com/path/cb",
            "https://host.com:443/path/x",
            "https://host.com/path/cb?",
        ],
        &[
            "https://host.com/path",
            "https://host.com/pathology",
            "https://host.com/pathology/x",
            "https://host.com/PATH/cb",
            "https://host.com/",
            "https://host.com",
            "https://host.com/other/path/cb",
            "http://host.com/path/cb",
            "https://host.com:444/path/cb",
            "https://sub.host.com/path/cb",
            "https://evil.com/path/cb",
            "https://host.com/path/../admin",
            "https://host.com/path/%2e%2e/admin",
            "https://host.com/path/..%2Fadmin",
            "https://host.com/path/%2E%2E%2Fadmin",
            "https://host.com/path/x%2f..%2f..%2fadmin",
            "https://host.com/path/%5c..%5cadmin",
            "https://host.com/path/%252e%252e/admin",
            "https://host.com/path/x#frag",
        ],
    );
    let root = pattern("https://host.com/*");
    assert!(root.matches("https://host.com", false));
    assert!(root.matches("https://host.com/anything/at/all?q", false));
    assert!(!root.matches("https://host.com.evil.com/", false));
}

#[test]
fn subdomain_wildcard() {
    let p = pattern("https://*.example.com/callback");
    assert_matches(
        &p,
        &[
            "https://a.example.com/callback",
            "https://app-1.example.com/callback",
            "https://0.example.com/callback",
            "https://APP.Example.COM/callback",
            "https://xn--bcher-kva.example.com/callback",
            "https://a.example.com:443/callback",
        ],
        &[
            "https://example.com/callback",
            "https://a.b.example.com/callback",
            "https://.example.com/callback",
            "https://-a.example.com/callback",
            "https://a-.example.com/callback",
            "https://a_b.example.com/callback",
            "https://*.example.com/callback",
            "https://a.example.com/callback/",
            "https://a.example.com/callback?x=1",
            "https://a.example.com/Callback",
            "https://a.example.com:8443/callback",
            "http://a.example.com/callback",
            "https://aexample.com/callback",
            "https://a.example.com.evil.com/callback",
            "https://a.example.co/callback",
            "https://b\u{fc}cher.example.com/callback",
            "https://%61.example.com/callback",
            "https://a%2eb.example.com/callback",
            "https://\u{ff41}.example.com/callback",
            "https://a\u{3002}example.com/callback",
        ],
    );
    let long = format!("https://{}.example.com/callback", "a".repeat(64));
    assert!(!p.matches(&long, false));
    let max = format!("https://{}.example.com/callback", "a".repeat(63));
    assert!(p.matches(&max, false));

    let both = pattern("https://*.example.com/app/*");
    assert!(both.matches("https://t1.example.com/app/cb?x", false));
    assert!(!both.matches("https://t1.example.com/apps/cb", false));
    assert!(!both.matches("https://a.t1.example.com/app/cb", false));
    assert!(!both.matches("https://t1.example.com/app/../x", false));

    let port = pattern("https://*.example.com:8443/cb");
    assert!(port.matches("https://a.example.com:8443/cb", false));
    assert!(!port.matches("https://a.example.com/cb", false));
}

#[test]
fn full_wildcard() {
    let p = pattern("*");
    assert_matches(
        &p,
        &[
            "https://anything.example/cb",
            "http://localhost:3000/cb",
            "http://127.0.0.1:9/x?y",
            "https://[::1]/",
        ],
        &[
            "ftp://example.com/",
            "javascript:alert(1)",
            "data:text/html,x",
            "file:///etc/passwd",
            "com.example.app:/cb",
            "https://example.com/cb#x",
            "https://user@example.com/",
            "https://example.com/a/../b",
            "https:example.com/cb",
            "https:/example.com/cb",
            "https:///example.com/cb",
            "//example.com/cb",
            "/cb",
            "",
            "*",
        ],
    );
}

#[test]
fn loopback_any_port_only_when_allowed() {
    let v4 = pattern("http://127.0.0.1/cb");
    assert!(v4.matches("http://127.0.0.1/cb", false));
    assert!(v4.matches("http://127.0.0.1:80/cb", false));
    assert!(!v4.matches("http://127.0.0.1:51004/cb", false));
    assert!(v4.matches("http://127.0.0.1:51004/cb", true));
    assert!(!v4.matches("http://127.0.0.1:51004/cb2", true));
    assert!(!v4.matches("http://127.0.0.1:51004/cb?x", true));
    assert!(!v4.matches("http://127.0.0.2:51004/cb", true));
    assert!(!v4.matches("http://localhost:51004/cb", true));
    assert!(!v4.matches("http://[::1]:51004/cb", true));
    assert!(!v4.matches("https://127.0.0.1:51004/cb", true));
    assert!(!v4.matches("http://2130706433:51004/cb", true));
    assert!(!v4.matches("http://0x7f.0.0.1:51004/cb", true));
    assert!(!v4.matches("http://127.1:51004/cb", true));
    assert!(!v4.matches("http://127.0.0.1:51004@evil.com/cb", true));

    let with_port = pattern("http://127.0.0.1:8080/cb");
    assert!(with_port.matches("http://127.0.0.1:9090/cb", true));
    assert!(!with_port.matches("http://127.0.0.1:9090/cb", false));

    let v6 = pattern("http://[::1]/cb");
    assert!(v6.matches("http://[::1]:8000/cb", true));
    assert!(!v6.matches("http://[::1]:8000/cb", false));
    assert!(!v6.matches("http://[0:0:0:0:0:0:0:1]:8000/cb", true));

    // RFC 8252 §8.3: `localhost` is not a loopback IP literal.
    let localhost = pattern("http://localhost:3000/cb");
    assert!(localhost.matches("http://localhost:3000/cb", true));
    assert!(!localhost.matches("http://localhost:3001/cb", true));

    // RFC 8252 §7.3 loopback redirects use `http`; an `https` pattern keeps its port.
    let tls = pattern("https://127.0.0.1/cb");
    assert!(!tls.matches("https://127.0.0.1:8443/cb", true));
}

// --- attacks -------------------------------------------------------------------------

#[test]
fn userinfo_is_refused() {
    for c in [
        "https://app.example.com@evil.com/cb",
        "https://user:pw@app.example.com/cb",
        "https://user@app.example.com/cb",
        "https://@app.example.com/cb",
        "https://app.example.com:443@evil.com/cb",
        "https://app.example.com%40evil.com/cb",
        "http://127.0.0.1@evil.com/cb",
    ] {
        refused_by_all(c);
    }
}

#[test]
fn dot_segments_and_encoded_separators_are_refused() {
    for c in [
        "https://app.example.com/path/../cb",
        "https://app.example.com/path/./cb",
        "https://app.example.com/cb/..",
        "https://app.example.com/cb/.",
        "https://app.example.com/./cb",
        "https://app.example.com/x/../cb",
        "https://app.example.com/x/%2e%2e/cb",
        "https://app.example.com/x/%2E%2E/cb",
        "https://app.example.com/x/.%2e/cb",
        "https://app.example.com/x/%2e./cb",
        "https://app.example.com/%2ecb",
        "https://app.example.com/path/%2fcb",
        "https://app.example.com/path/%2Fcb",
        "https://app.example.com/path/%5ccb",
        "https://app.example.com/path/%5Ccb",
        "https://app.example.com/path/%252e%252e/cb",
        "https://app.example.com/path/%00cb",
        "https://app.example.com/path/%0a",
        "https://app.example.com/path/%7f",
        "http://127.0.0.1/x/../cb",
    ] {
        refused_by_all(c);
    }
    // Dots inside a segment and in the query are ordinary characters.
    let p = pattern("https://app.example.com/path/*");
    assert!(p.matches("https://app.example.com/path/file.v2..txt", false));
    assert!(p.matches("https://app.example.com/path/cb?next=../x&y=%2e%2F", false));
}

#[test]
fn backslashes_fragments_and_whitespace_are_refused() {
    for c in [
        "https://app.example.com\\cb",
        "https://app.example.com/path\\..\\cb",
        "https://app.example.com\\@evil.com/cb",
        "https://evil.com\\.example.com/cb",
        "https://app.example.com/cb?x=\\",
        "https://app.example.com/cb#",
        "https://app.example.com/cb#frag",
        "https://app.example.com/path/cb#/../x",
        "https://app.example.com/cb\t",
        "https://app.example.com/c\tb",
        "https://app.exa\tmple.com/cb",
        "https://app.example.com/cb\n",
        "\nhttps://app.example.com/cb",
        " https://app.example.com/cb",
        "https://app.example.com/cb ",
        "https://app.example.com/c b",
        "https://app.example.com/cb\u{0}",
        "https://app.example.com/cb\u{7f}",
        "https://app.example.com/cb\u{85}",
        "https://app.example.com/cb\u{a0}",
        "https://app.example.com/cb\u{2028}",
        "https://app.example.com/cb\u{3000}",
    ] {
        refused_by_all(c);
    }
}

#[test]
fn host_spelling_tricks_are_refused() {
    for c in [
        "https://%61pp.example.com/cb",
        "https://app%2eexample.com/cb",
        "https://app.example.com%2f@evil.com/cb",
        "https://\u{ff41}pp.example.com/cb",
        "https://app\u{3002}example.com/cb",
        "https://app\u{ff0e}example.com/cb",
        "https://APP.EXAMPLE.COM\u{ff0f}cb",
        "https://app.example.com./cb",
        "https:app.example.com/cb",
        "https:/app.example.com/cb",
        "https:///app.example.com/cb",
        "https:\\\\app.example.com/cb",
        "http://0x7f000001/cb",
        "http://2130706433/cb",
        "http://0177.0.0.1/cb",
        "http://127.1/cb",
    ] {
        refused_by_all(c);
    }
}

#[test]
fn different_host_or_port_is_refused() {
    assert_matches(
        &pattern("https://app.example.com/cb"),
        &["https://app.example.com/cb"],
        &[
            "https://evil.com/cb",
            "https://app.example.com.evil.com/cb",
            "https://evilapp.example.com/cb",
            "https://sub.app.example.com/cb",
            "https://example.com/cb",
            "https://app.example.co/cb",
            "https://app.example.com:444/cb",
            "https://app.example.com:4430/cb",
            "http://app.example.com/cb",
            "http://app.example.com:443/cb",
            "wss://app.example.com/cb",
        ],
    );
}

#[test]
fn garbage_never_panics_or_matches() {
    for c in [
        "",
        "*",
        ":",
        "://",
        "https://",
        "https://[",
        "https://[::1",
        "https://]",
        "https://:80/cb",
        "https://app.example.com:abc/cb",
        "https://app.example.com:99999/cb",
        "%",
        "%2",
        "https://a.example.com/%",
        "https://a.example.com/%e",
        "https://a.example.com/cb?x=%",
        "https://a.example.com/cb?x=%zz",
        "https://a.example.com/%%32e",
        "\u{1F600}://x",
        "https://\u{1F600}.example.com/callback",
    ] {
        refused_by_all(c);
        let _ = parse_redirect_pattern(c, true);
        let _ = parse_origin_pattern(c);
        assert!(!origin("https://*.example.com").matches(c));
    }
}

// --- origins -------------------------------------------------------------------------
