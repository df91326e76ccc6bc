//! [`backend_suite`]: the behaviour every [`SessionBackend`] must have, as checks a backend of
//! your own can run; the built-in backends pass it.

use std::collections::BTreeSet;
use std::sync::Arc;

use serde_json::{json, Map};
use time::{Duration, OffsetDateTime};

use crate::backend::session_backend::record;
use crate::backend::{ApplyItem, Batching, Changes, Record, Regenerated, UserIndex, UserSession};
use crate::id::SessionId;
use crate::SessionBackend;

/// Runs every check of the [`SessionBackend`] contract against `backend`, and panics with
/// the check's name and what went wrong at the first one that fails: records load as created,
/// `create` never overwrites a live record, `apply` changes only the keys it names and never
/// creates, records expire after their TTL (a TTL of zero or less at once), `regenerate` moves
/// a record or answers `Gone` / `Taken` without changing anything, and 20 concurrent `apply`s
/// on one record keep every key.
///
/// It takes about a second (it waits for short TTLs to pass), and writes only records under
/// fresh random ids, which it deletes, so it can run against a shared database. Pass a clone,
/// or an [`Arc`], to keep using the backend afterwards.
///
/// ```
/// use axum_session_store::backend::MemoryBackend;
/// use axum_session_store::test_util::backend_suite;
///
/// # #[tokio::main(flavor = "current_thread")] async fn main() {
/// // In a test of your own backend: `backend_suite(MyBackend::new(..)).await;`
/// backend_suite(MemoryBackend::new()).await;
/// # }
/// ```
pub async fn backend_suite<B: SessionBackend>(backend: B) {
    let suite = Suite(Arc::new(backend));
    suite.records_load_as_created().await;
    suite.create_never_overwrites_a_live_record().await;
    suite
        .apply_changes_only_the_named_keys_and_never_creates()
        .await;
    suite.records_expire_after_their_ttl().await;
    suite
        .regenerate_moves_or_answers_without_changing_anything()
        .await;
    suite.concurrent_applies_keep_every_key().await;
}

/// Checks the [`Batching`] contract against `backend`, and panics at the first check that
/// fails: `load_many` and `apply_many` answer each item as `load` and `apply` would (a record
/// that is gone fails only its own item), and an empty batch answers nothing.
///
/// ```
/// use axum_session_store::backend::MemoryBackend;
/// use axum_session_store::test_util::batching_suite;
///
/// # #[tokio::main(flavor = "current_thread")] async fn main() {
/// batching_suite(MemoryBackend::new()).await;
/// # }
/// ```
pub async fn batching_suite<B: Batching>(backend: B) {
    Suite(Arc::new(backend))
        .batches_answer_each_item_as_alone()
        .await;
}

/// Checks the [`UserIndex`] contract against `backend`, and panics at the first check that
/// fails: unless the backend answers
/// [`BackendError::is_unsupported`](crate::BackendError::is_unsupported), a user's sessions are
/// listed and revoked, by the exact user id (ids that differ only by a trailing space, by case,
/// or as two Unicode forms of one text reach only their own sessions).
///
/// ```
/// use axum_session_store::backend::MemoryBackend;
/// use axum_session_store::test_util::user_index_suite;
///
/// # #[tokio::main(flavor = "current_thread")] async fn main() {
/// user_index_suite(MemoryBackend::new()).await;
/// # }
/// ```
pub async fn user_index_suite<B: UserIndex>(backend: B) {
    let suite = Suite(Arc::new(backend));
    suite.a_users_sessions_are_listed_and_revoked().await;
    suite.user_ids_match_exactly().await;
}

/// An hour: long enough for any check.
const HOUR: Duration = Duration::HOUR;

struct Suite<B>(Arc<B>);

/// A fresh random id.
fn fresh_id() -> SessionId {
    SessionId::generate().unwrap_or_else(|error| panic!("backend suite: no random id: {error}"))
}

