//! Logging through defmt with the `defmt` feature, and nothing without it.
#![allow(unused_macros, unused_imports)]

#[cfg(feature = "defmt")]
macro_rules! log_debug {
    ($($t:tt)*) => { ::defmt::debug!($($t)*) };
}
#[cfg(feature = "defmt")]
macro_rules! log_info {
    ($($t:tt)*) => { ::defmt::info!($($t)*) };
}
#[cfg(feature = "defmt")]
macro_rules! log_warn {
    ($($t:tt)*) => { ::defmt::warn!($($t)*) };
}

#[cfg(not(feature = "defmt"))]
macro_rules! log_debug {
    ($fmt:literal $(, $arg:expr)* $(,)?) => {{ $( let _ = &$arg; )* }};
}
#[cfg(not(feature = "defmt"))]
macro_rules! log_info {
    ($fmt:literal $(, $arg:expr)* $(,)?) => {{ $( let _ = &$arg; )* }};
}
#[cfg(not(feature = "defmt"))]
macro_rules! log_warn {
    ($fmt:literal $(, $arg:expr)* $(,)?) => {{ $( let _ = &$arg; )* }};
}

pub(crate) use {log_debug, log_info, log_warn};

/// A `Debug` value for a log line.
#[cfg(feature = "defmt")]
pub(crate) use defmt::Debug2Format as Debug2;

/// A `Debug` value for a log line (unused without defmt).
#[cfg(not(feature = "defmt"))]
pub(crate) struct Debug2<'a, T: ?Sized>(pub(crate) &'a T);
