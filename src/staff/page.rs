//! Pages of newest-first listings: the limit a caller may ask for and the cursor of the next
//! page.

use crate::ports::{Cursor, Page};

use super::StaffError;

/// Items in a page when the caller names no limit.
pub const DEFAULT_LIMIT: usize = 50;
/// The most items a page may hold.
pub const MAX_LIMIT: usize = 200;

/// One page of a listing and where the next one starts (`None` on the last page).
#[derive(Clone, Debug, PartialEq)]
pub struct Listed<T> {
    pub items: Vec<T>,
    pub next: Option<Cursor>,
}

/// The page to ask the store for: one item more than asked, to tell whether another page
/// follows.
pub(crate) fn probe(before: Option<Cursor>, limit: Option<usize>) -> Result<Page, StaffError> {
    let limit = limit.unwrap_or(DEFAULT_LIMIT);
    if !(1..=MAX_LIMIT).contains(&limit) {
        return Err(StaffError::invalid(
            "limit",
            format!("must be between 1 and {MAX_LIMIT}"),
        ));
    }
    Ok(Page {
        before,
        limit: limit + 1,
    })
}

/// Trims the probe's extra item; the last item kept is where the next page starts.
pub(crate) fn listed<T>(
    mut items: Vec<T>,
    page: Page,
    cursor_of: impl Fn(&T) -> Cursor,
) -> Listed<T> {
    let asked = page.limit.saturating_sub(1);
    let more = items.len() > asked;
    items.truncate(asked);
    let next = if more {
        items.last().map(cursor_of)
    } else {
        None
    };
    Listed { items, next }
}

#[cfg(test)]
mod tests {
    use chrono::Utc;
    use uuid::Uuid;

    use super::*;

    fn cursor(n: u128) -> Cursor {
        Cursor {
            at: Utc::now(),
            id: Uuid::from_u128(n),
        }
    }

    #[test]
    fn the_limit_defaults_and_is_bounded() {
        assert_eq!(probe(None, None).map(|p| p.limit).ok(), Some(51));
        assert_eq!(probe(None, Some(200)).map(|p| p.limit).ok(), Some(201));
        for bad in [0, 201] {
            assert!(matches!(
                probe(None, Some(bad)),
                Err(StaffError::Invalid { field, .. }) if field == "limit"
            ));
        }
    }

    #[test]
    fn a_next_cursor_only_when_more_items_follow() {
        let page = Page {
            before: None,
            limit: 3,
        };
        let full = listed(vec![1u128, 2, 3], page, |n| cursor(*n));
        assert_eq!(full.items, [1, 2]);
        assert_eq!(full.next.map(|c| c.id), Some(Uuid::from_u128(2)));
        let last = listed(vec![1u128, 2], page, |n| cursor(*n));
        assert_eq!(last.items, [1, 2]);
        assert_eq!(last.next, None);
    }
}
