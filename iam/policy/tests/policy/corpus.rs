//! The table-driven corpus: `tests/corpus/*.json`, each an array of cases (policies by role, a
//! request, the expected decision and deciding statements).

use std::sync::Arc;

use iam_policy::{
    CompiledPolicy, Context, Outcome, PolicyKind, PolicySet, Request, RequestPrincipal, compile, evaluate, parse_value,
    validate,
};
use serde::Deserialize;

use crate::reference::{RefPolicy, RefRequest, RefSet, decide};
use serde_json::Value;

#[derive(Deserialize)]
struct Named {
    name: String,
    document: Value,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct Policies {
    #[serde(default)]
    identity: Vec<Named>,
    resource: Option<Named>,
    trust: Option<Named>,
    boundary: Option<Named>,
    #[serde(default)]
    session: Vec<Named>,
    #[serde(default)]
    guardrails: Vec<Vec<Named>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CaseRequest {
    principal: String,
    action: String,
    resource: String,
    resource_account: Option<String>,
    #[serde(default)]
    context: serde_json::Map<String, Value>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Expect {
    outcome: Outcome,
    /// `[policy name, statement index]` pairs, in evaluation order.
    #[serde(default)]
    deciding: Option<Vec<(String, usize)>>,
    denied_by: Option<iam_policy::DenyStep>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Case {
    name: String,
    #[serde(default)]
    policies: Policies,
    request: CaseRequest,
    expect: Expect,
}

fn reference(p: &Named) -> RefPolicy {
    RefPolicy { name: p.name.clone(), doc: parse_value(&p.document).unwrap() }
}

fn reference_set(p: &Policies) -> RefSet {
    RefSet {
        identity: p.identity.iter().map(reference).collect(),
        resource: p.resource.as_ref().map(reference),
        trust: p.trust.as_ref().map(reference),
        boundary: p.boundary.as_ref().map(reference),
        session: p.session.iter().map(reference).collect(),
        guardrails: p.guardrails.iter().map(|l| l.iter().map(reference).collect()).collect(),
    }
}

fn compiled(p: &Named, kind: PolicyKind) -> Arc<CompiledPolicy> {
    let doc = parse_value(&p.document).unwrap_or_else(|e| panic!("{}: {e}", p.name));
    let problems = validate(&doc, kind);
    assert!(problems.is_empty(), "{}: {problems:?}", p.name);
    Arc::new(compile(&doc, p.name.clone()))
}

fn run(case: &Case) -> Result<(), String> {
    let p = &case.policies;
    let set = PolicySet {
        identity: p.identity.iter().map(|n| compiled(n, PolicyKind::Identity)).collect(),
        resource: p.resource.as_ref().map(|n| compiled(n, PolicyKind::ResourceBased)),
        trust: p.trust.as_ref().map(|n| compiled(n, PolicyKind::Trust)),
        boundary: p.boundary.as_ref().map(|n| compiled(n, PolicyKind::PermissionsBoundary)),
        session: p.session.iter().map(|n| compiled(n, PolicyKind::Session)).collect(),
        guardrails: p
            .guardrails
            .iter()
            .map(|l| l.iter().map(|n| compiled(n, PolicyKind::Guardrail)).collect())
            .collect(),
    };
    let principal = RequestPrincipal::from_arn(&case.request.principal).ok_or("bad principal")?;
    let mut context = Context::new();
    for (key, value) in &case.request.context {
        let values: Vec<String> = match value {
            Value::Array(list) => {
                list.iter().map(|v| v.as_str().map_or_else(|| v.to_string(), str::to_owned)).collect()
            }
            Value::String(s) => vec![s.clone()],
            other => vec![other.to_string()],
        };
        context.set_all(key, values);
    }
    let request = Request {
        principal: &principal,
        action: &case.request.action,
        resource: &case.request.resource,
        resource_account: case.request.resource_account.as_deref(),
        context: &context,
    };
    let decision = evaluate(&request, &set);
    let mut wrong = Vec::new();
    if decision.outcome != case.expect.outcome {
        wrong.push(format!("outcome {:?}, expected {:?}", decision.outcome, case.expect.outcome));
    }
    if decision.denied_by != case.expect.denied_by {
        wrong.push(format!("denied by {:?}, expected {:?}", decision.denied_by, case.expect.denied_by));
    }
    if let Some(expected) = &case.expect.deciding {
        let got: Vec<(String, usize)> = decision.deciding.iter().map(|m| (m.policy.to_string(), m.statement)).collect();
        if &got != expected {
            wrong.push(format!("deciding {got:?}, expected {expected:?}"));
        }
    }
    // The plain reference evaluator must read every case the same way.
    let plain = RefRequest {
        principal: &principal,
        action: &case.request.action,
        resource: &case.request.resource,
        resource_account: case.request.resource_account.as_deref(),
        context: &context,
    };
    let (outcome, step, mut deciding) = decide(&plain, &reference_set(p));
    let mut ours: Vec<(String, usize)> =
        decision.deciding.iter().map(|m| (m.policy.to_string(), m.statement)).collect();
    ours.sort();
    deciding.sort();
    if (outcome, step, &deciding) != (decision.outcome, decision.denied_by, &ours) {
        wrong.push(format!("the reference evaluator says {outcome:?} {step:?} {deciding:?}"));
    }
    if wrong.is_empty() { Ok(()) } else { Err(wrong.join("; ")) }
}

#[test]
fn the_corpus_decides_as_expected() {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/corpus");
    let mut files: Vec<_> = std::fs::read_dir(dir).unwrap().map(|e| e.unwrap().path()).collect();
    files.sort();
    let mut failures = Vec::new();
    let mut count = 0;
    for file in files.iter().filter(|f| f.extension().is_some_and(|e| e == "json")) {
        let text = std::fs::read_to_string(file).unwrap();
        let cases: Vec<Case> = serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", file.display()));
        for case in &cases {
            count += 1;
            if let Err(why) = run(case) {
                failures.push(format!("{} / {}: {why}", file.file_name().unwrap().to_string_lossy(), case.name));
            }
        }
    }
    assert!(count >= 40, "only {count} cases");
    assert!(failures.is_empty(), "{} of {count} cases failed:\n{}", failures.len(), failures.join("\n"));
}

/// What the corpus exercises: every operator, every qualifier, and every step that can deny.
#[test]
fn the_corpus_covers_every_operator_qualifier_and_step() {
    use iam_policy::DenyStep;
    use iam_policy::document::{OperatorKind, SetQualifier};
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/corpus");
    let mut operators = std::collections::HashSet::new();
    let (mut if_exists, mut all_values, mut any_value, mut variables) = (false, false, false, false);
    let mut steps = std::collections::HashSet::new();
    let mut outcomes = std::collections::HashSet::new();
    for file in std::fs::read_dir(dir).unwrap().map(|e| e.unwrap().path()) {
        let cases: Vec<Case> = serde_json::from_str(&std::fs::read_to_string(&file).unwrap()).unwrap();
        for case in &cases {
            let p = &case.policies;
            let named = p.identity.iter().chain(&p.resource).chain(&p.trust).chain(&p.boundary).chain(&p.session);
            for n in named.chain(p.guardrails.iter().flatten()) {
                variables |= n.document.to_string().contains("${aws:");
                for st in parse_value(&n.document).unwrap().statements {
                    for c in st.conditions {
                        operators.insert(c.operator.kind);
                        if_exists |= c.operator.if_exists;
                        all_values |= c.operator.qualifier == Some(SetQualifier::ForAllValues);
                        any_value |= c.operator.qualifier == Some(SetQualifier::ForAnyValue);
                    }
                }
            }
            steps.extend(case.expect.denied_by);
            outcomes.insert(format!("{:?}", case.expect.outcome));
        }
    }
    let missing: Vec<_> = OperatorKind::ALL.into_iter().filter(|k| !operators.contains(k)).collect();
    assert!(missing.is_empty(), "no corpus case uses {missing:?}");
    assert!(if_exists && all_values && any_value && variables);
    // A new step fails to compile here until the corpus covers it.
    let every_step = |s: DenyStep| match s {
        DenyStep::NoIdentityAllow
        | DenyStep::NoResourceAllow
        | DenyStep::PermissionsBoundary
        | DenyStep::SessionPolicy
        | DenyStep::Guardrail
        | DenyStep::TrustPolicy => s,
    };
    for step in [
        DenyStep::NoIdentityAllow,
        DenyStep::NoResourceAllow,
        DenyStep::PermissionsBoundary,
        DenyStep::SessionPolicy,
        DenyStep::Guardrail,
        DenyStep::TrustPolicy,
    ] {
        assert!(steps.contains(&every_step(step)), "no corpus case is denied by {step:?}");
    }
    assert_eq!(outcomes.len(), 3, "{outcomes:?}");
}
