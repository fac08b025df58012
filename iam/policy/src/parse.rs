//! From JSON text to a [`PolicyDocument`], checking the grammar. Every rejection names what is
//! wrong in AWS's words and where. Deeply nested or huge input is refused, never a panic: serde_json
//! stops at 128 levels, and sizes are checked by the caller before parsing (see `validate`).

use std::fmt;

use serde_json::{Map, Value};

use crate::document::{
    Condition, ConditionValue, Effect, Items, Operator, OperatorKind, PolicyDocument, PrincipalBlock, PrincipalKind,
    Principals, SetQualifier, Statement, Version,
};
use crate::error::PolicyError;

type Result<T> = std::result::Result<T, PolicyError>;

/// A place in the document (`Statement[1].Condition.StringEquals`), kept as borrowed links and
/// written out only when a rejection names it: parsing a valid document formats nothing.
#[derive(Clone, Copy)]
enum At<'a> {
    Document,
    Member(&'a At<'a>, &'a str),
    Index(&'a At<'a>, usize),
}

impl<'a> At<'a> {
    fn member(&'a self, name: &'a str) -> At<'a> {
        At::Member(self, name)
    }

    fn index(&'a self, i: usize) -> At<'a> {
        At::Index(self, i)
    }
}

impl fmt::Display for At<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            At::Document => Ok(()),
            At::Member(At::Document, name) => f.write_str(name),
            At::Member(parent, name) => write!(f, "{parent}.{name}"),
            At::Index(parent, i) => write!(f, "{parent}[{i}]"),
        }
    }
}

fn err<T>(message: impl Into<String>, at: &At<'_>) -> Result<T> {
    Err(malformed(message, at))
}

fn malformed(message: impl Into<String>, at: &At<'_>) -> PolicyError {
    let location = match at {
        At::Document => None,
        _ => Some(at.to_string()),
    };
    PolicyError::malformed(message, location)
}

const SYNTAX: &str = "Syntax errors in policy.";

/// Parses a policy document's JSON text.
pub fn parse_policy(text: &str) -> Result<PolicyDocument> {
    let value: Value = serde_json::from_str(text)
        .map_err(|e| PolicyError::malformed(format!("{SYNTAX} The document is not valid JSON: {e}."), None))?;
    parse_owned(value)
}

/// Parses a policy document already read as JSON.
pub fn parse_value(value: &Value) -> Result<PolicyDocument> {
    parse_owned(value.clone())
}

/// Parses a policy document already read as JSON, taking its strings rather than copying them.
pub fn parse_owned(value: Value) -> Result<PolicyDocument> {
    let Value::Object(top) = value else {
        return Err(PolicyError::malformed(format!("{SYNTAX} A policy document must be a JSON object."), None));
    };
    let mut version = None;
    let mut id = None;
    let mut statements = None;
    for (key, v) in top {
        let here = At::Document.member(&key);
        match key.as_str() {
            "Version" => {
                version = Some(match v.as_str() {
                    Some("2012-10-17") => Version::V2012_10_17,
                    Some("2008-10-17") => Version::V2008_10_17,
                    _ => {
                        return err("The policy must contain a valid version string: 2012-10-17 or 2008-10-17.", &here);
                    }
                });
            }
            "Id" => match v {
                Value::String(s) => id = Some(s),
                _ => return err(format!("{SYNTAX} Id must be a string."), &here),
            },
            "Statement" => statements = Some(parse_statements(v, &here)?),
            other => return err(format!("Unknown field {other}"), &here),
        }
    }
    let statements = statements.ok_or_else(|| PolicyError::malformed("Missing required field Statement", None))?;
    Ok(PolicyDocument { version, id, statements })
}

fn parse_statements(value: Value, at: &At<'_>) -> Result<Vec<Statement>> {
    match value {
        Value::Object(one) => Ok(vec![parse_statement(one, at)?]),
        Value::Array(list) => {
            if list.is_empty() {
                return err("Policy document must contain at least one statement.", at);
            }
            list.into_iter()
                .enumerate()
                .map(|(i, s)| match s {
                    Value::Object(m) => parse_statement(m, &at.index(i)),
                    _ => err(format!("{SYNTAX} Each statement must be a JSON object."), &at.index(i)),
                })
                .collect()
        }
        _ => err(format!("{SYNTAX} Statement must be an object or an array of objects."), at),
    }
}

