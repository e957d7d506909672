//! Topic names, topic filters and the rule that matches one against the other (MQTT 5.0 §4.7).
//!
//! A [`TopicName`] says where a PUBLISH goes, for example `sensors/1/temp`. A [`TopicFilter`] is
//! what a SUBSCRIBE or UNSUBSCRIBE carries and may contain wildcards (§4.7.1): `+` stands for
//! exactly one level, `#`, allowed only as the last level, for the parent level and any number of
//! levels below it. Levels are separated by `/` and may be empty: `/finance` has two levels, the
//! first of them empty. Names and filters are case sensitive.
//!
//! Topics starting with `$` (such as `$SYS/...`) are reserved for the server and are not matched by
//! a filter that starts with a wildcard (§4.7.2). A filter of the form `$share/{ShareName}/{filter}`
//! is a shared subscription (§4.8.2): only `{filter}` is matched against topic names, and
//! [`TopicFilter::share_name`] gives the group.
//!
//! Both types are checked when they are built and hold a [`ByteString`], so cloning one is cheap
//! and a decoded topic shares the memory of the packet it came from.
//!
//! ```
//! use mqtt_proto::{TopicFilter, TopicName};
//!
//! let name = TopicName::new("sport/tennis/player1")?;
//! assert!(TopicFilter::new("sport/tennis/+")?.matches(&name));
//! assert!(TopicFilter::new("sport/#")?.matches(&name));
//! assert!(!TopicFilter::new("sport/+")?.matches(&name));
//!
//! let shared = TopicFilter::new("$share/consumer1/sport/#")?;
//! assert_eq!(shared.share_name(), Some("consumer1"));
//! assert_eq!(shared.topic_filter(), "sport/#");
//! assert!(shared.matches(&name));
//! # Ok::<(), mqtt_proto::topic::TopicError>(())
//! ```
//!
//! The matching rule is also available on plain strings, without allocating:
//!
//! ```
//! use mqtt_proto::topic::matches;
//!
//! assert!(matches("sport/#", "sport"));
//! assert!(matches("+/+", "/finance"));
//! assert!(!matches("+", "/finance"));
//! assert!(!matches("#", "$SYS/uptime"));
//! ```

use alloc::string::String;
use core::borrow::Borrow;
use core::fmt;
use core::ops::Deref;
use core::str::FromStr;

use bytes::Bytes;
use bytestring::ByteString;

use crate::error::DecodeError;
use crate::primitive::{any_word, checked_string, splat, zero_byte};

/// The longest topic in bytes: topics are UTF-8 encoded strings with a 16-bit length (MQTT 5.0
/// §1.5.4, §4.7.3).
const MAX_LEN: usize = u16::MAX as usize;

/// The prefix of a shared subscription's topic filter (MQTT 5.0 §4.8.2).
const SHARE_PREFIX: &str = "$share/";

/// Why a string is not a valid [`TopicName`] or [`TopicFilter`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum TopicError {
    /// The topic is empty; names and filters are at least one character long (MQTT-4.7.3-1).
    Empty,
    /// The topic is longer than 65,535 bytes (MQTT-4.7.3-3).
    TooLong,
    /// The topic contains the null character U+0000 (MQTT-1.5.4-2, MQTT-4.7.3-2).
    NullCharacter,
    /// A topic name contains `+` or `#` (MQTT-3.3.2-2).
    WildcardInName,
    /// A topic filter has a `+` or `#` that is not a whole level, or a `#` that is not the last
    /// level (MQTT-4.7.1-1, MQTT-4.7.1-2).
    InvalidWildcard,
    /// A topic filter starts with `$share/` but is not `$share/{ShareName}/{filter}` with a
    /// non-empty ShareName free of `/`, `+` and `#` and a non-empty filter (MQTT-4.8.2-1,
    /// MQTT-4.8.2-2).
    InvalidSharedSubscription,
}

impl fmt::Display for TopicError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            TopicError::Empty => "topic is empty",
            TopicError::TooLong => "topic is longer than 65535 bytes",
            TopicError::NullCharacter => "topic contains the null character",
            TopicError::WildcardInName => "topic name contains a wildcard character",
            TopicError::InvalidWildcard => "topic filter has a misplaced wildcard",
            TopicError::InvalidSharedSubscription => "malformed shared subscription filter",
        })
    }
}

#[cfg(feature = "std")]
impl std::error::Error for TopicError {}

/// A validated topic name: the topic a PUBLISH is sent to (MQTT 5.0 §3.3.2.1, §4.7).
///
/// It contains no null character (MQTT-1.5.4-2), no wildcard `+` or `#` (MQTT-3.3.2-2) and is at
/// most 65,535 bytes long. Names built with [`TopicName::new`] are never empty; only a decoded
/// MQTT 5.0 PUBLISH that uses a Topic Alias has an empty name (§3.3.2.3.4), which is also what
/// [`TopicName::default`] returns.
///
/// ```
/// use mqtt_proto::TopicName;
///
/// let name = TopicName::new("sensors/1/temp")?;
/// assert_eq!(name, "sensors/1/temp");
/// assert_eq!(name.levels().collect::<Vec<_>>(), ["sensors", "1", "temp"]);
/// assert!(TopicName::new("sensors/+/temp").is_err());
/// # Ok::<(), mqtt_proto::topic::TopicError>(())
/// ```
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub struct TopicName(ByteString);

