//! What the socket tests set up alike: how long one may run, and the
//! bearer-token authentication several of them check.

#![allow(dead_code, unreachable_pub)]

use std::time::Duration;

use rpc_server::connect::{Admission, Rejection};
use rpc_server::{Server, ServerBuilder};

/// How long a socket test may take (with [`within`](super::ws::within))
/// before it fails as hung.
pub const LIMIT: Duration = Duration::from_secs(30);

/// Who a bearer token admitted, as `on_connect` stores it.
#[derive(Debug, Clone)]
pub struct User(pub String);

/// A builder whose `on_connect` admits any bearer token as its [`User`]
/// ("exporter" is also granted `reports.export`), refuses "banned" with
/// 403 and a missing token with 401.
pub fn authenticating() -> ServerBuilder {
    Server::builder().on_connect(|request| async move {
        match request.bearer_token() {
            None => Err(Rejection::unauthorized("a bearer token is required")),
            Some("banned") => Err(Rejection::forbidden("go away")),
            Some("exporter") => Ok(Admission::new()
                .grant("reports.export")
                .insert(User("exporter".into()))),
            Some(name) => Ok(Admission::new().insert(User(name.to_owned()))),
        }
    })
}
