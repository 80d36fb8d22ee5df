use super::*;

const DAY: i64 = 24 * 3600;

fn claims() -> UserClaims {
    UserClaims {
        roles: Default::default(),
        email: "ada@example.com".into(),
        email_verified: true,
        name: None,
        profile: Default::default(),
        updated_at: None,
    }
}

fn grant(refresh: bool) -> Grant {
    Grant {
        claims_request: String::new(),
        sid: None,
        client_id: "app1".into(),
        user_id: "u1".into(),
        scope: "openid offline_access".into(),
        audience: None,
        acr: None,
        auth_time: 90,
        claims: claims(),
        created_at: 100,
        code_expires_at: 160,
        refresh: refresh.then(|| RefreshState {
            token_hash: "t0".into(),
            created_at: 100,
            expires_at: 100 + 14 * DAY,
            grant_expires_at: 100 + 365 * DAY,
            spent: vec![],
        }),
        revoked_at: None,
        access_expires_at: 0,
    }
}

fn redeem(state: Option<Grant>, g: Grant, now: i64) -> (Option<Grant>, GrantAnswer) {
    apply(state, GrantOp::Redeem { grant: g, now })
}

fn use_token(
    state: Option<Grant>,
    hash: &str,
    next: &str,
    now: i64,
    rotate: Rotate,
) -> (Option<Grant>, GrantAnswer) {
    apply(
        state,
        GrantOp::Refresh(RefreshUse {
            token_hash: hash.into(),
            client_id: "app1".into(),
            now,
            successor_hash: next.into(),
            policy: RefreshPolicy {
                ttl: 14 * DAY,
                rotate,
                sliding: true,
            },
            scope: None,
            access_expires_at: 0,
        }),
    )
}

#[test]
fn a_code_redeems_once_and_its_replay_revokes_the_grant() {
    let (state, a) = redeem(None, grant(true), 100);
    assert_eq!(a, GrantAnswer::Redeemed);
    let (state, a) = redeem(state, grant(true), 110);
    assert_eq!(
        a,
        GrantAnswer::Replayed {
            user_id: "u1".into()
        }
    );
    assert_eq!(state.as_ref().unwrap().revoked_at, Some(110));
    let (_, a) = use_token(state, "t0", "t1", 120, Rotate::Always);
    assert_eq!(a, GrantAnswer::Invalid, "the first use's token is dead");
}

#[test]
fn undo_forgets_a_redemption_but_not_a_revoked_one() {
    let (state, _) = redeem(None, grant(true), 100);
    let (state, a) = apply(state, GrantOp::Undo);
    assert_eq!((state.clone(), a), (None, GrantAnswer::Undone));
    let (state, a) = redeem(state, grant(true), 101);
    assert_eq!(a, GrantAnswer::Redeemed, "the code can be tried again");
    let (state, _) = redeem(state, grant(true), 102);
    let (state, a) = apply(state, GrantOp::Undo);
    assert_eq!(a, GrantAnswer::Invalid);
    assert!(state.unwrap().revoked_at.is_some());
}

#[test]
fn rotation_hands_over_and_reuse_revokes() {
    let (state, _) = redeem(None, grant(true), 100);
    let (state, a) = use_token(state, "t0", "t1", 200, Rotate::Always);
    let GrantAnswer::Refreshed { view, rotated } = a else {
        panic!("{a:?}")
    };
    assert!(rotated);
    assert_eq!((view.issued_at, view.expires_at), (200, 200 + 14 * DAY));
    assert_eq!(view.scope, "openid offline_access");
    let (state, a) = use_token(state, "t0", "t2", 300, Rotate::Always);
    assert_eq!(
        a,
        GrantAnswer::Reused {
            user_id: "u1".into()
        }
    );
    let (_, a) = use_token(state, "t1", "t3", 301, Rotate::Always);
    assert_eq!(a, GrantAnswer::Invalid, "the successor died with the grant");
}

#[test]
fn late_rotation_waits_for_seventy_percent_and_never_keeps_the_token() {
    let (state, _) = redeem(None, grant(true), 100);
    let (state, a) = use_token(state, "t0", "t1", 100 + 9 * DAY, Rotate::Late);
    assert!(matches!(a, GrantAnswer::Refreshed { rotated: false, .. }));
    let (state, a) = use_token(state, "t0", "t1", 100 + 10 * DAY, Rotate::Late);
    assert!(matches!(a, GrantAnswer::Refreshed { rotated: true, .. }));
    let (_, a) = use_token(state, "t1", "t2", 100 + 11 * DAY, Rotate::Never);
    assert!(matches!(a, GrantAnswer::Refreshed { rotated: false, .. }));
}

