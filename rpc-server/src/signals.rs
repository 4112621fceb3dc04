//! Waiting for the operating system to ask the process to stop.

/// Completes when the process is asked to stop: SIGTERM (what systemd,
/// Docker and Kubernetes send on every deploy) or SIGINT (ctrl-c) on Unix,
/// ctrl-c elsewhere. Hand it to
/// [`Serve::with_graceful_shutdown`](crate::Serve::with_graceful_shutdown):
/// calls already received are answered, every client gets a 1001 close,
/// and `serve` returns, so the process exits 0. If the signals cannot be
/// listened to, it logs why and never completes.
///
/// ```no_run
/// use rpc_server::{rpc_service, serve, shutdown_signal};
///
/// struct Ping;
///
/// #[rpc_service]
/// impl Ping {
///     fn ping(&self) -> &'static str {
///         "pong"
///     }
/// }
///
/// # async fn run() -> std::io::Result<()> {
/// serve("127.0.0.1:9000", Ping)?
///     .with_graceful_shutdown(shutdown_signal())
///     .await
/// # }
/// ```
pub async fn shutdown_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        match (
            signal(SignalKind::terminate()),
            signal(SignalKind::interrupt()),
        ) {
            (Ok(mut terminate), Ok(mut interrupt)) => {
                let name = tokio::select! {
                    _ = terminate.recv() => "SIGTERM",
                    _ = interrupt.recv() => "SIGINT",
                };
                tracing::info!(signal = name, "asked to stop: shutting down gracefully");
            }
            (Err(err), _) | (_, Err(err)) => {
                tracing::warn!(error = %err, "cannot listen for SIGTERM and SIGINT");
                std::future::pending::<()>().await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        if tokio::signal::ctrl_c().await.is_err() {
            tracing::warn!("cannot listen for ctrl-c");
            std::future::pending::<()>().await;
        }
        tracing::info!("asked to stop: shutting down gracefully");
    }
}
