use iam_core::entities::EntityKind;
use iam_core::password_policy::UpdatePasswordPolicy;
use iam_core::policies::CreatePolicy;
use iam_core::users::CreateUser;
use iam_core::{Password, Principal};

use crate::harness::caller;
use crate::on_both;

on_both!(the_password_policy_governs_every_new_password, |db| {
    let root = db.with_account().await;
    let missing = db.iam.get_account_password_policy(&root).await.unwrap_err();
    assert_eq!(missing.code(), "NoSuchEntity");
    let u = db.iam.create_user(&root, CreateUser { user_name: "alice".into(), ..Default::default() }).await.unwrap();
    let alice = caller(Principal::User {
        account_id: root.account_id().to_owned(),
        user_id: u.user_id,
        user_name: "alice".into(),
        path: "/".into(),
    });
    // AWS's default rules without a policy.
    let weak = db.iam.create_login_profile(&root, "alice", &Password::new("abcdefgh"), false).await.unwrap_err();
    assert_eq!(weak.code(), "PasswordPolicyViolation");

    let policy = UpdatePasswordPolicy {
        minimum_password_length: Some(12),
        require_symbols: Some(true),
        password_reuse_prevention: Some(2),
        ..Default::default()
    };
    db.iam.update_account_password_policy(&root, policy).await.unwrap();
    let got = db.iam.get_account_password_policy(&root).await.unwrap();
    assert_eq!((got.minimum_password_length, got.password_reuse_prevention), (12, Some(2)));
    assert!(!got.allow_users_to_change_password, "fields left out take AWS's defaults");
    let short = db.iam.create_login_profile(&root, "alice", &Password::new("Abcdefg1!"), false).await.unwrap_err();
    assert!(short.message().contains("at least 12 characters"), "{short}");
    db.iam.create_login_profile(&root, "alice", &Password::new("first-password!"), true).await.unwrap();
    assert!(db.iam.get_login_profile(&root, "alice").await.unwrap().password_reset_required);

    // Changing one's own password needs iam:ChangePassword, or the policy's blanket permission.
    let change = |old: &'static str, new: &'static str| {
        let alice = alice.clone();
        let iam = db.iam.clone();
        // Each change happens a little later than the one before, as in life.
        db.clock.advance_millis(60_000);
        async move { iam.change_password(&alice, &Password::new(old), &Password::new(new)).await }
    };
    // A user told to reset may (tested over HTTP); one that is not needs the permission.
    db.iam.update_login_profile(&root, "alice", None, Some(false)).await.unwrap();
    assert_eq!(change("first-password!", "second-password!").await.unwrap_err().code(), "AccessDenied");
    db.iam.update_login_profile(&root, "alice", None, Some(true)).await.unwrap();
    let allow = UpdatePasswordPolicy {
        minimum_password_length: Some(12),
        require_symbols: Some(true),
        password_reuse_prevention: Some(2),
        allow_users_to_change_password: Some(true),
        ..Default::default()
    };
    db.iam.update_account_password_policy(&root, allow).await.unwrap();
    assert_eq!(change("wrong-password!", "second-password!").await.unwrap_err().code(), "InvalidInput");
    change("first-password!", "second-password!").await.unwrap();
    assert!(
        !db.iam.get_login_profile(&root, "alice").await.unwrap().password_reset_required,
        "a change clears the reset flag"
    );
    let reused = change("second-password!", "first-password!").await.unwrap_err();
    assert_eq!(reused.code(), "PasswordPolicyViolation");
    assert!(reused.message().contains("last 2 passwords"), "{reused}");
    assert_eq!(change("second-password!", "second-password!").await.unwrap_err().code(), "PasswordPolicyViolation");
    change("second-password!", "third-password!!").await.unwrap();
    change("third-password!!", "fourth-password!").await.unwrap();
    change("fourth-password!", "first-password!").await.unwrap();

    // An administrator resets it, and can require a change at next sign-in.
    db.iam.update_login_profile(&root, "alice", Some(&Password::new("admin-set-pass!")), Some(true)).await.unwrap();
    assert!(db.iam.get_login_profile(&root, "alice").await.unwrap().password_reset_required);
    db.iam.update_login_profile(&root, "alice", None, Some(false)).await.unwrap();
    assert!(!db.iam.get_login_profile(&root, "alice").await.unwrap().password_reset_required);

    db.iam.delete_account_password_policy(&root).await.unwrap();
    assert_eq!(db.iam.delete_account_password_policy(&root).await.unwrap_err().code(), "NoSuchEntity");
    let bad = UpdatePasswordPolicy { minimum_password_length: Some(200), ..Default::default() };
    assert_eq!(db.iam.update_account_password_policy(&root, bad).await.unwrap_err().code(), "ValidationError");
    assert_eq!(
        db.iam.update_account_password_policy(&alice, UpdatePasswordPolicy::default()).await.unwrap_err().code(),
        "AccessDenied"
    );
});