fn parse_statement(m: Map<String, Value>, at: &At<'_>) -> Result<Statement> {
    let mut sid = None;
    let mut effect = None;
    let mut principal: Option<PrincipalBlock> = None;
    let mut action: Option<Items> = None;
    let mut resource: Option<Items> = None;
    let mut conditions = Vec::new();
    for (key, v) in m {
        let here = at.member(&key);
        match key.as_str() {
            "Sid" => match v {
                Value::String(s) => sid = Some(s),
                _ => return err(format!("{SYNTAX} Sid must be a string."), &here),
            },
            "Effect" => {
                effect = Some(match v.as_str() {
                    Some("Allow") => Effect::Allow,
                    Some("Deny") => Effect::Deny,
                    _ => return err("Invalid effect: Effect must be \"Allow\" or \"Deny\".", &here),
                });
            }
            "Principal" | "NotPrincipal" => {
                if principal.is_some() {
                    return err("A statement can have Principal or NotPrincipal, not both.", &here);
                }
                principal =
                    Some(PrincipalBlock { negated: key == "NotPrincipal", principals: parse_principals(v, &here)? });
            }
            "Action" | "NotAction" => {
                if action.is_some() {
                    return err("A statement can have Action or NotAction, not both.", &here);
                }
                action = Some(Items { negated: key == "NotAction", values: string_list(v, &here, &key)? });
            }
            "Resource" | "NotResource" => {
                if resource.is_some() {
                    return err("A statement can have Resource or NotResource, not both.", &here);
                }
                resource = Some(Items { negated: key == "NotResource", values: string_list(v, &here, &key)? });
            }
            "Condition" => conditions = parse_conditions(v, &here)?,
            other => return err(format!("Unknown field {other}"), &here),
        }
    }
    let effect = effect.ok_or_else(|| malformed("Missing required field Effect", at))?;
    Ok(Statement { sid, effect, principal, action, resource, conditions })
}

/// A string or a non-empty array of strings.
fn string_list(v: Value, at: &At<'_>, element: &str) -> Result<Vec<String>> {
    match v {
        Value::String(s) => Ok(vec![s]),
        Value::Array(list) if !list.is_empty() => list
            .into_iter()
            .enumerate()
            .map(|(i, item)| match item {
                Value::String(s) => Ok(s),
                _ => err(format!("{SYNTAX} Each {element} must be a string."), &at.index(i)),
            })
            .collect(),
        Value::Array(_) => err(format!("{element} must not be an empty list."), at),
        _ => err(format!("{SYNTAX} {element} must be a string or a list of strings."), at),
    }
}

fn parse_principals(v: Value, at: &At<'_>) -> Result<Principals> {
    match v {
        Value::String(s) if s == "*" => Ok(Principals::Anyone),
        Value::String(s) => {
            err(format!("Invalid principal in policy: \"{s}\". Use \"*\" or a map such as {{\"AWS\": \"...\"}}."), at)
        }
        Value::Object(m) => {
            if m.is_empty() {
                return err("Invalid principal in policy: the principal map is empty.", at);
            }
            let mut named = Vec::with_capacity(m.len());
            for (key, ids) in m {
                let here = at.member(&key);
                let Some(kind) = PrincipalKind::parse(&key) else {
                    return err(
                        format!(
                            "Invalid principal in policy: unknown principal type \"{key}\" (expected AWS, Service, Federated or CanonicalUser)."
                        ),
                        &here,
                    );
                };
                named.push((kind, string_list(ids, &here, "principal")?));
            }
            Ok(Principals::Named(named))
        }
        _ => err(format!("{SYNTAX} Principal must be \"*\" or a map of principal types to identifiers."), at),
    }
}

/// `ForAnyValue:StringLikeIfExists` and its kin. Case is ignored, as AWS does.
pub fn parse_operator(name: &str) -> Option<Operator> {
    let (qualifier, rest) = match name.split_once(':') {
        Some((q, rest)) if q.eq_ignore_ascii_case("ForAllValues") => (Some(SetQualifier::ForAllValues), rest),
        Some((q, rest)) if q.eq_ignore_ascii_case("ForAnyValue") => (Some(SetQualifier::ForAnyValue), rest),
        Some(_) => return None,
        None => (None, name),
    };
    if let Some(kind) = OperatorKind::parse(rest) {
        return Some(Operator { qualifier, kind, if_exists: false });
    }
    let cut = rest.len().checked_sub("IfExists".len())?;
    let (base, suffix) = (rest.get(..cut)?, rest.get(cut..)?);
    if !suffix.eq_ignore_ascii_case("IfExists") {
        return None;
    }
    let kind = OperatorKind::parse(base)?;
    // `Null` tests existence itself: `NullIfExists` means nothing.
    (kind != OperatorKind::Null).then_some(Operator { qualifier, kind, if_exists: true })
}

