//! Sign-up and password reset through the routing table (issue 18): the login page's links,
//! the forms, the mail in the outbox, the mailed links' pages, and what each leaves behind.

use super::*;
use crate::model::audit::Event;
use crate::oidc::mail::Mail;

/// The world with sign-up on and a mail transport set up.
fn open_world() -> Fakes {
    let mut f = world();
    f.settings.signup_enabled = true;
    f.settings.mail_enabled = true;
    f
}

/// The link to `path` in a mail's text part, as a path on the provider.
fn mailed_link(mail: &Mail, path: &str) -> String {
    let marker = format!("{ISSUER}{path}?token=");
    let start = mail.text.find(&marker).expect("the link") + ISSUER.len();
    let rest = &mail.text[start..];
    rest[..rest.find(char::is_whitespace).unwrap_or(rest.len())].to_string()
}

fn login_page(f: &Fakes) -> Reply {
    let page = call(f, get(&authorize_path("app1", "")));
    assert_eq!(page.status, 200);
    page
}

/// A form page's form, submitted with `fields` (its own hidden fields and CSRF cookie).
fn submit(page: &Reply, carried: &'static str, path: &str, fields: &str) -> Request {
    PageForm::read(page, carried).submit(path, fields, None)
}

/// The reset form on `page` submitted for `email` (already form-encoded).
fn ask_reset(f: &Fakes, page: &Reply, email: &str) -> Reply {
    call(
        f,
        submit(page, "auth_request", "/reset", &format!("email={email}")),
    )
}

fn events(f: &Fakes) -> Vec<Event> {
    f.audit.take().into_iter().map(|e| e.event).collect()
}

#[test]
fn a_sign_up_proves_the_address_then_makes_the_account_and_goes_on_to_the_code() {
    let f = open_world();
    let login = login_page(&f);
    let signup_url = href(body_text(&login), "Create an account").expect("a sign-up link");
    let form_page = call(&f, get(&signup_url));
    assert_eq!(form_page.status, 200, "{}", body_text(&form_page));
    assert!(body_text(&form_page).contains("Create an account"));

    let sent = call(
        &f,
        submit(
            &form_page,
            "auth_request",
            "/signup",
            "email=grace%40example.com&name=Grace",
        ),
    );
    assert_eq!(sent.status, 200, "{}", body_text(&sent));
    assert!(body_text(&sent).contains("Check your email"));
    assert!(
        block_on(f.store.user_by_email("grace@example.com"))
            .unwrap()
            .is_none(),
        "no account yet"
    );
    let mails = f.outbox.take();
    assert_eq!(mails.len(), 1);
    assert_eq!(mails[0].to, "grace@example.com");
    assert!(mails[0].subject.contains("App"), "names the application");
    let link = mailed_link(&mails[0], "/signup/confirm");

    let choose = call(&f, get(&link));
    assert_eq!(choose.status, 200, "{}", body_text(&choose));
    assert!(body_text(&choose).contains("grace@example.com"));
    let weak = call(
        &f,
        submit(&choose, "token", "/signup/confirm", "password=password123"),
    );
    assert_eq!(weak.status, 400);
    assert!(body_text(&weak).contains("common"));
    assert!(block_on(f.store.user_by_email("grace@example.com"))
        .unwrap()
        .is_none());

    let done = call(
        &f,
        submit(
            &choose,
            "token",
            "/signup/confirm",
            "password=a+long+passphrase",
        ),
    );
    assert_eq!(done.status, 303, "{}", body_text(&done));
    let (base, params) = location(&done);
    assert_eq!(
        base,
        "https://app.example/cb?tenant=1".replace("?tenant=1", "")
    );
    assert_eq!(params.get("state").map(String::as_str), Some("st-1"));
    assert!(cookie_value(&done, SESSION_COOKIE).is_some_and(|s| !s.is_empty()));
    let user = block_on(f.store.user_by_email("grace@example.com"))
        .unwrap()
        .unwrap();
    assert!(user.email_verified);
    assert_eq!(user.name.as_deref(), Some("Grace"));
    let tokens = redeem(&f, &code_of(&done));
    assert_eq!(tokens.status, 200, "{}", body_text(&tokens));
    let ev = events(&f);
    assert!(
        ev.contains(&Event::Signup) && ev.contains(&Event::EmailVerified),
        "{ev:?}"
    );

    let again = call(
        &f,
        submit(
            &choose,
            "token",
            "/signup/confirm",
            "password=another+passphrase",
        ),
    );
    assert_eq!(again.status, 409, "the link made its account once");
}

#[test]
fn a_sign_up_for_an_existing_address_looks_the_same_and_mails_its_owner() {
    let f = open_world();
    let form_page = call(
        &f,
        get(&href(body_text(&login_page(&f)), "Create an account").unwrap()),
    );
    let sent = call(
        &f,
        submit(
            &form_page,
            "auth_request",
            "/signup",
            "email=Ada%40Example.com&name=",
        ),
    );
    assert_eq!(sent.status, 200);
    assert!(body_text(&sent).contains("Check your email"));
    let mails = f.outbox.take();
    assert_eq!(mails.len(), 1);
    assert!(mails[0].subject.starts_with("You already have an account"));
    // Its link is a working reset link for the account.
    let reset = call(&f, get(&mailed_link(&mails[0], "/reset/confirm")));
    assert_eq!(reset.status, 200, "{}", body_text(&reset));
    assert_eq!(f.store.users.borrow().len(), 1, "no second account");
}

