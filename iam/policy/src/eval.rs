//! One decision, with AWS's whole flow: explicit deny first; guardrails; trust and resource-based
//! policies with the same-account and cross-account rules; identity policies; permissions
//! boundaries; session policies. The decision names the statements that decided it and, for an
//! implicit deny, the step that denied. The same call serves authorization and the simulator.

use std::sync::Arc;

use crate::compile::{ActionMatcher, CompiledCondition, CompiledPolicy, PolicySource, PrincipalMatcher, Values};
use crate::document::{Effect, OperatorKind, SetQualifier};
use crate::pattern::Variables;
use crate::request::{Parsed, PrincipalType, Request, RequestPrincipal};

/// The policies that apply to one request.
#[derive(Debug, Clone, Default)]
pub struct PolicySet {
    /// The principal's own policies: inline, attached managed, and its groups'.
    pub identity: Vec<Arc<CompiledPolicy>>,
    /// The resource's policy, if it has one.
    pub resource: Option<Arc<CompiledPolicy>>,
    /// The role's trust policy, when the request assumes a role.
    pub trust: Option<Arc<CompiledPolicy>>,
    pub boundary: Option<Arc<CompiledPolicy>>,
    /// The session's policies (inline and managed); together they cap the session.
    pub session: Vec<Arc<CompiledPolicy>>,
    /// Guardrails by level (organisation root, each unit, the account): at every level, some
    /// policy must allow.
    pub guardrails: Vec<Vec<Arc<CompiledPolicy>>>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub enum Outcome {
    Allow,
    ExplicitDeny,
    ImplicitDeny,
}

/// The step of the flow that denied a request no statement explicitly denied.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub enum DenyStep {
    /// No identity policy (nor, in the same account, the resource policy) allows it.
    NoIdentityAllow,
    /// Cross-account: the resource's policy does not allow the caller.
    NoResourceAllow,
    PermissionsBoundary,
    SessionPolicy,
    Guardrail,
    /// The role's trust policy does not allow the caller to assume it.
    TrustPolicy,
}

/// A statement that took part in the decision.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct MatchedStatement {
    pub source: PolicySource,
    pub policy: Arc<str>,
    /// The statement's position in its policy, from 0.
    pub statement: usize,
    pub sid: Option<Arc<str>>,
    pub effect: Effect,
}

#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Decision {
    pub outcome: Outcome,
    /// For an allow, the statements that granted it; for an explicit deny, every matching deny.
    pub deciding: Vec<MatchedStatement>,
    /// For an implicit deny, the step that denied.
    pub denied_by: Option<DenyStep>,
}

impl Decision {
    pub fn is_allowed(&self) -> bool {
        self.outcome == Outcome::Allow
    }
}

/// How a resource or trust policy statement named the caller.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Grant {
    /// Through the account (`123456789012`, `arn:aws:iam::123456789012:root`): the account's
    /// identity policies must still allow.
    Account,
    /// `*`, or NotPrincipal.
    Anyone,
    /// The role's ARN, for one of its sessions: still capped by boundary and session policy.
    Role,
    /// The user's or the session's own ARN (or the service's name): enough by itself.
    Specific,
}

fn principal_grant(p: &RequestPrincipal, m: &PrincipalMatcher) -> Option<Grant> {
    let PrincipalMatcher::Named { aws, services, federated, canonical } = m else {
        return Some(Grant::Anyone);
    };
    let mut best = None;
    for id in aws {
        let grant = if id == "*" {
            (p.kind != PrincipalType::Anonymous).then_some(Grant::Anyone)
        } else if id == &p.arn {
            Some(Grant::Specific)
        } else if p.role_arn.as_deref() == Some(id.as_str()) {
            Some(Grant::Role)
        } else {
            let account = id.strip_prefix("arn:aws:iam::").and_then(|r| r.strip_suffix(":root")).unwrap_or(id.as_str());
            (p.account.as_deref() == Some(account)).then_some(Grant::Account)
        };
        best = best.max(grant);
    }
    let named = |list: &Vec<String>, kind: PrincipalType| p.kind == kind && list.iter().any(|s| s == &p.arn);
    if named(services, PrincipalType::Service) || named(federated, PrincipalType::FederatedUser) {
        best = Some(Grant::Specific);
    }
    if canonical.iter().any(|c| c == &p.arn) {
        best = Some(Grant::Specific);
    }
    best
}

fn items_match(m: &ActionMatcher, text: &str, vars: &dyn Variables) -> bool {
    let any = m.patterns.iter().any(|p| p.matches(text, vars, false));
    any != m.negated
}

