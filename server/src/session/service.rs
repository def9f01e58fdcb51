//! Issuing, looking up and revoking sessions, independent of HTTP.

use std::sync::Arc;
use std::time::Duration;

use bia_config::RequiredAal;
use chrono::{DateTime, Utc};
use uuid::Uuid;

use super::{AuthMethod, Device, Session, generate_token, hash_token};
use crate::aal::{self, Aal};
use crate::identity::{Identity, State};
use crate::store::{
    BulkChange, IdentityQuery, IdentityStore, SessionPage, SessionQuery, SessionStore, StoreError,
};
use crate::time::Clock;

/// Why a session operation failed.
#[derive(Debug, thiserror::Error)]
pub enum SessionError {
    /// No valid session for the token (unknown, revoked, expired, or its identity is inactive).
    #[error("no active session")]
    Inactive,
    /// No session or identity with that id.
    #[error("not found")]
    NotFound,
    /// The caller may not revoke the session it is using through this call.
    #[error("the current session cannot be revoked this way")]
    CurrentSession,
    /// The session is valid but has not used the second factor its identity
    /// has set up, and `session.whoami.required_aal` asks for it.
    #[error("a second factor is required")]
    Aal2Required,
    /// Storage failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Most rows a wildcard bulk call changes; callers repeat while `more`.
pub const BULK_LIMIT: u32 = 1000;

/// Which sessions a bulk call acts on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BulkTarget {
    /// These sessions.
    Sessions(Vec<Uuid>),
    /// Every session of these identities.
    Identities(Vec<Uuid>),
    /// Every session.
    All,
}

/// What a bulk call did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BulkOutcome {
    /// Rows changed.
    pub processed: u64,
    /// Whether a wildcard call stopped at its limit.
    pub more: bool,
}

/// Settings of the session service.
#[derive(Debug, Clone, Copy)]
pub struct SessionSettings {
    /// How long a new or extended session lasts (`session.lifespan`).
    pub lifespan: Duration,
    /// The most time a session may have left for an extension to apply
    /// (`session.earliest_possible_extend`); the lifespan allows any.
    pub earliest_possible_extend: Duration,
    /// How long a session may go unused (`session.inactivity_timeout`, a
    /// Bia option); `None` for no limit.
    pub inactivity_timeout: Option<Duration>,
}

impl SessionSettings {
    /// Whether a session that expires at `expires_at` may be extended at
    /// `now`: only once the time it has left is at most
    /// `earliest_possible_extend`. An expired session has none left.
    pub fn may_extend(&self, expires_at: DateTime<Utc>, now: DateTime<Utc>) -> bool {
        chrono::Duration::from_std(self.earliest_possible_extend)
            .ok()
            .and_then(|window| now.checked_add_signed(window))
            .is_none_or(|latest| expires_at <= latest)
    }
}

/// Session operations.
#[derive(Clone)]
pub struct SessionService {
    store: Arc<dyn SessionStore>,
    identities: Arc<dyn IdentityStore>,
    clock: Arc<dyn Clock>,
    settings: SessionSettings,
    whoami_aal: RequiredAal,
}

impl SessionService {
    /// A service over these parts.
    pub fn new(
        store: Arc<dyn SessionStore>,
        identities: Arc<dyn IdentityStore>,
        clock: Arc<dyn Clock>,
        settings: SessionSettings,
    ) -> Self {
        Self {
            store,
            identities,
            clock,
            settings,
            whoami_aal: RequiredAal::default(),
        }
    }

    /// The service with the assurance level `whoami` requires
    /// (`session.whoami.required_aal`; `highest_available` unless set).
    pub fn with_whoami_aal(mut self, required: RequiredAal) -> Self {
        self.whoami_aal = required;
        self
    }

    /// Whether a session found by [`Self::whoami`] satisfies
    /// `session.whoami.required_aal`. Reads only what the lookup brought
    /// (the session's level and its identity's available one): no query.
    pub fn check_whoami_aal(&self, session: &Session) -> Result<(), SessionError> {
        let reached = Aal::parse(&session.aal).unwrap_or_default();
        let available = session
            .identity
            .as_ref()
            .map_or(Aal::Aal1, |identity| identity.available_aal);
        if aal::satisfies(self.whoami_aal, reached, available) {
            Ok(())
        } else {
            Err(SessionError::Aal2Required)
        }
    }

