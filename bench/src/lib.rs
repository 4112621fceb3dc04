//! Benchmarks of `rpc-server` side by side with the limit underneath it (a
//! raw tokio-tungstenite echo) and the strongest Rust peer (jsonrpsee).
//!
//! The pieces, each a binary of this crate:
//!
//! - `loadgen`: the load generator. C connections × P requests in flight,
//!   a warm-up, then a timed window; every answer is checked; prints one
//!   JSON line with round trips per second and p50/p99/p999 latency.
//! - `echo_server`, `hyper_server`, `jsonrpsee_server`: the reference
//!   servers (the WebSocket limit, the HTTP limit, the peer). Ours is the
//!   `bench_server` example.
//! - `fanout`: broadcast fan-out to M members over one or two instances,
//!   with groups in process or on Redis, and redis-rs pub/sub alone; one
//!   instance filled to the descriptor limit (`scale`); and 100,000
//!   connections over several instances and member processes (`cluster`).
//! - `dashboard`: the Grafana dashboard's panels drawn over a real load
//!   run, each query evaluated by a Prometheus of the run's own.
//! - `compare`: runs every server and every scenario, interleaved and
//!   repeated, the server pinned to one core and the load to the other, and
//!   prints the Markdown table of `BENCHMARKS.md`.
//!
//! Run everything with `bash bench/run.sh` (see `BENCHMARKS.md`).

pub mod charts;
pub mod cluster;
pub mod dashboard;
pub mod fanout;
pub mod history;
pub mod idle;
pub mod load;
pub mod payload;
pub mod servers;
pub mod wrk;
