//! The behaviour suite against mqtt-tokio.
mqtt_behaviour::behaviour_suite!(mqtt_behaviour::Async<mqtt_tokio::Tokio>);