    /// When a session issued or extended at `now` expires: its lifespan
    /// later, or sooner when an inactivity timeout is set.
    fn expiry(&self, now: DateTime<Utc>) -> DateTime<Utc> {
        let full = now + self.lifespan_chrono();
        match self.idle_window() {
            Some(idle) => full.min(now + idle),
            None => full,
        }
    }

    fn lifespan_chrono(&self) -> chrono::Duration {
        chrono::Duration::from_std(self.settings.lifespan)
            .unwrap_or_else(|_| chrono::Duration::days(1))
    }

    fn idle_window(&self) -> Option<chrono::Duration> {
        self.settings
            .inactivity_timeout
            .and_then(|idle| chrono::Duration::from_std(idle).ok())
    }

    /// With an inactivity timeout, a session in use lives on: its expiry
    /// moves to `now` plus the timeout (never past its authentication time
    /// plus the lifespan). The row is written only when that moves it by
    /// more than a twentieth of the timeout, so busy sessions cost few writes.
    async fn keep_alive(
        &self,
        session: &mut Session,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        let Some(idle) = self.idle_window() else {
            return Ok(());
        };
        let target = (now + idle).min(session.authenticated_at + self.lifespan_chrono());
        if target - session.expires_at > idle / 20 {
            self.store.set_expiry(session.id, target, now).await?;
            session.expires_at = target;
        }
        Ok(())
    }

    /// Issues a session for an identity that just authenticated with `method`.
    /// Returns the session (with its identity) and the clear-text token.
    pub async fn issue(
        &self,
        identity: &Identity,
        method: &str,
        device: Device,
    ) -> Result<(Session, String), SessionError> {
        if identity.state != State::Active {
            return Err(SessionError::Inactive);
        }
        let now = self.clock.now();
        let token = generate_token();
        let session = Session {
            id: Uuid::new_v4(),
            identity_id: identity.id,
            token_hash: hash_token(&token),
            active: true,
            aal: Aal::Aal1.as_str().into(),
            methods: vec![AuthMethod {
                method: method.to_owned(),
                aal: Aal::Aal1.as_str().into(),
                completed_at: now,
            }],
            devices: vec![device],
            issued_at: now,
            authenticated_at: now,
            expires_at: self.expiry(now),
            identity: Some(identity.clone()),
        };
        self.store.create(&session).await?;
        Ok((session, token))
    }

    /// Records that the owner of a session just authenticated again with
    /// `method` at level `step` (a refresh login at `aal1`, or a second
    /// factor stepping the session up to `aal2`): the session's level follows its completed steps, and its
    /// authentication time and expiry start anew. As with any login, the expiry does not wait for
    /// `earliest_possible_extend`, which only paces the admin extension.
    pub async fn refresh(
        &self,
        session: &Session,
        method: &str,
        step: Aal,
    ) -> Result<Session, SessionError> {
        let now = self.clock.now();
        let mut session = session.clone();
        session.methods.push(AuthMethod {
            method: method.to_owned(),
            aal: step.as_str().into(),
            completed_at: now,
        });
        session.aal = aal::of_session(&session.methods).as_str().into();
        session.authenticated_at = now;
        session.expires_at = self.expiry(now);
        self.store.reauthenticate(&session).await?;
        Ok(session)
    }

    /// Gives an active session a fresh token and returns it with the session
    /// (and its identity): for a session created where its token could not
    /// be shown, such as a native app's sign-in in a browser.
    pub async fn reissue_token(&self, id: Uuid) -> Result<(Session, String), SessionError> {
        let token = generate_token();
        if !self.store.replace_token(id, &hash_token(&token)).await? {
            return Err(SessionError::Inactive);
        }
        let session = self.get(id, true).await?;
        if !session.is_valid_at(self.clock.now()) {
            return Err(SessionError::Inactive);
        }
        Ok((session, token))
    }

    /// The session lifespan in force.
    pub fn lifespan(&self) -> Duration {
        self.settings.lifespan
    }

    /// The valid session a token stands for, with its identity (one statement).
    pub async fn whoami(&self, token: &str) -> Result<Session, SessionError> {
        let session = self
            .store
            .find_by_token(&hash_token(token))
            .await?
            .ok_or(SessionError::Inactive)?;
        let identity_active = session
            .identity
            .as_ref()
            .is_some_and(|i| i.state == State::Active);
        let now = self.clock.now();
        if !identity_active || !session.is_valid_at(now) {
            return Err(SessionError::Inactive);
        }
        let mut session = session;
        self.keep_alive(&mut session, now).await?;
        Ok(session)
    }

