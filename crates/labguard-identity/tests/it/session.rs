use chrono::{DateTime, TimeDelta, TimeZone, Utc};
use labguard_core::{Permission, Role};
use labguard_identity::session::{hash_presented, new_token};
use labguard_identity::{
    ApiToken, CsrfKey, SessionPolicy, SessionStatus, SessionTimes, TokenError, TokenHash, TokenKind,
};

fn at(secs: i64) -> DateTime<Utc> {
    Utc.timestamp_opt(1_750_000_000 + secs, 0).unwrap()
}

fn counting_bytes() -> [u8; 32] {
    std::array::from_fn(|i| i as u8)
}

#[test]
fn session_ids_have_a_prefix_and_are_stored_as_sha256() {
    let t = new_token(TokenKind::Session, counting_bytes());
    assert_eq!(
        t.secret.as_str(),
        "lgs_AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8"
    );
    // SHA-256 of the whole string, computed with Python's hashlib.
    assert_eq!(
        t.hash.to_hex(),
        "526e0bc5dc9f5bf5ac747fcbbf92a4263acdd04f4bcea48bccb817b05ec0923d"
    );
    assert_eq!(hash_presented(TokenKind::Session, &t.secret), Ok(t.hash));
    assert!(!format!("{t:?}").contains("AAECAw"));
}

#[test]
fn api_tokens_have_their_own_prefix() {
    let s = new_token(TokenKind::Session, counting_bytes());
    let a = new_token(TokenKind::Api, counting_bytes());
    assert!(a.secret.starts_with("lgt_"));
    assert_eq!(a.secret.len(), 4 + 43);
    assert_ne!(s.hash, a.hash);
    // A session ID is not accepted where an API token is expected, and vice versa.
    assert_eq!(
        hash_presented(TokenKind::Api, &s.secret),
        Err(TokenError::Prefix)
    );
    assert_eq!(
        hash_presented(TokenKind::Session, &a.secret),
        Err(TokenError::Prefix)
    );
}

#[test]
fn malformed_tokens_are_refused() {
    for bad in [
        "lgs_",
        "lgs_short",
        "lgs_AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8A",
        "lgs_!!!ECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8",
    ] {
        assert_eq!(
            hash_presented(TokenKind::Session, bad),
            Err(TokenError::Format),
            "{bad}"
        );
    }
}

#[test]
fn token_hash_serializes_as_hex() {
    let t = new_token(TokenKind::Session, counting_bytes());
    let json = serde_json::to_string(&t.hash).unwrap();
    assert_eq!(
        json,
        "\"526e0bc5dc9f5bf5ac747fcbbf92a4263acdd04f4bcea48bccb817b05ec0923d\""
    );
    let back: TokenHash = serde_json::from_str(&json).unwrap();
    assert!(back.ct_eq(&t.hash));
    assert!(serde_json::from_str::<TokenHash>("\"abcd\"").is_err());
    let other = new_token(TokenKind::Session, [9u8; 32]);
    assert!(!other.hash.ct_eq(&t.hash));
}

#[test]
fn session_policy_defaults() {
    let p = SessionPolicy::default();
    assert_eq!(p.idle_timeout, TimeDelta::minutes(15));
    assert_eq!(p.absolute_lifetime, TimeDelta::hours(12));
}

#[test]
fn idle_timeout_after_fifteen_minutes() {
    let p = SessionPolicy::default();
    let times = SessionTimes {
        created_at: at(0),
        last_seen_at: at(600),
    };
    assert_eq!(p.check(&times, at(600 + 899)), SessionStatus::Active);
    assert_eq!(p.check(&times, at(600 + 900)), SessionStatus::IdleExpired);
}

#[test]
fn absolute_lifetime_ends_even_an_active_session() {
    let p = SessionPolicy::default();
    let twelve_hours = 12 * 3600;
    let times = SessionTimes {
        created_at: at(0),
        last_seen_at: at(twelve_hours - 60),
    };
    assert_eq!(p.check(&times, at(twelve_hours - 1)), SessionStatus::Active);
    assert_eq!(
        p.check(&times, at(twelve_hours)),
        SessionStatus::AbsoluteExpired
    );
    // Past both limits, the absolute one is reported.
    let stale = SessionTimes {
        created_at: at(0),
        last_seen_at: at(0),
    };
    assert_eq!(
        p.check(&stale, at(twelve_hours + 1)),
        SessionStatus::AbsoluteExpired
    );
}

#[test]
fn csrf_token_is_bound_to_the_session() {
    let key = CsrfKey::from_bytes(&[7u8; 32]);
    let session = new_token(TokenKind::Session, counting_bytes());
    let token = key.token_for(&session.secret);
    // HMAC-SHA-256 computed with Python's hmac module.
    assert_eq!(token, "TaPUNmyBTFtZZaSfx2btkMY-lmfFUpIyXWoJjjNYOJA");
    assert!(key.verify(&session.secret, &token));

    let other_session = new_token(TokenKind::Session, [1u8; 32]);
    assert!(!key.verify(&other_session.secret, &token));
    let other_key = CsrfKey::from_bytes(&[8u8; 32]);
    assert!(!other_key.verify(&session.secret, &token));
    let mut tampered = token.clone();
    tampered.replace_range(0..1, "U");
    assert!(!key.verify(&session.secret, &tampered));
    assert!(!key.verify(&session.secret, ""));
    assert!(!key.verify(&session.secret, "not base64 !!"));
    assert!(!key.verify(&session.secret, &token[..20]));
}

#[test]
fn api_token_scope_is_a_role() {
    let (secret, token) = ApiToken::issue([3u8; 32], Role::Auditor, at(0), None);
    assert!(secret.starts_with("lgt_"));
    assert_eq!(hash_presented(TokenKind::Api, &secret), Ok(token.hash));
    assert!(token.allows(Permission::AuditRead, at(10)));
    assert!(token.allows(Permission::ReportsRead, at(10)));
    assert!(!token.allows(Permission::ResultRead, at(10)));
    assert!(!token.allows(Permission::AccountsManage, at(10)));
    let json = serde_json::to_value(&token).unwrap();
    assert_eq!(json["scope"], "auditor");
    assert!(!json.to_string().contains(secret.as_str()));
}

#[test]
fn api_tokens_expire_and_can_be_revoked() {
    let (_, mut token) = ApiToken::issue(
        [4u8; 32],
        Role::LabTechnologist,
        at(0),
        Some(TimeDelta::days(30)),
    );
    assert!(token.allows(Permission::ResultEnter, at(86_400)));
    assert!(!token.allows(Permission::ResultEnter, at(30 * 86_400)));
    token.revoked = true;
    assert!(!token.is_valid(at(1)));
}
