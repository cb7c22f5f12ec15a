//! `KeyStore`: keys stored as hashes, found by hash or prefix, revoked, and their last use
//! recorded without a write per request.

use chrono::{DateTime, Duration, TimeZone, Utc};
use uuid::Uuid;
use whatsapp_agent::access::Scope;
use whatsapp_agent::ports::{KeyStore, KeyStoreError, NewApiKey};

use crate::support::TestDb;

on_both_backends!(
    a_created_key_is_listed_newest_first_without_secrets,
    a_key_is_found_by_its_hash_and_its_use_recorded_at_most_once_a_minute,
    a_token_key_comes_with_its_secret,
    a_revoked_key_is_still_found_but_no_longer_records_use,
    revoking_twice_keeps_the_first_time_and_unknown_prefixes_are_absent,
    a_taken_prefix_is_a_duplicate,
);

fn at(second: i64) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 29, 9, 0, 0)
        .single()
        .expect("a valid time")
        + Duration::seconds(second)
}

fn new_key(prefix: &str, scopes: Vec<Scope>, created: DateTime<Utc>) -> NewApiKey {
    NewApiKey {
        id: Uuid::now_v7(),
        prefix: prefix.to_string(),
        name: format!("{prefix} key"),
        scopes,
        lookup_hash: format!("{:0>64}", prefix.replace('_', "")),
        token_secret: format!("secret of {prefix}").into_bytes(),
        created_at: created,
    }
}

async fn a_created_key_is_listed_newest_first_without_secrets(t: &TestDb) {
    // Arrange
    let old = new_key("wak_old", vec![Scope::Chat], at(0));
    let new = new_key(
        "wak_new",
        vec![Scope::Chat, Scope::Admin, Scope::Chat],
        at(10),
    );

    // Act
    let created = t.store.create_key(&old).await.expect("create old");
    t.store.create_key(&new).await.expect("create new");
    let listed = t.store.list_keys().await.expect("list");

    // Assert
    assert_eq!(created.prefix, "wak_old");
    assert_eq!(created.name, "wak_old key");
    assert_eq!(created.scopes, vec![Scope::Chat]);
    assert_eq!(created.created_at, at(0));
    assert_eq!((created.last_used_at, created.revoked_at), (None, None));
    let prefixes: Vec<&str> = listed.iter().map(|k| k.prefix.as_str()).collect();
    assert_eq!(prefixes, ["wak_new", "wak_old"]);
    assert_eq!(listed[0].scopes, vec![Scope::Admin, Scope::Chat]);
    assert_eq!(
        t.count("SELECT COUNT(*) FROM api_keys WHERE scopes = 'admin,chat'")
            .await,
        1
    );
}

async fn a_key_is_found_by_its_hash_and_its_use_recorded_at_most_once_a_minute(t: &TestDb) {
    // Arrange
    let key = new_key("wak_used", vec![Scope::Admin], at(0));
    t.store.create_key(&key).await.expect("create");

    // Act
    let first = t.store.key_by_hash(&key.lookup_hash, at(5)).await;
    let soon = t.store.key_by_hash(&key.lookup_hash, at(30)).await;
    let later = t.store.key_by_hash(&key.lookup_hash, at(70)).await;
    let unknown = t.store.key_by_hash(&"f".repeat(64), at(70)).await;

    // Assert
    let first = first.expect("lookup").expect("found");
    assert_eq!(first.prefix, "wak_used");
    assert_eq!(first.last_used_at, Some(at(5)));
    let soon = soon.expect("lookup").expect("found");
    assert_eq!(
        soon.last_used_at,
        Some(at(5)),
        "within a minute: not rewritten"
    );
    let later = later.expect("lookup").expect("found");
    assert_eq!(later.last_used_at, Some(at(70)));
    assert_eq!(unknown.expect("lookup"), None);
    let listed = t.store.list_keys().await.expect("list");
    assert_eq!(listed[0].last_used_at, Some(at(70)));
}

