//! Why connecting failed.

use std::fmt;

/// The first connection could not be made.
#[derive(Debug)]
pub struct ConnectError {
    message: String,
    status: Option<u16>,
}

impl ConnectError {
    pub(crate) fn new(error: &tokio_tungstenite::tungstenite::Error) -> Self {
        let status = match error {
            tokio_tungstenite::tungstenite::Error::Http(response) => {
                Some(response.status().as_u16())
            }
            _ => None,
        };
        Self {
            message: error.to_string(),
            status,
        }
    }

    pub(crate) fn invalid(message: impl Into<String>) -> Self {
        Self {
            message: message.into(),
            status: None,
        }
    }

    /// The HTTP status, when the server refused the handshake (401, 503, …).
    pub fn status(&self) -> Option<u16> {
        self.status
    }
}

impl fmt::Display for ConnectError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "could not connect: {}", self.message)
    }
}

impl std::error::Error for ConnectError {}
