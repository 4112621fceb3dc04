//! Running the Node.js programs some tests drive (the browser test, the
//! generated TypeScript client), or saying why they cannot run here.

#![allow(dead_code, unreachable_pub)]

#[path = "child.rs"]
mod child;

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::Duration;

/// The npm project in `tests/NAME` of the workspace.
pub fn project(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../tests")
        .join(name)
}

/// Whether the test can run: node answers and `package` is installed in
/// `project`. If not, the test is skipped, saying so on the terminal,
/// unless `required_by` (an environment variable `.ci/run` sets) is set,
/// in which case it fails.
pub fn available(project: &Path, package: &str, required_by: &str) -> bool {
    let node = Command::new("node")
        .arg("--version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|status| status.success());
    let why = if !node {
        "node is not installed".to_owned()
    } else if !project.join("node_modules").join(package).is_dir() {
        format!(
            "{package} is not installed (run `npm ci` in {})",
            project.display()
        )
    } else {
        return true;
    };
    skip(&why, required_by);
    false
}

/// The explorer's browser test can run: playwright-core in
/// `tests/explorer`, and Debian's chromium (or `$CHROMIUM`). Else skipped,
/// or failed under `RPC_REQUIRE_BROWSER`.
pub fn browser_available() -> bool {
    if !available(
        &project("explorer"),
        "playwright-core",
        "RPC_REQUIRE_BROWSER",
    ) {
        return false;
    }
    let chromium = std::env::var("CHROMIUM").unwrap_or_else(|_| "/usr/bin/chromium".to_owned());
    if !Path::new(&chromium).exists() {
        skip(&format!("there is no {chromium}"), "RPC_REQUIRE_BROWSER");
        return false;
    }
    true
}

/// Says on the terminal that the test is skipped and why, or fails it if
/// `required_by` is set.
pub fn skip(why: &str, required_by: &str) {
    assert!(
        std::env::var_os(required_by).is_none(),
        "{required_by} is set but {why}"
    );
    // Straight to the terminal: the test harness captures `eprintln!`.
    let _ = writeln!(std::io::stderr(), "SKIPPED: {why}");
}

/// Runs `node ARGS` in `project`, killed past `limit`; fails the test
/// unless it succeeds, showing what it printed.
pub fn run(project: &Path, args: &[&str], limit: Duration) -> Output {
    let child = Command::new("node")
        .current_dir(project)
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run node");
    let output = child::wait(child, limit).unwrap_or_else(|killed| killed);
    assert!(
        output.status.success(),
        "node {args:?} failed (or ran past {limit:?}):\n{}\n{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    output
}
