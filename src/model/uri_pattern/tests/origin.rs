//! Origin patterns, and the text forms (serde, what `url` serializes).

use super::*;

#[test]
fn origin_patterns_parse_and_normalize() {
    assert_eq!(
        origin("https://app.example.com").as_str(),
        "https://app.example.com"
    );
    assert_eq!(
        origin("HTTPS://App.Example.com:443/").as_str(),
        "https://app.example.com"
    );
    assert_eq!(
        origin("http://localhost:3000").as_str(),
        "http://localhost:3000"
    );
    assert_eq!(
        origin("https://*.example.com:8443").as_str(),
        "https://*.example.com:8443"
    );
    assert_eq!(origin("http://[::1]:8080").as_str(), "http://[::1]:8080");
    assert_eq!(
        "https://a.example".parse::<OriginPattern>(),
        Ok(origin("https://a.example/"))
    );
    assert!(parse_origin_pattern("*").is_err_and(|e| e.contains("any origin")));
    for s in [
        "null",
        "https://app.example.com/cb",
        "https://app.example.com/*",
        "https://app.example.com?x",
        "https://app.example.com/?x",
        "https://app.example.com#x",
        "https://user@app.example.com",
        "https://*.com",
        "https://a.*.example.com",
        "https://*",
        "ftp://app.example.com",
        "com.example.app:",
        "app.example.com",
        "https://app.example.com ",
    ] {
        assert!(parse_origin_pattern(s).is_err(), "accepted {s:?}");
    }
}

#[test]
fn origin_matching() {
    let p = origin("https://app.example.com");
    for yes in [
        "https://app.example.com",
        "HTTPS://APP.EXAMPLE.COM",
        "https://app.example.com:443",
    ] {
        assert!(p.matches(yes), "{yes:?}");
    }
    for no in [
        "null",
        "",
        "https://app.example.com/",
        "https://app.example.com/x",
        "https://app.example.com?x",
        "https://app.example.com#",
        "https://app.example.com:8443",
        "http://app.example.com",
        "https://evil.com",
        "https://app.example.com.evil.com",
        "https://app.example.com@evil.com",
        "https://x@app.example.com",
        "https://%61pp.example.com",
        "https://app.example.com ",
        "app.example.com",
    ] {
        assert!(!p.matches(no), "{no:?}");
    }
    let w = origin("https://*.example.com");
    assert!(w.matches("https://a.example.com"));
    assert!(!w.matches("https://example.com"));
    assert!(!w.matches("https://a.b.example.com"));
    assert!(!w.matches("http://a.example.com"));
    let http = origin("http://a.example:80");
    assert!(http.matches("http://a.example"));
    assert!(!http.matches("https://a.example"));
}

#[test]
fn origin_implied_by_redirect_pattern() {
    let o = |s: &str| pattern(s).origin_pattern().map(|o| o.to_string());
    assert_eq!(
        o("https://App.example.com/cb?x=1").as_deref(),
        Some("https://app.example.com")
    );
    assert_eq!(
        o("https://app.example.com:8443/p/*").as_deref(),
        Some("https://app.example.com:8443")
    );
    assert_eq!(
        o("https://*.example.com/cb").as_deref(),
        Some("https://*.example.com")
    );
    assert_eq!(
        o("http://127.0.0.1/cb").as_deref(),
        Some("http://127.0.0.1")
    );
    assert_eq!(o("*"), None);
    assert_eq!(native("com.example.app:/cb").origin_pattern(), None);
    // The implied origin is the same value a parse of its text gives.
    let implied = pattern("https://*.example.com/cb").origin_pattern();
    assert_eq!(implied, Some(origin("https://*.example.com")));
}

#[test]
fn serde_as_string() {
    let p = pattern("https://*.example.com/cb");
    let json = serde_json::to_string(&p).unwrap_or_default();
    assert_eq!(json, r#""https://*.example.com/cb""#);
    let back: Result<RedirectPattern, _> = serde_json::from_str(&json);
    assert_eq!(back.ok(), Some(p));
    let native_back: Result<RedirectPattern, _> = serde_json::from_str(r#""com.example.app:/cb""#);
    assert_eq!(native_back.ok(), Some(native("com.example.app:/cb")));
    let bad: Result<RedirectPattern, _> = serde_json::from_str(r#""https://*/cb""#);
    assert!(bad.is_err());

    let o = origin("https://a.example");
    let json = serde_json::to_string(&o).unwrap_or_default();
    assert_eq!(json, r#""https://a.example""#);
    let back: Result<OriginPattern, _> = serde_json::from_str(&json);
    assert_eq!(back.ok(), Some(o));
    let bad: Result<OriginPattern, _> = serde_json::from_str(r#""null""#);
    assert!(bad.is_err());
}

#[test]
fn exact_text_is_what_url_serializes() {
    for s in [
        "https://a.example/cb?x=%27&y",
        "https://a.example/caf\u{e9}",
        "https://a.example/x\"y",
        "http://a.example:8080",
        "https://a.example/cb?",
        "http://[::1]:8080/",
    ] {
        let p = pattern(s);
        let url = Url::parse(s).map(String::from).unwrap_or_default();
        assert_eq!(p.as_str(), url);
        assert!(p.matches(s, false));
        assert!(p.matches(p.as_str(), false));
    }
}
