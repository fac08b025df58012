use iam_core::entities::EntityKind;
use iam_core::simulator::{ContextEntry, Simulation};
use iam_core::users::CreateUser;
use iam_policy::DenyStep;

use crate::on_both;

fn actions(names: &[&str]) -> Vec<String> {
    names.iter().map(|n| (*n).to_owned()).collect()
}

on_both!(the_simulator_explains_a_principals_decisions, |db| {
    let root = db.with_account().await;
    let alice =
        db.iam.create_user(&root, CreateUser { user_name: "alice".into(), ..Default::default() }).await.unwrap();
    db.iam.create_group(&root, "readers", None).await.unwrap();
    db.iam.add_user_to_group(&root, "readers", "alice").await.unwrap();
    db.iam
        .attach_policy(&root, EntityKind::Group, "readers", "arn:aws:iam::aws:policy/IAMReadOnlyAccess")
        .await
        .unwrap();
    let office = r#"{"Version":"2012-10-17","Statement":[{"Sid":"FromTheOffice","Effect":"Allow","Action":"s3:GetObject",
        "Resource":"arn:aws:s3:::reports/*","Condition":{"IpAddress":{"aws:SourceIp":"192.0.2.0/24"}}}]}"#;
    db.iam.put_inline_policy(&root, EntityKind::User, "alice", "Office", office).await.unwrap();

    let sim = Simulation {
        action_names: actions(&["iam:ListUsers", "iam:CreateUser", "s3:GetObject"]),
        resource_arns: vec!["arn:aws:s3:::reports/q1.csv".into()],
        ..Default::default()
    };
    let results = db.iam.simulate_principal_policy(&root, &alice.arn, sim.clone()).await.unwrap().items;
    assert_eq!(results.len(), 3);
    assert_eq!(results[0].eval_decision, "allowed");
    assert_eq!(&*results[0].matched_statements[0].policy, "arn:aws:iam::aws:policy/IAMReadOnlyAccess");
    assert_eq!(
        (results[1].eval_decision.as_str(), results[1].denied_by),
        ("implicitDeny", Some(DenyStep::NoIdentityAllow))
    );
    assert_eq!(results[2].eval_decision, "implicitDeny", "no source IP given");
    assert_eq!(results[2].missing_context_values, ["aws:sourceip"]);

    let from_office = Simulation {
        context_entries: vec![ContextEntry {
            key: "aws:SourceIp".into(),
            values: vec!["192.0.2.7".into()],
            key_type: "ip".into(),
        }],
        ..sim.clone()
    };
    let results = db.iam.simulate_principal_policy(&root, &alice.arn, from_office).await.unwrap().items;
    assert_eq!(results[2].eval_decision, "allowed");
    assert_eq!(results[2].matched_statements[0].sid.as_deref(), Some("FromTheOffice"));
    assert!(results[2].missing_context_values.is_empty());

    // A boundary to try, and extra policies, without changing anything.
    let boundary = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:*","Resource":"*"}]}"#;
    let deny = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Deny","Action":"iam:ListUsers","Resource":"*"}]}"#;
    let what_if = Simulation {
        permissions_boundary_policy_input_list: vec![boundary.into()],
        policy_input_list: vec![deny.into()],
        ..sim.clone()
    };
    let results = db.iam.simulate_principal_policy(&root, &alice.arn, what_if).await.unwrap().items;
    assert_eq!(results[0].eval_decision, "explicitDeny");
    assert_eq!(&*results[0].matched_statements[0].policy, "PolicyInputList.1");
    assert_eq!(results[0].allowed_by_permissions_boundary, Some(false));
    assert!(db.iam.list_attached_policies(&root, EntityKind::Group, "readers").await.unwrap().len() == 1);

    // The group alone, and errors.
    let group = format!("arn:aws:iam::{}:group/readers", root.account_id());
    let results = db.iam.simulate_principal_policy(&root, &group, sim.clone()).await.unwrap().items;
    assert_eq!(results[0].eval_decision, "allowed");
    assert_eq!(results[2].eval_decision, "implicitDeny", "the user's inline policy is not the group's");
    let missing = format!("arn:aws:iam::{}:user/nobody", root.account_id());
    assert_eq!(
        db.iam.simulate_principal_policy(&root, &missing, sim.clone()).await.unwrap_err().code(),
        "NoSuchEntity"
    );
    let bad = Simulation { policy_input_list: vec!["{".into()], ..sim.clone() };
    assert_eq!(
        db.iam.simulate_principal_policy(&root, &alice.arn, bad).await.unwrap_err().code(),
        "MalformedPolicyDocument"
    );
    let none = Simulation { action_names: vec![], ..sim };
    assert_eq!(db.iam.simulate_principal_policy(&root, &alice.arn, none).await.unwrap_err().code(), "ValidationError");
});