    /// Revokes the session a token stands for (logout).
    pub async fn revoke_token(&self, token: &str) -> Result<(), SessionError> {
        let session = self
            .store
            .find_by_token(&hash_token(token))
            .await?
            .filter(|s| s.active)
            .ok_or(SessionError::Inactive)?;
        self.store.deactivate(session.id, self.clock.now()).await?;
        Ok(())
    }

    /// Reads one session, with its identity when `with_identity`.
    pub async fn get(&self, id: Uuid, with_identity: bool) -> Result<Session, SessionError> {
        let mut session = self.store.get(id).await?.ok_or(SessionError::NotFound)?;
        if with_identity {
            session.identity = self.identities.get(session.identity_id).await?;
        }
        Ok(session)
    }

    /// Lists sessions, with their identities when `with_identity`.
    pub async fn list(
        &self,
        query: &SessionQuery,
        with_identity: bool,
    ) -> Result<SessionPage, SessionError> {
        let mut page = self.store.list(query).await?;
        if with_identity && !page.sessions.is_empty() {
            let mut ids: Vec<Uuid> = page.sessions.iter().map(|s| s.identity_id).collect();
            ids.sort_unstable();
            ids.dedup();
            let identities = self
                .identities
                .list(&IdentityQuery {
                    page_size: ids.len() as u32,
                    ids,
                    ..IdentityQuery::default()
                })
                .await?
                .identities;
            for session in &mut page.sessions {
                session.identity = identities
                    .iter()
                    .find(|i| i.id == session.identity_id)
                    .cloned();
            }
        }
        Ok(page)
    }

    /// Lists the sessions of one identity; `NotFound` when it does not exist.
    pub async fn list_for_identity(
        &self,
        identity_id: Uuid,
        query: SessionQuery,
    ) -> Result<SessionPage, SessionError> {
        self.require_identity(identity_id).await?;
        self.list(
            &SessionQuery {
                identity_id: Some(identity_id),
                ..query
            },
            false,
        )
        .await
    }

    async fn require_identity(&self, identity_id: Uuid) -> Result<(), SessionError> {
        self.identities
            .get(identity_id)
            .await?
            .map(drop)
            .ok_or(SessionError::NotFound)
    }

    /// Revokes one session by id.
    pub async fn disable(&self, id: Uuid) -> Result<(), SessionError> {
        if self.store.deactivate(id, self.clock.now()).await? {
            Ok(())
        } else {
            Err(SessionError::NotFound)
        }
    }

    /// Extends a session to last the configured lifespan from now, once it
    /// is close enough to its expiry ([`SessionSettings::may_extend`]);
    /// before that the call changes nothing. Returns the session as it then
    /// is, with its identity.
    pub async fn extend(&self, id: Uuid) -> Result<Session, SessionError> {
        let now = self.clock.now();
        let mut session = self.store.get(id).await?.ok_or(SessionError::NotFound)?;
        if self.settings.may_extend(session.expires_at, now) {
            let expires_at = self.expiry(now);
            if !self.store.set_expiry(id, expires_at, now).await? {
                return Err(SessionError::NotFound);
            }
            session.expires_at = expires_at;
        }
        session.identity = self.identities.get(session.identity_id).await?;
        Ok(session)
    }

    /// Disables or deletes sessions in bulk (`POST /admin/sessions`). With
    /// [`BulkTarget::All`] at most [`BULK_LIMIT`] rows change per call and the
    /// answer says whether more remain.
    pub async fn manage(
        &self,
        target: BulkTarget,
        delete: bool,
    ) -> Result<BulkOutcome, SessionError> {
        let now = self.clock.now();
        let change = |ids, by_identity| BulkChange {
            ids,
            by_identity,
            delete,
            now,
        };
        let (processed, more) = match target {
            BulkTarget::Sessions(ids) => (self.store.manage(&change(&ids, false)).await?, false),
            BulkTarget::Identities(ids) => (self.store.manage(&change(&ids, true)).await?, false),
            BulkTarget::All => {
                let ids = self.store.some_ids(!delete, BULK_LIMIT).await?;
                let processed = self.store.manage(&change(&ids, false)).await?;
                (processed, ids.len() == BULK_LIMIT as usize)
            }
        };
        Ok(BulkOutcome { processed, more })
    }