/// Does one request value satisfy the operator against one policy value set (positive form)?
fn value_matches(c: &CompiledCondition, value: &str, parsed: &Parsed, vars: &dyn Variables) -> bool {
    use OperatorKind::*;
    match &c.values {
        Values::Patterns(patterns) => {
            let lowered;
            let text = match c.kind {
                StringEqualsIgnoreCase | StringNotEqualsIgnoreCase | Bool => {
                    lowered = value.to_lowercase();
                    lowered.as_str()
                }
                _ => value,
            };
            let lowercase_vars = matches!(c.kind, StringEqualsIgnoreCase | StringNotEqualsIgnoreCase | Bool);
            patterns.iter().any(|p| p.matches(text, vars, lowercase_vars))
        }
        Values::Numbers(numbers) => parsed.number(value).is_some_and(|v| {
            numbers.iter().any(|n| match c.kind {
                NumericEquals | NumericNotEquals => v == *n,
                NumericLessThan => v < *n,
                NumericLessThanEquals => v <= *n,
                NumericGreaterThan => v > *n,
                NumericGreaterThanEquals => v >= *n,
                _ => false,
            })
        }),
        Values::Dates(dates) => parsed.date(value).is_some_and(|v| {
            dates.iter().any(|d| match c.kind {
                DateEquals | DateNotEquals => v == *d,
                DateLessThan => v < *d,
                DateLessThanEquals => v <= *d,
                DateGreaterThan => v > *d,
                DateGreaterThanEquals => v >= *d,
                _ => false,
            })
        }),
        Values::Cidrs(cidrs) => parsed.ip(value).is_some_and(|ip| cidrs.iter().any(|net| net.contains(ip))),
        Values::Arns(arns) => {
            let parts: Vec<&str> = value.splitn(6, ':').collect();
            parts.len() == 6
                && arns
                    .iter()
                    .flatten()
                    .any(|pattern| pattern.iter().zip(&parts).all(|(p, part)| p.matches(part, vars, false)))
        }
        Values::Binary(values) => values.iter().any(|v| v == value),
        Values::Null(_) => false,
    }
}

fn condition_holds(c: &CompiledCondition, vars: &crate::request::Context) -> bool {
    let present = vars.get_parsed(&c.key);
    if let Values::Null(expect_absent) = &c.values {
        let absent = present.is_none_or(|(values, _)| values.is_empty());
        return expect_absent.contains(&absent);
    }
    let negated = c.kind.is_negated();
    let (values, parsed) = match present {
        None => {
            return match c.qualifier {
                Some(SetQualifier::ForAllValues) => true,
                Some(SetQualifier::ForAnyValue) => false,
                None => c.if_exists || negated,
            };
        }
        Some(found) => found,
    };
    // For a negated operator, a request value "satisfies" it when it matches none of the values.
    let mut each = values.iter().zip(parsed).map(|(v, p)| value_matches(c, v, p, vars) != negated);
    match c.qualifier {
        Some(SetQualifier::ForAllValues) => each.all(|ok| ok),
        Some(SetQualifier::ForAnyValue) => each.any(|ok| ok),
        None if negated => each.all(|ok| ok),
        None => each.any(|ok| ok),
    }
}

/// The matching statements of one policy, with how each named the principal (resource policies).
fn scan(
    policy: &CompiledPolicy,
    source: PolicySource,
    request: &Request<'_>,
    action: &str,
    denies: &mut Vec<MatchedStatement>,
    allows: &mut Vec<(MatchedStatement, Grant)>,
) {
    let vars: &dyn Variables = request.context;
    let uses_principal = matches!(source, PolicySource::Resource | PolicySource::Trust);
    let service = crate::compile::service_bit(action.split_once(':').map_or(action, |(s, _)| s));
    for st in &policy.statements {
        if st.service_mask & service == 0 || !items_match(&st.actions, action, vars) {
            continue;
        }
        if let Some(resources) = &st.resources
            && !items_match(resources, request.resource, vars)
        {
            continue;
        }
        let grant = match (&st.principal, uses_principal) {
            (Some((negated, m)), true) => match (principal_grant(request.principal, m), negated) {
                (Some(g), false) => g,
                (None, true) => Grant::Anyone,
                _ => continue,
            },
            (None, true) => continue,
            (_, false) => Grant::Specific,
        };
        if !st.conditions.iter().all(|c| condition_holds(c, request.context)) {
            continue;
        }
        let matched = MatchedStatement {
            source,
            policy: policy.name.clone(),
            statement: st.index,
            sid: st.sid.clone(),
            effect: st.effect,
        };
        match st.effect {
            Effect::Deny => denies.push(matched),
            Effect::Allow => allows.push((matched, grant)),
        }
    }
}

