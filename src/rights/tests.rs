//! The use case through the port, with a hand-written store.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, TimeZone, Utc};
use uuid::Uuid;

use super::{EraseError, ExportError, PurgeError, Rights};
use crate::access::{AccessError, Caller, Scope};
use crate::domain::{Channel, User, UserId};
use crate::ports::{
    Clock, DataRights, Erasure, ErasureReport, PurgeReport, RightsError, UserExport, UserRef,
};

struct FixedClock(DateTime<Utc>);

impl Clock for FixedClock {
    fn now(&self) -> DateTime<Utc> {
        self.0
    }
}

fn now() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 6, 1, 12, 0, 0)
        .single()
        .unwrap_or_default()
}

/// Knows one user, records erasures and hands out purge batches from a script.
#[derive(Default)]
struct FakeStore {
    user: Option<User>,
    erasures: Mutex<Vec<Erasure>>,
    batches: Mutex<Vec<PurgeReport>>,
    cutoffs: Mutex<Vec<(DateTime<Utc>, usize)>>,
}

#[async_trait]
impl DataRights for FakeStore {
    async fn export_user(&self, user: &UserRef) -> Result<Option<UserExport>, RightsError> {
        Ok(self
            .user
            .clone()
            .filter(|u| matches(u, user))
            .map(|u| UserExport {
                user: u,
                conversations: vec![],
                messages: vec![],
                deliveries: vec![],
            }))
    }

    async fn erase_user(
        &self,
        user: &UserRef,
        erasure: &Erasure,
    ) -> Result<Option<ErasureReport>, RightsError> {
        let Some(found) = self.user.clone().filter(|u| matches(u, user)) else {
            return Ok(None);
        };
        self.erasures
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(erasure.clone());
        Ok(Some(ErasureReport {
            user: found.id,
            rows: 7,
        }))
    }

    async fn purge_before(
        &self,
        cutoff: DateTime<Utc>,
        batch: usize,
    ) -> Result<PurgeReport, RightsError> {
        self.cutoffs
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push((cutoff, batch));
        let mut batches = self.batches.lock().unwrap_or_else(|e| e.into_inner());
        if batches.is_empty() {
            return Ok(PurgeReport::default());
        }
        Ok(batches.remove(0))
    }

    async fn lead_task(&self, _: &str, _: Uuid, _: u32) -> Result<bool, RightsError> {
        Ok(true)
    }
}

fn matches(user: &User, wanted: &UserRef) -> bool {
    match wanted {
        UserRef::Id(id) => *id == user.id,
        UserRef::Identity(identity) => *identity == user.phone_number,
    }
}

fn alice() -> User {
    User {
        id: UserId(Uuid::now_v7()),
        phone_number: "+14155550100".into(),
        display_name: None,
        channel: Channel::WhatsApp,
        created_at: now(),
    }
}

fn admin_key() -> Caller {
    Caller::Key {
        prefix: "wak_AAAAAAAA".into(),
        name: "front desk".into(),
        scopes: vec![Scope::Admin],
    }
}

fn chat_key() -> Caller {
    Caller::Key {
        prefix: "wak_BBBBBBBB".into(),
        name: "app".into(),
        scopes: vec![Scope::Chat],
    }
}

fn rights(store: &Arc<FakeStore>) -> Rights {
    Rights::new(store.clone()).with_clock(Arc::new(FixedClock(now())))
}

#[tokio::test]
async fn an_admin_exports_a_user_by_identity_or_id() {
    let user = alice();
    let store = Arc::new(FakeStore {
        user: Some(user.clone()),
        ..FakeStore::default()
    });

    let by_identity = rights(&store)
        .export(&admin_key(), &UserRef::parse("+14155550100"))
        .await;
    let by_id = rights(&store)
        .export(&admin_key(), &UserRef::Id(user.id))
        .await;

    assert_eq!(by_identity.map(|e| e.user).ok(), Some(user.clone()));
    assert_eq!(by_id.map(|e| e.user).ok(), Some(user));
}

#[tokio::test]
async fn an_unknown_user_is_not_found() {
    let store = Arc::new(FakeStore::default());

    let export = rights(&store)
        .export(&admin_key(), &UserRef::parse("chat_nobody"))
        .await;
    let erase = rights(&store)
        .erase(&admin_key(), &UserRef::parse("chat_nobody"))
        .await;

    assert!(matches!(export, Err(ExportError::NotFound)), "{export:?}");
    assert!(matches!(erase, Err(EraseError::NotFound)), "{erase:?}");
}

#[tokio::test]
async fn a_chat_key_may_not_export_erase_or_purge() {
    let store = Arc::new(FakeStore {
        user: Some(alice()),
        ..FakeStore::default()
    });
    let user = UserRef::parse("+14155550100");

    let export = rights(&store).export(&chat_key(), &user).await;
    let erase = rights(&store).erase(&chat_key(), &user).await;
    let purge = rights(&store)
        .purge(&chat_key(), Duration::from_secs(86_400), 10)
        .await;

    assert!(matches!(
        export,
        Err(ExportError::Access(AccessError::Forbidden(_)))
    ));
    assert!(matches!(
        erase,
        Err(EraseError::Access(AccessError::Forbidden(_)))
    ));
    assert!(matches!(
        purge,
        Err(PurgeError::Access(AccessError::Forbidden(_)))
    ));
    assert!(store
        .erasures
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .is_empty());
    assert!(store
        .cutoffs
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .is_empty());
}

#[tokio::test]
async fn an_erasure_records_the_caller_and_the_time_not_the_user() {
    let store = Arc::new(FakeStore {
        user: Some(alice()),
        ..FakeStore::default()
    });

    let report = rights(&store)
        .erase(&admin_key(), &UserRef::parse("+14155550100"))
        .await;

    assert_eq!(report.map(|r| r.rows).ok(), Some(7));
    let erasures = store
        .erasures
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .clone();
    assert_eq!(
        erasures,
        vec![Erasure {
            at: now(),
            actor: "key:wak_AAAAAAAA".into()
        }]
    );
}

#[tokio::test]
async fn a_purge_runs_batches_until_one_removes_nothing() {
    let batch = |messages| PurgeReport {
        messages,
        conversations: 1,
        jobs: 0,
        users: 0,
    };
    let store = Arc::new(FakeStore {
        batches: Mutex::new(vec![batch(500), batch(20)]),
        ..FakeStore::default()
    });

    let report = rights(&store)
        .purge(&Caller::AdminToken, Duration::from_secs(30 * 86_400), 500)
        .await;

    assert_eq!(
        report.ok(),
        Some(PurgeReport {
            messages: 520,
            conversations: 2,
            jobs: 0,
            users: 0
        })
    );
    let cutoffs = store
        .cutoffs
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .clone();
    assert_eq!(cutoffs.len(), 3, "two batches with rows, then an empty one");
    assert!(cutoffs
        .iter()
        .all(|&(cutoff, size)| cutoff == now() - chrono::Duration::days(30) && size == 500));
}
