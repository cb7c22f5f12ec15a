//! Ports: the traits adapters implement. Each is used as `Arc<dyn Port>` so the backend is picked
//! at run time from configuration.

mod channel;
mod clock;
mod conversation;
mod delivery_log;
mod intake;
mod job_board;
mod keys;
mod leases;
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
pub use delivery_log::{status_advances, DeliveryLog, DeliveryLogError, PartAttempt};
pub use intake::{Enqueued, InboundDelivery, InboundIntake, IntakeError};
pub use job_board::{JobBoard, JobBoardError, JobSummary};
pub use keys::{ApiKey, KeyStore, KeyStoreError, NewApiKey};
pub use leases::{Job, JobContext, JobFailure, JobLeases, LeaseError};
pub use llm::{
    ChunkStream, CutOff, LlmChunk, LlmError, LlmMessage, LlmPort, LlmReply, LlmRequest, Role,
    ToolCall, ToolChoice, ToolSpec, Usage,
};
pub use media::{Blob, MediaError, MediaFetcher, MediaPurpose};
pub use media_type::blob_from_download;
pub use messenger::{Messenger, MessengerError, OutboundMessage, OutboundPart};
pub use rights::{
    DataRights, DeliveryRecord, Erasure, ErasureReport, PurgeReport, RightsError, UserExport,
};
pub use staff::{
    ConversationFilter, ConversationSummary, Cursor, FiledMessage, Page, SendOutcome, StaffStore,
    StaffStoreError, UserRef,
};
pub use store::StoreError;
pub use turns::{AcceptError, Accepted, Arrival, Finish, FinishError, Incoming, TurnStore};
