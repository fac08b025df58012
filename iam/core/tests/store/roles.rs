use iam_core::entities::EntityKind;
use iam_core::roles::CreateRole;

use crate::on_both;

const TRUST: &str = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"ec2.amazonaws.com"},"Action":"sts:AssumeRole"}]}"#;

fn role(name: &str) -> CreateRole {
    CreateRole { role_name: name.into(), assume_role_policy_document: TRUST.into(), ..Default::default() }
}

on_both!(roles_are_created_read_updated_listed_and_deleted, |db| {
    let root = db.with_account().await;
    let account = root.account_id().to_owned();
    let created = db
        .iam
        .create_role(
            &root,
            CreateRole {
                path: Some("/service/".into()),
                description: Some("Web servers".into()),
                max_session_duration: Some(7_200),
                tags: vec![("team".into(), "web".into())],
                ..role("WebServer")
            },
        )
        .await
        .unwrap();
    assert!(created.role_id.starts_with("AROA"));
    assert_eq!(created.arn, format!("arn:aws:iam::{account}:role/service/WebServer"));
    assert_eq!(db.iam.get_role(&root, "webserver").await.unwrap(), created);
    db.iam.update_role(&root, "WebServer", Some("Front end"), Some(43_200)).await.unwrap();
    let got = db.iam.get_role(&root, "WebServer").await.unwrap();
    assert_eq!((got.description.as_str(), got.max_session_duration), ("Front end", 43_200));
    db.iam.update_role_description(&root, "WebServer", "Back end").await.unwrap();
    assert_eq!(db.iam.get_role(&root, "WebServer").await.unwrap().description, "Back end");
    let lambda = TRUST.replace("ec2", "lambda");
    db.iam.update_assume_role_policy(&root, "WebServer", &lambda).await.unwrap();
    assert_eq!(db.iam.get_role(&root, "WebServer").await.unwrap().assume_role_policy_document, lambda);
    for name in ["a", "b", "c"] {
        db.iam.create_role(&root, role(name)).await.unwrap();
    }
    let page = db.iam.list_roles(&root, None, None, Some(3)).await.unwrap();
    assert!(page.is_truncated);
    let rest = db.iam.list_roles(&root, None, page.marker.as_deref(), None).await.unwrap();
    assert_eq!(rest.items.iter().map(|r| r.role_name.as_str()).collect::<Vec<_>>(), ["WebServer"]);
    assert!(rest.items[0].tags.is_empty(), "ListRoles carries no tags");
    assert_eq!(db.iam.list_roles(&root, Some("/service/"), None, None).await.unwrap().items.len(), 1);
    // Policies block deletion; a role's inline quota is larger than a user's.
    let resources: Vec<String> = (0..90).map(|i| format!("\"arn:aws:s3:::bucket-{i:03}/*\"")).collect();
    let large = format!(
        r#"{{"Version":"2012-10-17","Statement":[{{"Effect":"Allow","Action":"s3:GetObject","Resource":[{}]}}]}}"#,
        resources.join(",")
    );
    db.iam.put_inline_policy(&root, EntityKind::Role, "WebServer", "Large", &large).await.unwrap();
    db.iam.attach_policy(&root, EntityKind::Role, "WebServer", "arn:aws:iam::aws:policy/ReadOnlyAccess").await.unwrap();
    let conflict = db.iam.delete_role(&root, "WebServer").await.unwrap_err();
    assert_eq!(conflict.message(), "Cannot delete entity, must delete policies first.");
    db.iam.delete_inline_policy(&root, EntityKind::Role, "WebServer", "Large").await.unwrap();
    let conflict = db.iam.delete_role(&root, "WebServer").await.unwrap_err();
    assert_eq!(conflict.message(), "Cannot delete entity, must detach all policies first.");
    db.iam.detach_policy(&root, EntityKind::Role, "WebServer", "arn:aws:iam::aws:policy/ReadOnlyAccess").await.unwrap();
    db.iam.delete_role(&root, "WebServer").await.unwrap();
    assert_eq!(db.iam.get_role(&root, "WebServer").await.unwrap_err().code(), "NoSuchEntity");
    let again = db.iam.create_role(&root, role("webserver")).await.unwrap();
    assert!(again.tags.is_empty(), "tags went with the role");
});

on_both!(role_input_is_checked_with_aws_codes, |db| {
    let root = db.with_account().await;
    db.iam.create_role(&root, role("Dev")).await.unwrap();
    assert_eq!(db.iam.create_role(&root, role("DEV")).await.unwrap_err().code(), "EntityAlreadyExists");
    let no_principal = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"sts:AssumeRole"}]}"#;
    let bad = CreateRole { assume_role_policy_document: no_principal.into(), ..role("x") };
    assert_eq!(db.iam.create_role(&root, bad).await.unwrap_err().code(), "MalformedPolicyDocument");
    let bad = CreateRole { max_session_duration: Some(600), ..role("x") };
    assert_eq!(db.iam.create_role(&root, bad).await.unwrap_err().code(), "ValidationError");
    let bad = CreateRole { role_name: "x".repeat(65), ..role("x") };
    assert_eq!(db.iam.create_role(&root, bad).await.unwrap_err().code(), "ValidationError");
    let missing = format!("arn:aws:iam::{}:policy/Nope", root.account_id());
    let bad = CreateRole { permissions_boundary: Some(missing), ..role("x") };
    assert_eq!(db.iam.create_role(&root, bad).await.unwrap_err().code(), "NoSuchEntity");
    let bounded =
        CreateRole { permissions_boundary: Some("arn:aws:iam::aws:policy/PowerUserAccess".into()), ..role("Bounded") };
    let created = db.iam.create_role(&root, bounded).await.unwrap();
    assert_eq!(created.permissions_boundary_arn.as_deref(), Some("arn:aws:iam::aws:policy/PowerUserAccess"));
    // A trust policy is at most 2,048 characters, whitespace not counted (AWS's ACLSizePerRole).
    let principals: Vec<String> = (0..60).map(|i| format!("\"arn:aws:iam::1234567890{i:02}:root\"")).collect();
    let big = format!(
        r#"{{"Version":"2012-10-17","Statement":[{{"Effect":"Allow","Principal":{{"AWS":[{}]}},"Action":"sts:AssumeRole"}}]}}"#,
        principals.join(",")
    );
    let too_large = db.iam.update_assume_role_policy(&root, "Dev", &big).await.unwrap_err();
    assert_eq!(
        (too_large.code(), too_large.message().as_str()),
        ("LimitExceeded", "Cannot exceed quota for ACLSizePerRole: 2048")
    );
    let bad = CreateRole { assume_role_policy_document: big.clone(), ..role("x") };
    assert_eq!(db.iam.create_role(&root, bad).await.unwrap_err().code(), "LimitExceeded");
    let spaced = TRUST.replace(',', &format!(",{}", " ".repeat(1_000)));
    db.iam.update_assume_role_policy(&root, "Dev", &spaced).await.unwrap();
    let malformed = db.iam.update_assume_role_policy(&root, "Dev", "{").await.unwrap_err();
    assert_eq!(malformed.code(), "MalformedPolicyDocument");
    assert_eq!(db.iam.update_role(&root, "Nope", None, None).await.unwrap_err().code(), "NoSuchEntity");
    db.iam.delete_permissions_boundary(&root, EntityKind::Role, "Bounded").await.unwrap();
    assert_eq!(db.iam.get_role(&root, "Bounded").await.unwrap().permissions_boundary_arn, None);
});
