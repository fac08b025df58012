//! One decision, with AWS's whole flow: explicit deny first; guardrails; trust and resource-based
//! policies with the same-account and cross-account rules; identity policies; permissions
//! boundaries; session policies. The decision names the statements that decided it and, for an
//! implicit deny, the step that denied. The same call serves authorization and the simulator.

use std::sync::Arc;

use crate::compile::{
    ActionMatcher, CompiledCondition, CompiledPolicy, CompiledStatement, PolicySource, PrincipalMatcher, Values,
    service_bit,
};
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

/// Whether a `NotPrincipal` list spares the caller from its statement. AWS spares a caller only
/// when its whole chain is listed: a user with its account, a role session with its role and its
/// account, a root user by its account; and never a caller with a permissions boundary.
fn not_principal_spares(p: &RequestPrincipal, m: &PrincipalMatcher, has_boundary: bool) -> bool {
    let PrincipalMatcher::Named { aws, services, federated, canonical } = m else {
        // `NotPrincipal: "*"` spares everyone.
        return true;
    };
    if has_boundary {
        return false;
    }
    let listed = |arn: &str| aws.iter().any(|id| id == arn);
    let account_listed = p.account.as_deref().is_some_and(|account| {
        aws.iter().any(|id| {
            id == account || id.strip_prefix("arn:aws:iam::").and_then(|r| r.strip_suffix(":root")) == Some(account)
        })
    });
    match p.kind {
        PrincipalType::Service => services.iter().any(|s| s == &p.arn),
        PrincipalType::FederatedUser => federated.iter().any(|f| f == &p.arn) && account_listed,
        PrincipalType::Anonymous => canonical.iter().any(|c| c == &p.arn) || aws.iter().any(|id| id == "*"),
        PrincipalType::Root => account_listed,
        _ => {
            let role_listed = p.role_arn.as_deref().is_none_or(listed);
            (listed(&p.arn) || canonical.iter().any(|c| c == &p.arn)) && role_listed && account_listed
        }
    }
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
            let lowercase_vars = matches!(c.kind, StringEqualsIgnoreCase | StringNotEqualsIgnoreCase | Bool);
            let text = if lowercase_vars { parsed.lower(value) } else { value };
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
                && arns.iter().flatten().any(|pattern| match pattern.as_slice() {
                    [whole] => whole.matches(value, vars, false),
                    each => each.iter().zip(&parts).all(|(p, part)| p.matches(part, vars, false)),
                })
        }
        Values::Binary(values) => values.iter().any(|v| v == value),
        Values::Null(_) => false,
    }
}

fn condition_holds(c: &CompiledCondition, vars: &crate::request::Context) -> bool {
    let present = vars.find(&c.key).map(|e| (e.values.as_slice(), e.parsed.as_slice()));
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

/// A statement that matched, borrowed from the policy set until the decision is written.
#[derive(Clone, Copy)]
struct Hit<'p> {
    policy: &'p CompiledPolicy,
    statement: &'p CompiledStatement,
    source: PolicySource,
    grant: Grant,
}

impl Hit<'_> {
    fn matched(&self) -> MatchedStatement {
        MatchedStatement {
            source: self.source,
            policy: self.policy.name.clone(),
            statement: self.statement.index,
            sid: self.statement.sid.clone(),
            effect: self.statement.effect,
        }
    }
}

/// The hits of one kind: on the stack while there are few (the usual case), on the heap past that,
/// so that most decisions allocate nothing until the decision itself is written.
struct Hits<'p> {
    inline: [Option<Hit<'p>>; 8],
    len: usize,
    spill: Vec<Hit<'p>>,
}

impl<'p> Hits<'p> {
    fn new() -> Hits<'p> {
        Hits { inline: [None; 8], len: 0, spill: Vec::new() }
    }

    fn push(&mut self, hit: Hit<'p>) {
        match self.inline.get_mut(self.len) {
            Some(slot) => *slot = Some(hit),
            None => self.spill.push(hit),
        }
        self.len += 1;
    }

    fn is_empty(&self) -> bool {
        self.len == 0
    }

    fn iter(&self) -> impl Iterator<Item = &Hit<'p>> {
        self.inline.iter().flatten().chain(&self.spill)
    }

    fn statements(&self, keep: impl Fn(Grant) -> bool) -> impl Iterator<Item = MatchedStatement> {
        self.iter().filter(move |h| keep(h.grant)).map(Hit::matched)
    }
}

/// What every policy of one request is matched against.
struct Scan<'r> {
    request: &'r Request<'r>,
    /// The action, lower-cased.
    action: &'r str,
    /// The action's service bit (see `compile::service_bit`).
    service: u64,
    /// Whether the caller has a permissions boundary (`NotPrincipal` never spares it then).
    has_boundary: bool,
}

