//! `/authorize`, `/login` and `/consent`: the browser's part of the code flow.

use super::*;
use crate::oidc::audit::Event;

#[test]
fn without_a_session_authorize_shows_the_login_page_with_a_csrf_cookie() {
    let f = world();
    let r = call(
        &f,
        get(&authorize_path("app1", "&login_hint=ada%40example.com")),
    );
    assert_page(&r, 200);
    let cookie = set_cookie(&r, CSRF_COOKIE).unwrap();
    let value = cookie_value(&r, CSRF_COOKIE).unwrap();
    assert_eq!(
        cookie,
        format!("{CSRF_COOKIE}={value}; Path=/; Max-Age=3600; HttpOnly; SameSite=Lax; Secure")
    );
    assert!(set_cookie(&r, SESSION_COOKIE).is_none());
    assert!(r.get_header("Location").is_none());
    let page = body_text(&r);
    assert!(page.contains("<form method=\"post\" action=\"/login\">"));
    assert!(
        page.contains("value=\"ada@example.com\""),
        "login_hint fills the email"
    );
    // Double submit: the form's token is the cookie's.
    let login = PageForm::read(&r, "auth_request");
    assert_eq!(login.csrf_token, value);
    let carried = crate::oidc::params::Params::parse(&login.carried);
    assert_eq!(carried.get("client_id").unwrap(), Some("app1"));
    assert_eq!(carried.get("redirect_uri").unwrap(), Some(REDIRECT));
    assert_eq!(carried.get("code_challenge").unwrap(), Some(CHALLENGE));
}

#[test]
fn a_form_post_to_authorize_is_read_like_the_query() {
    let f = world();
    let query = authorize_path("app1", "");
    let body = query.split_once('?').unwrap().1;
    let r = call(&f, form("/authorize", body));
    assert_page(&r, 200);
    assert!(body_text(&r).contains("action=\"/login\""));
    // A POST must be a form.
    let r = call(
        &f,
        Request::new(Method::Post, ISSUER, "/authorize").with_body(body.to_string()),
    );
    assert_page(&r, 400);
    assert!(body_text(&r).contains("application/x-www-form-urlencoded"));
}

#[test]
fn an_untrusted_client_or_redirect_uri_gets_a_page_and_never_a_redirect() {
    let f = world();
    let unknown_client = authorize_path("ghost", "");
    let unregistered =
        authorize_path("app1", "").replace(&enc(REDIRECT), &enc("https://evil.example/cb"));
    let no_client = "/authorize?response_type=code&scope=openid".to_string();
    for (path, error) in [
        (unknown_client, "invalid_client"),
        (unregistered, "the redirect_uri is not registered"),
        (no_client, "the client_id parameter is required"),
    ] {
        let r = call(&f, get(&path));
        assert_page(&r, 400);
        assert!(r.get_header("Location").is_none(), "{path}");
        assert!(body_text(&r).contains(error), "{path}: {}", body_text(&r));
        assert!(!body_text(&r).contains("evil.example"), "{path}");
    }
}

#[test]
fn errors_after_the_redirect_uri_is_trusted_go_back_to_it_with_state_and_iss() {
    let f = world();
    let no_pkce = format!(
        "/authorize?response_type=code&client_id=app1&redirect_uri={}&scope=openid&state=s2",
        enc(REDIRECT)
    );
    let token_flow =
        authorize_path("app1", "").replace("response_type=code", "response_type=token");
    for (path, error, state) in [
        (
            authorize_path("app1", "&prompt=none"),
            "login_required",
            "st-1",
        ),
        (no_pkce, "invalid_request", "s2"),
        (token_flow, "unsupported_response_type", "st-1"),
    ] {
        let r = call(&f, get(&path));
        assert_eq!(r.status, 302, "{path}: {}", body_text(&r));
        assert_eq!(r.get_header("Cache-Control"), Some("no-store"));
        let (base, params) = location(&r);
        assert_eq!(base, "https://app.example/cb", "{path}");
        assert_eq!(params["tenant"], "1", "the registered query is kept");
        assert_eq!(params["error"], error, "{path}");
        assert!(params.contains_key("error_description"));
        assert_eq!(params["state"], state);
        assert_eq!(params["iss"], ISSUER);
        assert!(!params.contains_key("code"));
    }
}

