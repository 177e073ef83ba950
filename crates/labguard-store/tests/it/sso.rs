//! Single sign-on links on both backends: the link is by issuer + subject, the refresh token
//! is sealed (not in the database in the clear) and survives key rotation, the directory
//! check ends every session of the account, and every step is in a log that still verifies.

use labguard_core::{Id, Role, Staff};
use labguard_store::{RotateOptions, SessionStage, SsoEvent};

use crate::common::*;

#[test]
fn sso_links_seal_refresh_tokens_and_the_check_ends_sessions() {
    for env in envs("sso") {
        let store = init(&env);
        let staff = Staff {
            id: Id::new_v4(),
            username: "alice".into(),
            display_name: "Alice Adler".into(),
            role: Role::LabTechnologist,
            email: "alice@lab.example".into(),
            active: true,
        };
        let a = store
            .create_sso_account(&staff, "https://idp.example", "sub-1")
            .unwrap();
        assert_eq!(a.staff.role, Role::LabTechnologist);
        assert_eq!(a.password_hash, labguard_store::SSO_ONLY_PASSWORD);
        let found = store.sso_account("https://idp.example", "sub-1").unwrap();
        assert_eq!(found.map(|f| f.staff.id), Some(staff.id));
        // Same subject at another issuer is someone else.
        assert!(store
            .sso_account("https://other.example", "sub-1")
            .unwrap()
            .is_none());
        let user = staff.id.to_string();
        store
            .save_sso_refresh(&user, Some("refresh-token-SECRET-123"))
            .unwrap();
        store
            .create_sso_session(&user, "hash-1", SessionStage::Full, true)
            .unwrap();
        store
            .create_sso_session(&user, "hash-2", SessionStage::Mfa, false)
            .unwrap();
        assert!(store.session("hash-2").unwrap().unwrap().mfa_at.is_none());
        store
            .record_sso(Some(&a), "10.0.0.9", SsoEvent::SignedIn)
            .unwrap();
        store
            .record_sso(None, "10.0.0.9", SsoEvent::Refused("no role rule matches"))
            .unwrap();
        if env.name == "sqlite" {
            let raw = labguard_testkit::all_bytes(&env.dir.path().join("data"));
            assert!(
                !labguard_testkit::contains(&raw, "refresh-token-SECRET-123"),
                "refresh token in the clear"
            );
        }
        store
            .rotate_keys(&op(), &RotateOptions::default(), &mut |_, _| {})
            .unwrap();
        let due = store.sso_checks_due().unwrap();
        assert_eq!(due.len(), 1, "{}", env.name);
        assert_eq!(
            due[0].refresh_token.as_deref().map(|s| s.as_str()),
            Some("refresh-token-SECRET-123"),
            "{}: readable after rotation",
            env.name
        );
        assert_eq!(store.end_sso_sessions(&user, "refused").unwrap(), 2);
        assert!(store.session("hash-1").unwrap().unwrap().revoked);
        assert!(store.sso_checks_due().unwrap().is_empty());
        store.checkpoint().unwrap();
        store.verify(&mut |_, _| {}).unwrap();
    }
}
