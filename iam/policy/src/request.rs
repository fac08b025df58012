//! What is asked: who, which action, on what, and the request's context keys.

use std::net::IpAddr;
use std::sync::{Arc, OnceLock};

use crate::pattern::Variables;

/// The kinds of principal a request can come from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub enum PrincipalType {
    /// An account's root user (`arn:aws:iam::ACCOUNT:root`).
    Root,
    User,
    /// A role session (`arn:aws:sts::ACCOUNT:assumed-role/ROLE/SESSION`).
    AssumedRole,
    FederatedUser,
    /// An AWS service (`ec2.amazonaws.com`).
    Service,
    Anonymous,
}

/// The principal of a request.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct RequestPrincipal {
    pub kind: PrincipalType,
    /// The principal's ARN; for a service, its name (`ec2.amazonaws.com`).
    pub arn: String,
    /// The 12-digit account the principal belongs to (none for services and anonymous callers).
    pub account: Option<String>,
    /// For a role session, the role's ARN (`arn:aws:iam::ACCOUNT:role/PATH/NAME`).
    pub role_arn: Option<String>,
}

impl RequestPrincipal {
    /// Reads a principal from its ARN: root, user, role session, federated user, or a service name.
    pub fn from_arn(arn: &str) -> Option<RequestPrincipal> {
        if !arn.starts_with("arn:") {
            let service = arn.ends_with(".amazonaws.com") || arn.ends_with(".amazonaws.com.cn");
            return service.then(|| RequestPrincipal {
                kind: PrincipalType::Service,
                arn: arn.to_owned(),
                account: None,
                role_arn: None,
            });
        }
        let parsed = crate::Arn::parse(arn).ok()?;
        let account = Some(parsed.account.clone()).filter(|a| !a.is_empty());
        let (kind, role_arn) = match (parsed.service.as_str(), parsed.resource.as_str()) {
            ("iam", "root") => (PrincipalType::Root, None),
            ("iam", r) if r.starts_with("user/") => (PrincipalType::User, None),
            ("sts", r) if r.starts_with("assumed-role/") => {
                let mut parts = r.split('/');
                let role = parts.nth(1)?;
                parts.next()?;
                (
                    PrincipalType::AssumedRole,
                    Some(format!("arn:{}:iam::{}:role/{role}", parsed.partition, parsed.account)),
                )
            }
            ("sts", r) if r.starts_with("federated-user/") => (PrincipalType::FederatedUser, None),
            _ => return None,
        };
        Some(RequestPrincipal { kind, arn: arn.to_owned(), account, role_arn })
    }
}

/// FNV-1a: a few nanoseconds for a short key, and the same on every run. Context keys come from
/// the server's own request description (with at most 50 caller-chosen tag keys), so a keyed hash
/// buys nothing here.
pub(crate) fn fnv(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325_u64, |h, b| (h ^ u64::from(*b)).wrapping_mul(0x100_0000_01b3))
}

/// A context key's name, lower-cased (key names ignore case), with its hash computed once: policy
/// keys are hashed when the policy is compiled, so a lookup costs a comparison or two. Cloning is
/// cheap (the name is shared), so callers can build their keys once and insert them often.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyName {
    hash: u64,
    name: Arc<str>,
}

impl KeyName {
    pub fn new(name: &str) -> KeyName {
        let name = name.to_lowercase();
        KeyName { hash: fnv(name.as_bytes()), name: name.into() }
    }

    /// The lower-cased name.
    pub fn as_str(&self) -> &str {
        &self.name
    }
}

/// A request value's typed readings, each computed on first use: a request is decided against
/// many statements, but each value is parsed as a number, a date or an address, or lower-cased,
/// at most once.
#[derive(Debug, Default)]
pub(crate) struct Parsed {
    number: OnceLock<Option<f64>>,
    date: OnceLock<Option<i64>>,
    ip: OnceLock<Option<IpAddr>>,
    /// `None` when the value is already lower-case (no copy needed).
    lower: OnceLock<Option<Box<str>>>,
}

impl Parsed {
    pub(crate) fn number(&self, text: &str) -> Option<f64> {
        *self.number.get_or_init(|| crate::values::parse_number(text))
    }

    pub(crate) fn date(&self, text: &str) -> Option<i64> {
        *self.date.get_or_init(|| crate::values::parse_date(text))
    }

