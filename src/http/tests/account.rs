//! The account page through the routing table (issue 18): its sign-in through the built-in
//! application, and every form, checked against what the stores hold afterwards.

use super::*;
use crate::model::audit::Event;
use crate::model::grant::GrantIndex;

/// Opens `/account` without a session and signs in as Ada: the session cookie's value.
fn signed_in(f: &Fakes) -> String {
    let first = call(f, get("/account"));
    assert_eq!(first.status, 302, "{}", body_text(&first));
    let to = first.get_header("Location").unwrap().to_string();
    assert!(
        to.starts_with("/authorize?") && to.contains("client_id=edge-oidc-account"),
        "{to}"
    );
    let login = call(f, get(&to));
    assert_eq!(login.status, 200, "{}", body_text(&login));
    let answer = log_in_as_ada(f, &PageForm::read(&login, "auth_request"));
    assert_eq!(answer.status, 303, "{}", body_text(&answer));
    let back = answer.get_header("Location").unwrap();
    assert!(
        back.starts_with(&format!("{ISSUER}/account?code=")),
        "{back}"
    );
    let clean = call(f, with_session(get("/account?code=x&state=y"), "unused"));
    assert_eq!(
        clean.get_header("Location"),
        Some("/account"),
        "the code leaves the address bar"
    );
    let session = cookie_value(&answer, SESSION_COOKIE).unwrap();
    after_response(f);
    session
}

fn page(f: &Fakes, session: &str) -> Reply {
    let r = call(f, with_session(get("/account"), session));
    assert_eq!(r.status, 200, "{}", body_text(&r));
    r
}

/// Posts `fields` to `path` with the page's CSRF token and the session.
fn post(f: &Fakes, session: &str, path: &str, fields: &str) -> Reply {
    let p = page(f, session);
    let csrf = hidden(body_text(&p), "csrf_token").unwrap();
    let cookie = cookie_value(&p, CSRF_COOKIE).unwrap();
    call(
        f,
        form(path, &format!("csrf_token={}&{fields}", enc(&csrf))).with_header(
            "Cookie",
            &format!("{CSRF_COOKIE}={cookie}; {SESSION_COOKIE}={session}"),
        ),
    )
}

fn ada(f: &Fakes) -> User {
    block_on(f.store.user_by_id("u1")).unwrap().unwrap()
}

#[test]
fn the_page_signs_in_through_the_login_page_and_shows_the_account() {
    let f = world();
    let session = signed_in(&f);
    let p = page(&f, &session);
    let html = body_text(&p);
    assert!(html.contains("ada@example.com") && html.contains("value=\"Ada\""));
    assert!(html.contains("No application holds access"));
    // The built-in application cannot be changed through the management API.
    let r = call(
        &f,
        Request::json(
            Method::Patch,
            ISSUER,
            "/api/v1/applications/edge-oidc-account",
            &serde_json::json!({"name": "x"}),
        )
        .with_header("Authorization", &format!("Bearer {ADMIN}")),
    );
    assert_eq!(r.status, 400, "{}", body_text(&r));
}

#[test]
fn name_and_password_change_need_a_recent_sign_in_and_csrf() {
    let f = world();
    let session = signed_in(&f);
    let r = post(&f, &session, "/account/profile", "name=Ada+King");
    assert_eq!(r.status, 303);
    assert_eq!(r.get_header("Location"), Some("/account?done=name"));
    assert_eq!(ada(&f).name.as_deref(), Some("Ada King"));
    let stored = f
        .sessions
        .sessions
        .borrow()
        .values()
        .next()
        .unwrap()
        .claims
        .name
        .clone();
    assert_eq!(
        stored.as_deref(),
        Some("Ada King"),
        "the session has the new claims"
    );

    // A sign-in older than FRESH_SECS must be repeated first (prompt=login).
    f.clock.advance(crate::oidc::account::FRESH_SECS + 1);
    let stale = post(
        &f,
        &session,
        "/account/password",
        "new_password=a+new+passphrase",
    );
    assert_eq!(stale.status, 400);
    assert!(body_text(&stale).contains("sign in again before changing your password"));
    let again = href(body_text(&stale), "Sign in again").expect("a link to sign in again");
    assert!(again.contains("prompt=login") && again.contains("client_id=edge-oidc-account"));
    assert!(
        !body_text(&page(&f, &session)).contains("name=\"new_password\""),
        "no form"
    );
    let login = call(&f, get(&again));
    assert_eq!(login.status, 200, "the login page, session or not");
    let answer = log_in_as_ada(&f, &PageForm::read(&login, "auth_request"));
    assert_eq!(answer.status, 303);
    let session = cookie_value(&answer, SESSION_COOKIE).unwrap();
    assert!(body_text(&page(&f, &session)).contains("name=\"new_password\""));

    let weak = post(&f, &session, "/account/password", "new_password=12345678");
    assert_eq!(weak.status, 400);
    let ok = post(
        &f,
        &session,
        "/account/password",
        "new_password=a+new+passphrase",
    );
    assert_eq!(ok.status, 303);
    let hash = ada(&f).password_hash;
    assert!(block_on(crate::crypto::password::verify_password(
        &f.kdf,
        &f.settings.password,
        "a new passphrase",
        Some(&hash)
    ))
    .unwrap());

    let forged = call(
        &f,
        with_session(form("/account/profile", "name=Mallory"), &session),
    );
    assert_eq!(forged.status, 400, "no CSRF token, no change");
    assert_eq!(ada(&f).name.as_deref(), Some("Ada King"));
    let anonymous = call(&f, form("/account/profile", "name=Mallory"));
    assert_eq!(anonymous.status, 400);
}

