//! Properties checked on generated input.

use super::*;

/// Independent restatement of the label rule, including upper case, which the `url`
/// crate lowercases before comparison.
fn oracle_label(label: &str) -> bool {
    let b = label.as_bytes();
    !b.is_empty()
        && b.len() <= 63
        && b.first() != Some(&b'-')
        && b.last() != Some(&b'-')
        && b.iter().all(|c| c.is_ascii_alphanumeric() || *c == b'-')
}

fn label_strategy() -> impl Strategy<Value = String> {
    prop_oneof![
        "[a-z0-9-]{1,63}",
        "[a-zA-Z0-9-]{0,70}",
        "-?[a-z0-9]{1,4}-?",
        "[a-z0-9]{1,5}(\\.[a-z0-9]{0,5}){1,2}",
        "[a-z0-9._*%@:/?#\\\\-]{0,12}",
        "\\PC{0,8}",
        any::<String>(),
    ]
}

/// Hosts that may or may not be valid.
fn host_strategy() -> impl Strategy<Value = String> {
    prop_oneof![
        "[a-z0-9-]{1,10}(\\.[a-z0-9-]{1,10}){0,3}",
        "[a-zA-Z0-9.%_-]{1,20}",
        "[0-9]{1,3}(\\.[0-9]{1,3}){0,3}",
    ]
}

fn path_strategy() -> impl Strategy<Value = String> {
    // A first character other than `.` keeps out dot segments, which patterns refuse.
    proptest::collection::vec(
        "([a-zA-Z0-9_~!$&'()+,;=:@-][a-zA-Z0-9._~!$&'()+,;=:@-]{0,7})?",
        0..5,
    )
    .prop_map(|segments| format!("/{}", segments.join("/")))
}

fn insert_at(s: &str, index: usize, what: &str) -> String {
    let boundaries: Vec<usize> = (0..=s.len()).filter(|i| s.is_char_boundary(*i)).collect();
    let at = boundaries
        .get(index % boundaries.len())
        .copied()
        .unwrap_or(0);
    let (a, b) = s.split_at(at);
    format!("{a}{what}{b}")
}

