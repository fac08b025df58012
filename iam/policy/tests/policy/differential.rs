//! The compiled evaluator against the reference evaluator, on generated policies and requests.

use std::sync::Arc;

use iam_policy::{Context, PolicySet, Request, RequestPrincipal, compile, evaluate, parse_value};
use proptest::prelude::*;
use serde_json::{Value, json};

use crate::reference::{RefPolicy, RefRequest, RefSet, decide};

const A: &str = "111122223333";
const PRINCIPALS: [&str; 5] = [
    "arn:aws:iam::111122223333:user/alice",
    "arn:aws:sts::111122223333:assumed-role/Dev/s1",
    "arn:aws:iam::111122223333:root",
    "arn:aws:iam::444455556666:user/mallory",
    "ec2.amazonaws.com",
];
const ACTIONS: [&str; 5] = ["s3:GetObject", "s3:PutObject", "iam:CreateUser", "ec2:RunInstances", "sts:AssumeRole"];
const ACTION_PATTERNS: [&str; 9] =
    ["*", "s3:*", "s3:Get*", "iam:*User", "ec2:Run?nstances", "S3:getobject", "sts:Assume*", "*Object", "iam:Create*"];
const RESOURCES: [&str; 4] =
    ["arn:aws:s3:::b/alice/k", "arn:aws:s3:::b/bob/k", "arn:aws:iam::111122223333:user/alice", "*"];
const RESOURCE_PATTERNS: [&str; 7] = [
    "*",
    "arn:aws:s3:::b/*",
    "arn:aws:s3:::b/${aws:username}/*",
    "arn:aws:s3:::b/${aws:PrincipalTag/team, 'alice'}/*",
    "arn:aws:iam::*:user/${aws:username}",
    "arn:aws:s3:::B/*",
    "arn:aws:s3:::b/?ob/k",
];
const KEYS: [&str; 5] = ["aws:username", "aws:PrincipalTag/team", "aws:SourceIp", "aws:TagKeys", "aws:CurrentTime"];

fn condition() -> impl Strategy<Value = (String, String, Value)> {
    prop_oneof![
        (
            prop::sample::select(vec![
                "StringEquals",
                "StringNotEquals",
                "StringLike",
                "StringNotLike",
                "StringEqualsIgnoreCase",
                "ForAllValues:StringEquals",
                "ForAnyValue:StringLike",
                "StringEqualsIfExists",
                "ForAnyValue:StringNotEquals"
            ]),
            prop::sample::select(vec!["aws:username", "aws:PrincipalTag/team", "aws:TagKeys"]),
            prop::sample::select(vec![
                json!("alice"),
                json!(["ALICE", "ops"]),
                json!("a*"),
                json!("${aws:username}"),
                json!(["team", "cost"])
            ])
        )
            .prop_map(|(o, k, v)| (o.to_owned(), k.to_owned(), v)),
        (
            prop::sample::select(vec!["IpAddress", "NotIpAddress", "IpAddressIfExists"]),
            Just("aws:SourceIp"),
            prop::sample::select(vec![json!("10.0.0.0/8"), json!(["192.0.2.0/24", "2001:db8::/32"])])
        )
            .prop_map(|(o, k, v)| (o.to_owned(), k.to_owned(), v)),
        (
            prop::sample::select(vec!["DateLessThan", "DateGreaterThanEquals", "DateNotEquals"]),
            Just("aws:CurrentTime"),
            prop::sample::select(vec![json!("2026-01-01T00:00:00Z"), json!("1795856400")])
        )
            .prop_map(|(o, k, v)| (o.to_owned(), k.to_owned(), v)),
        (Just("Null"), prop::sample::select(KEYS.to_vec()), prop::sample::select(vec![json!("true"), json!(false)]))
            .prop_map(|(o, k, v)| (o.to_owned(), k.to_owned(), v)),
    ]
}

fn statement(with_principal: bool) -> impl Strategy<Value = Value> {
    (
        any::<bool>(),
        any::<bool>(),
        prop::collection::vec(prop::sample::select(ACTION_PATTERNS.to_vec()), 1..3),
        any::<bool>(),
        prop::collection::vec(prop::sample::select(RESOURCE_PATTERNS.to_vec()), 1..3),
        prop::collection::vec(condition(), 0..3),
        prop::sample::select(vec![
            json!("*"),
            json!({"AWS": A}),
            json!({"AWS": PRINCIPALS[0]}),
            json!({"AWS": "arn:aws:iam::111122223333:role/Dev"}),
            json!({"AWS": PRINCIPALS[1]}),
            json!({"Service": "ec2.amazonaws.com"}),
            json!({"AWS": "444455556666"}),
        ]),
        any::<bool>(),
    )
        .prop_map(
            move |(allow, not_action, actions, not_resource, resources, conditions, principal, not_principal)| {
                let mut st = serde_json::Map::new();
                st.insert("Effect".into(), json!(if allow { "Allow" } else { "Deny" }));
                st.insert(if not_action { "NotAction" } else { "Action" }.into(), json!(actions));
                st.insert(if not_resource { "NotResource" } else { "Resource" }.into(), json!(resources));
                if with_principal {
                    let negate = not_principal && !allow;
                    st.insert(if negate { "NotPrincipal" } else { "Principal" }.into(), principal);
                }
                if !conditions.is_empty() {
                    let mut block = serde_json::Map::new();
                    for (op, key, value) in conditions {
                        let entry = block.entry(op).or_insert_with(|| json!({}));
                        entry[key] = value;
                    }
                    st.insert("Condition".into(), Value::Object(block));
                }
                Value::Object(st)
            },
        )
}