fn parse_conditions(v: Value, at: &At<'_>) -> Result<Vec<Condition>> {
    let Value::Object(block) = v else {
        return err(format!("{SYNTAX} Condition must be a map of operators to maps of keys and values."), at);
    };
    let mut out = Vec::new();
    let mut seen: Vec<Operator> = Vec::new();
    for (name, keys) in block {
        let here = at.member(&name);
        let Some(operator) = parse_operator(&name) else {
            return err(format!("Invalid Condition type : {name}"), &here);
        };
        // Operator names ignore case, so `StringEquals` and `stringequals` are one operator twice.
        if seen.contains(&operator) {
            return err(format!("Duplicate condition operator {}.", operator.name()), &here);
        }
        seen.push(operator);
        let Value::Object(keys) = keys else {
            return err(format!("{SYNTAX} The condition {name} must map condition keys to values."), &here);
        };
        if keys.is_empty() {
            return err(format!("The condition {name} has no condition key."), &here);
        }
        for (key, values) in keys {
            let values = condition_values(values, &here.member(&key))?;
            out.push(Condition { operator, key, values });
        }
    }
    Ok(out)
}

fn condition_value(v: Value, at: &At<'_>) -> Result<ConditionValue> {
    match v {
        Value::String(s) => Ok(ConditionValue::String(s)),
        Value::Number(n) => Ok(ConditionValue::Number(n.to_string())),
        Value::Bool(b) => Ok(ConditionValue::Bool(b)),
        _ => err(format!("{SYNTAX} A condition value must be a string, a number or a boolean."), at),
    }
}

