//! Static descriptions of methods and their parameters, for introspection.

use std::fmt;
use std::time::Duration;

use schemars::generate::SchemaGenerator;
use schemars::{JsonSchema, Schema};

use crate::connection::transport::Transport;
use crate::engine::rate::Rate;

/// Produces the JSON Schema of one parameter or result type.
pub type SchemaFn = fn(&mut SchemaGenerator) -> Schema;

/// The [`SchemaFn`] of `T`: a reference into the generator's shared
/// definitions for named types, the schema itself for others.
pub fn schema_for<T: JsonSchema + ?Sized>(generator: &mut SchemaGenerator) -> Schema {
    generator.subschema_for::<T>()
}

/// What is known about one method at compile time.
#[derive(Clone, Copy)]
#[non_exhaustive]
pub struct MethodInfo {
    /// The name on the wire.
    pub name: &'static str,
    /// The JSON parameters, in positional order.
    pub params: &'static [ParamInfo],
    /// Whether the method takes its params whole, as raw JSON.
    pub raw_params: bool,
    /// The schema of the result; `None` when it is not described.
    pub result: Option<SchemaFn>,
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
    /// The only transport the method may be called over; `None` for any.
    pub transport: Option<Transport>,
    /// How often one connection may call the method (`#[rpc(rate)]`);
    /// `None` for no limit of its own.
    pub rate: Option<Rate>,
    /// Set when the method opens a subscription.
    pub subscription: Option<SubscriptionInfo>,
}

/// What a subscription method sends, and how it is ended.
#[derive(Clone, Copy)]
#[non_exhaustive]
pub struct SubscriptionInfo {
    /// The method name of its notifications.
    pub notification: &'static str,
    /// The method that ends it.
    pub unsubscribe: &'static str,
    /// The schema of each item (a notification's `params.result`).
    pub item: SchemaFn,
}

impl fmt::Debug for SubscriptionInfo {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SubscriptionInfo")
            .field("notification", &self.notification)
            .field("unsubscribe", &self.unsubscribe)
            .finish_non_exhaustive()
    }
}

impl MethodInfo {
    /// A method with no parameters and nothing else set.
    pub const fn new(name: &'static str) -> Self {
        Self {
            name,
            params: &[],
            raw_params: false,
            result: None,
            docs: "",
            notification: false,
            permissions: &[],
            timeout: None,
            deprecated: false,
            transport: None,
            rate: None,
            subscription: None,
        }
    }

    /// Marks the method as opening a subscription whose items (described
    /// by `item`) are sent as `notification` notifications until
    /// `unsubscribe` is called.
    pub const fn subscription(
        mut self,
        notification: &'static str,
        unsubscribe: &'static str,
        item: SchemaFn,
    ) -> Self {
        self.subscription = Some(SubscriptionInfo {
            notification,
            unsubscribe,
            item,
        });
        self
    }

    /// Restricts the method to one transport.
    pub const fn only_over(mut self, transport: Transport) -> Self {
        self.transport = Some(transport);
        self
    }

    /// Sets the parameters.
    pub const fn with_params(mut self, params: &'static [ParamInfo]) -> Self {
        self.params = params;
        self
    }

    /// Marks the method as taking its params whole.
    pub const fn with_raw_params(mut self) -> Self {
        self.raw_params = true;
        self
    }

    /// Sets the result's schema.
    pub const fn with_result(mut self, schema: SchemaFn) -> Self {
        self.result = Some(schema);
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

    /// Sets how often one connection may call the method.
    pub const fn with_rate(mut self, rate: Rate) -> Self {
        self.rate = Some(rate);
        self
    }

    /// Marks the method as deprecated.
    pub const fn deprecated(mut self) -> Self {
        self.deprecated = true;
        self
    }
}

impl fmt::Debug for MethodInfo {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MethodInfo")
            .field("name", &self.name)
            .field("params", &self.params)
            .field("raw_params", &self.raw_params)
            .field("docs", &self.docs)
            .field("notification", &self.notification)
            .field("permissions", &self.permissions)
            .field("timeout", &self.timeout)
            .field("deprecated", &self.deprecated)
            .field("transport", &self.transport)
            .field("subscription", &self.subscription)
            .finish_non_exhaustive()
    }
}

/// What is known about one JSON parameter at compile time.
#[derive(Clone, Copy)]
#[non_exhaustive]
pub struct ParamInfo {
    /// The parameter's name (its key when params are sent by name).
    pub name: &'static str,
    /// The Rust type, as written.
    pub type_name: &'static str,
    /// Whether the parameter must be sent (`Option<T>` parameters need not).
    pub required: bool,
    /// The parameter's JSON Schema.
    pub schema: SchemaFn,
}

impl ParamInfo {
    /// A parameter.
    pub const fn new(
        name: &'static str,
        type_name: &'static str,
        required: bool,
        schema: SchemaFn,
    ) -> Self {
        Self {
            name,
            type_name,
            required,
            schema,
        }
    }
}

impl fmt::Debug for ParamInfo {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ParamInfo")
            .field("name", &self.name)
            .field("type_name", &self.type_name)
            .field("required", &self.required)
            .finish_non_exhaustive()
    }
}
