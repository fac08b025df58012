use iam_core::console_sessions::SessionLimits;
use iam_core::password_policy::UpdatePasswordPolicy;
use iam_core::sign_in::{FREE_FAILURES, HIDDEN_USER, SignIn, SignInContext, SignInError};
use iam_core::users::CreateUser;
use iam_core::{Caller, Channel, Password, Principal};
use totp_rs::{Builder, Secret};

use crate::harness::{TestDb, caller};
use crate::on_both;

const ALICE_PASSWORD: &str = "Alice-sings-Dvorak-9";

fn context() -> SignInContext {
    SignInContext {
        source_ip: Some("198.51.100.7".parse().unwrap()),
        user_agent: Some("Mozilla/5.0 test".into()),
        ..Default::default()
    }
}

fn alice_attempt(password: &str) -> SignIn {
    SignIn::User { account: "example-corp".into(), user_name: "alice".into(), password: Password::new(password) }
}

/// A root caller and alice, an IAM user with a console password.
async fn with_alice(db: &TestDb) -> (Caller, Principal) {
    let root = db.with_account().await;
    let user = db.iam.create_user(&root, CreateUser { user_name: "alice".into(), ..Default::default() }).await.unwrap();
    db.iam.create_login_profile(&root, "alice", &Password::new(ALICE_PASSWORD), false).await.unwrap();
    let principal = Principal::User {
        account_id: root.account_id().to_owned(),
        user_id: user.user_id,
        user_name: "alice".into(),
        path: "/".into(),
    };
    (root, principal)
}

fn code(db: &TestDb, seed: &str, steps_from_now: i64) -> String {
    let totp =
        Builder::new().with_secret(Secret::try_from_base32(seed).unwrap()).with_account_name("t").build().unwrap();
    let seconds = db.iam.now().as_millis() / 1000 + steps_from_now * 30;
    totp.generate(u64::try_from(seconds).unwrap()).to_string()
}

async fn sign_in_events(db: &TestDb, root: &Caller) -> Vec<iam_core::audit::AuditRecord> {
    let mut events = db.iam.audit_events(root, None, None, 200).await.unwrap();
    events.retain(|e| e.action == "signin:ConsoleLogin");
    events.reverse();
    events
}

on_both!(failures_slow_down_without_locking_out, |db| {
    let (_, alice) = with_alice(db).await;
    for _ in 0..FREE_FAILURES {
        let wrong = db.iam.sign_in(&alice_attempt("Wrong-password-1"), &context()).await;
        assert_eq!(wrong, Err(SignInError::Incorrect));
    }
    // One more failure: now each attempt must wait, growing, even with the right password.
    assert_eq!(db.iam.sign_in(&alice_attempt("Wrong-password-1"), &context()).await, Err(SignInError::Incorrect));
    let held = db.iam.sign_in(&alice_attempt(ALICE_PASSWORD), &context()).await;
    assert_eq!(held, Err(SignInError::Throttled { retry_after_seconds: 1 }));
    db.clock.advance_millis(1_000);
    assert_eq!(db.iam.sign_in(&alice_attempt("Wrong-password-1"), &context()).await, Err(SignInError::Incorrect));
    let held = db.iam.sign_in(&alice_attempt(ALICE_PASSWORD), &context()).await;
    assert_eq!(held, Err(SignInError::Throttled { retry_after_seconds: 2 }));
    // Never more than half a minute, however many failures: no lock-out.
    for _ in 0..20 {
        db.clock.advance_millis(31_000);
        db.iam.sign_in(&alice_attempt("Wrong-password-1"), &context()).await.unwrap_err();
    }
    let held = db.iam.sign_in(&alice_attempt(ALICE_PASSWORD), &context()).await;
    assert_eq!(held, Err(SignInError::Throttled { retry_after_seconds: 30 }));
    db.clock.advance_millis(30_000);
    let signed = db.iam.sign_in(&alice_attempt(ALICE_PASSWORD), &context()).await.unwrap();
    assert_eq!(signed.principal, alice);
    // A complete sign-in forgets the failures.
    db.iam.sign_in(&alice_attempt("Wrong-password-1"), &context()).await.unwrap_err();
    db.iam.sign_in(&alice_attempt(ALICE_PASSWORD), &context()).await.unwrap();
});