fn condition_values(v: Value, at: &At<'_>) -> Result<Vec<ConditionValue>> {
    match v {
        Value::Array(list) if list.is_empty() => err("A condition key must have at least one value.", at),
        Value::Array(list) => {
            list.into_iter().enumerate().map(|(i, item)| condition_value(item, &at.index(i))).collect()
        }
        other => Ok(vec![condition_value(other, at)?]),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reason(text: &str) -> (String, Option<String>) {
        let e = parse_policy(text).unwrap_err();
        assert_eq!(e.code(), "MalformedPolicyDocument");
        (e.message, e.location)
    }

    #[test]
    fn parses_the_whole_grammar() {
        let doc = parse_policy(
            r#"{"Version":"2012-10-17","Id":"p1","Statement":[
                {"Sid":"A","Effect":"Allow","Action":["s3:Get*","s3:List*"],"Resource":"arn:aws:s3:::b/*",
                 "Condition":{"ForAnyValue:StringLikeIfExists":{"aws:TagKeys":["team*","cost"]},
                              "NumericLessThan":{"s3:max-keys":10},"Bool":{"aws:SecureTransport":true}}},
                {"Effect":"Deny","NotAction":"iam:*","NotResource":["arn:aws:iam::*:role/x"],
                 "NotPrincipal":{"AWS":["arn:aws:iam::111122223333:root","111122223333"],"Service":"ec2.amazonaws.com"}},
                {"Effect":"Allow","Principal":"*","Action":"sts:AssumeRole"}]}"#,
        )
        .unwrap();
        assert_eq!(doc.version, Some(Version::V2012_10_17));
        assert_eq!(doc.statements.len(), 3);
        let first = &doc.statements[0];
        assert_eq!(first.conditions.len(), 3);
        assert_eq!(first.conditions[0].operator.name(), "ForAnyValue:StringLikeIfExists");
        assert_eq!(first.conditions[1].values, vec![ConditionValue::Number("10".into())]);
        assert_eq!(first.conditions[2].values[0].as_text(), "true");
        let second = &doc.statements[1];
        assert!(second.action.as_ref().unwrap().negated);
        assert!(second.principal.as_ref().unwrap().negated);
        assert_eq!(doc.statements[2].principal.as_ref().unwrap().principals, Principals::Anyone);
    }

    #[test]
    fn a_single_statement_object_is_a_list_of_one() {
        let doc = parse_policy(r#"{"Statement":{"Effect":"Allow","Action":"*","Resource":"*"}}"#).unwrap();
        assert_eq!(doc.statements.len(), 1);
        assert_eq!(doc.version, None);
        assert_eq!(doc.effective_version(), Version::V2008_10_17);
    }

    #[test]
    fn round_trips_through_json() {
        let text = r#"{"Version":"2012-10-17","Statement":[{"Sid":"x","Effect":"Allow","Action":"a:b",
            "Resource":["r1","r2"],"Condition":{"StringEquals":{"k:a":["1","2"]},"Bool":{"k:b":false}}}]}"#;
        let doc = parse_policy(text).unwrap();
        let again = parse_value(&doc.to_json()).unwrap();
        assert_eq!(doc, again);
    }

    #[test]
    fn operators_parse_with_qualifiers_and_if_exists() {
        let op = parse_operator("forallvalues:stringequalsignorecaseifexists").unwrap();
        assert_eq!(op.qualifier, Some(SetQualifier::ForAllValues));
        assert_eq!(op.kind, OperatorKind::StringEqualsIgnoreCase);
        assert!(op.if_exists);
        assert!(parse_operator("NullIfExists").is_none());
        assert!(parse_operator("StringEqual").is_none());
        assert!(parse_operator("ForSomeValues:StringEquals").is_none());
        assert!(parse_operator("IfExists").is_none());
        for kind in OperatorKind::ALL {
            assert_eq!(parse_operator(kind.as_str()).unwrap().kind, kind);
        }
    }

    #[test]
    fn rejections_say_what_and_where() {
        assert!(reason("not json").0.starts_with("Syntax errors in policy."));
        assert!(reason("[]").0.contains("must be a JSON object"));
        assert_eq!(reason(r#"{"Version":"2012-10-17"}"#).0, "Missing required field Statement");
        assert_eq!(reason(r#"{"Version":"2013-01-01","Statement":[]}"#).1.as_deref(), Some("Version"));
        let (m, at) = reason(r#"{"Statement":[{"Effect":"Allow","Action":"*","Resource":"*"},{"Effect":"allow"}]}"#);
        assert!(m.starts_with("Invalid effect"), "{m}");
        assert_eq!(at.as_deref(), Some("Statement[1].Effect"));
        let (m, at) = reason(
            r#"{"Statement":{"Effect":"Allow","Action":"*","Resource":"*","Condition":{"StringEqualz":{"a:b":"c"}}}}"#,
        );
        assert_eq!(m, "Invalid Condition type : StringEqualz");
        assert_eq!(at.as_deref(), Some("Statement.Condition.StringEqualz"));
        let (m, _) = reason(r#"{"Statement":{"Effect":"Allow","Action":"*","Resource":"*","Extra":1}}"#);
        assert_eq!(m, "Unknown field Extra");
        let (m, at) = reason(r#"{"Statement":{"Effect":"Allow","Action":["a:b",3],"Resource":"*"}}"#);
        assert!(m.contains("Each Action must be a string"), "{m}");
        assert_eq!(at.as_deref(), Some("Statement.Action[1]"));
        let (m, _) = reason(
            r#"{"Statement":{"Effect":"Allow","Action":"*","Resource":"*","Condition":{"Bool":{"a:b":{"x":1}}}}}"#,
        );
        assert!(m.contains("condition value must be"), "{m}");
        let (_, at) = reason(
            r#"{"Statement":[{"Effect":"Allow","Action":"*","Resource":"*","Condition":{"Bool":{"a:b":[true,null]}}}]}"#,
        );
        assert_eq!(at.as_deref(), Some("Statement[0].Condition.Bool.a:b[1]"));
        let (_, at) = reason(r#"{"Statement":[{"Effect":"Allow","Principal":{"AWS":["1",2]},"Action":"*"}]}"#);
        assert_eq!(at.as_deref(), Some("Statement[0].Principal.AWS[1]"));
        assert_eq!(reason(r#"{"Statement":{"Action":"*"}}"#).1.as_deref(), Some("Statement"));
        let (m, _) = reason(r#"{"Statement":{"Effect":"Allow","Principal":{"Users":"x"},"Action":"*"}}"#);
        assert!(m.contains("unknown principal type"), "{m}");
        assert!(reason(r#"{"Statement":{"Action":"*","Resource":"*"}}"#).0.contains("Missing required field Effect"));
        let (m, _) = reason(
            r#"{"Statement":{"Effect":"Allow","Action":"*","Resource":"*","Condition":{"StringEquals":{"a:b":"1"},"stringequals":{"a:b":"2"}}}}"#,
        );
        assert_eq!(m, "Duplicate condition operator StringEquals.");
    }

    #[test]
    fn hostile_input_is_refused_without_panicking() {
        let deep = format!("{}{}", "[".repeat(100_000), "]".repeat(100_000));
        assert!(parse_policy(&deep).is_err());
        assert!(parse_policy("").is_err());
        assert!(parse_policy("\u{0}").is_err());
        assert!(
            parse_policy(
                r#"{"Statement":{"Effect":"Allow","Action":"*","Resource":"*","Condition":{"StringEquals":{}}}}"#
            )
            .is_err()
        );
        assert!(parse_policy(r#"{"Statement":{"Effect":"Allow","Action":[],"Resource":"*"}}"#).is_err());
    }
}
