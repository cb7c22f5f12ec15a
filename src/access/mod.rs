//! Who is calling: API keys with scopes, end-user tokens bound to one `user_id`, and the checks
//! every use case applies before it touches a patient's data.
//!
//! The transport (HTTP today) only reads the credential and hands it to [`Access`]; what a
//! caller may do is decided here, so a new transport cannot forget it.

mod caller;
mod secret;
mod service;
mod token;

pub use caller::{AccessError, Caller, Scope};
pub use secret::{KeySecret, KEY_PREFIX_LEN};
pub use service::{Access, AccessConfig, CreatedKey, KeyError};
pub use token::{mint_user_token, TokenClaims};