#[test]
fn the_code_flow_end_to_end() {
    let f = world();
    // The login page.
    let page = call(&f, get(&authorize_path("app1", "")));
    assert_page(&page, 200);
    let login = PageForm::read(&page, "auth_request");

    // A wrong password: the page again, 401, with a fresh CSRF cookie and no session.
    let r = call(
        &f,
        login.submit("/login", "email=ada%40example.com&password=wrong", None),
    );
    assert_page(&r, 401);
    assert!(body_text(&r).contains("Invalid email or password."));
    assert!(body_text(&r).contains("value=\"ada@example.com\""));
    assert!(set_cookie(&r, SESSION_COOKIE).is_none());
    assert!(cookie_value(&r, CSRF_COOKIE).is_some());
    assert_eq!(f.sessions.sessions.borrow().len(), 0);

    // The right password: 303 back to the application with a code, state and iss.
    let r = log_in_as_ada(&f, &login);
    assert_eq!(r.status, 303, "{}", body_text(&r));
    assert_eq!(r.get_header("Cache-Control"), Some("no-store"));
    assert_eq!(r.get_header("Referrer-Policy"), Some("no-referrer"));
    let (base, params) = location(&r);
    assert_eq!(base, "https://app.example/cb");
    assert_eq!(params["tenant"], "1");
    assert_eq!(params["state"], "st-1");
    assert_eq!(params["iss"], ISSUER);
    let code = params["code"].clone();
    let session = cookie_value(&r, SESSION_COOKIE).unwrap();
    assert!(!session.is_empty());
    let session_cookie = set_cookie(&r, SESSION_COOKIE).unwrap();
    assert!(session_cookie.ends_with("; HttpOnly; SameSite=Lax; Secure"));
    assert!(!session_cookie.contains("Max-Age=0;"));
    assert_eq!(
        set_cookie(&r, CSRF_COOKIE),
        Some(format!("{CSRF_COOKIE}=; Path=/; Max-Age=0; HttpOnly; SameSite=Lax; Secure").as_str()),
        "the used CSRF cookie is cleared"
    );
    assert_eq!(
        f.audit.events(),
        [Event::LoginFailed, Event::LoginSucceeded]
    );

    // The token request.
    let r = redeem(&f, &code);
    assert_eq!(r.status, 200, "{}", body_text(&r));
    assert_eq!(r.get_header("Cache-Control"), Some("no-store"));
    assert_eq!(r.get_header("Pragma"), Some("no-cache"));
    assert_eq!(r.get_header("Vary"), Some("Origin"));
    let t = body_json(&r);
    assert_eq!(t["token_type"], "Bearer");
    assert_eq!(t["scope"], "openid profile email offline_access");
    let access = t["access_token"].as_str().unwrap().to_string();
    assert!(!access.contains('.'), "opaque, for userinfo only: {access}");
    assert!(t["id_token"].is_string());
    let refresh = t["refresh_token"].as_str().unwrap().to_string();

    // UserInfo with the access token.
    let r = call(
        &f,
        get("/userinfo").with_header("Authorization", &format!("Bearer {access}")),
    );
    assert_eq!(r.status, 200, "{}", body_text(&r));
    assert_eq!(r.get_header("Cache-Control"), Some("no-store"));
    let info = body_json(&r);
    assert_eq!(info["sub"], "u1");
    assert_eq!(info["email"], "ada@example.com");
    assert_eq!(info["name"], "Ada");

    // The code again: refused, and what it gave out is revoked (RFC 6749 §4.1.2).
    let r = redeem(&f, &code);
    assert_error(&r, 400, "invalid_grant", "already used");
    assert_eq!(r.get_header("Cache-Control"), Some("no-store"));
    let r = refresh_grant(&f, &refresh);
    assert_error(&r, 400, "invalid_grant", "");

    // The access token went with the grant.
    let r = call(
        &f,
        get("/userinfo").with_header("Authorization", &format!("Bearer {access}")),
    );
    assert_eq!(r.status, 401, "{}", body_text(&r));

    // Single sign-on: the session cookie alone gets the next code, with prompt=none too.
    for extra in ["", "&prompt=none"] {
        let r = call(
            &f,
            with_session(get(&authorize_path("app1", extra)), &session),
        );
        assert_eq!(r.status, 302, "{extra}: {}", body_text(&r));
        assert!(set_cookie(&r, SESSION_COOKIE).is_none());
        let (base, params) = location(&r);
        assert_eq!(base, "https://app.example/cb");
        assert_ne!(params["code"], code);
        assert_eq!(params["state"], "st-1");
        assert_eq!(params["iss"], ISSUER);
        assert_eq!(redeem(&f, &params["code"]).status, 200);
    }
    // prompt=login asks again despite the session.
    let r = call(
        &f,
        with_session(get(&authorize_path("app1", "&prompt=login")), &session),
    );
    assert_page(&r, 200);
    assert!(body_text(&r).contains("action=\"/login\""));
}