fn policy(with_principal: bool) -> impl Strategy<Value = Value> {
    (prop::collection::vec(statement(with_principal), 1..4), any::<bool>()).prop_map(|(sts, new)| {
        if new {
            json!({"Version": "2012-10-17", "Statement": sts})
        } else {
            json!({"Version": "2008-10-17", "Statement": sts})
        }
    })
}

fn context() -> impl Strategy<Value = Vec<(String, Vec<String>)>> {
    prop::collection::vec(
        (
            prop::sample::select(KEYS.to_vec()),
            prop::collection::vec(
                prop::sample::select(vec![
                    "alice",
                    "Alice",
                    "ops",
                    "team",
                    "cost",
                    "10.1.2.3",
                    "192.0.2.7",
                    "2001:db8::1",
                    "2026-11-28T09:00:00Z",
                    "a*",
                ]),
                0..3,
            ),
        ),
        0..5,
    )
    .prop_map(|entries| {
        entries.into_iter().map(|(k, v)| (k.to_owned(), v.into_iter().map(str::to_owned).collect())).collect()
    })
}

#[derive(Debug)]
struct Generated {
    identity: Vec<Value>,
    resource: Option<Value>,
    boundary: Option<Value>,
    session: Vec<Value>,
    guardrails: Vec<Value>,
}

fn generated() -> impl Strategy<Value = Generated> {
    (
        prop::collection::vec(policy(false), 0..4),
        prop::option::of(policy(true)),
        prop::option::of(policy(false)),
        prop::collection::vec(policy(false), 0..2),
        prop::collection::vec(policy(false), 0..2),
    )
        .prop_map(|(identity, resource, boundary, session, guardrails)| Generated {
            identity,
            resource,
            boundary,
            session,
            guardrails,
        })
}

fn both(name: &str, v: &Value) -> (Arc<iam_policy::CompiledPolicy>, RefPolicy) {
    let doc = parse_value(v).expect("generated policies parse");
    (Arc::new(compile(&doc, name)), RefPolicy { name: name.to_owned(), doc })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 3000, ..ProptestConfig::default() })]

    #[test]
    fn compiled_and_reference_evaluators_agree(
        g in generated(),
        principal in prop::sample::select(PRINCIPALS.to_vec()),
        action in prop::sample::select(ACTIONS.to_vec()),
        resource in prop::sample::select(RESOURCES.to_vec()),
        cross in any::<bool>(),
        entries in context(),
    ) {
        let mut set = PolicySet::default();
        let mut reference = RefSet::default();
        for (i, v) in g.identity.iter().enumerate() {
            let (c, r) = both(&format!("identity{i}"), v);
            set.identity.push(c);
            reference.identity.push(r);
        }
        if let Some(v) = &g.resource {
            let (c, r) = both("resource", v);
            set.resource = Some(c);
            reference.resource = Some(r);
        }
        if let Some(v) = &g.boundary {
            let (c, r) = both("boundary", v);
            set.boundary = Some(c);
            reference.boundary = Some(r);
        }
        for (i, v) in g.session.iter().enumerate() {
            let (c, r) = both(&format!("session{i}"), v);
            set.session.push(c);
            reference.session.push(r);
        }
        for (i, v) in g.guardrails.iter().enumerate() {
            let (c, r) = both(&format!("guardrail{i}"), v);
            set.guardrails.push(vec![c]);
            reference.guardrails.push(vec![r]);
        }
        let principal = RequestPrincipal::from_arn(principal).expect("principal");
        let mut ctx = Context::new();
        for (k, v) in &entries {
            ctx.set_all(k, v.clone());
        }
        let resource_account = cross.then_some("444455556666");
        let request = Request { principal: &principal, action, resource, resource_account, context: &ctx };
        let fast = evaluate(&request, &set);
        let slow = decide(&RefRequest { principal: &principal, action, resource, resource_account, context: &ctx }, &reference);
        let mut deciding: Vec<(String, usize)> = fast.deciding.iter().map(|m| (m.policy.to_string(), m.statement)).collect();
        deciding.sort();
        prop_assert_eq!((fast.outcome, fast.denied_by, deciding), slow);
    }
}