impl TopicName {
    /// Checks `name` and wraps it.
    ///
    /// # Errors
    ///
    /// [`TopicError::Empty`] for an empty name (MQTT-4.7.3-1), [`TopicError::TooLong`],
    /// [`TopicError::NullCharacter`] and [`TopicError::WildcardInName`].
    pub fn new(name: impl Into<ByteString>) -> Result<TopicName, TopicError> {
        let name = name.into();
        if name.is_empty() {
            return Err(TopicError::Empty);
        }
        TopicName::from_wire(name)
    }

    /// Checks a name decoded from a PUBLISH packet, which may be empty when a Topic Alias is used
    /// (MQTT 5.0 §3.3.2.3.4).
    ///
    /// # Errors
    ///
    /// The same as [`TopicName::new`] except [`TopicError::Empty`].
    pub(crate) fn from_wire(name: ByteString) -> Result<TopicName, TopicError> {
        check_name(&name)?;
        Ok(TopicName(name))
    }

    /// Decodes the topic name field of a PUBLISH from its bytes: a UTF-8 Encoded String (MQTT 5.0
    /// §1.5.4) that is a valid name, or empty (see [`TopicName::from_wire`]).
    ///
    /// The checks and the order of their errors are those of `primitive::checked_string` followed
    /// by [`TopicName::from_wire`]; a name free of U+0000, `+` and `#`, the usual case, takes one
    /// scan and the UTF-8 check instead of three scans.
    ///
    /// # Errors
    ///
    /// [`DecodeError::NullCharacter`], [`DecodeError::InvalidUtf8`] and
    /// [`DecodeError::InvalidTopic`].
    pub(crate) fn decode(bytes: Bytes) -> Result<TopicName, DecodeError> {
        if has_name_forbidden_byte(&bytes) {
            return Ok(TopicName::from_wire(checked_string(bytes)?)?);
        }
        ByteString::try_from(bytes)
            .map(TopicName)
            .map_err(|_| DecodeError::InvalidUtf8)
    }

    /// Wraps a name that has been checked already.
    pub(crate) fn from_checked(name: ByteString) -> TopicName {
        TopicName(name)
    }

    /// The name as a string slice.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The underlying string.
    pub fn as_byte_string(&self) -> &ByteString {
        &self.0
    }

    /// Unwraps the underlying string.
    pub fn into_inner(self) -> ByteString {
        self.0
    }

    /// Whether the name is empty, which only a decoded PUBLISH with a Topic Alias produces.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The length in bytes.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// The levels of the name, split on `/`. Empty levels are included: `/finance` yields `""` and
    /// `"finance"`, and the empty name yields one empty level.
    pub fn levels(&self) -> impl Iterator<Item = &str> {
        self.0.split('/')
    }

    /// Whether the name starts with `$`, the topics reserved for the server, such as `$SYS/`
    /// (MQTT 5.0 §4.7.2). Filters starting with a wildcard do not match them.
    pub fn is_system(&self) -> bool {
        self.0.starts_with('$')
    }
}

/// A validated topic filter: what a SUBSCRIBE or UNSUBSCRIBE carries (MQTT 5.0 §4.7, §4.8.2).
///
/// It is not empty (MQTT-4.7.3-1), at most 65,535 bytes long and contains no null character. A
/// `#` is a whole level and the last one (MQTT-4.7.1-1), a `+` is a whole level (MQTT-4.7.1-2).
/// A filter starting with `$share/` must be a well-formed shared subscription
/// `$share/{ShareName}/{filter}` (MQTT-4.8.2-1, MQTT-4.8.2-2); `$share` alone or `$sharex/a` are
/// ordinary filters.
///
/// ```
/// use mqtt_proto::TopicFilter;
///
/// let filter = TopicFilter::new("sport/+/player1")?;
/// assert!(filter.has_wildcards());
/// assert!(filter.matches_str("sport/tennis/player1"));
/// assert!(TopicFilter::new("sport/tennis#").is_err());
/// assert!(TopicFilter::new("$share/group").is_err());
/// # Ok::<(), mqtt_proto::topic::TopicError>(())
/// ```
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct TopicFilter(ByteString);

impl TopicFilter {
    /// Checks `filter` and wraps it.
    ///
    /// # Errors
    ///
    /// [`TopicError::Empty`], [`TopicError::TooLong`], [`TopicError::NullCharacter`],
    /// [`TopicError::InvalidWildcard`] and [`TopicError::InvalidSharedSubscription`].
    pub fn new(filter: impl Into<ByteString>) -> Result<TopicFilter, TopicError> {
        TopicFilter::from_wire(filter.into())
    }

    /// Checks a filter decoded from a SUBSCRIBE or UNSUBSCRIBE packet.
    ///
    /// # Errors
    ///
    /// The same as [`TopicFilter::new`].
    pub(crate) fn from_wire(filter: ByteString) -> Result<TopicFilter, TopicError> {
        check_filter(&filter)?;
        Ok(TopicFilter(filter))
    }

    /// The whole filter as a string slice, including any `$share/{ShareName}/` prefix.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The underlying string.
    pub fn as_byte_string(&self) -> &ByteString {
        &self.0
    }

    /// Unwraps the underlying string.
    pub fn into_inner(self) -> ByteString {
        self.0
    }

    /// The ShareName of a shared subscription (MQTT 5.0 §4.8.2), or `None` for an ordinary filter.
    pub fn share_name(&self) -> Option<&str> {
        split_shared(&self.0).map(|(share, _)| share)
    }

    /// Whether this is a shared subscription `$share/{ShareName}/{filter}` (MQTT 5.0 §4.8.2).
    pub fn is_shared(&self) -> bool {
        split_shared(&self.0).is_some()
    }