async fn a_token_key_comes_with_its_secret(t: &TestDb) {
    // Arrange
    let key = new_key("wak_tok", vec![Scope::Chat], at(0));
    t.store.create_key(&key).await.expect("create");

    // Act
    let found = t.store.token_key("wak_tok", at(1)).await.expect("lookup");
    let missing = t.store.token_key("wak_none", at(1)).await.expect("lookup");

    // Assert
    let (listed, secret) = found.expect("found");
    assert_eq!(listed.prefix, "wak_tok");
    assert_eq!(listed.last_used_at, Some(at(1)));
    assert_eq!(secret, b"secret of wak_tok".to_vec());
    assert_eq!(missing, None);
}

async fn a_revoked_key_is_still_found_but_no_longer_records_use(t: &TestDb) {
    // Arrange
    let key = new_key("wak_gone", vec![Scope::Chat], at(0));
    t.store.create_key(&key).await.expect("create");

    // Act
    let revoked = t
        .store
        .revoke_key("wak_gone", at(10))
        .await
        .expect("revoke");
    let found = t.store.key_by_hash(&key.lookup_hash, at(100)).await;
    let token = t.store.token_key("wak_gone", at(100)).await;

    // Assert
    assert_eq!(revoked.expect("known").revoked_at, Some(at(10)));
    let found = found.expect("lookup").expect("still found");
    assert_eq!(found.revoked_at, Some(at(10)));
    assert_eq!(found.last_used_at, None);
    let (token, _) = token.expect("lookup").expect("still found");
    assert_eq!(token.last_used_at, None);
}

async fn revoking_twice_keeps_the_first_time_and_unknown_prefixes_are_absent(t: &TestDb) {
    // Arrange
    t.store
        .create_key(&new_key("wak_twice", vec![Scope::Admin], at(0)))
        .await
        .expect("create");

    // Act
    t.store
        .revoke_key("wak_twice", at(10))
        .await
        .expect("first");
    let again = t
        .store
        .revoke_key("wak_twice", at(20))
        .await
        .expect("again");
    let unknown = t
        .store
        .revoke_key("wak_nope", at(20))
        .await
        .expect("unknown");

    // Assert
    assert_eq!(again.expect("known").revoked_at, Some(at(10)));
    assert_eq!(unknown, None);
}

async fn a_taken_prefix_is_a_duplicate(t: &TestDb) {
    // Arrange
    t.store
        .create_key(&new_key("wak_same", vec![Scope::Chat], at(0)))
        .await
        .expect("create");
    let mut other = new_key("wak_same", vec![Scope::Admin], at(1));
    other.lookup_hash = "a".repeat(64);

    // Act
    let result = t.store.create_key(&other).await;

    // Assert
    assert!(
        matches!(result, Err(KeyStoreError::Duplicate(_))),
        "{result:?}"
    );
    assert_eq!(t.count("SELECT COUNT(*) FROM api_keys").await, 1);
}

/// The migration that adds the key store and data rights tables can be undone and redone.
mod schema {
    use migration::{Migrator, MigratorTrait};
    use sea_orm::ConnectionTrait;

    use crate::support::TestDb;

    on_both_backends!(the_access_tables_roll_back_and_apply_again);

    async fn the_access_tables_roll_back_and_apply_again(t: &TestDb) {
        // Act: the send attempts' migration came after it, so it goes first.
        let down = Migrator::down(&t.db, Some(2)).await;
        let tables_after_down = t
            .count(match t.db.get_database_backend() {
                sea_orm::DatabaseBackend::Postgres => {
                    "SELECT COUNT(*) FROM information_schema.tables WHERE table_schema = 'public' \
                     AND table_name IN ('api_keys', 'erasures', 'task_leases')"
                }
                _ => {
                    "SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' \
                     AND name IN ('api_keys', 'erasures', 'task_leases')"
                }
            })
            .await;
        let up = wa_sql::migrate(&t.db).await;

        // Assert
        assert!(down.is_ok(), "down: {down:?}");
        assert_eq!(tables_after_down, 0);
        assert!(up.is_ok(), "up again: {up:?}");
        assert_eq!(t.count("SELECT COUNT(*) FROM api_keys").await, 0);
        assert_eq!(
            t.count("SELECT COUNT(*) FROM conversations WHERE staff_seen_at IS NULL")
                .await,
            0
        );
    }
}
