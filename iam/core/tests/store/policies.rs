//! Managed and inline policies, groups and boundaries, and what they let users do: authorization
//! through every path a permission can take, the cache following every change at once.

use iam_core::entities::EntityKind;
use iam_core::policies::{CreatePolicy, ListPolicies, PolicyScope};
use iam_core::users::CreateUser;
use iam_core::{Caller, Principal};

use crate::harness::{TestDb, caller};
use crate::on_both;

/// Creates user `name` (with `tags`) as root and returns a caller signed in as that user.
pub(crate) async fn user(db: &TestDb, root: &Caller, name: &str, tags: &[(&str, &str)]) -> Caller {
    let tags = tags.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect();
    let u = db
        .iam
        .create_user(root, CreateUser { user_name: name.into(), path: None, tags, permissions_boundary: None })
        .await
        .unwrap();
    caller(Principal::User {
        account_id: root.account_id().to_owned(),
        user_id: u.user_id,
        user_name: name.into(),
        path: "/".into(),
    })
}

pub(crate) fn allow(actions: &str, resources: &str) -> String {
    format!(
        r#"{{"Version":"2012-10-17","Statement":[{{"Effect":"Allow","Action":{actions},"Resource":{resources}}}]}}"#
    )
}

pub(crate) async fn managed(db: &TestDb, root: &Caller, name: &str, document: &str) -> String {
    let input = CreatePolicy { policy_name: name.into(), policy_document: document.into(), ..Default::default() };
    db.iam.create_policy(root, input).await.unwrap().arn
}

