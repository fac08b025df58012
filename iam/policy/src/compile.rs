//! Policies compiled for evaluation: actions lower-cased, every pattern split into literal and
//! wildcard pieces, numbers, dates and CIDR blocks parsed, condition keys lower-cased. A policy is
//! compiled once and evaluated many times.

use crate::document::{
    ConditionValue, Effect, Items, OperatorKind, PolicyDocument, PrincipalKind, Principals, SetQualifier, ValueType,
    Version,
};
use crate::pattern::Pattern;
use crate::request::KeyName;
use crate::values::{Cidr, parse_date, parse_number};

/// Where a policy sits in a request's evaluation, which decides what it can do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub enum PolicySource {
    /// Inline or attached to the principal, or to one of the user's groups: grants.
    Identity,
    /// Attached to the resource: grants to the principals it names.
    Resource,
    /// A role's trust policy, for `sts:AssumeRole*`: must grant explicitly.
    Trust,
    /// Caps what identity policies grant.
    PermissionsBoundary,
    /// Caps a session's permissions.
    Session,
    /// Organisation-style guardrail (SCP semantics): caps, never grants.
    Guardrail,
}

#[derive(Debug, Clone)]
pub(crate) struct ActionMatcher {
    pub negated: bool,
    pub patterns: Vec<Pattern>,
}

#[derive(Debug, Clone)]
pub(crate) enum PrincipalMatcher {
    Anyone,
    Named { aws: Vec<String>, services: Vec<String>, federated: Vec<String>, canonical: Vec<String> },
}

#[derive(Debug, Clone)]
pub(crate) enum Values {
    /// String and Bool operators; patterns already lower-cased for case-insensitive operators.
    Patterns(Vec<Pattern>),
    Numbers(Vec<f64>),
    Dates(Vec<i64>),
    Cidrs(Vec<Cidr>),
    /// Each value's six ARN parts; or one pattern for the whole ARN, when the value's variables
    /// stand for several parts; `None` for a value that is no ARN (it matches nothing).
    Arns(Vec<Option<Vec<Pattern>>>),
    Binary(Vec<String>),
    /// `Null`: `true` = the key must be absent.
    Null(Vec<bool>),
}

#[derive(Debug, Clone)]
pub(crate) struct CompiledCondition {
    pub kind: OperatorKind,
    pub qualifier: Option<SetQualifier>,
    pub if_exists: bool,
    pub key: KeyName,
    pub values: Values,
}

#[derive(Debug, Clone)]
pub(crate) struct CompiledStatement {
    /// One bit per service prefix its actions can match (all bits when any service can match):
    /// a request whose service bit is clear skips the statement without matching a pattern.
    pub service_mask: u64,
    pub index: usize,
    pub sid: Option<std::sync::Arc<str>>,
    pub effect: Effect,
    pub actions: ActionMatcher,
    /// `None`: the statement names no resource (trust policies), so any resource matches.
    pub resources: Option<ActionMatcher>,
    /// Boxed: only resource and trust policies name principals.
    pub principal: Option<Box<(bool, PrincipalMatcher)>>,
    pub conditions: Vec<CompiledCondition>,
}

/// A policy ready to evaluate, with the name it is reported under.
#[derive(Debug, Clone)]
pub struct CompiledPolicy {
    /// How explanations name this policy, e.g. `arn:aws:iam::aws:policy/ReadOnlyAccess` or
    /// `user/alice inline ReadBuckets`.
    pub name: std::sync::Arc<str>,
    /// The union of its statements' service masks: a request outside it skips the whole policy.
    pub(crate) service_mask: u64,
    pub(crate) statements: Vec<CompiledStatement>,
}

impl CompiledPolicy {
    /// A policy with no statement: it grants and denies nothing (a policy that no longer exists).
    pub fn empty(name: &str) -> CompiledPolicy {
        CompiledPolicy { name: std::sync::Arc::from(name), service_mask: 0, statements: Vec::new() }
    }

    /// The condition keys its statements test (lower-cased), each once, in order of appearance.
    pub fn condition_keys(&self) -> Vec<&str> {
        let mut keys: Vec<&str> = Vec::new();
        for key in self.statements.iter().flat_map(|s| s.conditions.iter().map(|c| c.key.as_str())) {
            if !keys.contains(&key) {
                keys.push(key);
            }
        }
        keys
    }