    /// The part matched against topic names: the filter without any `$share/{ShareName}/` prefix.
    pub fn topic_filter(&self) -> &str {
        match split_shared(&self.0) {
            Some((_, filter)) => filter,
            None => &self.0,
        }
    }

    /// Whether the matched part ([`TopicFilter::topic_filter`]) contains `+` or `#`.
    pub fn has_wildcards(&self) -> bool {
        self.topic_filter().bytes().any(|b| b == b'+' || b == b'#')
    }

    /// Whether `topic` matches this filter, see [`matches()`].
    pub fn matches(&self, topic: &TopicName) -> bool {
        matches(self.topic_filter(), topic.as_str())
    }

    /// Whether the topic name `topic` matches this filter, see [`matches()`].
    pub fn matches_str(&self, topic: &str) -> bool {
        matches(self.topic_filter(), topic)
    }
}

/// Whether the topic name `topic` matches the topic filter `filter` (MQTT 5.0 §4.7).
///
/// Both are compared level by level, split on `/`. A `+` level matches exactly one level, which
/// may be empty (§4.7.1.3); a `#` level matches the parent level and any number of levels below
/// it, so `sport/#` matches `sport` (§4.7.1.2). A filter starting with a wildcard does not match a
/// topic starting with `$` (MQTT-4.7.2-1). Other levels must be equal, case included.
///
/// The filter is expected to be valid, as a [`TopicFilter::topic_filter`] is; for other strings the
/// result is unspecified but the function never panics. It does not allocate. A `$share/`
/// prefix is not stripped here: use [`TopicFilter::matches`] for shared subscriptions.
///
/// ```
/// use mqtt_proto::topic::matches;
///
/// assert!(matches("sport/tennis/+", "sport/tennis/player1"));
/// assert!(!matches("sport/tennis/+", "sport/tennis/player1/ranking"));
/// assert!(matches("sport/tennis/player1/#", "sport/tennis/player1"));
/// assert!(!matches("+/monitor/Clients", "$SYS/monitor/Clients"));
/// ```
pub fn matches(filter: &str, topic: &str) -> bool {
    if topic.starts_with('$') && (filter.starts_with('+') || filter.starts_with('#')) {
        return false;
    }
    let mut topic_levels = topic.split('/');
    for filter_level in filter.split('/') {
        if filter_level == "#" {
            return true;
        }
        match topic_levels.next() {
            Some(topic_level) if filter_level == "+" || filter_level == topic_level => {}
            _ => return false,
        }
    }
    topic_levels.next().is_none()
}

/// Checks the topic name field of a PUBLISH without copying it: the checks of
/// [`TopicName::decode`], in the same order, on borrowed bytes.
///
/// # Errors
///
/// [`DecodeError::NullCharacter`], [`DecodeError::InvalidUtf8`] and
/// [`DecodeError::InvalidTopic`].
#[inline]
pub(crate) fn decode_name_ref(bytes: &[u8]) -> Result<&str, DecodeError> {
    let forbidden = has_name_forbidden_byte(bytes);
    if forbidden && bytes.contains(&0) {
        return Err(DecodeError::NullCharacter);
    }
    let name = core::str::from_utf8(bytes).map_err(|_| DecodeError::InvalidUtf8)?;
    if forbidden {
        check_name(name)?;
    }
    Ok(name)
}

/// Whether `bytes` holds U+0000, `+` or `#`, which no topic name has. Eight bytes at a time
/// (see [`any_word`]).
#[inline]
fn has_name_forbidden_byte(bytes: &[u8]) -> bool {
    any_word(bytes, |word| {
        zero_byte(word) | zero_byte(word ^ splat(b'+')) | zero_byte(word ^ splat(b'#'))
    })
}

/// Checks the invariants of a topic name, except non-emptiness.
fn check_name(name: &str) -> Result<(), TopicError> {
    if name.len() > MAX_LEN {
        return Err(TopicError::TooLong);
    }
    if !has_name_forbidden_byte(name.as_bytes()) {
        return Ok(());
    }
    // Report the first offending byte.
    for &b in name.as_bytes() {
        match b {
            0 => return Err(TopicError::NullCharacter),
            b'+' | b'#' => return Err(TopicError::WildcardInName),
            _ => {}
        }
    }
    Ok(())
}

/// Checks the invariants of a topic filter, shared subscriptions included.
fn check_filter(filter: &str) -> Result<(), TopicError> {
    if filter.is_empty() {
        return Err(TopicError::Empty);
    }
    if filter.len() > MAX_LEN {
        return Err(TopicError::TooLong);
    }
    let Some(rest) = filter.strip_prefix(SHARE_PREFIX) else {
        return check_plain_filter(filter);
    };
    let Some((share, inner)) = rest.split_once('/') else {
        return Err(TopicError::InvalidSharedSubscription);
    };
    if share.is_empty() || inner.is_empty() {
        return Err(TopicError::InvalidSharedSubscription);
    }
    for &b in share.as_bytes() {
        match b {
            0 => return Err(TopicError::NullCharacter),
            b'+' | b'#' => return Err(TopicError::InvalidSharedSubscription),
            _ => {}
        }
    }
    check_plain_filter(inner)
}

