use iam_policy::{PolicyKind, parse_value, validate};
use serde_json::Value;

fn corpus() -> Vec<(String, Value)> {
    let text = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data/managed-policies.json"))
        .expect("the managed-policy corpus");
    let all: serde_json::Map<String, Value> = serde_json::from_str(&text).expect("corpus JSON");
    all.into_iter().map(|(name, p)| (name, p["document"].clone())).collect()
}

#[test]
fn every_aws_managed_policy_parses_validates_and_round_trips() {
    let corpus = corpus();
    assert_eq!(corpus.len(), 1594);
    let mut failures = Vec::new();
    let mut statements = 0;
    for (name, document) in &corpus {
        match parse_value(document) {
            Err(e) => failures.push(format!("{name}: parse: {e}")),
            Ok(doc) => {
                statements += doc.statements.len();
                for problem in validate(&doc, PolicyKind::Identity) {
                    failures.push(format!("{name}: {problem}"));
                }
                match parse_value(&doc.to_json()) {
                    Ok(again) if again == doc => {}
                    Ok(_) => failures.push(format!("{name}: changed in a round trip")),
                    Err(e) => failures.push(format!("{name}: round trip: {e}")),
                }
            }
        }
    }
    assert!(failures.is_empty(), "{} failures:\n{}", failures.len(), failures.join("\n"));
    assert_eq!(statements, 8853);
}
