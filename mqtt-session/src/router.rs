//! The seed API's callback table: `on(command, callback, condition, priority)`.

use alloc::boxed::Box;
use alloc::vec::Vec;

use crate::event::{Command, Received};

/// A callback: receives the client handle and the packet's data.
pub type Callback<C> = Box<dyn FnMut(&C, &Received) + Send>;

/// A condition: whether a conditional callback applies to a packet.
pub type Condition = Box<dyn Fn(&Received) -> bool + Send>;

struct Conditional<C> {
    priority: i32,
    condition: Condition,
    callback: Callback<C>,
}

struct Table<C> {
    /// By priority, highest first; among equal priorities, in registration order.
    conditional: Vec<Conditional<C>>,
    generic: Option<Callback<C>>,
}

/// Callbacks for received packets, chosen as the Zerynth/paho client chooses them.
///
/// For each packet, among the callbacks registered *with* a condition for its [`Command`], the
/// one whose condition holds and whose priority is highest runs, and only that one (on a tie,
/// the one registered first). Only if no condition holds does the command's *generic* callback
/// run: the one registered without a condition, of which there is one per command (a later
/// registration replaces it).
///
/// `C` is whatever the adapter hands to callbacks, usually its client handle, so that a callback
/// can publish. Feed it the [`Event::Received`](crate::Event::Received) events of a session
/// configured with [`Config::packet_events`](crate::Config::packet_events).
///
/// ```
/// use mqtt_session::{Command, Received, Router};
///
/// fn is_cool(data: &Received) -> bool {
///     data.message.as_ref().is_some_and(|m| m.topic == "cool")
/// }
///
/// let mut router: Router<Vec<String>> = Router::new();
/// router.on_if(Command::Publish, |_log, _data| println!("cool!"), is_cool, 0);
/// router.on(Command::Publish, |_log, _data| println!("not cool"));
/// # let data = Received { command: Command::PingResp, message: None, packet_id: None, mid: None, reason_codes: vec![] };
/// # assert!(!router.dispatch(&Vec::new(), &data));
/// ```
pub struct Router<C> {
    tables: [Table<C>; Command::ALL.len()],
}

impl<C> Default for Router<C> {
    fn default() -> Self {
        Router {
            tables: core::array::from_fn(|_| Table {
                conditional: Vec::new(),
                generic: None,
            }),
        }
    }
}

impl<C> Router<C> {
    /// An empty router.
    pub fn new() -> Router<C> {
        Router::default()
    }

    /// Sets the generic callback for `command`, replacing the previous one: it runs when no
    /// conditional callback's condition holds.
    pub fn on(&mut self, command: Command, callback: impl FnMut(&C, &Received) + Send + 'static) {
        self.tables[command.index()].generic = Some(Box::new(callback));
    }

    /// Adds a conditional callback for `command`.
    pub fn on_if(
        &mut self,
        command: Command,
        callback: impl FnMut(&C, &Received) + Send + 'static,
        condition: impl Fn(&Received) -> bool + Send + 'static,
        priority: i32,
    ) {
        let list = &mut self.tables[command.index()].conditional;
        // After every entry of the same or higher priority, so ties keep registration order.
        let at = list.partition_point(|c| c.priority >= priority);
        list.insert(
            at,
            Conditional {
                priority,
                condition: Box::new(condition),
                callback: Box::new(callback),
            },
        );
    }

    /// Whether any callback is registered for `command`.
    pub fn handles(&self, command: Command) -> bool {
        let table = &self.tables[command.index()];
        table.generic.is_some() || !table.conditional.is_empty()
    }

    /// Removes every callback for `command`.
    pub fn clear(&mut self, command: Command) {
        let table = &mut self.tables[command.index()];
        table.conditional.clear();
        table.generic = None;
    }

    /// Runs the callback the rules choose for `data`; returns whether one ran.
    pub fn dispatch(&mut self, client: &C, data: &Received) -> bool {
        let table = &mut self.tables[data.command.index()];
        if let Some(c) = table.conditional.iter_mut().find(|c| (c.condition)(data)) {
            (c.callback)(client, data);
            return true;
        }
        match &mut table.generic {
            Some(callback) => {
                callback(client, data);
                true
            }
            None => false,
        }
    }
}

impl<C> core::fmt::Debug for Router<C> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        let mut map = f.debug_map();
        for (command, table) in Command::ALL.iter().zip(&self.tables) {
            if !table.conditional.is_empty() || table.generic.is_some() {
                map.entry(command, &(table.conditional.len(), table.generic.is_some()));
            }
        }
        map.finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::sync::Arc;
    use alloc::vec;
    use core::sync::atomic::{AtomicUsize, Ordering};

    fn data(command: Command, packet_id: u16) -> Received {
        Received {
            command,
            message: None,
            packet_id: mqtt_proto::PacketId::new(packet_id),
            mid: None,
            reason_codes: vec![],
        }
    }

    /// Records which callback ran, by number.
    fn recorder() -> (Arc<AtomicUsize>, impl Fn(usize) -> Callback<()>) {
        let ran = Arc::new(AtomicUsize::new(0));
        let r = ran.clone();
        (ran, move |n| {
            let r = r.clone();
            Box::new(move |_: &(), _: &Received| r.store(n, Ordering::SeqCst))
        })
    }

    #[test]
    fn highest_priority_matching_condition_wins_alone() {
        let (ran, cb) = recorder();
        let mut router = Router::new();
        router.on_if(Command::PubAck, cb(1), |_| true, 1);
        router.on_if(Command::PubAck, cb(5), |_| true, 5);
        router.on_if(Command::PubAck, cb(9), |_| false, 9);
        router.on(Command::PubAck, cb(100));
        assert!(router.dispatch(&(), &data(Command::PubAck, 1)));
        assert_eq!(ran.load(Ordering::SeqCst), 5);
    }

    #[test]
    fn tie_goes_to_first_registered() {
        let (ran, cb) = recorder();
        let mut router = Router::new();
        router.on_if(Command::PubAck, cb(1), |_| true, 3);
        router.on_if(Command::PubAck, cb(2), |_| true, 3);
        router.dispatch(&(), &data(Command::PubAck, 1));
        assert_eq!(ran.load(Ordering::SeqCst), 1);
    }

    #[test]
    fn generic_runs_only_when_no_condition_holds_and_is_replaced() {
        let (ran, cb) = recorder();
        let mut router = Router::new();
        router.on_if(
            Command::PubAck,
            cb(1),
            |d| d.packet_id.map(|p| p.get()) == Some(7),
            0,
        );
        router.on(Command::PubAck, cb(2));
        router.on(Command::PubAck, cb(3));
        router.dispatch(&(), &data(Command::PubAck, 8));
        assert_eq!(ran.load(Ordering::SeqCst), 3);
        router.dispatch(&(), &data(Command::PubAck, 7));
        assert_eq!(ran.load(Ordering::SeqCst), 1);
    }

    #[test]
    fn commands_are_separate_and_nothing_registered_runs_nothing() {
        let (ran, cb) = recorder();
        let mut router = Router::new();
        router.on(Command::SubAck, cb(4));
        assert!(!router.dispatch(&(), &data(Command::UnsubAck, 1)));
        assert_eq!(ran.load(Ordering::SeqCst), 0);
        router.clear(Command::SubAck);
        assert!(!router.dispatch(&(), &data(Command::SubAck, 1)));
    }
}
