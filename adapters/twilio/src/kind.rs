//! Media types of downloads: whether one fits its purpose, and the file name it travels under.

use whatsapp_agent::ports::MediaPurpose;

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
    } else if starts(b"OggS") {
        Some("audio/ogg")
    } else if starts(b"#!AMR") {
        Some("audio/amr")
    } else if starts(b"ID3") {
        Some("audio/mpeg")
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
            content_type.starts_with("audio/") || matches!(content_type, "application/ogg")
        }
    }
}

/// The type to use: the declared one if it fits the purpose, otherwise what the bytes say
/// (only when the server was vague: a specific wrong type is refused).
pub fn resolve(declared: Option<&str>, bytes: &[u8], purpose: MediaPurpose) -> Option<String> {
    match declared {
        Some(declared) if fits(declared, purpose) => Some(declared.to_string()),
        None | Some("application/octet-stream" | "binary/octet-stream") => sniff(bytes)
            .filter(|sniffed| fits(sniffed, purpose))
            .map(str::to_string),
        Some(_) => None,
    }
}

/// `image.jpg`, `voice.ogg`, …
pub fn filename(content_type: &str, purpose: MediaPurpose) -> String {
    let stem = match purpose {
        MediaPurpose::Image => "image",
        MediaPurpose::Audio => "voice",
    };
    let extension = match content_type {
        "image/jpeg" => "jpg",
        "image/png" => "png",
        "image/webp" => "webp",
        "image/gif" => "gif",
        "audio/ogg" | "application/ogg" | "audio/opus" => "ogg",
        "audio/mpeg" | "audio/mp3" => "mp3",
        "audio/wav" | "audio/x-wav" | "audio/wave" => "wav",
        "audio/amr" => "amr",
        "audio/3gpp" => "3gp",
        "audio/mp4" | "audio/m4a" | "audio/x-m4a" | "audio/aac" => "m4a",
        "audio/webm" => "webm",
        _ => "bin",
    };
    format!("{stem}.{extension}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn declared_types_must_fit_and_vague_ones_are_sniffed() {
        let ogg = b"OggS\x00\x02rest";
        let audio = MediaPurpose::Audio;
        assert_eq!(
            resolve(Some("audio/ogg"), ogg, audio).as_deref(),
            Some("audio/ogg")
        );
        assert_eq!(
            resolve(Some("application/octet-stream"), ogg, audio).as_deref(),
            Some("audio/ogg")
        );
        assert_eq!(resolve(Some("text/html"), ogg, audio), None);
        assert_eq!(resolve(Some("audio/ogg"), ogg, MediaPurpose::Image), None);
        assert_eq!(filename("audio/ogg", audio), "voice.ogg");
        assert_eq!(filename("image/jpeg", MediaPurpose::Image), "image.jpg");
    }
}
