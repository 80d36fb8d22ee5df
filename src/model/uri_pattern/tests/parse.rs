//! Parsing: normalization, where wildcards may stand, rejections and warnings.

use super::*;

#[test]
fn patterns_are_normalized() {
    assert_eq!(
        pattern("HTTPS://App.Example.COM:443/cb?x=1").as_str(),
        "https://app.example.com/cb?x=1"
    );
    assert_eq!(
        pattern("https://app.example.com").as_str(),
        "https://app.example.com/"
    );
    assert_eq!(
        pattern("http://a.example:8080/").as_str(),
        "http://a.example:8080/"
    );
    assert_eq!(
        pattern("HTTPS://*.Example.com/P/*").as_str(),
        "https://*.example.com/P/*"
    );
    assert_eq!(
        pattern("https://*.example.com:8443/cb").as_str(),
        "https://*.example.com:8443/cb"
    );
    assert_eq!(
        pattern("http://[::1]:1234/cb").as_str(),
        "http://[::1]:1234/cb"
    );
    assert_eq!(
        native("Com.Example.App:/callback").as_str(),
        "com.example.app:/callback"
    );
    assert_eq!(pattern("*").as_str(), "*");
}

#[test]
fn normalized_text_round_trips() {
    for p in all_kinds() {
        assert_eq!(parse_redirect_pattern(p.as_str(), false), Ok(p.clone()));
        assert_eq!(p.to_string(), p.as_str());
    }
}

#[test]
fn wildcards_only_in_their_two_places() {
    for s in [
        "https://exa*mple.com/cb",
        "https://*/cb",
        "https://*.com/cb",
        "https://*.*.example.com/cb",
        "https://a.*.example.com/cb",
        "https://*a.example.com/cb",
        "https://*example.com/cb",
        "https://example.*/cb",
        "https://host/*/x",
        "https://host/a*",
        "https://host/a/b*",
        "https://host/*/",
        "https://host*",
        "https://host/cb?x=*",
        "https://host/path/*?x=1",
        "https://host/**",
        "*://host/cb",
        "https*://host/cb",
        "**",
        "https://*.[::1]/cb",
        "https://*.127.0.0.1/cb",
        "https://*.exa_mple.com/cb",
        "https://*.-example.com/cb",
        "https://*..com/cb",
    ] {
        rejected(s);
    }
    assert!(rejected("https://exa*mple.com").contains("first label"));
    assert!(rejected("https://*.com/cb").contains("two DNS labels"));
    assert!(rejected("https://host/*/x").contains("last path segment"));
}

#[test]
fn structural_rejections_have_reasons() {
    assert!(rejected("https://app.example.com/cb#frag").contains("fragment"));
    assert!(rejected("https://app.example.com/cb#").contains("fragment"));
    assert!(rejected("ftp://app.example.com/cb").contains("http or https"));
    assert!(rejected("com.example.app:/cb").contains("http or https"));
    assert!(rejected("https://user@app.example.com/cb").contains("user information"));
    assert!(rejected("https://user:pw@app.example.com/cb").contains("user information"));
    assert!(rejected("https://app.example.com@evil.com/").contains("user information"));
    assert!(rejected("/relative/cb").contains("absolute"));
    assert!(rejected("https:app.example.com/cb").contains("absolute"));
    assert!(rejected("https:///cb").contains("host"));
    assert!(rejected("https://app.example.com/a/../cb").contains("path"));
    assert!(rejected("https://app.example.com/%2e%2e/cb").contains("path"));
    assert!(rejected("https://app.example.com/ cb").contains("whitespace"));
    assert!(rejected("https://app.example.com\\cb").contains("backslash"));
    assert!(rejected("").contains("empty"));
    assert!(rejected("https://b\u{fc}cher.example/cb").contains("xn--"));
    assert!(rejected("https://\u{ff41}pp.example.com/cb").contains("xn--"));
    parse_redirect_pattern("https://xn--bcher-kva.example/cb", false).unwrap();
    assert!(rejected("https://%61pp.example.com/cb").contains("app.example.com"));
    assert!(rejected("https://0x7f.1/cb").contains("127.0.0.1"));
    rejected("https://app.example.com:99999/cb");
    rejected("https://[::1/cb");
}

#[test]
fn private_schemes_only_when_allowed_and_exact() {
    let p = native("com.example.app:/callback");
    assert_eq!(p.warning(), None);
    assert!(p.matches("com.example.app:/callback", false));
    assert!(p.matches("COM.EXAMPLE.APP:/callback", false));
    for c in [
        "com.example.app:/callback/",
        "com.example.app:/Callback",
        "com.example.app:/x/../callback",
        "com.example.app:/./callback",
        "com.example.app:/callback#x",
        "com.example.app:/callback?x",
        "com.example.evil:/callback",
        "https://com.example.app/callback",
        "com.example.app:/callback ",
    ] {
        assert!(!p.matches(c, true), "matched {c:?}");
    }
    let p = native("com.example.app://auth/cb");
    assert!(p.matches("com.example.app://auth/cb", false));
    assert!(!p.matches("com.example.app://user@auth/cb", false));

    for s in [
        "javascript:alert(1)",
        "data:text/html,hi",
        "file:///etc/passwd",
        "myapp://cb",
        "com.example.app:/*",
        "com.*.app:/cb",
        "com.example.app:/cb#x",
        "com.example.app://u@h/cb",
        "com.example.app:/a/../cb",
    ] {
        assert!(parse_redirect_pattern(s, true).is_err(), "accepted {s:?}");
    }
    // `*` never covers private schemes.
    assert!(!pattern("*").matches("com.example.app:/callback", false));
}

#[test]
fn warnings() {
    assert_eq!(pattern("https://app.example.com/cb").warning(), None);
    assert_eq!(pattern("http://127.0.0.1/cb").warning(), None);
    assert_eq!(
        pattern("https://app.example.com/p/*").warning(),
        Some(WILDCARD_WARNING)
    );
    assert_eq!(
        pattern("https://*.example.com/cb").warning(),
        Some(WILDCARD_WARNING)
    );
    assert_eq!(pattern("*").warning(), Some(FULL_WILDCARD_WARNING));
    assert!(WILDCARD_WARNING.contains("RFC 9700 §4.1.3"));
    assert!(!pattern("https://app.example.com/cb").is_wildcard());
    assert!(pattern("https://*.example.com/cb").is_wildcard());
}

// --- positive matches --------------------------------------------------------------
