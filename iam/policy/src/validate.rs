//! What a parsed document must also satisfy, by the kind of policy it is: where Principal and
//! Resource are required or prohibited, how actions, resources and condition keys are written, the
//! values each condition operator accepts, and how large the document may be.

use std::collections::HashSet;

use crate::document::{ConditionValue, Effect, PolicyDocument, PrincipalKind, Principals, ValueType, Version};
use crate::error::{PolicyError, PolicyErrorKind};
use crate::parse::parse_policy;
use crate::values::{Cidr, is_base64, parse_bool, parse_date, parse_number};

/// The kinds of policy, each with its own rules.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PolicyKind {
    /// Attached to a user, group or role (inline or managed): no Principal.
    Identity,
    /// Attached to a resource: Principal required.
    ResourceBased,
    /// A role's trust policy: Principal required, no Resource.
    Trust,
    /// A managed policy used as a permissions boundary: no Principal.
    PermissionsBoundary,
    /// A session policy passed to AssumeRole or GetFederationToken: no Principal.
    Session,
    /// An organisation-style guardrail (SCP semantics): no Principal.
    Guardrail,
}

impl PolicyKind {
    /// The largest document of this kind, in characters not counting whitespace (quotas.md).
    /// Inline policies are limited by their sum per entity; the store checks that.
    pub fn max_chars(self) -> usize {
        match self {
            PolicyKind::Identity | PolicyKind::PermissionsBoundary => 6_144,
            PolicyKind::Trust | PolicyKind::Session => 2_048,
            PolicyKind::Guardrail => 5_120,
            PolicyKind::ResourceBased => 20_480,
        }
    }

    fn has_principal(self) -> bool {
        matches!(self, PolicyKind::ResourceBased | PolicyKind::Trust)
    }

    pub fn name(self) -> &'static str {
        match self {
            PolicyKind::Identity => "identity",
            PolicyKind::ResourceBased => "resource",
            PolicyKind::Trust => "trust",
            PolicyKind::PermissionsBoundary => "boundary",
            PolicyKind::Session => "session",
            PolicyKind::Guardrail => "guardrail",
        }
    }
}

/// Characters of a document not counting whitespace, as AWS measures policy size.
pub fn size_without_whitespace(text: &str) -> usize {
    text.chars().filter(|c| !c.is_whitespace()).count()
}

/// Checks size, parses and validates `text` as a policy of `kind`; the first problem is the error.
pub fn parse_and_validate(text: &str, kind: PolicyKind) -> Result<PolicyDocument, PolicyError> {
    check_size(text, kind.max_chars())?;
    let doc = parse_policy(text)?;
    match validate(&doc, kind).into_iter().next() {
        Some(first) => Err(first),
        None => Ok(doc),
    }
}

pub fn check_size(text: &str, max_chars: usize) -> Result<(), PolicyError> {
    // A cheap bound first: a text of fewer bytes than the limit cannot exceed it.
    if text.len() > max_chars && size_without_whitespace(text) > max_chars {
        return Err(PolicyError {
            kind: PolicyErrorKind::TooLarge,
            message: format!("Cannot exceed quota for PolicySize: {max_chars}"),
            location: None,
        });
    }
    Ok(())
}

const VENDOR: &str = "Actions/Conditions must be prefaced by a vendor, e.g., iam, sdb, ec2, etc.";

/// A service prefix: letters, digits and hyphens.
fn is_vendor(text: &str) -> bool {
    !text.is_empty() && text.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
}

fn check_action(action: &str) -> Result<(), String> {
    if action == "*" {
        return Ok(());
    }
    let Some((vendor, name)) = action.split_once(':') else {
        return Err(VENDOR.to_owned());
    };
    if !is_vendor(vendor) && vendor != "*" {
        return Err(VENDOR.to_owned());
    }
    if name.is_empty() || !name.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'*' | b'?' | b'-' | b'_')) {
        return Err(format!(
            "Action {action} is not valid: after the vendor prefix, use letters, digits and the wildcards * and ?."
        ));
    }
    Ok(())
}

fn check_resource(resource: &str) -> Result<(), String> {
    if resource == "*" || (resource.starts_with("arn:") && resource.splitn(6, ':').count() == 6) {
        Ok(())
    } else {
        Err(format!("Resource {resource} must be in ARN format or \"*\"."))
    }
}

