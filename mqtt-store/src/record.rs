//! The log's format: a header, then records, each framed with its length and a CRC-32.
//!
//! ```text
//! header   "MQTTLOG" 0x01                      8 bytes: magic and format version
//! record   len   u32 LE                        bytes in body
//!          crc   u32 LE                        CRC-32 (IEEE) of len, kind and body
//!          kind  u8
//!          body  len bytes
//! ```
//!
//! | kind | record          | body                                                         |
//! |------|-----------------|--------------------------------------------------------------|
//! | 1    | outgoing        | id u64, stage u8, flags u8, the PUBLISH as MQTT 5.0 encodes it |
//! | 2    | stage change    | id u64, stage u8, packet identifier u16 (0: none)            |
//! | 3    | outgoing done   | id u64                                                       |
//! | 4    | incoming        | packet identifier u16                                        |
//! | 5    | incoming done   | packet identifier u16                                        |
//!
//! Integers are little-endian. Stages are 0 queued, 1 sent, 2 released. Bit 0 of the flags
//! says whether the publish has a packet identifier: a queued QoS 1 or 2 publish has none, but
//! MQTT requires one in its encoding, so it is written with identifier 1 and the flag clear.

use mqtt_proto::{Packet, PacketId, Publish, QoS, Version};
use mqtt_session::{PublishId, Stage, StoreError};

/// The first bytes of every log: a magic string and the format version.
pub(crate) const MAGIC: [u8; 8] = *b"MQTTLOG\x01";
/// The length and checksum fields and the kind byte that come before every body.
pub(crate) const FRAME_LEN: usize = 9;
/// The largest body a record can have: an outgoing record of the largest PUBLISH MQTT allows.
/// A length field above it is damage, not a reason to allocate.
pub(crate) const MAX_BODY: u64 = mqtt_proto::MAX_PACKET_SIZE as u64 + 10;
/// The length of an incoming or incoming-done record.
pub(crate) const INCOMING_LEN: u64 = FRAME_LEN as u64 + 2;

const OUTGOING: u8 = 1;
const STAGE: u8 = 2;
const OUTGOING_DONE: u8 = 3;
const INCOMING: u8 = 4;
const INCOMING_DONE: u8 = 5;

/// Flags of an outgoing record: the publish has a packet identifier.
const HAS_PACKET_ID: u8 = 0b1;

/// One record, as read back.
#[derive(Debug, Clone, PartialEq, Eq)]
#[allow(
    clippy::large_enum_variant,
    reason = "one at a time, moved into the store's map: a box would be one more allocation"
)]
pub(crate) enum Record {
    Outgoing {
        id: PublishId,
        stage: Stage,
        publish: Publish,
    },
    Stage {
        id: PublishId,
        stage: Stage,
        packet_id: Option<PacketId>,
    },
    OutgoingDone(PublishId),
    Incoming(PacketId),
    IncomingDone(PacketId),
}

fn stage_byte(stage: Stage) -> Result<u8, StoreError> {
    match stage {
        Stage::Queued => Ok(0),
        Stage::Sent => Ok(1),
        Stage::Released => Ok(2),
        other => Err(StoreError::Failed(format!(
            "no record format for {other:?}"
        ))),
    }
}

fn stage_from(byte: u8) -> Option<Stage> {
    match byte {
        0 => Some(Stage::Queued),
        1 => Some(Stage::Sent),
        2 => Some(Stage::Released),
        _ => None,
    }
}

/// Appends one framed record to `buf`, its body written by `body`.
fn frame<E>(
    buf: &mut Vec<u8>,
    kind: u8,
    body: impl FnOnce(&mut Vec<u8>) -> Result<(), E>,
) -> Result<(), E> {
    let start = buf.len();
    buf.extend_from_slice(&[0; FRAME_LEN - 1]);
    buf.push(kind);
    body(buf)?;
    let len = u32::try_from(buf.len() - start - FRAME_LEN).unwrap_or(u32::MAX);
    buf[start..start + 4].copy_from_slice(&len.to_le_bytes());
    let crc = checksum(&buf[start..start + 4], kind, &buf[start + FRAME_LEN..]);
    buf[start + 4..start + 8].copy_from_slice(&crc.to_le_bytes());
    Ok(())
}

/// The checksum of a record: its length field, kind and body.
pub(crate) fn checksum(len: &[u8], kind: u8, body: &[u8]) -> u32 {
    let mut hasher = crc32fast::Hasher::new();
    hasher.update(len);
    hasher.update(&[kind]);
    hasher.update(body);
    hasher.finalize()
}