    /// Deletes every session of an identity.
    pub async fn delete_for_identity(&self, identity_id: Uuid) -> Result<u64, SessionError> {
        self.require_identity(identity_id).await?;
        Ok(self.store.delete_for_identity(identity_id).await?)
    }

    /// The caller's other sessions.
    pub async fn list_mine(
        &self,
        current: &Session,
        query: SessionQuery,
    ) -> Result<SessionPage, SessionError> {
        self.list(
            &SessionQuery {
                identity_id: Some(current.identity_id),
                except: Some(current.id),
                active: Some(true),
                ..query
            },
            false,
        )
        .await
    }

    /// Revokes every other session of the caller; returns how many.
    pub async fn revoke_others(&self, current: &Session) -> Result<u64, SessionError> {
        Ok(self
            .store
            .deactivate_for_identity(current.identity_id, Some(current.id), self.clock.now())
            .await?)
    }

    /// Revokes one other session of the caller.
    pub async fn revoke_mine(&self, current: &Session, id: Uuid) -> Result<(), SessionError> {
        if id == current.id {
            return Err(SessionError::CurrentSession);
        }
        let target = self.store.get(id).await?.ok_or(SessionError::NotFound)?;
        if target.identity_id != current.identity_id {
            return Err(SessionError::NotFound);
        }
        self.disable(id).await
    }
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;
    use serde_json::json;

    use super::*;
    use crate::store::{Database, Dsn, SqlIdentityStore, SqlSessionStore};
    use crate::time::ManualClock;

    const HOUR: Duration = Duration::from_secs(3600);
    const MINUTE: Duration = Duration::from_secs(60);

    fn hours(n: i64) -> chrono::Duration {
        chrono::Duration::hours(n)
    }

    fn minutes(n: i64) -> chrono::Duration {
        chrono::Duration::minutes(n)
    }

