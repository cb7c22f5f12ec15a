//! A patient's data rights, as the clinic's staff exercises them: export everything stored
//! about a user, erase it, and purge what is older than the retention period.
//!
//! Every operation needs the `admin` scope; the store behind [`DataRights`] does the work in
//! its own transactions, this module decides who may ask and what is recorded.
//!
//! [`DataRights`]: crate::ports::DataRights

mod error;
mod service;

pub use error::{EraseError, ExportError, PurgeError};
pub use service::Rights;

#[cfg(test)]
mod tests;
