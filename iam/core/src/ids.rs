//! Identifiers as AWS shapes them: 12-digit account ids, 21-character unique ids with a
//! four-letter prefix per entity kind (`AIDA` users, `AROA` roles, ...), 20-character access key
//! ids, and opaque references for internal errors.

use rand::Rng;
use rand::distributions::Uniform;

/// The alphabet of AWS unique ids after the prefix (upper-case base32).
const ID_ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";

/// The kinds of unique id, each with AWS's prefix.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IdKind {
    User,
    Group,
    Role,
    Policy,
    AccessKey,
    TemporaryAccessKey,
}

impl IdKind {
    fn prefix(self) -> &'static str {
        match self {
            IdKind::User => "AIDA",
            IdKind::Group => "AGPA",
            IdKind::Role => "AROA",
            IdKind::Policy => "ANPA",
            IdKind::AccessKey => "AKIA",
            IdKind::TemporaryAccessKey => "ASIA",
        }
    }

    fn len(self) -> usize {
        match self {
            IdKind::AccessKey | IdKind::TemporaryAccessKey => 20,
            _ => 21,
        }
    }
}

/// A new random unique id of the given kind.
pub fn unique_id(kind: IdKind, rng: &mut impl Rng) -> String {
    let prefix = kind.prefix();
    let pick = Uniform::from(0..ID_ALPHABET.len());
    let mut id = String::with_capacity(kind.len());
    id.push_str(prefix);
    for _ in prefix.len()..kind.len() {
        let c = ID_ALPHABET.get(rng.sample(pick)).copied().unwrap_or(b'A');
        id.push(char::from(c));
    }
    id
}

/// A new random 12-digit account id. The first digit is never 0, so the id survives tools that
/// read it as a number.
pub fn account_id(rng: &mut impl Rng) -> String {
    let n: u64 = rng.gen_range(100_000_000_000..=999_999_999_999);
    n.to_string()
}

/// A short random reference to quote in a generic error and find in the logs.
pub fn reference_id() -> String {
    let mut rng = rand::thread_rng();
    (0..12).map(|_| char::from(ID_ALPHABET.get(rng.gen_range(0..32)).copied().unwrap_or(b'A'))).collect()
}

/// Whether `text` is a 12-digit account id.
pub fn is_account_id(text: &str) -> bool {
    text.len() == 12 && text.bytes().all(|b| b.is_ascii_digit())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unique_ids_have_aws_shape() {
        let mut rng = rand::thread_rng();
        let id = unique_id(IdKind::User, &mut rng);
        assert_eq!(id.len(), 21);
        assert!(id.starts_with("AIDA"));
        assert!(id.bytes().all(|b| ID_ALPHABET.contains(&b)));
        let key = unique_id(IdKind::AccessKey, &mut rng);
        assert_eq!(key.len(), 20);
        assert!(key.starts_with("AKIA"));
    }

    #[test]
    fn account_ids_are_twelve_digits() {
        let mut rng = rand::thread_rng();
        for _ in 0..1000 {
            let id = account_id(&mut rng);
            assert!(is_account_id(&id), "{id}");
            assert!(!id.starts_with('0'));
        }
        assert!(!is_account_id("12345678901"));
        assert!(!is_account_id("12345678901a"));
    }
}
