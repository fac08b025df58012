use iam_core::password_policy::UpdatePasswordPolicy;
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
    assert_eq!(change("first-password!", "second-password!").await.unwrap_err().code(), "AccessDenied");
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
