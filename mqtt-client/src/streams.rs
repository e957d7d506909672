//! Message streams: bounded queues the application reads, and what each message in them
//! still waits for.

use alloc::collections::VecDeque;
use alloc::vec::Vec;
use core::task::Waker;

use mqtt_proto::{QoS, TopicFilter};

use crate::event::StreamEnd;
use crate::message::Message;
use crate::settings::Overflow;
use crate::wakes::Wakes;

/// Names one message stream of a [`Core`](crate::Core).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct StreamId(pub(crate) u32);

impl StreamId {
    /// The default stream: messages that no other consumer takes.
    pub const DEFAULT: StreamId = StreamId(0);
}

/// A delivery waiting for its targets to accept a message; see `Core`.
pub(crate) type DeliveryKey = u64;

/// What a message beyond a stream's capacity still waits for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Held {
    /// Nothing: it is within capacity, or needs no acknowledgement.
    Nothing,
    /// Its delivery counts this stream as a target that has not accepted it yet.
    Delivery(DeliveryKey),
    /// A QoS 0 message that stops reading ([`Overflow::StopReading`]) until it is within
    /// capacity.
    Reading,
}

struct Entry {
    message: Message,
    held: Held,
}

/// Where a stream's messages come from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Source {
    /// Messages no other consumer takes.
    Default,
    /// Every message.
    All,
    /// Messages whose topic matches the filter.
    Filter(TopicFilter),
}

pub(crate) struct Stream {
    pub(crate) source: Source,
    /// Handles the application holds; the stream closes when the last one goes.
    pub(crate) handles: usize,
    queue: VecDeque<Entry>,
    waker: Option<Waker>,
    /// Set once no more messages will come.
    pub(crate) ended: Option<StreamEnd>,
    /// Entries that stop reading.
    reading: usize,
    /// Entries whose delivery waits for them.
    deliveries: usize,
}

impl Stream {
    fn new(source: Source) -> Stream {
        Stream {
            source,
            handles: 0,
            queue: VecDeque::new(),
            waker: None,
            ended: None,
            reading: 0,
            deliveries: 0,
        }
    }

    /// Whether it takes new messages.
    pub(crate) fn is_open(&self) -> bool {
        self.handles > 0 && self.ended.is_none()
    }

    pub(crate) fn wants(&self, topic: &mqtt_proto::TopicName) -> bool {
        match &self.source {
            Source::Default => false,
            Source::All => true,
            Source::Filter(filter) => filter.matches(topic),
        }
    }

    pub(crate) fn len(&self) -> usize {
        self.queue.len()
    }

    /// Adds a message. Within `capacity` it is accepted at once: its delivery, if any, goes to
    /// `accepted`. Beyond it, a QoS 1 or 2 message waits to be accepted, and a QoS 0 message
    /// follows `overflow`; returns how many messages were dropped for it.
    pub(crate) fn push(
        &mut self,
        message: Message,
        delivery: Option<DeliveryKey>,
        capacity: usize,
        overflow: Overflow,
        accepted: &mut Vec<DeliveryKey>,
        wakes: &mut Wakes,
    ) -> u64 {
        let mut dropped = 0;
        if self.queue.len() >= capacity && delivery.is_none() && message.qos == QoS::AtMostOnce {
            match overflow {
                Overflow::DropOldest => {
                    let oldest = self
                        .queue
                        .iter()
                        .position(|e| e.message.qos == QoS::AtMostOnce);
                    dropped = 1;
                    match oldest {
                        Some(index) => self.remove(index, capacity, accepted),
                        // Only QoS 1 and 2 messages, which wait for room: the new one goes.
                        None => return dropped,
                    }
                }
                Overflow::StopReading => {}
            }
        }
        let held = if self.queue.len() < capacity {
            accepted.extend(delivery);
            Held::Nothing
        } else if let Some(key) = delivery {
            self.deliveries += 1;
            Held::Delivery(key)
        } else if message.qos == QoS::AtMostOnce && overflow == Overflow::StopReading {
            self.reading += 1;
            Held::Reading
        } else {
            Held::Nothing
        };
        self.queue.push_back(Entry { message, held });
        if let Some(waker) = self.waker.take() {
            wakes.wake(waker);
        }
        dropped
    }

