//! The API explorer (`GET /explorer`) in a real headless Chromium, driven by
//! `tests/explorer/explorer.mjs` (playwright-core) against the running
//! calculator, chat and seed_tour examples: methods listed, a result, an
//! error with its code, a notification, a token, and no request anywhere
//! but the server.
//!
//! Without node, Debian's chromium or the npm package, the test says so
//! and passes, unless `RPC_REQUIRE_BROWSER` is set (as `.ci/run` does).

mod common;

use std::io::Write as _;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::running::start;

const LIMIT: Duration = Duration::from_secs(90);

/// Why the browser test cannot run here, if it cannot.
fn missing(driver: &Path) -> Option<&'static str> {
    let runs = |program: &str| {
        Command::new(program)
            .arg("--version")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|status| status.success())
    };
    if !runs("node") {
        Some("node is not installed")
    } else if !driver.join("node_modules/playwright-core").is_dir() {
        Some("playwright-core is not installed (run `npm ci` in tests/explorer)")
    } else if std::env::var_os("CHROMIUM").is_none() && !Path::new("/usr/bin/chromium").exists() {
        Some("Debian's chromium is not installed")
    } else {
        None
    }
}

#[test]
fn the_explorer_works_in_headless_chromium() {
    let driver = Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/explorer");
    if let Some(why) = missing(&driver) {
        assert!(
            std::env::var_os("RPC_REQUIRE_BROWSER").is_none(),
            "the browser test is required but {why}"
        );
        // Straight to the terminal: the test harness captures `eprintln!`.
        let _ = writeln!(
            std::io::stderr(),
            "SKIPPED the_explorer_works_in_headless_chromium: {why}"
        );
        return;
    }
    let calculator = start("calculator");
    let chat = start("chat");
    let tour = start("seed_tour");
    let url = |example: &common::running::Running| format!("http://{}", example.addr);
    let mut node = Command::new("node")
        .current_dir(&driver)
        .arg("explorer.mjs")
        .args(["--calculator", &url(&calculator)])
        .args(["--chat", &url(&chat)])
        .args(["--tour", &url(&tour)])
        .args(
            std::env::var("RPC_EXPLORER_SCREENSHOT")
                .map(|path| vec!["--screenshot".to_owned(), path])
                .unwrap_or_default(),
        )
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run node");
    let deadline = Instant::now() + LIMIT;
    while node.try_wait().expect("wait").is_none() {
        if Instant::now() > deadline {
            let _ = node.kill();
            break;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let output = node.wait_with_output().expect("node's output");
    assert!(
        output.status.success(),
        "the explorer failed in Chromium (or ran past {LIMIT:?}):\n{}\n{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
}
