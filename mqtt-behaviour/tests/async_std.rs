//! The behaviour suite against mqtt-async-std on async-std.
mqtt_behaviour::behaviour_suite!(mqtt_behaviour::Async<mqtt_async_std::AsyncStd>);
