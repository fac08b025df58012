//! Tags, the account alias and the account summary.

use iam_core::entities::EntityKind;
use iam_core::policies::CreatePolicy;
use iam_core::roles::CreateRole;
use iam_core::tagging::Taggable;
use iam_core::users::CreateUser;
use iam_core::{Caller, Principal};

use crate::harness::caller;
use crate::on_both;

fn pairs(tags: &[(&str, &str)]) -> Vec<(String, String)> {
    tags.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect()
}

on_both!(tags_are_added_replaced_removed_and_govern_access, |db| {
    let root = db.with_account().await;
    let u = db.iam.create_user(&root, CreateUser { user_name: "alice".into(), ..Default::default() }).await.unwrap();
    let alice: Caller = caller(Principal::User {
        account_id: root.account_id().to_owned(),
        user_id: u.user_id,
        user_name: "alice".into(),
        path: "/".into(),
    });
    db.iam.tag(&root, Taggable::User("alice"), &pairs(&[("team", "dev"), ("cost", "1")])).await.unwrap();
    db.iam.tag(&root, Taggable::User("alice"), &pairs(&[("TEAM", "ops")])).await.unwrap();
    let tags = db.iam.list_tags(&root, Taggable::User("alice")).await.unwrap();
    assert_eq!(
        tags.iter().map(|t| (t.key.as_str(), t.value.as_str())).collect::<Vec<_>>(),
        [("team", "ops"), ("cost", "1")]
    );
    db.iam.untag(&root, Taggable::User("alice"), &["COST".to_owned(), "absent".to_owned()]).await.unwrap();
    assert_eq!(db.iam.list_tags(&root, Taggable::User("alice")).await.unwrap().len(), 1);
    let many: Vec<_> = (0..50).map(|i| (format!("k{i}"), String::new())).collect();
    assert_eq!(db.iam.tag(&root, Taggable::User("alice"), &many).await.unwrap_err().code(), "LimitExceeded");
    assert_eq!(
        db.iam.tag(&root, Taggable::User("nobody"), &pairs(&[("a", "b")])).await.unwrap_err().code(),
        "NoSuchEntity"
    );
    assert_eq!(db.iam.tag(&root, Taggable::User("alice"), &[]).await.unwrap_err().code(), "ValidationError");

    // A principal tag changed by TagUser applies on the next request.
    let by_tag = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"iam:ListRoles","Resource":"*",
        "Condition":{"StringEquals":{"aws:PrincipalTag/team":"dev"}}}]}"#;
    db.iam.put_inline_policy(&root, EntityKind::User, "alice", "ByTag", by_tag).await.unwrap();
    assert_eq!(db.iam.list_roles(&alice, None, None, None).await.unwrap_err().code(), "AccessDenied");
    db.iam.tag(&root, Taggable::User("alice"), &pairs(&[("team", "dev")])).await.unwrap();
    assert!(db.iam.list_roles(&alice, None, None, None).await.is_ok());

    // Which tags may be set is itself a policy matter.
    let tagging = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"iam:TagRole","Resource":"*",
        "Condition":{"ForAllValues:StringEquals":{"aws:TagKeys":["env"]}}}]}"#;
    db.iam.put_inline_policy(&root, EntityKind::User, "alice", "Tagging", tagging).await.unwrap();
    let trust = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"ec2.amazonaws.com"},"Action":"sts:AssumeRole"}]}"#;
    db.iam
        .create_role(
            &root,
            CreateRole { role_name: "web".into(), assume_role_policy_document: trust.into(), ..Default::default() },
        )
        .await
        .unwrap();
    db.iam.tag(&alice, Taggable::Role("web"), &pairs(&[("env", "prod")])).await.unwrap();
    assert_eq!(
        db.iam.tag(&alice, Taggable::Role("web"), &pairs(&[("owner", "x")])).await.unwrap_err().code(),
        "AccessDenied"
    );
    assert_eq!(db.iam.list_tags(&root, Taggable::Role("web")).await.unwrap().len(), 1);

    let doc = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:GetObject","Resource":"*"}]}"#;
    let policy = db
        .iam
        .create_policy(
            &root,
            CreatePolicy { policy_name: "P".into(), policy_document: doc.into(), ..Default::default() },
        )
        .await
        .unwrap();
    db.iam.tag(&root, Taggable::Policy(&policy.arn), &pairs(&[("owner", "sec")])).await.unwrap();
    assert_eq!(db.iam.get_policy(&root, &policy.arn).await.unwrap().tags.len(), 1);
});

