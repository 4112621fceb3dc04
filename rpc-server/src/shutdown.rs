//! The server-wide "stop" signal every connection listens to.

use tokio::sync::watch;

/// Sends the signal (once; later calls do nothing).
#[derive(Debug, Clone)]
pub(crate) struct Trigger(watch::Sender<bool>);

/// Waits for the signal.
#[derive(Debug, Clone)]
pub(crate) struct Signal(watch::Receiver<bool>);

pub(crate) fn channel() -> (Trigger, Signal) {
    let (tx, rx) = watch::channel(false);
    (Trigger(tx), Signal(rx))
}

impl Trigger {
    pub(crate) fn fire(&self) {
        self.0.send_replace(true);
    }

    pub(crate) fn signal(&self) -> Signal {
        Signal(self.0.subscribe())
    }
}

impl Signal {
    /// Completes once the signal has been sent (at once if it already was).
    /// Also completes if every trigger is gone: nobody can stop us then, and
    /// waiting forever would leak.
    pub(crate) async fn fired(&mut self) {
        let _ = self.0.wait_for(|fired| *fired).await;
    }

    pub(crate) fn has_fired(&self) -> bool {
        *self.0.borrow()
    }
}