/// `result` with its error, and the error's cause, as text.
fn described<T>(result: Result<T, crate::BackendError>) -> Result<T, String> {
    result.map_err(|error| match std::error::Error::source(&error) {
        Some(source) => format!("{error}: {source}"),
        None => error.to_string(),
    })
}

impl<B: SessionBackend> Suite<B> {
    async fn create(&self, check: &str, record: &Record, ttl: Duration) -> SessionId {
        let id = fresh_id();
        let created = self.0.create(&id, record, ttl).await;
        assert!(
            matches!(created, Ok(true)),
            "backend suite, {check}: create under a fresh id answered {created:?}, not Ok(true)"
        );
        id
    }

    async fn load(&self, check: &str, id: &SessionId) -> Option<Record> {
        self.0
            .load(id)
            .await
            .unwrap_or_else(|error| panic!("backend suite, {check}: load failed: {error}"))
    }

    async fn apply(&self, check: &str, id: &SessionId, changes: &Changes) -> bool {
        self.0
            .apply(id, changes, HOUR)
            .await
            .unwrap_or_else(|error| panic!("backend suite, {check}: apply failed: {error}"))
    }

    async fn delete(&self, check: &str, id: &SessionId) {
        if let Err(error) = self.0.delete(id).await {
            panic!("backend suite, {check}: delete failed: {error}");
        }
    }

    async fn records_load_as_created(&self) {
        let check = "records load as created";
        let data = record(json!({
            "text": "ü\"\\", "number": 1.5, "big": 18446744073709551615u64, "flag": true,
            "none": null, "list": [1, [2], {"three": 3}], "": "empty key", "_flash": [["hi", null]]
        }));
        let id = self.create(check, &data, HOUR).await;
        assert_eq!(
            self.load(check, &id).await,
            Some(data),
            "backend suite, {check}"
        );
        assert_eq!(
            self.load(check, &fresh_id()).await,
            None,
            "backend suite, {check}: an unknown id loads nothing"
        );
        self.delete(check, &id).await;
        assert_eq!(
            self.load(check, &id).await,
            None,
            "backend suite, {check}: a deleted record loads nothing"
        );
        self.delete(check, &id).await;
    }

    async fn create_never_overwrites_a_live_record(&self) {
        let check = "create never overwrites a live record";
        let first = record(json!({"a": 1}));
        let id = self.create(check, &first, HOUR).await;
        let again = self.0.create(&id, &record(json!({"b": 2})), HOUR).await;
        assert!(
            matches!(again, Ok(false)),
            "backend suite, {check}: create under a taken id answered {again:?}, not Ok(false)"
        );
        assert_eq!(
            self.load(check, &id).await,
            Some(first),
            "backend suite, {check}"
        );
        self.delete(check, &id).await;
    }

    async fn apply_changes_only_the_named_keys_and_never_creates(&self) {
        let check = "apply changes only the named keys and never creates";
        let id = self
            .create(check, &record(json!({"a": 1, "b": 2, "c": 3})), HOUR)
            .await;
        let changes = Changes {
            removed: vec!["a".into(), "absent".into()],
            set: vec![("b".into(), json!("two")), ("d".into(), json!([4]))],
            ..Changes::default()
        };
        assert!(
            self.apply(check, &id, &changes).await,
            "backend suite, {check}"
        );
        assert_eq!(
            self.load(check, &id).await,
            Some(record(json!({"b": "two", "c": 3, "d": [4]}))),
            "backend suite, {check}: remove, then set"
        );
        let changes = Changes {
            cleared: true,
            removed: vec![],
            set: vec![("e".into(), json!(5))],
        };
        assert!(
            self.apply(check, &id, &changes).await,
            "backend suite, {check}"
        );
        assert_eq!(
            self.load(check, &id).await,
            Some(record(json!({"e": 5}))),
            "backend suite, {check}: clear, then set"
        );
        let missing = fresh_id();
        assert!(
            !self.apply(check, &missing, &changes).await,
            "backend suite, {check}: apply to a missing record answered true"
        );
        assert_eq!(
            self.load(check, &missing).await,
            None,
            "backend suite, {check}: apply to a missing record created it"
        );
        self.delete(check, &id).await;
    }