on_both!(the_change_password_setting_allows_but_denies_and_boundaries_still_apply, |db| {
    let root = db.with_account().await;
    let u = db.iam.create_user(&root, CreateUser { user_name: "alice".into(), ..Default::default() }).await.unwrap();
    let alice = caller(Principal::User {
        account_id: root.account_id().to_owned(),
        user_id: u.user_id,
        user_name: "alice".into(),
        path: "/".into(),
    });
    db.iam.create_login_profile(&root, "alice", &Password::new("First-password-1"), false).await.unwrap();
    let setting = UpdatePasswordPolicy { allow_users_to_change_password: Some(true), ..Default::default() };
    db.iam.update_account_password_policy(&root, setting).await.unwrap();
    let change = |old: &'static str, new: &'static str| {
        let (alice, iam) = (alice.clone(), db.iam.clone());
        db.clock.advance_millis(60_000);
        async move { iam.change_password(&alice, &Password::new(old), &Password::new(new)).await }
    };
    // The setting grants it with no policy at all, and reading the rules a password must meet.
    change("First-password-1", "Second-password-2").await.unwrap();
    db.iam.get_account_password_policy(&alice).await.unwrap();

    // AWS's quarantine policy for leaked credentials denies ChangePassword: the deny wins.
    let quarantine = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Deny",
        "Action":["iam:ChangePassword","iam:CreateAccessKey","iam:CreateLoginProfile","iam:UpdateLoginProfile"],
        "Resource":"*"}]}"#;
    db.iam.put_inline_policy(&root, EntityKind::User, "alice", "Quarantine", quarantine).await.unwrap();
    let refused = change("Second-password-2", "Third-password-3").await.unwrap_err();
    assert_eq!(refused.code(), "AccessDenied");
    assert!(refused.message().contains("explicit deny"), "{refused}");
    let events = db.iam.audit_events(&root, None, None, 20).await.unwrap();
    assert!(
        events.iter().any(|e| e.action == "iam:ChangePassword" && e.outcome == "AccessDenied"),
        "the refusal is in the audit log"
    );
    db.iam.delete_inline_policy(&root, EntityKind::User, "alice", "Quarantine").await.unwrap();

    // A permissions boundary that does not allow it caps the setting's grant, as it caps policies.
    let fence = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:*","Resource":"*"}]}"#;
    let input = CreatePolicy { policy_name: "Fence".into(), policy_document: fence.into(), ..Default::default() };
    let fence = db.iam.create_policy(&root, input).await.unwrap().arn;
    db.iam.put_permissions_boundary(&root, EntityKind::User, "alice", &fence).await.unwrap();
    assert_eq!(change("Second-password-2", "Third-password-3").await.unwrap_err().code(), "AccessDenied");
    db.iam.delete_permissions_boundary(&root, EntityKind::User, "alice").await.unwrap();
    change("Second-password-2", "Third-password-3").await.unwrap();
    let events = db.iam.audit_events(&root, None, None, 50).await.unwrap();
    assert_eq!(
        events.iter().filter(|e| e.action == "iam:ChangePassword" && e.outcome == "Success").count(),
        2,
        "each change is in the audit log"
    );
});
