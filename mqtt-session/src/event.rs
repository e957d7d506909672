//! What the session reports: [`Event`]s, drained with
//! [`Session::poll_event`](crate::Session::poll_event).

use alloc::vec::Vec;

use mqtt_proto::{
    AckProperties, Auth, ConnAck, DecodeError, Disconnect, PacketId, PacketType, Publish, QoS,
    ReasonCode,
};

/// Names one publish accepted by [`Session::publish`](crate::Session::publish), for the events
/// that report its outcome.
///
/// Unlike a packet identifier it is never reused, so an old handle can't be confused with a
/// later operation that happens to get the same packet identifier.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct PublishId(pub(crate) u64);

impl PublishId {
    /// The handle numbered `id`: for a [`Store`](crate::Store) that reads its records back from
    /// where it wrote [`get`](Self::get), and for tests. A session hands out its own handles; one
    /// made up here names a publish of the session only if a store gave it back.
    pub const fn new(id: u64) -> PublishId {
        PublishId(id)
    }

    /// The number, increasing from 1 within a session: usable as the seed API's `mid`.
    pub const fn get(self) -> u64 {
        self.0
    }
}

/// Names one SUBSCRIBE or UNSUBSCRIBE request, for the events that report its outcome.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct RequestId(pub(crate) u64);

impl RequestId {
    /// The number, increasing from 1 within a session.
    pub const fn get(self) -> u64 {
        self.0
    }
}

/// The right to acknowledge one inbound message, in [`AckMode::Manual`](crate::AckMode::Manual).
/// Pass it to [`Session::ack`](crate::Session::ack).
#[derive(Debug, PartialEq, Eq, Hash)]
#[must_use = "the server gets no acknowledgement until the token is passed to Session::ack"]
pub struct AckToken {
    pub(crate) packet_id: PacketId,
    pub(crate) qos: QoS,
    /// The session epoch it belongs to; it ends when the server loses the session.
    pub(crate) epoch: u64,
}

impl AckToken {
    /// The packet identifier of the message.
    pub fn packet_id(&self) -> PacketId {
        self.packet_id
    }

    /// The message's QoS: 1 or 2.
    pub fn qos(&self) -> QoS {
        self.qos
    }
}

/// Something that happened in the session.
///
/// Events are not `Clone` because a [`Message`] may carry its [`AckToken`], which exists once.
#[derive(Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Event {
    /// The server accepted the connection.
    Connected(Connected),
    /// An application message arrived.
    Message(Message),
    /// A packet arrived; only with [`Config::packet_events`](crate::Config::packet_events).
    Received(Received),
    /// A publish is complete: QoS 0 handed to the transport, QoS 1 acknowledged by PUBACK,
    /// QoS 2 by PUBCOMP.
    Published(Published),
    /// A publish failed and will not be retried.
    PublishFailed(PublishFailed),
    /// The server answered a SUBSCRIBE.
    Subscribed(Subscribed),
    /// The server answered an UNSUBSCRIBE.
    Unsubscribed(Unsubscribed),
    /// A SUBSCRIBE or UNSUBSCRIBE failed and will not be retried.
    RequestFailed {
        /// The request.
        id: RequestId,
        /// Why.
        reason: FailReason,
    },
    /// The server had no session for the client and the session subscribes again to the
    /// subscriptions it remembered ([`Config::resubscribe`](crate::Config::resubscribe)): one
    /// event per SUBSCRIBE, whose outcome comes as [`Event::Subscribed`] or
    /// [`Event::RequestFailed`] under the same id.
    Resubscribing(Resubscribing),
    /// The server had no session for the client, and these subscriptions, which it had
    /// confirmed, are gone: [`Config::resubscribe`](crate::Config::resubscribe) is off.
    SubscriptionsLost(Vec<mqtt_proto::TopicFilter>),
    /// The server sent an AUTH packet in an enhanced authentication exchange; answer with
    /// [`Session::auth`](crate::Session::auth).
    Auth(Auth),
    /// The connection ended. The session's state survives for the next connection.
    Disconnected(DisconnectReason),
}

/// The details of an accepted connection.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Connected {
    /// Whether the server resumed a session it held for this client. MQTT 3.1 has no Session
    /// Present flag: there it is `true` when the CONNECT asked to resume (Clean Session 0),
    /// the session the server must keep then (MQTT 3.1 §3.1).
    pub session_present: bool,
    /// The CONNACK, with the server's limits and assigned client identifier in MQTT 5.0.
    pub connack: ConnAck,
}

/// An inbound application message.
#[derive(Debug, PartialEq, Eq)]
pub struct Message {
    /// The PUBLISH, with a Topic Alias already resolved into its topic name.
    pub publish: Publish,
    /// In [`AckMode::Manual`](crate::AckMode::Manual), the token that acknowledges it (QoS 1
    /// and 2 only).
    pub ack: Option<AckToken>,
}

