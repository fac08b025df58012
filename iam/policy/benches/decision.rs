//! How fast decisions, parsing and compiling are, each against the reference evaluator (or a bare
//! JSON parse) run on the same input in the same process. Run: `cargo bench -p iam-policy`.
//!
//! The workload is generated deterministically: a principal with 10 policies of 5 statements
//! (wildcards, NotAction, conditions on tags, IP, time and MFA), and the worst case of 120 identity
//! policies (10 attached, 10 groups of 10, inline).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing, reason = "a benchmark")]

#[path = "../tests/policy/reference.rs"]
#[allow(dead_code)]
mod reference;

use std::hint::black_box;
use std::sync::Arc;
use std::time::{Duration, Instant};

use criterion::{BatchSize, Criterion, criterion_group, criterion_main};
use iam_policy::{
    CompiledPolicy, Context, PolicySet, Request, RequestPrincipal, compile, evaluate, parse_policy, parse_value,
};
use serde_json::json;
use stats_alloc::{INSTRUMENTED_SYSTEM, Region, StatsAlloc};

/// Counts heap bytes, to report what the compiled form really holds. Every benchmark pays the
/// same small counting cost, the baselines included.
#[global_allocator]
static ALLOCATOR: &StatsAlloc<std::alloc::System> = &INSTRUMENTED_SYSTEM;

const SERVICES: [&str; 8] = ["s3", "ec2", "iam", "dynamodb", "lambda", "sqs", "sns", "kms"];
const VERBS: [&str; 6] = ["Get", "Put", "List", "Describe", "Delete", "Create"];

/// A small deterministic generator (a 64-bit LCG), so every run measures the same input.
struct Lcg(u64);
impl Lcg {
    fn next(&mut self, n: usize) -> usize {
        self.0 = self.0.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1_442_695_040_888_963_407);
        ((self.0 >> 33) as usize) % n
    }
}

fn statement(rng: &mut Lcg, i: usize) -> serde_json::Value {
    let svc = SERVICES[rng.next(SERVICES.len())];
    let verb = VERBS[rng.next(VERBS.len())];
    let effect = if i % 7 == 6 { "Deny" } else { "Allow" };
    let mut st = json!({
        "Sid": format!("S{i}"),
        "Effect": effect,
        "Action": [format!("{svc}:{verb}*"), format!("{svc}:Tag?esource")],
        "Resource": [format!("arn:aws:{svc}:*:111122223333:thing/{verb}-*"), format!("arn:aws:{svc}:*:111122223333:home/${{aws:username}}/*")],
    });
    match i % 4 {
        0 => st["Condition"] = json!({"StringEquals": {"aws:PrincipalTag/team": ["ops", "dev"]}}),
        1 => st["Condition"] = json!({"IpAddress": {"aws:SourceIp": ["10.0.0.0/8", "192.0.2.0/24"]}}),
        2 => {
            st["Condition"] = json!({"DateLessThan": {"aws:CurrentTime": "2030-01-01T00:00:00Z"}, "Bool": {"aws:MultiFactorAuthPresent": "true"}})
        }
        _ => {}
    }
    if i % 10 == 9 {
        st.as_object_mut().unwrap().remove("Action");
        st["NotAction"] = json!(["iam:*", "organizations:*"]);
    }
    st
}

fn policies(count: usize, per: usize, seed: u64) -> Vec<serde_json::Value> {
    let mut rng = Lcg(seed);
    (0..count)
        .map(|p| json!({"Version": "2012-10-17", "Statement": (0..per).map(|s| statement(&mut rng, p * per + s)).collect::<Vec<_>>()}))
        .collect()
}

struct Workload {
    set: PolicySet,
    reference: reference::RefSet,
    principal: RequestPrincipal,
    context: Context,
}

fn workload(count: usize, per: usize) -> Workload {
    let docs = policies(count, per, 7);
    let mut set = PolicySet::default();
    let mut reference = reference::RefSet::default();
    for (i, d) in docs.iter().enumerate() {
        let doc = parse_value(d).unwrap();
        set.identity.push(Arc::new(compile(&doc, format!("p{i}"))));
        reference.identity.push(reference::RefPolicy { name: format!("p{i}"), doc });
    }
    let principal = RequestPrincipal::from_arn("arn:aws:iam::111122223333:user/alice").unwrap();
    let mut context = Context::new();
    context
        .insert("aws:username", "alice")
        .insert("aws:PrincipalTag/team", "ops")
        .insert("aws:SourceIp", "10.1.2.3")
        .insert("aws:CurrentTime", "2026-11-28T09:00:00Z")
        .insert("aws:MultiFactorAuthPresent", "true")
        .insert("aws:SecureTransport", "true");
    Workload { set, reference, principal, context }
}

const REQUESTS: [(&str, &str); 4] = [
    ("s3:GetObject", "arn:aws:s3:eu-west-1:111122223333:home/alice/report.csv"),
    ("ec2:DescribeInstances", "arn:aws:ec2:eu-west-1:111122223333:thing/Describe-1"),
    ("kms:Decrypt", "arn:aws:kms:eu-west-1:111122223333:key/1"),
    ("iam:CreateUser", "arn:aws:iam::111122223333:user/bob"),
];

