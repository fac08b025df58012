//! What is asked: who, which action, on what, and the request's context keys.

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};
use std::net::IpAddr;
use std::sync::OnceLock;

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

/// FNV-1a for the context's few short keys: faster than SipHash here, and the keys come from the
/// server's own request description (with at most 50 caller-chosen tag keys).
#[derive(Default)]
pub(crate) struct Fnv(u64);

impl Hasher for Fnv {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        let mut h = if self.0 == 0 { 0xcbf2_9ce4_8422_2325 } else { self.0 };
        for b in bytes {
            h = (h ^ u64::from(*b)).wrapping_mul(0x100_0000_01b3);
        }
        self.0 = h;
    }
}

/// A request value's typed readings, each computed on first use: a request is decided against
/// many statements, but each value is parsed as a number, a date or an address at most once.
#[derive(Debug, Default)]
pub(crate) struct Parsed {
    number: OnceLock<Option<f64>>,
    date: OnceLock<Option<i64>>,
    ip: OnceLock<Option<IpAddr>>,
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
}

#[derive(Debug, Default)]
struct Entry {
    values: Vec<String>,
    parsed: Vec<Parsed>,
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
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Context {
    entries: HashMap<Box<str>, Entry, BuildHasherDefault<Fnv>>,
}

impl Context {
    pub fn new() -> Context {
        Context::default()
    }

    /// Adds a value to `key`.
    pub fn insert(&mut self, key: &str, value: impl Into<String>) -> &mut Context {
        let entry = self.entries.entry(key.to_lowercase().into()).or_default();
        entry.values.push(value.into());
        entry.parsed.push(Parsed::default());
        self
    }

    /// Sets `key` to exactly `values` (an empty list is a present key with no values).
    pub fn set_all(&mut self, key: &str, values: Vec<String>) -> &mut Context {
        let parsed = values.iter().map(|_| Parsed::default()).collect();
        self.entries.insert(key.to_lowercase().into(), Entry { values, parsed });
        self
    }

    /// The values of a key, by its lower-cased name.
    pub fn get(&self, lowercase_key: &str) -> Option<&[String]> {
        self.entries.get(lowercase_key).map(|e| e.values.as_slice())
    }

    /// The values of a key with their cached typed readings.
    pub(crate) fn get_parsed(&self, lowercase_key: &str) -> Option<(&[String], &[Parsed])> {
        self.entries.get(lowercase_key).map(|e| (e.values.as_slice(), e.parsed.as_slice()))
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }
}

impl Variables for Context {
    fn single(&self, lowercase_key: &str) -> Option<&str> {
        match self.get(lowercase_key) {
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
        assert_eq!(c.single("aws:tagkeys"), None, "multi-valued keys are no variable");
    }
}
