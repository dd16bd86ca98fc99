//! Staff sign-in: password, then a mandatory second factor, with throttling.
//!
//! A browser session carries a `SessionAuth`: who, which session epoch, and
//! how far through sign-in they are. Only a session at `Active` becomes an
//! `Actor` that may call anything else; every other stage answers with the
//! error that tells the page where to go next. Bumping the account's epoch
//! (sign out everywhere, disable) invalidates every session at once.

pub mod credentials;
pub mod password;
pub mod permissions;
pub mod throttle;
pub mod totp;

use payquest_types::StaffUserId;
use std::time::{SystemTime, UNIX_EPOCH};

use payquest_types::{Me, MfaEnrolment, SessionStage};
use serde::{Deserialize, Serialize};

use crate::audit::{AuditActor, AuditRecord};
use crate::clock::now_ms;
use crate::limits::{CODE_MAX_CHARS, EMAIL_MAX_CHARS};
use crate::store::{DynStore, StaffRecord, StoreError};
use crate::{DomainError, DomainResult};

pub use credentials::{Email, Password};
pub use permissions::{Actor, Permission};
use throttle::{Key, Throttle};

/// Throttle scopes: password guesses and code guesses are counted apart, so a
/// colleague's two steps of one sign-in don't count twice against an IP.
const PASSWORD_SCOPE: &str = "signin";
const CODE_SCOPE: &str = "code";

/// What a browser session knows about its sign-in. Kept server-side.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SessionAuth {
    pub user_id: StaffUserId,
    pub epoch: i64,
    pub stage: SessionStage,
    pub started_at_ms: i64,
}

#[derive(Debug, Clone, Copy)]
pub struct SessionPolicy {
    /// However active a session is, it ends this long after sign-in.
    pub absolute_lifetime_ms: i64,
}

pub struct Auth {
    store: DynStore,
    throttle: Throttle,
    policy: SessionPolicy,
}

fn unix_now_s() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

fn actor_for(email: &str, user_id: Option<StaffUserId>, ip: Option<&str>) -> AuditActor {
    AuditActor {
        user_id,
        label: email.chars().take(EMAIL_MAX_CHARS).collect(),
        ip: ip.map(str::to_owned),
    }
}

/// The stage after a password is accepted.
fn stage_after_password(user: &StaffRecord) -> SessionStage {
    if user.totp_confirmed {
        SessionStage::SecondFactor
    } else if user.must_change_password {
        SessionStage::ChangePassword
    } else {
        SessionStage::EnrolMfa
    }
}

impl Auth {
    /// How long sessions last (gamer sessions too).
    pub fn policy(&self) -> SessionPolicy {
        self.policy
    }

    pub fn new(store: DynStore, policy: SessionPolicy) -> Self {
        Self::with_throttle(store, policy, Throttle::new())
    }

    /// With shared (e.g. Redis) counters, so every replica sees every guess.
    pub fn with_throttle(store: DynStore, policy: SessionPolicy, throttle: Throttle) -> Self {
        password::warm_up();
        Self {
            store,
            throttle,
            policy,
        }
    }

    pub fn store(&self) -> &DynStore {
        &self.store
    }

    /// Wallet sign-in attempts from one client address: at most
    /// `WALLET_SIGN_INS_PER_MINUTE` a minute, counted across replicas
    /// (Redis when configured), else `Throttled` with the wait.
    pub async fn limit_wallet_sign_in(&self, ip: Option<&str>) -> DomainResult<()> {
        let key = format!("siwe:{}", ip.unwrap_or("unknown"));
        match self
            .throttle
            .rate(
                &key,
                crate::limits::WALLET_SIGN_INS_PER_MINUTE,
                60_000,
                now_ms(),
            )
            .await
        {
            None => Ok(()),
            Some(wait_ms) => Err(DomainError::Throttled {
                retry_after_s: (wait_ms + 999) / 1000,
            }),
        }
    }

    fn throttle_keys(scope: &str, account: &str, ip: Option<&str>) -> Vec<Key> {
        let mut keys = vec![Key::account(scope, account)];
        keys.extend(ip.map(|ip| Key::ip(scope, ip)));
        keys
    }

