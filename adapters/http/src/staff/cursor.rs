//! Page cursors as clients see them: opaque, URL-safe text.
//!
//! A cursor is the unpadded URL-safe base64 of the sort time (nanoseconds since the epoch, 8
//! bytes big-endian) and the id (16 bytes) of the last item of a page: full precision, so a
//! page never repeats or skips an item whose time ties with the cursor's.

use chrono::DateTime;
use uuid::Uuid;
use whatsapp_agent::ports::Cursor;

use crate::error::{ErrorBody, Failure};

const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
const BYTES: usize = 24;
/// Characters of an encoded cursor: 24 bytes in base64 without padding.
const CHARS: usize = BYTES / 3 * 4;

/// The text a client sends back to get the next page.
pub fn encode(cursor: Cursor) -> String {
    let mut bytes = [0u8; BYTES];
    let nanos = cursor.at.timestamp_nanos_opt().unwrap_or(i64::MAX);
    bytes[..8].copy_from_slice(&nanos.to_be_bytes());
    bytes[8..].copy_from_slice(cursor.id.as_bytes());
    let mut out = String::with_capacity(CHARS);
    for chunk in bytes.chunks(3) {
        let n = u32::from(chunk[0]) << 16 | u32::from(chunk[1]) << 8 | u32::from(chunk[2]);
        for shift in [18, 12, 6, 0] {
            out.push(char::from(ALPHABET[(n >> shift & 63) as usize]));
        }
    }
    out
}

/// Reads a cursor a client sent.
///
/// # Errors
/// A 422 naming `cursor` when it is not one this service made.
pub fn decode(text: &str) -> Result<Cursor, Failure> {
    parse(text).ok_or_else(|| {
        Failure::Unprocessable(
            ErrorBody::new(
                "validation_error",
                "cursor: not a cursor from this API; pass `next_cursor` of the previous page",
            )
            .with_field("cursor"),
        )
    })
}

fn parse(text: &str) -> Option<Cursor> {
    if text.len() != CHARS {
        return None;
    }
    let mut bytes = [0u8; BYTES];
    for (chunk, out) in text.as_bytes().chunks(4).zip(bytes.chunks_mut(3)) {
        let mut n = 0u32;
        for &c in chunk {
            let value = ALPHABET.iter().position(|&a| a == c)?;
            n = n << 6 | u32::try_from(value).ok()?;
        }
        out.copy_from_slice(&n.to_be_bytes()[1..]);
    }
    let nanos = i64::from_be_bytes(bytes[..8].try_into().ok()?);
    let id = Uuid::from_slice(&bytes[8..]).ok()?;
    Some(Cursor {
        at: DateTime::from_timestamp_nanos(nanos),
        id,
    })
}

#[cfg(test)]
mod tests {
    use chrono::{TimeZone, Utc};

    use super::*;

    #[test]
    fn a_cursor_reads_back_to_the_nanosecond() {
        let cursor = Cursor {
            at: Utc
                .timestamp_opt(1_768_469_400, 123_456_789)
                .single()
                .unwrap_or_default(),
            id: Uuid::now_v7(),
        };

        let text = encode(cursor);

        assert_eq!(text.len(), 32);
        assert!(text
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_'));
        assert_eq!(parse(&text), Some(cursor));
    }

    #[test]
    fn anything_else_is_refused() {
        for bad in [
            "",
            "abc",
            "!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!",
            &"A".repeat(33),
        ] {
            assert_eq!(parse(bad), None, "{bad}");
        }
    }
}
