//! The data representations of MQTT 5.0 §1.5 (MQTT 3.1.1 §1.5), as nom parsers and `BufMut`
//! writers.

use core::num::NonZeroU16;

use bytes::{BufMut, Bytes};
use bytestring::ByteString;
use nom::IResult;
use nom::error::{ErrorKind, ParseError};

use crate::error::{DecodeError, EncodeError};

/// The largest value a Variable Byte Integer holds, and so the largest remaining length
/// (MQTT 5.0 §1.5.5): 268,435,455.
pub const MAX_VAR_INT: u32 = 268_435_455;

/// The largest packet the standard allows: 1 byte of packet type, 4 bytes of remaining length and
/// [`MAX_VAR_INT`] bytes of body.
pub const MAX_PACKET_SIZE: u32 = MAX_VAR_INT + 5;

/// The longest string or binary field, in bytes (MQTT 5.0 §1.5.4).
pub const MAX_STRING_LEN: usize = u16::MAX as usize;

/// A Packet Identifier: a non-zero 16-bit number naming one QoS 1 or 2 exchange
/// (MQTT 5.0 §2.2.1).
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct PacketId(NonZeroU16);

impl PacketId {
    /// Identifier 1, the first one a client hands out.
    pub const MIN: PacketId = PacketId(NonZeroU16::MIN);

    /// The identifier with this value, or `None` for 0.
    pub const fn new(value: u16) -> Option<PacketId> {
        match NonZeroU16::new(value) {
            Some(v) => Some(PacketId(v)),
            None => None,
        }
    }

    /// The value, never 0.
    pub const fn get(self) -> u16 {
        self.0.get()
    }

    /// The identifier after this one, wrapping from 65,535 to 1.
    pub const fn next(self) -> PacketId {
        match NonZeroU16::new(self.0.get().wrapping_add(1)) {
            Some(v) => PacketId(v),
            None => PacketId::MIN,
        }
    }
}

impl From<NonZeroU16> for PacketId {
    fn from(value: NonZeroU16) -> Self {
        PacketId(value)
    }
}

impl From<PacketId> for u16 {
    fn from(id: PacketId) -> u16 {
        id.get()
    }
}

impl core::fmt::Debug for PacketId {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "PacketId({})", self.0)
    }
}

impl core::fmt::Display for PacketId {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        core::fmt::Display::fmt(&self.0, f)
    }
}

// ---- decoding -------------------------------------------------------------------------------

/// The result of a field parser: nom's, with our error.
pub(crate) type PResult<'a, T> = IResult<&'a [u8], T, DecodeError>;

impl ParseError<&[u8]> for DecodeError {
    /// nom's own errors only ever mean that the input ran out: every other failure is raised by
    /// our parsers as a specific [`DecodeError`].
    fn from_error_kind(_input: &[u8], _kind: ErrorKind) -> Self {
        DecodeError::UnexpectedEnd
    }

    fn append(_input: &[u8], _kind: ErrorKind, other: Self) -> Self {
        other
    }
}

/// Fails the parse with `error`.
pub(crate) fn fail<'a, T>(error: DecodeError) -> PResult<'a, T> {
    Err(nom::Err::Failure(error))
}

/// Unwraps a parse result into our error type.
pub(crate) fn finish<T>(result: PResult<'_, T>) -> Result<(&[u8], T), DecodeError> {
    result.map_err(|e| match e {
        nom::Err::Error(e) | nom::Err::Failure(e) => e,
        nom::Err::Incomplete(_) => DecodeError::UnexpectedEnd,
    })
}

/// Outcome of reading a Variable Byte Integer from a buffer that may hold only part of it.
pub(crate) enum VarInt {
    /// The value and how many bytes it took.
    Complete(u32, usize),
    /// The buffer ends inside the integer.
    Incomplete,
}

/// Reads a Variable Byte Integer (MQTT 5.0 §1.5.5) from the start of `input`.
///
/// MQTT 5.0 requires the shortest encoding (MQTT-1.5.5-1); MQTT 3.1.1 does not, so `strict`
/// chooses whether a longer one is refused.
#[inline]
pub(crate) fn read_var_int(input: &[u8], strict: bool) -> Result<VarInt, DecodeError> {
    let mut value = 0u32;
    for (i, &byte) in input.iter().take(4).enumerate() {
        value |= u32::from(byte & 0x7F) << (7 * i);
        if byte & 0x80 == 0 {
            if strict && i > 0 && byte == 0 {
                return Err(DecodeError::MalformedVarInt);
            }
            return Ok(VarInt::Complete(value, i + 1));
        }
    }
    if input.len() >= 4 {
        Err(DecodeError::MalformedVarInt)
    } else {
        Ok(VarInt::Incomplete)
    }
}

