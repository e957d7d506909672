//! The behaviour suite against mqtt-embassy, its connection task on a thread of its own.
mqtt_behaviour::behaviour_suite!(mqtt_behaviour::Embassy);
