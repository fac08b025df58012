//! A plainly written evaluator with the same semantics as the compiled one: it walks the parsed
//! documents directly, expands variables into text and matches wildcards by recursion. Slow and
//! obvious on purpose, so that the differential test can trust it.

use iam_policy::document::{
    Condition, Items, OperatorKind, PolicyDocument, PrincipalKind, Principals, SetQualifier, Version,
};
use iam_policy::values::{Cidr, parse_bool, parse_date, parse_number};
use iam_policy::{Context, DenyStep, Effect, Outcome, PrincipalType, RequestPrincipal};

pub struct RefPolicy {
    pub name: String,
    pub doc: PolicyDocument,
}

#[derive(Default)]
pub struct RefSet {
    pub identity: Vec<RefPolicy>,
    pub resource: Option<RefPolicy>,
    pub trust: Option<RefPolicy>,
    pub boundary: Option<RefPolicy>,
    pub session: Vec<RefPolicy>,
    pub guardrails: Vec<Vec<RefPolicy>>,
}

pub struct RefRequest<'a> {
    pub principal: &'a RequestPrincipal,
    pub action: &'a str,
    pub resource: &'a str,
    pub resource_account: Option<&'a str>,
    pub context: &'a Context,
}

#[derive(Clone, Copy, PartialEq)]
enum C {
    Lit(char),
    Star,
    One,
}

fn glob(p: &[C], t: &[char]) -> bool {
    match p.split_first() {
        None => t.is_empty(),
        Some((C::Star, rest)) => glob(rest, t) || (!t.is_empty() && glob(p, &t[1..])),
        Some((C::One, rest)) => !t.is_empty() && glob(rest, &t[1..]),
        Some((C::Lit(c), rest)) => t.first() == Some(c) && glob(rest, &t[1..]),
    }
}

fn variable_value(body: &str, ctx: &Context) -> Option<Option<String>> {
    // Some(None): a variable with no value; None: not a variable at all.
    let (key, default) = match body.split_once(',') {
        Some((k, d)) => {
            let d = d.trim();
            if !(d.len() >= 2 && d.starts_with('\'') && d.ends_with('\'')) {
                return None;
            }
            (k.trim(), Some(d[1..d.len() - 1].to_owned()))
        }
        None => (body.trim(), None),
    };
    if key.is_empty() || !key.chars().all(|c| c.is_ascii_alphanumeric() || "_:/-.@+=,".contains(c)) {
        return None;
    }
    let value = match ctx.get(&key.to_lowercase()) {
        Some([one]) => Some(one.clone()),
        _ => default,
    };
    Some(value)
}

/// The pattern's characters with variables expanded; `None` if a variable has no value.
fn expand(pattern: &str, wildcards: bool, variables: bool, ctx: &Context) -> Option<Vec<C>> {
    let chars: Vec<char> = pattern.chars().collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        if variables
            && chars[i] == '$'
            && chars.get(i + 1) == Some(&'{')
            && let Some(close) = chars[i..].iter().position(|&c| c == '}').map(|p| p + i)
        {
            let body: String = chars[i + 2..close].iter().collect();
            let escaped = match body.as_str() {
                "*" => Some('*'),
                "?" => Some('?'),
                "$" => Some('$'),
                _ => None,
            };
            if let Some(c) = escaped {
                out.push(C::Lit(c));
                i = close + 1;
                continue;
            }
            if let Some(value) = variable_value(&body, ctx) {
                out.extend(value?.chars().map(C::Lit));
                i = close + 1;
                continue;
            }
        }
        out.push(match chars[i] {
            '*' if wildcards => C::Star,
            '?' if wildcards => C::One,
            c => C::Lit(c),
        });
        i += 1;
    }
    Some(out)
}

fn like(pattern: &str, text: &str, variables: bool, ctx: &Context) -> bool {
    expand(pattern, true, variables, ctx).is_some_and(|p| glob(&p, &text.chars().collect::<Vec<_>>()))
}

fn items_match(items: &Items, text: &str, lower: bool, variables: bool, ctx: &Context) -> bool {
    let any = items.values.iter().any(|v| {
        if lower { like(&v.to_lowercase(), &text.to_lowercase(), false, ctx) } else { like(v, text, variables, ctx) }
    });
    any != items.negated
}