    /// Takes this attempt's slot before any secret is checked; refuses with
    /// the wait (and audits the refusal) when the account or IP must wait.
    async fn take_slot(&self, scope: &str, account: &str, ip: Option<&str>) -> DomainResult<()> {
        let keys = Self::throttle_keys(scope, account, ip);
        let Some(wait_ms) = self.throttle.take(&keys, now_ms()).await else {
            return Ok(());
        };
        let retry_after_s = (wait_ms + 999) / 1000;
        tracing::warn!(retry_after_s, "sign-in attempt throttled");
        // Audited, but at most once a minute per account and scope, so a
        // flood of guesses can't fill the audit log.
        let cap_key = format!("audit:{scope}:{account}");
        if self
            .throttle
            .rate(&cap_key, 1, 60_000, now_ms())
            .await
            .is_none()
        {
            let audit = AuditRecord::new(
                &actor_for(account, None, ip),
                "auth.throttled",
                format!("staff:{account}"),
            )
            .after(&serde_json::json!({ "scope": scope, "retry_after_s": retry_after_s }));
            self.store.append_audit(&audit).await?;
        }
        Err(DomainError::Throttled { retry_after_s })
    }

    /// Audits a request the roles refused, at most once a minute per person
    /// and path, so a flood of probes can't fill the audit log. Failures to
    /// write are logged, not returned: the refusal itself already happened.
    pub async fn audit_refusal(&self, who: &AuditActor, path: &str) {
        crate::audit::audit_refusal(&self.store, &self.throttle, who, path).await;
    }

    async fn slot_succeeded(&self, scope: &str, account: &str, ip: Option<&str>) {
        let keys = Self::throttle_keys(scope, account, ip);
        self.throttle.succeeded(&keys[0], keys.get(1)).await;
    }

    async fn record_failure(
        &self,
        account: &str,
        user_id: Option<StaffUserId>,
        ip: Option<&str>,
        action: &'static str,
    ) -> DomainResult<()> {
        let actor = actor_for(account, user_id, ip);
        self.store
            .append_audit(&AuditRecord::new(
                &actor,
                action,
                format!("staff:{account}"),
            ))
            .await?;
        Ok(())
    }

    /// Checks email and password. Unknown accounts, disabled accounts and wrong
    /// passwords give the same error after the same work.
    #[tracing::instrument(skip_all)]
    pub async fn sign_in(
        &self,
        email: &str,
        password: String,
        ip: Option<&str>,
    ) -> DomainResult<SessionAuth> {
        let account: String = email
            .trim()
            .to_lowercase()
            .chars()
            .take(EMAIL_MAX_CHARS)
            .collect();
        self.take_slot(PASSWORD_SCOPE, &account, ip).await?;
        let password = Password::for_sign_in(password)?;
        let user = match Email::parse(email) {
            Ok(e) => self.store.staff_by_email(e.as_str()).await?,
            Err(_) => None,
        };
        let ok =
            password::verify(&password, user.as_ref().map(|u| u.password_hash.clone())).await?;
        let user = match user {
            Some(u) if ok && !u.disabled => u,
            other => {
                self.record_failure(
                    &account,
                    other.map(|u| u.staff_user_id),
                    ip,
                    "auth.sign_in_failed",
                )
                .await?;
                return Err(DomainError::InvalidCredentials);
            }
        };
        self.slot_succeeded(PASSWORD_SCOPE, &account, ip).await;
        let stage = stage_after_password(&user);
        self.store
            .append_audit(&AuditRecord::new(
                &actor_for(&user.email, Some(user.staff_user_id), ip),
                "auth.password_accepted",
                format!("staff:{}", user.staff_user_id),
            ))
            .await?;
        Ok(SessionAuth {
            user_id: user.staff_user_id,
            epoch: user.session_epoch,
            stage,
            started_at_ms: now_ms(),
        })
    }

    /// Loads the account behind a session and checks the session is still
    /// valid: account enabled, epoch current, absolute lifetime not passed.
    pub async fn resolve(&self, session: &SessionAuth) -> DomainResult<StaffRecord> {
        if now_ms() - session.started_at_ms > self.policy.absolute_lifetime_ms {
            return Err(DomainError::Unauthenticated);
        }
        match self.store.staff_by_id(session.user_id).await? {
            Some(u) if !u.disabled && u.session_epoch == session.epoch => Ok(u),
            _ => Err(DomainError::Unauthenticated),
        }
    }

    async fn resolve_at(
        &self,
        session: &SessionAuth,
        stage: SessionStage,
    ) -> DomainResult<StaffRecord> {
        let user = self.resolve(session).await?;
        if session.stage != stage {
            return Err(stage_error(session.stage));
        }
        Ok(user)
    }

    /// The actor for a fully signed-in session, or the error naming the next step.
    pub async fn actor(&self, session: &SessionAuth, ip: Option<&str>) -> DomainResult<Actor> {
        let user = self.resolve(session).await?;
        if session.stage != SessionStage::Active {
            return Err(stage_error(session.stage));
        }
        Ok(Actor {
            user_id: user.staff_user_id,
            email: user.email,
            roles: user.roles.into_iter().collect(),
            ip: ip.map(str::to_owned),
            via: None,
        })
    }

