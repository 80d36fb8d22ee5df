//! The management API, `/api/v1/...`, with the `ADMIN_TOKEN`.

use serde_json::json;

use super::*;
use crate::model::audit::{records, Entry as AuditEntry, Origin};
use crate::model::{KeyStatus, StoredKey};
use crate::oidc::audit::Event;

#[test]
fn the_management_api_wants_a_valid_bearer_token_before_anything_else() {
    let f = world();
    let (t, _) = tokens(&f);
    let app_token = t["access_token"].as_str().unwrap();
    for path in [
        "/api/v1/applications",
        "/api/v1/nope",
        "/api/v1/applications/",
    ] {
        // No credentials: a bare challenge (RFC 6750 §3.1).
        let r = call(&f, get(path));
        assert_error(&r, 401, "invalid_token", "Bearer token is required");
        assert_eq!(r.get_header("WWW-Authenticate"), Some("Bearer"), "{path}");
        let r = call(&f, get(path).with_header("Authorization", &basic("a", "b")));
        assert_eq!(r.status, 401, "{path}");
        assert_eq!(r.get_header("WWW-Authenticate"), Some("Bearer"), "{path}");
        // A wrong token, and an ordinary application's access token.
        for token in ["not-the-admin-token", app_token] {
            let r = call(
                &f,
                get(path).with_header("Authorization", &format!("Bearer {token}")),
            );
            assert_error(&r, 401, "invalid_token", "not valid for the management API");
            assert!(r
                .get_header("WWW-Authenticate")
                .unwrap()
                .starts_with(r#"Bearer error="invalid_token""#));
        }
    }
    // Without ADMIN_TOKEN configured, the string is just another wrong token.
    let mut f = world();
    f.settings.admin_token = None;
    assert_eq!(view(&f, "/api/v1/applications").status, 401);
    assert!(f.audit.take().is_empty());
}

#[test]
fn applications_are_listed_created_read_changed_rotated_and_deleted() {
    let f = world();
    let r = view(&f, "/api/v1/applications");
    assert_eq!(r.status, 200, "{}", body_text(&r));
    assert_eq!(r.get_header("Cache-Control"), Some("no-store"));
    let list = body_json(&r);
    assert_eq!(list["applications"][0]["client_id"], "app1");
    assert_eq!(list["applications"].as_array().unwrap().len(), 1);
    assert_eq!(list["next_cursor"], Value::Null);

    let r = call(
        &f,
        admin_json(
            Method::Post,
            "/api/v1/applications",
            &json!({"type": "traditional", "name": "Backend", "redirect_uris": ["https://b.example/cb"]}),
        ),
    );
    assert_eq!(r.status, 201, "{}", body_text(&r));
    assert_eq!(r.get_header("Cache-Control"), Some("no-store"));
    let created = body_json(&r);
    let id = created["client_id"].as_str().unwrap().to_string();
    let secret = created["client_secret"].as_str().unwrap().to_string();
    assert_eq!(created["type"], "traditional");
    assert_eq!(created["created_at"], NOW);
    // The secret is real: the new client authenticates with it.
    let introspect = |secret: &str| {
        call(
            &f,
            form("/introspect", "token=x").with_header("Authorization", &basic(&id, secret)),
        )
        .status
    };
    assert_eq!(introspect(&secret), 200);

    let path = format!("/api/v1/applications/{id}");
    let r = view(&f, &path);
    assert_eq!(r.status, 200);
    assert_eq!(body_json(&r)["name"], "Backend");
    assert!(body_json(&r).get("client_secret").is_none());

    let r = call(
        &f,
        admin_json(Method::Patch, &path, &json!({"name": "Renamed"})),
    );
    assert_eq!(r.status, 200, "{}", body_text(&r));
    assert_eq!(body_json(&r)["name"], "Renamed");
    let r = call(
        &f,
        admin_json(Method::Patch, &path, &json!({"client_id": "x"})),
    );
    assert_error(
        &r,
        400,
        "invalid_request",
        "client_id: unknown or read-only field",
    );

    // Rotation with a grace period: both secrets work until it ends.
    let r = call(
        &f,
        admin_json(
            Method::Post,
            &format!("{path}/rotate-secret"),
            &json!({"grace_period_seconds": 60}),
        ),
    );
    assert_eq!(r.status, 200, "{}", body_text(&r));
    let rotated = body_json(&r);
    let new_secret = rotated["client_secret"].as_str().unwrap().to_string();
    assert_ne!(new_secret, secret);
    assert_eq!(rotated["previous_secret_expires_at"], NOW + 60);
    assert_eq!((introspect(&secret), introspect(&new_secret)), (200, 200));
    // Without a body: no grace period.
    let r = call(&f, admin(Method::Post, &format!("{path}/rotate-secret")));
    assert_eq!(r.status, 200, "{}", body_text(&r));
    let newest = body_json(&r)["client_secret"].as_str().unwrap().to_string();
    assert_eq!(introspect(&new_secret), 401);
    assert_eq!(introspect(&newest), 200);

    let r = call(&f, admin(Method::Delete, &path));
    assert_eq!(r.status, 204);
    assert_eq!(r.body, None);
    assert_error(&view(&f, &path), 404, "not_found", "no such application");
    assert_error(
        &call(&f, admin(Method::Delete, &path)),
        404,
        "not_found",
        "no such application",
    );
    assert_eq!(introspect(&newest), 401);

    // A public application has no secret to show or rotate.
    let r = call(
        &f,
        admin_json(
            Method::Post,
            "/api/v1/applications",
            &json!({"type": "spa", "name": "Web", "redirect_uris": ["https://w.example/cb"]}),
        ),
    );
    assert_eq!(r.status, 201, "{}", body_text(&r));
    assert!(body_json(&r).get("client_secret").is_none());
    let spa = body_json(&r)["client_id"].as_str().unwrap().to_string();
    let r = call(
        &f,
        admin(
            Method::Post,
            &format!("/api/v1/applications/{spa}/rotate-secret"),
        ),
    );
    assert_error(&r, 400, "invalid_request", "no client secret");

    // The management changes, by the admin token; the refused secrets are audited too.
    let entries = f.audit.take();
    let events: Vec<Event> = entries.iter().map(|e| e.event).collect();
    assert_eq!(
        events,
        [
            Event::ApplicationCreated,
            Event::ApplicationUpdated,
            Event::SecretRotated,
            Event::SecretRotated,
            Event::ClientAuthFailed,
            Event::ApplicationDeleted,
            Event::ClientAuthFailed,
            Event::ApplicationCreated,
        ]
    );
    for e in &entries {
        let by = e.detail.get("by").and_then(Value::as_str);
        match e.event {
            Event::ClientAuthFailed => assert_eq!(by, None),
            _ => assert_eq!(by, Some("admin_token"), "{e:?}"),
        }
    }
    assert_eq!(entries[0].client_id.as_deref(), Some(id.as_str()));
    assert_eq!(entries[0].detail["type"], "traditional");
    assert_eq!(entries[2].detail["previous_secret_expires_at"], NOW + 60);
    assert_eq!(entries[5].client_id.as_deref(), Some(id.as_str()));
}

#[test]
fn bad_application_requests_are_refused_with_the_field_named() {
    let f = world();
    let r = call(
        &f,
        admin_json(Method::Post, "/api/v1/applications", &json!({"name": "x"})),
    );
    assert_error(&r, 400, "invalid_request", "type: required");
    let r = call(
        &f,
        admin(Method::Post, "/api/v1/applications").with_body("{}".to_string()),
    );
    assert_error(&r, 400, "invalid_request", "application/json");
    let r = call(
        &f,
        admin_json(
            Method::Post,
            "/api/v1/applications",
            &json!({"type": "spa", "name": "x", "redirect_uris": ["not a url"]}),
        ),
    );
    assert_error(&r, 400, "invalid_request", "redirect_uris");
    let r = view(&f, "/api/v1/applications?limit=0");
    assert_error(&r, 400, "invalid_request", "limit");
    assert_eq!(f.store.apps.borrow().len(), 1);
    assert!(f.audit.take().is_empty(), "failed changes are not audited");
}

#[test]
fn each_resource_names_its_methods_when_asked_with_another() {
    let f = world();
    for (method, path, allow) in [
        (Method::Put, "/api/v1/applications", "GET, POST"),
        (Method::Delete, "/api/v1/applications", "GET, POST"),
        (
            Method::Put,
            "/api/v1/applications/app1",
            "GET, PATCH, DELETE",
        ),
        (
            Method::Post,
            "/api/v1/applications/app1",
            "GET, PATCH, DELETE",
        ),
        (
            Method::Get,
            "/api/v1/applications/app1/rotate-secret",
            "POST",
        ),
        (Method::Delete, "/api/v1/users", "GET, POST"),
        (Method::Delete, "/api/v1/users/u1", "GET, PATCH"),
        (Method::Post, "/api/v1/users/u1/consents", "GET"),
        (Method::Get, "/api/v1/users/u1/consents/app1", "DELETE"),
        (Method::Post, "/api/v1/logs", "GET"),
        (Method::Post, "/api/v1/keys", "GET"),
        (Method::Get, "/api/v1/keys/rotate", "POST"),
    ] {
        let r = call(&f, admin(method, path));
        assert_eq!(r.status, 405, "{method:?} {path}");
        assert_405(&r, allow);
    }
    assert!(f.audit.take().is_empty());
}

#[test]
fn unknown_management_resources_are_not_found() {
    let f = world();
    for path in [
        "/api/v1/nope",
        "/api/v1/",
        "/api/v1/applications/",
        "/api/v1/applications//rotate-secret",
        "/api/v1/users/u1/",
        "/api/v1/users/u1/consents/app1/extra",
        "/api/v1/keys/other",
    ] {
        let r = view(&f, path);
        assert_error(&r, 404, "not_found", "no such management resource");
    }
    assert_error(
        &view(&f, "/api/v1/applications/ghost"),
        404,
        "not_found",
        "no such application",
    );
}

#[test]
fn users_are_listed_created_read_and_changed() {
    let f = world();
    let r = view(&f, "/api/v1/users");
    assert_eq!(r.status, 200, "{}", body_text(&r));
    assert_eq!(body_json(&r)["users"][0]["email"], "ada@example.com");
    assert_eq!(body_json(&r)["users"].as_array().unwrap().len(), 1);

    let r = call(
        &f,
        admin_json(
            Method::Post,
            "/api/v1/users",
            &json!({"email": "bob@example.com", "password": "long enough", "name": "Bob"}),
        ),
    );
    assert_eq!(r.status, 201, "{}", body_text(&r));
    let bob = body_json(&r);
    let id = bob["id"].as_str().unwrap().to_string();
    assert_eq!(bob["email"], "bob@example.com");
    assert_eq!(bob["disabled"], false);
    assert!(bob.get("password_hash").is_none());
    assert!(!body_text(&r).contains("long enough"));
    let r = call(
        &f,
        admin_json(
            Method::Post,
            "/api/v1/users",
            &json!({"email": "BOB@example.com", "password": "long enough"}),
        ),
    );
    assert_error(&r, 409, "conflict", "exists already");
    let r = call(
        &f,
        admin_json(Method::Post, "/api/v1/users", &json!({"email": "x"})),
    );
    assert_error(&r, 400, "invalid_request", "password");

    let r = view(&f, "/api/v1/users?q=bob");
    assert_eq!(body_json(&r)["users"][0]["id"], id.as_str());
    assert_eq!(body_json(&r)["users"].as_array().unwrap().len(), 1);
    let path = format!("/api/v1/users/{id}");
    assert_eq!(body_json(&view(&f, &path))["name"], "Bob");
    let r = call(
        &f,
        admin_json(
            Method::Patch,
            &path,
            &json!({"name": "Robert", "roles": ["admin"], "disabled": true}),
        ),
    );
    assert_eq!(r.status, 200, "{}", body_text(&r));
    let changed = body_json(&r);
    assert_eq!(changed["name"], "Robert");
    assert_eq!(changed["roles"], json!(["admin"]));
    assert_eq!(changed["disabled"], true);
    assert_eq!(changed["disabled_at"], NOW);
    assert_error(
        &view(&f, "/api/v1/users/ghost"),
        404,
        "not_found",
        "no such user",
    );
    let r = call(
        &f,
        admin_json(
            Method::Patch,
            "/api/v1/users/u1",
            &json!({"email": "x@y.z"}),
        ),
    );
    assert_error(&r, 400, "invalid_request", "email: unknown field");

    let entries = f.audit.take();
    let events: Vec<Event> = entries.iter().map(|e| e.event).collect();
    assert_eq!(events, [Event::UserCreated, Event::UserDisabled]);
    assert_eq!(entries[1].detail["fields"], "name roles disabled");
    for e in &entries {
        assert_eq!(e.user_id.as_deref(), Some(id.as_str()));
        assert_eq!(e.detail["by"], "admin_token");
    }
}

#[test]
fn consents_are_listed_and_revoked() {
    let f = world();
    third_party(&f);
    let r = sign_in(&f, "app1");
    let session = cookie_value(&r, SESSION_COOKIE).unwrap();
    let consent = PageForm::read(&r, "auth_request");
    let r = call(
        &f,
        consent.submit("/consent", "decision=allow", Some(&session)),
    );
    assert_eq!(r.status, 303);
    f.audit.take();

    let r = view(&f, "/api/v1/users/u1/consents");
    assert_eq!(r.status, 200, "{}", body_text(&r));
    let list = body_json(&r)["consents"].clone();
    assert_eq!(list.as_array().unwrap().len(), 1);
    assert_eq!(list[0]["client_id"], "app1");
    assert_eq!(list[0]["scope"], "openid profile email offline_access");

    let path = "/api/v1/users/u1/consents/app1";
    let r = call(&f, admin(Method::Delete, path));
    assert_eq!(r.status, 204, "{}", body_text(&r));
    assert_eq!(r.body, None);
    assert_error(
        &call(&f, admin(Method::Delete, path)),
        404,
        "not_found",
        "no such consent",
    );
    assert_eq!(
        body_json(&view(&f, "/api/v1/users/u1/consents"))["consents"],
        json!([])
    );
    // Asked again at the next authorization.
    let r = call(&f, with_session(get(&authorize_path("app1", "")), &session));
    assert_page(&r, 200);
    assert!(body_text(&r).contains("action=\"/consent\""));

    let entries = f.audit.take();
    assert_eq!(entries.len(), 1);
    assert_eq!(entries[0].event, Event::ConsentRevoked);
    assert_eq!(entries[0].user_id.as_deref(), Some("u1"));
    assert_eq!(entries[0].client_id.as_deref(), Some("app1"));
    assert_eq!(entries[0].detail["by"], "admin_token");
}

/// Three stored audit records, one second apart: a login, a token, a logout.
fn seed_logs(f: &Fakes) {
    let events = [Event::LoginSucceeded, Event::TokenIssued, Event::Logout];
    for (i, event) in events.into_iter().enumerate() {
        let entry = AuditEntry::new(event, format!("record {i}")).user("u1");
        let millis = (NOW + i as i64) * 1000;
        let stored = records(vec![entry], millis, "abc", &Origin::default());
        f.store.audit.borrow_mut().extend(stored);
    }
}

#[test]
fn logs_page_as_json_and_as_json_lines_with_a_next_link() {
    let f = world();
    seed_logs(&f);
    let r = view(&f, "/api/v1/logs");
    assert_eq!(r.status, 200, "{}", body_text(&r));
    assert_eq!(r.get_header("Content-Type"), Some("application/json"));
    assert_eq!(r.get_header("Cache-Control"), Some("no-store"));
    let page = body_json(&r);
    let events: Vec<&str> = page["logs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["event"].as_str().unwrap())
        .collect();
    assert_eq!(
        events,
        ["logout", "token.issued", "login.succeeded"],
        "newest first"
    );
    assert_eq!(page["next_cursor"], Value::Null);
    assert_eq!(page["logs"][0]["time"], "2023-11-14T22:13:22Z");

    let r = view(&f, "/api/v1/logs?limit=2");
    let page = body_json(&r);
    assert_eq!(page["logs"].as_array().unwrap().len(), 2);
    let cursor = page["next_cursor"].as_str().unwrap().to_string();

    let r = view(&f, "/api/v1/logs?format=jsonl&limit=2");
    assert_eq!(r.status, 200, "{}", body_text(&r));
    assert_eq!(r.get_header("Content-Type"), Some("application/x-ndjson"));
    assert_eq!(r.get_header("Cache-Control"), Some("no-store"));
    let lines: Vec<Value> = body_text(&r)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 2);
    assert_eq!(lines[0]["event"], "logout");
    assert_eq!(lines[1]["event"], "token.issued");
    let next = format!("/api/v1/logs?format=jsonl&limit=2&cursor={cursor}");
    assert_eq!(
        r.get_header("Link"),
        Some(format!("<{next}>; rel=\"next\"").as_str())
    );
    assert_eq!(r.get_header("X-Next-Cursor"), Some(cursor.as_str()));

    // Following the link: the last record, and no further link.
    let r = view(&f, &next);
    assert_eq!(r.status, 200);
    let lines: Vec<&str> = body_text(&r).lines().collect();
    assert_eq!(lines.len(), 1);
    assert!(lines[0].contains("\"login.succeeded\""));
    assert_eq!(r.get_header("Link"), None);

    let r = view(&f, "/api/v1/logs?event=token.issued");
    assert_eq!(body_json(&r)["logs"].as_array().unwrap().len(), 1);
    assert_error(
        &view(&f, "/api/v1/logs?event=nope"),
        400,
        "invalid_request",
        "event must be one of",
    );
    assert_error(
        &view(&f, "/api/v1/logs?format=xml"),
        400,
        "invalid_request",
        "format must be json or jsonl",
    );
    assert_error(
        &view(&f, "/api/v1/logs?cursor=junk!"),
        400,
        "invalid_request",
        "cursor",
    );
}

#[test]
fn keys_are_listed_without_private_parts_and_rotated() {
    let f = world();
    f.store.keys.borrow_mut().push(StoredKey {
        kid: "k1".into(),
        alg: "RS256".into(),
        status: KeyStatus::Current,
        public_jwk: "{}".into(),
        private_key_enc: "secret-material".into(),
        created_at: NOW - 10,
        retired_at: None,
    });
    let r = view(&f, "/api/v1/keys");
    assert_eq!(r.status, 200, "{}", body_text(&r));
    assert_eq!(r.get_header("Cache-Control"), Some("no-store"));
    assert_eq!(
        body_json(&r),
        json!({"keys": [{"kid": "k1", "alg": "RS256", "status": "current", "created_at": NOW - 10, "retired_at": null}]})
    );
    assert!(!body_text(&r).contains("secret-material"));

    let r = call(&f, admin(Method::Post, "/api/v1/keys/rotate"));
    assert_eq!(r.status, 200, "{}", body_text(&r));
    assert_eq!(body_json(&r), json!({"current_kid": "test-key-RS256"}));
    let entries = f.audit.take();
    assert_eq!(entries.len(), 1);
    assert_eq!(entries[0].event, Event::KeyRotated);
    assert_eq!(entries[0].detail["by"], "admin_token");
    assert_eq!(entries[0].detail["current_kid"], "test-key-RS256");
}

#[test]
fn a_change_of_allowed_origins_takes_effect_at_once() {
    let f = world();
    let new_origin = "https://new.example";
    let preflight = || {
        let r = call(
            &f,
            Request::new(Method::Options, ISSUER, "/token").with_header("Origin", new_origin),
        );
        r.get_header("Access-Control-Allow-Origin")
            .map(str::to_string)
    };
    // The "no" is cached per isolate...
    assert_eq!(preflight(), None);
    let r = call(
        &f,
        admin_json(
            Method::Patch,
            "/api/v1/applications/app1",
            &json!({"allowed_origins": [APP_ORIGIN, new_origin]}),
        ),
    );
    assert_eq!(r.status, 200, "{}", body_text(&r));
    assert_eq!(
        body_json(&r)["allowed_origins"],
        json!([APP_ORIGIN, new_origin])
    );
    // ...and forgotten when an application changes through the API.
    assert_eq!(preflight().as_deref(), Some(new_origin));
    let r = call(&f, admin(Method::Delete, "/api/v1/applications/app1"));
    assert_eq!(r.status, 204);
    assert_eq!(preflight(), None);
}
