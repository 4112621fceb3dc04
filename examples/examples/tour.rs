//! A tour of what a service can do: methods under their own and custom
//! names, an error with its own code and data, the call context, token
//! authentication before the upgrade, a permission-protected method that
//! unauthorized clients can't see, middleware that logs, and hooks that
//! count.
//!
//! Run with: cargo run -p examples --example tour [-- --addr 127.0.0.1:9003]
//!
//! Connect with `Authorization: Bearer admin-token` (may export reports) or
//! `Bearer guest-token` (may not); anything else is refused with 401. A
//! browser, which cannot set that header on a WebSocket, offers the token as
//! the subprotocols `bearer, <token>` instead (the API explorer at
//! `/explorer` does).

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use rpc_server::connect::{Admission, ConnectionInfo, DisconnectReason, Rejection};
use rpc_server::hooks::Hooks;
use rpc_server::middleware::{Call, MethodFuture, Middleware, Next};
use rpc_server::{ErrorCode, RpcContext, RpcError, rpc_service};

/// Who a token belongs to, stored by `on_connect` for the methods to read.
struct User {
    name: &'static str,
}

struct Tour;

#[rpc_service(title = "tour")]
impl Tour {
    /// `@rpc_method()`: answers "pong".
    async fn ping(&self) -> &'static str {
        "pong"
    }

    /// `@rpc_method("mymodule.rpc.ping")`: fails on request, with data.
    #[rpc(name = "mymodule.rpc.ping")]
    async fn custom_ping(&self, fake_an_error: bool) -> Result<&'static str, RpcError> {
        if fake_an_error {
            return Err(RpcError::new(ErrorCode::APPLICATION_ERROR, "fake_error")
                .with_data(&["fake_error"]));
        }
        Ok("pong")
    }

    /// `ctx: RpcContext`: the method name, the request id, the connection.
    async fn get_user_info(&self, ctx: &RpcContext) -> serde_json::Value {
        let user = ctx.extensions().get::<User>().map(|user| user.name);
        serde_json::json!({
            "username": user,
            "method": ctx.method(),
            "rpc_id": ctx.id().map(|id| id.as_raw().to_owned()),
            "is_notification": ctx.is_notification(),
            "client": ctx.remote_addr().map(|addr| addr.to_string()),
            "user_agent": ctx.headers().get("user-agent").and_then(|v| v.to_str().ok()),
        })
    }

    /// `@permission_required("reports.export")`: invisible without it.
    #[rpc(permission = "reports.export")]
    async fn export_report(&self, year: u16) -> String {
        format!("report for {year}")
    }
}

/// Logs every call: the method, how long it took and how it ended.
struct Logging;

impl Middleware for Logging {
    fn handle<'a>(&'a self, call: Call<'a>, next: Next<'a>) -> MethodFuture<'a> {
        MethodFuture::from_result_future(async move {
            let started = Instant::now();
            let result = next.run(call).await;
            let outcome = match &result {
                Ok(_) => "ok".to_owned(),
                Err(error) => format!("error {}", error.code()),
            };
            println!(
                "call {} -> {outcome} in {:?}",
                call.method,
                started.elapsed()
            );
            result
        })
    }
}

/// The lifecycle hooks as counters.
#[derive(Default)]
struct Counters {
    started: AtomicU64,
    completed: AtomicU64,
    failed: AtomicU64,
    connected: AtomicU64,
    disconnected: AtomicU64,
}

impl Counters {
    fn print(&self) {
        let get = |counter: &AtomicU64| counter.load(Ordering::Relaxed);
        println!(
            "counters: started={} completed={} failed={} connected={} disconnected={}",
            get(&self.started),
            get(&self.completed),
            get(&self.failed),
            get(&self.connected),
            get(&self.disconnected),
        );
    }
}

/// Shares the counters with the server.
struct Counting(Arc<Counters>);

impl Hooks for Counting {
    fn call_started(&self, _call: &Call<'_>) {
        self.0.started.fetch_add(1, Ordering::Relaxed);
    }
    fn call_completed(&self, _call: &Call<'_>, _elapsed: Duration) {
        self.0.completed.fetch_add(1, Ordering::Relaxed);
    }
    fn call_failed(&self, _call: &Call<'_>, _code: ErrorCode, _elapsed: Duration) {
        self.0.failed.fetch_add(1, Ordering::Relaxed);
    }
    fn client_connected(&self, _connection: &ConnectionInfo) {
        self.0.connected.fetch_add(1, Ordering::Relaxed);
    }
    fn client_disconnected(&self, _connection: &ConnectionInfo, _reason: DisconnectReason) {
        self.0.disconnected.fetch_add(1, Ordering::Relaxed);
    }
}

#[tokio::main]
async fn main() -> std::io::Result<()> {
    let counters = Arc::new(Counters::default());
    let printed = Arc::clone(&counters);
    let server = examples::server()
        .on_connect(|request| async move {
            // The header, else the subprotocols or `access_token` (browsers).
            match request.token() {
                Some("admin-token") => Ok(Admission::new()
                    .grant("reports.export")
                    .insert(User { name: "admin" })),
                Some("guest-token") => Ok(Admission::new().insert(User { name: "guest" })),
                _ => Err(Rejection::unauthorized(
                    "send Authorization: Bearer <token>",
                )),
            }
        })
        .on_disconnect(move |connection, reason| {
            println!("connection {} closed: {reason}", connection.id());
            printed.print();
        })
        .middleware(Logging)
        .hooks(Counting(Arc::clone(&counters)))
        .serve(examples::addr_from_args("127.0.0.1:9003"), Tour)?
        .with_graceful_shutdown(rpc_server::shutdown_signal());
    examples::announce(server.local_addr());
    println!("connect with the header `Authorization: Bearer admin-token` or `Bearer guest-token`");
    server.await?;
    counters.print();
    Ok(())
}
