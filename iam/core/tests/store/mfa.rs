use iam_core::mfa::AssignmentStatus;
use iam_core::tagging::Taggable;
use iam_core::users::CreateUser;
use totp_rs::{Builder, Secret};

use crate::harness::{TestDb, root as root_of};
use crate::on_both;

/// The code a device with this seed shows `steps_from_now` steps from the test clock's now.
pub(crate) fn code(db: &TestDb, seed: &str, steps_from_now: i64) -> String {
    let totp =
        Builder::new().with_secret(Secret::try_from_base32(seed).unwrap()).with_account_name("t").build().unwrap();
    let seconds = db.iam.now().as_millis() / 1000 + steps_from_now * 30;
    totp.generate(u64::try_from(seconds).unwrap()).to_string()
}

on_both!(virtual_devices_are_enabled_checked_once_and_removed, |db| {
    let root = db.with_account().await;
    let alice =
        db.iam.create_user(&root, CreateUser { user_name: "alice".into(), ..Default::default() }).await.unwrap();
    let device = db.iam.create_virtual_mfa_device(&root, "alice-phone", None).await.unwrap();
    assert_eq!(device.serial_number, format!("arn:aws:iam::{}:mfa/alice-phone", root.account_id()));
    assert_eq!(device.base32_string_seed.len(), 32);
    assert!(!device.qr_code_png.is_empty());
    assert!(!format!("{device:?}").contains(&device.base32_string_seed), "the seed never prints");
    let again = db.iam.create_virtual_mfa_device(&root, "alice-phone", None).await.unwrap_err();
    assert_eq!(again.code(), "EntityAlreadyExists");
    let stored: String = sqlx::query_scalar("SELECT seed_sealed FROM mfa_devices WHERE serial_number = $1")
        .bind(&device.serial_number)
        .fetch_one(db.iam.store().pool())
        .await
        .unwrap();
    assert!(!stored.contains(&device.base32_string_seed), "sealed at rest");

    let seed = &device.base32_string_seed;
    let wrong = db.iam.enable_mfa_device(&root, Some("alice"), &device.serial_number, "123456", "654321").await;
    assert_eq!(wrong.unwrap_err().code(), "InvalidAuthenticationCode");
    let (c1, c2) = (code(db, seed, -1), code(db, seed, 0));
    db.iam.enable_mfa_device(&root, Some("alice"), &device.serial_number, &c1, &c2).await.unwrap();
    let twice = db.iam.enable_mfa_device(&root, Some("alice"), &device.serial_number, &c1, &c2).await;
    assert_eq!(twice.unwrap_err().code(), "EntityAlreadyExists");
    let listed = db.iam.list_mfa_devices(&root, Some("alice")).await.unwrap();
    assert_eq!(listed.iter().map(|d| d.serial_number.as_str()).collect::<Vec<_>>(), [device.serial_number.as_str()]);
    let assigned = db.iam.list_virtual_mfa_devices(&root, AssignmentStatus::Assigned).await.unwrap();
    assert_eq!(assigned[0].user.as_deref(), Some("alice"));

    // Sign-in codes: once each, only later steps than those already used.
    assert_eq!(db.iam.verify_totp(&alice.user_id, &code(db, seed, 0)).await.unwrap(), None, "used to enable");
    db.clock.advance_millis(30_000);
    let now_code = code(db, seed, 0);
    assert_eq!(
        db.iam.verify_totp(&alice.user_id, &now_code).await.unwrap().as_deref(),
        Some(device.serial_number.as_str())
    );
    assert_eq!(db.iam.verify_totp(&alice.user_id, &now_code).await.unwrap(), None, "a replay is refused");
    assert_eq!(db.iam.verify_totp(&alice.user_id, "000000x").await.unwrap(), None);

    // Resync after drift: two consecutive codes later than the last accepted.
    db.clock.advance_millis(4 * 30_000);
    db.iam
        .resync_mfa_device(&root, Some("alice"), &device.serial_number, &code(db, seed, 1), &code(db, seed, 2))
        .await
        .unwrap();

    // A device blocks its user's deletion, and cannot be deleted while assigned.
    assert_eq!(
        db.iam.delete_user(&root, "alice").await.unwrap_err().message(),
        "Cannot delete entity, must delete MFA device first."
    );
    assert_eq!(
        db.iam.delete_virtual_mfa_device(&root, &device.serial_number).await.unwrap_err().code(),
        "DeleteConflict"
    );
    db.iam.deactivate_mfa_device(&root, Some("alice"), &device.serial_number).await.unwrap();
    assert_eq!(db.iam.list_virtual_mfa_devices(&root, AssignmentStatus::Unassigned).await.unwrap().len(), 1);
    db.iam.delete_virtual_mfa_device(&root, &device.serial_number).await.unwrap();
    assert!(db.iam.list_virtual_mfa_devices(&root, AssignmentStatus::Any).await.unwrap().is_empty());
    db.iam.delete_user(&root, "alice").await.unwrap();
});