on_both!(unknown_users_are_slowed_down_as_known_ones_are, |db| {
    let (root, _) = with_alice(db).await;
    let ghost =
        || SignIn::User { account: "example-corp".into(), user_name: "ghost".into(), password: Password::new("x") };
    for _ in 0..=FREE_FAILURES {
        assert_eq!(db.iam.sign_in(&ghost(), &context()).await, Err(SignInError::Incorrect));
    }
    assert_eq!(db.iam.sign_in(&ghost(), &context()).await, Err(SignInError::Throttled { retry_after_seconds: 1 }));
    // Each failure is in the account's audit log, the unknown user's name hidden, no password.
    db.iam.flush().await.unwrap();
    let wrong = db.iam.sign_in(&alice_attempt("Wrong-password-1"), &context()).await;
    assert_eq!(wrong, Err(SignInError::Incorrect));
    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    let events = sign_in_events(db, &root).await;
    let hidden = format!("arn:aws:iam::{}:user/{HIDDEN_USER}", root.account_id());
    let reasons: Vec<(&str, &str, String)> = events
        .iter()
        .map(|e| {
            let p: serde_json::Value = serde_json::from_str(&e.parameters).unwrap();
            (e.principal_arn.as_str(), e.outcome.as_str(), p["Reason"].as_str().unwrap_or("").to_owned())
        })
        .collect();
    let expected_ghost = (hidden.as_str(), "Failure", "IncorrectPassword".to_owned());
    assert_eq!(reasons.iter().filter(|r| **r == expected_ghost).count(), 5, "{reasons:?}");
    assert!(reasons.iter().any(|r| r.1 == "Failure" && r.2 == "Throttled"), "{reasons:?}");
    let named = events.iter().find(|e| e.principal_arn.ends_with(":user/alice")).expect("a known user is named");
    assert_eq!(named.source_ip.as_deref(), Some("198.51.100.7"));
    for e in &events {
        assert!(!e.parameters.contains("Wrong-password") && !e.parameters.contains("ghost"), "{e:?}");
    }
});

on_both!(the_mfa_step_takes_each_code_once, |db| {
    let (root, alice) = with_alice(db).await;
    let device = db.iam.create_virtual_mfa_device(&root, "alice-phone", None).await.unwrap();
    let seed = device.base32_string_seed.clone();
    db.iam
        .enable_mfa_device(&root, Some("alice"), &device.serial_number, &code(db, &seed, -1), &code(db, &seed, 0))
        .await
        .unwrap();
    db.clock.advance_millis(30_000);
    let signed = db.iam.sign_in(&alice_attempt(ALICE_PASSWORD), &context()).await.unwrap();
    assert_eq!(signed.mfa_devices.len(), 1);
    assert_eq!(signed.mfa_devices[0].kind, "totp");
    let wrong = db.iam.sign_in_with_totp(&alice, "000000", &context()).await;
    assert_eq!(wrong, Err(SignInError::Incorrect));
    let now_code = code(db, &seed, 0);
    let serial = db.iam.sign_in_with_totp(&alice, &now_code, &context()).await.unwrap();
    assert_eq!(serial, device.serial_number);
    assert_eq!(db.iam.sign_in_with_totp(&alice, &now_code, &context()).await, Err(SignInError::Incorrect), "replay");
    // One step of drift either way.
    db.clock.advance_millis(30_000);
    db.iam.sign_in_with_totp(&alice, &code(db, &seed, 1), &context()).await.unwrap();
    db.clock.advance_millis(90_000);
    db.iam.sign_in_with_totp(&alice, &code(db, &seed, -1), &context()).await.unwrap();
    assert_eq!(
        db.iam.sign_in_with_totp(&alice, &code(db, &seed, 3), &context()).await,
        Err(SignInError::Incorrect),
        "three steps ahead"
    );
    let events = sign_in_events(db, &root).await;
    let last = events.last().unwrap();
    assert_eq!(last.outcome, "Failure");
    let success = events.iter().rev().find(|e| e.outcome == "Success").unwrap();
    assert!(success.parameters.contains("\"MFAUsed\":\"Yes\""), "{success:?}");
    assert!(success.parameters.contains(&device.serial_number), "{success:?}");
});