fn implicit(step: DenyStep) -> Decision {
    Decision { outcome: Outcome::ImplicitDeny, deciding: Vec::new(), denied_by: Some(step) }
}

/// Decides `request` against `set`.
pub fn evaluate(request: &Request<'_>, set: &PolicySet) -> Decision {
    let action = request.action.to_ascii_lowercase();
    let mut denies = Vec::new();

    let mut scan_all = |policies: &[Arc<CompiledPolicy>], source| {
        let mut allows = Vec::new();
        for p in policies {
            scan(p, source, request, &action, &mut denies, &mut allows);
        }
        allows
    };
    let identity_allows = scan_all(&set.identity, PolicySource::Identity);
    let boundary_allows =
        set.boundary.as_ref().map(|b| scan_all(std::slice::from_ref(b), PolicySource::PermissionsBoundary));
    let session_allows = (!set.session.is_empty()).then(|| scan_all(&set.session, PolicySource::Session));
    let level_allowed: Vec<bool> =
        set.guardrails.iter().map(|level| !scan_all(level, PolicySource::Guardrail).is_empty()).collect();
    let (resource_allows, trust_required) = match (&set.trust, &set.resource) {
        (Some(trust), _) => (scan_all(std::slice::from_ref(trust), PolicySource::Trust), true),
        (None, Some(resource)) => (scan_all(std::slice::from_ref(resource), PolicySource::Resource), false),
        (None, None) => (Vec::new(), false),
    };

    if !denies.is_empty() {
        return Decision { outcome: Outcome::ExplicitDeny, deciding: denies, denied_by: None };
    }
    if level_allowed.iter().any(|allowed| !allowed) {
        return implicit(DenyStep::Guardrail);
    }
    if trust_required && resource_allows.is_empty() {
        return implicit(DenyStep::TrustPolicy);
    }

    let principal = request.principal;
    let same_account = match (request.resource_account, principal.account.as_deref()) {
        (Some(resource), Some(own)) => resource == own,
        // Services and anonymous callers belong to no account: the resource's policy alone
        // decides for them, as within an account.
        (Some(_), None) | (None, _) => true,
    };
    let root_in_own_account = principal.kind == PrincipalType::Root && same_account;
    let identity_grants = root_in_own_account || !identity_allows.is_empty();
    let caps_hold = |deciding: Vec<MatchedStatement>| {
        if boundary_allows.as_ref().is_some_and(Vec::is_empty) {
            return implicit(DenyStep::PermissionsBoundary);
        }
        if session_allows.as_ref().is_some_and(Vec::is_empty) {
            return implicit(DenyStep::SessionPolicy);
        }
        Decision { outcome: Outcome::Allow, deciding, denied_by: None }
    };
    let statements = |allows: &[(MatchedStatement, Grant)], keep: &dyn Fn(Grant) -> bool| -> Vec<MatchedStatement> {
        allows.iter().filter(|(_, g)| keep(*g)).map(|(m, _)| m.clone()).collect()
    };

    if !same_account {
        // Across accounts both sides must allow: the resource's policy and the caller's own.
        if resource_allows.is_empty() {
            return implicit(DenyStep::NoResourceAllow);
        }
        if !identity_grants {
            return implicit(DenyStep::NoIdentityAllow);
        }
        let mut deciding = statements(&identity_allows, &|_| true);
        deciding.extend(statements(&resource_allows, &|_| true));
        return caps_hold(deciding);
    }

    // Same account: a resource policy naming the user or the session itself is enough by itself.
    let specific = statements(&resource_allows, &|g| g == Grant::Specific);
    if !specific.is_empty() {
        return Decision { outcome: Outcome::Allow, deciding: specific, denied_by: None };
    }
    // A grant through the account only delegates to the account's identity policies.
    let mut deciding = statements(&identity_allows, &|_| true);
    deciding.extend(statements(&resource_allows, &|g| g != Grant::Account));
    if deciding.is_empty() && !root_in_own_account {
        return implicit(DenyStep::NoIdentityAllow);
    }
    if root_in_own_account {
        return Decision { outcome: Outcome::Allow, deciding, denied_by: None };
    }
    caps_hold(deciding)
}