#[test]
fn login_and_consent_only_take_posts() {
    let f = world();
    for path in ["/login", "/consent"] {
        for method in [Method::Get, Method::Put, Method::Delete] {
            let r = call(&f, Request::new(method, ISSUER, path));
            assert_405(&r, "POST");
        }
    }
    for method in [Method::Put, Method::Delete, Method::Options] {
        let r = call(
            &f,
            Request::new(method, ISSUER, &authorize_path("app1", "")),
        );
        assert_405(&r, "GET, POST");
    }
}

#[test]
fn a_login_form_without_a_matching_csrf_token_is_refused() {
    let f = world();
    let page = call(&f, get(&authorize_path("app1", "")));
    let login = PageForm::read(&page, "auth_request");
    let credentials = "email=ada%40example.com&password=correct+horse";
    let body = format!(
        "csrf_token={}&auth_request={}&{credentials}",
        enc(&login.csrf_token),
        enc(&login.carried)
    );
    let without_token = format!("auth_request={}&{credentials}", enc(&login.carried));
    let cookie = format!("{CSRF_COOKIE}={}", login.csrf_cookie);
    let other_cookie = format!("{CSRF_COOKIE}=someone-elses");
    // Over https only the `__Host-` cookie counts: a plain one could be planted.
    let plain_cookie = format!("oidc_csrf={}", login.csrf_cookie);
    for (body, cookie) in [
        (&body, None),
        (&body, Some(&other_cookie)),
        (&body, Some(&plain_cookie)),
        (&without_token, Some(&cookie)),
    ] {
        let mut req = form("/login", body);
        if let Some(c) = cookie {
            req = req.with_header("Cookie", c);
        }
        let r = call(&f, req);
        assert_page(&r, 400);
        assert!(body_text(&r).contains("the form expired"), "{cookie:?}");
        assert!(r.get_header("Location").is_none());
        assert!(set_cookie(&r, SESSION_COOKIE).is_none());
    }
    assert!(f.audit.events().is_empty(), "no password was checked");
    assert_eq!(f.sessions.sessions.borrow().len(), 0);

    // A form whose carried request was tampered with is checked afresh.
    let tampered = PageForm {
        carried: login.carried.replace("client_id=app1", "client_id=ghost"),
        ..login
    };
    let r = call(&f, tampered.submit("/login", credentials, None));
    assert_page(&r, 400);
    assert!(body_text(&r).contains("unknown client_id"));
}