/// A Variable Byte Integer inside a framed packet, where running out of bytes is malformed.
pub(crate) fn var_int(input: &[u8]) -> PResult<'_, u32> {
    match read_var_int(input, true) {
        Ok(VarInt::Complete(value, len)) => Ok((&input[len..], value)),
        Ok(VarInt::Incomplete) => fail(DecodeError::UnexpectedEnd),
        Err(e) => fail(e),
    }
}

/// A Two Byte Integer (MQTT 5.0 §1.5.2), big-endian. Like nom's `be_u16`, which the compiler
/// does not inline here.
#[inline]
fn be_u16(input: &[u8]) -> PResult<'_, u16> {
    match input.split_first_chunk() {
        Some((bytes, rest)) => Ok((rest, u16::from_be_bytes(*bytes))),
        None => Err(nom::Err::Error(DecodeError::UnexpectedEnd)),
    }
}

/// A non-zero Packet Identifier.
#[inline]
pub(crate) fn packet_id(input: &[u8]) -> PResult<'_, PacketId> {
    let (input, id) = be_u16(input)?;
    match PacketId::new(id) {
        Some(id) => Ok((input, id)),
        None => fail(DecodeError::ZeroPacketId),
    }
}

/// Binary Data (MQTT 5.0 §1.5.6): a 16-bit length and that many bytes, as a slice of `src`.
pub(crate) fn binary<'a>(src: &Bytes, input: &'a [u8]) -> PResult<'a, Bytes> {
    let (input, data) = binary_slice(input)?;
    Ok((input, src.slice_ref(data)))
}

/// The raw bytes of a length-prefixed field.
pub(crate) fn binary_slice(input: &[u8]) -> PResult<'_, &[u8]> {
    let (input, len) = be_u16(input)?;
    match input.split_at_checked(usize::from(len)) {
        Some((data, rest)) => Ok((rest, data)),
        None => Err(nom::Err::Error(DecodeError::UnexpectedEnd)),
    }
}

/// A UTF-8 Encoded String (MQTT 5.0 §1.5.4), as a slice of `src`: well-formed UTF-8
/// (MQTT-1.5.4-1) without U+0000 (MQTT-1.5.4-2). A BOM is kept as it is (MQTT-1.5.4-3).
pub(crate) fn string<'a>(src: &Bytes, input: &'a [u8]) -> PResult<'a, ByteString> {
    let (input, data) = binary_slice(input)?;
    match checked_string(src.slice_ref(data)) {
        Ok(s) => Ok((input, s)),
        Err(e) => fail(e),
    }
}

/// `byte` in each of a word's eight bytes.
#[inline(always)]
pub(crate) const fn splat(byte: u8) -> u64 {
    0x0101_0101_0101_0101 * byte as u64
}

/// Non-zero when a byte of `word` is 0: exact as a yes or no, not as to which byte.
#[inline(always)]
pub(crate) const fn zero_byte(word: u64) -> u64 {
    word.wrapping_sub(splat(1)) & !word & splat(0x80)
}

/// Whether `test`, which looks at eight bytes at once, finds something in `bytes`.
///
/// Strings in MQTT packets are short, too short for the compiler's vectorized loops (or
/// `memchr`), whose scalar tails would take them a byte at a time. Words may overlap, which does
/// not change a yes or no; fewer than four bytes are padded with `a`, which `test` must not find.
#[inline(always)]
pub(crate) fn any_word(bytes: &[u8], test: impl Fn(u64) -> u64) -> bool {
    if let (Some(first), Some(last)) = (bytes.first_chunk::<8>(), bytes.last_chunk::<8>()) {
        // Eight bytes or more: the first and the last word, and any between them.
        let mut found = test(u64::from_le_bytes(*first)) | test(u64::from_le_bytes(*last));
        if bytes.len() > 16 {
            // What these whole words leave at the end lies within the last word.
            for chunk in bytes[8..].chunks_exact(8) {
                let mut word = [0; 8];
                word.copy_from_slice(chunk);
                found |= test(u64::from_le_bytes(word));
            }
        }
        return found != 0;
    }
    if let (Some(first), Some(last)) = (bytes.first_chunk::<4>(), bytes.last_chunk::<4>()) {
        // Four to seven bytes: the first four and the last four, overlapping.
        let word =
            u64::from(u32::from_le_bytes(*first)) | u64::from(u32::from_le_bytes(*last)) << 32;
        return test(word) != 0;
    }
    let mut word = [b'a'; 8];
    for (w, &b) in word.iter_mut().zip(bytes) {
        *w = b;
    }
    test(u64::from_le_bytes(word)) != 0
}