on_both!(expired_passwords_must_change_or_wait_for_an_administrator, |db| {
    let (root, _) = with_alice(db).await;
    let policy = UpdatePasswordPolicy { max_password_age: Some(30), ..Default::default() };
    db.iam.update_account_password_policy(&root, policy).await.unwrap();
    let fresh = db.iam.sign_in(&alice_attempt(ALICE_PASSWORD), &context()).await.unwrap();
    assert!(!fresh.must_change_password());
    let expires = fresh.password_expires_at.unwrap();
    assert_eq!(expires.as_millis() - db.iam.now().as_millis(), 30 * 86_400_000);
    db.clock.advance_millis(31 * 86_400_000);
    let expired = db.iam.sign_in(&alice_attempt(ALICE_PASSWORD), &context()).await.unwrap();
    assert!(expired.password_expired && expired.must_change_password());
    let hard = UpdatePasswordPolicy { max_password_age: Some(30), hard_expiry: Some(true), ..Default::default() };
    db.iam.update_account_password_policy(&root, hard).await.unwrap();
    let refused = db.iam.sign_in(&alice_attempt(ALICE_PASSWORD), &context()).await;
    assert_eq!(refused, Err(SignInError::PasswordExpired));
    // A wrong password still learns nothing of the expiry.
    let wrong = db.iam.sign_in(&alice_attempt("Wrong-password-1"), &context()).await;
    assert_eq!(wrong, Err(SignInError::Incorrect));
    // An administrator sets a new one: the user is in again.
    db.iam.update_login_profile(&root, "alice", Some(&Password::new("Fresh-Dvorak-sings-7")), None).await.unwrap();
    let back = db.iam.sign_in(&alice_attempt("Fresh-Dvorak-sings-7"), &context()).await.unwrap();
    assert!(!back.must_change_password());
    // The root user's password never expires under the account's policy.
    let root_in =
        SignIn::Root { email: "root@example.com".into(), password: Password::new(crate::harness::ROOT_PASSWORD) };
    assert_eq!(db.iam.sign_in(&root_in, &context()).await.unwrap().password_expires_at, None);
});

