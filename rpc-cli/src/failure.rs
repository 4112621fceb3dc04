//! Why a command failed, and the exit status that says so.

use std::fmt;
use std::process::ExitCode;

use serde_json::Value;

use crate::output;

/// A command that did not succeed.
#[derive(Debug)]
pub(crate) enum Failure {
    /// The server answered with this JSON-RPC error object: exit 1.
    Remote(Value),
    /// This many calls of a batch were answered with an error (shown in the
    /// responses printed): exit 1.
    BatchErrors(usize),
    /// Bad usage or bad PARAMS; nothing was sent: exit 2.
    Usage(String),
    /// No answer: could not connect, the handshake was refused, the
    /// connection dropped or the answer timed out: exit 3.
    Unreachable(String),
}

impl Failure {
    pub(crate) fn exit_code(&self) -> ExitCode {
        ExitCode::from(match self {
            Self::Remote(_) | Self::BatchErrors(_) => 1,
            Self::Usage(_) => 2,
            Self::Unreachable(_) => 3,
        })
    }

    /// Says what failed on stderr: the error object as JSON for a server's
    /// error, a line for the others.
    pub(crate) fn report(&self) {
        match self {
            Self::Remote(error) => {
                output::error_line(&output::json(error, output::stderr_is_terminal()));
            }
            other => output::error_line(&format!("rpc: {other}")),
        }
    }
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Remote(error) => write!(f, "the server answered with an error: {error}"),
            Self::BatchErrors(1) => f.write_str("a call of the batch was answered with an error"),
            Self::BatchErrors(failed) => {
                write!(f, "{failed} calls of the batch were answered with an error")
            }
            Self::Usage(message) | Self::Unreachable(message) => f.write_str(message),
        }
    }
}

impl From<rpc_client::CallError> for Failure {
    fn from(error: rpc_client::CallError) -> Self {
        match error {
            rpc_client::CallError::Remote(error) => {
                Self::Remote(serde_json::to_value(&error).unwrap_or(Value::Null))
            }
            other => Self::Unreachable(other.to_string()),
        }
    }
}
