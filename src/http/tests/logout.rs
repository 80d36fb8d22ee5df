//! `/logout`: OpenID Connect RP-Initiated Logout 1.0.

use super::*;
use crate::oidc::audit::Event;

const BYE: &str = "https://app.example/bye";

/// app1 with a registered post-logout redirect URI and a home URL.
fn logout_world() -> Fakes {
    let f = world();
    {
        let mut apps = f.store.apps.borrow_mut();
        apps[0].post_logout_redirect_uris = vec![BYE.into()];
        apps[0].home_url = Some("https://app.example/".into());
    }
    f
}

fn cleared_session_cookie() -> String {
    format!("{SESSION_COOKIE}=; Path=/; Max-Age=0; HttpOnly; SameSite=Lax; Secure")
}

fn sessions(f: &Fakes) -> usize {
    f.sessions.sessions.borrow().len()
}

#[test]
fn without_a_session_logout_shows_the_signed_out_page_and_clears_the_cookie() {
    let f = logout_world();
    let r = call(&f, get("/logout"));
    assert_page(&r, 200);
    assert!(body_text(&r).contains("You are signed out"));
    assert!(!body_text(&r).contains("Back to"));
    assert_eq!(
        set_cookie(&r, SESSION_COOKIE),
        Some(cleared_session_cookie().as_str())
    );
    assert!(r.get_header("Location").is_none());
    // A known client without a redirect: a link to its registered home URL.
    let r = call(&f, get("/logout?client_id=app1"));
    assert_page(&r, 200);
    assert!(body_text(&r)
        .contains("<a href=\"https://app.example/\" rel=\"noreferrer\">Back to App</a>"));
    // With a registered redirect there is nothing to confirm: straight back, with state.
    let r = call(
        &f,
        get(&format!(
            "/logout?client_id=app1&post_logout_redirect_uri={}&state=s%201",
            enc(BYE)
        )),
    );
    assert_eq!(r.status, 302, "{}", body_text(&r));
    assert_eq!(
        r.get_header("Location"),
        Some("https://app.example/bye?state=s+1")
    );
    assert_eq!(
        set_cookie(&r, SESSION_COOKIE),
        Some(cleared_session_cookie().as_str())
    );
}

#[test]
fn with_a_session_and_no_hint_the_user_confirms_first() {
    let f = logout_world();
    let (_, session) = tokens(&f);
    assert_eq!(sessions(&f), 1);
    let path = format!(
        "/logout?client_id=app1&post_logout_redirect_uri={}&state=bye-1",
        enc(BYE)
    );
    let r = call(&f, with_session(get(&path), &session));
    assert_page(&r, 200);
    let page = body_text(&r);
    assert!(page.contains("<h1>Sign out?</h1>"));
    assert!(page.contains("<strong>App</strong> asks to sign you out."));
    assert!(page.contains("action=\"/logout\""));
    assert!(
        set_cookie(&r, SESSION_COOKIE).is_none(),
        "not signed out yet"
    );
    assert!(r.get_header("Location").is_none());
    assert_eq!(sessions(&f), 1);
    let confirm = PageForm::read(&r, "logout_request");
    assert!(confirm.carried.contains("state=bye-1"));

    // The confirmation form: signed out, then back to the application (303 after a POST).
    let r = call(&f, confirm.submit("/logout", "confirm=yes", Some(&session)));
    assert_eq!(r.status, 303, "{}", body_text(&r));
    assert_eq!(
        r.get_header("Location"),
        Some("https://app.example/bye?state=bye-1")
    );
    assert_eq!(
        set_cookie(&r, SESSION_COOKIE),
        Some(cleared_session_cookie().as_str())
    );
    assert_eq!(sessions(&f), 0);
    let logout = f.audit.take().into_iter().last().unwrap();
    assert_eq!(logout.event, Event::Logout);
    assert_eq!(logout.user_id.as_deref(), Some("u1"));
    assert_eq!(logout.client_id.as_deref(), Some("app1"));

    // The old cookie no longer signs in.
    let r = call(&f, with_session(get(&authorize_path("app1", "")), &session));
    assert_page(&r, 200);
    assert!(body_text(&r).contains("action=\"/login\""));
}

