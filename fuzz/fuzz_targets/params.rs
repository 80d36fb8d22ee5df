//! Form and query parsing (RFC 6749 §3.1): never panics, and re-encoding keeps every value.
#![no_main]

use edge_oidc::oidc::params::Params;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let params = Params::parse(&text);
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