/// Checks the wildcards and null characters of a filter without a `$share/` prefix, in one pass.
fn check_plain_filter(filter: &str) -> Result<(), TopicError> {
    let bytes = filter.as_bytes();
    // The byte before the current one; `/` at the start so the first level is handled alike.
    let mut prev = b'/';
    for (i, &b) in bytes.iter().enumerate() {
        match b {
            0 => return Err(TopicError::NullCharacter),
            b'+' if prev != b'/' || bytes.get(i + 1).is_some_and(|&next| next != b'/') => {
                return Err(TopicError::InvalidWildcard);
            }
            b'#' if prev != b'/' || i + 1 != bytes.len() => {
                return Err(TopicError::InvalidWildcard);
            }
            _ => {}
        }
        prev = b;
    }
    Ok(())
}

/// Splits a valid shared subscription filter into its ShareName and its matched filter.
fn split_shared(filter: &str) -> Option<(&str, &str)> {
    filter.strip_prefix(SHARE_PREFIX)?.split_once('/')
}

macro_rules! string_impls {
    ($ty:ident) => {
        impl TryFrom<&str> for $ty {
            type Error = TopicError;

            fn try_from(value: &str) -> Result<$ty, TopicError> {
                $ty::new(value)
            }
        }

        impl TryFrom<String> for $ty {
            type Error = TopicError;

            fn try_from(value: String) -> Result<$ty, TopicError> {
                $ty::new(value)
            }
        }

        impl TryFrom<ByteString> for $ty {
            type Error = TopicError;

            fn try_from(value: ByteString) -> Result<$ty, TopicError> {
                $ty::new(value)
            }
        }

        impl FromStr for $ty {
            type Err = TopicError;

            fn from_str(s: &str) -> Result<$ty, TopicError> {
                $ty::new(s)
            }
        }

        impl Deref for $ty {
            type Target = str;

            fn deref(&self) -> &str {
                &self.0
            }
        }

        impl AsRef<str> for $ty {
            fn as_ref(&self) -> &str {
                &self.0
            }
        }

        impl Borrow<str> for $ty {
            fn borrow(&self) -> &str {
                &self.0
            }
        }

        impl fmt::Display for $ty {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                fmt::Display::fmt(self.as_str(), f)
            }
        }

        impl fmt::Debug for $ty {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                fmt::Debug::fmt(self.as_str(), f)
            }
        }

        impl PartialEq<str> for $ty {
            fn eq(&self, other: &str) -> bool {
                self.as_str() == other
            }
        }

        impl PartialEq<&str> for $ty {
            fn eq(&self, other: &&str) -> bool {
                self.as_str() == *other
            }
        }

        impl PartialEq<$ty> for str {
            fn eq(&self, other: &$ty) -> bool {
                self == other.as_str()
            }
        }

        impl PartialEq<$ty> for &str {
            fn eq(&self, other: &$ty) -> bool {
                *self == other.as_str()
            }
        }

        impl From<$ty> for ByteString {
            fn from(value: $ty) -> ByteString {
                value.0
            }
        }
    };
}

string_impls!(TopicName);
string_impls!(TopicFilter);

#[cfg(test)]
#[allow(clippy::unwrap_used)] // the workspace lint also covers tests
mod tests {

    /// The word-at-a-time scan agrees with a byte-at-a-time one: every length up to 40, every
    /// byte value at every position.
    #[test]
    fn forbidden_byte_scan_agrees_with_naive() {
        for len in 0..40 {
            let clean = alloc::vec![b'a'; len];
            assert!(!has_name_forbidden_byte(&clean), "len {len}");
            for pos in 0..len {
                for b in 0..=255u8 {
                    let mut bytes = clean.clone();
                    bytes[pos] = b;
                    assert_eq!(
                        has_name_forbidden_byte(&bytes),
                        matches!(b, 0 | b'+' | b'#'),
                        "len {len} pos {pos} byte {b}"
                    );
                }
            }
        }
    }

    use super::*;
    use alloc::format;
    use alloc::string::ToString;
    use alloc::vec::Vec;
    use proptest::prelude::*;

    fn filter(s: &str) -> TopicFilter {
        TopicFilter::new(s).unwrap()
    }

    fn name(s: &str) -> TopicName {
        TopicName::new(s).unwrap()
    }

    /// Matches through both the plain function and the validated types.
    fn check(f: &str, t: &str) -> bool {
        let plain = matches(f, t);
        assert_eq!(filter(f).matches(&name(t)), plain, "{f:?} vs {t:?}");
        assert_eq!(filter(f).matches_str(t), plain, "{f:?} vs {t:?}");
        plain
    }

    // MQTT 5.0 §4.7.1.2 Multi-level wildcard.

    #[test]
    fn multi_level_wildcard_matches_parent_and_all_descendants() {
        // "sport/tennis/player1/#" receives "sport/tennis/player1", ".../ranking" and
        // ".../score/wimbledon".
        assert!(check("sport/tennis/player1/#", "sport/tennis/player1"));
        assert!(check(
            "sport/tennis/player1/#",
            "sport/tennis/player1/ranking"
        ));
        assert!(check(
            "sport/tennis/player1/#",
            "sport/tennis/player1/score/wimbledon"
        ));
        assert!(!check("sport/tennis/player1/#", "sport/tennis/player2"));
        assert!(!check("sport/tennis/player1/#", "sport/tennis"));
    }

    #[test]
    fn multi_level_wildcard_matches_singular_parent_level() {
        // "sport/#" also matches the singular "sport", since # includes the parent level.
        assert!(check("sport/#", "sport"));
        assert!(check("sport/#", "sport/"));
        assert!(!check("sport/#", "sports"));
    }