on_both!(the_alias_and_the_summary, |db| {
    let root = db.with_account().await;
    assert_eq!(db.iam.list_account_aliases(&root).await.unwrap(), ["example-corp"]);
    db.iam.create_account_alias(&root, "new-name").await.unwrap();
    assert_eq!(db.iam.list_account_aliases(&root).await.unwrap(), ["new-name"]);
    assert_eq!(db.iam.delete_account_alias(&root, "example-corp").await.unwrap_err().code(), "NoSuchEntity");
    db.iam.delete_account_alias(&root, "new-name").await.unwrap();
    assert!(db.iam.list_account_aliases(&root).await.unwrap().is_empty());
    assert_eq!(db.iam.create_account_alias(&root, "Bad_Alias").await.unwrap_err().code(), "ValidationError");

    db.iam.create_user(&root, CreateUser { user_name: "alice".into(), ..Default::default() }).await.unwrap();
    db.iam.create_group(&root, "g", None).await.unwrap();
    db.iam.create_access_key(&root, None).await.unwrap();
    let summary = db.iam.get_account_summary(&root).await.unwrap();
    for (key, value) in [
        ("Users", 1),
        ("UsersQuota", 5000),
        ("Groups", 1),
        ("Roles", 0),
        ("Policies", 0),
        ("AccountAccessKeysPresent", 1),
        ("AccountMFAEnabled", 0),
        ("GroupsPerUserQuota", 10),
    ] {
        assert_eq!(summary.get(key), Some(&value), "{key}");
    }
});

on_both!(authorization_details_list_everything_with_its_policies, |db| {
    use iam_core::authorization_details::DetailFilter;
    let root = db.with_account().await;
    db.iam
        .create_user(
            &root,
            CreateUser { user_name: "alice".into(), tags: pairs(&[("team", "dev")]), ..Default::default() },
        )
        .await
        .unwrap();
    db.iam.create_group(&root, "devs", None).await.unwrap();
    db.iam.add_user_to_group(&root, "devs", "alice").await.unwrap();
    let doc = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:GetObject","Resource":"*"}]}"#;
    db.iam.put_inline_policy(&root, EntityKind::User, "alice", "Reports", doc).await.unwrap();
    db.iam.put_inline_policy(&root, EntityKind::Group, "devs", "Shared", doc).await.unwrap();
    let p = db
        .iam
        .create_policy(
            &root,
            CreatePolicy { policy_name: "P".into(), policy_document: doc.into(), ..Default::default() },
        )
        .await
        .unwrap();
    db.iam.create_policy_version(&root, &p.arn, doc, true).await.unwrap();
    db.iam.attach_policy(&root, EntityKind::User, "alice", &p.arn).await.unwrap();
    db.iam.attach_policy(&root, EntityKind::Group, "devs", "arn:aws:iam::aws:policy/ReadOnlyAccess").await.unwrap();
    let trust = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"ec2.amazonaws.com"},"Action":"sts:AssumeRole"}]}"#;
    db.iam
        .create_role(
            &root,
            CreateRole { role_name: "web".into(), assume_role_policy_document: trust.into(), ..Default::default() },
        )
        .await
        .unwrap();

    let all = db.iam.get_account_authorization_details(&root, &[]).await.unwrap();
    let alice = &all.user_detail_list[0];
    assert_eq!((alice.user_name.as_str(), alice.group_list.as_slice()), ("alice", &["devs".to_owned()][..]));
    assert_eq!(alice.user_policy_list[0].policy_name, "Reports");
    assert_eq!(alice.attached_managed_policies[0].policy_arn, p.arn);
    assert_eq!(alice.tags.len(), 1);
    assert_eq!(all.group_detail_list[0].group_policy_list[0].policy_name, "Shared");
    assert_eq!(all.role_detail_list[0].assume_role_policy_document, trust);
    let arns: Vec<&str> = all.policies.iter().map(|d| d.policy.arn.as_str()).collect();
    assert_eq!(arns, ["arn:aws:iam::aws:policy/ReadOnlyAccess", p.arn.as_str()], "AWS managed ones only when in use");
    let local = all.policies.iter().find(|d| d.policy.arn == p.arn).unwrap();
    assert_eq!(
        local.policy_version_list.iter().map(|v| (v.version_id.as_str(), v.is_default_version)).collect::<Vec<_>>(),
        [("v2", true), ("v1", false)]
    );
    let roles_only = db.iam.get_account_authorization_details(&root, &[DetailFilter::Role]).await.unwrap();
    assert!(roles_only.user_detail_list.is_empty() && roles_only.policies.is_empty());
    assert_eq!(roles_only.role_detail_list.len(), 1);

    // MFA devices are taggable too.
    let device = db.iam.create_virtual_mfa_device(&root, "phone", None).await.unwrap();
    db.iam.tag(&root, Taggable::MfaDevice(&device.serial_number), &pairs(&[("owner", "alice")])).await.unwrap();
    assert_eq!(db.iam.list_tags(&root, Taggable::MfaDevice(&device.serial_number)).await.unwrap().len(), 1);
});