#[test]
fn a_confirmation_without_the_csrf_token_is_refused() {
    let f = logout_world();
    let (_, session) = tokens(&f);
    let r = call(&f, with_session(get("/logout?client_id=app1"), &session));
    assert_page(&r, 200);
    let confirm = PageForm::read(&r, "logout_request");
    assert_eq!(confirm.carried, "client_id=app1");
    let forged = PageForm {
        csrf_token: "forged".into(),
        ..confirm
    };
    let r = call(&f, forged.submit("/logout", "confirm=yes", Some(&session)));
    assert_page(&r, 400);
    assert!(body_text(&r).contains("the form expired"));
    assert!(set_cookie(&r, SESSION_COOKIE).is_none());
    assert_eq!(sessions(&f), 1, "still signed in");
    // The real form works; with no redirect it ends on the signed-out page.
    let r = call(
        &f,
        forged_back(forged).submit("/logout", "confirm=yes", Some(&session)),
    );
    assert_page(&r, 200);
    assert!(body_text(&r).contains("You are signed out"));
    assert!(body_text(&r).contains("Back to App"));
    assert_eq!(
        set_cookie(&r, SESSION_COOKIE),
        Some(cleared_session_cookie().as_str())
    );
    assert_eq!(sessions(&f), 0);
}

/// The form with the token its cookie holds (the forgery undone).
fn forged_back(form: PageForm) -> PageForm {
    PageForm {
        csrf_token: form.csrf_cookie.clone(),
        ..form
    }
}

#[test]
fn a_relying_party_that_proves_the_user_signs_out_at_once() {
    let f = logout_world();
    let (t, session) = tokens(&f);
    let hint = t["id_token"].as_str().unwrap();
    let path = format!(
        "/logout?id_token_hint={hint}&post_logout_redirect_uri={}&state=s",
        enc(BYE)
    );
    let r = call(&f, with_session(get(&path), &session));
    assert_eq!(r.status, 302, "{}", body_text(&r));
    assert_eq!(
        r.get_header("Location"),
        Some("https://app.example/bye?state=s")
    );
    assert_eq!(
        set_cookie(&r, SESSION_COOKIE),
        Some(cleared_session_cookie().as_str())
    );
    assert_eq!(sessions(&f), 0);
    // The same parameters as a form POST (RP-Initiated Logout §2 allows both).
    let (t, session) = tokens(&f);
    let body = format!("id_token_hint={}", t["id_token"].as_str().unwrap());
    let r = call(&f, with_session(form("/logout", &body), &session));
    assert_page(&r, 200);
    assert!(body_text(&r).contains("You are signed out"));
    assert_eq!(sessions(&f), 0);
}

#[test]
fn untrusted_logout_requests_get_a_page_and_never_a_redirect() {
    let f = logout_world();
    for (path, text) in [
        (
            format!(
                "/logout?client_id=app1&post_logout_redirect_uri={}",
                enc("https://evil.example/")
            ),
            "the post_logout_redirect_uri is not registered",
        ),
        (
            format!("/logout?post_logout_redirect_uri={}", enc(BYE)),
            "needs a client_id or an id_token_hint",
        ),
        ("/logout?client_id=ghost".to_string(), "unknown client_id"),
        ("/logout?id_token_hint=a.b.c".to_string(), "id_token_hint"),
    ] {
        let r = call(&f, get(&path));
        assert_page(&r, 400);
        assert!(r.get_header("Location").is_none(), "{path}");
        assert!(body_text(&r).contains(text), "{path}: {}", body_text(&r));
        assert!(body_text(&r).contains("invalid_request"));
    }
    for method in [Method::Put, Method::Delete, Method::Options] {
        assert_405(
            &call(&f, Request::new(method, ISSUER, "/logout")),
            "GET, POST",
        );
    }
}

#[test]
fn a_bare_logout_is_confirmed_once_and_signs_out() {
    let f = logout_world();
    let (_, session) = tokens(&f);
    let r = call(&f, with_session(get("/logout"), &session));
    assert_page(&r, 200);
    assert!(body_text(&r).contains("<h1>Sign out?</h1>"));
    let confirm = PageForm::read(&r, "logout_request");
    assert_eq!(confirm.carried, "");
    let r = call(&f, confirm.submit("/logout", "confirm=yes", Some(&session)));
    assert_page(&r, 200);
    assert!(
        body_text(&r).contains("You are signed out"),
        "{}",
        body_text(&r)
    );
    assert_eq!(sessions(&f), 0);
}
