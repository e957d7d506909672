//! [`StoreSlot`]: a store carried in options that are `Clone`.

use std::boxed::Box;
use std::sync::{Arc, Mutex, PoisonError};

use mqtt_session::Store;

/// A [`Store`] in an adapter's options, which are `Clone`: the first client built from them
/// takes it, and a client built from a clone afterwards gets none (it keeps its state in
/// memory). One durable store belongs to one client: two live clients writing the same one
/// would corrupt each other's state.
///
/// ```
/// use mqtt_client::StoreSlot;
/// use mqtt_client::session::MemoryStore;
///
/// let slot = StoreSlot::new(MemoryStore::new());
/// let copy = slot.clone();
/// assert!(copy.take().is_some());
/// assert!(slot.take().is_none(), "taken once");
/// ```
#[derive(Clone)]
pub struct StoreSlot(Arc<Mutex<Option<Box<dyn Store + Send>>>>);

impl StoreSlot {
    /// A slot holding `store`.
    pub fn new(store: impl Store + Send + 'static) -> StoreSlot {
        StoreSlot(Arc::new(Mutex::new(Some(Box::new(store)))))
    }

    /// The store, if no client took it yet.
    pub fn take(&self) -> Option<Box<dyn Store + Send>> {
        self.0.lock().unwrap_or_else(PoisonError::into_inner).take()
    }
}

impl core::fmt::Debug for StoreSlot {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        let full = self.0.lock().map(|s| s.is_some()).unwrap_or(false);
        f.debug_struct("StoreSlot")
            .field("holds_store", &full)
            .finish()
    }
}
