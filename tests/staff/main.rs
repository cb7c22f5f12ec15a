//! Use-case tests of the staff operations over hand-written fakes: the scope is checked before
//! anything is touched, a person's reply is signed and stored, sent once on WhatsApp with what
//! the provider said recorded, and not sent on app chat.

mod fakes;
mod reply;