    #[test]
    fn multi_level_wildcard_alone_matches_every_topic() {
        // "#" is valid and will receive every Application Message.
        for t in ["sport", "sport/tennis", "/", "/finance", "a//b"] {
            assert!(check("#", t), "{t}");
        }
        assert!(matches("#", ""));
    }

    #[test]
    fn multi_level_wildcard_validity_examples() {
        assert!(TopicFilter::new("#").is_ok());
        assert!(TopicFilter::new("sport/tennis/#").is_ok());
        assert_eq!(
            TopicFilter::new("sport/tennis#"),
            Err(TopicError::InvalidWildcard)
        );
        assert_eq!(
            TopicFilter::new("sport/tennis/#/ranking"),
            Err(TopicError::InvalidWildcard)
        );
        assert_eq!(TopicFilter::new("#/"), Err(TopicError::InvalidWildcard));
        assert_eq!(TopicFilter::new("##"), Err(TopicError::InvalidWildcard));
        assert_eq!(TopicFilter::new("a/#b"), Err(TopicError::InvalidWildcard));
    }

    // MQTT 5.0 §4.7.1.3 Single-level wildcard.

    #[test]
    fn single_level_wildcard_matches_exactly_one_level() {
        // "sport/tennis/+" matches "sport/tennis/player1" and "sport/tennis/player2", but not
        // "sport/tennis/player1/ranking".
        assert!(check("sport/tennis/+", "sport/tennis/player1"));
        assert!(check("sport/tennis/+", "sport/tennis/player2"));
        assert!(!check("sport/tennis/+", "sport/tennis/player1/ranking"));
    }

    #[test]
    fn single_level_wildcard_does_not_match_parent_but_matches_empty_level() {
        // "sport/+" does not match "sport" but it does match "sport/".
        assert!(!check("sport/+", "sport"));
        assert!(check("sport/+", "sport/"));
        assert!(!check("sport/tennis/+", "sport/tennis"));
        assert!(check("sport/tennis/+", "sport/tennis/"));
        assert!(check("a/+/b", "a//b"));
    }

    #[test]
    fn single_level_wildcard_validity_examples() {
        assert!(TopicFilter::new("+").is_ok());
        assert!(TopicFilter::new("+/tennis/#").is_ok());
        assert!(TopicFilter::new("sport/+/player1").is_ok());
        assert_eq!(TopicFilter::new("sport+"), Err(TopicError::InvalidWildcard));
        assert_eq!(TopicFilter::new("+sport"), Err(TopicError::InvalidWildcard));
        assert_eq!(TopicFilter::new("a/++/b"), Err(TopicError::InvalidWildcard));
        assert!(TopicFilter::new("+/+/+").is_ok());
        assert!(TopicFilter::new("+/#").is_ok());
    }

    #[test]
    fn leading_slash_level_matched_by_two_wildcard_levels_only() {
        // "/finance" matches "+/+" and "/+", but not "+".
        assert!(check("+/+", "/finance"));
        assert!(check("/+", "/finance"));
        assert!(!check("+", "/finance"));
    }

    // MQTT 5.0 §4.7.2 Topics beginning with $.

    #[test]
    fn dollar_topics_not_matched_by_leading_wildcards() {
        // A subscription to "#" will not receive messages published to a topic beginning with $.
        assert!(!check("#", "$SYS"));
        assert!(!check("#", "$SYS/monitor/Clients"));
        // A subscription to "+/monitor/Clients" will not receive "$SYS/monitor/Clients".
        assert!(!check("+/monitor/Clients", "$SYS/monitor/Clients"));
        assert!(!check("+", "$SYS"));
        assert!(!check("+/#", "$SYS/a"));
    }

    #[test]
    fn dollar_topics_matched_by_explicit_prefix() {
        // A subscription to "$SYS/#" receives topics beginning with "$SYS/".
        assert!(check("$SYS/#", "$SYS/monitor/Clients"));
        assert!(check("$SYS/#", "$SYS"));
        // A subscription to "$SYS/monitor/+" receives "$SYS/monitor/Clients".
        assert!(check("$SYS/monitor/+", "$SYS/monitor/Clients"));
        // The rule only concerns the first level.
        assert!(check("a/+", "a/$b"));
        assert!(check("a/#", "a/$b/c"));
        assert!(name("$SYS/uptime").is_system());
        assert!(!name("SYS/$uptime").is_system());
    }

    // MQTT 5.0 §4.7.3 Topic semantic and usage.

    #[test]
    fn topics_are_case_sensitive() {
        // "ACCOUNTS" and "Accounts" are two different Topic Names.
        assert!(!check("ACCOUNTS", "Accounts"));
        assert_ne!(name("ACCOUNTS"), name("Accounts"));
    }

    #[test]
    fn space_is_a_valid_character() {
        // "Accounts payable" is a valid Topic Name.
        assert!(check("Accounts payable", "Accounts payable"));
        assert!(TopicName::new(" ").is_ok());
    }

    #[test]
    fn leading_slash_creates_distinct_topic() {
        // "/finance" is different from "finance".
        assert!(!check("/finance", "finance"));
        assert!(!check("finance", "/finance"));
        assert!(!check("finance/", "finance"));
    }

    #[test]
    fn single_slash_is_valid() {
        // A Topic Name or Topic Filter consisting only of '/' is valid.
        assert!(check("/", "/"));
        assert!(check("+/+", "/"));
        assert!(!check("+", "/"));
    }

