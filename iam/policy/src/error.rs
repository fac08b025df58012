//! Why a policy document was rejected: AWS's `MalformedPolicyDocument` (or `LimitExceeded` for an
//! oversized one), with a human reason in AWS's voice and, where there is one, the place in the
//! document (`Statement[1].Condition.StringEquals`).

use std::fmt;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PolicyErrorKind {
    /// The document is not a valid policy: AWS's `MalformedPolicyDocument`.
    Malformed,
    /// The document is larger than its kind allows: AWS's `LimitExceeded`.
    TooLarge,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PolicyError {
    pub kind: PolicyErrorKind,
    pub message: String,
    /// Where in the document, as a path of JSON members and indexes; `None` for the whole document.
    pub location: Option<String>,
}

impl PolicyError {
    pub fn malformed(message: impl Into<String>, location: Option<String>) -> PolicyError {
        PolicyError { kind: PolicyErrorKind::Malformed, message: message.into(), location }
    }

    /// AWS's error code for this rejection.
    pub fn code(&self) -> &'static str {
        match self.kind {
            PolicyErrorKind::Malformed => "MalformedPolicyDocument",
            PolicyErrorKind::TooLarge => "LimitExceeded",
        }
    }
}

impl fmt::Display for PolicyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.location {
            Some(at) => write!(f, "{} (at {at})", self.message),
            None => f.write_str(&self.message),
        }
    }
}

impl std::error::Error for PolicyError {}
