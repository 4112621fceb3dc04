//! Running the Node.js programs some tests drive (the browser test, the
//! generated TypeScript client), or saying why they cannot run here.

#![allow(dead_code, unreachable_pub)]

use std::io::{Read, Write as _};
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

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
    let mut child = Command::new("node")
        .current_dir(project)
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run node");
    // Drained as it runs: a full pipe would stall it.
    let stdout = drain(child.stdout.take());
    let stderr = drain(child.stderr.take());
    let deadline = Instant::now() + limit;
    let status = loop {
        if let Some(status) = child.try_wait().expect("wait") {
            break status;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            break child.wait().expect("wait");
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    let output = Output {
        status,
        stdout: stdout.join().expect("stdout"),
        stderr: stderr.join().expect("stderr"),
    };
    assert!(
        output.status.success(),
        "node {args:?} failed (or ran past {limit:?}):\n{}\n{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    output
}

fn drain(pipe: Option<impl Read + Send + 'static>) -> std::thread::JoinHandle<Vec<u8>> {
    std::thread::spawn(move || {
        let mut bytes = Vec::new();
        if let Some(mut pipe) = pipe {
            let _ = pipe.read_to_end(&mut bytes);
        }
        bytes
    })
}
