//! Redirect URI patterns and matching: never panics, and candidates carrying the classic
//! tricks (backslash, fragment, encoded dot segments) never match any pattern.
#![no_main]

use edge_oidc::oidc::uri_pattern::parse_redirect_pattern;
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
            let lower = candidate.to_ascii_lowercase();
            if candidate.contains('\\') || candidate.contains('#') || lower.contains("%2e") {
                assert!(!matched, "{pattern:?} matched the trick {candidate:?}");
            }
        }
        let _ = p.origin_pattern();
    }
});