on_both!(the_simulator_tries_custom_policies, |db| {
    let root = db.with_account().await;
    let mfa = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"ec2:StopInstances","Resource":"*",
        "Condition":{"Bool":{"aws:MultiFactorAuthPresent":"true"}}}]}"#;
    let sim = |present: &str| Simulation {
        action_names: actions(&["ec2:StopInstances", "ec2:TerminateInstances"]),
        policy_input_list: vec![mfa.into()],
        context_entries: vec![ContextEntry {
            key: "aws:MultiFactorAuthPresent".into(),
            values: vec![present.into()],
            key_type: "boolean".into(),
        }],
        ..Default::default()
    };
    let with = db.iam.simulate_custom_policy(&root, sim("true")).await.unwrap().items;
    assert_eq!(with.iter().map(|r| r.eval_decision.as_str()).collect::<Vec<_>>(), ["allowed", "implicitDeny"]);
    assert_eq!(with[0].eval_resource_name, "*");
    let without = db.iam.simulate_custom_policy(&root, sim("false")).await.unwrap().items;
    assert_eq!(without[0].eval_decision, "implicitDeny");
    let empty = Simulation { policy_input_list: vec![], ..sim("true") };
    assert_eq!(db.iam.simulate_custom_policy(&root, empty).await.unwrap_err().code(), "ValidationError");
    // A resource policy across accounts: both sides must allow.
    let bucket = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::444455556666:user/carol"},"Action":"s3:GetObject","Resource":"*"}]}"#;
    let read = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:GetObject","Resource":"*"}]}"#;
    let cross = Simulation {
        action_names: actions(&["s3:GetObject"]),
        resource_arns: vec!["arn:aws:s3:::shared/x".into()],
        resource_policy: Some(bucket.into()),
        resource_owner: Some("777788889999".into()),
        caller_arn: Some("arn:aws:iam::444455556666:user/carol".into()),
        policy_input_list: vec![read.into()],
        ..Default::default()
    };
    let results = db.iam.simulate_custom_policy(&root, cross).await.unwrap().items;
    assert_eq!(results[0].eval_decision, "allowed");
    assert_eq!(results[0].matched_statements.len(), 2);
});

on_both!(context_keys_are_listed_as_written, |db| {
    let root = db.with_account().await;
    let alice =
        db.iam.create_user(&root, CreateUser { user_name: "alice".into(), ..Default::default() }).await.unwrap();
    let office = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:GetObject","Resource":"*",
        "Condition":{"IpAddress":{"aws:SourceIp":"192.0.2.0/24"},"Bool":{"aws:MultiFactorAuthPresent":"true"}}}]}"#;
    db.iam.put_inline_policy(&root, EntityKind::User, "alice", "Office", office).await.unwrap();
    let extra = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:*","Resource":"*",
        "Condition":{"StringEquals":{"aws:sourceip":"x","s3:prefix":"home/"}}}]}"#;
    let keys = db.iam.get_context_keys_for_principal_policy(&root, &alice.arn, &[extra.to_owned()]).await.unwrap();
    assert_eq!(keys, ["aws:MultiFactorAuthPresent", "aws:SourceIp", "s3:prefix"]);
    let custom = db.iam.get_context_keys_for_custom_policy(&root, &[extra.to_owned()]).await.unwrap();
    assert_eq!(custom, ["aws:sourceip", "s3:prefix"]);
    assert_eq!(
        db.iam.get_context_keys_for_custom_policy(&root, &["{".to_owned()]).await.unwrap_err().code(),
        "MalformedPolicyDocument"
    );
});

on_both!(simulations_are_paged_and_only_one_page_is_computed, |db| {
    let root = db.with_account().await;
    let policy = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:GetObject","Resource":"*"}]}"#;
    // 30 actions on 40 resources: 1,200 results, paged as AWS pages them.
    let sim = Simulation {
        action_names: (0..30).map(|i| format!("s3:Action{i}")).chain(["s3:GetObject".to_owned()]).collect(),
        resource_arns: (0..40).map(|i| format!("arn:aws:s3:::bucket/{i}")).collect(),
        policy_input_list: vec![policy.into()],
        ..Default::default()
    };
    let first = db.iam.simulate_custom_policy(&root, sim.clone()).await.unwrap();
    assert_eq!(first.items.len(), 100, "100 by default");
    assert!(first.is_truncated);
    let mut seen = first.items.len();
    let mut marker = first.marker.clone();
    let mut last = None;
    while let Some(m) = marker {
        let page = Simulation { marker: Some(m), max_items: Some(1000), ..sim.clone() };
        let page = db.iam.simulate_custom_policy(&root, page).await.unwrap();
        seen += page.items.len();
        last = page.items.last().cloned();
        marker = page.marker;
    }
    assert_eq!(seen, 31 * 40, "every action on every resource, once");
    let last = last.unwrap();
    assert_eq!(
        (last.eval_action_name.as_str(), last.eval_resource_name.as_str()),
        ("s3:GetObject", "arn:aws:s3:::bucket/39")
    );
    assert_eq!(last.eval_decision, "allowed");
    for bad in [Simulation { max_items: Some(0), ..sim.clone() }, Simulation { max_items: Some(1001), ..sim.clone() }] {
        assert_eq!(db.iam.simulate_custom_policy(&root, bad).await.unwrap_err().code(), "ValidationError");
    }
    let forged = Simulation { marker: Some("bm90LWEtbnVtYmVy".into()), ..sim.clone() };
    assert_eq!(db.iam.simulate_custom_policy(&root, forged).await.unwrap_err().code(), "InvalidInput");
});
