//! The caller of a request and what it may do.

use std::fmt;

use crate::domain::DEFAULT_CHAT_USER_ID;

/// What a credential allows.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Scope {
    /// Talk to the assistant as any user (`/chat/`, `/chat/stream`) and mint user tokens.
    Chat,
    /// The staff API: read and steer conversations, export and erase data, manage keys.
    Admin,
}

impl Scope {
    /// The stable name stored and shown.
    pub fn as_str(self) -> &'static str {
        match self {
            Scope::Chat => "chat",
            Scope::Admin => "admin",
        }
    }

    /// Parses a stored or typed name.
    pub fn parse(value: &str) -> Option<Self> {
        match value.trim().to_ascii_lowercase().as_str() {
            "chat" => Some(Scope::Chat),
            "admin" => Some(Scope::Admin),
            _ => None,
        }
    }
}

impl fmt::Display for Scope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Who made a request, as established from its credential.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Caller {
    /// No credential, on a deployment that allows it (the local run on loopback): every scope.
    Anonymous,
    /// The bootstrap admin token (`ADMIN_TOKEN`).
    AdminToken,
    /// A server-side API key.
    Key {
        /// The key's visible prefix, e.g. `wak_3kX9aQ2m`.
        prefix: String,
        name: String,
        scopes: Vec<Scope>,
    },
    /// An end user's signed token: may chat as `user_id` and nothing else.
    EndUser {
        user_id: String,
        /// The prefix of the `chat` key whose secret signed the token.
        key_prefix: String,
    },
}

/// Why a request may not go on.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum AccessError {
    /// No credential, or one that is wrong, revoked or expired (HTTP 401).
    #[error("{0}")]
    Unauthenticated(String),
    /// A valid credential without the right to do this (HTTP 403).
    #[error("{0}")]
    Forbidden(String),
    /// The key store cannot be reached, so the credential cannot be checked (HTTP 503).
    #[error("cannot check credentials: {0}")]
    Unavailable(String),
}

impl Caller {
    /// Whether the caller holds `scope`.
    pub fn has(&self, scope: Scope) -> bool {
        match self {
            Caller::Anonymous => true,
            Caller::AdminToken => scope == Scope::Admin,
            Caller::Key { scopes, .. } => scopes.contains(&scope),
            Caller::EndUser { .. } => scope == Scope::Chat,
        }
    }

    /// Checks that the caller holds `scope`.
    ///
    /// # Errors
    /// [`AccessError::Forbidden`] naming the scope when it does not.
    pub fn require(&self, scope: Scope) -> Result<(), AccessError> {
        if self.has(scope) {
            Ok(())
        } else {
            Err(AccessError::Forbidden(format!(
                "this credential does not have the `{scope}` scope"
            )))
        }
    }

    /// The chat `user_id` a request may act as: the one it names (or the default), checked
    /// against an end-user token's own.
    ///
    /// # Errors
    /// [`AccessError::Forbidden`] when an end-user token names another user, or the caller
    /// may not chat at all.
    pub fn chat_user(&self, requested: Option<&str>) -> Result<String, AccessError> {
        self.require(Scope::Chat)?;
        match (self, requested) {
            (Caller::EndUser { user_id, .. }, None) => Ok(user_id.clone()),
            (Caller::EndUser { user_id, .. }, Some(asked)) if asked == user_id => {
                Ok(user_id.clone())
            }
            (Caller::EndUser { .. }, Some(_)) => Err(AccessError::Forbidden(
                "this user token is for another user_id".to_string(),
            )),
            (_, Some(asked)) => Ok(asked.to_string()),
            (_, None) => Ok(DEFAULT_CHAT_USER_ID.to_string()),
        }
    }

    /// Who acted, for audit records and the `human:` author of a staff reply: never a secret.
    pub fn actor(&self) -> String {
        match self {
            Caller::Anonymous => "anonymous".to_string(),
            Caller::AdminToken => "admin_token".to_string(),
            Caller::Key { prefix, .. } => format!("key:{prefix}"),
            Caller::EndUser { user_id, .. } => format!("user:{user_id}"),
        }
    }

    /// The bucket a rate limit counts this caller in: its key, or for an end user the key
    /// that signed the token and the user.
    pub fn rate_key(&self) -> String {
        match self {
            Caller::Anonymous => "anonymous".to_string(),
            Caller::AdminToken => "admin_token".to_string(),
            Caller::Key { prefix, .. } => prefix.clone(),
            Caller::EndUser { key_prefix, .. } => key_prefix.clone(),
        }
    }

    /// The display name of a person replying: the key's name.
    pub fn display_name(&self) -> Option<&str> {
        match self {
            Caller::Key { name, .. } => Some(name),
            _ => None,
        }
    }
}