    async fn records_expire_after_their_ttl(&self) {
        let check = "records expire after their TTL";
        let data = record(json!({"a": 1}));
        let at_once = self.create(check, &data, Duration::ZERO).await;
        let in_the_past = self.create(check, &data, Duration::seconds(-5)).await;
        let soon = self.create(check, &data, Duration::milliseconds(300)).await;
        for id in [&at_once, &in_the_past] {
            assert_eq!(
                self.load(check, id).await,
                None,
                "backend suite, {check}: a record with a TTL of zero or less loaded"
            );
        }
        assert!(
            self.load(check, &soon).await.is_some(),
            "backend suite, {check}"
        );
        tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
        assert_eq!(
            self.load(check, &soon).await,
            None,
            "backend suite, {check}: a record loaded after its TTL"
        );
        let changes = Changes {
            set: vec![("b".into(), json!(2))],
            ..Changes::default()
        };
        assert!(
            !self.apply(check, &soon, &changes).await,
            "backend suite, {check}: apply to an expired record answered true"
        );
        assert_eq!(
            self.load(check, &soon).await,
            None,
            "backend suite, {check}"
        );
        for id in [&at_once, &in_the_past, &soon] {
            self.delete(check, id).await;
        }
    }

    async fn regenerate_moves_or_answers_without_changing_anything(&self) {
        let check = "regenerate moves a record, or answers Gone or Taken and changes nothing";
        let old = self
            .create(check, &record(json!({"a": 1, "b": 2})), HOUR)
            .await;
        let new = fresh_id();
        let changes = Changes {
            removed: vec!["a".into()],
            set: vec![("user".into(), json!("ada"))],
            ..Changes::default()
        };
        let moved = self.0.regenerate(&old, &new, &changes, HOUR).await;
        assert!(
            matches!(moved, Ok(Regenerated::Moved)),
            "backend suite, {check}: answered {moved:?}, not Moved"
        );
        assert_eq!(
            self.load(check, &old).await,
            None,
            "backend suite, {check}: old id"
        );
        assert_eq!(
            self.load(check, &new).await,
            Some(record(json!({"b": 2, "user": "ada"}))),
            "backend suite, {check}: the new id holds the record with the changes"
        );

        let gone = self.0.regenerate(&old, &fresh_id(), &changes, HOUR).await;
        assert!(
            matches!(gone, Ok(Regenerated::Gone)),
            "backend suite, {check}: moving a missing record answered {gone:?}, not Gone"
        );

        let other = self
            .create(check, &record(json!({"other": true})), HOUR)
            .await;
        let taken = self.0.regenerate(&new, &other, &changes, HOUR).await;
        assert!(
            matches!(taken, Ok(Regenerated::Taken)),
            "backend suite, {check}: moving onto a live id answered {taken:?}, not Taken"
        );
        assert_eq!(
            self.load(check, &new).await,
            Some(record(json!({"b": 2, "user": "ada"}))),
            "backend suite, {check}: Taken left the record as it was"
        );
        assert_eq!(
            self.load(check, &other).await,
            Some(record(json!({"other": true}))),
            "backend suite, {check}: Taken left the other record as it was"
        );
        self.delete(check, &new).await;
        self.delete(check, &other).await;
    }

    async fn concurrent_applies_keep_every_key(&self) {
        let check = "20 concurrent applies on one record keep every key";
        let id = self.create(check, &Map::new(), HOUR).await;
        let tasks: Vec<_> = (0..20)
            .map(|i| {
                let (backend, id) = (self.0.clone(), id.clone());
                tokio::spawn(async move {
                    let changes = Changes {
                        set: vec![(format!("k{i}"), json!(i))],
                        ..Changes::default()
                    };
                    backend.apply(&id, &changes, HOUR).await
                })
            })
            .collect();
        for task in tasks {
            let applied = task.await;
            assert!(
                matches!(applied, Ok(Ok(true))),
                "backend suite, {check}: an apply answered {applied:?}"
            );
        }
        let keys: BTreeSet<String> = self
            .load(check, &id)
            .await
            .unwrap_or_default()
            .into_iter()
            .map(|(key, _)| key)
            .collect();
        assert_eq!(
            keys,
            (0..20).map(|i| format!("k{i}")).collect(),
            "backend suite, {check}"
        );
        self.delete(check, &id).await;
    }
}