/// Median time per call of `f` over `rounds` rounds of `calls` calls, for the ratio line.
fn median(rounds: usize, calls: u32, mut f: impl FnMut()) -> Duration {
    let mut samples: Vec<Duration> = (0..rounds)
        .map(|_| {
            let start = Instant::now();
            for _ in 0..calls {
                f();
            }
            start.elapsed() / calls
        })
        .collect();
    samples.sort();
    samples[samples.len() / 2]
}

/// Median time per call of `f` over many rounds, each call on a fresh copy of the request
/// context (its parsed-value caches start empty, as for a real request); copies are made before
/// the clock starts.
fn median_fresh(context: &Context, mut f: impl FnMut(&Context)) -> Duration {
    let mut samples: Vec<Duration> = (0..41)
        .map(|_| {
            let copies: Vec<Context> = (0..50).map(|_| context.clone()).collect();
            let start = Instant::now();
            for c in &copies {
                f(c);
            }
            start.elapsed() / 50
        })
        .collect();
    samples.sort();
    samples[samples.len() / 2]
}

fn decisions(c: &mut Criterion, label: &str, count: usize, per: usize) {
    let w = workload(count, per);
    let run_fast = |i: usize, context: &Context| {
        let (action, resource) = REQUESTS[i % REQUESTS.len()];
        let r = Request { principal: &w.principal, action, resource, resource_account: None, context };
        black_box(evaluate(&r, &w.set));
    };
    let mut i = 0;
    c.bench_function(label, |b| {
        b.iter_batched_ref(
            || w.context.clone(),
            |context| {
                run_fast(i, context);
                i += 1;
            },
            BatchSize::SmallInput,
        )
    });
    let mut j = 0;
    let fast = median_fresh(&w.context, |context| {
        run_fast(j, context);
        j += 1;
    });
    let mut k = 0;
    let slow = median(41, 50, || {
        let (action, resource) = REQUESTS[k % REQUESTS.len()];
        k += 1;
        let r = reference::RefRequest {
            principal: &w.principal,
            action,
            resource,
            resource_account: None,
            context: &w.context,
        };
        black_box(reference::decide(&r, &w.reference));
    });
    let statements: usize = w.set.identity.iter().map(|p| p.statement_count()).sum();
    println!(
        "{label}: {count} policies, {statements} statements: compiled {fast:?} per decision, reference {slow:?}: {:.1}x faster",
        slow.as_secs_f64() / fast.as_secs_f64()
    );
}

fn corpus() -> Vec<String> {
    let text =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data/managed-policies.json")).unwrap();
    let all: serde_json::Map<String, serde_json::Value> = serde_json::from_str(&text).unwrap();
    all.values().map(|p| p["document"].to_string()).collect()
}

fn parse_and_compile(c: &mut Criterion) {
    let texts = corpus();
    let all = |texts: &[String]| -> Vec<CompiledPolicy> {
        texts.iter().enumerate().map(|(i, t)| compile(&parse_policy(t).unwrap(), i.to_string())).collect()
    };
    let mut group = c.benchmark_group("managed-policy corpus");
    group.sample_size(10);
    group.bench_function("parse and compile 1,594 documents", |b| b.iter(|| black_box(all(&texts))));
    group.finish();
    let ours = median(11, 1, || {
        black_box(all(&texts));
    });
    let bare = median(11, 1, || {
        for t in &texts {
            black_box(serde_json::from_str::<serde_json::Value>(t).unwrap());
        }
    });
    // The compiled form's heap, counted by the allocator: what compiling allocates and keeps,
    // plus the policies' own structs.
    let docs: Vec<_> = texts.iter().map(|t| parse_policy(t).unwrap()).collect();
    let region = Region::new(ALLOCATOR);
    let compiled: Vec<CompiledPolicy> = docs.iter().map(|d| compile(d, "")).collect();
    let change = region.change();
    let held =
        (change.bytes_allocated as isize + change.bytes_reallocated - change.bytes_deallocated as isize).unsigned_abs();
    let statements: usize = compiled.iter().map(CompiledPolicy::statement_count).sum();
    let estimate: usize = compiled.iter().map(CompiledPolicy::approximate_size).sum();
    println!(
        "corpus: {} documents, {statements} statements: parse+compile {ours:?}, bare JSON parse {bare:?} ({:.2}x); \
         compiled form {} heap bytes per statement measured ({} by approximate_size)",
        texts.len(),
        ours.as_secs_f64() / bare.as_secs_f64(),
        held / statements.max(1),
        estimate / statements.max(1)
    );
}

fn benches(c: &mut Criterion) {
    decisions(c, "decision: 10 policies x 5 statements", 10, 5);
    decisions(c, "decision: 120 identity policies (worst case)", 120, 5);
    parse_and_compile(c);
}

criterion_group! {
    name = group;
    config = Criterion::default().warm_up_time(Duration::from_millis(500)).measurement_time(Duration::from_secs(3));
    targets = benches
}
criterion_main!(group);