/// Appends the record of a whole outgoing publish.
///
/// # Errors
///
/// [`StoreError::Failed`] when the publish can't be encoded (a QoS 0 publish with a packet
/// identifier, a PUBLISH larger than MQTT allows, and the like).
pub(crate) fn outgoing(
    buf: &mut Vec<u8>,
    id: PublishId,
    stage: Stage,
    publish: &Publish,
) -> Result<(), StoreError> {
    let stage = stage_byte(stage)?;
    let start = buf.len();
    let result = frame(buf, OUTGOING, |buf| {
        buf.extend_from_slice(&id.get().to_le_bytes());
        buf.push(stage);
        if publish.packet_id.is_none() && publish.qos != QoS::AtMostOnce {
            buf.push(0);
            let mut numbered = publish.clone();
            numbered.packet_id = Some(PacketId::MIN);
            numbered.encode(Version::V5, buf)
        } else {
            buf.push(if publish.packet_id.is_some() {
                HAS_PACKET_ID
            } else {
                0
            });
            publish.encode(Version::V5, buf)
        }
    });
    result.map_err(|e| {
        buf.truncate(start);
        StoreError::Failed(format!("the publish can't be stored: {e}"))
    })
}

/// Appends the record of a stage change.
///
/// # Errors
///
/// [`StoreError::Failed`] for a stage this format does not know.
pub(crate) fn stage(
    buf: &mut Vec<u8>,
    id: PublishId,
    stage: Stage,
    packet_id: Option<PacketId>,
) -> Result<(), StoreError> {
    let stage = stage_byte(stage)?;
    frame(buf, STAGE, |buf| {
        buf.extend_from_slice(&id.get().to_le_bytes());
        buf.push(stage);
        buf.extend_from_slice(&packet_id.map_or(0, PacketId::get).to_le_bytes());
        Ok(())
    })
}

/// Appends the record of an outgoing publish that completed or failed.
pub(crate) fn outgoing_done(buf: &mut Vec<u8>, id: PublishId) {
    let _ = frame::<()>(buf, OUTGOING_DONE, |buf| {
        buf.extend_from_slice(&id.get().to_le_bytes());
        Ok(())
    });
}

/// Appends the record of an inbound QoS 2 exchange that started (`done` false) or ended.
pub(crate) fn incoming(buf: &mut Vec<u8>, packet_id: PacketId, done: bool) {
    let kind = if done { INCOMING_DONE } else { INCOMING };
    let _ = frame::<()>(buf, kind, |buf| {
        buf.extend_from_slice(&packet_id.get().to_le_bytes());
        Ok(())
    });
}

/// Reads a record's body; `None` when it is not a valid record of its kind.
pub(crate) fn decode(kind: u8, body: &[u8]) -> Option<Record> {
    match kind {
        OUTGOING => {
            let (id, rest) = split_u64(body)?;
            let [stage, flags, packet @ ..] = rest else {
                return None;
            };
            let stage = stage_from(*stage)?;
            if flags & !HAS_PACKET_ID != 0 {
                return None;
            }
            let (packet, used) = mqtt_proto::Decoder::new(Version::V5)
                .decode_slice(packet)
                .ok()??;
            let Packet::Publish(mut publish) = packet else {
                return None;
            };
            if used != rest.len() - 2 {
                return None;
            }
            if flags & HAS_PACKET_ID == 0 {
                publish.packet_id = None;
            }
            Some(Record::Outgoing { id, stage, publish })
        }
        STAGE => {
            let (id, rest) = split_u64(body)?;
            let [stage, low, high] = rest else {
                return None;
            };
            let stage = stage_from(*stage)?;
            let packet_id = PacketId::new(u16::from_le_bytes([*low, *high]));
            Some(Record::Stage {
                id,
                stage,
                packet_id,
            })
        }
        OUTGOING_DONE => match split_u64(body)? {
            (id, []) => Some(Record::OutgoingDone(id)),
            _ => None,
        },
        INCOMING | INCOMING_DONE => {
            let [low, high] = body else {
                return None;
            };
            let packet_id = PacketId::new(u16::from_le_bytes([*low, *high]))?;
            Some(if kind == INCOMING {
                Record::Incoming(packet_id)
            } else {
                Record::IncomingDone(packet_id)
            })
        }
        _ => None,
    }
}

fn split_u64(body: &[u8]) -> Option<(PublishId, &[u8])> {
    let (id, rest) = body.split_first_chunk::<8>()?;
    Some((PublishId::new(u64::from_le_bytes(*id)), rest))
}

#[cfg(test)]
mod tests {
    use super::*;

    use core::num::NonZeroU32;

    use mqtt_proto::{PublishProperties, TopicName, UserProperty};

    /// Splits one framed record into its kind and body, checking the frame.
    fn unframe(buf: &[u8]) -> (u8, &[u8]) {
        let len = u32::from_le_bytes(buf[..4].try_into().unwrap()) as usize;
        let crc = u32::from_le_bytes(buf[4..8].try_into().unwrap());
        assert_eq!(buf.len(), FRAME_LEN + len);
        assert_eq!(crc, checksum(&buf[..4], buf[8], &buf[FRAME_LEN..]));
        (buf[8], &buf[FRAME_LEN..])
    }

