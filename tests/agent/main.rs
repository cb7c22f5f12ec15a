//! Use-case tests of the agents over in-memory fakes and a scripted model: no HTTP, no
//! database, no waiting (time is moved by hand).

#[path = "../chat/support/mod.rs"]
mod support;

mod cut_off;
mod guardrail;
mod handoff;
mod memory;
mod one_engine;
mod streaming;
mod takeover;
