//! The http target's logic, shared by the fuzz target and by the test that
//! replays the corpus (`tests/tests/fuzz_corpus.rs`).

use rpc_server::rpc_service;

struct Target;

#[rpc_service]
impl Target {
    fn add(&self, a: i64, b: i64) -> i64 {
        a.wrapping_add(b)
    }

    #[rpc(notification)]
    fn note(&self, _line: String) {}
}

thread_local! {
    static RUNTIME: tokio::runtime::Runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a runtime");
}

/// Any bytes as the client's side of one connection (HTTP requests, or a
/// WebSocket upgrade): the server never panics, and answers in HTTP when it
/// answers at all.
pub(crate) fn run(data: &[u8]) {
    let output =
        RUNTIME.with(|runtime| runtime.block_on(rpc_server::__private::serve_bytes(Target, data)));
    if !output.is_empty() {
        assert!(
            output.starts_with(b"HTTP/1."),
            "not an HTTP response: {:?}",
            String::from_utf8_lossy(&output)
        );
    }
}
