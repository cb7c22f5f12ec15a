//! What every staff handler does first: find the staff operations and the caller.

use whatsapp_agent::access::{AccessError, Caller};
use whatsapp_agent::staff::Staff;

use crate::error::Failure;
use crate::state::AppState;

/// The staff operations and the caller, whose scope the operation itself checks.
///
/// # Errors
/// 401 for a missing or wrong credential, 503 when the staff operations are not wired.
pub fn staff_caller(
    state: &AppState,
    caller: Result<Caller, AccessError>,
) -> Result<(&Staff, Caller), Failure> {
    let caller = caller?;
    let staff = state.staff.as_ref().ok_or_else(|| {
        Failure::unavailable(
            "staff_unavailable",
            "the staff operations are not available on this instance",
            5,
        )
    })?;
    Ok((staff, caller))
}
