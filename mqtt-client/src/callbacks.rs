//! The seed's callbacks and hooks, which run outside the core's lock: [`CallbackRun`].

use alloc::boxed::Box;
use alloc::sync::Arc;
use alloc::vec::Vec;

use mqtt_session::{Callback, Command, Condition, Received, Router};

use crate::streams::DeliveryKey;

/// A hook run with the client handle: the seed's `aconnect_cb` (after each accepted connection)
/// and `breconnect_cb` (before each reconnection attempt).
pub type Hook<C> = Arc<dyn Fn(&C) + Send + Sync>;

/// The router and the hooks.
pub(crate) struct Callbacks<C> {
    pub(crate) router: Router<C>,
    pub(crate) after_connect: Option<Hook<C>>,
    pub(crate) before_reconnect: Option<Hook<C>>,
}

impl<C: 'static> Callbacks<C> {
    pub(crate) fn new() -> Callbacks<C> {
        Callbacks {
            router: Router::new(),
            after_connect: None,
            before_reconnect: None,
        }
    }

    pub(crate) fn apply(&mut self, registration: Registration<C>) {
        match registration {
            Registration::On {
                command,
                callback,
                condition: None,
            } => self.router.on(command, callback),
            Registration::On {
                command,
                callback,
                condition: Some((condition, priority)),
            } => self.router.on_if(command, callback, condition, priority),
            Registration::AfterConnect(hook) => self.after_connect = hook,
            Registration::BeforeReconnect(hook) => self.before_reconnect = hook,
        }
    }
}

/// A change to the callbacks, kept while they are out running.
pub(crate) enum Registration<C> {
    On {
        command: Command,
        callback: Callback<C>,
        condition: Option<(Condition, i32)>,
    },
    AfterConnect(Option<Hook<C>>),
    BeforeReconnect(Option<Hook<C>>),
}

/// One thing for the callbacks to do.
pub(crate) enum Work {
    /// A received packet for the router. For a message, `delivery` waits for the callback
    /// (automatic acknowledgement), or (manual) `lent` says its token waits in the core, where
    /// the callback may take it ([`Core::take_message`](crate::Core::take_message)) and where
    /// it is acknowledged when the callback returns otherwise; `sole` when no stream took the
    /// message, so that it goes to the default stream if no callback runs.
    Packet {
        received: Box<Received>,
        delivery: Option<DeliveryKey>,
        lent: bool,
        sole: bool,
    },
    AfterConnect,
    BeforeReconnect,
}

/// The callbacks and what they have to do, taken out of the [`Core`](crate::Core) by
/// [`poll_step`](crate::Core::poll_step) so that they run without its lock: a callback may use
/// the client it is given. Give it back with
/// [`finish_callbacks`](crate::Core::finish_callbacks).
#[must_use = "give it back to Core::finish_callbacks, or the callbacks are lost"]
pub struct CallbackRun<C> {
    pub(crate) callbacks: Box<Callbacks<C>>,
    pub(crate) work: Vec<Work>,
    /// Per work item, whether a callback ran.
    pub(crate) handled: Vec<bool>,
}

impl<C> CallbackRun<C> {
    /// Runs every callback due, in order, with `client`: the router's choice for each packet
    /// (the seed's `on(command, function, condition, priority)` rules) and the hooks.
    pub fn run(&mut self, client: &C) {
        for work in &self.work[self.handled.len()..] {
            let handled = match work {
                Work::Packet { received, .. } => self.callbacks.router.dispatch(client, received),
                Work::AfterConnect => run_hook(self.callbacks.after_connect.as_ref(), client),
                Work::BeforeReconnect => run_hook(self.callbacks.before_reconnect.as_ref(), client),
            };
            self.handled.push(handled);
        }
    }
}

fn run_hook<C>(hook: Option<&Hook<C>>, client: &C) -> bool {
    match hook {
        Some(hook) => {
            hook(client);
            true
        }
        None => false,
    }
}

impl<C> core::fmt::Debug for CallbackRun<C> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("CallbackRun")
            .field("work", &self.work.len())
            .field("done", &self.handled.len())
            .finish()
    }
}