fn one_value(c: &Condition, policy_value: &str, request_value: &str, variables: bool, ctx: &Context) -> bool {
    use OperatorKind::*;
    let k = c.operator.kind;
    match k {
        StringEquals | StringNotEquals => expand(policy_value, false, variables, ctx).is_some_and(|p| {
            p.iter().map(|x| if let C::Lit(c) = x { *c } else { '\0' }).collect::<String>() == request_value
        }),
        StringEqualsIgnoreCase | StringNotEqualsIgnoreCase => {
            expand(policy_value, false, variables, ctx).is_some_and(|p| {
                p.iter().map(|x| if let C::Lit(c) = x { *c } else { '\0' }).collect::<String>().to_lowercase()
                    == request_value.to_lowercase()
            })
        }
        StringLike | StringNotLike => like(policy_value, request_value, variables, ctx),
        NumericEquals
        | NumericNotEquals
        | NumericLessThan
        | NumericLessThanEquals
        | NumericGreaterThan
        | NumericGreaterThanEquals => match (parse_number(policy_value), parse_number(request_value)) {
            (Some(p), Some(r)) => match k {
                NumericEquals | NumericNotEquals => r == p,
                NumericLessThan => r < p,
                NumericLessThanEquals => r <= p,
                NumericGreaterThan => r > p,
                _ => r >= p,
            },
            _ => false,
        },
        DateEquals | DateNotEquals | DateLessThan | DateLessThanEquals | DateGreaterThan | DateGreaterThanEquals => {
            match (parse_date(policy_value), parse_date(request_value)) {
                (Some(p), Some(r)) => match k {
                    DateEquals | DateNotEquals => r == p,
                    DateLessThan => r < p,
                    DateLessThanEquals => r <= p,
                    DateGreaterThan => r > p,
                    _ => r >= p,
                },
                _ => false,
            }
        }
        Bool => expand(policy_value, false, variables, ctx).is_some_and(|p| {
            p.iter().map(|x| if let C::Lit(c) = x { *c } else { '\0' }).collect::<String>().to_lowercase()
                == request_value.to_lowercase()
        }),
        BinaryEquals => policy_value == request_value,
        IpAddress | NotIpAddress => match (Cidr::parse(policy_value), request_value.parse()) {
            (Some(net), Ok(ip)) => net.contains(ip),
            _ => false,
        },
        ArnEquals | ArnLike | ArnNotEquals | ArnNotLike => {
            let (p, has_variable) = arn_parts_outside_variables(policy_value, variables);
            let r: Vec<&str> = request_value.splitn(6, ':').collect();
            r.len() == 6
                && if p.len() == 6 {
                    p.iter().zip(&r).all(|(pp, rr)| like(pp, rr, variables, ctx))
                } else {
                    has_variable && like(policy_value, request_value, variables, ctx)
                }
        }
        Null => false,
    }
}

/// An ARN pattern cut at its colons, but not at those inside `${...}`, into at most six parts;
/// and whether it holds a `${...}`.
fn arn_parts_outside_variables(value: &str, variables: bool) -> (Vec<String>, bool) {
    let mut parts = vec![String::new()];
    let (mut inside, mut saw) = (false, false);
    let chars: Vec<char> = value.chars().collect();
    for (i, &c) in chars.iter().enumerate() {
        if variables && c == '$' && chars.get(i + 1) == Some(&'{') {
            inside = true;
        } else if c == '}' && inside {
            inside = false;
            saw = true;
        }
        if c == ':' && !inside && parts.len() < 6 {
            parts.push(String::new());
        } else {
            parts.last_mut().unwrap().push(c);
        }
    }
    (parts, saw)
}

fn condition(c: &Condition, variables: bool, ctx: &Context) -> bool {
    let present = ctx.get(&c.key.to_lowercase());
    let policy_values: Vec<String> = c.values.iter().map(|v| v.as_text().into_owned()).collect();
    if c.operator.kind == OperatorKind::Null {
        let absent = present.is_none_or(|v| v.is_empty());
        return policy_values.iter().any(|v| parse_bool(v) == Some(absent));
    }
    let negated = c.operator.kind.is_negated();
    let Some(values) = present else {
        return match c.operator.qualifier {
            Some(SetQualifier::ForAllValues) => true,
            Some(SetQualifier::ForAnyValue) => false,
            None => c.operator.if_exists || negated,
        };
    };
    let matches_some = |rv: &String| policy_values.iter().any(|pv| one_value(c, pv, rv, variables, ctx));
    let ok = |rv: &String| if negated { !matches_some(rv) } else { matches_some(rv) };
    match c.operator.qualifier {
        Some(SetQualifier::ForAllValues) => values.iter().all(ok),
        Some(SetQualifier::ForAnyValue) => values.iter().any(ok),
        None if negated => values.iter().all(ok),
        None => values.iter().any(ok),
    }
}

