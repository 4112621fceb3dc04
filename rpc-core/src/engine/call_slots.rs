//! The calls one connection may have running at once, counted per call: a
//! batch of a hundred takes a hundred slots, and its calls past the cap are
//! answered SERVER_OVERLOADED instead of running.

use std::sync::atomic::{AtomicUsize, Ordering};

/// A connection's running calls and their cap
/// ([`ConnectionInfo::with_call_limit`](crate::ConnectionInfo::with_call_limit)).
#[derive(Debug)]
pub(crate) struct CallSlots {
    max: usize,
    running: AtomicUsize,
}

/// One running call's slot, given back when dropped.
pub(crate) struct CallSlot<'a>(&'a CallSlots);

impl CallSlots {
    pub(crate) fn new(max: usize) -> Self {
        Self {
            max,
            running: AtomicUsize::new(0),
        }
    }

    /// A slot, or `None` when `max` calls are running.
    pub(crate) fn take(&self) -> Option<CallSlot<'_>> {
        let mut running = self.running.load(Ordering::Relaxed);
        loop {
            if running >= self.max {
                return None;
            }
            match self.running.compare_exchange_weak(
                running,
                running + 1,
                Ordering::AcqRel,
                Ordering::Relaxed,
            ) {
                Ok(_) => return Some(CallSlot(self)),
                Err(now) => running = now,
            }
        }
    }
}

impl Drop for CallSlot<'_> {
    fn drop(&mut self) {
        self.0.running.fetch_sub(1, Ordering::AcqRel);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slots_run_out_at_the_cap_and_come_back() {
        let slots = CallSlots::new(2);
        let a = slots.take().expect("first");
        let _b = slots.take().expect("second");
        assert!(slots.take().is_none());
        drop(a);
        assert!(slots.take().is_some());
    }
}
