//! IAM's errors, as AWS names and words them. The API maps each code to its XML envelope and HTTP
//! status; the console shows the same message. Internal failures carry no detail outward.

use std::fmt;

/// An IAM action's failure: an AWS error code and AWS's message for it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum IamError {
    AccessDenied(String),
    NoSuchEntity(String),
    EntityAlreadyExists(String),
    LimitExceeded(String),
    DeleteConflict(String),
    InvalidInput(String),
    ValidationError(String),
    PasswordPolicyViolation(String),
    MalformedPolicyDocument(String),
    /// An MFA code that does not verify.
    InvalidAuthenticationCode(String),
    /// The entity is being changed by another request; try again.
    EntityTemporarilyUnmodifiable(String),
    /// No credential report exists yet.
    ReportNotPresent(String),
    /// The credential report is being generated.
    ReportInProgress(String),
    /// The credential report is more than four hours old.
    ReportExpired(String),
    /// Too many attempts: try again later.
    Throttling(String),
    /// Something failed inside the service. The message is generic; the cause was logged with
    /// `reference` so an operator can find it.
    ServiceFailure {
        reference: String,
    },
}

impl IamError {
    /// AWS's error code, as the API puts it in `<Code>`.
    pub fn code(&self) -> &'static str {
        match self {
            IamError::AccessDenied(_) => "AccessDenied",
            IamError::NoSuchEntity(_) => "NoSuchEntity",
            IamError::EntityAlreadyExists(_) => "EntityAlreadyExists",
            IamError::LimitExceeded(_) => "LimitExceeded",
            IamError::DeleteConflict(_) => "DeleteConflict",
            IamError::InvalidInput(_) => "InvalidInput",
            IamError::ValidationError(_) => "ValidationError",
            IamError::PasswordPolicyViolation(_) => "PasswordPolicyViolation",
            IamError::MalformedPolicyDocument(_) => "MalformedPolicyDocument",
            IamError::InvalidAuthenticationCode(_) => "InvalidAuthenticationCode",
            IamError::EntityTemporarilyUnmodifiable(_) => "EntityTemporarilyUnmodifiable",
            IamError::ReportNotPresent(_) => "ReportNotPresent",
            IamError::ReportInProgress(_) => "ReportInProgress",
            IamError::ReportExpired(_) => "ReportExpired",
            IamError::Throttling(_) => "Throttling",
            IamError::ServiceFailure { .. } => "ServiceFailure",
        }
    }

    /// The HTTP status AWS answers with for this code.
    pub fn http_status(&self) -> u16 {
        match self {
            IamError::AccessDenied(_) | IamError::InvalidAuthenticationCode(_) => 403,
            IamError::NoSuchEntity(_) | IamError::ReportInProgress(_) => 404,
            IamError::ReportNotPresent(_) | IamError::ReportExpired(_) => 410,
            IamError::EntityAlreadyExists(_)
            | IamError::LimitExceeded(_)
            | IamError::DeleteConflict(_)
            | IamError::EntityTemporarilyUnmodifiable(_) => 409,
            IamError::InvalidInput(_)
            | IamError::ValidationError(_)
            | IamError::PasswordPolicyViolation(_)
            | IamError::MalformedPolicyDocument(_)
            | IamError::Throttling(_) => 400,
            IamError::ServiceFailure { .. } => 500,
        }
    }

    pub fn message(&self) -> String {
        match self {
            IamError::AccessDenied(m)
            | IamError::NoSuchEntity(m)
            | IamError::EntityAlreadyExists(m)
            | IamError::LimitExceeded(m)
            | IamError::DeleteConflict(m)
            | IamError::InvalidInput(m)
            | IamError::ValidationError(m)
            | IamError::PasswordPolicyViolation(m)
            | IamError::MalformedPolicyDocument(m)
            | IamError::InvalidAuthenticationCode(m)
            | IamError::EntityTemporarilyUnmodifiable(m)
            | IamError::ReportNotPresent(m)
            | IamError::ReportInProgress(m)
            | IamError::ReportExpired(m)
            | IamError::Throttling(m) => m.clone(),
            IamError::ServiceFailure { reference } => format!("An internal error occurred. Reference: {reference}"),
        }
    }

    /// Logs `cause` with a fresh reference and returns the generic failure that names it.
    pub fn internal(cause: &dyn fmt::Display) -> IamError {
        let reference = crate::ids::reference_id();
        tracing::error!(reference = %reference, error = %cause, "internal error");
        IamError::ServiceFailure { reference }
    }
}

impl fmt::Display for IamError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.code(), self.message())
    }
}

impl std::error::Error for IamError {}

impl From<sqlx::Error> for IamError {
    fn from(e: sqlx::Error) -> Self {
        IamError::internal(&e)
    }
}

/// Whether a database error is a unique-constraint violation, which several actions turn into
/// `EntityAlreadyExists` when two requests race to create one name.
pub(crate) fn is_unique_violation(e: &sqlx::Error) -> bool {
    match e {
        sqlx::Error::Database(db) => db.is_unique_violation(),
        _ => false,
    }
}