#[test]
fn expiry_slides_up_to_the_grant_end_or_stays_put() {
    let mut g = grant(true);
    g.refresh.as_mut().unwrap().grant_expires_at = 100 + 20 * DAY;
    let (state, _) = redeem(None, g, 100);
    let (state, a) = use_token(state, "t0", "t1", 100 + 10 * DAY, Rotate::Never);
    let GrantAnswer::Refreshed { view, .. } = a else {
        panic!("{a:?}")
    };
    assert_eq!(view.expires_at, 100 + 20 * DAY, "capped at the grant's end");
    let fixed = apply(
        state,
        GrantOp::Refresh(RefreshUse {
            token_hash: "t0".into(),
            client_id: "app1".into(),
            now: 100 + 11 * DAY,
            successor_hash: "t1".into(),
            policy: RefreshPolicy {
                ttl: DAY,
                rotate: Rotate::Never,
                sliding: false,
            },
            scope: None,
            access_expires_at: 0,
        }),
    );
    let GrantAnswer::Refreshed { view, .. } = fixed.1 else {
        panic!("{:?}", fixed.1)
    };
    assert_eq!(view.expires_at, 100 + 20 * DAY);
    let (_, a) = use_token(fixed.0, "t0", "t1", 100 + 20 * DAY, Rotate::Never);
    assert_eq!(a, GrantAnswer::Invalid, "expired");
}

#[test]
fn another_client_neither_refreshes_nor_revokes() {
    let (state, _) = redeem(None, grant(true), 100);
    let mut u = RefreshUse {
        token_hash: "t0".into(),
        client_id: "app2".into(),
        now: 200,
        successor_hash: "t1".into(),
        policy: RefreshPolicy {
            ttl: DAY,
            rotate: Rotate::Always,
            sliding: true,
        },
        scope: None,
        access_expires_at: 0,
    };
    let (state, a) = apply(state, GrantOp::Refresh(u.clone()));
    assert_eq!(a, GrantAnswer::WrongClient);
    let by = Presented {
        token_hash: "t0".into(),
        client_id: "app2".into(),
    };
    let (state, a) = apply(
        state,
        GrantOp::Revoke {
            now: 200,
            by: Some(by),
        },
    );
    assert_eq!(a, GrantAnswer::WrongClient);
    u.client_id = "app1".into();
    let (_, a) = apply(state, GrantOp::Refresh(u));
    assert!(matches!(a, GrantAnswer::Refreshed { .. }));
}

#[test]
fn revocation_by_a_token_needs_one_of_the_grants_tokens() {
    let (state, _) = redeem(None, grant(true), 100);
    let (state, _) = use_token(state, "t0", "t1", 200, Rotate::Always);
    let by = |h: &str| Presented {
        token_hash: h.into(),
        client_id: "app1".into(),
    };
    let (state, a) = apply(
        state,
        GrantOp::Revoke {
            now: 201,
            by: Some(by("forged")),
        },
    );
    assert_eq!(a, GrantAnswer::Invalid);
    assert!(state.as_ref().unwrap().revoked_at.is_none());
    let (state, a) = apply(
        state,
        GrantOp::Revoke {
            now: 202,
            by: Some(by("t0")),
        },
    );
    assert_eq!(
        a,
        GrantAnswer::Revoked,
        "a rotated-out token still names its grant"
    );
    let (_, a) = use_token(state, "t1", "t2", 203, Rotate::Always);
    assert_eq!(a, GrantAnswer::Invalid);
    let (state, a) = apply(None, GrantOp::Revoke { now: 1, by: None });
    assert_eq!((state, a), (None, GrantAnswer::Revoked));
}

#[test]
fn inspect_says_active_only_for_the_live_token() {
    let (state, _) = redeem(None, grant(true), 100);
    let inspect = |s: Option<Grant>, h: &str, now| {
        apply(
            s,
            GrantOp::Inspect {
                token_hash: h.into(),
                now,
            },
        )
    };
    let (state, a) = inspect(state, "t0", 150);
    assert!(matches!(a, GrantAnswer::Active { .. }));
    let (state, a) = inspect(state, "t9", 150);
    assert_eq!(a, GrantAnswer::Invalid);
    let (state, _) = apply(state, GrantOp::Revoke { now: 151, by: None });
    assert_eq!(inspect(state, "t0", 152).1, GrantAnswer::Invalid);
}

#[test]
fn adopt_takes_over_only_once() {
    let (state, a) = apply(None, GrantOp::Adopt { grant: grant(true) });
    assert_eq!(a, GrantAnswer::Adopted);
    let (state, _) = use_token(state, "t0", "t1", 200, Rotate::Always);
    let (state, _) = apply(state, GrantOp::Adopt { grant: grant(true) });
    let (_, a) = use_token(state, "t0", "t2", 201, Rotate::Always);
    assert_eq!(
        a,
        GrantAnswer::Reused {
            user_id: "u1".into()
        },
        "not reset by a second adoption"
    );
}

#[test]
fn spent_hashes_are_bounded() {
    let (mut state, _) = redeem(None, grant(true), 100);
    let mut current = "t0".to_string();
    for i in 1..=(SPENT_KEPT + 5) {
        let next = format!("t{i}");
        let (s, a) = use_token(state, &current, &next, 100 + i as i64, Rotate::Always);
        assert!(matches!(a, GrantAnswer::Refreshed { .. }), "{a:?}");
        state = s;
        current = next;
    }
    assert_eq!(state.unwrap().refresh.unwrap().spent.len(), SPENT_KEPT);
}

