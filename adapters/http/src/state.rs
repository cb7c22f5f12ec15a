//! What the HTTP handlers share: the use case and the HTTP-level limits.

use whatsapp_agent::ChatService;

/// Limits that belong to the HTTP layer.
#[derive(Clone, Debug)]
pub struct HttpSettings {
    /// Largest request body accepted, in bytes; larger bodies get 413.
    pub body_limit_bytes: usize,
}

/// Shared state, handed to handlers through poem's `Data` extractor.
#[derive(Clone)]
pub struct AppState {
    pub chat: ChatService,
    pub http: HttpSettings,
}