impl<B: Batching> Suite<B> {
    async fn batches_answer_each_item_as_alone(&self) {
        let check = "load_many and apply_many answer each item as alone";
        let (a, b) = (
            record(json!({"n": 1})),
            record(json!({"n": 2, "keep": true})),
        );
        let (id_a, id_b) = (
            self.create(check, &a, HOUR).await,
            self.create(check, &b, HOUR).await,
        );
        let unknown = fresh_id();
        let ids = [id_a.clone(), unknown.clone(), id_b.clone(), id_a.clone()];
        let loaded: Vec<_> = self
            .0
            .load_many(&ids)
            .await
            .into_iter()
            .map(described)
            .collect();
        assert_eq!(
            loaded,
            [Ok(Some(a.clone())), Ok(None), Ok(Some(b)), Ok(Some(a))],
            "backend suite, {check}: load_many of a, unknown, b, a"
        );
        let set = |n: i64| Changes {
            set: vec![("n".to_owned(), json!(n))],
            ..Changes::default()
        };
        let items = [
            ApplyItem {
                id: id_a.clone(),
                changes: set(10),
                ttl: HOUR,
            },
            ApplyItem {
                id: unknown.clone(),
                changes: set(11),
                ttl: HOUR,
            },
            ApplyItem {
                id: id_b.clone(),
                changes: set(12),
                ttl: HOUR,
            },
        ];
        let applied: Vec<_> = self
            .0
            .apply_many(&items)
            .await
            .into_iter()
            .map(described)
            .collect();
        assert_eq!(
            applied,
            [Ok(true), Ok(false), Ok(true)],
            "backend suite, {check}: apply_many of a, unknown, b"
        );
        assert_eq!(
            self.load(check, &id_a).await,
            Some(record(json!({"n": 10}))),
            "backend suite, {check}"
        );
        assert_eq!(
            self.load(check, &id_b).await,
            Some(record(json!({"n": 12, "keep": true}))),
            "backend suite, {check}: apply_many changed only the named keys"
        );
        assert_eq!(
            self.load(check, &unknown).await,
            None,
            "backend suite, {check}: apply_many never creates"
        );
        assert!(
            self.0.load_many(&[]).await.is_empty() && self.0.apply_many(&[]).await.is_empty(),
            "backend suite, {check}: an empty batch answers nothing"
        );
        self.delete(check, &id_a).await;
        self.delete(check, &id_b).await;
    }
}