on_both!(sessions_time_out_and_end_with_the_password, |db| {
    let (root, alice) = with_alice(db).await;
    let limits = SessionLimits { idle_ms: 10 * 60_000, absolute_ms: 60 * 60_000 };
    let (first, _) = db.iam.open_console_session(&alice, &context(), None).await.unwrap();
    let (second, _) = db.iam.open_console_session(&alice, &context(), Some("arn:aws:iam::x:mfa/d")).await.unwrap();
    assert_ne!(first, second);
    let live = db.iam.touch_console_session(&second, limits).await.unwrap().unwrap();
    assert!(live.mfa_at.is_some() && live.principal_id == alice.user_id());
    // Idle: used within the idle limit, it lives; unused past it, it ends.
    for _ in 0..5 {
        db.clock.advance_millis(9 * 60_000);
        assert!(db.iam.touch_console_session(&second, limits).await.unwrap().is_some());
    }
    assert!(db.iam.touch_console_session(&first, limits).await.unwrap().is_none(), "idle for 45 minutes");
    // Absolute: however active, not past an hour.
    db.clock.advance_millis(9 * 60_000);
    assert!(db.iam.touch_console_session(&second, limits).await.unwrap().is_some());
    db.clock.advance_millis(9 * 60_000);
    assert!(db.iam.touch_console_session(&second, limits).await.unwrap().is_none(), "63 minutes old");

    // A password change ends the user's other sessions, never the one it came from.
    let (mine, _) = db.iam.open_console_session(&alice, &context(), None).await.unwrap();
    let (other, _) = db.iam.open_console_session(&alice, &context(), None).await.unwrap();
    let mut me = caller(alice.clone());
    me.channel = Channel::Console { session_ref: mine.clone() };
    let listed = db.iam.list_own_console_sessions(&me).await.unwrap();
    assert_eq!(listed.len(), 2);
    assert!(listed.iter().any(|s| s.current && s.session_ref == mine));
    assert_eq!(listed[0].source_ip.as_deref(), Some("198.51.100.7"));
    let allow = UpdatePasswordPolicy { allow_users_to_change_password: Some(true), ..Default::default() };
    db.iam.update_account_password_policy(&root, allow).await.unwrap();
    db.iam.change_password(&me, &Password::new(ALICE_PASSWORD), &Password::new("Dvorak-plays-Alice-8")).await.unwrap();
    assert!(db.iam.touch_console_session(&mine, limits).await.unwrap().is_some());
    assert!(db.iam.touch_console_session(&other, limits).await.unwrap().is_none());

    // The user ends its own; nobody ends another's through that door.
    let (third, _) = db.iam.open_console_session(&alice, &context(), None).await.unwrap();
    let (roots, _) = db.iam.open_console_session(&root.principal, &context(), None).await.unwrap();
    assert_eq!(db.iam.end_own_console_session(&me, &roots).await.unwrap_err().code(), "NoSuchEntity");
    db.iam.end_own_console_session(&me, &third).await.unwrap();
    assert!(db.iam.touch_console_session(&third, limits).await.unwrap().is_none());

    // An administrator ends a user's sessions (authorized as UpdateLoginProfile); a user without
    // that permission cannot end root's.
    assert_eq!(db.iam.end_user_console_sessions(&me, "alice").await.unwrap_err().code(), "AccessDenied");
    assert_eq!(db.iam.end_user_console_sessions(&root, "alice").await.unwrap(), 1);
    assert!(db.iam.touch_console_session(&mine, limits).await.unwrap().is_none());
    assert_eq!(db.iam.list_user_console_sessions(&root, "alice").await.unwrap().len(), 0);

    // Removing the console password, or the user, ends every session.
    let (again, _) = db.iam.open_console_session(&alice, &context(), None).await.unwrap();
    db.iam.delete_login_profile(&root, "alice").await.unwrap();
    assert!(db.iam.touch_console_session(&again, limits).await.unwrap().is_none());
    assert!(db.iam.touch_console_session(&roots, limits).await.unwrap().is_some());
});

on_both!(root_changes_its_own_password, |db| {
    let root = db.with_account().await;
    let (mine, _) = db.iam.open_console_session(&root.principal, &context(), None).await.unwrap();
    let (other, _) = db.iam.open_console_session(&root.principal, &context(), None).await.unwrap();
    let mut me = root.clone();
    me.channel = Channel::Console { session_ref: mine.clone() };
    let old = Password::new(crate::harness::ROOT_PASSWORD);
    let wrong = db.iam.change_password(&me, &Password::new("not-it"), &Password::new("Granite-otter-Lamp-4")).await;
    assert_eq!(wrong.unwrap_err().code(), "InvalidInput");
    let weak = db.iam.change_password(&me, &old, &Password::new("Password123!")).await.unwrap_err();
    assert!(weak.message().contains("harder to guess"), "{weak}");
    db.iam.change_password(&me, &old, &Password::new("Granite-otter-Lamp-4")).await.unwrap();
    let limits = SessionLimits::default();
    assert!(db.iam.touch_console_session(&mine, limits).await.unwrap().is_some());
    assert!(db.iam.touch_console_session(&other, limits).await.unwrap().is_none());
    let attempt = |p: &str| SignIn::Root { email: "root@example.com".into(), password: Password::new(p) };
    assert_eq!(db.iam.sign_in(&attempt(crate::harness::ROOT_PASSWORD), &context()).await, Err(SignInError::Incorrect));
    db.iam.sign_in(&attempt("Granite-otter-Lamp-4"), &context()).await.unwrap();
});

