//! This process's resources, for tests that check nothing leaks. Such
//! tests sit alone in their file, so the numbers are theirs.

#![allow(dead_code, unreachable_pub)]

/// Resident memory, in KiB (Linux).
pub fn rss_kib() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|line| line.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0)
}

/// Whether this process is the one [`in_own_process`] started.
const CHILD: &str = "RPC_TESTS_MEASURED_CHILD";

/// Runs the test `name` (of this test binary) again in a process of its
/// own whose glibc gives freed large buffers back to the system at once,
/// so that resident memory shows what the server holds. glibc's default
/// raises its mmap threshold as large buffers are freed, and then keeps up
/// to 32 MiB buffers in its heaps once freed: a test of many large
/// messages would measure the allocator. Returns `true` in that process
/// (run the test there), `false` in this one once it passed.
pub fn in_own_process(name: &str) -> bool {
    if std::env::var_os(CHILD).is_some() {
        return true;
    }
    let status = std::process::Command::new(std::env::current_exe().expect("the test binary"))
        .args([name, "--exact", "--nocapture", "--test-threads=1"])
        .env(CHILD, "1")
        .env("MALLOC_MMAP_THRESHOLD_", "131072")
        .status()
        .expect("the test binary runs");
    assert!(status.success(), "{name} failed in its own process");
    false
}

/// Open file descriptors.
pub fn open_fds() -> usize {
    std::fs::read_dir("/proc/self/fd")
        .map(Iterator::count)
        .unwrap_or(0)
}