on_both!(security_keys_and_the_root_users_device, |db| {
    let root = db.with_account().await;
    let alice =
        db.iam.create_user(&root, CreateUser { user_name: "alice".into(), ..Default::default() }).await.unwrap();
    let serial =
        db.iam.register_security_key(&root, Some("alice"), "yubikey", "cred-1", r#"{"cred":1}"#).await.unwrap();
    assert_eq!(serial, format!("arn:aws:iam::{}:u2f/alice/yubikey", root.account_id()));
    let dup = db.iam.register_security_key(&root, Some("alice"), "other", "cred-1", "{}").await.unwrap_err();
    assert_eq!(dup.code(), "EntityAlreadyExists", "a credential id belongs to one device");
    assert_eq!(db.iam.security_keys(&alice.user_id).await.unwrap(), [(serial.clone(), r#"{"cred":1}"#.to_owned())]);
    assert!(db.iam.update_security_key(&serial, r#"{"cred":1}"#, r#"{"cred":2}"#).await.unwrap());
    let stale = db.iam.update_security_key(&serial, r#"{"cred":1}"#, r#"{"cred":3}"#).await.unwrap();
    assert!(!stale, "saved only over the credential the sign-in read");
    assert_eq!(db.iam.security_keys(&alice.user_id).await.unwrap()[0].1, r#"{"cred":2}"#);
    assert_eq!(db.iam.list_mfa_devices(&root, Some("alice")).await.unwrap()[0].kind, "webauthn");
    db.iam.deactivate_mfa_device(&root, Some("alice"), &serial).await.unwrap();
    assert!(db.iam.security_keys(&alice.user_id).await.unwrap().is_empty(), "a deactivated key is gone");

    // The root user's own virtual device.
    let device = db.iam.create_virtual_mfa_device(&root, "root-phone", None).await.unwrap();
    let seed = &device.base32_string_seed;
    db.iam.enable_mfa_device(&root, None, &device.serial_number, &code(db, seed, 0), &code(db, seed, 1)).await.unwrap();
    assert_eq!(db.iam.get_account_summary(&root).await.unwrap()["AccountMFAEnabled"], 1);
    let devices = db.iam.list_virtual_mfa_devices(&root, AssignmentStatus::Assigned).await.unwrap();
    assert_eq!(devices[0].user.as_deref(), Some("<root_account>"));
});

on_both!(hardware_tokens_are_registered_by_serial_and_seed, |db| {
    use iam_core::mfa::{SeedEncoding, parse_seed};
    let root = db.with_account().await;
    let alice =
        db.iam.create_user(&root, CreateUser { user_name: "alice".into(), ..Default::default() }).await.unwrap();
    // A seed file's hex seed and the same seed in base32, as a person might paste them.
    let hex = "3132333435363738393031323334353637383930";
    let base32 = "GEZD GNBV GY3T QOJQ GEZD GNBV GY3T QOJQ";
    let seed = parse_seed(hex, SeedEncoding::Hex).unwrap();
    assert_eq!(seed, parse_seed(&base32.to_lowercase(), SeedEncoding::Base32).unwrap());
    assert_eq!(seed, b"12345678901234567890");
    let b32 = Secret::from(seed.clone()).to_base32();
    assert_eq!(parse_seed("0x12", SeedEncoding::Hex).unwrap_err().code(), "ValidationError");
    assert!(parse_seed("ABC1", SeedEncoding::Base32).unwrap_err().message().contains("not base32"));
    assert!(parse_seed("31323334", SeedEncoding::Hex).unwrap_err().message().contains("32 bits"));

    let serial = "GAHT12345678";
    let wrong = db.iam.enable_hardware_mfa_device(&root, Some("alice"), serial, &seed, "123456", "654321").await;
    assert_eq!(wrong.unwrap_err().code(), "InvalidAuthenticationCode");
    let short = db.iam.enable_hardware_mfa_device(&root, Some("alice"), "GAHT1", &seed, "123456", "654321").await;
    assert!(short.unwrap_err().message().contains("'serialNumber'"));
    let arn = format!("arn:aws:iam::{}:mfa/x", root.account_id());
    let not_hw = db.iam.enable_hardware_mfa_device(&root, Some("alice"), &arn, &seed, "123456", "654321").await;
    assert_eq!(not_hw.unwrap_err().code(), "ValidationError");
    let zeros = db.iam.enable_hardware_mfa_device(&root, Some("alice"), serial, &[0; 20], "123456", "654321").await;
    assert!(zeros.unwrap_err().message().contains("repeats one byte"), "a placeholder seed file");
    let (c1, c2) = (code(db, &b32, -1), code(db, &b32, 0));
    db.iam.enable_hardware_mfa_device(&root, Some("alice"), serial, &seed, &c1, &c2).await.unwrap();
    let twice = db.iam.enable_hardware_mfa_device(&root, None, serial, &seed, &c1, &c2).await.unwrap_err();
    assert_eq!(twice.code(), "EntityAlreadyExists", "one token, one owner");
    let lower = db.iam.enable_hardware_mfa_device(&root, None, &serial.to_lowercase(), &seed, &c1, &c2).await;
    assert_eq!(lower.unwrap_err().code(), "EntityAlreadyExists", "serials compared ignoring case");

    let listed = db.iam.list_mfa_devices(&root, Some("alice")).await.unwrap();
    assert_eq!((listed[0].serial_number.as_str(), listed[0].kind.as_str()), (serial, "hardware"));
    assert!(db.iam.list_virtual_mfa_devices(&root, AssignmentStatus::Any).await.unwrap().is_empty(), "not virtual");
    let stored: String = sqlx::query_scalar("SELECT seed_sealed FROM mfa_devices WHERE serial_number = $1")
        .bind(serial)
        .fetch_one(db.iam.store().pool())
        .await
        .unwrap();
    assert!(!stored.contains(&b32) && !stored.contains(hex), "sealed at rest");
    let audit: Vec<String> =
        sqlx::query_scalar("SELECT parameters FROM audit_events WHERE action = 'iam:EnableMFADevice'")
            .fetch_all(db.iam.store().pool())
            .await
            .unwrap();
    let audit = audit.join("\n");
    for parameters in audit.lines() {
        // The request's parameters, never the seed in any form (bytes, text, base32 or hex).
        let value: serde_json::Value = serde_json::from_str(parameters).unwrap();
        let text = value.to_string();
        assert!(!text.contains(hex) && !text.contains(&b32) && !text.contains("1234567890"), "{text}");
        let mut keys: Vec<&String> = value.as_object().unwrap().keys().collect();
        keys.sort();
        assert_eq!(keys, ["SerialNumber", "UserName"], "{text}");
    }

    // Sign-in takes its codes once, and resync works as for a virtual device.
    db.clock.advance_millis(30_000);
    let now_code = code(db, &b32, 0);
    assert_eq!(db.iam.verify_totp(&alice.user_id, &now_code).await.unwrap().as_deref(), Some(serial));
    assert_eq!(db.iam.verify_totp(&alice.user_id, &now_code).await.unwrap(), None, "a replay is refused");
    db.clock.advance_millis(5 * 30_000);
    db.iam.resync_mfa_device(&root, Some("alice"), serial, &code(db, &b32, 2), &code(db, &b32, 3)).await.unwrap();

    // Deactivating forgets the seed: the token is registered again from its seed file.
    db.iam.deactivate_mfa_device(&root, Some("alice"), serial).await.unwrap();
    assert!(db.iam.list_mfa_devices(&root, Some("alice")).await.unwrap().is_empty());
    let gone: i64 =
        sqlx::query_scalar("SELECT COUNT(*) FROM mfa_devices").fetch_one(db.iam.store().pool()).await.unwrap();
    assert_eq!(gone, 0);
    db.clock.advance_millis(5 * 30_000);
    db.iam
        .enable_hardware_mfa_device(&root, None, serial, &seed, &code(db, &b32, 0), &code(db, &b32, 1))
        .await
        .unwrap();
    assert_eq!(db.iam.get_account_summary(&root).await.unwrap()["AccountMFAEnabled"], 1, "the root user's token");
    // Another account (made by hand: only bootstrap makes accounts today) may use the same serial:
    // a serial taken elsewhere is neither revealed nor blocked.
    sqlx::query(
        "INSERT INTO accounts (account_id, alias, root_email, root_email_key, root_password_hash, \
         root_password_changed_at, created_at) VALUES ('999999999999', 'other-corp', 'o@example.com', \
         'o@example.com', 'x', 0, 0)",
    )
    .execute(db.iam.store().pool())
    .await
    .unwrap();
    let other = root_of("999999999999");
    db.iam
        .enable_hardware_mfa_device(&other, None, serial, &seed, &code(db, &b32, 2), &code(db, &b32, 3))
        .await
        .unwrap();
    assert_eq!(db.iam.list_mfa_devices(&other, None).await.unwrap().len(), 1);
    assert_eq!(db.iam.list_mfa_devices(&root, None).await.unwrap().len(), 1, "root's is untouched");

    // A serial is the owner's word: here alice's user id. Only virtual devices take tags (as AWS's
    // TagMFADevice), so a token can neither read nor rewrite the tags of whoever shares its name.
    let alice_tags = vec![("team".to_owned(), "blue".to_owned())];
    db.iam.tag(&root, Taggable::User("alice"), &alice_tags).await.unwrap();
    let (d1, d2) = (code(db, &b32, 4), code(db, &b32, 5));
    db.iam.enable_hardware_mfa_device(&other, None, &alice.user_id, &seed, &d1, &d2).await.unwrap();
    let tagged = db.iam.tag(&other, Taggable::MfaDevice(&alice.user_id), &alice_tags).await.unwrap_err();
    assert_eq!(tagged.code(), "NoSuchEntity");
    assert_eq!(db.iam.list_tags(&other, Taggable::MfaDevice(&alice.user_id)).await.unwrap_err().code(), "NoSuchEntity");
    db.iam.deactivate_mfa_device(&other, None, &alice.user_id).await.unwrap();
    assert_eq!(db.iam.list_tags(&root, Taggable::User("alice")).await.unwrap().len(), 1, "alice's tags stay");
});

on_both!(removing_a_device_deactivates_and_deletes_all_or_nothing, |db| {
    use iam_core::Principal;
    use iam_core::entities::EntityKind;
    let root = db.with_account().await;
    db.iam.create_user(&root, CreateUser { user_name: "alice".into(), ..Default::default() }).await.unwrap();
    let device = db.iam.create_virtual_mfa_device(&root, "alice-phone", None).await.unwrap();
    let seed = &device.base32_string_seed;
    db.iam
        .enable_mfa_device(&root, Some("alice"), &device.serial_number, &code(db, seed, -1), &code(db, seed, 0))
        .await
        .unwrap();

    // A delegate allowed to deactivate but not to delete changes nothing.
    let bob = db.iam.create_user(&root, CreateUser { user_name: "bob".into(), ..Default::default() }).await.unwrap();
    let bob = crate::harness::caller(Principal::User {
        account_id: root.account_id().to_owned(),
        user_id: bob.user_id,
        user_name: "bob".into(),
        path: "/".into(),
    });
    let half = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"iam:DeactivateMFADevice","Resource":"*"}]}"#;
    db.iam.put_inline_policy(&root, EntityKind::User, "bob", "Half", half).await.unwrap();
    let refused = db.iam.remove_mfa_device(&bob, Some("alice"), &device.serial_number).await.unwrap_err();
    assert_eq!(refused.code(), "AccessDenied");
    assert!(refused.message().contains("iam:DeleteVirtualMFADevice"), "{refused}");
    assert_eq!(db.iam.list_mfa_devices(&root, Some("alice")).await.unwrap().len(), 1, "still assigned");

    db.iam.remove_mfa_device(&root, Some("alice"), &device.serial_number).await.unwrap();
    assert!(db.iam.list_mfa_devices(&root, Some("alice")).await.unwrap().is_empty());
    assert!(db.iam.list_virtual_mfa_devices(&root, AssignmentStatus::Any).await.unwrap().is_empty(), "deleted");
    let events = db.iam.audit_events(&root, None, None, 100).await.unwrap();
    for action in ["iam:DeactivateMFADevice", "iam:DeleteVirtualMFADevice"] {
        assert!(events.iter().any(|e| e.action == action && e.outcome == "Success"), "{action} audited");
    }
    let again = db.iam.remove_mfa_device(&root, Some("alice"), &device.serial_number).await.unwrap_err();
    assert_eq!(again.code(), "NoSuchEntity");
});

on_both!(a_user_has_at_most_eight_devices_of_any_kind, |db| {
    let root = db.with_account().await;
    db.iam.create_user(&root, CreateUser { user_name: "alice".into(), ..Default::default() }).await.unwrap();
    for n in 0..8 {
        let (name, id) = (format!("key-{n}"), format!("cred-{n}"));
        db.iam.register_security_key(&root, Some("alice"), &name, &id, "{}").await.unwrap();
    }
    let ninth = db.iam.register_security_key(&root, Some("alice"), "key-8", "cred-8", "{}").await.unwrap_err();
    assert_eq!(ninth.message(), "Cannot exceed quota for MFADevicesPerUser: 8");
    let seed = b"12345678901234567890";
    let b32 = Secret::from(seed.to_vec()).to_base32();
    let (c1, c2) = (code(db, &b32, -1), code(db, &b32, 0));
    let token = db.iam.enable_hardware_mfa_device(&root, Some("alice"), "GAHT12345678", seed, &c1, &c2).await;
    assert_eq!(token.unwrap_err().code(), "LimitExceeded", "a hardware token counts too");
    let device = db.iam.create_virtual_mfa_device(&root, "alice-phone", None).await.unwrap();
    let s = &device.base32_string_seed;
    let app =
        db.iam.enable_mfa_device(&root, Some("alice"), &device.serial_number, &code(db, s, -1), &code(db, s, 0)).await;
    assert_eq!(app.unwrap_err().code(), "LimitExceeded", "and a virtual device");
});