fn check_principal(kind: PrincipalKind, id: &str) -> Result<(), String> {
    let ok = match kind {
        PrincipalKind::Aws => {
            id == "*"
                || (id.len() == 12 && id.bytes().all(|b| b.is_ascii_digit()))
                || (id.starts_with("arn:") && id.splitn(6, ':').count() == 6)
        }
        PrincipalKind::Service => !id.is_empty() && !id.contains(char::is_whitespace),
        PrincipalKind::Federated | PrincipalKind::CanonicalUser => !id.is_empty(),
    };
    if ok { Ok(()) } else { Err(format!("Invalid principal in policy: \"{}\":\"{id}\"", kind.as_str())) }
}

/// Whether a condition value uses a policy variable (only meaningful under 2012-10-17).
fn has_variable(text: &str) -> bool {
    text.contains("${")
}

fn check_value(ty: ValueType, operator: &str, value: &ConditionValue, variables: bool) -> Result<(), String> {
    let text = value.as_text();
    let uses_variable = variables && has_variable(&text);
    let expected = match ty {
        ValueType::String | ValueType::Arn => return Ok(()),
        ValueType::Bool if uses_variable => return Ok(()),
        ValueType::Bool | ValueType::Null => parse_bool(&text).is_some().then_some(()).ok_or("true or false"),
        ValueType::Numeric => parse_number(&text).is_some().then_some(()).ok_or("a number"),
        ValueType::Date => parse_date(&text).is_some().then_some(()).ok_or("an ISO 8601 date or epoch seconds"),
        ValueType::Ip => Cidr::parse(&text).is_some().then_some(()).ok_or("an IP address or CIDR block"),
        ValueType::Binary => is_base64(&text).then_some(()).ok_or("base64 data"),
    };
    expected.map_err(|what| format!("Invalid value `{text}` for condition {operator}: expected {what}."))
}

/// Every problem of `doc` as a policy of `kind`, in document order; empty when it is valid.
pub fn validate(doc: &PolicyDocument, kind: PolicyKind) -> Vec<PolicyError> {
    let mut problems = Vec::new();
    let mut report = |message: String, at: String| problems.push(PolicyError::malformed(message, Some(at)));
    let variables = doc.effective_version() == Version::V2012_10_17;
    let mut sids = HashSet::new();
    let single = doc.statements.len() == 1;
    for (i, st) in doc.statements.iter().enumerate() {
        let at = if single { "Statement".to_owned() } else { format!("Statement[{i}]") };
        if let Some(sid) = &st.sid {
            if !kind.has_principal() && !sid.bytes().all(|b| b.is_ascii_alphanumeric()) {
                report("Statement IDs (SID) must be alpha-numeric. Check that your input satisfies the regular expression [0-9A-Za-z]*".into(), format!("{at}.Sid"));
            }
            if !sid.is_empty() && !sids.insert(sid.as_str()) {
                report("Statement IDs (SID) in a single policy must be unique.".into(), format!("{at}.Sid"));
            }
        }
        match (&st.principal, kind.has_principal()) {
            (Some(p), false) => {
                let field = if p.negated { "NotPrincipal" } else { "Principal" };
                report("Policy document should not specify a principal.".into(), format!("{at}.{field}"));
            }
            (None, true) => report("Missing required field Principal".into(), at.clone()),
            (Some(p), true) if p.negated && kind == PolicyKind::Trust => {
                report(
                    "Has prohibited field NotPrincipal: a trust policy must name its principals.".into(),
                    format!("{at}.NotPrincipal"),
                );
            }
            (Some(p), true) if p.negated && st.effect == Effect::Allow => {
                report(
                    "NotPrincipal can only be used with \"Effect\": \"Deny\": an Allow with NotPrincipal would grant access to everyone not listed.".into(),
                    format!("{at}.NotPrincipal"),
                );
            }
            (Some(p), true) => {
                if let Principals::Named(list) = &p.principals {
                    for (pk, ids) in list {
                        for id in ids {
                            if let Err(m) = check_principal(*pk, id) {
                                report(m, format!("{at}.Principal.{}", pk.as_str()));
                            }
                        }
                    }
                }
            }
            (None, false) => {}
        }
        match &st.action {
            None => report("Policy statement must contain actions.".into(), at.clone()),
            Some(items) => {
                for a in &items.values {
                    if let Err(m) = check_action(a) {
                        report(m, format!("{at}.{}", if items.negated { "NotAction" } else { "Action" }));
                    }
                }
            }
        }
        match (&st.resource, kind) {
            (Some(r), PolicyKind::Trust) => {
                let field = if r.negated { "NotResource" } else { "Resource" };
                report(format!("Has prohibited field {field}"), format!("{at}.{field}"));
            }
            (None, PolicyKind::Trust) => {}
            (None, _) => report("Policy statement must contain resources.".into(), at.clone()),
            (Some(items), _) => {
                for r in &items.values {
                    if let Err(m) = check_resource(r) {
                        report(m, format!("{at}.{}", if items.negated { "NotResource" } else { "Resource" }));
                    }
                }
            }
        }
        for c in &st.conditions {
            let name = c.operator.name();
            let key_at = format!("{at}.Condition.{name}.{}", c.key);
            match c.key.split_once(':') {
                Some((vendor, rest)) if is_vendor(vendor) && !rest.is_empty() => {}
                _ => report(VENDOR.into(), key_at.clone()),
            }
            for v in &c.values {
                if let Err(m) = check_value(c.operator.kind.value_type(), &name, v, variables) {
                    report(m, key_at.clone());
                }
            }
        }
    }
    problems
}