    #[test]
    fn empty_topics_are_rejected() {
        // MQTT-4.7.3-1.
        assert_eq!(TopicName::new(""), Err(TopicError::Empty));
        assert_eq!(TopicFilter::new(""), Err(TopicError::Empty));
        assert_eq!(
            TopicFilter::from_wire(ByteString::new()),
            Err(TopicError::Empty)
        );
    }

    #[test]
    fn empty_topic_name_allowed_from_wire() {
        // MQTT 5.0 §3.3.2.3.4: an empty Topic Name with a Topic Alias.
        let n = TopicName::from_wire(ByteString::new()).unwrap();
        assert!(n.is_empty());
        assert_eq!(n, TopicName::default());
        assert_eq!(n.levels().collect::<Vec<_>>(), [""]);
        assert_eq!(
            TopicName::from_wire(ByteString::from_static("a/+")),
            Err(TopicError::WildcardInName)
        );
    }

    /// The one-scan decoding of a PUBLISH topic reports the errors of the general string and
    /// name checks, in the same order: U+0000 first, then ill-formed UTF-8, then a wildcard.
    #[test]
    fn decode_matches_string_then_name_checks() {
        let cases: &[&[u8]] = &[
            b"a/b",
            b"",
            b"a/+",
            b"#",
            b"a\0b",
            b"+\0",
            b"\xED\xA0\x80",
            b"\xED\xA0\x80+",
            b"\xED\xA0\x80\0",
            "caf\u{e9}/\u{2A6D4}".as_bytes(),
        ];
        for &case in cases {
            let bytes = Bytes::from_static(case);
            let general = checked_string(bytes.clone())
                .and_then(|s| TopicName::from_wire(s).map_err(DecodeError::from));
            assert_eq!(TopicName::decode(bytes), general, "{case:?}");
        }
        assert_eq!(
            TopicName::decode(Bytes::from_static(b"a\0+")),
            Err(DecodeError::NullCharacter)
        );
        assert_eq!(
            TopicName::decode(Bytes::from_static(b"a/#")),
            Err(DecodeError::InvalidTopic(TopicError::WildcardInName))
        );
    }

    /// The vectorized pre-scan does not change which error `TopicName::new` reports first.
    #[test]
    fn first_offending_byte_is_reported() {
        assert_eq!(TopicName::new("a+\0"), Err(TopicError::WildcardInName));
        assert_eq!(TopicName::new("a\0#"), Err(TopicError::NullCharacter));
    }

    #[test]
    fn null_character_is_rejected() {
        // MQTT-1.5.4-2, MQTT-4.7.3-2.
        assert_eq!(TopicName::new("a\0b"), Err(TopicError::NullCharacter));
        assert_eq!(TopicFilter::new("a/\0"), Err(TopicError::NullCharacter));
        assert_eq!(
            TopicFilter::new("$share/g\0/a"),
            Err(TopicError::NullCharacter)
        );
        assert_eq!(
            TopicFilter::new("$share/g/\0"),
            Err(TopicError::NullCharacter)
        );
    }

    #[test]
    fn wildcards_in_topic_name_are_rejected() {
        // MQTT-3.3.2-2.
        for t in ["+", "#", "a/+", "a/#", "a+b", "sport/tennis#"] {
            assert_eq!(TopicName::new(t), Err(TopicError::WildcardInName), "{t}");
        }
    }

    #[test]
    fn length_limit_is_65535_bytes() {
        // MQTT-4.7.3-3.
        let longest = "a".repeat(MAX_LEN);
        let too_long = "a".repeat(MAX_LEN + 1);
        assert_eq!(TopicName::new(longest.as_str()).unwrap().len(), MAX_LEN);
        assert!(TopicFilter::new(longest.as_str()).is_ok());
        assert_eq!(TopicName::new(too_long.as_str()), Err(TopicError::TooLong));
        assert_eq!(
            TopicFilter::new(too_long.as_str()),
            Err(TopicError::TooLong)
        );
        // Multi-byte characters count in bytes.
        let wide = "é".repeat(MAX_LEN / 2 + 1);
        assert_eq!(TopicName::new(wide), Err(TopicError::TooLong));
    }

    // MQTT 5.0 §4.8.2 Shared Subscriptions.

    #[test]
    fn shared_subscription_splits_share_name_and_filter() {
        let f = filter("$share/consumer1/sport/tennis/+");
        assert!(f.is_shared());
        assert_eq!(f.share_name(), Some("consumer1"));
        assert_eq!(f.topic_filter(), "sport/tennis/+");
        assert_eq!(f.as_str(), "$share/consumer1/sport/tennis/+");
        assert!(f.has_wildcards());
        assert!(f.matches(&name("sport/tennis/player1")));
        assert!(!f.matches(&name("$share/consumer1/sport/tennis/player1")));

        // "$share/consumer1//finance": the filter is "/finance".
        let f = filter("$share/consumer1//finance");
        assert_eq!(f.share_name(), Some("consumer1"));
        assert_eq!(f.topic_filter(), "/finance");
        assert!(!f.has_wildcards());
        assert!(f.matches_str("/finance"));
        assert!(!f.matches_str("finance"));
    }

    #[test]
    fn shared_subscriptions_with_different_share_names_are_distinct() {
        // "$share/consumer1/sport/tennis/+" and "$share/consumer2/sport/tennis/+" are distinct
        // shared subscriptions matching the same topics.
        let a = filter("$share/consumer1/sport/tennis/+");
        let b = filter("$share/consumer2/sport/tennis/+");
        assert_ne!(a, b);
        assert_eq!(a.topic_filter(), b.topic_filter());
    }

