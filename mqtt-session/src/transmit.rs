//! The bytes waiting to go to the transport.

use alloc::collections::VecDeque;

use bytes::{Bytes, BytesMut};
use mqtt_proto::{EncodeError, Packet, Publish, Version};

/// Payloads from this size up are handed to the transport as their own chunk instead of being
/// copied behind their header: a vectored write sends them without a copy.
const SEPARATE_PAYLOAD: usize = 4 * 1024;

/// Encoded packets in order: small ones gathered in one buffer, so that packets ready at the
/// same time leave in one write; large payloads as separate chunks.
#[derive(Default)]
pub(crate) struct Transmit {
    chunks: VecDeque<Bytes>,
    buf: BytesMut,
}

impl Transmit {
    pub(crate) fn packet(&mut self, version: Version, packet: &Packet) -> Result<(), EncodeError> {
        match packet {
            Packet::Publish(publish) => self.publish(version, publish),
            other => other.encode(version, &mut self.buf),
        }
    }

    pub(crate) fn publish(
        &mut self,
        version: Version,
        publish: &Publish,
    ) -> Result<(), EncodeError> {
        if publish.payload.len() < SEPARATE_PAYLOAD {
            return publish.encode(version, &mut self.buf);
        }
        publish.encode_header(version, &mut self.buf)?;
        self.chunks.push_back(self.buf.split().freeze());
        self.chunks.push_back(publish.payload.clone());
        Ok(())
    }

    pub(crate) fn poll(&mut self) -> Option<Bytes> {
        if let Some(chunk) = self.chunks.pop_front() {
            return Some(chunk);
        }
        if self.buf.is_empty() {
            None
        } else {
            Some(self.buf.split().freeze())
        }
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.chunks.is_empty() && self.buf.is_empty()
    }

    pub(crate) fn clear(&mut self) {
        self.chunks.clear();
        self.buf.clear();
    }
}