    pub(crate) fn ip(&self, text: &str) -> Option<IpAddr> {
        *self.ip.get_or_init(|| text.parse().ok())
    }

    /// `text` lower-cased (Unicode rules, as policy values are).
    pub(crate) fn lower<'a>(&'a self, text: &'a str) -> &'a str {
        let lowered = self.lower.get_or_init(|| {
            let already = if text.is_ascii() {
                !text.bytes().any(|b| b.is_ascii_uppercase())
            } else {
                text.to_lowercase() == text
            };
            (!already).then(|| text.to_lowercase().into())
        });
        lowered.as_deref().unwrap_or(text)
    }
}

#[derive(Debug, Default)]
pub(crate) struct Entry {
    pub(crate) values: Vec<String>,
    pub(crate) parsed: Vec<Parsed>,
}

impl Clone for Entry {
    fn clone(&self) -> Entry {
        Entry { values: self.values.clone(), parsed: self.values.iter().map(|_| Parsed::default()).collect() }
    }
}

impl PartialEq for Entry {
    fn eq(&self, other: &Entry) -> bool {
        self.values == other.values
    }
}

impl Eq for Entry {}

/// The request's context keys and their values. Keys are case-insensitive (stored lower-cased);
/// values are kept as given. A key may have several values (`aws:TagKeys`).
///
/// A request has a few dozen keys at most, so they sit in one vector ordered by hash: a lookup is
/// a binary search over integers, cheaper than hashing the key again as a map would.
///
/// A context can sit over a shared `base` (a principal's own keys, built once and kept with its
/// policies): a key missing here is looked up there, and a key set here hides the base's.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Context {
    entries: Vec<(KeyName, Entry)>,
    base: Option<Arc<Context>>,
}

impl Context {
    pub fn new() -> Context {
        Context::default()
    }

    /// An empty context whose missing keys are read from `base`. Room for a request's own few
    /// keys is made at once, so adding them does not grow the vector step by step.
    pub fn over(base: Arc<Context>) -> Context {
        Context { entries: Vec::with_capacity(8), base: Some(base) }
    }

    fn position(&self, key: &KeyName) -> Result<usize, usize> {
        self.entries.binary_search_by(|(k, _)| k.hash.cmp(&key.hash).then_with(|| k.name.cmp(&key.name)))
    }

    /// The entry of `key`, created empty if missing (always `Some`: the index was just found or
    /// made).
    fn entry_mut(&mut self, key: &str) -> Option<&mut Entry> {
        let key = KeyName::new(key);
        let at = self.position(&key).unwrap_or_else(|at| {
            self.entries.insert(at, (key, Entry::default()));
            at
        });
        self.entries.get_mut(at).map(|(_, e)| e)
    }

    /// Adds a value to a key named ahead of time (no lower-casing or hashing here).
    pub fn insert_key(&mut self, key: &KeyName, value: impl Into<String>) -> &mut Context {
        let at = self.position(key).unwrap_or_else(|at| {
            self.entries.insert(at, (key.clone(), Entry::default()));
            at
        });
        if let Some((_, entry)) = self.entries.get_mut(at) {
            entry.values.push(value.into());
            entry.parsed.push(Parsed::default());
        }
        self
    }

    /// Adds a value to `key`.
    pub fn insert(&mut self, key: &str, value: impl Into<String>) -> &mut Context {
        if let Some(entry) = self.entry_mut(key) {
            entry.values.push(value.into());
            entry.parsed.push(Parsed::default());
        }
        self
    }

    /// Sets `key` to exactly `values` (an empty list is a present key with no values).
    pub fn set_all(&mut self, key: &str, values: Vec<String>) -> &mut Context {
        if let Some(entry) = self.entry_mut(key) {
            entry.parsed = values.iter().map(|_| Parsed::default()).collect();
            entry.values = values;
        }
        self
    }

    pub(crate) fn find(&self, key: &KeyName) -> Option<&Entry> {
        self.find_here(key).or_else(|| self.base.as_deref().and_then(|b| b.find(key)))
    }

    fn find_here(&self, key: &KeyName) -> Option<&Entry> {
        // Integers first; the name is compared once, on the entry whose hash is equal.
        let start = self.entries.partition_point(|(k, _)| k.hash < key.hash);
        let mut same_hash = self.entries.get(start..)?.iter().take_while(|(k, _)| k.hash == key.hash);
        same_hash.find(|(k, _)| k.name == key.name).map(|(_, e)| e)
    }