    #[test]
    fn shared_subscription_keeps_dollar_rule_on_inner_filter() {
        let f = filter("$share/g/#");
        assert!(f.matches_str("sport"));
        assert!(!f.matches_str("$SYS/uptime"));
        assert!(filter("$share/g/$SYS/#").matches_str("$SYS/uptime"));
    }

    #[test]
    fn malformed_shared_subscriptions_are_rejected() {
        // MQTT-4.8.2-1, MQTT-4.8.2-2.
        for f in [
            "$share/",
            "$share/group",
            "$share/group/",
            "$share//x",
            "$share//",
            "$share/g+/x",
            "$share/+/x",
            "$share/g#/x",
            "$share/#",
        ] {
            assert_eq!(
                TopicFilter::new(f),
                Err(TopicError::InvalidSharedSubscription),
                "{f}"
            );
        }
        assert_eq!(
            TopicFilter::new("$share/g/a#"),
            Err(TopicError::InvalidWildcard)
        );
        assert_eq!(
            TopicFilter::new("$share/g/#/a"),
            Err(TopicError::InvalidWildcard)
        );
    }

    #[test]
    fn share_prefix_lookalikes_are_ordinary_filters() {
        for s in [
            "$share",
            "$sharex/a",
            "$SHARE/g/x",
            "a/$share/g/x",
            "$shar/g",
        ] {
            let f = filter(s);
            assert!(!f.is_shared(), "{s}");
            assert_eq!(f.share_name(), None);
            assert_eq!(f.topic_filter(), s);
        }
        assert!(check("$share", "$share"));
    }

    #[test]
    fn has_wildcards_ignores_share_name() {
        assert!(!filter("a/b").has_wildcards());
        assert!(filter("a/+").has_wildcards());
        assert!(filter("#").has_wildcards());
        assert!(!filter("$share/g/a/b").has_wildcards());
    }

    // Conversions and traits.

    #[test]
    fn conversions_agree() {
        let from_str: TopicName = "a/b".parse().unwrap();
        let from_ref = TopicName::try_from("a/b").unwrap();
        let from_string = TopicName::try_from("a/b".to_string()).unwrap();
        let from_bytes = TopicName::try_from(ByteString::from_static("a/b")).unwrap();
        assert_eq!(from_str, from_ref);
        assert_eq!(from_ref, from_string);
        assert_eq!(from_string, from_bytes);
        assert_eq!(from_bytes.as_byte_string(), "a/b");
        assert_eq!(ByteString::from(from_bytes.clone()), "a/b");
        assert_eq!(from_bytes.into_inner(), "a/b");
        assert_eq!("a/+".parse::<TopicName>(), Err(TopicError::WildcardInName));

        let f: TopicFilter = "a/+".parse().unwrap();
        assert_eq!(f, TopicFilter::try_from("a/+").unwrap());
        assert_eq!(f, TopicFilter::try_from("a/+".to_string()).unwrap());
        assert_eq!(
            f,
            TopicFilter::try_from(ByteString::from_static("a/+")).unwrap()
        );
        assert_eq!(f.as_byte_string(), "a/+");
        assert_eq!(f.into_inner(), "a/+");
        assert_eq!(
            "a#".parse::<TopicFilter>(),
            Err(TopicError::InvalidWildcard)
        );
    }

    #[test]
    fn behaves_like_a_string() {
        let n = name("sensors/1/temp");
        assert_eq!(n, "sensors/1/temp");
        assert_eq!(n, *"sensors/1/temp");
        assert_eq!("sensors/1/temp", n);
        assert_eq!(n.len(), 14);
        assert!(!n.is_empty());
        assert!(n.ends_with("temp")); // through Deref
        assert_eq!(AsRef::<str>::as_ref(&n), "sensors/1/temp");
        assert_eq!(format!("{n}"), "sensors/1/temp");
        assert_eq!(format!("{n:?}"), "\"sensors/1/temp\"");
        assert_eq!(n.levels().collect::<Vec<_>>(), ["sensors", "1", "temp"]);
        assert_eq!(name("/a/").levels().collect::<Vec<_>>(), ["", "a", ""]);

        let f = filter("sensors/+/temp");
        assert_eq!(f, "sensors/+/temp");
        assert_eq!("sensors/+/temp", f);
        assert_eq!(format!("{f}"), "sensors/+/temp");
        assert_eq!(format!("{f:?}"), "\"sensors/+/temp\"");
        assert!(f.starts_with("sensors")); // through Deref
    }

    #[test]
    fn borrow_allows_lookup_by_str() {
        let mut names = std::collections::HashSet::new();
        names.insert(name("a/b"));
        assert!(names.contains("a/b"));
        let mut filters = std::collections::BTreeSet::new();
        filters.insert(filter("a/#"));
        filters.insert(filter("$share/g/a/#"));
        assert!(filters.contains("a/#"));
        assert!(!filters.contains("a/+"));
    }

    #[test]
    fn errors_display_distinct_messages() {
        let all = [
            TopicError::Empty,
            TopicError::TooLong,
            TopicError::NullCharacter,
            TopicError::WildcardInName,
            TopicError::InvalidWildcard,
            TopicError::InvalidSharedSubscription,
        ];
        let messages: std::collections::HashSet<_> = all.iter().map(|e| e.to_string()).collect();
        assert_eq!(messages.len(), all.len());
        let _: &dyn std::error::Error = &TopicError::Empty;
    }

    // Properties.

    /// A level of a topic name: may be empty or start with `$`.
    fn level() -> impl Strategy<Value = String> {
        "[a-c$ é]{0,3}"
    }

