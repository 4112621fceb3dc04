//! The cost of the protocol pipeline without sockets: one small call with
//! nothing configured, with lifecycle hooks, with one middleware and with a
//! rate limit that is never reached (what they add); the server's state
//! with and without metrics; a batch of ten; the error paths (unknown method, params that
//! do not decode, invalid JSON). Against an older checkout, it shows
//! whether a change made any of them slower.
//!
//! Run with: cargo bench -p rpc-server --bench pipeline

use std::hint::black_box;
use std::time::Duration;

use criterion::{Criterion, criterion_group, criterion_main};
use std::sync::Arc;

use rpc_server::config::Rate;
use rpc_server::connect::ConnectionInfo;
use rpc_server::hooks::Hooks;
use rpc_server::middleware::{Call, MethodFuture, Middleware, Next};
use rpc_server::service::Protocol;
use rpc_server::service::Service as _;
use rpc_server::{ErrorCode, rpc_service};

struct Calc;

#[rpc_service]
impl Calc {
    async fn add(&self, a: i64, b: i64) -> i64 {
        a + b
    }
}

struct Noop;

impl Hooks for Noop {
    fn call_started(&self, call: &Call<'_>) {
        black_box(call.method);
    }
    fn call_completed(&self, call: &Call<'_>, elapsed: Duration) {
        black_box((call.method, elapsed));
    }
    fn call_failed(&self, call: &Call<'_>, code: ErrorCode, elapsed: Duration) {
        black_box((call.method, code, elapsed));
    }
}

struct PassThrough;

impl Middleware for PassThrough {
    fn handle<'a>(&'a self, call: Call<'a>, next: Next<'a>) -> MethodFuture<'a> {
        next.run(call)
    }
}

const FRAME: &str = r#"{"jsonrpc":"2.0","method":"add","params":[20,22],"id":7}"#;

fn pipeline(c: &mut Criterion) {
    let connection = ConnectionInfo::detached();
    // A bucket too large to run dry in any measurement.
    let never_reached = Rate::per_second(u32::MAX).with_burst(u32::MAX);
    let rated = Arc::new(ConnectionInfo::new().with_rates(
        rpc_server::service::CallRates::new(Some(never_reached), Calc.methods()).map(Arc::new),
    ));
    let mut group = c.benchmark_group("pipeline");
    let configurations = [
        ("plain", Protocol::new(), &connection),
        (
            "hooks",
            Protocol::new().with_hooks(Arc::new(Noop)),
            &connection,
        ),
        (
            "middleware",
            Protocol::new().with_middleware(PassThrough),
            &connection,
        ),
        ("rate_limit", Protocol::new(), &rated),
    ];
    for (name, protocol, connection) in configurations {
        group.bench_function(name, |b| {
            b.iter(|| {
                let reply = futures_executor::block_on(protocol.handle(
                    &Calc,
                    black_box(FRAME),
                    connection,
                ));
                black_box(reply)
            })
        });
    }
    // The server's own pipeline (its configuration made into state), with
    // and without metrics: what turning them on costs a call.
    for (name, metrics) in [("server_state", false), ("server_state_metrics", true)] {
        let mut config = rpc_server::ServerConfig::default();
        config.metrics = metrics;
        let client = rpc_server::testing::TestClient::with_config(Calc, config);
        group.bench_function(name, |b| {
            b.iter(|| black_box(futures_executor::block_on(client.request(black_box(FRAME)))))
        });
    }
    group.finish();

    let plain = Protocol::new();
    let batch = format!(
        "[{}]",
        (0..10)
            .map(|id| format!(r#"{{"jsonrpc":"2.0","method":"add","params":[{id},1],"id":{id}}}"#))
            .collect::<Vec<_>>()
            .join(",")
    );
    let frames = [
        ("batch_of_10", batch.as_str()),
        (
            "error_unknown_method",
            r#"{"jsonrpc":"2.0","method":"nope","params":[1,2],"id":7}"#,
        ),
        (
            "error_invalid_params",
            r#"{"jsonrpc":"2.0","method":"add","params":["x",2],"id":7}"#,
        ),
        (
            "error_parse",
            r#"{"jsonrpc":"2.0","method":"add","params":[1,2"#,
        ),
    ];
    let mut group = c.benchmark_group("frames");
    for (name, frame) in frames {
        group.bench_function(name, |b| {
            b.iter(|| {
                let reply =
                    futures_executor::block_on(plain.handle(&Calc, black_box(frame), &connection));
                black_box(reply)
            })
        });
    }
    group.finish();
}

criterion_group!(benches, pipeline);
criterion_main!(benches);