proptest! {
    // No regression files: they would land in the source tree.
    #![proptest_config(ProptestConfig {
        cases: 512,
        failure_persistence: None,
        ..ProptestConfig::default()
    })]

    #[test]
    fn subdomain_wildcard_iff_single_label(label in label_strategy()) {
        // Punycode labels are checked by the URL parser itself; covered by unit tests.
        prop_assume!(!label.to_ascii_lowercase().starts_with("xn--"));
        let p = pattern("https://*.example.com/cb");
        let candidate = format!("https://{label}.example.com/cb");
        prop_assert_eq!(p.matches(&candidate, false), oracle_label(&label), "{}", candidate);
    }

    #[test]
    fn tricks_never_match(
        path in path_strategy(),
        dots in prop_oneof![Just("."), Just("..")],
        dots_index in any::<usize>(),
        encoded in prop_oneof![
            Just("%2e"), Just("%2E"), Just("%2e%2e"), Just(".%2E"), Just("%2f"), Just("%2F"),
            Just("%5c"), Just("%5C"), Just("%252e"), Just("%00"), Just("%1F"), Just("%7f"),
            Just("%%"), Just("%g"), Just("%zz"),
        ],
        encoded_index in any::<usize>(),
        anywhere in prop_oneof![
            Just("\\"), Just("#"), Just(" "), Just("\t"), Just("\n"), Just("\r"),
            Just("\u{0}"), Just("\u{a0}"),
        ],
        anywhere_index in any::<usize>(),
        at_index in any::<usize>(),
    ) {
        let host = "app.example.com";
        let base = format!("https://{host}{path}");
        let mut segments: Vec<&str> = path.split('/').skip(1).collect();
        let at = dots_index % (segments.len() + 1);
        segments.insert(at, dots);
        let with_dots = format!("https://{host}/{}", segments.join("/"));
        let with_encoded = format!("https://{host}{}", insert_at(&path, encoded_index, encoded));
        let with_any = insert_at(&base, anywhere_index, anywhere);
        let with_at = format!("https://{}{path}", insert_at(host, at_index, "@"));
        let patterns = [
            pattern("*"),
            pattern("https://app.example.com/*"),
            pattern("https://*.example.com/*"),
            pattern(&base),
        ];
        for p in &patterns {
            prop_assert!(p.matches(&base, false), "{} should match {}", p, base);
            for candidate in [&with_dots, &with_encoded, &with_any, &with_at] {
                prop_assert!(!p.matches(candidate, true), "{} matched {:?}", p, candidate);
            }
        }
    }

    #[test]
    fn exact_host_never_matches_another_host(a in host_strategy(), b in host_strategy(), path in path_strategy()) {
        prop_assume!(!a.eq_ignore_ascii_case(&b));
        if let Ok(p) = parse_redirect_pattern(&format!("https://{a}{path}"), false) {
            let other = format!("https://{b}{path}");
            prop_assert!(!p.matches(&other, true), "{}", other);
        }
    }

    #[test]
    fn exact_pattern_matches_its_normalized_text(
        host in host_strategy(),
        port in proptest::option::of(any::<u16>()),
        path in path_strategy(),
        query in proptest::option::of("[a-zA-Z0-9=&%._~'\"-]{0,10}"),
        upper in any::<bool>(),
    ) {
        let port = port.map(|p| format!(":{p}")).unwrap_or_default();
        let query = query.map(|q| format!("?{q}")).unwrap_or_default();
        let scheme = if upper { "HTTPS" } else { "https" };
        let host = if upper { host.to_ascii_uppercase() } else { host };
        let s = format!("{scheme}://{host}{port}{path}{query}");
        if let Ok(p) = parse_redirect_pattern(&s, false) {
            prop_assert!(p.matches(p.as_str(), false), "{} vs {}", p, s);
            prop_assert!(p.matches(&s, false), "{} vs {}", p, s);
            prop_assert_eq!(parse_redirect_pattern(p.as_str(), false), Ok(p.clone()));
            if let Some(o) = p.origin_pattern() {
                let origin = Url::parse(p.as_str()).map(|u| u.origin().ascii_serialization());
                prop_assert_eq!(Ok(o.to_string()), origin.clone());
                prop_assert!(o.matches(&origin.unwrap_or_default()));
            }
        }
    }

    #[test]
    fn path_wildcard_covers_exactly_its_subtree(prefix in path_strategy(), rest in path_strategy(), sibling in "[a-z0-9]{1,5}") {
        let prefix = prefix.trim_end_matches('/');
        prop_assume!(!prefix.split('/').any(|s| s == "." || s == ".."));
        let p = pattern(&format!("https://host.example{prefix}/*"));
        let under = format!("https://host.example{prefix}{rest}");
        let rest_safe = !rest.split('/').any(|s| s == "." || s == "..");
        prop_assert_eq!(p.matches(&under, false), rest_safe, "{}", under);
        let without_slash = format!("https://host.example{prefix}");
        prop_assert!(!p.matches(&without_slash, false) || prefix.is_empty());
        let beside = format!("https://host.example{prefix}{sibling}/x");
        prop_assert!(!p.matches(&beside, false), "{}", beside);
    }

    #[test]
    fn origins_never_match_null_or_paths(host in host_strategy(), path in "/\\PC{0,8}") {
        if let Ok(o) = parse_origin_pattern(&format!("https://{host}")) {
            prop_assert!(!o.matches("null"));
            prop_assert!(o.matches(o.as_str()));
            let with_path = format!("{}{path}", o.as_str());
            prop_assert!(!o.matches(&with_path), "{}", with_path);
        }
    }

    #[test]
    fn nothing_panics(s in any::<String>(), allow in any::<bool>(), any_port in any::<bool>()) {
        if let Ok(p) = parse_redirect_pattern(&s, allow) {
            let _ = p.matches(&s, any_port);
            let _ = p.origin_pattern();
        }
        if let Ok(o) = parse_origin_pattern(&s) {
            let _ = o.matches(&s);
        }
        for p in all_kinds() {
            let _ = p.matches(&s, any_port);
        }
    }
}
