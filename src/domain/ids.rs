//! Identifiers that are safe to expose and to mint on many instances at once.
//!
//! UUIDv7 is time-ordered, so ids created later on one instance sort later; the store uses that
//! to keep an incoming message before its reply when their timestamps tie.

use std::fmt;

use serde::{Deserialize, Serialize};
use uuid::Uuid;

macro_rules! id_type {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[serde(transparent)]
        pub struct $name(pub Uuid);

        impl $name {
            /// Mints a fresh, time-ordered id.
            pub fn new() -> Self {
                Self(Uuid::now_v7())
            }
        }

        impl Default for $name {
            fn default() -> Self {
                Self::new()
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                self.0.fmt(f)
            }
        }
    };
}

id_type!(
    /// Identifies a stored user.
    UserId
);
id_type!(
    /// Identifies a stored message.
    MessageId
);
id_type!(
    /// Identifies a conversation (a session of one user's messages).
    ConversationId
);
