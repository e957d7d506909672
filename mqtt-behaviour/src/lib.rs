//! The end-to-end behaviour suite: every scenario written once, as a function generic over an
//! [`Adapter`], and run against each adapter by the files in `tests/` (tokio, smol,
//! async-std, blocking, embassy) through [`behaviour_suite!`].
//!
//! An adapter implements [`Adapter`] and [`TestClient`]: connect as a [`Spec`] says,
//! subscribe, publish and wait, read the messages nobody else takes. The scenarios, the
//! brokers (mosquitto from `.ci/run`, or the embedded rumqttd with its TLS and WebSocket
//! fronts; see `mqtt-tokio/tests/support`) and the scripted brokers are shared.
#![allow(missing_docs, unreachable_pub, dead_code)]

#[path = "../../mqtt-tokio/tests/support/mod.rs"]
pub mod support;

mod adapters;
mod driver;
mod embassy;
pub mod proxies;
pub mod restart;
pub mod scenarios;

pub use adapters::{Async, BlockOn, Blocking};
pub use driver::{Adapter, Endpoint, Got, Spec, TestClient, WAIT};
pub use embassy::Embassy;

/// One `#[test]` per scenario for `$adapter`.
#[macro_export]
macro_rules! behaviour_suite {
    ($adapter:ty) => {
        #[test]
        fn round_trips_at_qos_0_1_2_over_tcp_tls_and_websocket() {
            $crate::scenarios::round_trips::<$adapter>();
        }

        #[test]
        fn a_cut_connection_loses_no_qos1_and_duplicates_no_qos2() {
            $crate::scenarios::a_cut_connection_loses_no_qos1_and_duplicates_no_qos2::<$adapter>();
        }

        #[test]
        fn the_client_comes_back_after_a_broker_restart() {
            $crate::scenarios::the_client_comes_back_after_a_broker_restart::<$adapter>();
        }

        #[test]
        fn a_slow_consumer_does_not_stall_the_client() {
            $crate::scenarios::a_slow_consumer_does_not_stall_the_client::<$adapter>();
        }

        #[test]
        fn a_message_right_after_connack_reaches_the_application() {
            $crate::scenarios::a_message_right_after_connack_reaches_the_application::<$adapter>();
        }

        #[test]
        fn a_lost_session_is_resubscribed() {
            $crate::scenarios::a_lost_session_is_resubscribed::<$adapter>();
        }
    };
}
