//! What a method can know about the call it is serving and its connection.

use std::any::{Any, TypeId};
use std::collections::HashMap;
use std::fmt;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use crate::id::{Id, OwnedId};

/// A map of values keyed by their type, for what hooks learn about a
/// connection (the authenticated user, a session, granted permissions) and
/// handlers read back.
///
/// ```
/// use rpc_core::Extensions;
///
/// #[derive(Debug, PartialEq)]
/// struct User(String);
///
/// let mut ext = Extensions::new();
/// ext.insert(User("ada".into()));
/// assert_eq!(ext.get::<User>(), Some(&User("ada".into())));
/// assert_eq!(ext.get::<u32>(), None);
/// ```
#[derive(Default)]
pub struct Extensions {
    map: HashMap<TypeId, Box<dyn Any + Send + Sync>>,
}

impl Extensions {
    /// An empty map.
    pub fn new() -> Self {
        Self::default()
    }

    /// Stores `value`, returning the previous value of the same type.
    pub fn insert<T: Send + Sync + 'static>(&mut self, value: T) -> Option<T> {
        self.map
            .insert(TypeId::of::<T>(), Box::new(value))
            .and_then(|old| old.downcast().ok().map(|old| *old))
    }

    /// The stored value of type `T`.
    pub fn get<T: Send + Sync + 'static>(&self) -> Option<&T> {
        self.map.get(&TypeId::of::<T>())?.downcast_ref()
    }

    /// Removes and returns the stored value of type `T`.
    pub fn remove<T: Send + Sync + 'static>(&mut self) -> Option<T> {
        self.map
            .remove(&TypeId::of::<T>())
            .and_then(|old| old.downcast().ok().map(|old| *old))
    }

    /// How many values are stored.
    pub fn len(&self) -> usize {
        self.map.len()
    }

    /// Whether nothing is stored.
    pub fn is_empty(&self) -> bool {
        self.map.is_empty()
    }
}

impl fmt::Debug for Extensions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Extensions")
            .field("len", &self.map.len())
            .finish()
    }
}

/// What a transport knows about one connection, shared by every call on it.
///
/// Transports fill this in when a client connects; the in-memory harness
/// uses [`ConnectionInfo::detached`].
#[derive(Debug)]
#[non_exhaustive]
pub struct ConnectionInfo {
    /// A process-unique number for the connection.
    pub id: u64,
    /// The peer's address, when the transport has one.
    pub remote_addr: Option<SocketAddr>,
    /// Typed values that hooks stored for this connection.
    pub extensions: Extensions,
}

impl ConnectionInfo {
    /// Information for a new connection, with a fresh id.
    pub fn new(remote_addr: Option<SocketAddr>, extensions: Extensions) -> Self {
        static NEXT_ID: AtomicU64 = AtomicU64::new(1);
        Self {
            id: NEXT_ID.fetch_add(1, Ordering::Relaxed),
            remote_addr,
            extensions,
        }
    }

    /// A connection with no transport behind it (tests, the in-memory
    /// harness).
    pub fn detached() -> Arc<Self> {
        Arc::new(Self::new(None, Extensions::new()))
    }
}

/// The context of one call, given to a method that takes `&RpcContext`.
///
/// It is built only for methods that ask for it, so methods that don't pay
/// nothing for it.
#[derive(Debug, Clone)]
pub struct RpcContext {
    method: Box<str>,
    id: Option<OwnedId>,
    connection: Arc<ConnectionInfo>,
}

impl RpcContext {
    /// The context of a call to `method` with `id` (`None` for a
    /// notification) on `connection`.
    pub fn new(method: &str, id: Option<Id<'_>>, connection: Arc<ConnectionInfo>) -> Self {
        Self {
            method: method.into(),
            id: id.map(|id| id.to_owned()),
            connection,
        }
    }

    /// The method name as the client sent it.
    pub fn method(&self) -> &str {
        &self.method
    }

    /// The request id, exactly as received; `None` for a notification.
    pub fn id(&self) -> Option<Id<'_>> {
        self.id.as_ref().map(OwnedId::as_id)
    }

    /// Whether the call is a notification (no reply will be sent).
    pub fn is_notification(&self) -> bool {
        self.id.is_none()
    }

    /// The connection the call arrived on.
    pub fn connection(&self) -> &Arc<ConnectionInfo> {
        &self.connection
    }

    /// The peer's address, when the transport has one.
    pub fn remote_addr(&self) -> Option<SocketAddr> {
        self.connection.remote_addr
    }

    /// Typed values stored for the connection.
    pub fn extensions(&self) -> &Extensions {
        &self.connection.extensions
    }
}
