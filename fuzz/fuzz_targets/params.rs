//! Form and query parsing (RFC 6749 §3.1): never panics, re-encoding keeps every
//! value, and the strict parser agrees with the lenient one wherever it accepts.
#![no_main]

use edge_oidc::oidc::params::Params;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let params = Params::parse(&text);
    // The strict parser either refuses or agrees with the lenient one.
    if let Ok(strict) = Params::from_wire(&text) {
        assert_eq!(strict, params, "from_wire disagrees with parse");
    }
    let again = Params::parse(&params.to_query());
    for name in [
        "client_id",
        "redirect_uri",
        "scope",
        "state",
        "code",
        "code_verifier",
        "",
    ] {
        // Repeats and empties behave the same after a round trip.
        assert_eq!(
            params.get(name).map(|v| v.map(str::to_string)).ok(),
            again.get(name).map(|v| v.map(str::to_string)).ok(),
            "round trip changed {name:?}"
        );
    }
});