/// A received packet, as the seed's callbacks see it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Received {
    /// Which packet.
    pub command: Command,
    /// The message, on the packet at which it is delivered: PUBLISH for QoS 0 and 1, and for
    /// QoS 2 PUBLISH or PUBREL depending on [`Qos2Delivery`](crate::Qos2Delivery).
    pub message: Option<Publish>,
    /// The packet identifier, for every packet that has one.
    pub packet_id: Option<PacketId>,
    /// For PUBACK, PUBREC and PUBCOMP of the client's own publish: the handle
    /// [`Session::publish`](crate::Session::publish) returned for it, the seed API's `mid`.
    pub mid: Option<PublishId>,
    /// The reason codes: one for PUBACK to PUBCOMP, DISCONNECT and AUTH, one per filter for
    /// SUBACK and UNSUBACK.
    pub reason_codes: Vec<ReasonCode>,
}

/// The packets a callback can be registered for, named as in the seed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[non_exhaustive]
pub enum Command {
    /// PUBLISH.
    Publish,
    /// PUBACK.
    PubAck,
    /// PUBREC.
    PubRec,
    /// PUBREL.
    PubRel,
    /// PUBCOMP.
    PubComp,
    /// SUBACK.
    SubAck,
    /// UNSUBACK.
    UnsubAck,
    /// PINGREQ (never sent by a server to a client, but a callback may be registered).
    PingReq,
    /// PINGRESP.
    PingResp,
    /// DISCONNECT from the server (MQTT 5.0): `reason_codes` holds its reason code. The
    /// connection ends right after ([`Event::Disconnected`]).
    Disconnect,
    /// AUTH (MQTT 5.0 enhanced authentication): `reason_codes` holds its reason code. Answer
    /// it from [`Event::Auth`], which follows.
    Auth,
}

impl Command {
    /// All commands, in the order of their packet types.
    pub const ALL: [Command; 11] = [
        Command::Publish,
        Command::PubAck,
        Command::PubRec,
        Command::PubRel,
        Command::PubComp,
        Command::SubAck,
        Command::UnsubAck,
        Command::PingReq,
        Command::PingResp,
        Command::Disconnect,
        Command::Auth,
    ];

    pub(crate) const fn index(self) -> usize {
        self as usize
    }
}

/// A publish that completed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Published {
    /// Which publish.
    pub id: PublishId,
    /// Its packet identifier (none at QoS 0).
    pub packet_id: Option<PacketId>,
    /// Its QoS.
    pub qos: QoS,
    /// The server's reason code: below 0x80 (MQTT 5.0 may say No matching subscribers, 0x10).
    pub reason_code: ReasonCode,
    /// The acknowledgement's MQTT 5.0 properties.
    pub properties: AckProperties,
}

/// A publish that failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PublishFailed {
    /// Which publish.
    pub id: PublishId,
    /// Its packet identifier, if it had been given one.
    pub packet_id: Option<PacketId>,
    /// Why.
    pub reason: FailReason,
}

/// Why a publish or request failed.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum FailReason {
    /// The server refused it with a reason code of 0x80 or more (MQTT 5.0).
    Rejected {
        /// The reason code.
        reason_code: ReasonCode,
        /// The acknowledgement's properties (the reason string, if any).
        properties: AckProperties,
    },
    /// The server had no session when the client reconnected, and the policy is
    /// [`SessionLostPolicy::Fail`](crate::SessionLostPolicy::Fail).
    SessionLost,
    /// Its Message Expiry Interval ran out while it waited to be sent.
    Expired,
    /// It is larger than the server's Maximum Packet Size, learnt after it was queued.
    PacketTooLarge,
    /// Its QoS or retain flag is not supported by the server, learnt after it was queued.
    NotSupported,
    /// A QoS 0 message: the connection ended before it was written to the transport.
    ConnectionLost,
}

/// The server's answer to a SUBSCRIBE.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Subscribed {
    /// Which request.
    pub id: RequestId,
    /// Its packet identifier.
    pub packet_id: PacketId,
    /// One per filter, in order: the granted QoS (0x00 to 0x02) or a failure (0x80 and up).
    pub reason_codes: Vec<ReasonCode>,
    /// The SUBACK's MQTT 5.0 properties.
    pub properties: AckProperties,
}

/// A SUBSCRIBE the session sent on its own, to restore subscriptions the server lost.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Resubscribing {
    /// The request, as later [`Event::Subscribed`] and [`Event::RequestFailed`] name it.
    pub id: RequestId,
    /// Its topic filters, in order: the SUBACK's reason codes follow this order.
    pub filters: Vec<mqtt_proto::TopicFilter>,
}

/// The server's answer to an UNSUBSCRIBE.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unsubscribed {
    /// Which request.
    pub id: RequestId,
    /// Its packet identifier.
    pub packet_id: PacketId,
    /// MQTT 5.0: one per filter, in order. Empty in MQTT 3.1.1, which has none.
    pub reason_codes: Vec<ReasonCode>,
    /// The UNSUBACK's MQTT 5.0 properties.
    pub properties: AckProperties,
}

