//! The one error type of every server function: an AWS error code and a message fit to show.

use leptos::server_fn::codec::JsonEncoding;
use leptos::server_fn::error::{FromServerFnError, ServerFnErrorErr};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
#[error("{message}")]
pub struct ConsoleError {
    /// AWS's error code (`NoSuchEntity`, `AccessDenied`, ...) or one of the console's own:
    /// `NotSignedIn`, `SignInFailed`, `RequestFailed`.
    pub code: String,
    pub message: String,
}

impl ConsoleError {
    pub fn new(code: &str, message: impl Into<String>) -> ConsoleError {
        ConsoleError { code: code.to_owned(), message: message.into() }
    }

    pub fn not_signed_in() -> ConsoleError {
        ConsoleError::new("NotSignedIn", "Your session has ended. Sign in again to continue.")
    }
}

impl FromServerFnError for ConsoleError {
    type Encoder = JsonEncoding;

    fn from_server_fn_error(value: ServerFnErrorErr) -> Self {
        // Transport and decoding failures: say what the user can do, not what the codec said.
        match value {
            ServerFnErrorErr::Request(_) => ConsoleError::new(
                "RequestFailed",
                "The console could not reach the server. Check your connection and try again.",
            ),
            // The caller's mistake (a field missing or not of its type): AWS's 400, never a 500.
            ServerFnErrorErr::Args(_) | ServerFnErrorErr::MissingArg(_) => {
                ConsoleError::new("ValidationError", "The request was incomplete or malformed.")
            }
            _ => ConsoleError::new("RequestFailed", "The request could not be completed. Try again."),
        }
    }
}

#[cfg(feature = "ssr")]
impl From<iam_core::IamError> for ConsoleError {
    fn from(e: iam_core::IamError) -> Self {
        ConsoleError::new(e.code(), e.message())
    }
}
