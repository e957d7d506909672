//! The behaviour suite against mqtt-blocking.
mqtt_behaviour::behaviour_suite!(mqtt_behaviour::Blocking);
