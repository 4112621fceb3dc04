//! The server-wide cap on bytes waiting to be written to WebSocket clients
//! (`ServerConfig::max_outgoing_bytes`): past it, the connections holding
//! the most are closed as too slow ([`DisconnectReason::TooSlow`]) until
//! what the others hold fits.
//!
//! Each connection counts what it holds exactly, in its [`Account`]: its
//! queue, the replies held for its next write, and what it has handed to
//! the socket and not yet seen flushed. The server's total moves only when
//! a connection's holding crosses a [`STEP`], and what a connection holds
//! up to [`UNCOUNTED`] is not counted at all: ordinary traffic never
//! touches the shared counter, and one in-flight 64 KiB reply closes
//! nobody.
//!
//! [`DisconnectReason::TooSlow`]: rpc_core::DisconnectReason::TooSlow

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

use prometheus_client::metrics::counter::Counter;
use tokio::sync::Notify;

/// What a connection may hold without being counted.
pub(crate) const UNCOUNTED: usize = 64 * 1024;

/// The grain of the server's count.
pub(crate) const STEP: usize = 64 * 1024;

/// What a connection holding `bytes` counts for.
fn weight(bytes: usize) -> usize {
    if bytes <= UNCOUNTED {
        0
    } else {
        bytes.div_ceil(STEP) * STEP
    }
}

/// The server's outgoing bytes, and the connections that hold any.
#[derive(Debug)]
pub(crate) struct OutgoingBudget {
    limit: usize,
    /// The weights of the accounts not yet told to close. Only a trigger:
    /// the decision to close anyone is made on the accounts' exact bytes.
    used: AtomicUsize,
    /// Accounts that have been counted, by address, until their connection
    /// ends.
    counted: Mutex<HashMap<usize, Arc<Account>>>,
    /// Counts pushes a full queue refused, when metrics are on.
    drops: Option<Counter>,
}

impl OutgoingBudget {
    pub(crate) fn new(limit: usize) -> Arc<Self> {
        Self::counting_drops(limit, None)
    }

    /// A budget whose connections count the pushes their full queues
    /// refuse in `drops`.
    pub(crate) fn counting_drops(limit: usize, drops: Option<Counter>) -> Arc<Self> {
        Arc::new(Self {
            limit,
            used: AtomicUsize::new(0),
            counted: Mutex::default(),
            drops,
        })
    }

    /// A new connection's account.
    pub(crate) fn account(self: &Arc<Self>) -> Arc<Account> {
        Arc::new(Account {
            bytes: AtomicUsize::new(0),
            charged: AtomicUsize::new(0),
            told_to_close: AtomicBool::new(false),
            counted: AtomicBool::new(false),
            close: Notify::new(),
            budget: Arc::clone(self),
        })
    }

    fn counted(&self) -> MutexGuard<'_, HashMap<usize, Arc<Account>>> {
        self.counted
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Past the limit: tells the connections holding the most to close,
    /// until what the rest hold fits.
    fn shed(&self) {
        let counted = self.counted();
        let mut heaviest: Vec<(usize, &Arc<Account>)> = counted
            .values()
            .filter(|account| !account.told_to_close.load(Ordering::Acquire))
            .map(|account| (weight(account.bytes.load(Ordering::Acquire)), account))
            .collect();
        let mut total: usize = heaviest.iter().map(|(weight, _)| weight).sum();
        if total <= self.limit {
            return;
        }
        heaviest.sort_unstable_by_key(|&(weight, _)| std::cmp::Reverse(weight));
        let (mut closed, mut freed) = (0, 0);
        for (weight, account) in heaviest {
            if total <= self.limit {
                break;
            }
            account.tell_to_close();
            total -= weight;
            closed += 1;
            freed += weight;
        }
        tracing::warn!(
            limit = self.limit,
            closed,
            freed,
            "max_outgoing_bytes reached: closing the connections holding the most as too slow"
        );
    }

    /// Bytes counted now.
    #[cfg(test)]
    fn used(&self) -> usize {
        self.used.load(Ordering::Acquire)
    }
}

/// What one connection holds of what is to be written to it.
#[derive(Debug)]
pub(crate) struct Account {
    /// Exactly.
    bytes: AtomicUsize,
    /// Its weight as added to the server's count (and not yet taken back).
    charged: AtomicUsize,
    told_to_close: AtomicBool,
    counted: AtomicBool,
    /// Rung to close the connection as too slow: by the budget, or by a
    /// push finding the connection's own queue full.
    close: Notify,
    budget: Arc<OutgoingBudget>,
}

impl Account {
    /// A push did not fit in the connection's queue.
    pub(crate) fn push_refused(&self) {
        if let Some(drops) = &self.budget.drops {
            drops.inc();
        }
    }