on_both!(a_burst_of_parallel_attempts_is_counted_before_it_is_checked, |db| {
    let (_, _) = with_alice(db).await;
    let attempts = (0..12).map(|_| async { db.iam.sign_in(&alice_attempt("Wrong-password-1"), &context()).await });
    let outcomes = futures::future::join_all(attempts).await;
    let checked = outcomes.iter().filter(|o| **o == Err(SignInError::Incorrect)).count();
    let held = outcomes.iter().filter(|o| matches!(o, Err(SignInError::Throttled { .. }))).count();
    assert_eq!((checked, held), (5, 7), "{outcomes:?}");
});

on_both!(failed_passwords_never_hold_up_the_mfa_step_which_has_a_daily_cap, |db| {
    let (root, alice) = with_alice(db).await;
    let device = db.iam.create_virtual_mfa_device(&root, "alice-phone", None).await.unwrap();
    let seed = device.base32_string_seed.clone();
    db.iam
        .enable_mfa_device(&root, Some("alice"), &device.serial_number, &code(db, &seed, -1), &code(db, &seed, 0))
        .await
        .unwrap();
    // Someone without the password fails ten times; alice, who has it, is held only at the
    // password step, never at her code.
    for _ in 0..10 {
        db.clock.advance_millis(31_000);
        db.iam.sign_in(&alice_attempt("Wrong-password-1"), &context()).await.unwrap_err();
    }
    db.clock.advance_millis(31_000);
    db.iam.sign_in(&alice_attempt(ALICE_PASSWORD), &context()).await.unwrap();
    db.iam.sign_in_with_totp(&alice, &code(db, &seed, 0), &context()).await.unwrap();

    // Someone with the password guessing codes: delays, then a day's wait after 100 failures.
    for _ in 0..iam_core::sign_in::MAX_MFA_FAILURES {
        db.clock.advance_millis(31_000);
        assert_eq!(db.iam.sign_in_with_totp(&alice, "000000", &context()).await, Err(SignInError::Incorrect));
    }
    db.clock.advance_millis(31_000);
    let Err(SignInError::Throttled { retry_after_seconds }) =
        db.iam.sign_in_with_totp(&alice, &code(db, &seed, 0), &context()).await
    else {
        panic!("the MFA step is closed for the day");
    };
    assert!(retry_after_seconds > 80_000, "{retry_after_seconds}");
});

on_both!(a_known_device_is_not_held_up_by_failures_made_elsewhere, |db| {
    let (root, alice) = with_alice(db).await;
    let device = db.iam.device_cookie(&alice);
    // A stranger who knows alice's user name fails on and on.
    for _ in 0..10 {
        db.clock.advance_millis(31_000);
        db.iam.sign_in(&alice_attempt("Wrong-password-1"), &context()).await.unwrap_err();
    }
    // Alice's own browser, which signed in before, is not held up...
    let mine = SignInContext { device: Some(device.clone()), ..context() };
    db.iam.sign_in(&alice_attempt(ALICE_PASSWORD), &mine).await.unwrap();
    // ...while a browser without the cookie waits, as does one with another principal's cookie,
    // a forged one, or an expired one.
    db.iam.sign_in(&alice_attempt("Wrong-password-1"), &context()).await.unwrap_err();
    let held = db.iam.sign_in(&alice_attempt(ALICE_PASSWORD), &context()).await;
    assert!(matches!(held, Err(SignInError::Throttled { .. })), "{held:?}");
    for cookie in [db.iam.device_cookie(&root.principal), "v1:forged".to_owned()] {
        let theirs = SignInContext { device: Some(cookie), ..context() };
        let held = db.iam.sign_in(&alice_attempt(ALICE_PASSWORD), &theirs).await;
        assert!(matches!(held, Err(SignInError::Throttled { .. })), "{held:?}");
    }
    db.clock.advance_millis(iam_core::sign_in::DEVICE_COOKIE_MAX_AGE_MS + 1);
    for _ in 0..=FREE_FAILURES {
        db.iam.sign_in(&alice_attempt("Wrong-password-1"), &context()).await.unwrap_err();
    }
    let expired = SignInContext { device: Some(device), ..context() };
    let held = db.iam.sign_in(&alice_attempt(ALICE_PASSWORD), &expired).await;
    assert!(matches!(held, Err(SignInError::Throttled { .. })), "an expired cookie vouches for nothing: {held:?}");
});
