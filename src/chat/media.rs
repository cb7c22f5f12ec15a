//! Prepares a stored incoming message's attachments for the model: voice notes are fetched and
//! transcribed (the turn stores the transcripts when it finishes), images are passed as URLs or
//! fetched and inlined as `data:` URLs.

use crate::domain::{Channel, Media, MediaKind, Message};
use crate::ports::MediaPurpose;

use super::{ChatError, ChatService};

/// Standard base64 (RFC 4648) with padding, as `data:` URLs expect.
fn base64(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let b = [
            chunk[0],
            *chunk.get(1).unwrap_or(&0),
            *chunk.get(2).unwrap_or(&0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(ALPHABET[((n >> (18 - 6 * i)) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

/// The request field an attachment came from: `media_urls[i]` or `audio_urls[i]`.
fn field_of(media: &[Media], index: usize) -> String {
    let kind = media[index].kind;
    let position = media[..index].iter().filter(|m| m.kind == kind).count();
    match kind {
        MediaKind::Audio => format!("audio_urls[{position}]"),
        _ => format!("media_urls[{position}]"),
    }
}

/// The incoming message's attachments as the model gets them.
pub(crate) struct Prepared {
    /// Image URLs or `data:` URLs for the model.
    pub images: Vec<String>,
    /// Whether voice notes were transcribed, so the message's media must be stored again.
    pub transcribed: bool,
}

/// Transcribes untranscribed voice notes of `incoming` (in place) and returns the image URLs
/// to show the model.
///
/// # Errors
/// [`ChatError::Media`] when an attachment cannot be fetched, [`ChatError::Llm`] when
/// transcription fails; the incoming message stays stored either way.
pub(crate) async fn prepare(
    service: &ChatService,
    incoming: &mut Message,
) -> Result<Prepared, ChatError> {
    let media_error = |index: usize, source, incoming: &Message| ChatError::Media {
        field: field_of(&incoming.media, index),
        source,
        incoming: incoming.id,
    };
    // Provider media arrived in a signed webhook; anything else is a URL a caller typed, which
    // is checked before anything is done with it: the model server fetches non-inlined images
    // itself, out of reach of our download guard.
    let from_provider = incoming.channel == Channel::WhatsApp;
    if !from_provider {
        for index in 0..incoming.media.len() {
            service
                .media()
                .check_url(&incoming.media[index].url)
                .await
                .map_err(|e| media_error(index, e, incoming))?;
        }
    }
    let mut transcribed = false;
    for index in 0..incoming.media.len() {
        let item = &incoming.media[index];
        if item.kind != MediaKind::Audio || item.transcript.is_some() {
            continue;
        }
        let blob = fetch(service, &item.url, MediaPurpose::Audio, from_provider)
            .await
            .map_err(|e| media_error(index, e, incoming))?;
        let text = service
            .llm()
            .transcribe(&blob)
            .await
            .map_err(|source| ChatError::Llm {
                source,
                incoming: incoming.id,
            })?;
        incoming.media[index].content_type = Some(blob.content_type);
        incoming.media[index].transcript =
            Some(crate::domain::storable_text(text.trim()).into_owned());
        transcribed = true;
    }
    let mut images = Vec::new();
    for index in 0..incoming.media.len() {
        let item = &incoming.media[index];
        if item.kind != MediaKind::Image {
            continue;
        }
        // Provider media (WhatsApp) needs the account's credentials, which the model server
        // does not have: it always travels inline.
        let inline = service.config().inline_images || from_provider;
        if inline || item.url.starts_with("data:") {
            if item.url.starts_with("data:") {
                images.push(item.url.clone());
                continue;
            }
            let blob = fetch(service, &item.url, MediaPurpose::Image, from_provider)
                .await
                .map_err(|e| media_error(index, e, incoming))?;
            images.push(format!(
                "data:{};base64,{}",
                blob.content_type,
                base64(&blob.bytes)
            ));
        } else {
            images.push(item.url.clone());
        }
    }
    Ok(Prepared {
        images,
        transcribed,
    })
}

/// Downloads an attachment; only provider media may be fetched with the provider's credentials.
async fn fetch(
    service: &ChatService,
    url: &str,
    purpose: MediaPurpose,
    from_provider: bool,
) -> Result<crate::ports::Blob, crate::ports::MediaError> {
    if from_provider {
        service.media().fetch_provider_media(url, purpose).await
    } else {
        service.media().fetch(url, purpose).await
    }
}

#[cfg(test)]
mod tests {
    use super::base64;

    #[test]
    fn base64_matches_the_rfc_vectors() {
        let cases = [
            ("", ""),
            ("f", "Zg=="),
            ("fo", "Zm8="),
            ("foo", "Zm9v"),
            ("foob", "Zm9vYg=="),
            ("fooba", "Zm9vYmE="),
            ("foobar", "Zm9vYmFy"),
        ];
        for (input, expected) in cases {
            assert_eq!(base64(input.as_bytes()), expected);
        }
    }
}