    /// Every context key the policy reads (lower-cased), each once: those its conditions test and
    /// those its policy variables read, in resources and in condition values.
    pub fn referenced_keys(&self) -> Vec<&str> {
        let mut keys = self.condition_keys();
        for st in &self.statements {
            let resources = st.resources.iter().flat_map(|r| r.patterns.iter());
            let values = st.conditions.iter().flat_map(|c| match &c.values {
                Values::Patterns(p) => p.iter().collect::<Vec<_>>(),
                Values::Arns(arns) => arns.iter().flatten().flatten().collect(),
                _ => Vec::new(),
            });
            for key in resources.chain(values).flat_map(Pattern::variable_keys) {
                if !keys.contains(&key) {
                    keys.push(key);
                }
            }
        }
        keys
    }

    pub fn statement_count(&self) -> usize {
        self.statements.len()
    }

    /// Approximate bytes held by the compiled form (for sizing caches).
    pub fn approximate_size(&self) -> usize {
        std::mem::size_of::<CompiledPolicy>()
            + self.name.len()
            + self.statements.iter().map(|s| std::mem::size_of::<CompiledStatement>() + s.heap_size()).sum::<usize>()
    }
}

impl CompiledStatement {
    fn heap_size(&self) -> usize {
        let patterns = |m: &ActionMatcher| m.patterns.len() * (std::mem::size_of::<Pattern>() + 24);
        patterns(&self.actions)
            + self.resources.as_ref().map_or(0, patterns)
            + self.conditions.len() * (std::mem::size_of::<CompiledCondition>() + 32)
            + self.sid.as_ref().map_or(0, |s| s.len())
    }
}

/// The bit of a service prefix (`s3`, `iam`, ...) in a statement's `service_mask`. ASCII case is
/// ignored here; other text must come lower-cased.
pub(crate) fn service_bit(service: &str) -> u64 {
    // FNV-1a: a few nanoseconds for a short prefix, and stable across runs.
    let hash = service
        .bytes()
        .fold(0xcbf2_9ce4_8422_2325_u64, |h, b| (h ^ u64::from(b.to_ascii_lowercase())).wrapping_mul(0x100_0000_01b3));
    1u64 << (hash % 64)
}

/// The services a statement's actions can match, as a mask of `service_bit`s.
fn service_mask(actions: Option<&Items>) -> u64 {
    let Some(items) = actions else { return 0 };
    if items.negated {
        return u64::MAX;
    }
    let mut mask = 0;
    for action in &items.values {
        match action.split_once(':') {
            Some((service, _)) if !service.contains(['*', '?']) => {
                mask |= if service.is_ascii() { service_bit(service) } else { service_bit(&service.to_lowercase()) }
            }
            _ => return u64::MAX,
        }
    }
    mask
}

fn items(items: &Items, lowercase: bool, variables: bool) -> ActionMatcher {
    ActionMatcher {
        negated: items.negated,
        patterns: items.values.iter().map(|v| Pattern::compile(v, true, variables, lowercase)).collect(),
    }
}

/// A value of an `Arn*` operator as its six colon-separated parts, each matched on its own. Colons
/// inside `${...}` belong to a variable (`${aws:PrincipalAccount}`), not to the ARN. A value whose
/// variables stand for more than one part (`${aws:PrincipalArn}`) is kept whole and matched
/// against the whole ARN once its variables are expanded.
fn arn_parts(value: &str, variables: bool) -> Option<Vec<Pattern>> {
    let mut parts = Vec::with_capacity(6);
    let (mut start, mut in_variable, mut saw_variable) = (0, false, false);
    let bytes = value.as_bytes();
    for (at, &b) in bytes.iter().enumerate() {
        match b {
            b'$' if variables && bytes.get(at + 1) == Some(&b'{') => in_variable = true,
            b'}' if in_variable => (in_variable, saw_variable) = (false, true),
            b':' if !in_variable && parts.len() < 5 => {
                parts.push(value.get(start..at).unwrap_or_default());
                start = at + 1;
            }
            _ => {}
        }
    }
    parts.push(value.get(start..).unwrap_or_default());
    if parts.len() == 6 {
        Some(parts.iter().map(|p| Pattern::compile(p, true, variables, false)).collect())
    } else {
        saw_variable.then(|| vec![Pattern::compile(value, true, variables, false)])
    }
}

