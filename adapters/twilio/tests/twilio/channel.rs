//! Reading inbound messages and status callbacks from webhook parameters.

use serde_json::json;
use wa_twilio::{normalize_address, TwilioChannel, TwilioChannelSettings};
use whatsapp_agent::domain::{Media, MediaKind};
use whatsapp_agent::ports::{DeliveryStatus, InboundChannel, WebhookError};

use crate::pairs;

fn channel() -> TwilioChannel {
    TwilioChannel::new(TwilioChannelSettings::new(
        "https://agent.example.com",
        "token",
    ))
}

const MEDIA_URL: &str = "https://api.twilio.com/2010-04-01/Accounts/AC0123456789abcdef0123456789abcdef/Messages/MM22222222222222222222222222222222/Media/ME33333333333333333333333333333333";

#[test]
fn an_image_message_is_read_with_every_parameter_kept() {
    let params = pairs(&[
        ("MediaContentType0", "image/jpeg"),
        ("SmsMessageSid", "MM22222222222222222222222222222222"),
        ("NumMedia", "1"),
        ("ProfileName", "Alice"),
        ("MessageType", "image"),
        ("WaId", "15005550006"),
        ("Body", "what is in this picture?"),
        ("To", "whatsapp:+14155238886"),
        ("ReferralNumMedia", "0"),
        ("MessageSid", "MM22222222222222222222222222222222"),
        ("From", "whatsapp:+15005550006"),
        ("MediaUrl0", MEDIA_URL),
        ("SomethingNew", "kept"),
    ]);
    let message = channel().parse_message(&params).expect("message");
    assert_eq!(
        message.provider_message_id,
        "MM22222222222222222222222222222222"
    );
    assert_eq!(message.from, "+15005550006");
    assert_eq!(message.profile_name.as_deref(), Some("Alice"));
    assert_eq!(message.body, "what is in this picture?");
    assert_eq!(
        message.media,
        vec![Media {
            url: MEDIA_URL.into(),
            kind: MediaKind::Image,
            content_type: Some("image/jpeg".into()),
            transcript: None,
        }]
    );
    let raw = message.raw.as_object().expect("object");
    assert_eq!(raw.len(), params.len());
    assert_eq!(raw["WaId"], json!("15005550006"));
    assert_eq!(raw["SomethingNew"], json!("kept"));
    assert_eq!(raw["ReferralNumMedia"], json!("0"));
    assert_eq!(raw["To"], json!("whatsapp:+14155238886"));
}

#[test]
fn media_kinds_follow_the_content_types_in_order() {
    let params = pairs(&[
        ("MessageSid", "MM1"),
        ("From", "whatsapp:+15005550006"),
        ("NumMedia", "3"),
        ("MediaUrl0", "https://api.twilio.com/m0"),
        ("MediaContentType0", "audio/ogg"),
        ("MediaUrl1", "https://api.twilio.com/m1"),
        ("MediaContentType1", "application/pdf"),
        ("MediaUrl2", "https://api.twilio.com/m2"),
        ("MediaContentType2", "Image/PNG"),
        // Beyond NumMedia: not read.
        ("MediaUrl3", "https://api.twilio.com/m3"),
    ]);
    let message = channel().parse_message(&params).expect("message");
    let kinds: Vec<_> = message.media.iter().map(|m| m.kind).collect();
    assert_eq!(
        kinds,
        vec![MediaKind::Audio, MediaKind::Other, MediaKind::Image]
    );
    let urls: Vec<_> = message.media.iter().map(|m| m.url.as_str()).collect();
    assert_eq!(
        urls,
        vec![
            "https://api.twilio.com/m0",
            "https://api.twilio.com/m1",
            "https://api.twilio.com/m2"
        ]
    );
    assert_eq!(message.media[0].content_type.as_deref(), Some("audio/ogg"));
    assert_eq!(message.media[2].content_type.as_deref(), Some("image/png"));
    assert_eq!(message.body, "", "a missing Body is empty");
    assert_eq!(message.profile_name, None);
}