    /// The values of a key, by its name in any case.
    pub fn get(&self, key: &str) -> Option<&[String]> {
        self.find(&KeyName::new(key)).map(|e| e.values.as_slice())
    }

    /// The keys (lower-cased) and their values, in no particular order, the base's included.
    pub fn iter(&self) -> Box<dyn Iterator<Item = (&str, &[String])> + '_> {
        let here = self.entries.iter().map(|(k, e)| (k.as_str(), e.values.as_slice()));
        match self.base.as_deref() {
            None => Box::new(here),
            Some(base) => Box::new(here.chain(base.iter().filter(|(k, _)| {
                let key = KeyName::new(k);
                self.find_here(&key).is_none()
            }))),
        }
    }

    pub fn len(&self) -> usize {
        self.iter().count()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty() && self.base.as_deref().is_none_or(Context::is_empty)
    }
}

impl Variables for Context {
    fn single(&self, key: &KeyName) -> Option<&str> {
        match self.find(key).map(|e| e.values.as_slice()) {
            Some([one]) => Some(one),
            _ => None,
        }
    }
}

/// One request to decide.
#[derive(Debug, Clone)]
pub struct Request<'a> {
    pub principal: &'a RequestPrincipal,
    /// `service:Action`, in any case.
    pub action: &'a str,
    /// The resource's ARN, or `*`.
    pub resource: &'a str,
    /// The account owning the resource; `None` means the principal's own account.
    pub resource_account: Option<&'a str>,
    pub context: &'a Context,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn principals_are_read_from_their_arns() {
        let root = RequestPrincipal::from_arn("arn:aws:iam::111122223333:root").unwrap();
        assert_eq!(root.kind, PrincipalType::Root);
        assert_eq!(root.account.as_deref(), Some("111122223333"));
        let session = RequestPrincipal::from_arn("arn:aws:sts::111122223333:assumed-role/Admin/alice").unwrap();
        assert_eq!(session.kind, PrincipalType::AssumedRole);
        assert_eq!(session.role_arn.as_deref(), Some("arn:aws:iam::111122223333:role/Admin"));
        assert_eq!(RequestPrincipal::from_arn("ec2.amazonaws.com").unwrap().kind, PrincipalType::Service);
        assert!(RequestPrincipal::from_arn("arn:aws:s3:::bucket").is_none());
        assert!(RequestPrincipal::from_arn("alice").is_none());
    }

    #[test]
    fn context_keys_ignore_case_and_keep_values() {
        let mut c = Context::new();
        c.insert("aws:SourceIp", "10.0.0.1").insert("AWS:TagKeys", "a").insert("aws:tagkeys", "B");
        assert_eq!(c.get("aws:sourceip"), Some(&["10.0.0.1".to_owned()][..]));
        assert_eq!(c.get("aws:tagkeys").map(<[String]>::len), Some(2));
        assert_eq!(c.single(&KeyName::new("aws:tagkeys")), None, "multi-valued keys are no variable");
        let named = KeyName::new("AWS:SourceIP");
        c.insert_key(&named, "10.0.0.2");
        assert_eq!(c.get("aws:sourceip").map(<[String]>::len), Some(2), "the same key, named ahead");
    }

    #[test]
    fn a_context_reads_through_to_its_base_and_hides_it() {
        let mut base = Context::new();
        base.insert("aws:username", "alice").insert("aws:SourceIp", "10.0.0.1");
        let mut c = Context::over(Arc::new(base));
        c.insert("aws:sourceip", "192.0.2.1");
        assert_eq!(c.get("AWS:USERNAME"), Some(&["alice".to_owned()][..]));
        assert_eq!(c.get("aws:SourceIp"), Some(&["192.0.2.1".to_owned()][..]));
        assert_eq!(c.len(), 2);
        let mut keys: Vec<&str> = c.iter().map(|(k, _)| k).collect();
        keys.sort_unstable();
        assert_eq!(keys, ["aws:sourceip", "aws:username"]);
        assert!(!c.is_empty());
        assert!(Context::over(Arc::new(Context::new())).is_empty());
    }
}