    pub(crate) fn add(self: &Arc<Self>, bytes: usize) {
        let before = self.bytes.fetch_add(bytes, Ordering::AcqRel);
        self.reweigh(before, before + bytes);
    }

    pub(crate) fn sub(self: &Arc<Self>, bytes: usize) {
        let before = self.bytes.fetch_sub(bytes, Ordering::AcqRel);
        self.reweigh(before, before - bytes);
    }

    /// Brings the server's count up to date with one change of `bytes`.
    /// Changes are applied in the order of `bytes`'s changes, so their
    /// steps add up to the account's weight, whichever thread makes them.
    fn reweigh(self: &Arc<Self>, before: usize, after: usize) {
        let (was, now) = (weight(before), weight(after));
        if was == now || self.told_to_close.load(Ordering::Acquire) {
            return;
        }
        let budget = &self.budget;
        if now < was {
            self.charged.fetch_sub(was - now, Ordering::AcqRel);
            budget.used.fetch_sub(was - now, Ordering::AcqRel);
            return;
        }
        if !self.counted.swap(true, Ordering::AcqRel) {
            budget.counted().insert(self.key(), Arc::clone(self));
        }
        self.charged.fetch_add(now - was, Ordering::AcqRel);
        let used = budget.used.fetch_add(now - was, Ordering::AcqRel) + (now - was);
        // The count may run ahead of the accounts for a moment (a decrease
        // not yet applied): `shed` decides on their exact bytes.
        if used > budget.limit && used < usize::MAX / 2 {
            budget.shed();
        }
    }

    /// Closes the connection as too slow; it no longer counts against the
    /// server's budget (its memory goes as it closes).
    pub(crate) fn tell_to_close(&self) {
        if !self.told_to_close.swap(true, Ordering::AcqRel) {
            let charged = self.charged.swap(0, Ordering::AcqRel);
            self.budget.used.fetch_sub(charged, Ordering::AcqRel);
        }
        self.close.notify_one();
    }

    /// Completes once the connection is told to close.
    pub(crate) async fn told_to_close(&self) {
        self.close.notified().await;
    }

    /// The connection has ended: whatever it still counts goes back.
    pub(crate) fn retire(&self) {
        let charged = self.charged.swap(0, Ordering::AcqRel);
        self.budget.used.fetch_sub(charged, Ordering::AcqRel);
        if self.counted.load(Ordering::Acquire) {
            self.budget.counted().remove(&self.key());
        }
    }

    fn key(&self) -> usize {
        std::ptr::from_ref(self) as usize
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const KIB: usize = 1024;

    #[test]
    fn small_holdings_are_not_counted_and_large_ones_by_steps() {
        assert_eq!(weight(0), 0);
        assert_eq!(weight(UNCOUNTED), 0);
        assert_eq!(weight(UNCOUNTED + 1), 2 * STEP);
        assert_eq!(weight(3 * STEP), 3 * STEP);
        let budget = OutgoingBudget::new(usize::MAX / 4);
        let account = budget.account();
        account.add(10 * KIB);
        assert_eq!(budget.used(), 0);
        account.add(100 * KIB);
        assert_eq!(budget.used(), 128 * KIB);
        account.sub(100 * KIB);
        assert_eq!(budget.used(), 0);
        account.add(1_000 * KIB);
        account.retire();
        assert_eq!(budget.used(), 0);
        assert!(budget.counted().is_empty());
    }

    #[tokio::test]
    async fn past_the_limit_the_heaviest_are_told_to_close_until_the_rest_fit() {
        let budget = OutgoingBudget::new(1_000 * KIB);
        let accounts: Vec<_> = (0..4).map(|_| budget.account()).collect();
        accounts[0].add(300 * KIB);
        accounts[1].add(500 * KIB);
        accounts[2].add(100 * KIB);
        assert_eq!(budget.used(), 960 * KIB);
        // 1,408 KiB: closing the heaviest (500) leaves 908, which fits.
        accounts[3].add(400 * KIB);
        let told = |account: &Arc<Account>| account.told_to_close.load(Ordering::Acquire);
        assert!(told(&accounts[1]));
        assert!(!told(&accounts[0]) && !told(&accounts[2]) && !told(&accounts[3]));
        assert_eq!(budget.used(), 896 * KIB);
        // Its connection sees it, and its later changes count for nothing.
        accounts[1].told_to_close().await;
        accounts[1].add(5_000 * KIB);
        assert_eq!(budget.used(), 896 * KIB);
        for account in &accounts {
            account.retire();
        }
        assert_eq!(budget.used(), 0);
        assert!(budget.counted().is_empty());
    }
}