    pub async fn me(&self, session: &SessionAuth) -> DomainResult<Me> {
        let user = self.resolve(session).await?;
        let actor = Actor {
            user_id: user.staff_user_id,
            email: user.email.clone(),
            roles: user.roles.iter().copied().collect(),
            ip: None,
            via: None,
        };
        let (areas, waiting) = if session.stage == SessionStage::Active {
            (
                actor.areas(),
                crate::work::waiting_for(&self.store, &actor).await?,
            )
        } else {
            (Vec::new(), Vec::new())
        };
        Ok(Me {
            user_id: user.staff_user_id,
            email: user.email,
            display_name: user.display_name,
            roles: user.roles,
            stage: session.stage,
            areas,
            waiting,
        })
    }

    async fn audit_sign_in(&self, user: &StaffRecord, ip: Option<&str>) -> DomainResult<()> {
        self.store
            .append_audit(&AuditRecord::new(
                &actor_for(&user.email, Some(user.staff_user_id), ip),
                "auth.sign_in",
                format!("staff:{}", user.staff_user_id),
            ))
            .await?;
        Ok(())
    }

    /// Moves a session on after a password change or enrolment.
    fn advance(&self, session: &SessionAuth, user: &StaffRecord, must_change: bool) -> SessionAuth {
        let stage = if must_change {
            SessionStage::ChangePassword
        } else if !user.totp_confirmed {
            SessionStage::EnrolMfa
        } else {
            SessionStage::Active
        };
        SessionAuth {
            stage,
            ..session.clone()
        }
    }

    /// Accepts a TOTP code (once) or an unused recovery code.
    #[tracing::instrument(skip_all, fields(user_id = %session.user_id))]
    pub async fn second_factor(
        &self,
        session: &SessionAuth,
        code: &str,
        ip: Option<&str>,
    ) -> DomainResult<SessionAuth> {
        let user = self.resolve_at(session, SessionStage::SecondFactor).await?;
        self.take_slot(CODE_SCOPE, &user.email, ip).await?;
        let accepted = if code.len() > CODE_MAX_CHARS {
            false
        } else if code.trim().len() == 6 {
            let secret = crate::sealed::open(
                user.totp_secret
                    .as_deref()
                    .ok_or(DomainError::InvalidCode)?,
            )?;
            match totp::matching_step(&secret, code, unix_now_s())? {
                Some(step) => {
                    self.store
                        .accept_totp_step(user.staff_user_id, step)
                        .await?
                }
                None => false,
            }
        } else {
            let hash = totp::hash_recovery_code(user.staff_user_id, code);
            let mut used = self
                .store
                .use_recovery_code(user.staff_user_id, &hash, now_ms())
                .await?;
            if !used {
                used = self
                    .store
                    .use_recovery_code(
                        user.staff_user_id,
                        &totp::legacy_hash_recovery_code(code),
                        now_ms(),
                    )
                    .await?;
            }
            if used {
                self.store
                    .append_audit(&AuditRecord::new(
                        &actor_for(&user.email, Some(user.staff_user_id), ip),
                        "auth.recovery_code_used",
                        format!("staff:{}", user.staff_user_id),
                    ))
                    .await?;
            }
            used
        };
        if !accepted {
            self.record_failure(
                &user.email,
                Some(user.staff_user_id),
                ip,
                "auth.second_factor_failed",
            )
            .await?;
            return Err(DomainError::InvalidCode);
        }
        self.slot_succeeded(CODE_SCOPE, &user.email, ip).await;
        let next = self.advance(session, &user, user.must_change_password);
        if next.stage == SessionStage::Active {
            self.audit_sign_in(&user, ip).await?;
        }
        Ok(next)
    }

    /// Replaces a one-time password with one the user chose.
    pub async fn change_password(
        &self,
        session: &SessionAuth,
        new_password: String,
        ip: Option<&str>,
    ) -> DomainResult<SessionAuth> {
        let user = self
            .resolve_at(session, SessionStage::ChangePassword)
            .await?;
        let password = Password::new_choice(new_password)?;
        let hash = password::hash(&password).await?;
        let actor = actor_for(&user.email, Some(user.staff_user_id), ip);
        self.store
            .set_password(
                user.staff_user_id,
                &hash,
                false,
                &AuditRecord::new(
                    &actor,
                    "auth.password_changed",
                    format!("staff:{}", user.staff_user_id),
                ),
            )
            .await?;
        let next = self.advance(session, &user, false);
        if next.stage == SessionStage::Active {
            self.audit_sign_in(&user, ip).await?;
        }
        Ok(next)
    }

