//! Finding a Redis for the tests that need one, and starting private
//! `redis-server`s that a test may stop and restart.
//!
//! A Redis is taken from `RPC_REDIS_URL`, else 127.0.0.1:6379 if it
//! answers. Under CI (`CI` set) a test without one fails; elsewhere it is
//! skipped with a loud message. `.ci/run` makes sure there is one.

#![allow(dead_code, unreachable_pub)]

use std::net::{SocketAddr, TcpListener};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::TcpStream;

/// The shared Redis's URL, or `None` (after saying so) when the test is to
/// be skipped.
pub async fn redis_url() -> Option<String> {
    if let Ok(url) = std::env::var("RPC_REDIS_URL") {
        return Some(url);
    }
    let default: SocketAddr = "127.0.0.1:6379".parse().expect("an address");
    if answers_ping(default).await {
        return Some(format!("redis://{default}"));
    }
    assert!(
        std::env::var_os("CI").is_none(),
        "no Redis: set RPC_REDIS_URL or run one on 127.0.0.1:6379 (.ci/run does)"
    );
    eprintln!("\n*** SKIPPED: no Redis (set RPC_REDIS_URL or run one on 127.0.0.1:6379) ***\n");
    None
}

/// Settings for tests: `prefix`, and short heartbeats, expiry, timeouts
/// and backoff, so that faults show in a fraction of a second.
pub fn quick_config(url: &str, prefix: &str) -> rpc_redis::RedisConfig {
    let mut config = rpc_redis::RedisConfig::new(url);
    config.prefix = prefix.to_owned();
    config.heartbeat = Duration::from_millis(200);
    config.expiry = Duration::from_secs(1);
    config.connect_timeout = Duration::from_millis(500);
    config.response_timeout = Duration::from_millis(500);
    config.max_backoff = Duration::from_millis(200);
    config
}

/// A server of `service` on a free port, sharing its groups through a
/// `RedisGroups` with `config` (connected before it returns).
pub async fn instance_of<S: rpc_server::service::Service>(
    config: rpc_redis::RedisConfig,
    service: S,
) -> (rpc_server::ServerHandle, rpc_redis::RedisGroups) {
    let groups = rpc_redis::RedisGroups::with_config(config).expect("a valid URL");
    assert!(groups.wait_connected(Duration::from_secs(5)).await);
    let handle = rpc_server::Server::builder()
        .groups(groups.clone())
        .serve("127.0.0.1:0", service)
        .expect("bound")
        .spawn();
    (handle, groups)
}

/// A prefix no other test (or earlier run) uses.
pub fn unique_prefix(test: &str) -> String {
    format!("test:{test}:{}", rpc_server::groups::InstanceId::random())
}

async fn answers_ping(addr: SocketAddr) -> bool {
    let attempt = async {
        let mut stream = TcpStream::connect(addr).await.ok()?;
        stream.write_all(b"PING\r\n").await.ok()?;
        let mut reply = [0; 7];
        stream.read_exact(&mut reply).await.ok()?;
        Some(&reply == b"+PONG\r\n")
    };
    matches!(
        tokio::time::timeout(Duration::from_secs(1), attempt).await,
        Ok(Some(true))
    )
}

/// A `redis-server` of the test's own, on a port of its own, that keeps
/// nothing on disk; killed when dropped.
pub struct PrivateRedis {
    port: u16,
    /// Speaks TLS only, with this certificate and key.
    tls: Option<(PathBuf, PathBuf)>,
    /// Keeps its data in an append-only file here, written before each
    /// answer, so that a restart (even after a kill) finds it again.
    durable: Option<PathBuf>,
    child: Option<Child>,
}

impl PrivateRedis {
    /// Starts one, or `None` (after saying so) where `redis-server` is not
    /// installed and this is not CI.
    pub async fn start() -> Option<Self> {
        Self::start_with(None).await
    }

    /// [`start`](Self::start), keeping its data on disk (an append-only
    /// file synced before each answer) across [`restart`](Self::restart),
    /// as a production Redis with `appendfsync always` does.
    pub async fn start_durable() -> Option<Self> {
        let dir = std::env::temp_dir().join(format!(
            "rpc-test-redis-{}",
            rpc_server::groups::InstanceId::random()
        ));
        std::fs::create_dir_all(&dir).expect("a temporary directory");
        let redis = Self::start_with_options(None, Some(dir)).await?;
        Some(redis)
    }

    /// [`start`](Self::start), speaking only TLS with this certificate
    /// and key (`rediss://`).
    pub async fn start_tls(cert: PathBuf, key: PathBuf) -> Option<Self> {
        Self::start_with(Some((cert, key))).await
    }

    async fn start_with(tls: Option<(PathBuf, PathBuf)>) -> Option<Self> {
        Self::start_with_options(tls, None).await
    }

    async fn start_with_options(
        tls: Option<(PathBuf, PathBuf)>,
        durable: Option<PathBuf>,
    ) -> Option<Self> {
        let port = TcpListener::bind("127.0.0.1:0")
            .and_then(|listener| listener.local_addr())
            .expect("a free port")
            .port();
        let mut redis = Self {
            port,
            tls,
            durable,
            child: None,
        };
        if !redis.spawn().await {
            assert!(
                std::env::var_os("CI").is_none(),
                "redis-server is not installed (.ci/run installs it)"
            );
            eprintln!("\n*** SKIPPED: redis-server is not installed ***\n");
            return None;
        }
        Some(redis)
    }

    pub fn url(&self) -> String {
        let scheme = if self.tls.is_some() {
            "rediss"
        } else {
            "redis"
        };
        format!("{scheme}://127.0.0.1:{}", self.port)
    }

    async fn spawn(&mut self) -> bool {
        let port = self.port.to_string();
        let mut command = Command::new("redis-server");
        match &self.tls {
            None => command.args(["--port", &port]),
            Some((cert, key)) => command
                .args([
                    "--port",
                    "0",
                    "--tls-port",
                    &port,
                    "--tls-auth-clients",
                    "no",
                ])
                .arg("--tls-cert-file")
                .arg(cert)
                .arg("--tls-key-file")
                .arg(key)
                .arg("--tls-ca-cert-file")
                .arg(cert),
        };
        match &self.durable {
            None => command.args(["--appendonly", "no"]),
            Some(dir) => command
                .args(["--appendonly", "yes", "--appendfsync", "always", "--dir"])
                .arg(dir),
        };
        let child = command
            .args(["--bind", "127.0.0.1", "--save", ""])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn();
        let Ok(child) = child else {
            return false;
        };
        self.child = Some(child);
        let addr = SocketAddr::from(([127, 0, 0, 1], self.port));
        for _ in 0..200 {
            let up = match self.tls {
                None => answers_ping(addr).await,
                // A TLS port is not for a plain PING: its listening is enough.
                Some(_) => TcpStream::connect(addr).await.is_ok(),
            };
            if up {
                return true;
            }
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
        panic!("redis-server did not come up on port {}", self.port);
    }

    /// Kills it (as a crash would: no goodbye to its clients).
    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Starts it again on the same port: empty, unless it is durable.
    pub async fn restart(&mut self) {
        self.stop();
        assert!(self.spawn().await, "redis-server restarts");
    }
}

impl Drop for PrivateRedis {
    fn drop(&mut self) {
        self.stop();
        if let Some(dir) = &self.durable {
            let _ = std::fs::remove_dir_all(dir);
        }
    }
}
