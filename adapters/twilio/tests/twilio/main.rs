//! Tests of the Twilio adapter: signatures against Twilio's own vectors, webhook parameters,
//! reply splitting, and the messenger and media fetcher against local fake servers.

mod channel;
mod fake;
mod media;
mod messenger;
mod signature;
mod split;

/// `(name, value)` pairs from string slices.
pub fn pairs(items: &[(&str, &str)]) -> Vec<(String, String)> {
    items
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}
