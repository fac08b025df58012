//! Validated names and values. Each newtype parses its input once, with AWS's rules and AWS's
//! `ValidationError` wording, so the rest of the code never re-validates.

use crate::error::IamError;

/// AWS's wording for a failed constraint on a request field.
fn constraint(field: &str, value: &str, rule: &str) -> IamError {
    IamError::ValidationError(format!(
        "1 validation error detected: Value '{value}' at '{field}' failed to satisfy constraint: \
         Member must {rule}"
    ))
}

fn check_length(field: &str, value: &str, min: usize, max: usize) -> Result<(), IamError> {
    let len = value.chars().count();
    if len < min {
        return Err(constraint(field, value, &format!("have length greater than or equal to {min}")));
    }
    if len > max {
        return Err(constraint(field, value, &format!("have length less than or equal to {max}")));
    }
    Ok(())
}

/// `[\w+=,.@-]`: the characters of user, group, role and policy names.
fn is_name_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, '_' | '+' | '=' | ',' | '.' | '@' | '-')
}

fn check_entity_name(field: &str, value: &str, max: usize) -> Result<(), IamError> {
    check_length(field, value, 1, max)?;
    if !value.chars().all(is_name_char) {
        return Err(constraint(field, value, "satisfy regular expression pattern: [\\w+=,.@-]+"));
    }
    Ok(())
}

macro_rules! string_newtype {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Eq, Hash)]
        pub struct $name(String);

        impl $name {
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl AsRef<str> for $name {
            fn as_ref(&self) -> &str {
                &self.0
            }
        }
    };
}

string_newtype!(
    /// A user name: 1-64 characters of `[\w+=,.@-]`; unique in its account ignoring case.
    UserName
);

impl UserName {
    pub fn parse(value: &str) -> Result<UserName, IamError> {
        check_entity_name("userName", value, 64)?;
        Ok(UserName(value.to_owned()))
    }

    /// The key under which names are unique: AWS compares names ignoring case.
    pub fn key(&self) -> String {
        self.0.to_ascii_lowercase()
    }
}

