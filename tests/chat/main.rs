//! Use-case tests of `ChatService` over in-memory fakes: no HTTP, no database.

mod history;
mod llm_failure;
mod media;
mod support;
mod turn;
mod two_writes;
mod validation;