fn compile_values(kind: OperatorKind, values: &[ConditionValue], variables: bool) -> Values {
    let texts = values.iter().map(ConditionValue::as_text);
    match kind.value_type() {
        ValueType::String => {
            let wildcards = matches!(kind, OperatorKind::StringLike | OperatorKind::StringNotLike);
            let lowercase =
                matches!(kind, OperatorKind::StringEqualsIgnoreCase | OperatorKind::StringNotEqualsIgnoreCase);
            Values::Patterns(texts.map(|t| Pattern::compile(&t, wildcards, variables, lowercase)).collect())
        }
        ValueType::Bool => Values::Patterns(texts.map(|t| Pattern::compile(&t, false, variables, true)).collect()),
        ValueType::Numeric => Values::Numbers(texts.filter_map(|t| parse_number(&t)).collect()),
        ValueType::Date => Values::Dates(texts.filter_map(|t| parse_date(&t)).collect()),
        ValueType::Ip => Values::Cidrs(texts.filter_map(|t| Cidr::parse(&t)).collect()),
        ValueType::Arn => Values::Arns(texts.map(|t| arn_parts(&t, variables)).collect()),
        ValueType::Binary => Values::Binary(texts.map(|t| t.into_owned()).collect()),
        ValueType::Null => Values::Null(texts.filter_map(|t| crate::values::parse_bool(&t)).collect()),
    }
}

/// Compiles a parsed document under `name`. Values that do not parse for their operator (which
/// validation reports) match nothing.
pub fn compile(doc: &PolicyDocument, name: impl Into<String>) -> CompiledPolicy {
    let variables = doc.effective_version() == Version::V2012_10_17;
    let statements = doc
        .statements
        .iter()
        .enumerate()
        .map(|(index, st)| CompiledStatement {
            service_mask: service_mask(st.action.as_ref()),
            index,
            sid: st.sid.as_deref().map(std::sync::Arc::from),
            effect: st.effect,
            actions: st
                .action
                .as_ref()
                .map(|a| items(a, true, false))
                .unwrap_or(ActionMatcher { negated: false, patterns: Vec::new() }),
            resources: st.resource.as_ref().map(|r| items(r, false, variables)),
            principal: st.principal.as_ref().map(|p| {
                let matcher = match &p.principals {
                    Principals::Anyone => PrincipalMatcher::Anyone,
                    Principals::Named(list) => {
                        let mut m = (Vec::new(), Vec::new(), Vec::new(), Vec::new());
                        for (kind, ids) in list {
                            let target = match kind {
                                PrincipalKind::Aws => &mut m.0,
                                PrincipalKind::Service => &mut m.1,
                                PrincipalKind::Federated => &mut m.2,
                                PrincipalKind::CanonicalUser => &mut m.3,
                            };
                            target.extend(ids.iter().cloned());
                        }
                        PrincipalMatcher::Named { aws: m.0, services: m.1, federated: m.2, canonical: m.3 }
                    }
                };
                Box::new((p.negated, matcher))
            }),
            conditions: st
                .conditions
                .iter()
                .map(|c| CompiledCondition {
                    kind: c.operator.kind,
                    qualifier: c.operator.qualifier,
                    if_exists: c.operator.if_exists,
                    key: KeyName::new(&c.key),
                    values: compile_values(c.operator.kind, &c.values, variables),
                })
                .collect(),
        })
        .collect::<Vec<CompiledStatement>>();
    let service_mask = statements.iter().fold(0, |mask, st| mask | st.service_mask);
    CompiledPolicy { name: std::sync::Arc::from(name.into()), service_mask, statements }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn referenced_keys_include_policy_variables_wherever_they_are() {
        let doc = crate::parse_policy(
            r#"{"Version":"2012-10-17","Statement":[
            {"Effect":"Allow","Action":"s3:GetObject","Resource":"arn:aws:s3:::b/${aws:ResourceTag/team}/*",
             "Condition":{"StringEquals":{"aws:PrincipalTag/team":"${iam:ResourceTag/owner}"},
                          "ArnLike":{"aws:SourceArn":"arn:aws:iam::${aws:PrincipalAccount}:role/*"}}},
            {"Effect":"Deny","Action":"iam:*","Resource":"*","Condition":{"Null":{"iam:PermissionsBoundary":"true"}}}]}"#,
        )
        .unwrap();
        let compiled = compile(&doc, "p");
        let keys = compiled.referenced_keys();
        for key in [
            "aws:principaltag/team",
            "aws:sourcearn",
            "iam:permissionsboundary",
            "aws:resourcetag/team",
            "iam:resourcetag/owner",
            "aws:principalaccount",
        ] {
            assert!(keys.contains(&key), "{key} in {keys:?}");
        }
        assert_eq!(compiled.condition_keys().len(), 3, "conditions alone test three keys");
    }
}