    /// Takes the oldest message; the first message beyond `capacity`, if any, is now within it.
    pub(crate) fn pop(
        &mut self,
        capacity: usize,
        accepted: &mut Vec<DeliveryKey>,
    ) -> Option<Message> {
        let entry = self.queue.pop_front()?;
        self.release(entry.held, accepted);
        self.promote(capacity, accepted);
        Some(entry.message)
    }

    /// Registers the waker of the reader waiting for a message.
    pub(crate) fn wait(&mut self, waker: &Waker) {
        match &self.waker {
            Some(old) if old.will_wake(waker) => {}
            _ => self.waker = Some(waker.clone()),
        }
    }

    /// No more messages will come; the reader wakes to see the end.
    pub(crate) fn end(&mut self, end: StreamEnd, wakes: &mut Wakes) {
        if self.ended.is_none() {
            self.ended = Some(end);
        }
        if let Some(waker) = self.waker.take() {
            wakes.wake(waker);
        }
    }

    /// Empties the stream: what was waiting is accepted (its reader is gone).
    pub(crate) fn clear(&mut self, accepted: &mut Vec<DeliveryKey>) {
        for entry in core::mem::take(&mut self.queue) {
            self.release(entry.held, accepted);
        }
    }

    /// Removes the messages waiting beyond capacity for a delivery `forget` names, without
    /// accepting them; what moves within capacity is accepted.
    pub(crate) fn forget(
        &mut self,
        forget: impl Fn(DeliveryKey) -> bool,
        capacity: usize,
        accepted: &mut Vec<DeliveryKey>,
    ) {
        let before = self.queue.len();
        self.queue.retain(|entry| match entry.held {
            Held::Delivery(key) => !forget(key),
            _ => true,
        });
        self.deliveries -= before - self.queue.len();
        for index in 0..capacity.min(self.queue.len()) {
            let held = core::mem::replace(&mut self.queue[index].held, Held::Nothing);
            self.release(held, accepted);
        }
    }

    /// Whether a QoS 0 message beyond capacity stops reading.
    pub(crate) fn stops_reading(&self) -> bool {
        self.reading > 0
    }

    /// How many messages wait beyond capacity for their delivery.
    pub(crate) fn waiting_deliveries(&self) -> usize {
        self.deliveries
    }

    fn remove(&mut self, index: usize, capacity: usize, accepted: &mut Vec<DeliveryKey>) {
        if let Some(entry) = self.queue.remove(index) {
            self.release(entry.held, accepted);
            self.promote(capacity, accepted);
        }
    }

    /// The entry at `capacity - 1` is within capacity: what it waited for is over.
    fn promote(&mut self, capacity: usize, accepted: &mut Vec<DeliveryKey>) {
        let Some(index) = capacity.checked_sub(1) else {
            return;
        };
        if let Some(entry) = self.queue.get_mut(index) {
            let held = core::mem::replace(&mut entry.held, Held::Nothing);
            self.release(held, accepted);
        }
    }

    fn release(&mut self, held: Held, accepted: &mut Vec<DeliveryKey>) {
        match held {
            Held::Nothing => {}
            Held::Delivery(key) => {
                self.deliveries -= 1;
                accepted.push(key);
            }
            Held::Reading => self.reading -= 1,
        }
    }
}

/// Every stream, by [`StreamId`]; the default stream is always slot 0.
pub(crate) struct Streams {
    slots: Vec<Option<Stream>>,
}

impl Streams {
    pub(crate) fn new() -> Streams {
        Streams {
            slots: alloc::vec![Some(Stream::new(Source::Default))],
        }
    }

