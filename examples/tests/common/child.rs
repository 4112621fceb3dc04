//! Waiting for a child process within a time limit, its output read as it
//! runs (a full pipe would stall it). Shared by the tests that run node and
//! rpc-cli's tests of the `rpc` binary.

#![allow(dead_code, unreachable_pub)]

use std::io::Read;
use std::process::{Child, Output};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// Waits for `child`, reading its piped stdout and stderr meanwhile; past
/// `limit` it is killed, and `Err` holds what it printed.
pub fn wait(mut child: Child, limit: Duration) -> Result<Output, Output> {
    let stdout = drain(child.stdout.take());
    let stderr = drain(child.stderr.take());
    let deadline = Instant::now() + limit;
    let (status, in_time) = loop {
        if let Some(status) = child.try_wait().expect("wait") {
            break (status, true);
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            break (child.wait().expect("wait"), false);
        }
        std::thread::sleep(Duration::from_millis(10));
    };
    let output = Output {
        status,
        stdout: stdout.join().expect("stdout"),
        stderr: stderr.join().expect("stderr"),
    };
    if in_time { Ok(output) } else { Err(output) }
}

fn drain(pipe: Option<impl Read + Send + 'static>) -> JoinHandle<Vec<u8>> {
    std::thread::spawn(move || {
        let mut bytes = Vec::new();
        if let Some(mut pipe) = pipe {
            let _ = pipe.read_to_end(&mut bytes);
        }
        bytes
    })
}