impl Scan<'_> {
    /// Matches every statement of `policy`: denies go to `denies`, allows to `on_allow` with how
    /// the statement named the caller (resource and trust policies).
    fn policy<'p>(
        &self,
        policy: &'p CompiledPolicy,
        source: PolicySource,
        denies: &mut Hits<'p>,
        mut on_allow: impl FnMut(Hit<'p>),
    ) {
        if policy.service_mask & self.service == 0 {
            return;
        }
        let request = self.request;
        let vars: &dyn Variables = request.context;
        let uses_principal = matches!(source, PolicySource::Resource | PolicySource::Trust);
        for st in &policy.statements {
            if st.service_mask & self.service == 0 || !items_match(&st.actions, self.action, vars) {
                continue;
            }
            if let Some(resources) = &st.resources
                && !items_match(resources, request.resource, vars)
            {
                continue;
            }
            let grant = match (st.principal.as_deref(), uses_principal) {
                (Some((false, m)), true) => match principal_grant(request.principal, m) {
                    Some(g) => g,
                    None => continue,
                },
                (Some((true, m)), true) => {
                    // An Allow with NotPrincipal (refused by validation; a document stored before
                    // may still hold one) grants nothing rather than everyone not listed.
                    if st.effect == Effect::Allow || not_principal_spares(request.principal, m, self.has_boundary) {
                        continue;
                    }
                    Grant::Anyone
                }
                (None, true) => continue,
                (_, false) => Grant::Specific,
            };
            if !st.conditions.iter().all(|c| condition_holds(c, request.context)) {
                continue;
            }
            let hit = Hit { policy, statement: st, source, grant };
            match st.effect {
                Effect::Deny => denies.push(hit),
                Effect::Allow => on_allow(hit),
            }
        }
    }

    /// Whether any of `policies` allows; their denies go to `denies`.
    fn any_allows<'p>(&self, policies: &'p [Arc<CompiledPolicy>], source: PolicySource, denies: &mut Hits<'p>) -> bool {
        let mut allowed = false;
        for p in policies {
            self.policy(p, source, denies, |_| allowed = true);
        }
        allowed
    }
}

/// `text` lower-cased into `buffer` when it is ASCII and fits (actions nearly always are).
fn lower_ascii<'b>(text: &str, buffer: &'b mut [u8; 128]) -> Option<&'b str> {
    if !text.is_ascii() {
        return None;
    }
    let out = buffer.get_mut(..text.len())?;
    for (o, b) in out.iter_mut().zip(text.bytes()) {
        *o = b.to_ascii_lowercase();
    }
    std::str::from_utf8(out).ok()
}

fn implicit(step: DenyStep) -> Decision {
    Decision { outcome: Outcome::ImplicitDeny, deciding: Vec::new(), denied_by: Some(step) }
}

fn allow(deciding: Vec<MatchedStatement>) -> Decision {
    Decision { outcome: Outcome::Allow, deciding, denied_by: None }
}

