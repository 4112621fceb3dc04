//! Static descriptions of methods and their parameters, for introspection.

use std::time::Duration;

/// What is known about one method at compile time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct MethodInfo {
    /// The name on the wire.
    pub name: &'static str,
    /// The JSON parameters, in positional order.
    pub params: &'static [ParamInfo],
    /// The documentation from `///` comments.
    pub docs: &'static str,
    /// Whether the method is meant to be sent as a notification.
    pub notification: bool,
    /// Permissions a connection needs, all of them, to call the method.
    pub permissions: &'static [&'static str],
    /// How long the method may run before it is answered with
    /// REQUEST_TIMEOUT; `None` for the server's default.
    pub timeout: Option<Duration>,
    /// Whether the method is marked `#[deprecated]`.
    pub deprecated: bool,
}

impl MethodInfo {
    /// A method with no parameters and nothing else set.
    pub const fn new(name: &'static str) -> Self {
        Self {
            name,
            params: &[],
            docs: "",
            notification: false,
            permissions: &[],
            timeout: None,
            deprecated: false,
        }
    }

    /// Sets the parameters.
    pub const fn with_params(mut self, params: &'static [ParamInfo]) -> Self {
        self.params = params;
        self
    }

    /// Sets the documentation.
    pub const fn with_docs(mut self, docs: &'static str) -> Self {
        self.docs = docs;
        self
    }

    /// Marks the method as a notification.
    pub const fn notification(mut self) -> Self {
        self.notification = true;
        self
    }

    /// Sets the permissions the method requires.
    pub const fn with_permissions(mut self, permissions: &'static [&'static str]) -> Self {
        self.permissions = permissions;
        self
    }

    /// Sets the timeout.
    pub const fn with_timeout(mut self, timeout: Duration) -> Self {
        self.timeout = Some(timeout);
        self
    }

    /// Marks the method as deprecated.
    pub const fn deprecated(mut self) -> Self {
        self.deprecated = true;
        self
    }
}

/// What is known about one JSON parameter at compile time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct ParamInfo {
    /// The parameter's name (its key when params are sent by name).
    pub name: &'static str,
    /// The Rust type, as written.
    pub type_name: &'static str,
    /// Whether the parameter must be sent (`Option<T>` parameters need not).
    pub required: bool,
}

impl ParamInfo {
    /// A parameter.
    pub const fn new(name: &'static str, type_name: &'static str, required: bool) -> Self {
        Self {
            name,
            type_name,
            required,
        }
    }
}
