//! Runs an example's binary, as its header says to run it: on a free port,
//! killed when dropped. Shared by the examples' tests and rpc-cli's.

#![allow(dead_code, unreachable_pub)]

use std::io::{BufRead as _, BufReader};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

/// A running example, killed when dropped.
pub struct Running {
    pub child: Child,
    pub addr: SocketAddr,
    /// Its standard output, line by line.
    pub lines: std::sync::mpsc::Receiver<String>,
}

impl Running {
    /// Waits for an output line containing `needle`.
    pub fn wait_for_line(&self, needle: &str) -> String {
        loop {
            match self.lines.recv_timeout(Duration::from_secs(10)) {
                Ok(line) if line.contains(needle) => return line,
                Ok(_) => {}
                Err(_) => panic!("no output line containing {needle:?}"),
            }
        }
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// `cargo test` builds the examples next to the test binaries.
pub fn example_binary(name: &str) -> PathBuf {
    let exe = std::env::current_exe().expect("test binary path");
    let target = exe
        .parent()
        .and_then(|deps| deps.parent())
        .expect("target dir");
    target
        .join("examples")
        .join(format!("{name}{}", std::env::consts::EXE_SUFFIX))
}

/// Starts the example with `--addr 127.0.0.1:0` and waits for the line
/// saying where it listens.
pub fn start(name: &str) -> Running {
    start_with(name, &[], &[])
}

/// [`start`], with more arguments and environment variables.
pub fn start_with(name: &str, args: &[&str], env: &[(&str, &str)]) -> Running {
    let mut child = Command::new(example_binary(name))
        .args(["--addr", "127.0.0.1:0"])
        .args(args)
        .envs(env.iter().copied())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap_or_else(|err| {
            panic!("run example {name}: {err} (`cargo test` builds the examples; alone, run `cargo build -p examples --examples` first)")
        });
    let stdout = child.stdout.take().expect("stdout");
    let (tx, lines) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            let _ = tx.send(line);
        }
    });
    let addr = loop {
        let line = lines
            .recv_timeout(Duration::from_secs(30))
            .unwrap_or_else(|_| panic!("example {name} did not say where it listens"));
        if let Some(url) = line.strip_prefix("listening on ws://") {
            // The address, without the path of an endpoint mounted under one.
            let addr = url.split('/').next().unwrap_or(url);
            break addr.parse::<SocketAddr>().expect("an address");
        }
    };
    Running { child, addr, lines }
}
