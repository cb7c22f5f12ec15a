//! The inbound worker through its ports, with hand-written fakes: no database, no HTTP. A part
//! whose send has no known outcome is looked up before it is sent again, a lost lease stops
//! the worker before any side effect, and a model that fails for good gets the fallback reply.

#[path = "../chat/support/mod.rs"]
mod support;

mod fakes;
mod worker;