    /// Starts (or shows again) enrolment of an authenticator app.
    pub async fn begin_enrolment(&self, session: &SessionAuth) -> DomainResult<MfaEnrolment> {
        let user = self.resolve_at(session, SessionStage::EnrolMfa).await?;
        // Stored sealed (see `sealed`): the database alone gives no seed.
        let secret = match user.totp_secret {
            Some(s) => crate::sealed::open(&s)?,
            None => {
                let fresh = totp::generate_secret_base32();
                match self
                    .store
                    .set_pending_totp(user.staff_user_id, &crate::sealed::seal(&fresh)?)
                    .await
                {
                    Ok(()) => fresh,
                    // Another request started enrolment first: show its secret.
                    Err(StoreError::Conflict(_)) => crate::sealed::open(
                        &self
                            .store
                            .staff_by_id(user.staff_user_id)
                            .await?
                            .and_then(|u| u.totp_secret)
                            .ok_or(DomainError::Unauthenticated)?,
                    )?,
                    Err(e) => return Err(e.into()),
                }
            }
        };
        let url = totp::otpauth_url(&secret, &user.email)?;
        Ok(MfaEnrolment {
            qr_svg: totp::qr_svg(&url)?,
            otpauth_url: url,
            secret_base32: secret,
        })
    }

    /// Confirms enrolment with a first code; returns the recovery codes, shown once.
    pub async fn confirm_enrolment(
        &self,
        session: &SessionAuth,
        code: &str,
        ip: Option<&str>,
    ) -> DomainResult<(SessionAuth, Vec<String>)> {
        let user = self.resolve_at(session, SessionStage::EnrolMfa).await?;
        self.take_slot(CODE_SCOPE, &user.email, ip).await?;
        let secret = crate::sealed::open(
            user.totp_secret
                .as_deref()
                .ok_or(DomainError::InvalidCode)?,
        )?;
        let step = if code.len() > CODE_MAX_CHARS {
            None
        } else {
            totp::matching_step(&secret, code, unix_now_s())?
        };
        let Some(step) = step else {
            self.record_failure(
                &user.email,
                Some(user.staff_user_id),
                ip,
                "auth.mfa_enrolment_failed",
            )
            .await?;
            return Err(DomainError::InvalidCode);
        };
        self.slot_succeeded(CODE_SCOPE, &user.email, ip).await;
        let codes = totp::generate_recovery_codes();
        let hashes: Vec<String> = codes
            .iter()
            .map(|c| totp::hash_recovery_code(user.staff_user_id, c))
            .collect();
        let actor = actor_for(&user.email, Some(user.staff_user_id), ip);
        let confirmed = self
            .store
            .confirm_totp(
                user.staff_user_id,
                step,
                &hashes,
                &AuditRecord::new(
                    &actor,
                    "auth.mfa_enrolled",
                    format!("staff:{}", user.staff_user_id),
                ),
            )
            .await?;
        if !confirmed {
            return Err(DomainError::InvalidCode);
        }
        let user = StaffRecord {
            totp_confirmed: true,
            ..user
        };
        let next = self.advance(session, &user, user.must_change_password);
        if next.stage == SessionStage::Active {
            self.audit_sign_in(&user, ip).await?;
        }
        Ok((next, codes))
    }

    /// Ends every session of the actor's account, this one included.
    pub async fn sign_out_everywhere(&self, actor: &Actor) -> DomainResult<()> {
        self.store
            .bump_session_epoch(
                actor.user_id,
                &AuditRecord::new(
                    &actor.audit_actor(),
                    "auth.signed_out_everywhere",
                    format!("staff:{}", actor.user_id),
                ),
            )
            .await?;
        Ok(())
    }

    /// Records a plain sign-out of this session.
    pub async fn sign_out(&self, session: &SessionAuth, ip: Option<&str>) -> DomainResult<()> {
        if let Ok(user) = self.resolve(session).await {
            self.store
                .append_audit(&AuditRecord::new(
                    &actor_for(&user.email, Some(user.staff_user_id), ip),
                    "auth.signed_out",
                    format!("staff:{}", user.staff_user_id),
                ))
                .await?;
        }
        Ok(())
    }
}

fn stage_error(stage: SessionStage) -> DomainError {
    match stage {
        SessionStage::SecondFactor => DomainError::MfaRequired,
        SessionStage::ChangePassword => DomainError::PasswordChangeRequired,
        SessionStage::EnrolMfa => DomainError::MfaEnrolmentRequired,
        SessionStage::Active => DomainError::Unauthenticated,
    }
}
