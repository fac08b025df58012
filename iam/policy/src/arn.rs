//! Amazon Resource Names: `arn:PARTITION:SERVICE:REGION:ACCOUNT:RESOURCE`.
//!
//! The resource part may itself contain `:` (for example `arn:aws:logs:...:log-group:x:*`), so an
//! ARN splits into exactly six parts at the first five colons.

use std::fmt;

/// A parsed ARN. Parts are kept as written: ARNs are case-sensitive except where a service says
/// otherwise, and matching rules live with the evaluator, not here.
#[derive(Debug, Clone, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub struct Arn {
    pub partition: String,
    pub service: String,
    pub region: String,
    pub account: String,
    pub resource: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ArnError {
    /// The text does not start with `arn:` or has fewer than six colon-separated parts.
    Malformed(String),
}

impl fmt::Display for ArnError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ArnError::Malformed(text) => write!(f, "`{text}` is not a valid ARN"),
        }
    }
}

impl std::error::Error for ArnError {}

impl Arn {
    /// The ARN of an IAM entity in an account, for example `user/division/alice`.
    pub fn iam(account: &str, resource: impl Into<String>) -> Arn {
        Arn {
            partition: "aws".into(),
            service: "iam".into(),
            region: String::new(),
            account: account.into(),
            resource: resource.into(),
        }
    }

    pub fn parse(text: &str) -> Result<Arn, ArnError> {
        let malformed = || ArnError::Malformed(text.to_owned());
        let mut parts = text.splitn(6, ':');
        let mut next = || parts.next().ok_or_else(malformed);
        let (prefix, partition, service, region, account, resource) =
            (next()?, next()?, next()?, next()?, next()?, next()?);
        if prefix != "arn" || partition.is_empty() || service.is_empty() || resource.is_empty() {
            return Err(malformed());
        }
        Ok(Arn {
            partition: partition.into(),
            service: service.into(),
            region: region.into(),
            account: account.into(),
            resource: resource.into(),
        })
    }
}

impl fmt::Display for Arn {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "arn:{}:{}:{}:{}:{}", self.partition, self.service, self.region, self.account, self.resource)
    }
}

impl std::str::FromStr for Arn {
    type Err = ArnError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Arn::parse(s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_prints_an_iam_user_arn() {
        let arn = Arn::parse("arn:aws:iam::123456789012:user/division/alice").unwrap();
        assert_eq!(arn.service, "iam");
        assert_eq!(arn.region, "");
        assert_eq!(arn.account, "123456789012");
        assert_eq!(arn.resource, "user/division/alice");
        assert_eq!(arn.to_string(), "arn:aws:iam::123456789012:user/division/alice");
    }

    #[test]
    fn keeps_colons_inside_the_resource() {
        let arn = Arn::parse("arn:aws:logs:us-east-1:123456789012:log-group:app:*").unwrap();
        assert_eq!(arn.resource, "log-group:app:*");
    }

    #[test]
    fn rejects_what_is_not_an_arn() {
        for text in ["", "arn", "arn:aws:iam::123", "urn:aws:iam::1:user/a", "arn::iam::1:user/a", "arn:aws:iam::1:"] {
            assert!(Arn::parse(text).is_err(), "{text} was accepted");
        }
    }

    #[test]
    fn builds_iam_arns() {
        assert_eq!(Arn::iam("123456789012", "root").to_string(), "arn:aws:iam::123456789012:root");
    }
}