#[test]
fn a_grant_is_kept_until_its_code_and_its_live_token_are_dead() {
    let g = grant(false);
    assert_eq!(g.forget_after(), 160);
    let g = grant(true);
    assert_eq!(g.forget_after(), 100 + 14 * DAY);
    let g = Grant {
        revoked_at: Some(120),
        ..grant(true)
    };
    assert_eq!(
        g.forget_after(),
        160,
        "a revoked grant only guards its code"
    );
}

#[test]
fn the_wire_form_round_trips() {
    let op = GrantOp::Revoke {
        now: 5,
        by: Some(Presented {
            token_hash: "h".into(),
            client_id: "c".into(),
        }),
    };
    let json = serde_json::to_string(&op).unwrap();
    assert!(json.starts_with(r#"{"revoke":"#), "{json}");
    assert_eq!(serde_json::from_str::<GrantOp>(&json).unwrap(), op);
    let answer = GrantAnswer::Replayed {
        user_id: "u".into(),
    };
    let json = serde_json::to_string(&answer).unwrap();
    assert_eq!(serde_json::from_str::<GrantAnswer>(&json).unwrap(), answer);
}

#[test]
fn a_refresh_may_narrow_the_scope_but_not_widen_it() {
    let (state, _) = redeem(None, grant(true), 100);
    let with_scope = |s: Option<Grant>, scope: &str, hash: &str, next: &str| {
        apply(
            s,
            GrantOp::Refresh(RefreshUse {
                token_hash: hash.into(),
                client_id: "app1".into(),
                now: 200,
                successor_hash: next.into(),
                policy: RefreshPolicy {
                    ttl: DAY,
                    rotate: Rotate::Always,
                    sliding: true,
                },
                scope: Some(scope.into()),
                access_expires_at: 0,
            }),
        )
    };
    for bad in ["openid email", " ", ""] {
        let (s, a) = with_scope(state.clone(), bad, "t0", "t1");
        assert!(matches!(a, GrantAnswer::BadScope { .. }), "{bad:?}: {a:?}");
        assert_eq!(s, state, "nothing changed");
    }
    let (state, a) = with_scope(state, "openid openid", "t0", "t1");
    let GrantAnswer::Refreshed { view, .. } = a else {
        panic!("{a:?}")
    };
    assert_eq!(view.scope, "openid");
    let (_, a) = use_token(state, "t1", "t2", 201, Rotate::Always);
    let GrantAnswer::Refreshed { view, .. } = a else {
        panic!("{a:?}")
    };
    assert_eq!(
        view.scope, "openid offline_access",
        "the grant keeps its scope"
    );
}

#[test]
fn status_stands_until_revoked_and_access_tokens_keep_the_grant() {
    let g = Grant {
        access_expires_at: 100 + 3600,
        ..grant(false)
    };
    assert_eq!(g.forget_after(), 3700, "kept while its access token lives");
    let (state, _) = redeem(None, g, 100);
    let (state, a) = apply(state, GrantOp::Status);
    assert_eq!(
        a,
        GrantAnswer::Standing {
            user_id: "u1".into(),
            scope: "openid offline_access".into(),
            claims: claims(),
        }
    );
    let (state, _) = apply(state, GrantOp::Revoke { now: 200, by: None });
    assert_eq!(apply(state, GrantOp::Status).1, GrantAnswer::Invalid);
    assert_eq!(apply(None, GrantOp::Status).1, GrantAnswer::Invalid);
}

#[test]
fn a_profile_change_reaches_the_grant() {
    let (state, _) = redeem(None, grant(true), 100);
    let renamed = UserClaims {
        name: Some("Ada L.".into()),
        profile: Default::default(),
        updated_at: None,
        ..claims()
    };
    let (state, a) = apply(
        state,
        GrantOp::Reprofile {
            claims: renamed.clone(),
        },
    );
    assert_eq!(a, GrantAnswer::Reprofiled);
    let (_, a) = use_token(state, "t0", "t1", 200, Rotate::Always);
    let GrantAnswer::Refreshed { view, .. } = a else {
        panic!("{a:?}")
    };
    assert_eq!(view.claims, renamed);
    let (state, a) = apply(None, GrantOp::Reprofile { claims: renamed });
    assert_eq!((state, a), (None, GrantAnswer::Invalid));
}

#[test]
fn the_read_only_operations_change_nothing() {
    let mut revoked = grant(true);
    revoked.revoked_at = Some(150);
    for state in [None, Some(grant(false)), Some(grant(true)), Some(revoked)] {
        for op in [
            GrantOp::Status,
            GrantOp::Inspect {
                token_hash: "t0".into(),
                now: 120,
            },
        ] {
            assert!(!op.may_write());
            assert_eq!(apply(state.clone(), op).0, state);
        }
    }
    assert!(GrantOp::Undo.may_write());
}
