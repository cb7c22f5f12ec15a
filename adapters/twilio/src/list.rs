//! Reading back what was sent: `GET …/Messages.json?To=&From=&PageSize=`, newest first, to
//! find a part whose send had no known outcome.
//!
//! A message still `queued` may have no `date_sent` yet, so the match is on the body and
//! `date_created` (RFC 2822, whole seconds).

use chrono::{DateTime, Utc};
use serde::Deserialize;

/// One page of the Messages list, with the fields reconciliation reads.
#[derive(Debug, Deserialize)]
pub(crate) struct Page {
    #[serde(default)]
    pub messages: Vec<Listed>,
    /// Path and query of the next (older) page, relative to the API's host.
    pub next_page_uri: Option<String>,
}

#[derive(Debug, Deserialize)]
pub(crate) struct Listed {
    pub sid: String,
    pub body: Option<String>,
    pub date_created: Option<String>,
}

/// What a page says about a part with `body` created at or after `since`.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Found {
    /// This message is the part.
    Sid(String),
    /// The page reached messages older than `since`: the part was not created.
    Absent,
    /// Nothing matched yet, and older messages may still be at or after `since`.
    ReadOn,
}

/// Looks for the part on one page, newest first.
pub(crate) fn find(page: &Page, body: &str, since: DateTime<Utc>) -> Found {
    for message in &page.messages {
        let created = message
            .date_created
            .as_deref()
            .and_then(|d| DateTime::parse_from_rfc2822(d).ok())
            .map(|d| d.with_timezone(&Utc));
        match created {
            Some(created) if created < since => return Found::Absent,
            // Without a creation time it cannot be older than the attempt: it may be the part.
            _ => {}
        }
        if message.body.as_deref().is_some_and(|b| same_body(b, body)) {
            return Found::Sid(message.sid.clone());
        }
    }
    Found::ReadOn
}

/// The provider may trim what it stores; the text is otherwise kept as sent.
fn same_body(stored: &str, sent: &str) -> bool {
    stored == sent || stored.trim() == sent.trim()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn listed(sid: &str, body: &str, created: &str) -> Listed {
        Listed {
            sid: sid.into(),
            body: Some(body.into()),
            date_created: Some(created.into()),
        }
    }

    #[test]
    fn matches_the_body_created_since_the_attempt_newest_first() {
        let since = DateTime::parse_from_rfc3339("2026-11-29T18:00:00Z")
            .expect("time")
            .with_timezone(&Utc);
        let page = Page {
            messages: vec![
                listed("SM3", "other", "Sun, 29 Nov 2026 18:00:05 +0000"),
                listed("SM2", "hola", "Sun, 29 Nov 2026 18:00:01 +0000"),
                listed("SM1", "hola", "Sun, 29 Nov 2026 17:59:00 +0000"),
            ],
            next_page_uri: None,
        };

        assert_eq!(find(&page, "hola", since), Found::Sid("SM2".into()));
        assert_eq!(find(&page, "adiós", since), Found::Absent);
        let newer = Page {
            messages: vec![listed("SM4", "x", "Sun, 29 Nov 2026 18:00:09 +0000")],
            next_page_uri: Some("/next".into()),
        };
        assert_eq!(find(&newer, "hola", since), Found::ReadOn);
    }
}
