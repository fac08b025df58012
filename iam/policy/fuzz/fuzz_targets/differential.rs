//! Any policy: the compiled evaluator and the reference evaluator decide alike.
#![no_main]

#[path = "../../tests/policy/reference.rs"]
#[allow(dead_code)]
mod reference;

use std::sync::Arc;

use iam_policy::{Context, PolicySet, Request, RequestPrincipal, compile, evaluate, parse_policy};
use libfuzzer_sys::fuzz_target;

const REQUESTS: [(&str, &str); 4] = [
    ("s3:GetObject", "arn:aws:s3:::b/alice/k"),
    ("iam:CreateUser", "arn:aws:iam::111122223333:user/bob"),
    ("sts:AssumeRole", "arn:aws:iam::111122223333:role/R"),
    ("ec2:RunInstances", "*"),
];

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let Ok(doc) = parse_policy(text) else { return };
    let compiled = Arc::new(compile(&doc, "p"));
    let mut ctx = Context::new();
    ctx.insert("aws:username", "alice")
        .insert("aws:SourceIp", "10.1.2.3")
        .insert("aws:CurrentTime", "2026-11-28T09:00:00Z")
        .insert("aws:TagKeys", "team")
        .insert("aws:TagKeys", "cost")
        .insert("aws:PrincipalTag/team", "ops");
    for principal in ["arn:aws:iam::111122223333:user/alice", "arn:aws:sts::111122223333:assumed-role/R/s", "ec2.amazonaws.com"] {
        let Some(p) = RequestPrincipal::from_arn(principal) else { continue };
        for (action, resource) in REQUESTS {
            for as_resource in [false, true] {
                let (set, reference) = if as_resource {
                    (
                        PolicySet { resource: Some(compiled.clone()), ..PolicySet::default() },
                        reference::RefSet { resource: Some(reference::RefPolicy { name: "p".into(), doc: doc.clone() }), ..Default::default() },
                    )
                } else {
                    (
                        PolicySet { identity: vec![compiled.clone()], ..PolicySet::default() },
                        reference::RefSet { identity: vec![reference::RefPolicy { name: "p".into(), doc: doc.clone() }], ..Default::default() },
                    )
                };
                let r = Request { principal: &p, action, resource, resource_account: None, context: &ctx };
                let fast = evaluate(&r, &set);
                let rr = reference::RefRequest { principal: &p, action, resource, resource_account: None, context: &ctx };
                let slow = reference::decide(&rr, &reference);
                let mut deciding: Vec<(String, usize)> = fast.deciding.iter().map(|m| (m.policy.to_string(), m.statement)).collect();
                deciding.sort();
                assert_eq!((fast.outcome, fast.denied_by, deciding), slow, "{text}");
            }
        }
    }
});
