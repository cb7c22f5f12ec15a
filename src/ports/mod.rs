//! Ports: the traits adapters implement. Each is used as `Arc<dyn Port>` so the backend is picked
//! at run time from configuration.

mod channel;
mod clock;
mod conversation;
mod inbox;
mod keys;
mod llm;
mod media;
mod media_type;
mod messenger;
mod rights;
mod staff;
mod store;
mod turns;

pub use channel::{
    parse_query, DeliveryStatus, InboundChannel, InboundMessage, StatusUpdate, WebhookError,
    WebhookRequest,
};
pub use clock::{Clock, SystemClock, Timer};
pub use conversation::ConversationStore;
pub use inbox::{status_advances, Enqueued, InboundDelivery, InboundQueue, Job, JobContext};
pub use keys::{ApiKey, KeyStore, KeyStoreError, NewApiKey};
pub use llm::{
    ChunkStream, CutOff, LlmChunk, LlmError, LlmMessage, LlmPort, LlmReply, LlmRequest, Role,
    ToolCall, ToolChoice, ToolSpec, Usage,
};
pub use media::{Blob, MediaError, MediaFetcher, MediaPurpose};
pub use media_type::blob_from_download;
pub use messenger::{Messenger, MessengerError, OutboundMessage};
pub use rights::{
    DataRights, DeliveryRecord, Erasure, ErasureReport, PurgeReport, RightsError, UserExport,
};
pub use staff::{
    ConversationFilter, ConversationSummary, Cursor, FiledMessage, Page, SendOutcome, StaffStore,
    StaffStoreError, UserRef,
};
pub use store::StoreError;
pub use turns::{AcceptError, Accepted, Arrival, Finish, FinishError, Incoming, TurnStore};