#[test]
fn a_third_party_application_asks_for_consent_and_remembers_it() {
    let f = world();
    third_party(&f);
    let r = sign_in(&f, "app1");
    assert_page(&r, 200);
    let page = body_text(&r);
    assert!(page.contains("<h1>Authorize App</h1>"), "{page}");
    assert!(page.contains("Signed in as ada@example.com"));
    assert!(page.contains("<code>app.example</code>"));
    assert!(page.contains("action=\"/consent\""));
    let session = cookie_value(&r, SESSION_COOKIE).expect("the session starts at login");
    let consent = PageForm::read(&r, "auth_request");
    assert!(f.store.consents.borrow().is_empty());

    let r = call(
        &f,
        consent.submit("/consent", "decision=allow", Some(&session)),
    );
    assert_eq!(r.status, 303, "{}", body_text(&r));
    let (base, params) = location(&r);
    assert_eq!(base, "https://app.example/cb");
    assert_eq!(params["state"], "st-1");
    assert_eq!(params["iss"], ISSUER);
    assert_eq!(redeem(&f, &params["code"]).status, 200);
    let stored = f.store.consents.borrow()[&("u1".to_string(), "app1".to_string())].clone();
    assert_eq!(stored.scope, "openid profile email offline_access");
    assert_eq!(
        f.audit.events(),
        [
            Event::LoginSucceeded,
            Event::ConsentGranted,
            Event::TokenIssued
        ]
    );

    // Remembered: the next authorization goes straight back, even with prompt=none.
    let r = call(
        &f,
        with_session(get(&authorize_path("app1", "&prompt=none")), &session),
    );
    assert_eq!(r.status, 302);
    assert_eq!(redeem(&f, &code_of(&r)).status, 200);
    // prompt=consent asks again.
    let r = call(
        &f,
        with_session(get(&authorize_path("app1", "&prompt=consent")), &session),
    );
    assert_page(&r, 200);
    assert!(body_text(&r).contains("action=\"/consent\""));
}

#[test]
fn denying_consent_sends_access_denied_back() {
    let f = world();
    third_party(&f);
    let r = sign_in(&f, "app1");
    let session = cookie_value(&r, SESSION_COOKIE).unwrap();
    let consent = PageForm::read(&r, "auth_request");
    let r = call(
        &f,
        consent.submit("/consent", "decision=deny", Some(&session)),
    );
    assert_eq!(r.status, 303, "{}", body_text(&r));
    let (base, params) = location(&r);
    assert_eq!(base, "https://app.example/cb");
    assert_eq!(params["error"], "access_denied");
    assert_eq!(params["state"], "st-1");
    assert_eq!(params["iss"], ISSUER);
    assert!(!params.contains_key("code"));
    assert!(f.store.consents.borrow().is_empty());
}

#[test]
fn consent_needs_the_csrf_token_a_decision_and_a_session() {
    let f = world();
    third_party(&f);
    let r = sign_in(&f, "app1");
    let session = cookie_value(&r, SESSION_COOKIE).unwrap();
    let consent = PageForm::read(&r, "auth_request");

    // No CSRF token or cookie.
    let body = format!("auth_request={}&decision=allow", enc(&consent.carried));
    let r = call(&f, with_session(form("/consent", &body), &session));
    assert_page(&r, 400);
    assert!(body_text(&r).contains("the form expired"));
    assert!(r.get_header("Location").is_none());

    // Neither allow nor deny.
    let r = call(
        &f,
        consent.submit("/consent", "decision=maybe", Some(&session)),
    );
    assert_page(&r, 400);
    assert!(body_text(&r).contains("decision must be allow or deny"));

    // No session any more (it ended while the page was open): sign in again.
    let r = call(&f, consent.submit("/consent", "decision=allow", None));
    assert_page(&r, 200);
    assert!(body_text(&r).contains("action=\"/login\""));
    assert!(f.store.consents.borrow().is_empty());
}

