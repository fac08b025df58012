//! Any text: parsing and validating never panic, and what parses round-trips exactly.
#![no_main]

use iam_policy::{PolicyKind, compile, parse_policy, parse_value, validate};
use libfuzzer_sys::fuzz_target;

const KINDS: [PolicyKind; 6] = [
    PolicyKind::Identity,
    PolicyKind::ResourceBased,
    PolicyKind::Trust,
    PolicyKind::PermissionsBoundary,
    PolicyKind::Session,
    PolicyKind::Guardrail,
];

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    for kind in KINDS {
        let _ = iam_policy::parse_and_validate(text, kind);
    }
    let Ok(doc) = parse_policy(text) else { return };
    for kind in KINDS {
        let _ = validate(&doc, kind);
    }
    let _ = compile(&doc, "fuzz");
    let again = parse_value(&doc.to_json()).expect("a parsed document serializes to a valid one");
    assert_eq!(again, doc, "round trip changed the document");
});