#[cfg(test)]
mod tests {
    use super::*;

    fn problems(text: &str, kind: PolicyKind) -> Vec<String> {
        let doc = parse_policy(text).unwrap();
        validate(&doc, kind).into_iter().map(|e| e.to_string()).collect()
    }

    const IDENTITY: &str = r#"{"Version":"2012-10-17","Statement":[{"Sid":"ReadAll","Effect":"Allow","Action":["s3:Get*","ec2:Describe*"],"Resource":"*",
        "Condition":{"IpAddress":{"aws:SourceIp":["10.0.0.0/8","2001:db8::/32"]},"DateLessThan":{"aws:CurrentTime":"2030-01-01T00:00:00Z"},
        "NumericLessThanEquals":{"aws:MultiFactorAuthAge":3600},"Bool":{"aws:SecureTransport":"true"},"Null":{"aws:TokenIssueTime":"false"},
        "BinaryEquals":{"x:b":"QmluYXJ5"},"StringLike":{"s3:prefix":"home/${aws:username}/*"}}}]}"#;

    #[test]
    fn a_good_identity_policy_has_no_problem() {
        assert!(problems(IDENTITY, PolicyKind::Identity).is_empty());
        assert!(parse_and_validate(IDENTITY, PolicyKind::Identity).is_ok());
    }

    #[test]
    fn not_principal_goes_only_with_deny_and_never_in_trust_policies() {
        let deny = r#"{"Statement":{"Effect":"Deny","NotPrincipal":{"AWS":"arn:aws:iam::111122223333:root"},"Action":"s3:*","Resource":"*"}}"#;
        assert!(problems(deny, PolicyKind::ResourceBased).is_empty());
        let allow = deny.replace("Deny", "Allow");
        let found = problems(&allow, PolicyKind::ResourceBased);
        assert_eq!(found.len(), 1, "{found:?}");
        assert!(
            found[0].contains("only be used with") && found[0].ends_with("(at Statement.NotPrincipal)"),
            "{found:?}"
        );
        let trust =
            r#"{"Statement":{"Effect":"Deny","NotPrincipal":{"AWS":"111122223333"},"Action":"sts:AssumeRole"}}"#;
        let found = problems(trust, PolicyKind::Trust);
        assert!(found.iter().any(|p| p.contains("Has prohibited field NotPrincipal")), "{found:?}");
    }

    #[test]
    fn principals_belong_only_where_they_are_needed() {
        let with = r#"{"Statement":{"Effect":"Allow","Principal":{"AWS":"111122223333"},"Action":"s3:GetObject","Resource":"arn:aws:s3:::b/*"}}"#;
        assert_eq!(
            problems(with, PolicyKind::Identity),
            ["Policy document should not specify a principal. (at Statement.Principal)"]
        );
        assert!(problems(with, PolicyKind::ResourceBased).is_empty());
        let without = r#"{"Statement":{"Effect":"Allow","Action":"s3:GetObject","Resource":"*"}}"#;
        assert_eq!(problems(without, PolicyKind::ResourceBased), ["Missing required field Principal (at Statement)"]);
        let trust = r#"{"Statement":{"Effect":"Allow","Principal":{"Service":"ec2.amazonaws.com"},"Action":"sts:AssumeRole","Resource":"*"}}"#;
        assert_eq!(problems(trust, PolicyKind::Trust), ["Has prohibited field Resource (at Statement.Resource)"]);
        let bad = r#"{"Statement":{"Effect":"Allow","Principal":{"AWS":"alice"},"Action":"sts:AssumeRole"}}"#;
        assert_eq!(
            problems(bad, PolicyKind::Trust),
            ["Invalid principal in policy: \"AWS\":\"alice\" (at Statement.Principal.AWS)"]
        );
    }

    #[test]
    fn actions_resources_and_keys_are_checked() {
        let p = problems(
            r#"{"Statement":[{"Effect":"Allow","Action":"GetObject","Resource":"bucket"},{"Effect":"Deny","Action":"s3:*","Resource":"*","Condition":{"StringEquals":{"NoVendor":"x"}}}]}"#,
            PolicyKind::Identity,
        );
        assert_eq!(
            p,
            [
                format!("{VENDOR} (at Statement[0].Action)"),
                "Resource bucket must be in ARN format or \"*\". (at Statement[0].Resource)".to_owned(),
                format!("{VENDOR} (at Statement[1].Condition.StringEquals.NoVendor)"),
            ]
        );
        let missing = problems(r#"{"Statement":{"Effect":"Allow"}}"#, PolicyKind::Identity);
        assert_eq!(
            missing,
            [
                "Policy statement must contain actions. (at Statement)",
                "Policy statement must contain resources. (at Statement)"
            ]
        );
    }

    #[test]
    fn condition_values_must_fit_their_operator() {
        let p = problems(
            r#"{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"*","Resource":"*","Condition":{
                "NumericEquals":{"a:n":"ten"},"DateGreaterThan":{"a:d":"soon"},"IpAddress":{"a:ip":"10.0.0.0/40"},
                "Bool":{"a:b":"yes"},"Null":{"a:n2":"maybe"},"BinaryEquals":{"a:x":"***"},"NumericLessThan":{"a:v":"${aws:EpochTime}"}}}}"#,
            PolicyKind::Identity,
        );
        assert_eq!(p.len(), 7, "{p:#?}");
        assert!(p[0].starts_with("Invalid value `ten` for condition NumericEquals: expected a number."));
        assert!(p[6].contains("expected a number"), "variables are not allowed in numeric values");
    }

    #[test]
    fn sids_are_alphanumeric_and_unique_in_identity_policies() {
        let p = problems(
            r#"{"Statement":[{"Sid":"a-1","Effect":"Allow","Action":"*","Resource":"*"},{"Sid":"Same","Effect":"Allow","Action":"*","Resource":"*"},{"Sid":"Same","Effect":"Allow","Action":"*","Resource":"*"}]}"#,
            PolicyKind::Identity,
        );
        assert_eq!(p.len(), 2);
        assert!(p[0].contains("alpha-numeric"));
        assert!(p[1].contains("must be unique"));
    }

    #[test]
    fn sizes_are_counted_without_whitespace() {
        let padded = format!(
            "{{ {} \"Statement\": {{\"Effect\":\"Allow\",\"Action\":\"*\",\"Resource\":\"*\"}}}}",
            " ".repeat(10_000)
        );
        assert!(parse_and_validate(&padded, PolicyKind::Trust).is_err(), "a trust policy needs a principal");
        assert!(parse_and_validate(&padded, PolicyKind::Identity).is_ok(), "whitespace is free");
        let big = format!(
            r#"{{"Statement":{{"Effect":"Allow","Action":"*","Resource":["{}"]}}}}"#,
            vec!["arn:aws:s3:::bucket-name-long/*"; 300].join("\",\"")
        );
        let e = parse_and_validate(&big, PolicyKind::Identity).unwrap_err();
        assert_eq!(e.code(), "LimitExceeded");
        assert_eq!(e.message, "Cannot exceed quota for PolicySize: 6144");
    }
}
