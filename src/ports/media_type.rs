//! Media types of downloaded attachments: what a download really is, whether it fits its
//! purpose, and the file name it travels under (transcription services go by the extension).

use super::{Blob, MediaError, MediaPurpose};

/// Recognises a type from the first bytes, for servers that say `application/octet-stream`.
fn sniff(bytes: &[u8]) -> Option<&'static str> {
    let starts = |magic: &[u8]| bytes.starts_with(magic);
    if starts(b"\x89PNG\r\n\x1a\n") {
        Some("image/png")
    } else if starts(b"\xff\xd8\xff") {
        Some("image/jpeg")
    } else if starts(b"GIF87a") || starts(b"GIF89a") {
        Some("image/gif")
    } else if starts(b"RIFF") && bytes.get(8..12) == Some(b"WEBP") {
        Some("image/webp")
    } else if starts(b"RIFF") && bytes.get(8..12) == Some(b"WAVE") {
        Some("audio/wav")
    } else if starts(b"OggS") {
        Some("audio/ogg")
    } else if starts(b"fLaC") {
        Some("audio/flac")
    } else if starts(b"ID3") || (bytes.len() > 1 && bytes[0] == 0xff && bytes[1] & 0xe0 == 0xe0) {
        Some("audio/mpeg")
    } else if starts(b"#!AMR") {
        Some("audio/amr")
    } else if starts(b"\x1a\x45\xdf\xa3") {
        Some("audio/webm")
    } else if bytes.get(4..8) == Some(b"ftyp") {
        Some("audio/mp4")
    } else {
        None
    }
}

fn fits(content_type: &str, purpose: MediaPurpose) -> bool {
    match purpose {
        MediaPurpose::Image => matches!(
            content_type,
            "image/jpeg" | "image/png" | "image/webp" | "image/gif"
        ),
        MediaPurpose::Audio => {
            content_type.starts_with("audio/")
                || matches!(content_type, "application/ogg" | "video/mp4" | "video/webm")
        }
    }
}

/// The type to use: the declared one (lower case, no parameters) if it fits the purpose;
/// what the bytes say when the server was vague (no type, or `octet-stream`); `None` for a
/// specific type that does not fit.
pub fn resolve_media_type(
    declared: Option<&str>,
    bytes: &[u8],
    purpose: MediaPurpose,
) -> Option<String> {
    match declared {
        Some(declared) if fits(declared, purpose) => Some(declared.to_string()),
        None | Some("application/octet-stream" | "binary/octet-stream") => sniff(bytes)
            .filter(|sniffed| fits(sniffed, purpose))
            .map(str::to_string),
        Some(_) => None,
    }
}

/// `image.jpg`, `voice.ogg`, …: a name whose extension matches the type.
pub fn media_filename(content_type: &str, purpose: MediaPurpose) -> String {
    let stem = match purpose {
        MediaPurpose::Image => "image",
        MediaPurpose::Audio => "voice",
    };
    format!("{stem}.{}", extension(content_type))
}

/// A file extension transcription services recognise for the type.
fn extension(content_type: &str) -> &'static str {
    match content_type {
        "image/jpeg" => "jpg",
        "image/png" => "png",
        "image/webp" => "webp",
        "image/gif" => "gif",
        "audio/ogg" | "application/ogg" | "audio/opus" => "ogg",
        "audio/mpeg" | "audio/mp3" => "mp3",
        "audio/wav" | "audio/x-wav" | "audio/wave" => "wav",
        "audio/flac" | "audio/x-flac" => "flac",
        "audio/webm" | "video/webm" => "webm",
        "audio/mp4" | "audio/m4a" | "audio/x-m4a" | "audio/aac" => "m4a",
        "video/mp4" => "mp4",
        "audio/amr" => "amr",
        "audio/3gpp" => "3gp",
        _ => "bin",
    }
}

/// Turns downloaded bytes into a [`Blob`]: the checked type, and a file name to match.
///
/// # Errors
/// [`MediaError::UnsupportedType`] when the type does not fit `purpose`.
pub fn blob_from_download(
    bytes: Vec<u8>,
    declared: Option<&str>,
    purpose: MediaPurpose,
) -> Result<Blob, MediaError> {
    let content_type = resolve_media_type(declared, &bytes, purpose)
        .ok_or_else(|| MediaError::UnsupportedType(declared.unwrap_or("unknown").to_string()))?;
    Ok(Blob {
        filename: media_filename(&content_type, purpose),
        bytes,
        content_type,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn declared_types_win_when_they_fit_and_bytes_decide_when_vague() {
        let ogg = b"OggS\x00\x02rest";
        let resolve = resolve_media_type;
        assert_eq!(
            resolve(Some("audio/ogg"), ogg, MediaPurpose::Audio).as_deref(),
            Some("audio/ogg")
        );
        assert_eq!(
            resolve(Some("application/octet-stream"), ogg, MediaPurpose::Audio).as_deref(),
            Some("audio/ogg")
        );
        assert_eq!(
            resolve(None, ogg, MediaPurpose::Audio).as_deref(),
            Some("audio/ogg")
        );
        assert_eq!(
            resolve(Some("text/html"), b"<html>", MediaPurpose::Image),
            None
        );
        assert_eq!(resolve(Some("text/plain"), ogg, MediaPurpose::Audio), None);
        assert_eq!(resolve(Some("audio/ogg"), ogg, MediaPurpose::Image), None);
        assert_eq!(
            media_filename("audio/ogg", MediaPurpose::Audio),
            "voice.ogg"
        );
        assert_eq!(
            media_filename("image/jpeg", MediaPurpose::Image),
            "image.jpg"
        );
    }
}
