//! MQTT 5.0 Topic Aliases (§3.3.2.3.4), both ways. Aliases belong to one connection.

use alloc::collections::BTreeMap;
use alloc::vec::Vec;
use core::num::NonZeroU16;

use mqtt_proto::{ByteString, TopicName};

#[derive(Default)]
pub(crate) struct Aliases {
    /// Topic name to alias, for what the client sends; at most the server's maximum.
    outbound: BTreeMap<ByteString, NonZeroU16>,
    outbound_max: u16,
    /// Alias - 1 to topic name, for what the server sends; sized by the client's maximum.
    inbound: Vec<Option<TopicName>>,
}

/// The outcome of looking up an outbound topic.
pub(crate) enum Outbound {
    /// Send the topic name alone.
    None,
    /// Send the topic name with this alias, which it now stands for.
    New(NonZeroU16),
    /// Send an empty topic name with this alias.
    Known(NonZeroU16),
}

/// Why an inbound alias could not be used.
pub(crate) enum InboundError {
    /// Zero, or above the client's maximum.
    Invalid(u16),
    /// Never given a topic name on this connection.
    Unknown(u16),
}

impl Aliases {
    /// Starts a connection: forgets every alias and sets the two maxima.
    pub(crate) fn reset(&mut self, outbound_max: u16, inbound_max: u16) {
        self.outbound.clear();
        self.outbound_max = outbound_max;
        self.inbound.clear();
        self.inbound.resize(usize::from(inbound_max), None);
    }

    /// The alias to send `topic` with. New topics get the next alias until the server's maximum
    /// is reached; later topics go without one.
    pub(crate) fn outbound(&mut self, topic: &TopicName) -> Outbound {
        if self.outbound_max == 0 {
            return Outbound::None; // aliases are off: skip the lookup on every publish
        }
        if let Some(&alias) = self.outbound.get(topic.as_str()) {
            return Outbound::Known(alias);
        }
        let next = self.outbound.len() + 1;
        match u16::try_from(next).ok().filter(|&n| n <= self.outbound_max) {
            Some(n) => match NonZeroU16::new(n) {
                Some(alias) => {
                    self.outbound.insert(topic.as_byte_string().clone(), alias);
                    Outbound::New(alias)
                }
                None => Outbound::None,
            },
            None => Outbound::None,
        }
    }

    /// Resolves the topic of an inbound PUBLISH: records a new mapping when it carries both a
    /// topic and an alias, and fills an empty topic from its alias.
    pub(crate) fn inbound(
        &mut self,
        topic: &mut TopicName,
        alias: NonZeroU16,
    ) -> Result<(), InboundError> {
        let slot = self
            .inbound
            .get_mut(usize::from(alias.get()) - 1)
            .ok_or(InboundError::Invalid(alias.get()))?;
        if topic.is_empty() {
            match slot {
                Some(known) => *topic = known.clone(),
                None => return Err(InboundError::Unknown(alias.get())),
            }
        } else {
            *slot = Some(topic.clone());
        }
        Ok(())
    }
}
