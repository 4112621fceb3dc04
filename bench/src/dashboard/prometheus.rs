//! A Prometheus of the run's own (Debian's `prometheus`): it scrapes the
//! instances' metrics every second into a temporary directory, and
//! evaluates the dashboard's queries over the run.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

use serde_json::Value;
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::TcpStream;
use tokio::process::{Child, Command};

/// How often the instances are scraped.
pub const SCRAPE_INTERVAL: Duration = Duration::from_secs(1);

/// A running Prometheus, stopped when dropped.
#[derive(Debug)]
pub struct Prometheus {
    addr: SocketAddr,
    _process: Child,
}

/// One series of a range query: its labels and its points (seconds since
/// the epoch, value; `NaN` where the query has no value).
#[derive(Debug, Clone)]
pub struct Series {
    /// The series' labels.
    pub labels: serde_json::Map<String, Value>,
    /// Its points, in time order.
    pub points: Vec<(f64, f64)>,
}

impl Prometheus {
    /// Starts `binary`, storing into `dir`, scraping each of `targets`
    /// (named by the first of each pair: the `instance` label).
    pub async fn start(
        binary: &Path,
        dir: &Path,
        targets: &[(String, SocketAddr)],
    ) -> Result<Self, String> {
        let config = dir.join("prometheus.yml");
        let mut text = format!(
            "global:\n  scrape_interval: {0}s\n  evaluation_interval: {0}s\nscrape_configs:\n  - job_name: rpc\n    static_configs:\n",
            SCRAPE_INTERVAL.as_secs()
        );
        for (name, addr) in targets {
            text +=
                &format!("      - targets: ['{addr}']\n        labels: {{instance: '{name}'}}\n");
        }
        std::fs::write(&config, text).map_err(|e| e.to_string())?;
        let addr = free_port()?;
        let process = Command::new(binary)
            .arg(format!("--config.file={}", config.display()))
            .arg(format!(
                "--storage.tsdb.path={}",
                dir.join("data").display()
            ))
            .arg(format!("--web.listen-address={addr}"))
            .arg("--log.level=warn")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .map_err(|e| format!("{}: {e}", binary.display()))?;
        let prometheus = Self {
            addr,
            _process: process,
        };
        let deadline = Instant::now() + Duration::from_secs(30);
        while get(addr, "/-/ready").await.is_err() {
            if Instant::now() > deadline {
                return Err("Prometheus was not ready in 30 s".to_owned());
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        Ok(prometheus)
    }

    /// Evaluates `query` from `start` to `end` (seconds since the epoch)
    /// every `step`.
    pub async fn range(
        &self,
        query: &str,
        start: f64,
        end: f64,
        step: Duration,
    ) -> Result<Vec<Series>, String> {
        let path = format!(
            "/api/v1/query_range?query={}&start={start:.3}&end={end:.3}&step={}",
            encode(query),
            step.as_secs_f64()
        );
        let body = get(self.addr, &path)
            .await
            .map_err(|e| format!("{query}: {e}"))?;
        let reply: Value = serde_json::from_str(&body).map_err(|e| e.to_string())?;
        let result = reply["data"]["result"]
            .as_array()
            .ok_or_else(|| format!("{query}: {body}"))?;
        Ok(result
            .iter()
            .map(|series| Series {
                labels: series["metric"].as_object().cloned().unwrap_or_default(),
                points: series["values"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .filter_map(|point| {
                        let time = point[0].as_f64()?;
                        let value = point[1].as_str()?.parse().unwrap_or(f64::NAN);
                        Some((time, value))
                    })
                    .collect(),
            })
            .collect())
    }
}

/// The Prometheus binary: on the path, else Debian's.
pub fn find_binary() -> Option<PathBuf> {
    std::env::var_os("PATH")
        .into_iter()
        .flat_map(|path| std::env::split_paths(&path).collect::<Vec<_>>())
        .chain([PathBuf::from("/usr/bin")])
        .map(|dir| dir.join("prometheus"))
        .find(|binary| binary.is_file())
}

fn free_port() -> Result<SocketAddr, String> {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").map_err(|e| e.to_string())?;
    listener.local_addr().map_err(|e| e.to_string())
}

/// A GET over HTTP/1.0 (the answer ends with the connection: no chunks to
/// undo); the body of a 200.
async fn get(addr: SocketAddr, path: &str) -> Result<String, String> {
    let mut stream = TcpStream::connect(addr).await.map_err(|e| e.to_string())?;
    let request = format!("GET {path} HTTP/1.0\r\nhost: {addr}\r\n\r\n");
    stream
        .write_all(request.as_bytes())
        .await
        .map_err(|e| e.to_string())?;
    let mut response = Vec::new();
    stream
        .read_to_end(&mut response)
        .await
        .map_err(|e| e.to_string())?;
    let response = String::from_utf8(response).map_err(|e| e.to_string())?;
    let (head, body) = response.split_once("\r\n\r\n").ok_or("no end of headers")?;
    if head.split(' ').nth(1) != Some("200") {
        return Err(format!("{}: {body}", head.lines().next().unwrap_or("")));
    }
    Ok(body.to_owned())
}

/// Percent-encodes everything but the unreserved characters.
fn encode(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                char::from(b).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}
