//! Rate limits for each client: a WebSocket connection has buckets of its
//! own; the HTTP requests of one client address share theirs.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use rpc_core::{CallRates, MethodInfo, Rate};

/// How many client addresses the HTTP buckets may hold before those that
/// are full again (no different from new) are forgotten.
const PRUNE_AT: usize = 4_096;

/// The limits in force: the server's rate for every call, and each
/// method's own.
pub(crate) struct Rates {
    connection: Option<Rate>,
    /// The methods with a rate of their own.
    methods: Vec<MethodInfo>,
    http: Mutex<HashMap<IpAddr, (Arc<CallRates>, Instant)>>,
}

impl Rates {
    pub(crate) fn new(connection: Option<Rate>, methods: &[MethodInfo]) -> Self {
        let methods: Vec<MethodInfo> = methods
            .iter()
            .filter(|info| info.rate.is_some())
            .cloned()
            .collect();
        Self {
            connection,
            methods,
            http: Mutex::new(HashMap::new()),
        }
    }

    /// Fresh buckets for a new WebSocket connection; `None` when nothing is
    /// limited.
    pub(crate) fn for_connection(&self) -> Option<Arc<CallRates>> {
        CallRates::new(self.connection, &self.methods).map(Arc::new)
    }

    fn limited(&self) -> bool {
        self.connection.is_some() || !self.methods.is_empty()
    }

    /// The buckets the HTTP requests from `client` share.
    pub(crate) fn for_http_client(&self, client: IpAddr) -> Option<Arc<CallRates>> {
        if !self.limited() {
            return None;
        }
        let mut clients = self.http.lock().unwrap_or_else(|e| e.into_inner());
        let now = Instant::now();
        if let Some((rates, seen)) = clients.get_mut(&client) {
            *seen = now;
            return Some(Arc::clone(rates));
        }
        if clients.len() >= PRUNE_AT {
            clients.retain(|_, (rates, seen)| now.duration_since(*seen) < rates.refill_time());
        }
        let rates = self.for_connection()?;
        clients.insert(client, (Arc::clone(&rates), now));
        Some(rates)
    }
}