#[test]
fn prompt_none_without_consent_is_consent_required() {
    let f = world();
    third_party(&f);
    let r = sign_in(&f, "app1");
    let session = cookie_value(&r, SESSION_COOKIE).unwrap();
    let r = call(
        &f,
        with_session(get(&authorize_path("app1", "&prompt=none")), &session),
    );
    assert_eq!(r.status, 302);
    let (_, params) = location(&r);
    assert_eq!(params["error"], "consent_required");
    assert_eq!(params["iss"], ISSUER);
}

#[test]
fn repeated_failures_lock_the_account_and_a_disabled_account_is_refused() {
    let f = world();
    let page = call(&f, get(&authorize_path("app1", "")));
    let login = PageForm::read(&page, "auth_request");
    let statuses: Vec<u16> = (0..6)
        .map(|_| {
            call(
                &f,
                login.submit("/login", "email=ada%40example.com&password=nope", None),
            )
            .status
        })
        .collect();
    assert_eq!(statuses, [401, 401, 401, 401, 401, 429]);
    // Locked: the right password is refused too, with Retry-After.
    let r = log_in_as_ada(&f, &login);
    assert_page(&r, 429);
    assert_eq!(r.get_header("Retry-After"), Some("60"));
    assert!(body_text(&r).contains("Try again in 1 minute."));
    assert!(set_cookie(&r, SESSION_COOKIE).is_none());

    let f = world();
    f.store.users.borrow_mut()[0].disabled_at = Some(NOW - 1);
    let r = sign_in(&f, "app1");
    assert_page(&r, 403);
    assert!(body_text(&r).contains("This account is disabled."));
    assert!(set_cookie(&r, SESSION_COOKIE).is_none());
}

#[test]
fn over_plain_http_the_cookies_have_plain_names_and_no_secure_flag() {
    let f = world();
    let local = "http://localhost:8787";
    let page = call(
        &f,
        Request::new(Method::Get, local, &authorize_path("app1", "")),
    );
    assert_page(&page, 200);
    let csrf = cookie_value(&page, "oidc_csrf").unwrap();
    assert_eq!(
        set_cookie(&page, "oidc_csrf"),
        Some(format!("oidc_csrf={csrf}; Path=/; Max-Age=3600; HttpOnly; SameSite=Lax").as_str())
    );
    assert!(set_cookie(&page, CSRF_COOKIE).is_none());
    let login = PageForm::read_with(&page, "auth_request", "oidc_csrf");
    assert_eq!(login.csrf_cookie, csrf);
    let body = format!(
        "csrf_token={}&auth_request={}&email=ada%40example.com&password=correct+horse",
        enc(&login.csrf_token),
        enc(&login.carried)
    );
    let r = call(
        &f,
        Request::form(local, "/login", &body).with_header("Cookie", &format!("oidc_csrf={csrf}")),
    );
    assert_eq!(r.status, 303, "{}", body_text(&r));
    let session = set_cookie(&r, "oidc_session").unwrap();
    assert!(session.ends_with("; HttpOnly; SameSite=Lax"), "{session}");
    assert!(set_cookie(&r, SESSION_COOKIE).is_none());
    // The __Host- cookie does not count over http, nor the plain one over https.
    let r = call(
        &f,
        Request::form(local, "/login", &body)
            .with_header("Cookie", &format!("{CSRF_COOKIE}={csrf}")),
    );
    assert_page(&r, 400);
}