/// Decides `request` against `set`.
pub fn evaluate(request: &Request<'_>, set: &PolicySet) -> Decision {
    let mut buffer = [0u8; 128];
    let owned;
    let action = match lower_ascii(request.action, &mut buffer) {
        Some(lowered) => lowered,
        None => {
            owned = request.action.to_lowercase();
            owned.as_str()
        }
    };
    let service = service_bit(action.split_once(':').map_or(action, |(s, _)| s));
    let scan = Scan { request, action, service, has_boundary: set.boundary.is_some() };

    let mut denies = Hits::new();
    let mut identity_allows = Hits::new();
    for p in &set.identity {
        scan.policy(p, PolicySource::Identity, &mut denies, |hit| identity_allows.push(hit));
    }
    let boundary_allows = set
        .boundary
        .as_ref()
        .map(|b| scan.any_allows(std::slice::from_ref(b), PolicySource::PermissionsBoundary, &mut denies));
    let session_allows =
        (!set.session.is_empty()).then(|| scan.any_allows(&set.session, PolicySource::Session, &mut denies));
    let mut guardrails_allow = true;
    for level in &set.guardrails {
        guardrails_allow &= scan.any_allows(level, PolicySource::Guardrail, &mut denies);
    }
    let mut resource_allows = Hits::new();
    let trust_required = set.trust.is_some();
    match (&set.trust, &set.resource) {
        (Some(trust), _) => scan.policy(trust, PolicySource::Trust, &mut denies, |hit| resource_allows.push(hit)),
        (None, Some(resource)) => {
            scan.policy(resource, PolicySource::Resource, &mut denies, |hit| resource_allows.push(hit));
        }
        (None, None) => {}
    }

    if !denies.is_empty() {
        return Decision {
            outcome: Outcome::ExplicitDeny,
            deciding: denies.statements(|_| true).collect(),
            denied_by: None,
        };
    }
    if !guardrails_allow {
        return implicit(DenyStep::Guardrail);
    }
    if trust_required && resource_allows.is_empty() {
        return implicit(DenyStep::TrustPolicy);
    }
    // AWS never lets root credentials assume a role, whatever the trust policy says.
    if trust_required && request.principal.kind == PrincipalType::Root {
        return implicit(DenyStep::NoIdentityAllow);
    }

    let principal = request.principal;
    let same_account = match (request.resource_account, principal.account.as_deref()) {
        (Some(resource), Some(own)) => resource == own,
        // Services and anonymous callers belong to no account: the resource's policy alone
        // decides for them, as within an account.
        (Some(_), None) | (None, _) => true,
    };
    let root_in_own_account = principal.kind == PrincipalType::Root && same_account;
    // A root user has every permission of its own account: across accounts its side always
    // allows, and the other account's resource policy decides. (Assuming a role was refused above.)
    let root_anywhere = principal.kind == PrincipalType::Root;
    let identity_grants = root_anywhere || !identity_allows.is_empty();
    let caps_hold = |deciding: Vec<MatchedStatement>| {
        if boundary_allows == Some(false) {
            return implicit(DenyStep::PermissionsBoundary);
        }
        if session_allows == Some(false) {
            return implicit(DenyStep::SessionPolicy);
        }
        allow(deciding)
    };

    if !same_account {
        // Across accounts both sides must allow: the resource's policy and the caller's own.
        if resource_allows.is_empty() {
            return implicit(DenyStep::NoResourceAllow);
        }
        if !identity_grants {
            return implicit(DenyStep::NoIdentityAllow);
        }
        let deciding = identity_allows.statements(|_| true).chain(resource_allows.statements(|_| true)).collect();
        return caps_hold(deciding);
    }

    // Same account: a resource policy naming the user or the session itself is enough by itself.
    if resource_allows.iter().any(|h| h.grant == Grant::Specific) {
        return allow(resource_allows.statements(|g| g == Grant::Specific).collect());
    }
    // A grant through the account only delegates to the account's identity policies.
    let deciding: Vec<MatchedStatement> =
        identity_allows.statements(|_| true).chain(resource_allows.statements(|g| g != Grant::Account)).collect();
    if root_in_own_account {
        return allow(deciding);
    }
    if deciding.is_empty() {
        return implicit(DenyStep::NoIdentityAllow);
    }
    caps_hold(deciding)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::request::Context;

    fn decide(action_pattern: &str, action: &str) -> Outcome {
        let text = format!(r#"{{"Statement":{{"Effect":"Allow","Action":"{action_pattern}","Resource":"*"}}}}"#);
        let policy = crate::compile(&crate::parse_policy(&text).unwrap(), "p");
        let set = PolicySet { identity: vec![Arc::new(policy)], ..PolicySet::default() };
        let principal = RequestPrincipal::from_arn("arn:aws:iam::111122223333:user/alice").unwrap();
        let context = Context::new();
        let request =
            Request { principal: &principal, action, resource: "r", resource_account: None, context: &context };
        evaluate(&request, &set).outcome
    }

    #[test]
    fn a_stored_allow_with_not_principal_grants_nothing() {
        // Validation refuses it now; a document stored before must not grant everyone not listed.
        let text = r#"{"Statement":{"Effect":"Allow","NotPrincipal":{"AWS":"arn:aws:iam::777788889999:root"},
            "Action":"s3:GetObject","Resource":"*"}}"#;
        let resource = crate::compile(&crate::parse_policy(text).unwrap(), "bucket");
        let set = PolicySet { resource: Some(Arc::new(resource)), ..PolicySet::default() };
        let principal = RequestPrincipal::from_arn("arn:aws:iam::444455556666:user/alice").unwrap();
        let context = Context::new();
        let request = Request {
            principal: &principal,
            action: "s3:GetObject",
            resource: "arn:aws:s3:::b/k",
            resource_account: Some("111122223333"),
            context: &context,
        };
        assert_eq!(evaluate(&request, &set).outcome, Outcome::ImplicitDeny);
    }

    #[test]
    fn actions_fold_case_the_same_way_on_both_sides() {
        // Validation refuses such vendors, but evaluation must still agree with itself (and with
        // the reference evaluator) on any text it is given.
        assert_eq!(decide("Ünïcode:GetÖbject", "üNÏCODE:getöBJECT"), Outcome::Allow);
        assert_eq!(decide("ünïcode:*", "ÜNÏCODE:Get"), Outcome::Allow);
        let long = format!("s3:{}", "A".repeat(300));
        assert_eq!(decide("s3:a*", &long), Outcome::Allow, "longer than the stack buffer");
        assert_eq!(decide("s3:Get*", "S3:GETOBJECT"), Outcome::Allow);
        assert_eq!(decide("s3:Get*", "s3:PutObject"), Outcome::ImplicitDeny);
    }
}
