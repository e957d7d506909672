//! An async MQTT 3.1.1 and 5.0 client on smol and async-std.
//!
//! The same client as mqtt-tokio ([`mqtt_async`], which both crates share) on the async-io
//! reactor: async-net sockets, async-io timers, TLS through futures-rustls and WebSocket
//! through async-tungstenite (the `websocket` feature, off by default). Awaitable publish and subscribe, message streams
//! (`futures::Stream`), the seed API's `on(...)` callbacks, automatic reconnection with
//! connection events, and manual acknowledgements.
//!
//! Pick the runtime by the module: [`smol`] or [`async_std`]. Each names the same types
//! (`Client`, `Options`, `Messages`, ...) for its runtime, so moving from mqtt-tokio is a
//! change of dependency and of one import:
//!
//! ```no_run
//! use mqtt_async_std::smol::{Client, Options, QoS}; // was: use mqtt_tokio::{...};
//!
//! fn main() -> Result<(), mqtt_async_std::Error> {
//!     smol::block_on(async {
//!         let options = Options::from_url("mqtt://127.0.0.1:1883", "quickstart")?;
//!         // The default stream has every message nothing else takes; drop it if unused.
//!         let (client, _default) = Client::spawn(options).await?;
//!         let mut news = client.subscription("news/#", QoS::AtLeastOnce).await?;
//!         client.publish("news/today", "hello", QoS::AtLeastOnce, false).await?;
//!         let message = news.recv().await.expect("the client is running");
//!         println!("{}: {:?}", message.topic, message.payload_str());
//!         client.disconnect().await
//!     })
//! }
//! ```
//!
//! [`Client::spawn`](mqtt_async::Client::spawn) runs the connection task on the runtime's
//! executor: smol's global executor, or the one async-std's tasks run on. To run it yourself,
//! use `Client::connect` and spawn `connection.run()`.
//!
//! What happens between the session and the application (which consumer gets a message and
//! when it is acknowledged, reconnection, events, an orderly disconnect) is decided by
//! [`mqtt_client`], which every adapter shares; its documentation states the guarantees.
#![forbid(unsafe_code)]
#![cfg_attr(docsrs, feature(doc_cfg))]

#[cfg(any(feature = "smol", feature = "async-std"))]
mod runtime;

pub use mqtt_async::{AuthHook, Io, Server, SocketKeepalive, Target, Transport};
#[cfg(feature = "tls")]
#[cfg_attr(docsrs, doc(cfg(feature = "tls")))]
pub use mqtt_async::{TlsOptions, rustls};
pub use mqtt_client::{
    self as client_core, ClientEvent, Detail, Error, Message, Overflow, Proxy, ProxyError,
    ProxyKind, StreamEnd,
};
pub use mqtt_proto::{
    self as proto, Auth, Disconnect, Publish, QoS, ReasonCode, SubscribeProperties, Subscription,
    TopicFilter, TopicName, UnsubscribeProperties, UserProperty, Will,
};
pub use mqtt_session::Backoff;
pub use mqtt_session::{
    self as session, AckMode, Command, Config, PublishId, Published, Received, Version,
};
#[cfg(feature = "async-std")]
#[cfg_attr(docsrs, doc(cfg(feature = "async-std")))]
pub use runtime::AsyncStd;
#[cfg(feature = "smol")]
#[cfg_attr(docsrs, doc(cfg(feature = "smol")))]
pub use runtime::Smol;
#[cfg(any(feature = "smol", feature = "async-std"))]
pub use runtime::stream;

/// The client's types for one runtime, with everything else this crate exports.
#[cfg(any(feature = "smol", feature = "async-std"))]
macro_rules! runtime_types {
    ($runtime:ident, $name:literal) => {
        pub use crate::{
            AckMode, AuthHook, Backoff, ClientEvent, Command, Config, Error, Message, Overflow,
            Publish, PublishId, Published, QoS, ReasonCode, Received, SocketKeepalive,
            StreamEnd, TopicFilter, TopicName, Transport, UserProperty, Version, Will,
        };
        #[cfg(feature = "tls")]
        pub use crate::TlsOptions;

        #[doc = concat!("The runtime: [`", stringify!($runtime), "`](crate::", stringify!($runtime), ").")]
        pub type Runtime = crate::$runtime;
        #[doc = concat!("A handle to an MQTT client on ", $name, ": [`mqtt_async::Client`].")]
        pub type Client = mqtt_async::Client<crate::$runtime>;
        #[doc = concat!("A stream of messages on ", $name, ": [`mqtt_async::Messages`].")]
        pub type Messages = mqtt_async::Messages<crate::$runtime>;
        #[doc = concat!("A stream of connection events on ", $name, ": [`mqtt_async::Events`].")]
        pub type Events = mqtt_async::Events<crate::$runtime>;
        #[doc = concat!("The connection task on ", $name, ": [`mqtt_async::Connection`].")]
        pub type Connection = mqtt_async::Connection<crate::$runtime>;
        #[doc = concat!("A publish not completed yet, on ", $name, ": [`mqtt_async::PendingPublish`].")]
        pub type PendingPublish = mqtt_async::PendingPublish<crate::$runtime>;
        #[doc = concat!("How a publish ended, on ", $name, ": [`mqtt_async::PublishOutcome`].")]
        pub type PublishOutcome = mqtt_async::PublishOutcome<crate::$runtime>;
        #[doc = concat!("How to reach the broker and how the client behaves, on ", $name, ": [`mqtt_async::Options`].")]
        pub type Options = mqtt_async::Options<crate::$runtime>;
        #[doc = concat!("A hook the client runs with itself, on ", $name, ": [`mqtt_async::Hook`].")]
        pub type Hook = mqtt_async::Hook<crate::$runtime>;
    };
}

/// The client on smol.
#[cfg(feature = "smol")]
#[cfg_attr(docsrs, doc(cfg(feature = "smol")))]
pub mod smol {
    runtime_types!(Smol, "smol");
}

/// The client on async-std.
#[cfg(feature = "async-std")]
#[cfg_attr(docsrs, doc(cfg(feature = "async-std")))]
pub mod async_std {
    runtime_types!(AsyncStd, "async-std");
}