    fn rich_publish() -> Publish {
        let mut publish = Publish::new(TopicName::new("a/b").unwrap(), &b"payload"[..]);
        publish.qos = QoS::ExactlyOnce;
        publish.retain = true;
        publish.set_properties(PublishProperties {
            payload_format_indicator: Some(true),
            message_expiry_interval: Some(60),
            response_topic: Some(TopicName::new("reply/here").unwrap()),
            correlation_data: Some((&b"corr"[..]).into()),
            user_properties: vec![UserProperty {
                key: "k".into(),
                value: "v".into(),
            }],
            subscription_identifiers: vec![NonZeroU32::new(7).unwrap()],
            content_type: Some("text/plain".into()),
            ..PublishProperties::default()
        });
        publish
    }

    #[test]
    fn every_kind_round_trips() {
        let id = PublishId::new(u64::MAX - 1);
        let pid = PacketId::new(65_535).unwrap();
        let mut sent = rich_publish();
        sent.packet_id = Some(pid);
        sent.dup = true;
        let mut qos0 = Publish::new(TopicName::new("q0").unwrap(), &b""[..]);
        qos0.qos = QoS::AtMostOnce;
        let records = [
            Record::Outgoing {
                id,
                stage: Stage::Queued,
                publish: rich_publish(),
            },
            Record::Outgoing {
                id,
                stage: Stage::Released,
                publish: sent,
            },
            Record::Outgoing {
                id,
                stage: Stage::Sent,
                publish: qos0,
            },
            Record::Stage {
                id,
                stage: Stage::Sent,
                packet_id: Some(pid),
            },
            Record::Stage {
                id,
                stage: Stage::Queued,
                packet_id: None,
            },
            Record::OutgoingDone(id),
            Record::Incoming(pid),
            Record::IncomingDone(PacketId::MIN),
        ];
        for record in records {
            let mut buf = Vec::new();
            match &record {
                Record::Outgoing { id, stage, publish } => {
                    outgoing(&mut buf, *id, *stage, publish).unwrap();
                }
                Record::Stage {
                    id,
                    stage: s,
                    packet_id,
                } => stage(&mut buf, *id, *s, *packet_id).unwrap(),
                Record::OutgoingDone(id) => outgoing_done(&mut buf, *id),
                Record::Incoming(pid) => incoming(&mut buf, *pid, false),
                Record::IncomingDone(pid) => incoming(&mut buf, *pid, true),
            }
            let (kind, body) = unframe(&buf);
            assert_eq!(decode(kind, body), Some(record));
        }
    }

    #[test]
    fn fixed_size_records_have_their_documented_length() {
        let mut buf = Vec::new();
        incoming(&mut buf, PacketId::MIN, false);
        assert_eq!(buf.len() as u64, INCOMING_LEN);
        buf.clear();
        outgoing_done(&mut buf, PublishId::new(1));
        assert_eq!(buf.len(), FRAME_LEN + 8);
        buf.clear();
        stage(&mut buf, PublishId::new(1), Stage::Sent, None).unwrap();
        assert_eq!(buf.len(), FRAME_LEN + 11);
    }

    #[test]
    fn a_queued_record_is_as_long_as_the_same_publish_sent() {
        let mut queued = Vec::new();
        outgoing(
            &mut queued,
            PublishId::new(1),
            Stage::Queued,
            &rich_publish(),
        )
        .unwrap();
        let mut sent = rich_publish();
        sent.packet_id = PacketId::new(300);
        let mut buf = Vec::new();
        outgoing(&mut buf, PublishId::new(1), Stage::Sent, &sent).unwrap();
        assert_eq!(queued.len(), buf.len());
    }

    #[test]
    fn an_unencodable_publish_is_refused_and_leaves_the_buffer_as_it_was() {
        let mut publish = Publish::new(TopicName::new("t").unwrap(), &b"x"[..]);
        publish.packet_id = PacketId::new(1); // QoS 0 with a packet identifier
        let mut buf = vec![1, 2, 3];
        let result = outgoing(&mut buf, PublishId::new(1), Stage::Sent, &publish);
        assert!(matches!(result, Err(StoreError::Failed(_))));
        assert_eq!(buf, [1, 2, 3]);
    }

    #[test]
    fn bodies_that_are_not_records_decode_to_none() {
        let mut good = Vec::new();
        outgoing(&mut good, PublishId::new(1), Stage::Sent, &rich_publish()).unwrap();
        let (_, body) = unframe(&good);
        let cases: &[(u8, &[u8])] = &[
            (0, &[]),
            (6, &[0; 8]),
            (OUTGOING, &body[..body.len() - 1]),
            (OUTGOING, &[body, &[0]].concat()),
            (OUTGOING, &[&body[..8], &[9], &body[9..]].concat()),
            (OUTGOING, &[&body[..9], &[0b10], &body[10..]].concat()),
            (STAGE, &[0; 10]),
            (STAGE, &[0, 0, 0, 0, 0, 0, 0, 0, 3, 0, 0]),
            (OUTGOING_DONE, &[0; 9]),
            (INCOMING, &[0, 0]),
            (INCOMING_DONE, &[1]),
        ];
        for (kind, body) in cases {
            assert_eq!(decode(*kind, body), None, "kind {kind}, body {body:?}");
        }
    }
}