impl<B: UserIndex> Suite<B> {
    async fn a_users_sessions_are_listed_and_revoked(&self) {
        let check = "a user's sessions are listed and revoked";
        let user = format!("backend-suite-{}", fresh_id().as_str());
        match self.0.user_sessions(&user, 10).await {
            Err(error) if error.is_unsupported() => return,
            Err(error) => panic!("backend suite, {check}: user_sessions failed: {error}"),
            Ok(listed) => assert!(
                listed.is_empty(),
                "backend suite, {check}: a new user has {listed:?}"
            ),
        }
        let metadata = json!({"created": 1, "agent": "Firefox"});
        let keep = self
            .create(
                check,
                &record(json!({"_user": user, "a": 1, "_meta": metadata})),
                HOUR,
            )
            .await;
        let other = self
            .create(check, &record(json!({"_user": user})), HOUR * 2)
            .await;
        let someone_else = self
            .create(check, &record(json!({"_user": format!("{user}-2")})), HOUR)
            .await;
        let before = OffsetDateTime::now_utc();
        let listed = self.user_sessions(check, &user).await;
        let ids: Vec<&SessionId> = listed.iter().map(|listed| &listed.id).collect();
        assert_eq!(
            ids,
            [&other, &keep],
            "backend suite, {check}: listed, those that expire last first"
        );
        assert_eq!(
            (&listed[0].metadata, &listed[1].metadata),
            (&None, &Some(metadata)),
            "backend suite, {check}: each with its metadata"
        );
        for (listed, ttl) in listed.iter().zip([HOUR * 2, HOUR]) {
            let off = listed.expires_at - (before + ttl);
            assert!(
                off.abs() < Duration::minutes(1),
                "backend suite, {check}: {:?} expires at {}, {off} from its TTL",
                listed.id,
                listed.expires_at
            );
        }
        let first = self.0.user_sessions(&user, 1).await;
        assert!(
            matches!(&first, Ok(first) if first.len() == 1 && first[0].id == other),
            "backend suite, {check}: a limit of 1 lists the one that expires last, not {first:?}"
        );
        let revoked = self.0.revoke_user_sessions(&user, Some(&keep)).await;
        assert!(
            matches!(revoked, Ok(1)),
            "backend suite, {check}: revoking all but one answered {revoked:?}, not Ok(1)"
        );
        assert_eq!(
            self.load(check, &other).await,
            None,
            "backend suite, {check}"
        );
        assert!(
            self.load(check, &keep).await.is_some(),
            "backend suite, {check}"
        );
        assert!(
            self.load(check, &someone_else).await.is_some(),
            "backend suite, {check}"
        );
        let revoked = self.0.revoke_user_sessions(&user, None).await;
        assert!(
            matches!(revoked, Ok(1)),
            "backend suite, {check}: revoking all answered {revoked:?}, not Ok(1)"
        );
        assert!(
            self.user_sessions(check, &user).await.is_empty(),
            "backend suite, {check}"
        );
        self.delete(check, &someone_else).await;
    }

    async fn user_ids_match_exactly(&self) {
        let check = "user ids match exactly (spaces, case, Unicode forms)";
        let base = format!("backend-suite-{}", fresh_id().as_str());
        // Each differs from the first only where a database might compare loosely: a trailing
        // space (SQL's PAD SPACE collations), case, and NFC "é" against NFD "e" + U+0301.
        let users = [
            format!("{base}-alice"),
            format!("{base}-alice "),
            format!("{base}-alice  "),
            format!("{base}-Alice"),
            format!("{base}-caf\u{e9}"),
            format!("{base}-cafe\u{301}"),
        ];
        match self.0.user_sessions(&users[0], 10).await {
            Err(error) if error.is_unsupported() => return,
            Err(error) => panic!("backend suite, {check}: user_sessions failed: {error}"),
            Ok(_) => {}
        }
        let mut ids = Vec::with_capacity(users.len());
        for user in &users {
            ids.push(
                self.create(check, &record(json!({ "_user": user })), HOUR)
                    .await,
            );
        }
        for (user, id) in users.iter().zip(&ids) {
            let listed = self.user_sessions(check, user).await;
            assert_eq!(
                listed.iter().map(|listed| &listed.id).collect::<Vec<_>>(),
                vec![id],
                "backend suite, {check}: the sessions of {user:?}"
            );
        }
        for (n, user) in users.iter().enumerate() {
            let revoked = self.0.revoke_user_sessions(user, None).await;
            assert!(
                matches!(revoked, Ok(1)),
                "backend suite, {check}: revoking {user:?} answered {revoked:?}, not Ok(1)"
            );
            for (m, (other, id)) in users.iter().zip(&ids).enumerate() {
                assert_eq!(
                    self.load(check, id).await.is_some(),
                    m > n,
                    "backend suite, {check}: after revoking {user:?}, the session of {other:?}"
                );
            }
        }
    }

    async fn user_sessions(&self, check: &str, user: &str) -> Vec<UserSession> {
        self.0
            .user_sessions(user, 10)
            .await
            .unwrap_or_else(|error| panic!("backend suite, {check}: user_sessions failed: {error}"))
    }
}