on_both!(inline_self_service_policies_use_the_user_name, |db| {
    let root = db.with_account().await;
    let alice = user(db, &root, "alice", &[]).await;
    user(db, &root, "bob", &[]).await;
    assert_eq!(db.iam.get_user(&alice, "alice").await.unwrap_err().code(), "AccessDenied");
    let own = allow(r#""iam:GetUser""#, r#""arn:aws:iam::*:user/${aws:username}""#);
    db.iam.put_inline_policy(&root, EntityKind::User, "alice", "SelfService", &own).await.unwrap();
    assert_eq!(db.iam.get_user(&alice, "alice").await.unwrap().user_name, "alice", "allowed at once");
    let denied = db.iam.get_user(&alice, "bob").await.unwrap_err();
    assert_eq!(denied.code(), "AccessDenied");
    assert!(denied.message().ends_with("because no identity-based policy allows the iam:GetUser action"), "{denied}");
    // Reading an inline policy back, listing, replacing and deleting it.
    let got = db.iam.get_inline_policy(&root, EntityKind::User, "ALICE", "selfservice").await.unwrap();
    assert_eq!(
        (got.entity_name.as_str(), got.policy_name.as_str(), got.document.as_str()),
        ("alice", "SelfService", own.as_str())
    );
    assert_eq!(db.iam.list_inline_policies(&root, EntityKind::User, "alice").await.unwrap(), ["SelfService"]);
    // The console's "Create inline policy" never replaces one of the same name (case aside); the
    // refusal is audited as PutUserPolicy's.
    let taken = db.iam.create_inline_policy(&root, EntityKind::User, "alice", "SELFSERVICE", &own).await.unwrap_err();
    assert_eq!(
        (taken.code(), taken.message()),
        ("EntityAlreadyExists", "A policy called SELFSERVICE already exists. Duplicate names are not allowed.".into())
    );
    let events = db.iam.audit_events(&root, None, None, 5).await.unwrap();
    let refused = events.iter().find(|e| e.action == "iam:PutUserPolicy").unwrap();
    assert_eq!(refused.outcome, "EntityAlreadyExists", "the latest PutUserPolicy, refused");
    db.iam.create_inline_policy(&root, EntityKind::User, "alice", "Other", &own).await.unwrap();
    db.iam.delete_inline_policy(&root, EntityKind::User, "alice", "Other").await.unwrap();
    db.iam.delete_inline_policy(&root, EntityKind::User, "alice", "SelfService").await.unwrap();
    assert_eq!(db.iam.get_user(&alice, "alice").await.unwrap_err().code(), "AccessDenied", "revoked at once");
    let gone = db.iam.delete_inline_policy(&root, EntityKind::User, "alice", "SelfService").await.unwrap_err();
    assert_eq!(gone.code(), "NoSuchEntity");
    // Documents are checked with the engine's words and the entity's size quota.
    let bad = db.iam.put_inline_policy(&root, EntityKind::User, "alice", "Bad", r#"{"Statement":{"Effect":"allow"}}"#);
    assert_eq!(bad.await.unwrap_err().code(), "MalformedPolicyDocument");
    let resources: Vec<String> = (0..90).map(|i| format!("\"arn:aws:s3:::bucket-{i:03}/*\"")).collect();
    let large = allow(r#""s3:GetObject""#, &format!("[{}]", resources.join(",")));
    let too_much = db.iam.put_inline_policy(&root, EntityKind::User, "alice", "Large", &large).await.unwrap_err();
    assert_eq!(too_much.code(), "LimitExceeded");
    assert!(too_much.message().contains("2048"), "{too_much}");
    // The quota is a sum: two halves fit, a third does not; replacing one counts only once.
    let part: Vec<String> = (0..30).map(|i| format!("\"arn:aws:s3:::bucket-{i:03}/*\"")).collect();
    let third = allow(r#""s3:GetObject""#, &format!("[{}]", part.join(",")));
    db.iam.put_inline_policy(&root, EntityKind::User, "alice", "A", &third).await.unwrap();
    db.iam.put_inline_policy(&root, EntityKind::User, "alice", "B", &third).await.unwrap();
    db.iam.put_inline_policy(&root, EntityKind::User, "alice", "B", &third).await.unwrap();
    let over = db.iam.put_inline_policy(&root, EntityKind::User, "alice", "C", &third).await.unwrap_err();
    assert_eq!(over.code(), "LimitExceeded");
    db.iam.delete_inline_policy(&root, EntityKind::User, "alice", "A").await.unwrap();
    db.iam.delete_inline_policy(&root, EntityKind::User, "alice", "B").await.unwrap();
    assert_eq!(
        db.iam.put_inline_policy(&root, EntityKind::User, "nobody", "P", &own).await.unwrap_err().code(),
        "NoSuchEntity"
    );
});

on_both!(group_policies_apply_to_members_and_stop_when_they_leave, |db| {
    let root = db.with_account().await;
    let alice = user(db, &root, "alice", &[]).await;
    db.iam.create_group(&root, "readers", Some("/staff/")).await.unwrap();
    db.iam
        .attach_policy(&root, EntityKind::Group, "readers", "arn:aws:iam::aws:policy/IAMReadOnlyAccess")
        .await
        .unwrap();
    assert_eq!(db.iam.get_group(&alice, "readers").await.unwrap_err().code(), "AccessDenied");
    db.iam.add_user_to_group(&root, "readers", "alice").await.unwrap();
    let group = db.iam.get_group(&alice, "readers").await.unwrap();
    assert_eq!(group.users.iter().map(|u| u.user_name.as_str()).collect::<Vec<_>>(), ["alice"]);
    assert_eq!(group.group.arn, format!("arn:aws:iam::{}:group/staff/readers", root.account_id()));
    assert_eq!(db.iam.list_groups_for_user(&alice, "alice").await.unwrap().len(), 1);
    assert_eq!(db.iam.create_group(&alice, "writers", None).await.unwrap_err().code(), "AccessDenied");
    // An inline group policy adds to the managed one.
    let create = allow(r#""iam:CreateGroup""#, r#""*""#);
    db.iam.put_inline_policy(&root, EntityKind::Group, "readers", "MayCreateGroups", &create).await.unwrap();
    db.iam.create_group(&alice, "writers", None).await.unwrap();
    // Leaving the group takes both away on the very next request.
    db.iam.remove_user_from_group(&root, "readers", "alice").await.unwrap();
    assert_eq!(db.iam.get_group(&alice, "readers").await.unwrap_err().code(), "AccessDenied");
    assert_eq!(db.iam.create_group(&alice, "others", None).await.unwrap_err().code(), "AccessDenied");
    let again = db.iam.remove_user_from_group(&root, "readers", "alice").await.unwrap_err();
    assert_eq!(again.code(), "NoSuchEntity");
    // A group with policies cannot be deleted until they are gone.
    let conflict = db.iam.delete_group(&root, "readers").await.unwrap_err();
    assert_eq!(
        (conflict.code(), conflict.message()),
        ("DeleteConflict", "Cannot delete entity, must delete policies first.".into())
    );
    db.iam.delete_inline_policy(&root, EntityKind::Group, "readers", "MayCreateGroups").await.unwrap();
    let conflict = db.iam.delete_group(&root, "readers").await.unwrap_err();
    assert_eq!(conflict.message(), "Cannot delete entity, must detach all policies first.");
    db.iam
        .detach_policy(&root, EntityKind::Group, "readers", "arn:aws:iam::aws:policy/IAMReadOnlyAccess")
        .await
        .unwrap();
    db.iam.delete_group(&root, "readers").await.unwrap();
    assert_eq!(db.iam.get_group(&root, "readers").await.unwrap_err().code(), "NoSuchEntity");
});

on_both!(members_block_group_deletion_and_groups_block_user_deletion, |db| {
    let root = db.with_account().await;
    user(db, &root, "alice", &[]).await;
    db.iam.create_group(&root, "team", None).await.unwrap();
    db.iam.add_user_to_group(&root, "TEAM", "Alice").await.unwrap();
    db.iam.add_user_to_group(&root, "team", "alice").await.unwrap();
    assert_eq!(db.iam.get_group(&root, "team").await.unwrap().users.len(), 1, "adding twice is one membership");
    let conflict = db.iam.delete_group(&root, "team").await.unwrap_err();
    assert_eq!(conflict.message(), "Cannot delete entity, must remove users from group first.");
    let conflict = db.iam.delete_user(&root, "alice").await.unwrap_err();
    assert_eq!(conflict.message(), "Cannot delete entity, must remove user from all groups first.");
    for i in 0..9 {
        db.iam.create_group(&root, &format!("g{i}"), None).await.unwrap();
        db.iam.add_user_to_group(&root, &format!("g{i}"), "alice").await.unwrap();
    }
    db.iam.create_group(&root, "eleventh", None).await.unwrap();
    let limit = db.iam.add_user_to_group(&root, "eleventh", "alice").await.unwrap_err();
    assert_eq!((limit.code(), limit.message()), ("LimitExceeded", "Cannot exceed quota for GroupsPerUser: 10".into()));
    assert_eq!(db.iam.create_group(&root, "Team", None).await.unwrap_err().code(), "EntityAlreadyExists");
    assert_eq!(db.iam.add_user_to_group(&root, "team", "nobody").await.unwrap_err().code(), "NoSuchEntity");
    assert_eq!(db.iam.create_group(&root, "bad name", None).await.unwrap_err().code(), "ValidationError");
    let page = db.iam.list_groups(&root, None, None, Some(4)).await.unwrap();
    assert_eq!(page.items.len(), 4);
    let rest = db.iam.list_groups(&root, None, page.marker.as_deref(), Some(100)).await.unwrap();
    assert_eq!(page.items.len() + rest.items.len(), 11);
    assert!(!rest.is_truncated);
});

on_both!(deleting_a_group_with_everything_is_all_or_nothing, |db| {
    let root = db.with_account().await;
    let alice = user(db, &root, "alice", &[]).await;
    let bob = user(db, &root, "bob", &[]).await;
    db.iam.create_group(&root, "team", None).await.unwrap();
    db.iam.add_user_to_group(&root, "team", "alice").await.unwrap();
    let list = allow(r#""iam:ListUsers""#, r#""*""#);
    db.iam.put_inline_policy(&root, EntityKind::Group, "team", "MayList", &list).await.unwrap();
    let read_only = "arn:aws:iam::aws:policy/IAMReadOnlyAccess";
    db.iam.attach_policy(&root, EntityKind::Group, "team", read_only).await.unwrap();
    assert!(db.iam.list_users(&alice, Default::default()).await.is_ok());

    // Allowed every step but detaching that one policy, bob changes nothing at all.
    // Allowed only to delete, bob learns nothing of what is in the group: the first refusal is
    // the read the console would make, whatever the group holds.
    let only_delete = allow(r#""iam:DeleteGroup""#, r#""*""#);
    db.iam.put_inline_policy(&root, EntityKind::User, "bob", "OnlyDelete", &only_delete).await.unwrap();
    let refused = db.iam.delete_group_and_dependents(&bob, "team").await.unwrap_err();
    assert!(refused.message().contains("iam:GetGroup"), "{refused}");
    // Each read the console would make is required, one after the other.
    for (allowed, next) in [
        (r#"["iam:DeleteGroup","iam:GetGroup"]"#, "iam:ListGroupPolicies"),
        (r#"["iam:DeleteGroup","iam:GetGroup","iam:ListGroupPolicies"]"#, "iam:ListAttachedGroupPolicies"),
    ] {
        let policy = allow(allowed, r#""*""#);
        db.iam.put_inline_policy(&root, EntityKind::User, "bob", "OnlyDelete", &policy).await.unwrap();
        let refused = db.iam.delete_group_and_dependents(&bob, "team").await.unwrap_err();
        assert!(refused.message().contains(next), "{next}: {refused}");
        assert_eq!(db.iam.get_group(&root, "team").await.unwrap().users.len(), 1, "nothing was removed");
    }
    let missing = db.iam.delete_group_and_dependents(&bob, "no-such-group").await.unwrap_err();
    assert_eq!(missing.code(), "NoSuchEntity", "DeleteGroup on a missing group is AWS's NoSuchEntity");
    db.iam.delete_inline_policy(&root, EntityKind::User, "bob", "OnlyDelete").await.unwrap();
    let almost = r#"{"Version":"2012-10-17","Statement":[
        {"Effect":"Allow","Action":["iam:DeleteGroup","iam:RemoveUserFromGroup","iam:DeleteGroupPolicy",
            "iam:DetachGroupPolicy","iam:GetGroup","iam:ListGroupPolicies","iam:ListAttachedGroupPolicies"],
            "Resource":"*"},
        {"Effect":"Deny","Action":"iam:DetachGroupPolicy","Resource":"*",
            "Condition":{"ArnEquals":{"iam:PolicyARN":"arn:aws:iam::aws:policy/IAMReadOnlyAccess"}}}]}"#;
    db.iam.put_inline_policy(&root, EntityKind::User, "bob", "Almost", almost).await.unwrap();
    let refused = db.iam.delete_group_and_dependents(&bob, "team").await.unwrap_err();
    assert_eq!(refused.code(), "AccessDenied");
    assert!(refused.message().contains("iam:DetachGroupPolicy"), "{refused}");
    let group = db.iam.get_group(&root, "team").await.unwrap();
    assert_eq!(group.users.len(), 1, "nothing was removed");
    assert_eq!(db.iam.list_inline_policies(&root, EntityKind::Group, "team").await.unwrap(), ["MayList"]);
    assert_eq!(db.iam.list_attached_policies(&root, EntityKind::Group, "team").await.unwrap().len(), 1);
    assert!(db.iam.list_users(&alice, Default::default()).await.is_ok());

    // With every step allowed, everything goes in one change, and alice loses the group's grants.
    db.iam.delete_group_and_dependents(&root, "team").await.unwrap();
    assert_eq!(db.iam.get_group(&root, "team").await.unwrap_err().code(), "NoSuchEntity");
    assert_eq!(db.iam.list_users(&alice, Default::default()).await.unwrap_err().code(), "AccessDenied");
    assert!(db.iam.list_entities_for_policy(&root, read_only).await.unwrap().groups.is_empty());
    assert!(db.iam.list_groups_for_user(&root, "alice").await.unwrap().is_empty());
    let events = db.iam.audit_events(&root, None, None, 100).await.unwrap();
    for action in ["iam:RemoveUserFromGroup", "iam:DeleteGroupPolicy", "iam:DetachGroupPolicy", "iam:DeleteGroup"] {
        assert!(events.iter().any(|e| e.action == action && e.outcome == "Success"), "{action} audited");
    }
    // A name that was never there is AWS's NoSuchEntity, and a group of that name can be made again.
    assert_eq!(db.iam.delete_group_and_dependents(&root, "team").await.unwrap_err().code(), "NoSuchEntity");
    db.iam.create_group(&root, "team", None).await.unwrap();
    assert!(db.iam.get_group(&root, "team").await.unwrap().users.is_empty());
    drop(bob);
});

on_both!(deleting_a_role_with_its_policies_is_all_or_nothing, |db| {
    let root = db.with_account().await;
    let bob = user(db, &root, "bob", &[]).await;
    let trust = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"ec2.amazonaws.com"},"Action":"sts:AssumeRole"}]}"#;
    let role = iam_core::roles::CreateRole {
        role_name: "Deploy".into(),
        assume_role_policy_document: trust.into(),
        tags: vec![("team".into(), "ops".into())],
        ..Default::default()
    };
    let role_id = db.iam.create_role(&root, role).await.unwrap().role_id;
    let list = allow(r#""iam:ListUsers""#, r#""*""#);
    db.iam.put_inline_policy(&root, EntityKind::Role, "Deploy", "MayList", &list).await.unwrap();
    let read_only = "arn:aws:iam::aws:policy/IAMReadOnlyAccess";
    db.iam.attach_policy(&root, EntityKind::Role, "Deploy", read_only).await.unwrap();

    // Each read the console would make is required, one after the other, and nothing changes.
    for (allowed, next) in [
        (r#""iam:DeleteRole""#, "iam:GetRole"),
        (r#"["iam:DeleteRole","iam:GetRole"]"#, "iam:ListRolePolicies"),
        (r#"["iam:DeleteRole","iam:GetRole","iam:ListRolePolicies"]"#, "iam:ListAttachedRolePolicies"),
        (
            r#"["iam:DeleteRole","iam:GetRole","iam:ListRolePolicies","iam:ListAttachedRolePolicies"]"#,
            "iam:DeleteRolePolicy",
        ),
        (
            r#"["iam:DeleteRole","iam:GetRole","iam:ListRolePolicies","iam:ListAttachedRolePolicies","iam:DeleteRolePolicy"]"#,
            "iam:DetachRolePolicy",
        ),
    ] {
        let policy = allow(allowed, r#""*""#);
        db.iam.put_inline_policy(&root, EntityKind::User, "bob", "Delegated", &policy).await.unwrap();
        let refused = db.iam.delete_role_and_dependents(&bob, "Deploy").await.unwrap_err();
        assert_eq!(refused.code(), "AccessDenied");
        assert!(refused.message().contains(next), "{next}: {refused}");
        assert_eq!(db.iam.list_inline_policies(&root, EntityKind::Role, "Deploy").await.unwrap(), ["MayList"]);
        assert_eq!(db.iam.list_attached_policies(&root, EntityKind::Role, "Deploy").await.unwrap().len(), 1);
    }
    assert_eq!(db.iam.delete_role_and_dependents(&bob, "Nope").await.unwrap_err().code(), "NoSuchEntity");

    db.iam.delete_role_and_dependents(&root, "Deploy").await.unwrap();
    assert_eq!(db.iam.get_role(&root, "Deploy").await.unwrap_err().code(), "NoSuchEntity");
    assert!(db.iam.list_entities_for_policy(&root, read_only).await.unwrap().roles.is_empty());
    let events = db.iam.audit_events(&root, None, None, 100).await.unwrap();
    for action in ["iam:DeleteRolePolicy", "iam:DetachRolePolicy", "iam:DeleteRole"] {
        assert!(events.iter().any(|e| e.action == action && e.outcome == "Success"), "{action} audited");
    }
    // Nothing of the old role is left behind, under its id.
    for (table, column) in [
        ("tags", "entity_id"),
        ("inline_policies", "entity_id"),
        ("policy_attachments", "entity_id"),
        ("service_access", "principal_id"),
        ("roles", "role_id"),
    ] {
        let sql = format!("SELECT COUNT(*) AS n FROM {table} WHERE {column} = $1");
        let n: i64 =
            sqlx::Row::get(&sqlx::query(&sql).bind(&role_id).fetch_one(db.iam.store().pool()).await.unwrap(), "n");
        assert_eq!(n, 0, "{table} still holds rows of the deleted role");
    }
    // Made again under the same name, the role holds nothing of the old one: no policy, no tag.
    let again = iam_core::roles::CreateRole {
        role_name: "deploy".into(),
        assume_role_policy_document: trust.into(),
        ..Default::default()
    };
    assert!(db.iam.create_role(&root, again).await.unwrap().tags.is_empty());
    assert!(db.iam.list_inline_policies(&root, EntityKind::Role, "deploy").await.unwrap().is_empty());
    assert!(db.iam.list_attached_policies(&root, EntityKind::Role, "deploy").await.unwrap().is_empty());
});

on_both!(deleting_a_policy_detaches_it_and_deletes_its_versions_all_or_nothing, |db| {
    let root = db.with_account().await;
    let bob = user(db, &root, "bob", &[]).await;
    user(db, &root, "carol", &[]).await;
    db.iam.create_group(&root, "Ops", None).await.unwrap();
    let arn = managed(db, &root, "Shared", &allow(r#""iam:ListUsers""#, r#""*""#)).await;
    db.iam.create_policy_version(&root, &arn, &allow(r#""iam:GetUser""#, r#""*""#), false).await.unwrap();
    db.iam.attach_policy(&root, EntityKind::User, "carol", &arn).await.unwrap();
    db.iam.attach_policy(&root, EntityKind::Group, "Ops", &arn).await.unwrap();
    let tag = iam_core::tagging::Taggable::Policy(&arn);
    db.iam.tag(&root, tag, &[("team".into(), "ops".into())]).await.unwrap();

    // The reads first, then each step, each required in turn; nothing changes on a refusal.
    let mut allowed: Vec<&str> = vec!["iam:DeletePolicy"];
    for next in [
        "iam:GetPolicy",
        "iam:ListEntitiesForPolicy",
        "iam:ListPolicyVersions",
        "iam:DetachGroupPolicy",
        "iam:DetachUserPolicy",
        "iam:DeletePolicyVersion",
    ] {
        let list = allowed.iter().map(|a| format!("\"{a}\"")).collect::<Vec<_>>().join(",");
        let policy = allow(&format!("[{list}]"), r#""*""#);
        db.iam.put_inline_policy(&root, EntityKind::User, "bob", "Delegated", &policy).await.unwrap();
        let refused = db.iam.delete_policy_and_dependents(&bob, &arn).await.unwrap_err();
        assert_eq!(refused.code(), "AccessDenied");
        assert!(refused.message().contains(next), "{next}: {refused}");
        let entities = db.iam.list_entities_for_policy(&root, &arn).await.unwrap();
        assert_eq!((entities.users.len(), entities.groups.len()), (1, 1));
        assert_eq!(db.iam.list_policy_versions(&root, &arn).await.unwrap().len(), 2);
        allowed.push(next);
    }
    // Used as a boundary: refused, with nothing changed.
    db.iam.put_permissions_boundary(&root, EntityKind::User, "carol", &arn).await.unwrap();
    let conflict = db.iam.delete_policy_and_dependents(&root, &arn).await.unwrap_err();
    assert_eq!(conflict.code(), "DeleteConflict", "{conflict}");
    let entities = db.iam.list_entities_for_policy(&root, &arn).await.unwrap();
    assert_eq!(entities.boundary_users.iter().map(|(n, _)| n.as_str()).collect::<Vec<_>>(), ["carol"]);
    let listed = db.iam.list_policies(&root, Default::default()).await.unwrap();
    let shared = listed.items.iter().find(|p| p.arn == arn).unwrap();
    assert_eq!((shared.attachment_count, shared.permissions_boundary_usage_count), (2, 1), "as ListPolicies counts");
    db.iam.delete_permissions_boundary(&root, EntityKind::User, "carol").await.unwrap();
    assert!(db.iam.list_entities_for_policy(&root, &arn).await.unwrap().boundary_users.is_empty());
    assert_eq!(
        db.iam.delete_policy_and_dependents(&root, "arn:aws:iam::aws:policy/ReadOnlyAccess").await.unwrap_err().code(),
        "InvalidInput"
    );

    // Each detach is authorized on the entity, with the policy's ARN as `iam:PolicyARN`.
    let account = root.account_id();
    let delegated = |detach_user_on: &str, deny_policy_arn: &str| {
        format!(
            r#"{{"Version":"2012-10-17","Statement":[
                {{"Effect":"Allow","Action":["iam:DeletePolicy","iam:GetPolicy","iam:ListEntitiesForPolicy",
                  "iam:ListPolicyVersions","iam:DetachGroupPolicy","iam:DeletePolicyVersion"],"Resource":"*"}},
                {{"Effect":"Allow","Action":"iam:DetachUserPolicy","Resource":"{detach_user_on}"}},
                {{"Effect":"Deny","Action":"iam:DetachUserPolicy","Resource":"*",
                  "Condition":{{"ArnEquals":{{"iam:PolicyARN":"{deny_policy_arn}"}}}}}}]}}"#
        )
    };
    let carol = format!("arn:aws:iam::{account}:user/carol");
    let other = format!("arn:aws:iam::{account}:policy/Other");
    for (on, deny) in [(format!("arn:aws:iam::{account}:user/dave"), other.clone()), (carol.clone(), arn.clone())] {
        db.iam.put_inline_policy(&root, EntityKind::User, "bob", "Delegated", &delegated(&on, &deny)).await.unwrap();
        let refused = db.iam.delete_policy_and_dependents(&bob, &arn).await.unwrap_err();
        assert!(refused.message().contains("iam:DetachUserPolicy"), "{refused}");
        assert_eq!(db.iam.list_entities_for_policy(&root, &arn).await.unwrap().users.len(), 1);
    }

    // Allowed to detach from carol with this policy's ARN, bob deletes it.
    let policy_id = db.iam.get_policy(&root, &arn).await.unwrap().policy_id;
    db.iam.put_inline_policy(&root, EntityKind::User, "bob", "Delegated", &delegated(&carol, &other)).await.unwrap();
    db.iam.delete_policy_and_dependents(&bob, &arn).await.unwrap();
    assert_eq!(db.iam.get_policy(&root, &arn).await.unwrap_err().code(), "NoSuchEntity");
    assert!(db.iam.list_attached_policies(&root, EntityKind::User, "carol").await.unwrap().is_empty());
    assert!(db.iam.list_attached_policies(&root, EntityKind::Group, "Ops").await.unwrap().is_empty());
    let events = db.iam.audit_events(&root, None, None, 100).await.unwrap();
    for action in ["iam:DetachUserPolicy", "iam:DetachGroupPolicy", "iam:DeletePolicyVersion", "iam:DeletePolicy"] {
        assert!(events.iter().any(|e| e.action == action && e.outcome == "Success"), "{action} audited");
    }
    // Recorded as a plain detach is, so that a search by user finds it.
    let detach = events.iter().find(|e| e.action == "iam:DetachUserPolicy" && e.outcome == "Success").unwrap();
    assert!(detach.parameters.contains(r#""UserName":"carol""#), "{}", detach.parameters);
    for (table, column) in [("tags", "entity_id"), ("policy_versions", "policy_id"), ("managed_policies", "policy_id")]
    {
        let sql = format!("SELECT COUNT(*) AS n FROM {table} WHERE {column} = $1");
        let n: i64 =
            sqlx::Row::get(&sqlx::query(&sql).bind(&policy_id).fetch_one(db.iam.store().pool()).await.unwrap(), "n");
        assert_eq!(n, 0, "{table} still holds rows of the deleted policy");
    }
});

on_both!(managed_policy_versions_change_permissions_at_once, |db| {
    let root = db.with_account().await;
    let alice = user(db, &root, "alice", &[]).await;
    let arn = managed(db, &root, "UserAdmin", &allow(r#"["iam:ListUsers","iam:GetUser"]"#, r#""*""#)).await;
    assert_eq!(arn, format!("arn:aws:iam::{}:policy/UserAdmin", root.account_id()));
    db.iam.attach_policy(&root, EntityKind::User, "alice", &arn).await.unwrap();
    assert!(db.iam.list_users(&alice, Default::default()).await.is_ok());
    let policy = db.iam.get_policy(&root, &arn).await.unwrap();
    assert_eq!((policy.default_version_id.as_str(), policy.attachment_count), ("v1", 1));
    // A new default version applies to every holder on the next request.
    let v2 = db.iam.create_policy_version(&root, &arn, &allow(r#""iam:GetUser""#, r#""*""#), true).await.unwrap();
    assert_eq!((v2.version_id.as_str(), v2.is_default_version), ("v2", true));
    assert_eq!(db.iam.list_users(&alice, Default::default()).await.unwrap_err().code(), "AccessDenied");
    db.iam.set_default_policy_version(&root, &arn, "v1").await.unwrap();
    assert!(db.iam.list_users(&alice, Default::default()).await.is_ok());
    let versions = db.iam.list_policy_versions(&root, &arn).await.unwrap();
    assert_eq!(
        versions.iter().map(|v| (v.version_id.as_str(), v.is_default_version)).collect::<Vec<_>>(),
        [("v2", false), ("v1", true)]
    );
    assert!(db.iam.get_policy_version(&root, &arn, "v2").await.unwrap().document.contains("iam:GetUser"));
    // Five versions at most; the default cannot be deleted; numbers are never reused.
    for _ in 0..3 {
        db.iam.create_policy_version(&root, &arn, &allow(r#""iam:GetUser""#, r#""*""#), false).await.unwrap();
    }
    let limit = db.iam.create_policy_version(&root, &arn, &allow(r#""iam:GetUser""#, r#""*""#), false).await;
    assert_eq!(limit.unwrap_err().code(), "LimitExceeded");
    let default = db.iam.delete_policy_version(&root, &arn, "v1").await.unwrap_err();
    assert_eq!(
        (default.code(), default.message()),
        ("DeleteConflict", "Cannot delete the default version of a policy.".into())
    );
    db.iam.delete_policy_version(&root, &arn, "v5").await.unwrap();
    let v6 = db.iam.create_policy_version(&root, &arn, &allow(r#""iam:GetUser""#, r#""*""#), false).await.unwrap();
    assert_eq!(v6.version_id, "v6");
    assert_eq!(db.iam.get_policy_version(&root, &arn, "v5").await.unwrap_err().code(), "NoSuchEntity");
    // Deleting needs it detached and alone.
    assert_eq!(
        db.iam.delete_policy(&root, &arn).await.unwrap_err().message(),
        "Cannot delete a policy attached to entities."
    );
    db.iam.detach_policy(&root, EntityKind::User, "alice", &arn).await.unwrap();
    assert_eq!(db.iam.list_users(&alice, Default::default()).await.unwrap_err().code(), "AccessDenied");
    assert!(
        db.iam
            .delete_policy(&root, &arn)
            .await
            .unwrap_err()
            .message()
            .starts_with("This policy has more than one version.")
    );
    for v in ["v2", "v3", "v4", "v6"] {
        db.iam.delete_policy_version(&root, &arn, v).await.unwrap();
    }
    db.iam.delete_policy(&root, &arn).await.unwrap();
    assert_eq!(db.iam.get_policy(&root, &arn).await.unwrap_err().code(), "NoSuchEntity");
});

on_both!(managed_policies_are_checked_listed_and_limited, |db| {
    let root = db.with_account().await;
    user(db, &root, "alice", &[]).await;
    let doc = allow(r#""s3:GetObject""#, r#""*""#);
    let arn = managed(db, &root, "Reports", &doc).await;
    let again = CreatePolicy { policy_name: "REPORTS".into(), policy_document: doc.clone(), ..Default::default() };
    assert_eq!(db.iam.create_policy(&root, again).await.unwrap_err().code(), "EntityAlreadyExists");
    let bad = CreatePolicy { policy_name: "Bad".into(), policy_document: "{}".into(), ..Default::default() };
    assert_eq!(db.iam.create_policy(&root, bad).await.unwrap_err().code(), "MalformedPolicyDocument");
    let with_principal =
        r#"{"Version":"2012-10-17","Statement":{"Effect":"Allow","Principal":"*","Action":"*","Resource":"*"}}"#;
    let bad = CreatePolicy { policy_name: "Bad".into(), policy_document: with_principal.into(), ..Default::default() };
    assert_eq!(db.iam.create_policy(&root, bad).await.unwrap_err().code(), "MalformedPolicyDocument");
    // AWS managed policies are listed first, then the account's; markers page across both.
    let all = db.iam.list_policies(&root, ListPolicies { max_items: Some(1000), ..Default::default() }).await.unwrap();
    assert_eq!(all.items.len(), iam_core::aws_managed::all().len() + 1);
    assert!(all.items[0].aws_managed && !all.items.last().unwrap().aws_managed);
    let mut seen = Vec::new();
    let mut marker = None;
    loop {
        let page = db
            .iam
            .list_policies(&root, ListPolicies { max_items: Some(5), marker: marker.clone(), ..Default::default() })
            .await
            .unwrap();
        seen.extend(page.items.into_iter().map(|p| p.arn));
        if !page.is_truncated {
            break;
        }
        marker = page.marker;
    }
    assert_eq!(seen, all.items.iter().map(|p| p.arn.clone()).collect::<Vec<_>>());
    let local =
        db.iam.list_policies(&root, ListPolicies { scope: PolicyScope::Local, ..Default::default() }).await.unwrap();
    assert_eq!(local.items.iter().map(|p| p.arn.as_str()).collect::<Vec<_>>(), [arn.as_str()]);
    // Attachments: only existing policies, at most ten per entity, counted and listed.
    let missing = format!("arn:aws:iam::{}:policy/Missing", root.account_id());
    let err = db.iam.attach_policy(&root, EntityKind::User, "alice", &missing).await.unwrap_err();
    assert_eq!(
        (err.code(), err.message()),
        ("NoSuchEntity", format!("Policy {missing} does not exist or is not attachable."))
    );
    assert_eq!(
        db.iam.attach_policy(&root, EntityKind::User, "alice", "nonsense").await.unwrap_err().code(),
        "InvalidInput"
    );
    let shipped: Vec<_> = iam_core::aws_managed::all().iter().take(10).map(|p| p.arn.clone()).collect();
    for p in &shipped {
        db.iam.attach_policy(&root, EntityKind::User, "alice", p).await.unwrap();
    }
    let limit = db.iam.attach_policy(&root, EntityKind::User, "alice", &arn).await.unwrap_err();
    assert_eq!(limit.message(), "Cannot exceed quota for PoliciesPerUser: 10");
    assert_eq!(db.iam.list_attached_policies(&root, EntityKind::User, "alice").await.unwrap().len(), 10);
    let attached = ListPolicies { only_attached: true, max_items: Some(1000), ..Default::default() };
    assert_eq!(db.iam.list_policies(&root, attached).await.unwrap().items.len(), 10);
    let entities = db.iam.list_entities_for_policy(&root, &shipped[0]).await.unwrap();
    assert_eq!(entities.users.iter().map(|(n, _)| n.as_str()).collect::<Vec<_>>(), ["alice"]);
    assert_eq!(db.iam.get_policy(&root, &shipped[0]).await.unwrap().attachment_count, 1);
    let conflict = db.iam.delete_user(&root, "alice").await.unwrap_err();
    assert_eq!(conflict.message(), "Cannot delete entity, must detach all policies first.");
    let aws = db.iam.get_policy_version(&root, "arn:aws:iam::aws:policy/IAMUserChangePassword", "v1").await.unwrap();
    assert!(aws.document.contains("iam:ChangePassword"));
    assert_eq!(
        db.iam.delete_policy(&root, "arn:aws:iam::aws:policy/ReadOnlyAccess").await.unwrap_err().code(),
        "InvalidInput"
    );
});

on_both!(boundaries_cap_what_policies_grant, |db| {
    let root = db.with_account().await;
    let alice = user(db, &root, "alice", &[]).await;
    db.iam.attach_policy(&root, EntityKind::User, "alice", "arn:aws:iam::aws:policy/IAMFullAccess").await.unwrap();
    db.iam.create_group(&alice, "made-by-alice", None).await.unwrap();
    db.iam
        .put_permissions_boundary(&root, EntityKind::User, "alice", "arn:aws:iam::aws:policy/IAMReadOnlyAccess")
        .await
        .unwrap();
    let capped = db.iam.create_group(&alice, "another", None).await.unwrap_err();
    assert!(
        capped.message().ends_with("because no permissions boundary allows the iam:CreateGroup action"),
        "{capped}"
    );
    assert!(db.iam.get_group(&alice, "made-by-alice").await.is_ok(), "reads stay inside the boundary");
    assert_eq!(
        db.iam.get_user(&root, "alice").await.unwrap().permissions_boundary_arn.as_deref(),
        Some("arn:aws:iam::aws:policy/IAMReadOnlyAccess")
    );
    db.iam.delete_permissions_boundary(&root, EntityKind::User, "alice").await.unwrap();
    db.iam.create_group(&alice, "another", None).await.unwrap();
    let missing = format!("arn:aws:iam::{}:policy/Nope", root.account_id());
    let err = db.iam.put_permissions_boundary(&root, EntityKind::User, "alice", &missing).await.unwrap_err();
    assert_eq!(err.code(), "NoSuchEntity");
});

on_both!(delegation_is_limited_by_condition_keys, |db| {
    let root = db.with_account().await;
    let boundary = managed(db, &root, "DevBoundary", &allow(r#""iam:Get*""#, r#""*""#)).await;
    // Alice may set only DevBoundary as a boundary, and create users only tagged team=dev.
    let delegate = format!(
        r#"{{"Version":"2012-10-17","Statement":[
            {{"Effect":"Allow","Action":"iam:PutUserPermissionsBoundary","Resource":"*",
              "Condition":{{"StringEquals":{{"iam:PermissionsBoundary":"{boundary}"}}}}}},
            {{"Effect":"Allow","Action":["iam:CreateUser","iam:TagUser"],"Resource":"*",
              "Condition":{{"StringEquals":{{"aws:RequestTag/team":"dev"}},"ForAllValues:StringEquals":{{"aws:TagKeys":["team"]}}}}}},
            {{"Effect":"Allow","Action":"iam:AttachUserPolicy","Resource":"*",
              "Condition":{{"ArnLike":{{"iam:PolicyARN":"arn:aws:iam::aws:policy/IAMRead*"}}}}}}]}}"#
    );
    let alice = user(db, &root, "alice", &[("team", "dev")]).await;
    db.iam.put_inline_policy(&root, EntityKind::User, "alice", "Delegate", &delegate).await.unwrap();
    let tagged = |name: &str, tags: &[(&str, &str)]| CreateUser {
        user_name: name.into(),
        path: None,
        tags: tags.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect(),
        permissions_boundary: None,
    };
    db.iam.create_user(&alice, tagged("dev1", &[("team", "dev")])).await.unwrap();
    assert_eq!(
        db.iam.create_user(&alice, tagged("ops1", &[("team", "ops")])).await.unwrap_err().code(),
        "AccessDenied"
    );
    let extra = tagged("dev2", &[("team", "dev"), ("owner", "x")]);
    assert_eq!(db.iam.create_user(&alice, extra).await.unwrap_err().code(), "AccessDenied");
    assert_eq!(db.iam.create_user(&alice, tagged("bare", &[])).await.unwrap_err().code(), "AccessDenied");
    db.iam.put_permissions_boundary(&alice, EntityKind::User, "dev1", &boundary).await.unwrap();
    let other = "arn:aws:iam::aws:policy/AdministratorAccess";
    assert_eq!(
        db.iam.put_permissions_boundary(&alice, EntityKind::User, "dev1", other).await.unwrap_err().code(),
        "AccessDenied"
    );
    db.iam.attach_policy(&alice, EntityKind::User, "dev1", "arn:aws:iam::aws:policy/IAMReadOnlyAccess").await.unwrap();
    assert_eq!(db.iam.attach_policy(&alice, EntityKind::User, "dev1", other).await.unwrap_err().code(), "AccessDenied");
    // Principal tags reach conditions too.
    let by_tag = allow(r#""iam:ListGroups""#, r#""*""#)
        .replace(r#""Resource":"*""#, r#""Resource":"*","Condition":{"StringEquals":{"aws:PrincipalTag/team":"dev"}}"#);
    db.iam.put_inline_policy(&root, EntityKind::User, "alice", "ByTag", &by_tag).await.unwrap();
    assert!(db.iam.list_groups(&alice, None, None, None).await.is_ok());
});

on_both!(denials_are_explicit_when_a_policy_says_deny, |db| {
    let root = db.with_account().await;
    let alice = user(db, &root, "alice", &[]).await;
    db.iam
        .attach_policy(&root, EntityKind::User, "alice", "arn:aws:iam::aws:policy/AdministratorAccess")
        .await
        .unwrap();
    let deny = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Deny","Action":"iam:DeleteUser","Resource":"*"}]}"#;
    db.iam.put_inline_policy(&root, EntityKind::User, "alice", "NoDeletes", deny).await.unwrap();
    user(db, &root, "bob", &[]).await;
    let denied = db.iam.delete_user(&alice, "bob").await.unwrap_err();
    assert!(denied.message().ends_with("with an explicit deny in an identity-based policy"), "{denied}");
    // A user deleted while signed in keeps nothing.
    db.iam.delete_user(&root, "bob").await.unwrap();
    let bob = caller(Principal::User {
        account_id: root.account_id().to_owned(),
        user_id: "AIDAGONEGONEGONEGONE1".into(),
        user_name: "bob".into(),
        path: "/".into(),
    });
    assert_eq!(db.iam.list_users(&bob, Default::default()).await.unwrap_err().code(), "AccessDenied");
});

on_both!(simultaneous_creates_of_one_name_give_one_success, |db| {
    let root = db.with_account().await;
    let doc = allow(r#""s3:GetObject""#, r#""*""#);
    let (a, b) = tokio::join!(db.iam.create_group(&root, "race", None), db.iam.create_group(&root, "RACE", None));
    let codes = [a.err().map(|e| e.code()), b.err().map(|e| e.code())];
    assert!(codes.contains(&None) && codes.contains(&Some("EntityAlreadyExists")), "{codes:?}");
    let create =
        |name: &str| CreatePolicy { policy_name: name.into(), policy_document: doc.clone(), ..Default::default() };
    let (a, b) = tokio::join!(db.iam.create_policy(&root, create("Race")), db.iam.create_policy(&root, create("race")));
    let codes = [a.err().map(|e| e.code()), b.err().map(|e| e.code())];
    assert!(codes.contains(&None) && codes.contains(&Some("EntityAlreadyExists")), "{codes:?}");
});

on_both!(renamed_users_keep_their_permissions_under_their_new_name, |db| {
    let root = db.with_account().await;
    let alice = user(db, &root, "alice", &[]).await;
    let own = allow(
        r#"["iam:GetUser","iam:UpdateUser"]"#,
        r#"["arn:aws:iam::*:user/${aws:username}","arn:aws:iam::*:user/*/${aws:username}","arn:aws:iam::*:user/*alic*"]"#,
    );
    db.iam.put_inline_policy(&root, EntityKind::User, "alice", "Own", &own).await.unwrap();
    // Renaming needs permission on the new ARN as well as the old.
    assert_eq!(db.iam.update_user(&alice, "alice", Some("bob"), None).await.unwrap_err().code(), "AccessDenied");
    db.iam.update_user(&alice, "alice", Some("alicia"), Some("/eng/")).await.unwrap();
    let renamed = db.iam.get_user(&root, "alicia").await.unwrap();
    assert_eq!(renamed.arn, format!("arn:aws:iam::{}:user/eng/alicia", root.account_id()));
    assert_eq!(db.iam.get_user(&root, "alice").await.unwrap_err().code(), "NoSuchEntity");
    // The session began as alice; ${aws:username} is the user's name now.
    assert!(db.iam.get_user(&alice, "alicia").await.is_ok());
    user(db, &root, "carol", &[]).await;
    let taken = db.iam.update_user(&root, "alicia", Some("CAROL"), None).await.unwrap_err();
    assert_eq!(taken.code(), "EntityAlreadyExists");
    db.iam.create_group(&root, "team", None).await.unwrap();
    db.iam.update_group(&root, "team", Some("squad"), Some("/org/")).await.unwrap();
    assert_eq!(
        db.iam.get_group(&root, "squad").await.unwrap().group.arn,
        format!("arn:aws:iam::{}:group/org/squad", root.account_id())
    );
});

on_both!(a_recreated_policy_has_only_its_new_permissions, |db| {
    // A policy deleted and created again under the same name is a new policy: its `v1` is another
    // document, and nothing compiled from the old one may be used for it.
    let root = db.with_account().await;
    let alice = user(db, &root, "alice", &[]).await;
    let broad = managed(db, &root, "Team", &allow(r#"["iam:ListUsers","iam:GetUser"]"#, r#""*""#)).await;
    db.iam.attach_policy(&root, EntityKind::User, "alice", &broad).await.unwrap();
    db.iam.list_users(&alice, Default::default()).await.unwrap();
    db.iam.detach_policy(&root, EntityKind::User, "alice", &broad).await.unwrap();
    db.iam.delete_policy(&root, &broad).await.unwrap();
    let narrow = managed(db, &root, "Team", &allow(r#""iam:GetUser""#, r#""*""#)).await;
    assert_eq!(narrow, broad, "same name, same ARN");
    db.iam.attach_policy(&root, EntityKind::User, "alice", &narrow).await.unwrap();
    db.iam.get_user(&alice, "alice").await.unwrap();
    let refused = db.iam.list_users(&alice, Default::default()).await.unwrap_err();
    assert_eq!(refused.code(), "AccessDenied", "the deleted policy's grant is gone at once");

    // The same for a permissions boundary: a recreated boundary caps with its new document.
    db.iam.put_inline_policy(&root, EntityKind::User, "alice", "All", &allow(r#""iam:*""#, r#""*""#)).await.unwrap();
    let fence = managed(db, &root, "Fence", &allow(r#"["iam:ListUsers","iam:GetUser"]"#, r#""*""#)).await;
    db.iam.put_permissions_boundary(&root, EntityKind::User, "alice", &fence).await.unwrap();
    db.iam.list_users(&alice, Default::default()).await.unwrap();
    db.iam.delete_permissions_boundary(&root, EntityKind::User, "alice").await.unwrap();
    db.iam.delete_policy(&root, &fence).await.unwrap();
    let fence = managed(db, &root, "Fence", &allow(r#""iam:GetUser""#, r#""*""#)).await;
    db.iam.put_permissions_boundary(&root, EntityKind::User, "alice", &fence).await.unwrap();
    db.iam.get_user(&alice, "alice").await.unwrap();
    let capped = db.iam.list_users(&alice, Default::default()).await.unwrap_err();
    assert_eq!(capped.code(), "AccessDenied", "the recreated boundary caps with its new document");
});