/// 3 = the caller's own ARN, 2 = its role, 1 = anyone, 0 = its account; None = not named.
fn grant(p: &RequestPrincipal, principals: &Principals) -> Option<u8> {
    let Principals::Named(list) = principals else { return Some(1) };
    let mut best: Option<u8> = None;
    for (kind, ids) in list {
        for id in ids {
            let g = match kind {
                PrincipalKind::Aws if id == "*" => (p.kind != PrincipalType::Anonymous).then_some(1),
                PrincipalKind::Aws if *id == p.arn => Some(3),
                PrincipalKind::Aws if p.role_arn.as_deref() == Some(id) => Some(2),
                PrincipalKind::Aws => {
                    let acct = id.strip_prefix("arn:aws:iam::").and_then(|r| r.strip_suffix(":root")).unwrap_or(id);
                    (p.account.as_deref() == Some(acct)).then_some(0)
                }
                PrincipalKind::Service => (p.kind == PrincipalType::Service && *id == p.arn).then_some(3),
                PrincipalKind::Federated => (p.kind == PrincipalType::FederatedUser && *id == p.arn).then_some(3),
                PrincipalKind::CanonicalUser => (*id == p.arn).then_some(3),
            };
            best = best.max(g);
        }
    }
    best
}

type Hit = (String, usize, u8);

/// Whether `NotPrincipal` spares the caller: every link of its chain (itself, its role, its account)
/// is listed, and it has no permissions boundary.
fn spared(p: &RequestPrincipal, principals: &Principals, has_boundary: bool) -> bool {
    let Principals::Named(list) = principals else { return true };
    if has_boundary {
        return false;
    }
    let ids = |kind: PrincipalKind| -> Vec<&String> {
        list.iter().filter(|(k, _)| *k == kind).flat_map(|(_, ids)| ids.iter()).collect()
    };
    let aws = ids(PrincipalKind::Aws);
    let account_listed = match &p.account {
        Some(account) => aws.iter().any(|id| *id == account || **id == format!("arn:aws:iam::{account}:root")),
        None => false,
    };
    match p.kind {
        PrincipalType::Service => ids(PrincipalKind::Service).contains(&&p.arn),
        PrincipalType::FederatedUser => ids(PrincipalKind::Federated).contains(&&p.arn) && account_listed,
        PrincipalType::Anonymous => {
            ids(PrincipalKind::CanonicalUser).contains(&&p.arn) || aws.iter().any(|id| id.as_str() == "*")
        }
        PrincipalType::Root => account_listed,
        _ => {
            let me = aws.contains(&&p.arn) || ids(PrincipalKind::CanonicalUser).contains(&&p.arn);
            let role = match &p.role_arn {
                Some(r) => aws.contains(&r),
                None => true,
            };
            me && role && account_listed
        }
    }
}

fn matching(
    policy: &RefPolicy,
    uses_principal: bool,
    req: &RefRequest<'_>,
    effect: Effect,
    has_boundary: bool,
) -> Vec<Hit> {
    let variables = policy.doc.version == Some(Version::V2012_10_17);
    let mut hits = Vec::new();
    for (i, st) in policy.doc.statements.iter().enumerate() {
        if st.effect != effect {
            continue;
        }
        let Some(actions) = &st.action else { continue };
        if !items_match(actions, req.action, true, false, req.context) {
            continue;
        }
        if let Some(r) = &st.resource
            && !items_match(r, req.resource, false, variables, req.context)
        {
            continue;
        }
        let g = if uses_principal {
            match &st.principal {
                None => continue,
                Some(pb) if pb.negated => {
                    if effect == Effect::Allow || spared(req.principal, &pb.principals, has_boundary) {
                        continue;
                    }
                    1
                }
                Some(pb) => match grant(req.principal, &pb.principals) {
                    Some(g) => g,
                    None => continue,
                },
            }
        } else {
            3
        };
        if st.conditions.iter().all(|c| condition(c, variables, req.context)) {
            hits.push((policy.name.clone(), i, g));
        }
    }
    hits
}