macro_rules! entity_name {
    ($(#[$doc:meta])* $name:ident, $field:literal, $max:literal) => {
        string_newtype!($(#[$doc])* $name);

        impl $name {
            pub fn parse(value: &str) -> Result<$name, IamError> {
                check_entity_name($field, value, $max)?;
                Ok($name(value.to_owned()))
            }

            /// The key under which names are unique: AWS compares names ignoring case.
            pub fn key(&self) -> String {
                self.0.to_ascii_lowercase()
            }
        }
    };
}

entity_name!(
    /// A group name: 1-128 characters of `[\w+=,.@-]`; unique in its account ignoring case.
    GroupName,
    "groupName",
    128
);

entity_name!(
    /// A role name: 1-64 characters of `[\w+=,.@-]`; unique in its account ignoring case.
    RoleName,
    "roleName",
    64
);

entity_name!(
    /// A managed or inline policy name: 1-128 characters of `[\w+=,.@-]`; unique in its account
    /// (managed) or on its entity (inline), ignoring case.
    PolicyName,
    "policyName",
    128
);

entity_name!(
    /// A virtual MFA device's name: 1-226 characters of `[\\w+=,.@-]`.
    MfaDeviceName,
    "virtualMFADeviceName",
    226
);

string_newtype!(
    /// An IAM path: `/` or `/segments/`, 1-512 printable ASCII characters.
    IamPath
);

impl IamPath {
    pub fn parse(value: &str) -> Result<IamPath, IamError> {
        check_length("path", value, 1, 512)?;
        let printable = value.chars().all(|c| ('\u{21}'..='\u{7e}').contains(&c));
        if !printable || !value.starts_with('/') || !value.ends_with('/') {
            return Err(constraint(
                "path",
                value,
                "satisfy regular expression pattern: (\\u002F)|(\\u002F[\\u0021-\\u007E]+\\u002F)",
            ));
        }
        Ok(IamPath(value.to_owned()))
    }

    pub fn root() -> IamPath {
        IamPath("/".to_owned())
    }
}

impl Default for IamPath {
    fn default() -> Self {
        IamPath::root()
    }
}

/// One tag: key 1-128 and value 0-256 characters of letters, digits, spaces and `_.:/=+-@`.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Tag {
    pub key: String,
    pub value: String,
}

pub const MAX_TAGS_PER_ENTITY: usize = 50;

fn is_tag_char(c: char) -> bool {
    c.is_alphanumeric() || c == ' ' || matches!(c, '_' | '.' | ':' | '/' | '=' | '+' | '-' | '@')
}

const TAG_PATTERN: &str = "satisfy regular expression pattern: [\\p{L}\\p{Z}\\p{N}_.:/=+\\-@]+";

impl Tag {
    /// The key as keys compare: IAM's tag keys ignore case, Unicode's case included (`Ä` = `ä`).
    /// Every comparison and the stored `key_key` column use this one folding, so two keys that
    /// are one here can never reach the store's unique index as two.
    pub fn key_fold(key: &str) -> String {
        key.to_lowercase()
    }

    /// Whether this tag's key is `key`, ignoring case.
    pub fn has_key(&self, key: &str) -> bool {
        self.key == key || Tag::key_fold(&self.key) == Tag::key_fold(key)
    }

    pub fn parse(key: &str, value: &str) -> Result<Tag, IamError> {
        check_length("tags.member.key", key, 1, 128)?;
        if !key.chars().all(is_tag_char) {
            return Err(constraint("tags.member.key", key, TAG_PATTERN));
        }
        if key.to_ascii_lowercase().starts_with("aws:") {
            return Err(IamError::InvalidInput(format!(
                "User-defined tag keys can't start with 'aws:'. Tag key: {key}"
            )));
        }
        check_length("tags.member.value", value, 0, 256)?;
        if !value.chars().all(is_tag_char) {
            return Err(constraint("tags.member.value", value, &TAG_PATTERN.replace("]+", "]*")));
        }
        Ok(Tag { key: key.to_owned(), value: value.to_owned() })
    }

    /// Checks a whole tag list: at most 50 tags, and no key twice (IAM compares keys ignoring case).
    pub fn parse_list(pairs: &[(String, String)]) -> Result<Vec<Tag>, IamError> {
        if pairs.len() > MAX_TAGS_PER_ENTITY {
            return Err(IamError::LimitExceeded(format!(
                "The number of tags has reached the maximum limit of {MAX_TAGS_PER_ENTITY}."
            )));
        }
        let mut tags: Vec<Tag> = Vec::with_capacity(pairs.len());
        for (key, value) in pairs {
            let tag = Tag::parse(key, value)?;
            if tags.iter().any(|t| t.has_key(&tag.key)) {
                return Err(IamError::InvalidInput(format!(
                    "Duplicate tag keys found. Please note that Tag keys are case insensitive. \
                     Tag key: {key}"
                )));
            }
            tags.push(tag);
        }
        Ok(tags)
    }
}

string_newtype!(
    /// An account alias: 3-63 lower-case letters, digits and single hyphens, not at either end.
    AccountAlias
);

impl AccountAlias {
    pub fn parse(value: &str) -> Result<AccountAlias, IamError> {
        check_length("accountAlias", value, 3, 63)?;
        let chars_ok = value.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
        if !chars_ok || value.starts_with('-') || value.ends_with('-') || value.contains("--") {
            return Err(constraint(
                "accountAlias",
                value,
                "satisfy regular expression pattern: ^[a-z0-9]([a-z0-9]|-(?!-)){1,61}[a-z0-9]$",
            ));
        }
        Ok(AccountAlias(value.to_owned()))
    }
}

string_newtype!(
    /// The root user's email address, kept as given; compared ignoring case.
    Email
);

impl Email {
    pub fn parse(value: &str) -> Result<Email, IamError> {
        let value = value.trim();
        let invalid = || IamError::ValidationError(format!("The email address `{value}` is not valid."));
        if value.is_empty() || value.len() > 254 || value.chars().any(char::is_whitespace) {
            return Err(invalid());
        }
        let (local, domain) = value.split_once('@').ok_or_else(invalid)?;
        if local.is_empty() || domain.is_empty() || domain.contains('@') || !domain.contains('.') {
            return Err(invalid());
        }
        if domain.starts_with('.') || domain.ends_with('.') {
            return Err(invalid());
        }
        Ok(Email(value.to_owned()))
    }

    pub fn key(&self) -> String {
        self.0.to_lowercase()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn user_names_follow_aws_rules() {
        assert!(UserName::parse("alice").is_ok());
        assert!(UserName::parse("a+b=c,d.e@f-g_h").is_ok());
        assert!(UserName::parse(&"a".repeat(64)).is_ok());
        let too_long = UserName::parse(&"a".repeat(65)).unwrap_err();
        assert_eq!(too_long.code(), "ValidationError");
        assert!(too_long.message().contains("less than or equal to 64"), "{too_long}");
        assert!(UserName::parse("").is_err());
        let bad = UserName::parse("bad name").unwrap_err();
        assert!(bad.message().contains("[\\w+=,.@-]+"), "{bad}");
        assert!(UserName::parse("é").is_err());
        assert_eq!(UserName::parse("Alice").unwrap().key(), "alice");
        assert!(GroupName::parse(&"g".repeat(128)).is_ok());
        assert!(GroupName::parse(&"g".repeat(129)).unwrap_err().message().contains("'groupName'"));
        assert!(RoleName::parse(&"r".repeat(65)).is_err());
        assert_eq!(PolicyName::parse("Read-Only").unwrap().key(), "read-only");
        assert!(PolicyName::parse("no#hash").is_err());
        assert!(MfaDeviceName::parse(&"d".repeat(226)).is_ok(), "longer than a user name");
        assert!(MfaDeviceName::parse(&"d".repeat(227)).unwrap_err().message().contains("'virtualMFADeviceName'"));
    }

    #[test]
    fn paths_follow_aws_rules() {
        assert!(IamPath::parse("/").is_ok());
        assert!(IamPath::parse("/division/team/").is_ok());
        assert!(IamPath::parse("division/").is_err());
        assert!(IamPath::parse("/division").is_err());
        assert!(IamPath::parse("/with space/").is_err());
        assert!(IamPath::parse("").is_err());
        assert!(IamPath::parse(&format!("/{}/", "a".repeat(510))).is_ok());
        assert!(IamPath::parse(&format!("/{}/", "a".repeat(511))).is_err());
    }

    #[test]
    fn tags_follow_aws_rules() {
        assert!(Tag::parse("CostCenter", "").is_ok());
        assert!(Tag::parse("team name", "Équipe 7 / ops@x").is_ok());
        assert!(Tag::parse("", "x").is_err());
        assert!(Tag::parse(&"k".repeat(129), "x").is_err());
        assert!(Tag::parse("k", &"v".repeat(257)).is_err());
        assert!(Tag::parse("k", "semi;colon").is_err());
        assert_eq!(Tag::parse("aws:tag", "x").unwrap_err().code(), "InvalidInput");
        let dup = Tag::parse_list(&[("Team".into(), "a".into()), ("team".into(), "b".into())]);
        assert_eq!(dup.unwrap_err().code(), "InvalidInput");
        let many: Vec<_> = (0..51).map(|i| (format!("k{i}"), String::new())).collect();
        assert_eq!(Tag::parse_list(&many).unwrap_err().code(), "LimitExceeded");
        assert_eq!(Tag::parse_list(&many[..50]).unwrap().len(), 50);
    }

    #[test]
    fn account_aliases_follow_aws_rules() {
        assert!(AccountAlias::parse("example-corp").is_ok());
        assert!(AccountAlias::parse("abc").is_ok());
        for bad in ["ab", "-abc", "abc-", "a--b", "Upper", "under_score", &"a".repeat(64)] {
            assert!(AccountAlias::parse(bad).is_err(), "{bad} was accepted");
        }
    }

    #[test]
    fn emails_are_checked_loosely_but_surely() {
        assert!(Email::parse("root@example.com").is_ok());
        assert_eq!(Email::parse(" Root@Example.com ").unwrap().key(), "root@example.com");
        for bad in ["", "root", "root@", "@example.com", "a@b", "a b@example.com", "a@@example.com"] {
            assert!(Email::parse(bad).is_err(), "{bad} was accepted");
        }
    }
}