#[test]
fn sign_up_is_offered_only_where_the_deployment_the_application_and_mail_allow_it() {
    let f = open_world();
    assert!(href(body_text(&login_page(&f)), "Create an account").is_some());
    assert!(href(body_text(&login_page(&f)), "Forgot your password?").is_some());
    let signup_url = href(body_text(&login_page(&f)), "Create an account").unwrap();

    f.store.apps.borrow_mut()[0].allow_signup = false;
    assert!(href(body_text(&login_page(&f)), "Create an account").is_none());
    assert_eq!(
        call(&f, get(&signup_url)).status,
        400,
        "the page refuses too"
    );
    f.store.apps.borrow_mut()[0].allow_signup = true;

    let mut off = world();
    off.settings.signup_enabled = true;
    let page = login_page(&off);
    assert!(
        href(body_text(&page), "Create an account").is_none(),
        "no mail, no sign-up"
    );
    assert!(href(body_text(&page), "Forgot your password?").is_none());
    assert_eq!(call(&off, get("/reset")).status, 404);
    off.settings.signup_enabled = false;
    off.settings.mail_enabled = true;
    assert!(href(body_text(&login_page(&off)), "Create an account").is_none());
}

#[test]
fn a_reset_link_sets_a_new_password_once_and_signs_out_everywhere() {
    let f = open_world();
    let (_, session) = tokens(&f);
    after_response(&f);
    let grants_before = f
        .store
        .grants
        .borrow()
        .values()
        .filter(|g| g.revoked_at.is_none())
        .count();
    assert_eq!(grants_before, 1);
    let reset_url = href(body_text(&login_page(&f)), "Forgot your password?").unwrap();
    let form_page = call(&f, get(&reset_url));
    assert_eq!(form_page.status, 200, "{}", body_text(&form_page));
    let sent = ask_reset(&f, &form_page, "ada%40example.com");
    assert_eq!(sent.status, 200);
    let unknown = ask_reset(&f, &form_page, "nobody%40example.com");
    assert_eq!(
        body_text(&unknown).replace("nobody", "ada"),
        body_text(&sent),
        "the same answer"
    );
    let mails = f.outbox.take();
    assert_eq!(mails.len(), 1, "only the account's owner gets mail");
    let link = mailed_link(&mails[0], "/reset/confirm");

    let choose = call(&f, get(&link));
    assert_eq!(choose.status, 200);
    let short = call(
        &f,
        submit(&choose, "token", "/reset/confirm", "password=short"),
    );
    assert_eq!(short.status, 400);
    let done = call(
        &f,
        submit(
            &choose,
            "token",
            "/reset/confirm",
            "password=a+brand+new+one",
        ),
    );
    assert_eq!(done.status, 200, "{}", body_text(&done));
    assert!(href(body_text(&done), "Sign in").is_some_and(|h| h.starts_with("/authorize?")));

    assert_eq!(call(&f, get(&link)).status, 400, "the link worked once");
    let twice = call(
        &f,
        submit(
            &choose,
            "token",
            "/reset/confirm",
            "password=yet+another+one",
        ),
    );
    assert_eq!(twice.status, 400);
    // Everywhere signed out: the session is gone and the grant revoked.
    let silent = call(
        &f,
        with_session(get(&authorize_path("app1", "&prompt=none")), &session),
    );
    assert_eq!(
        location(&silent).1.get("error").map(String::as_str),
        Some("login_required")
    );
    assert!(f
        .store
        .grants
        .borrow()
        .values()
        .all(|g| g.revoked_at.is_some()));
    // The new password signs in; the old one does not.
    let page = login_page(&f);
    let old = call(
        &f,
        PageForm::read(&page, "auth_request").submit(
            "/login",
            "email=ada%40example.com&password=correct+horse",
            None,
        ),
    );
    assert_eq!(old.status, 401);
    let page = login_page(&f);
    let new = call(
        &f,
        PageForm::read(&page, "auth_request").submit(
            "/login",
            "email=ada%40example.com&password=a+brand+new+one",
            None,
        ),
    );
    assert_eq!(new.status, 303, "{}", body_text(&new));
    let ev = events(&f);
    for e in [
        Event::PasswordResetRequested,
        Event::PasswordChanged,
        Event::SessionsRevoked,
    ] {
        assert!(ev.contains(&e), "{e:?} in {ev:?}");
    }
}

#[test]
fn mail_requests_are_limited_and_forms_need_their_csrf_token() {
    let f = open_world();
    let form_page = call(&f, get("/reset"));
    assert_eq!(form_page.status, 200);
    for _ in 0..3 {
        let r = ask_reset(&f, &form_page, "ada%40example.com");
        assert_eq!(r.status, 200);
    }
    let locked = ask_reset(&f, &form_page, "ada%40example.com");
    assert_eq!(locked.status, 429);
    assert!(locked.get_header("Retry-After").is_some());
    assert_eq!(f.outbox.take().len(), 3);

    for path in ["/signup", "/signup/confirm", "/reset", "/reset/confirm"] {
        let r = call(
            &f,
            form(
                path,
                "email=ada%40example.com&token=x&password=whatever+it+is",
            ),
        );
        assert_eq!(r.status, 400, "{path}: {}", body_text(&r));
        assert!(
            body_text(&r).contains("did not come from this site"),
            "{path}"
        );
    }
    assert_eq!(call(&f, get("/signup/confirm?token=forged")).status, 400);
    assert_eq!(call(&f, get("/reset/confirm")).status, 400);
}