    /// The levels of a non-empty topic name.
    fn levels() -> impl Strategy<Value = Vec<String>> {
        prop::collection::vec(level(), 1..6).prop_filter("topic names are not empty", |l| {
            l.len() > 1 || !l[0].is_empty()
        })
    }

    /// How each level is turned into a filter level: kept or replaced by `+`.
    fn replacements() -> impl Strategy<Value = Vec<bool>> {
        prop::collection::vec(any::<bool>(), 6)
    }

    /// A straightforward recursive reading of §4.7.1, used as a reference.
    fn reference(filter: &[&str], topic: &[&str]) -> bool {
        match (filter.split_first(), topic.split_first()) {
            (Some((&"#", _)), _) => true,
            (Some((&f, f_rest)), Some((&t, t_rest))) => {
                (f == "+" || f == t) && reference(f_rest, t_rest)
            }
            (None, None) => true,
            _ => false,
        }
    }

    fn reference_matches(filter: &str, topic: &str) -> bool {
        if topic.starts_with('$') && (filter.starts_with('+') || filter.starts_with('#')) {
            return false;
        }
        let f: Vec<&str> = filter.split('/').collect();
        let t: Vec<&str> = topic.split('/').collect();
        reference(&f, &t)
    }

    proptest! {
        /// (a) A filter built from a topic by replacing levels with `+` and optionally truncating
        /// it and appending `#` is valid and matches the topic, unless the topic starts with `$`
        /// and the filter with a wildcard.
        #[test]
        fn filter_derived_from_topic_matches_it(
            levels in levels(),
            plus in replacements(),
            hash in any::<bool>(),
            cut in any::<prop::sample::Index>(),
        ) {
            let topic = levels.join("/");
            let keep = if hash { cut.index(levels.len() + 1) } else { levels.len() };
            let mut parts: Vec<&str> = levels[..keep]
                .iter()
                .zip(&plus)
                .map(|(l, &p)| if p { "+" } else { l.as_str() })
                .collect();
            if hash {
                parts.push("#");
            }
            let f = parts.join("/");
            prop_assert!(TopicFilter::new(f.as_str()).is_ok(), "{:?}", f);
            let leading_wildcard = f.starts_with('+') || f.starts_with('#');
            let expected = !(topic.starts_with('$') && leading_wildcard);
            prop_assert_eq!(matches(&f, &topic), expected, "{:?} vs {:?}", f, topic);
            let shared = TopicFilter::new(format!("$share/g/{f}")).unwrap();
            prop_assert_eq!(shared.matches(&TopicName::new(topic).unwrap()), expected);
        }

        /// (b) A filter without wildcards matches exactly the identical topic.
        #[test]
        fn filter_without_wildcards_matches_only_identical_topic(
            a in prop::collection::vec("[ab]{0,1}", 1..4),
            b in prop::collection::vec("[ab]{0,1}", 1..4),
        ) {
            let (a, b) = (a.join("/"), b.join("/"));
            prop_assert!(matches(&a, &a));
            prop_assert_eq!(matches(&a, &b), a == b, "{:?} vs {:?}", a, b);
        }

        /// (c) Matching and validation never panic on arbitrary strings.
        #[test]
        fn never_panics_on_arbitrary_strings(f in any::<String>(), t in any::<String>()) {
            let _ = matches(&f, &t);
            let _ = TopicName::new(t.as_str());
            let _ = TopicFilter::new(f.as_str()).map(|f| (f.share_name().is_some(), f.matches_str(&t)));
        }

        /// (c) The same on strings dense in separators, wildcards, `$` and shared prefixes.
        #[test]
        fn never_panics_on_topic_like_strings(
            f in "(\\$share/)?[a/+#$\0]{0,8}",
            t in "[a/+#$]{0,8}",
        ) {
            let _ = matches(&f, &t);
            let _ = TopicName::new(t.as_str());
            if let Ok(f) = TopicFilter::new(f.as_str()) {
                let _ = (f.share_name(), f.topic_filter(), f.has_wildcards(), f.matches_str(&t));
            }
        }

        /// Matching agrees with a recursive reference reading of §4.7 on valid filters.
        #[test]
        fn matches_agrees_with_reference(f in "[ab/+#$]{1,7}", t in "[ab/$]{0,7}") {
            if let Ok(filter) = TopicFilter::new(f.as_str()) {
                let f = filter.topic_filter();
                prop_assert_eq!(matches(f, &t), reference_matches(f, &t), "{:?} vs {:?}", f, t);
            }
        }

        /// Validation of filters agrees with a level-by-level reading of MQTT-4.7.1-1 and -2.
        #[test]
        fn filter_validation_agrees_with_level_rules(f in "[a/+#]{1,7}") {
            let levels: Vec<&str> = f.split('/').collect();
            let last = levels.len() - 1;
            let valid = levels.iter().enumerate().all(|(i, l)| {
                (!l.contains('#') || (*l == "#" && i == last)) && (!l.contains('+') || *l == "+")
            });
            prop_assert_eq!(TopicFilter::new(f.as_str()).is_ok(), valid, "{:?}", f);
        }

        /// A topic name is valid exactly when it is free of wildcards and nulls.
        #[test]
        fn name_validation_agrees_with_char_rules(t in "[a/+#\0]{1,7}") {
            let valid = !t.contains(['+', '#', '\0']);
            prop_assert_eq!(TopicName::new(t.as_str()).is_ok(), valid, "{:?}", t);
        }
    }
}