#[test]
fn repeated_keys_become_arrays_in_raw() {
    let params = pairs(&[
        ("MessageSid", "SM1"),
        ("From", "whatsapp:+15005550006"),
        ("Body", "hi"),
        ("Tag", "a"),
        ("Tag", "b"),
        ("Tag", "a"),
    ]);
    let message = channel().parse_message(&params).expect("message");
    assert_eq!(message.raw["Tag"], json!(["a", "b", "a"]));
    assert_eq!(message.raw["Body"], json!("hi"));
    assert!(message.media.is_empty());
}

#[test]
fn addresses_lose_the_whatsapp_prefix_only() {
    assert_eq!(normalize_address("whatsapp:+14155550100"), "+14155550100");
    assert_eq!(normalize_address(" WhatsApp:+14155550100 "), "+14155550100");
    assert_eq!(normalize_address(" +14155550100 "), "+14155550100");
    assert_eq!(normalize_address("whatsapp:US.ABC123XYZ"), "US.ABC123XYZ");
    assert_eq!(normalize_address("messenger:123"), "messenger:123");
    let params = pairs(&[("MessageSid", "SM1"), ("From", "+14155550100 ")]);
    let message = channel().parse_message(&params).expect("message");
    assert_eq!(message.from, "+14155550100");
}

#[test]
fn the_sid_falls_back_to_the_deprecated_names() {
    let from = ("From", "whatsapp:+15005550006");
    let message = channel()
        .parse_message(&pairs(&[("SmsMessageSid", "SM9"), from]))
        .expect("message");
    assert_eq!(message.provider_message_id, "SM9");
    let message = channel()
        .parse_message(&pairs(&[("SmsSid", "SM8"), from]))
        .expect("message");
    assert_eq!(message.provider_message_id, "SM8");
}

#[test]
fn missing_sid_or_sender_is_malformed_and_named() {
    let err = channel()
        .parse_message(&pairs(&[("From", "whatsapp:+15005550006"), ("Body", "x")]))
        .expect_err("no sid");
    assert!(
        matches!(&err, WebhookError::Malformed(m) if m.contains("MessageSid")),
        "{err:?}"
    );
    let err = channel()
        .parse_message(&pairs(&[("MessageSid", "SM1"), ("Body", "x")]))
        .expect_err("no From");
    assert!(
        matches!(&err, WebhookError::Malformed(m) if m.contains("From")),
        "{err:?}"
    );
    let err = channel()
        .parse_message(&pairs(&[("MessageSid", "  "), ("From", "whatsapp:")]))
        .expect_err("blank");
    assert!(matches!(err, WebhookError::Malformed(_)));
}

#[test]
fn status_callbacks_are_read() {
    let update = channel()
        .parse_status(&pairs(&[
            ("MessageSid", "SM1"),
            ("MessageStatus", "delivered"),
            ("SmsStatus", "delivered"),
            ("ChannelToAddress", "+1500555XXXX"),
        ]))
        .expect("status");
    assert_eq!(update.provider_message_id, "SM1");
    assert_eq!(update.status, DeliveryStatus::Delivered);
    assert_eq!(update.error_code, None);

    let update = channel()
        .parse_status(&pairs(&[
            ("MessageSid", "SM2"),
            ("MessageStatus", "undelivered"),
            ("ErrorCode", "63016"),
        ]))
        .expect("status");
    assert_eq!(update.status, DeliveryStatus::Undelivered);
    assert_eq!(update.error_code.as_deref(), Some("63016"));

    let read = channel()
        .parse_status(&pairs(&[("MessageSid", "SM3"), ("MessageStatus", "read")]))
        .expect("status");
    assert_eq!(read.status, DeliveryStatus::Read);
}

#[test]
fn bad_status_callbacks_are_malformed() {
    for params in [
        pairs(&[("MessageStatus", "sent")]),
        pairs(&[("MessageSid", "SM1")]),
        pairs(&[("MessageSid", "SM1"), ("MessageStatus", "exploded")]),
    ] {
        let err = channel().parse_status(&params).expect_err("malformed");
        assert!(matches!(err, WebhookError::Malformed(_)), "{params:?}");
    }
}
