//! Use-case tests of the staff operations over hand-written fakes: the scope is checked before
//! anything is touched, a person's reply is signed and stored, sent once on WhatsApp with what
//! the provider said recorded, and not sent on app chat; a failed WhatsApp reply is sent again,
//! a bot's by re-driving its job.

mod fakes;
mod reply;
mod retry;
