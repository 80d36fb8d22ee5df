//! CORS origin patterns: never panics; `null` and anything with a path never match.
#![no_main]

use edge_oidc::model::uri_pattern::parse_origin_pattern;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let (pattern, origin) = text.split_once('\n').unwrap_or((&text, ""));
    if let Ok(p) = parse_origin_pattern(pattern) {
        let matched = p.matches(origin);
        if origin == "null" || origin.splitn(4, '/').nth(3).is_some() {
            assert!(!matched, "{pattern:?} matched {origin:?}");
        }
    }
});