/// Whether `bytes` holds U+0000, which no MQTT string may (MQTT-1.5.4-2).
#[inline]
pub(crate) fn has_null(bytes: &[u8]) -> bool {
    any_word(bytes, zero_byte)
}

/// Checks that `bytes` are an MQTT string.
pub(crate) fn checked_string(bytes: Bytes) -> Result<ByteString, DecodeError> {
    if has_null(&bytes) {
        return Err(DecodeError::NullCharacter);
    }
    ByteString::try_from(bytes).map_err(|_| DecodeError::InvalidUtf8)
}

/// The input must be used up.
pub(crate) fn ensure_empty(input: &[u8]) -> Result<(), DecodeError> {
    if input.is_empty() {
        Ok(())
    } else {
        Err(DecodeError::TrailingBytes)
    }
}

// ---- encoding -------------------------------------------------------------------------------

/// The number of bytes [`put_var_int`] writes for `value`.
#[inline]
pub(crate) const fn var_int_len(value: u32) -> usize {
    match value {
        0..=127 => 1,
        128..=16_383 => 2,
        16_384..=2_097_151 => 3,
        _ => 4,
    }
}

/// Writes a Variable Byte Integer; `value` must be at most [`MAX_VAR_INT`].
#[inline]
pub(crate) fn put_var_int(buf: &mut impl BufMut, mut value: u32) {
    debug_assert!(value <= MAX_VAR_INT);
    loop {
        let byte = (value & 0x7F) as u8;
        value >>= 7;
        if value == 0 {
            buf.put_u8(byte);
            return;
        }
        buf.put_u8(byte | 0x80);
    }
}

/// Bytes taken by a length-prefixed field of `len` bytes.
#[inline]
pub(crate) const fn field_len(len: usize) -> usize {
    2 + len
}

/// Refuses a string or binary field over [`MAX_STRING_LEN`].
#[inline]
pub(crate) fn check_field(len: usize, field: &'static str) -> Result<(), EncodeError> {
    if len > MAX_STRING_LEN {
        Err(EncodeError::FieldTooLong(field))
    } else {
        Ok(())
    }
}

/// Refuses a string that is too long or contains U+0000.
#[inline]
pub(crate) fn check_string(s: &str, field: &'static str) -> Result<(), EncodeError> {
    check_field(s.len(), field)?;
    if has_null(s.as_bytes()) {
        return Err(EncodeError::NullCharacter(field));
    }
    Ok(())
}

/// Writes a length-prefixed field; its length must have been checked.
#[inline]
pub(crate) fn put_field(buf: &mut impl BufMut, data: &[u8]) {
    debug_assert!(data.len() <= MAX_STRING_LEN);
    buf.put_u16(data.len() as u16);
    buf.put_slice(data);
}

/// The fixed header's first byte.
#[inline]
pub(crate) const fn first_byte(packet_type: u8, flags: u8) -> u8 {
    (packet_type << 4) | flags
}

/// Writes a fixed header after checking the size and the room in `buf`.
///
/// `remaining` is the remaining length; `written_here` is how much of it the caller goes on to
/// write into `buf` (less than `remaining` when a payload is sent separately, with vectored I/O).
#[inline]
pub(crate) fn put_fixed_header(
    buf: &mut impl BufMut,
    first: u8,
    remaining: usize,
    written_here: usize,
) -> Result<(), EncodeError> {
    if remaining > MAX_VAR_INT as usize {
        return Err(EncodeError::PacketTooLarge);
    }
    let needed = 1 + var_int_len(remaining as u32) + written_here;
    if buf.remaining_mut() < needed {
        return Err(EncodeError::BufferTooSmall {
            needed,
            remaining: buf.remaining_mut(),
        });
    }
    buf.put_u8(first);
    put_var_int(buf, remaining as u32);
    Ok(())
}