#[test]
fn a_new_address_is_proved_by_a_mailed_link_and_the_old_one_is_told() {
    let f = world();
    f.store.users.borrow_mut().push({
        let mut other = crate::oidc::testing::user("u2", "taken@example.com");
        other.created_at = 2;
        other
    });
    let session = signed_in(&f);
    let r = post(
        &f,
        &session,
        "/account/email",
        "new_email=ada%40new.example",
    );
    assert_eq!(r.status, 303, "{}", body_text(&r));
    let mails = f.outbox.take();
    assert_eq!(mails.len(), 2);
    assert_eq!(mails[0].to, "ada@new.example");
    assert_eq!(
        mails[1].to, "ada@example.com",
        "the old address hears of it"
    );
    assert!(!mails[1].text.contains("token="), "without the link");
    assert_eq!(
        ada(&f).email,
        "ada@example.com",
        "nothing changes before the link"
    );

    let start = mails[0].text.find("/account/email/confirm").unwrap();
    let rest = &mails[0].text[start..];
    let link = &rest[..rest.find(char::is_whitespace).unwrap()];
    let confirm = call(&f, get(link));
    assert_eq!(confirm.status, 200, "{}", body_text(&confirm));
    let csrf = hidden(body_text(&confirm), "csrf_token").unwrap();
    let cookie = cookie_value(&confirm, CSRF_COOKIE).unwrap();
    let token = hidden(body_text(&confirm), "token").unwrap();
    let submit = || {
        call(
            &f,
            form(
                "/account/email/confirm",
                &format!("csrf_token={}&token={}", enc(&csrf), enc(&token)),
            )
            .with_header("Cookie", &format!("{CSRF_COOKIE}={cookie}")),
        )
    };
    let done = submit();
    assert_eq!(done.status, 200, "{}", body_text(&done));
    let user = ada(&f);
    assert_eq!(user.email, "ada@new.example");
    assert!(user.email_verified);
    assert_eq!(submit().status, 400, "the link works once");
    assert!(f
        .audit
        .take()
        .iter()
        .any(|e| e.event == Event::EmailVerified));

    let taken = post(
        &f,
        &session,
        "/account/email",
        "new_email=taken%40example.com",
    );
    assert_eq!(
        taken.status, 303,
        "the same answer: the page does not say who has an address"
    );
    let same = post(
        &f,
        &session,
        "/account/email",
        "new_email=ADA%40new.example",
    );
    assert_eq!(same.status, 400);
}

#[test]
fn authorized_applications_are_listed_and_revoked_and_sign_out_everywhere_ends_it_all() {
    let f = world();
    third_party(&f);
    block_on(f.store.save_consent("u1", "app1", "openid email", NOW)).unwrap();
    crate::oidc::testing::grant_with_token(
        &f.store,
        "app1",
        &crate::runtime::testing::CountingRandom::new(),
    );
    let grant_id = f.store.grants.borrow().keys().next().unwrap().clone();
    f.store.grant_index.borrow_mut().push(GrantIndex {
        grant_id: grant_id.clone(),
        client_id: "app1".into(),
        user_id: "u1".into(),
        created_at: NOW,
        expires_at: NOW + 1000,
    });
    let session = signed_in(&f);
    let html = body_text(&page(&f, &session)).to_string();
    assert!(html.contains("<strong>App</strong>") && html.contains("aria-label=\"Revoke App\""));
    let r = post(&f, &session, "/account/revoke", "client_id=app1");
    assert_eq!(r.status, 303);
    assert!(block_on(f.store.consent("u1", "app1")).unwrap().is_none());
    assert!(f.store.grants.borrow()[&grant_id].revoked_at.is_some());
    assert!(body_text(&page(&f, &session)).contains("No application holds access"));

    let out = post(&f, &session, "/account/signout", "");
    assert_eq!(out.status, 200, "{}", body_text(&out));
    assert!(cookie_value(&out, SESSION_COOKIE).is_some_and(|v| v.is_empty()));
    let after = call(&f, with_session(get("/account"), &session));
    assert_eq!(after.status, 302, "the session is over");
    assert!(f
        .audit
        .take()
        .iter()
        .any(|e| e.event == Event::SessionsRevoked));
}
