//! Twilio WhatsApp adapter: [`TwilioChannel`] verifies and reads webhooks,
//! [`TwilioMessenger`] sends replies over the REST API, [`TwilioMediaFetcher`] downloads the
//! media users send.

mod channel;
mod hosts;
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