/// The decision: outcome, the step for an implicit deny, the deciding (policy, statement) pairs.
pub fn decide(req: &RefRequest<'_>, set: &RefSet) -> (Outcome, Option<DenyStep>, Vec<(String, usize)>) {
    let all = |ps: &[&RefPolicy], up: bool, e: Effect| -> Vec<Hit> {
        ps.iter().flat_map(|p| matching(p, up, req, e, set.boundary.is_some())).collect()
    };
    let identity: Vec<&RefPolicy> = set.identity.iter().collect();
    let session: Vec<&RefPolicy> = set.session.iter().collect();
    let boundary: Vec<&RefPolicy> = set.boundary.iter().collect();
    let rp: Vec<&RefPolicy> =
        set.trust.iter().chain(if set.trust.is_some() { None } else { set.resource.as_ref() }).collect();
    let mut denies = Vec::new();
    denies.extend(all(&identity, false, Effect::Deny));
    denies.extend(all(&boundary, false, Effect::Deny));
    denies.extend(all(&session, false, Effect::Deny));
    for level in &set.guardrails {
        denies.extend(all(&level.iter().collect::<Vec<_>>(), false, Effect::Deny));
    }
    denies.extend(all(&rp, true, Effect::Deny));
    if !denies.is_empty() {
        let mut d: Vec<(String, usize)> = denies.into_iter().map(|(n, i, _)| (n, i)).collect();
        d.sort();
        return (Outcome::ExplicitDeny, None, d);
    }
    let deny = |s| (Outcome::ImplicitDeny, Some(s), Vec::new());
    for level in &set.guardrails {
        if all(&level.iter().collect::<Vec<_>>(), false, Effect::Allow).is_empty() {
            return deny(DenyStep::Guardrail);
        }
    }
    let resource_allows = all(&rp, true, Effect::Allow);
    if set.trust.is_some() && resource_allows.is_empty() {
        return deny(DenyStep::TrustPolicy);
    }
    // Root credentials never assume a role.
    if set.trust.is_some() && req.principal.kind == PrincipalType::Root {
        return deny(DenyStep::NoIdentityAllow);
    }
    let identity_allows = all(&identity, false, Effect::Allow);
    let same = match (req.resource_account, req.principal.account.as_deref()) {
        (Some(r), Some(o)) => r == o,
        _ => true,
    };
    let root = req.principal.kind == PrincipalType::Root && same;
    let boundary_blocks = set.boundary.is_some() && all(&boundary, false, Effect::Allow).is_empty();
    let session_blocks = !set.session.is_empty() && all(&session, false, Effect::Allow).is_empty();
    let pairs = |hits: &[Hit], keep: &dyn Fn(u8) -> bool| -> Vec<(String, usize)> {
        hits.iter().filter(|h| keep(h.2)).map(|(n, i, _)| (n.clone(), *i)).collect()
    };
    let capped = |mut deciding: Vec<(String, usize)>| {
        if boundary_blocks {
            return deny(DenyStep::PermissionsBoundary);
        }
        if session_blocks {
            return deny(DenyStep::SessionPolicy);
        }
        deciding.sort();
        (Outcome::Allow, None, deciding)
    };
    if !same {
        if resource_allows.is_empty() {
            return deny(DenyStep::NoResourceAllow);
        }
        // A root user has every permission of its own account, so its side always allows.
        if identity_allows.is_empty() && req.principal.kind != PrincipalType::Root {
            return deny(DenyStep::NoIdentityAllow);
        }
        let mut d = pairs(&identity_allows, &|_| true);
        d.extend(pairs(&resource_allows, &|_| true));
        return capped(d);
    }
    let own = pairs(&resource_allows, &|g| g == 3);
    if !own.is_empty() {
        let mut own = own;
        own.sort();
        return (Outcome::Allow, None, own);
    }
    let mut d = pairs(&identity_allows, &|_| true);
    d.extend(pairs(&resource_allows, &|g| g != 0));
    if root {
        d.sort();
        return (Outcome::Allow, None, d);
    }
    if d.is_empty() {
        return deny(DenyStep::NoIdentityAllow);
    }
    capped(d)
}
