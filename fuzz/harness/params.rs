//! The params target's logic, shared by the fuzz target and by the test
//! that replays the corpus (`tests/tests/fuzz_corpus.rs`).

use rpc_server::__private::{ParamList, decode};
use rpc_server::Params;
use serde::Deserialize;
use serde_json::value::RawValue;

#[derive(Deserialize)]
#[allow(dead_code)]
struct Point {
    x: f64,
    y: Option<f64>,
}

#[derive(Deserialize)]
#[allow(dead_code)]
enum Shape {
    Circle(f64),
    Square { side: u32 },
}

fn check<'a, P: ParamList<'a>>(params: Params<'a>, names: &'static [&'static str]) {
    if let Err(error) = decode::<P>(params, names) {
        assert_eq!(error.code().code(), -32602);
    }
}

/// Any params into the typed decoders, by position and by name: never a
/// panic; a failure is always INVALID_PARAMS.
pub(crate) fn run(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let Ok(raw) = serde_json::from_str::<&RawValue>(text) else {
        return;
    };
    if !matches!(raw.get().as_bytes().first(), Some(b'[' | b'{')) {
        return;
    }
    let params = Params::new(raw);
    check::<()>(params, &[]);
    check::<(i64, String)>(params, &["a", "b"]);
    check::<(Option<u8>, Vec<Point>, Option<Shape>)>(params, &["n", "points", "shape"]);
    check::<(bool, f32, Option<String>, Option<i128>)>(params, &["flag", "x", "s", "big"]);
}
