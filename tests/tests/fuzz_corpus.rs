//! Replays every input the fuzzers kept (their corpus, and any crash they
//! found) through the same checks, so that what they learned guards against
//! regressions without fuzzing for minutes. See `fuzz/`.

use std::path::{Path, PathBuf};

#[path = "../../fuzz/harness/frame.rs"]
mod frame;
#[path = "../../fuzz/harness/http.rs"]
mod http;
#[path = "../../fuzz/harness/params.rs"]
mod params;

fn inputs(target: &str) -> Vec<PathBuf> {
    let fuzz = Path::new(env!("CARGO_MANIFEST_DIR")).join("../fuzz");
    let mut files = Vec::new();
    for dir in [
        fuzz.join("corpus").join(target),
        fuzz.join("artifacts").join(target),
    ] {
        if let Ok(entries) = std::fs::read_dir(&dir) {
            files.extend(
                entries
                    .filter_map(Result::ok)
                    .map(|e| e.path())
                    .filter(|p| p.is_file()),
            );
        }
    }
    files.sort();
    files
}

fn replay(target: &str, run: fn(&[u8])) {
    let files = inputs(target);
    assert!(!files.is_empty(), "the {target} corpus is missing");
    for file in &files {
        let data = std::fs::read(file).unwrap();
        let outcome = std::panic::catch_unwind(|| run(&data));
        assert!(
            outcome.is_ok(),
            "{} failed the {target} checks",
            file.display()
        );
    }
}

#[test]
fn the_frame_corpus_passes() {
    replay("frame", frame::run);
}

#[test]
fn the_params_corpus_passes() {
    replay("params", params::run);
}

#[test]
fn the_http_corpus_passes() {
    replay("http", http::run);
}
