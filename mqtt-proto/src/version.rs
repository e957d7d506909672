/// The MQTT protocol version a connection speaks.
///
/// It is chosen by the client in CONNECT (the Protocol Name and Protocol Level, MQTT 5.0
/// §3.1.2.1 and §3.1.2.2) and is a parameter of every encode and decode.
///
/// ```
/// use mqtt_proto::Version;
///
/// assert_eq!(Version::from_level(3), Some(Version::V31));
/// assert_eq!(Version::V31.protocol_name(), "MQIsdp");
/// assert_eq!(Version::V311.to_string(), "MQTT 3.1.1");
/// assert!(!Version::V31.is_v5() && !Version::V31.has_session_present());
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[non_exhaustive]
pub enum Version {
    /// MQTT 3.1 (IBM and Eurotech, 2010), protocol name "MQIsdp", protocol level 3.
    ///
    /// Its packets are those of MQTT 3.1.1 with four differences: the client identifier is 1 to
    /// 23 characters long, so a client can't ask the server to assign one; CONNACK has no
    /// Session Present flag (its first byte is reserved); SUBACK has no failure code 0x80, only
    /// the granted QoS; and the CONNECT names the protocol "MQIsdp".
    V31,
    /// MQTT 3.1.1 (OASIS Standard, 29 October 2014), protocol level 4.
    V311,
    /// MQTT 5.0 (OASIS Standard, 7 March 2019), protocol level 5.
    V5,
}

impl Version {
    /// The Protocol Level byte sent in CONNECT.
    pub const fn level(self) -> u8 {
        match self {
            Version::V31 => 3,
            Version::V311 => 4,
            Version::V5 => 5,
        }
    }

    /// The version for a Protocol Level byte, if this crate speaks it.
    pub const fn from_level(level: u8) -> Option<Version> {
        match level {
            3 => Some(Version::V31),
            4 => Some(Version::V311),
            5 => Some(Version::V5),
            _ => None,
        }
    }

    /// The Protocol Name sent in CONNECT: "MQIsdp" for MQTT 3.1, "MQTT" after it (MQTT 5.0
    /// §3.1.2.1, MQTT-3.1.2-1).
    pub const fn protocol_name(self) -> &'static str {
        match self {
            Version::V31 => "MQIsdp",
            Version::V311 | Version::V5 => "MQTT",
        }
    }

    /// `true` for MQTT 5.0.
    pub const fn is_v5(self) -> bool {
        matches!(self, Version::V5)
    }

    /// Whether CONNACK carries a Session Present flag: from MQTT 3.1.1 on (MQTT 3.1.1
    /// §3.2.2.2). MQTT 3.1 has none.
    pub const fn has_session_present(self) -> bool {
        !matches!(self, Version::V31)
    }
}

impl core::fmt::Display for Version {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(match self {
            Version::V31 => "MQTT 3.1",
            Version::V311 => "MQTT 3.1.1",
            Version::V5 => "MQTT 5.0",
        })
    }
}