#[test]
fn a_failing_throttle_store_answers_unavailable_and_starts_no_session() {
    for step in ["throttle_states", "record_failure", "clear_throttle"] {
        let f = world();
        f.store.fail_on.borrow_mut().push(step);
        let page = call(&f, get(&authorize_path("app1", "")));
        let login = PageForm::read(&page, "auth_request");
        // A wrong password records a failure; the right one clears the account's counter.
        let password = if step == "record_failure" {
            "wrong"
        } else {
            "correct+horse"
        };
        let r = call(
            &f,
            login.submit(
                "/login",
                &format!("email=ada%40example.com&password={password}"),
                None,
            ),
        );
        assert_page(&r, 503);
        assert!(body_text(&r).contains("temporarily_unavailable"), "{step}");
        assert!(set_cookie(&r, SESSION_COOKIE).is_none(), "{step}");
        assert!(
            f.sessions.sessions.borrow().is_empty(),
            "{step}: no session"
        );
        assert!(r.get_header("Location").is_none(), "{step}");
    }
}

#[test]
fn a_sign_in_that_cannot_finish_leaves_no_session_and_nothing_to_index() {
    let f = world();
    f.store.apps.borrow_mut()[0].first_party = false;
    f.store.fail_on.borrow_mut().push("consent");
    let page = call(&f, get(&authorize_path("app1", "")));
    let login = PageForm::read(&page, "auth_request");
    let r = log_in_as_ada(&f, &login);
    // The request was valid: its error goes back to the application.
    let location = r.get_header("Location").unwrap_or_default();
    assert!(
        location.contains("error=temporarily_unavailable"),
        "{location}"
    );
    assert!(!location.contains("code="), "{location}");
    assert!(f.sessions.sessions.borrow().is_empty());
    let (grants, sessions) = f.pending_index.take();
    assert!(grants.is_empty() && sessions.is_empty(), "{sessions:?}");
}

#[test]
fn form_post_answers_with_a_self_submitting_form_and_no_redirect() {
    let f = world();
    let (_, session) = tokens(&f);
    let path = authorize_path("app1", "&response_mode=form_post");
    let r = call(
        &f,
        get(&path).with_header("Cookie", &format!("{SESSION_COOKIE}={session}")),
    );
    assert_page(&r, 200);
    assert_eq!(r.get_header("Location"), None);
    let csp = r.get_header("Content-Security-Policy").unwrap();
    assert!(
        csp.contains("script-src 'self'") && !csp.contains("unsafe-inline"),
        "{csp}"
    );
    let page = body_text(&r);
    let action = format!("action=\"{}\"", REDIRECT.replace('&', "&amp;"));
    assert!(page.contains(&action), "{page}");
    assert!(page.contains("<script src=\"/shared/form-post.js\"></script>"));
    assert!(page.contains("name=\"code\" value=\""));
    assert!(page.contains("name=\"state\" value=\"st-1\""));
    assert!(page.contains(&format!("name=\"iss\" value=\"{ISSUER}\"")));
    // An error of a form_post request is posted too.
    f.clock.advance(1);
    let r = call(
        &f,
        get(&authorize_path(
            "app1",
            "&response_mode=form_post&prompt=none&max_age=0",
        ))
        .with_header("Cookie", &format!("{SESSION_COOKIE}={session}")),
    );
    assert_page(&r, 200);
    assert!(body_text(&r).contains("name=\"error\" value=\"login_required\""));
}

#[test]
fn prompt_none_with_the_sessions_own_id_token_hint_gets_a_code() {
    let f = world();
    let (t, session) = tokens(&f);
    let id_token = t["id_token"].as_str().unwrap();
    let with_hint = |hint: &str| {
        call(
            &f,
            get(&authorize_path(
                "app1",
                &format!("&prompt=none&id_token_hint={}", enc(hint)),
            ))
            .with_header("Cookie", &format!("{SESSION_COOKIE}={session}")),
        )
    };
    let r = with_hint(id_token);
    assert_eq!(r.status, 302, "{}", body_text(&r));
    assert!(location(&r).1.contains_key("code"));
    // A hint this provider did not issue is invalid_request, at the redirect URI.
    let (_, q) = location(&with_hint("eyJhbGciOiJub25lIn0.eyJzdWIiOiJ1MSJ9."));
    assert_eq!(q.get("error").map(String::as_str), Some("invalid_request"));
}
