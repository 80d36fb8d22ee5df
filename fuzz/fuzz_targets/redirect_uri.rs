//! Redirect URI patterns and matching: never panics, and candidates carrying the classic
//! tricks (a backslash or fragment anywhere, an encoded dot in the path) never match any
//! pattern. An encoded dot in the query is ordinary data (`?email=a%2eb`) and may match.
#![no_main]

use edge_oidc::model::uri_pattern::parse_redirect_pattern;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let (pattern, candidate) = text.split_once('\n').unwrap_or((&text, ""));
    for private in [false, true] {
        let Ok(p) = parse_redirect_pattern(pattern, private) else {
            continue;
        };
        // A stored pattern parses again to itself.
        assert_eq!(
            parse_redirect_pattern(p.as_str(), true).ok().as_ref(),
            Some(&p)
        );
        for loopback in [false, true] {
            let matched = p.matches(candidate, loopback);
            let before_query = candidate.split(['?', '#']).next().unwrap_or("");
            let dotted_path = before_query.to_ascii_lowercase().contains("%2e");
            if candidate.contains('\\') || candidate.contains('#') || dotted_path {
                assert!(!matched, "{pattern:?} matched the trick {candidate:?}");
            }
        }
        let _ = p.origin_pattern();
    }
});