    pub(crate) fn open(&mut self, source: Source) -> StreamId {
        let mut stream = Stream::new(source);
        stream.handles = 1;
        let index = match self.slots.iter().skip(1).position(Option::is_none) {
            Some(free) => {
                self.slots[free + 1] = Some(stream);
                free + 1
            }
            None => {
                self.slots.push(Some(stream));
                self.slots.len() - 1
            }
        };
        StreamId(u32::try_from(index).unwrap_or(u32::MAX))
    }

    pub(crate) fn get(&self, id: StreamId) -> Option<&Stream> {
        self.slots.get(id.0 as usize)?.as_ref()
    }

    pub(crate) fn get_mut(&mut self, id: StreamId) -> Option<&mut Stream> {
        self.slots.get_mut(id.0 as usize)?.as_mut()
    }

    /// Frees a stream's slot; the default stream's stays.
    pub(crate) fn remove(&mut self, id: StreamId) -> Option<Stream> {
        if id == StreamId::DEFAULT {
            return None;
        }
        self.slots.get_mut(id.0 as usize)?.take()
    }

    pub(crate) fn iter(&self) -> impl Iterator<Item = (StreamId, &Stream)> {
        self.slots
            .iter()
            .enumerate()
            .filter_map(|(i, s)| Some((StreamId(i as u32), s.as_ref()?)))
    }

    pub(crate) fn iter_mut(&mut self) -> impl Iterator<Item = &mut Stream> {
        self.slots.iter_mut().flatten()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use mqtt_proto::{Publish, TopicName};

    fn message(qos: QoS, n: u8) -> Message {
        let mut publish = Publish::new(TopicName::new("t").unwrap(), alloc::vec![n]);
        publish.qos = qos;
        Message::from(publish)
    }

    #[test]
    fn deliveries_beyond_capacity_are_accepted_as_room_frees() {
        let mut stream = Stream::new(Source::All);
        let mut accepted = Vec::new();
        for key in 0..4 {
            let m = message(QoS::AtLeastOnce, key as u8);
            stream.push(
                m,
                Some(key),
                2,
                Overflow::DropOldest,
                &mut accepted,
                &mut Wakes::default(),
            );
        }
        assert_eq!(accepted, [0, 1]);
        assert_eq!(stream.waiting_deliveries(), 2);
        accepted.clear();
        assert_eq!(stream.pop(2, &mut accepted).unwrap().payload[0], 0);
        assert_eq!(accepted, [2]);
        stream.clear(&mut accepted);
        assert_eq!(accepted, [2, 3]);
        assert_eq!(stream.waiting_deliveries(), 0);
    }

    #[test]
    fn drop_oldest_drops_qos0_and_keeps_the_bound() {
        let mut stream = Stream::new(Source::All);
        let mut accepted = Vec::new();
        let mut dropped = 0;
        for n in 0..10 {
            dropped += stream.push(
                message(QoS::AtMostOnce, n),
                None,
                3,
                Overflow::DropOldest,
                &mut accepted,
                &mut Wakes::default(),
            );
        }
        assert_eq!((stream.len(), dropped), (3, 7));
        let kept: Vec<u8> = core::iter::from_fn(|| stream.pop(3, &mut accepted))
            .map(|m| m.payload[0])
            .collect();
        assert_eq!(kept, [7, 8, 9]);
    }

    #[test]
    fn stop_reading_holds_qos0_beyond_capacity() {
        let mut stream = Stream::new(Source::All);
        let mut accepted = Vec::new();
        for n in 0..3 {
            stream.push(
                message(QoS::AtMostOnce, n),
                None,
                2,
                Overflow::StopReading,
                &mut accepted,
                &mut Wakes::default(),
            );
        }
        assert!(stream.stops_reading());
        stream.pop(2, &mut accepted);
        assert!(!stream.stops_reading());
        assert_eq!(stream.len(), 2);
    }
}
