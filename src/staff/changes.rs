//! Following the inbox as it changes: each follower (a page showing the list) asks again and
//! again for what changed since it last asked, and hears about each change once.
//!
//! The store answers from its rows, so a change made on any instance reaches followers on every
//! instance. Each question looks [`OVERLAP`] further back than the previous answer: a write
//! committed a little late (a transaction that began earlier, an instance whose clock is a
//! little behind) is still seen, and what was already told is recognised and not told twice.

use std::collections::HashMap;

use chrono::{DateTime, Duration, Utc};

use crate::access::{Caller, Scope};
use crate::domain::{ConversationId, ConversationState};
use crate::ports::ConversationSummary;

use super::{Staff, StaffError};

/// How much further back than the last answer each question looks.
pub const OVERLAP: Duration = Duration::seconds(10);
/// The most conversations one answer holds; a busier moment is told over the next answers.
pub const MAX_CHANGES: usize = 200;

/// What a follower was last told about a conversation: a change of any of these is news.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Told {
    changed_at: DateTime<Utc>,
    state: ConversationState,
    flag_reason: Option<String>,
    active_agent: String,
    last_message: Option<(uuid::Uuid, Option<String>, Option<String>)>,
    unread: u64,
    ended: bool,
}

impl Told {
    fn of(summary: &ConversationSummary, changed_at: DateTime<Utc>) -> Self {
        let c = &summary.conversation;
        Self {
            changed_at,
            state: c.state,
            flag_reason: c.flag_reason.clone(),
            active_agent: c.active_agent.clone(),
            last_message: summary
                .last_message
                .as_ref()
                .map(|m| (m.id.0, m.delivery_status.clone(), m.error.clone())),
            unread: summary.unread,
            ended: c.ended_at.is_some(),
        }
    }
}

/// One follower's place in the stream of changes.
#[derive(Debug)]
pub struct ChangeFeed {
    /// When the previous answer was read.
    asked_at: DateTime<Utc>,
    /// What this follower was told, and when the store last mentioned it.
    told: HashMap<ConversationId, (Told, DateTime<Utc>)>,
}

/// A conversation that changed, and when.
#[derive(Clone, Debug, PartialEq)]
pub struct Change {
    pub summary: ConversationSummary,
    pub changed_at: DateTime<Utc>,
}

impl ChangeFeed {
    /// A follower that hears about changes from `now` on.
    pub fn starting_at(now: DateTime<Utc>) -> Self {
        Self {
            asked_at: now,
            told: HashMap::new(),
        }
    }

    /// Where the next question starts.
    fn since(&self) -> DateTime<Utc> {
        self.asked_at - OVERLAP
    }

    /// Keeps what is news in `found` (read at `now`), remembering it as told.
    fn news(
        &mut self,
        found: Vec<(ConversationSummary, DateTime<Utc>)>,
        now: DateTime<Utc>,
    ) -> Vec<Change> {
        let mut news = Vec::new();
        for (summary, changed_at) in found {
            let id = summary.conversation.id;
            let told = Told::of(&summary, changed_at);
            let known = self.told.get(&id).is_some_and(|(was, _)| *was == told);
            self.told.insert(id, (told, now));
            if !known {
                news.push(Change {
                    summary,
                    changed_at,
                });
            }
        }
        // Forget what has left the window: it cannot be mentioned again unless it changes.
        let horizon = now - OVERLAP - OVERLAP;
        self.told.retain(|_, (_, mentioned)| *mentioned >= horizon);
        self.asked_at = now;
        news
    }
}

impl Staff {
    /// The conversations that changed since `feed` last asked, oldest change first, each told
    /// once per change: a message, a new conversation, a takeover or release, a person's reply,
    /// a delivery status.
    ///
    /// # Errors
    /// [`StaffError::Access`] without the `admin` scope; [`StaffError::Store`] when the store
    /// fails (the feed is unchanged, so the next question asks the same).
    pub async fn changes(
        &self,
        caller: &Caller,
        feed: &mut ChangeFeed,
    ) -> Result<Vec<Change>, StaffError> {
        caller.require(Scope::Admin)?;
        let now = self.clock.now();
        let found = self.store.changed_since(feed.since(), MAX_CHANGES).await?;
        let mut news = feed.news(found, now);
        news.sort_by_key(|c| c.changed_at);
        Ok(news)
    }

    /// A feed of changes from now on, for a caller allowed to follow the inbox.
    ///
    /// # Errors
    /// [`StaffError::Access`] without the `admin` scope.
    pub fn follow(&self, caller: &Caller) -> Result<ChangeFeed, StaffError> {
        caller.require(Scope::Admin)?;
        Ok(ChangeFeed::starting_at(self.clock.now()))
    }
}

#[cfg(test)]
mod tests {
    use uuid::Uuid;

    use super::*;
    use crate::domain::{Channel, Conversation, User, UserId};

    fn summary(n: u128, at: DateTime<Utc>, state: ConversationState) -> ConversationSummary {
        let user = User {
            id: UserId(Uuid::from_u128(n)),
            phone_number: format!("chat_{n}"),
            display_name: None,
            channel: Channel::Chat,
            created_at: at,
        };
        ConversationSummary {
            conversation: Conversation {
                id: ConversationId(Uuid::from_u128(n)),
                user_id: user.id,
                active_agent: "anna".into(),
                state,
                human_notice_sent: false,
                flag_reason: None,
                started_at: at,
                last_activity_at: at,
                ended_at: None,
            },
            user,
            last_message: None,
            unread: 0,
        }
    }

    #[test]
    fn each_change_is_told_once_even_when_asked_about_again() {
        let start = Utc::now();
        let mut feed = ChangeFeed::starting_at(start);
        let first = summary(1, start, ConversationState::Bot);
        let later = start + Duration::seconds(1);

        let told = feed.news(vec![(first.clone(), start)], later);
        assert_eq!(told.len(), 1);
        let again = feed.news(vec![(first.clone(), start)], later + Duration::seconds(1));
        assert!(
            again.is_empty(),
            "the overlap brings it back, but it is not news"
        );

        let mut taken = first;
        taken.conversation.state = ConversationState::WaitingForHuman;
        let changed = feed.news(vec![(taken, start)], later + Duration::seconds(2));
        assert_eq!(changed.len(), 1, "a new state is news");
    }

    #[test]
    fn each_question_looks_back_by_the_overlap() {
        let start = Utc::now();
        let mut feed = ChangeFeed::starting_at(start);
        assert_eq!(feed.since(), start - OVERLAP);
        let now = start + Duration::seconds(3);
        feed.news(Vec::new(), now);
        assert_eq!(feed.since(), now - OVERLAP);
    }
}
