/// The MQTT protocol version a connection speaks.
///
/// It is chosen by the client in CONNECT (the Protocol Level byte, MQTT 5.0 §3.1.2.2) and is a
/// parameter of every encode and decode.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[non_exhaustive]
pub enum Version {
    /// MQTT 3.1.1 (OASIS Standard, 29 October 2014), protocol level 4.
    V311,
    /// MQTT 5.0 (OASIS Standard, 7 March 2019), protocol level 5.
    V5,
}

impl Version {
    /// The Protocol Level byte sent in CONNECT.
    pub const fn level(self) -> u8 {
        match self {
            Version::V311 => 4,
            Version::V5 => 5,
        }
    }

    /// The version for a Protocol Level byte, if this crate speaks it.
    pub const fn from_level(level: u8) -> Option<Version> {
        match level {
            4 => Some(Version::V311),
            5 => Some(Version::V5),
            _ => None,
        }
    }

    /// `true` for MQTT 5.0.
    pub const fn is_v5(self) -> bool {
        matches!(self, Version::V5)
    }
}

impl core::fmt::Display for Version {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(match self {
            Version::V311 => "MQTT 3.1.1",
            Version::V5 => "MQTT 5.0",
        })
    }
}
