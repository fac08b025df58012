//! Any policy in any role, against requests shaped by the input: evaluation never panics.
#![no_main]

use std::sync::Arc;

use iam_policy::{Context, PolicySet, Request, RequestPrincipal, compile, evaluate, parse_policy};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    // The first line is the request (action, resource, context values); the rest is the policy.
    let (head, body) = text.split_once('\n').unwrap_or(("", text));
    let Ok(doc) = parse_policy(body) else { return };
    let policy = Arc::new(compile(&doc, "fuzz"));
    let mut fields = head.split('\t');
    let action = fields.next().unwrap_or("s3:GetObject");
    let resource = fields.next().unwrap_or("*");
    let mut ctx = Context::new();
    for (i, value) in fields.enumerate() {
        let key = ["aws:username", "aws:SourceIp", "aws:CurrentTime", "aws:TagKeys", "aws:PrincipalTag/team", "s3:max-keys"][i % 6];
        ctx.insert(key, value);
    }
    for principal in ["arn:aws:iam::111122223333:user/alice", "arn:aws:sts::111122223333:assumed-role/R/s", "ec2.amazonaws.com"] {
        let Some(p) = RequestPrincipal::from_arn(principal) else { continue };
        let sets = [
            PolicySet { identity: vec![policy.clone()], ..PolicySet::default() },
            PolicySet { resource: Some(policy.clone()), ..PolicySet::default() },
            PolicySet { trust: Some(policy.clone()), boundary: Some(policy.clone()), session: vec![policy.clone()], ..PolicySet::default() },
            PolicySet { identity: vec![policy.clone()], guardrails: vec![vec![policy.clone()]], ..PolicySet::default() },
        ];
        for set in &sets {
            for account in [None, Some("444455556666")] {
                let r = Request { principal: &p, action, resource, resource_account: account, context: &ctx };
                let _ = evaluate(&r, set);
            }
        }
    }
});