/// Why a connection ended.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum DisconnectReason {
    /// The application asked for it with [`Session::disconnect`](crate::Session::disconnect).
    Requested,
    /// The server refused the connection; the CONNACK says why.
    Refused(ConnAck),
    /// The server sent DISCONNECT (MQTT 5.0), with its reason code and maybe a server reference.
    ByServer(Disconnect),
    /// The transport closed or failed, as the adapter reported.
    TransportClosed,
    /// The transport closed before CONNACK: some servers refuse a connection (bad
    /// credentials, say) by closing it instead of answering.
    ClosedBeforeConnAck,
    /// No CONNACK arrived within the connect timeout.
    ConnectTimeout,
    /// No packet arrived within the ping timeout after a PINGREQ.
    KeepAliveTimeout,
    /// The server broke the protocol. In MQTT 5.0 the session sent DISCONNECT with
    /// `reason_code` before giving up the connection.
    ProtocolError {
        /// The reason code sent (or that would have been, in MQTT 3.1.1).
        reason_code: ReasonCode,
        /// What the server did wrong.
        error: ProtocolError,
    },
}

/// A way the server broke the protocol.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ProtocolError {
    /// Its bytes are not a valid packet.
    Decode(DecodeError),
    /// A packet a client must never receive, or one that does not fit the connection's state
    /// (a second CONNACK, a PUBLISH before CONNACK, ...).
    UnexpectedPacket(PacketType),
    /// An acknowledgement for a packet identifier that has no exchange in that stage.
    UnknownPacketId(PacketType, PacketId),
    /// A SUBACK or UNSUBACK whose number of reason codes differs from the number of filters.
    WrongReasonCodeCount(PacketType),
    /// A Topic Alias above the client's Topic Alias Maximum, or 0.
    TopicAliasInvalid(u16),
    /// A Topic Alias that was never given a topic name on this connection.
    UnknownTopicAlias(u16),
    /// More unacknowledged QoS 1 and 2 publishes than the client's Receive Maximum.
    ReceiveMaximumExceeded,
    /// A CONNACK with an Assigned Client Identifier, when the CONNECT had a client identifier
    /// of its own (MQTT 5.0 §3.2.2.3.7: the server assigns one only for an empty one). The
    /// session checks it, not the decoder: it depends on the CONNECT this client sent. Closed
    /// with 0x82 Protocol Error.
    AssignedClientIdentifierNotRequested,
    /// Another rule of the standard, named.
    Other(&'static str),
}

impl DisconnectReason {
    /// The reason code behind the end of the connection, when there is one: the server's
    /// CONNACK or DISCONNECT, or the one the session sent for a protocol error.
    pub fn reason_code(&self) -> Option<ReasonCode> {
        match self {
            DisconnectReason::Refused(connack) => Some(connack.reason_code),
            DisconnectReason::ByServer(disconnect) => Some(disconnect.reason_code),
            DisconnectReason::ProtocolError { reason_code, .. } => Some(*reason_code),
            _ => None,
        }
    }
}

impl core::fmt::Display for DisconnectReason {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            DisconnectReason::Requested => f.write_str("the client disconnected"),
            DisconnectReason::Refused(connack) => {
                write!(
                    f,
                    "the server refused the connection: {}",
                    connack.reason_code
                )
            }
            DisconnectReason::ByServer(disconnect) => {
                write!(f, "the server disconnected: {}", disconnect.reason_code)?;
                if let Some(reference) = &disconnect.properties.server_reference {
                    write!(f, " (use {reference})")?;
                }
                Ok(())
            }
            DisconnectReason::TransportClosed => f.write_str("the connection closed"),
            DisconnectReason::ClosedBeforeConnAck => f.write_str(
                "the server closed the connection before accepting it \
                 (it may have refused the credentials or the client identifier, or it \
                 expects TLS on this port)",
            ),
            DisconnectReason::ConnectTimeout => {
                f.write_str("no CONNACK within the connect timeout")
            }
            DisconnectReason::KeepAliveTimeout => {
                f.write_str("the server stopped answering (keep alive timeout)")
            }
            DisconnectReason::ProtocolError { reason_code, error } => {
                write!(
                    f,
                    "the server broke the protocol ({reason_code}): {error:?}"
                )
            }
        }
    }
}

impl core::fmt::Display for FailReason {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            FailReason::Rejected { reason_code, .. } => {
                write!(f, "refused by the server: {reason_code}")
            }
            FailReason::SessionLost => f.write_str("the server lost the session"),
            FailReason::Expired => f.write_str("its message expiry interval ran out"),
            FailReason::PacketTooLarge => {
                f.write_str("larger than the server's maximum packet size")
            }
            FailReason::NotSupported => f.write_str("its QoS or retain flag is not supported"),
            FailReason::ConnectionLost => {
                f.write_str("the connection ended before the message was written")
            }
        }
    }
}
