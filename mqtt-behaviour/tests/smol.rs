//! The behaviour suite against mqtt-async-std on smol.
mqtt_behaviour::behaviour_suite!(mqtt_behaviour::Async<mqtt_async_std::Smol>);
