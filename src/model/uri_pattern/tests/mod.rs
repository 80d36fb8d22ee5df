//! The URI pattern tests, by seam: parsing and normalization, redirect matching and the
//! refusals, origin patterns, and properties. The helpers shared by them are here.

use super::*;
use proptest::prelude::*;

mod matching;
mod origin;
mod parse;
mod properties;

fn pattern(s: &str) -> RedirectPattern {
    match parse_redirect_pattern(s, false) {
        Ok(p) => p,
        Err(e) => panic!("{s:?} should be a valid pattern: {e}"),
    }
}

fn native(s: &str) -> RedirectPattern {
    match parse_redirect_pattern(s, true) {
        Ok(p) => p,
        Err(e) => panic!("{s:?} should be a valid native pattern: {e}"),
    }
}

fn origin(s: &str) -> OriginPattern {
    match parse_origin_pattern(s) {
        Ok(p) => p,
        Err(e) => panic!("{s:?} should be a valid origin pattern: {e}"),
    }
}

fn rejected(s: &str) -> String {
    match parse_redirect_pattern(s, false) {
        Ok(p) => panic!("{s:?} should be rejected, got {p:?}"),
        Err(e) => e,
    }
}

fn assert_matches(p: &RedirectPattern, yes: &[&str], no: &[&str]) {
    for c in yes {
        assert!(p.matches(c, false), "{p} should match {c:?}");
    }
    for c in no {
        assert!(!p.matches(c, false), "{p} should not match {c:?}");
        assert!(!p.matches(c, true), "{p} should not match {c:?} (any port)");
    }
}

/// Every pattern kind, for attacks that must fail against all of them.
fn all_kinds() -> Vec<RedirectPattern> {
    [
        "*",
        "https://app.example.com/cb",
        "https://app.example.com/cb?x=1",
        "https://app.example.com/path/*",
        "https://app.example.com/*",
        "https://*.example.com/cb",
        "https://*.example.com/*",
        "http://127.0.0.1/cb",
        "http://127.0.0.1/*",
    ]
    .iter()
    .map(|s| pattern(s))
    .collect()
}

fn refused_by_all(candidate: &str) {
    for p in all_kinds() {
        assert!(!p.matches(candidate, false), "{p} matched {candidate:?}");
        assert!(!p.matches(candidate, true), "{p} matched {candidate:?}");
    }
}

// --- parsing -------------------------------------------------------------------------