/// The whole size of a packet whose remaining length is `remaining`.
#[inline]
pub(crate) const fn packet_len(remaining: usize) -> usize {
    // Sizes above MAX_VAR_INT are refused when encoding; clamp so the arithmetic is total.
    let var = if remaining > MAX_VAR_INT as usize {
        4
    } else {
        var_int_len(remaining as u32)
    };
    1 + var + remaining
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::vec::Vec;

    /// MQTT 5.0 §1.5.5 Table 1-1: the boundaries of each Variable Byte Integer length.
    #[test]
    fn var_int_table_1_1() {
        let cases: &[(u32, &[u8])] = &[
            (0, &[0x00]),
            (127, &[0x7F]),
            (128, &[0x80, 0x01]),
            (16_383, &[0xFF, 0x7F]),
            (16_384, &[0x80, 0x80, 0x01]),
            (2_097_151, &[0xFF, 0xFF, 0x7F]),
            (2_097_152, &[0x80, 0x80, 0x80, 0x01]),
            (268_435_455, &[0xFF, 0xFF, 0xFF, 0x7F]),
        ];
        for &(value, bytes) in cases {
            let mut out = Vec::new();
            put_var_int(&mut out, value);
            assert_eq!(out, bytes, "encoding {value}");
            assert_eq!(var_int_len(value), bytes.len());
            match read_var_int(bytes, true) {
                Ok(VarInt::Complete(v, len)) => assert_eq!((v, len), (value, bytes.len())),
                _ => panic!("decoding {value}"),
            }
        }
    }

    #[test]
    fn var_int_longer_than_four_bytes_is_malformed() {
        assert!(matches!(
            read_var_int(&[0x80, 0x80, 0x80, 0x80, 0x01], false),
            Err(DecodeError::MalformedVarInt)
        ));
    }

    #[test]
    fn var_int_incomplete_needs_more() {
        assert!(matches!(
            read_var_int(&[0x80, 0x80], true),
            Ok(VarInt::Incomplete)
        ));
        assert!(matches!(read_var_int(&[], true), Ok(VarInt::Incomplete)));
    }

    /// MQTT-1.5.5-1: "The encoded value MUST use the minimum number of bytes necessary".
    #[test]
    fn non_minimal_var_int_refused_only_when_strict() {
        assert!(matches!(
            read_var_int(&[0x80, 0x00], true),
            Err(DecodeError::MalformedVarInt)
        ));
        assert!(matches!(
            read_var_int(&[0x80, 0x00], false),
            Ok(VarInt::Complete(0, 2))
        ));
    }

    #[test]
    fn packet_id_wraps_past_zero() {
        let last = PacketId::new(u16::MAX).unwrap();
        assert_eq!(last.next(), PacketId::MIN);
        assert_eq!(PacketId::new(0), None);
    }

    /// The word-at-a-time NUL test agrees with a byte-at-a-time one, at every length up to 40
    /// and every position.
    #[test]
    fn has_null_agrees_with_naive() {
        for len in 0..40 {
            let clean = alloc::vec![0xFFu8; len];
            assert!(!has_null(&clean));
            for pos in 0..len {
                for b in [0u8, 1, 0x7F, 0x80, 0xFF] {
                    let mut bytes = clean.clone();
                    bytes[pos] = b;
                    assert_eq!(has_null(&bytes), b == 0, "len {len} pos {pos} byte {b}");
                }
            }
        }
    }

    /// MQTT-1.5.4-2: a string must not contain U+0000.
    #[test]
    fn string_with_null_is_refused() {
        let src = Bytes::from_static(&[0x00, 0x03, b'a', 0x00, b'b']);
        let r = finish(string(&src, &src));
        assert_eq!(r.err(), Some(DecodeError::NullCharacter));
    }

    /// MQTT-1.5.4-1: ill-formed UTF-8, here an encoded surrogate (U+D800 as ED A0 80).
    #[test]
    fn string_with_surrogate_is_refused() {
        let src = Bytes::from_static(&[0x00, 0x03, 0xED, 0xA0, 0x80]);
        let r = finish(string(&src, &src));
        assert_eq!(r.err(), Some(DecodeError::InvalidUtf8));
    }

    /// MQTT-1.5.4-3: a BOM is not skipped or stripped.
    #[test]
    fn string_keeps_byte_order_mark() {
        let src = Bytes::from_static(&[0x00, 0x04, 0xEF, 0xBB, 0xBF, b'A']);
        let (_, s) = finish(string(&src, &src)).unwrap();
        assert_eq!(&*s, "\u{FEFF}A");
    }

    /// MQTT 5.0 §1.5.4 Figure 1-1: "A𪛔" is 00 05 41 F0 AA 9B 94.
    #[test]
    fn string_figure_1_1() {
        let src = Bytes::from_static(&[0x00, 0x05, 0x41, 0xF0, 0xAA, 0x9B, 0x94]);
        let (rest, s) = finish(string(&src, &src)).unwrap();
        assert_eq!(&*s, "A\u{2A6D4}");
        assert!(rest.is_empty());
    }
}
