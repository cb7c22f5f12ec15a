//! Twilio WhatsApp adapter: [`TwilioChannel`] verifies and reads webhooks,
//! [`TwilioMessenger`] sends replies over the REST API, [`TwilioMediaFetcher`] downloads the
//! media users send.

mod channel;
mod hosts;
mod list;
mod media;
mod messenger;
mod params;
mod rest;
mod retry;
pub mod signature;
pub mod split;

pub use channel::{normalize_address, TwilioChannel, TwilioChannelSettings};
pub use media::{TwilioMediaFetcher, TwilioMediaSettings};
pub use messenger::{TwilioMessenger, TwilioMessengerSettings};

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn no_settings_debug_output_shows_a_token() {
        let mut channel = TwilioChannelSettings::new("https://agent.example.com", "primary-tok");
        channel.secondary_auth_token = Some("secondary-tok".into());
        let messenger = TwilioMessengerSettings::new("AC1", "messenger-tok", "+14155550000");
        let media = TwilioMediaSettings::new("AC1", "media-tok");

        let printed = format!("{channel:?} {messenger:?} {media:?}");

        for token in ["primary-tok", "secondary-tok", "messenger-tok", "media-tok"] {
            assert!(!printed.contains(token), "{token} in {printed}");
        }
        assert!(printed.contains("AC1"));
    }
}