    fn start() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 1, 2, 3, 4, 5).unwrap()
    }

    #[test]
    fn a_session_may_be_extended_once_within_the_window() {
        let settings = SessionSettings {
            lifespan: 24 * HOUR,
            earliest_possible_extend: HOUR,
            inactivity_timeout: None,
        };
        let now = start();
        assert!(!settings.may_extend(now + hours(24), now), "fresh");
        assert!(!settings.may_extend(now + hours(1) + chrono::Duration::microseconds(1), now));
        assert!(settings.may_extend(now + hours(1), now), "at the edge");
        assert!(settings.may_extend(now + minutes(59), now));
        assert!(settings.may_extend(now - hours(1), now), "expired");
    }

    #[test]
    fn by_default_any_session_may_be_extended() {
        let now = start();
        let settings = SessionSettings {
            lifespan: 24 * HOUR,
            earliest_possible_extend: 24 * HOUR,
            inactivity_timeout: None,
        };
        assert!(
            settings.may_extend(now + hours(24), now),
            "issued this instant"
        );
        let unbounded = SessionSettings {
            earliest_possible_extend: Duration::MAX,
            ..settings
        };
        assert!(unbounded.may_extend(now + hours(24 * 365 * 100), now));
    }

    async fn service(
        clock: Arc<ManualClock>,
        settings: SessionSettings,
    ) -> (SessionService, Identity) {
        let db = Database::connect(&Dsn::parse("memory").unwrap())
            .await
            .unwrap();
        db.migrate_up().await.unwrap();
        let identities: Arc<dyn IdentityStore> = Arc::new(SqlIdentityStore::new(db.clone()));
        let now = clock.now();
        let identity = Identity::new("default".into(), json!({"email": "clock@example.org"}), now);
        identities.create(&identity).await.unwrap();
        let service = SessionService::new(
            Arc::new(SqlSessionStore::new(db)),
            identities,
            clock,
            settings,
        );
        (service, identity)
    }

    fn device() -> Device {
        Device {
            id: Uuid::new_v4(),
            ip_address: None,
            user_agent: None,
            location: None,
        }
    }

    /// A service with these settings on a manual clock at `start()`, and a
    /// session it issued then.
    async fn issued_with(
        settings: SessionSettings,
    ) -> (Arc<ManualClock>, SessionService, Identity, Session) {
        let clock = Arc::new(ManualClock::new(start()));
        let (sessions, identity) = service(clock.clone(), settings).await;
        let (issued, _) = sessions
            .issue(&identity, "password", device())
            .await
            .unwrap();
        (clock, sessions, identity, issued)
    }

    #[tokio::test]
    async fn extend_waits_for_the_window_and_refresh_does_not() {
        let (clock, sessions, identity, issued) = issued_with(SessionSettings {
            lifespan: 24 * HOUR,
            earliest_possible_extend: HOUR,
            inactivity_timeout: None,
        })
        .await;
        assert_eq!(issued.expires_at, start() + hours(24));

        // 23h30m left: too early, nothing changes.
        clock.advance(minutes(30));
        let early = sessions.extend(issued.id).await.unwrap();
        assert_eq!(early.expires_at, issued.expires_at);
        assert_eq!(early.identity.map(|i| i.id), Some(identity.id));
        let stored = sessions.get(issued.id, false).await.unwrap();
        assert_eq!(stored.expires_at, issued.expires_at);

        // 30m left: within the hour, a full lifespan from now.
        clock.advance(hours(23));
        let extended = sessions.extend(issued.id).await.unwrap();
        assert_eq!(extended.expires_at, clock.now() + hours(24));
        let stored = sessions.get(issued.id, false).await.unwrap();
        assert_eq!(stored.expires_at, extended.expires_at);

        // Right after, it is far from its end again.
        clock.advance(minutes(1));
        let again = sessions.extend(issued.id).await.unwrap();
        assert_eq!(again.expires_at, extended.expires_at);

        // A refresh login renews the expiry whatever the window says.
        clock.advance(minutes(1));
        let refreshed = sessions
            .refresh(&stored, "password", Aal::Aal1)
            .await
            .unwrap();
        assert_eq!(refreshed.expires_at, clock.now() + hours(24));
        let stored = sessions.get(issued.id, false).await.unwrap();
        assert_eq!(stored.expires_at, refreshed.expires_at);
        assert_eq!(stored.authenticated_at, clock.now());

        assert!(matches!(
            sessions.extend(Uuid::new_v4()).await,
            Err(SessionError::NotFound)
        ));
    }

    #[tokio::test]
    async fn extend_by_default_always_applies() {
        let (clock, sessions, _identity, issued) = issued_with(SessionSettings {
            lifespan: HOUR,
            earliest_possible_extend: HOUR,
            inactivity_timeout: None,
        })
        .await;
        clock.advance(chrono::Duration::seconds(1));
        let extended = sessions.extend(issued.id).await.unwrap();
        assert_eq!(extended.expires_at, clock.now() + hours(1));
        assert!(extended.expires_at > issued.expires_at);
    }

    #[tokio::test]
    async fn an_idle_session_ends_and_a_used_one_lives_to_its_lifespan() {
        let clock = Arc::new(ManualClock::new(start()));
        let (sessions, identity) = service(
            clock.clone(),
            SessionSettings {
                lifespan: 2 * HOUR,
                earliest_possible_extend: 2 * HOUR,
                inactivity_timeout: Some(30 * MINUTE),
            },
        )
        .await;
        let (issued, token) = sessions
            .issue(&identity, "password", device())
            .await
            .unwrap();
        assert_eq!(issued.expires_at, start() + minutes(30));
        // Used after 20 minutes: 30 more from now.
        clock.advance(minutes(20));
        let used = sessions.whoami(&token).await.unwrap();
        assert_eq!(used.expires_at, start() + minutes(50));
        assert_eq!(
            sessions.get(issued.id, false).await.unwrap().expires_at,
            used.expires_at
        );
        // A minute later the move would be small: no write.
        clock.advance(minutes(1));
        sessions.whoami(&token).await.unwrap();
        let stored = sessions.get(issued.id, false).await.unwrap();
        assert_eq!(stored.expires_at, start() + minutes(50));
        // Used every 25 minutes, it lives until its lifespan ends, not longer.
        for _ in 0..3 {
            clock.advance(minutes(25));
            sessions.whoami(&token).await.unwrap();
        }
        let stored = sessions.get(issued.id, false).await.unwrap();
        assert_eq!(stored.expires_at, start() + hours(2));
        clock.advance(minutes(25));
        assert!(matches!(
            sessions.whoami(&token).await,
            Err(SessionError::Inactive)
        ));
        // Left alone past the timeout, a fresh session ends.
        let (_, idle) = sessions
            .issue(&identity, "password", device())
            .await
            .unwrap();
        clock.advance(minutes(31));
        assert!(matches!(
            sessions.whoami(&idle).await,
            Err(SessionError::Inactive)
        ));
    }
}
