//! Server-only glue for server functions: the shared state, the browser
//! session, and the mapping from domain errors to HTTP statuses. Server
//! functions stay thin: authorise, parse, call the domain, map to a DTO.

use std::net::SocketAddr;
use std::sync::Arc;

use axum::extract::ConnectInfo;
use axum::http::StatusCode;
use leptos::prelude::*;
use leptos_axum::ResponseOptions;
use payquest_domain::session::{Actor, Auth, SessionAuth};
use payquest_domain::store::DynStore;
use payquest_domain::users::Users;
use payquest_domain::DomainError;
use payquest_types::SessionStage;
use tower_sessions::Session;

use crate::error::AppError;

const SESSION_AUTH_KEY: &str = "auth";
/// What the last form post outside a server function (an upload) came to,
/// shown once by the page it returns to.
const FLASH_KEY: &str = "flash";
/// A signed-in gamer's record in the gamer session (its own cookie and
/// store rows, apart from the staff session).
const GAMER_SESSION_KEY: &str = "gamer";

/// The gamer's browser session (cookie `pq_gamer`), apart from the staff
/// session: the server's gamer session layer puts it in the request under
/// this type, so nothing that reads the staff `Session` ever sees it.
#[derive(Clone)]
pub struct GamerSessionHandle(pub Session);

/// What the server provides to every page render and server function.
#[derive(Clone)]
pub struct AppState {
    pub store: DynStore,
    pub auth: Arc<Auth>,
    pub users: Arc<Users>,
    pub budgets: Arc<payquest_domain::budgets::Budgets>,
    pub campaigns: Arc<payquest_domain::campaigns::Campaigns>,
    pub insights: Arc<payquest_domain::insights::Insights>,
    pub reviews: Arc<payquest_domain::review::Reviews>,
    pub api_clients: Arc<payquest_domain::api_clients::ApiClients>,
    pub activities: Arc<payquest_domain::activities::Activities>,
    pub payouts: Arc<payquest_domain::payouts::Payouts>,
    pub gamers: Arc<payquest_domain::gamers::Gamers>,
    pub leaderboards: Arc<payquest_domain::leaderboards::Leaderboards>,
    pub content: Arc<payquest_domain::content::Content>,
    pub webhooks: Arc<payquest_domain::webhooks::Webhooks>,
    pub media: Arc<payquest_domain::media::Media>,
    /// `https://explorer/tx/{hash}`: where a transaction hash links to.
    pub explorer_tx_url: Option<String>,
    /// What a gamer's Sign-In with Ethereum message must name: our origin
    /// (`PAYQUEST_PUBLIC_URL`) and chain.
    pub siwe: payquest_domain::siwe::Expectations,
}

impl AppState {
    pub fn new(store: DynStore, auth: Auth) -> Self {
        Self {
            gamers: Arc::new(payquest_domain::gamers::Gamers::new(
                store.clone(),
                auth.policy().absolute_lifetime_ms,
            )),
            leaderboards: Arc::new(payquest_domain::leaderboards::Leaderboards::new(
                store.clone(),
            )),
            auth: Arc::new(auth),
            users: Arc::new(Users::new(store.clone())),
            budgets: Arc::new(payquest_domain::budgets::Budgets::new(store.clone())),
            campaigns: Arc::new(payquest_domain::campaigns::Campaigns::new(store.clone())),
            insights: Arc::new(payquest_domain::insights::Insights::new(store.clone())),
            reviews: Arc::new(payquest_domain::review::Reviews::new(store.clone())),
            api_clients: Arc::new(payquest_domain::api_clients::ApiClients::new(store.clone())),
            activities: Arc::new(payquest_domain::activities::Activities::new(store.clone())),
            payouts: Arc::new(payquest_domain::payouts::Payouts::new(
                store.clone(),
                payquest_domain::payouts::PayoutSettings::default(),
            )),
            content: Arc::new(payquest_domain::content::Content::new(store.clone())),
            webhooks: Arc::new(payquest_domain::webhooks::Webhooks::new(
                store.clone(),
                None,
            )),
            media: Arc::new(payquest_domain::media::Media::in_memory(store.clone())),
            explorer_tx_url: None,
            siwe: payquest_domain::siwe::Expectations {
                scheme: "http".into(),
                domain: "127.0.0.1:3000".into(),
                chain_id: 31_337,
            },
            store,
        }
    }

    /// Payout rules from configuration, and where transaction hashes link to.
    pub fn with_payouts(
        mut self,
        settings: payquest_domain::payouts::PayoutSettings,
        explorer_tx_url: Option<String>,
        chain: Option<Arc<payquest_domain::chain::Chain>>,
    ) -> Self {
        let payouts = payquest_domain::payouts::Payouts::new(self.store.clone(), settings);
        self.payouts = Arc::new(match chain {
            Some(chain) => payouts.with_chain(chain),
            None => payouts,
        });
        self.explorer_tx_url = explorer_tx_url;
        self
    }

    /// Reads that tolerate lag (owners' figures and charts, staff's activity
    /// lists, leaderboard rankings) go to `reads`, a read replica; every
    /// money decision, and everything else, stays on the primary.
    pub fn with_read_replica(mut self, reads: DynStore) -> Self {
        self.insights = Arc::new(payquest_domain::insights::Insights::new(reads.clone()));
        self.activities = Arc::new(
            payquest_domain::activities::Activities::new(self.store.clone())
                .reading_lists_from(reads.clone()),
        );
        self.leaderboards = Arc::new(
            payquest_domain::leaderboards::Leaderboards::new(self.store.clone())
                .reading_from(reads),
        );
        self
    }

    /// The origin and chain a gamer's sign-in message must name.
    pub fn with_siwe(mut self, expect: payquest_domain::siwe::Expectations) -> Self {
        self.siwe = expect;
        self
    }

    /// The CMS as configured: its cache, webhooks and media store.
    pub fn with_content(
        mut self,
        content: Arc<payquest_domain::content::Content>,
        webhooks: Arc<payquest_domain::webhooks::Webhooks>,
        media: Arc<payquest_domain::media::Media>,
    ) -> Self {
        self.content = content;
        self.webhooks = webhooks;
        self.media = media;
        self
    }
}

fn state() -> Result<AppState, AppError> {
    use_context::<AppState>().ok_or_else(|| {
        fail(DomainError::Internal(
            "AppState missing from context".into(),
        ))
    })
}

/// The signed-in staff member of the current server-function call.
#[derive(Clone)]
struct CurrentActor(payquest_domain::audit::AuditActor);

/// Maps a domain error to the client's error and sets the response status.
/// Internal errors are logged here (inside the request's span, so with its id).
pub fn fail(e: DomainError) -> AppError {
    if let DomainError::Internal(detail) = &e {
        tracing::error!(error = %detail, "internal error in server function");
    }
    if matches!(e, DomainError::Forbidden | DomainError::FourEyes(_)) {
        // A refused attempt is audited (capped in the domain, so probing
        // can't fill the log); the write happens beside the answer.
        if let (Some(state), Some(CurrentActor(who))) =
            (use_context::<AppState>(), use_context::<CurrentActor>())
        {
            let path = use_context::<axum::http::request::Parts>()
                .map(|p| p.uri.path().to_owned())
                .unwrap_or_default();
            tokio::spawn(async move { state.auth.audit_refusal(&who, &path).await });
        }
    }
    let api = e.to_api();
    if let Some(res) = use_context::<ResponseOptions>() {
        res.set_status(
            StatusCode::from_u16(api.code.http_status())
                .unwrap_or(StatusCode::INTERNAL_SERVER_ERROR),
        );
        if let DomainError::Throttled { retry_after_s } = &e {
            if let Ok(v) = axum::http::HeaderValue::from_str(&retry_after_s.to_string()) {
                res.insert_header(axum::http::header::RETRY_AFTER, v);
            }
        }
    }
    AppError(api)
}

/// `?` on a domain result in a server function maps through `fail` (the
/// code, the status, the audit of a refusal).
impl From<DomainError> for AppError {
    fn from(e: DomainError) -> Self {
        fail(e)
    }
}

async fn gamer_session() -> Result<Session, AppError> {
    leptos_axum::extract::<axum::Extension<GamerSessionHandle>>()
        .await
        .map(|axum::Extension(GamerSessionHandle(s))| s)
        .map_err(|e| {
            fail(DomainError::Internal(
                format!("gamer session layer: {e}").into(),
            ))
        })
}

async fn session() -> Result<Session, AppError> {
    leptos_axum::extract::<Session>()
        .await
        .map_err(|e| fail(DomainError::Internal(format!("session layer: {e}").into())))
}

/// The client's address as the server's proxy rules resolved it (the peer
/// itself unless it is a trusted proxy).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClientIp(pub std::net::IpAddr);

pub async fn client_ip() -> Option<String> {
    if let Ok(axum::Extension(ClientIp(ip))) =
        leptos_axum::extract::<axum::Extension<ClientIp>>().await
    {
        return Some(ip.to_string());
    }
    leptos_axum::extract::<ConnectInfo<SocketAddr>>()
        .await
        .ok()
        .map(|ConnectInfo(addr)| addr.ip().to_string())
}

pub struct Ctx {
    pub state: AppState,
    pub session: Session,
    pub ip: Option<String>,
}

impl Ctx {
    pub async fn load() -> Result<Ctx, AppError> {
        Ok(Ctx {
            state: state()?,
            session: session().await?,
            ip: client_ip().await,
        })
    }

    pub fn ip(&self) -> Option<&str> {
        self.ip.as_deref()
    }

    pub async fn session_auth(&self) -> Result<Option<SessionAuth>, AppError> {
        self.session
            .get::<SessionAuth>(SESSION_AUTH_KEY)
            .await
            .map_err(|e| fail(DomainError::Internal(format!("session read: {e}").into())))
    }

    /// The session's sign-in state, or `Unauthenticated`.
    pub async fn require_session_auth(&self) -> Result<SessionAuth, AppError> {
        self.session_auth()
            .await?
            .ok_or_else(|| fail(DomainError::Unauthenticated))
    }

    /// Stores a new sign-in state. The session id is renewed at every stage
    /// (password, new password, enrolment, second factor), so an id seen or
    /// planted at one stage is worthless at the next.
    pub async fn store_session_auth(&self, auth: &SessionAuth) -> Result<(), AppError> {
        let internal = |e: tower_sessions::session::Error| {
            fail(DomainError::Internal(format!("session write: {e}").into()))
        };
        self.session.cycle_id().await.map_err(internal)?;
        self.session
            .insert(SESSION_AUTH_KEY, auth)
            .await
            .map_err(internal)
    }

    /// Signs a gamer in: a new gamer session id, the gamer in it (a staff
    /// sign-in in the same browser is left as it was).
    pub async fn store_gamer_session(
        &self,
        gamer: &payquest_domain::gamers::GamerSession,
    ) -> Result<(), AppError> {
        let internal = |e: tower_sessions::session::Error| {
            fail(DomainError::Internal(format!("session write: {e}").into()))
        };
        let session = gamer_session().await?;
        session.cycle_id().await.map_err(internal)?;
        session
            .insert(GAMER_SESSION_KEY, gamer)
            .await
            .map_err(internal)
    }

    /// Signs the gamer out (and only the gamer): the gamer session's row is
    /// deleted and its cookie cleared.
    pub async fn end_gamer_session(&self) -> Result<(), AppError> {
        gamer_session()
            .await?
            .flush()
            .await
            .map_err(|e| fail(DomainError::Internal(format!("session flush: {e}").into())))
    }

    /// The flash message left by the last form post, removed as it is read.
    pub async fn take_flash(&self) -> Result<Option<(bool, String)>, AppError> {
        self.session
            .remove::<(bool, String)>(FLASH_KEY)
            .await
            .map_err(|e| fail(DomainError::Internal(format!("session read: {e}").into())))
    }

    pub async fn end_session(&self) -> Result<(), AppError> {
        self.session
            .flush()
            .await
            .map_err(|e| fail(DomainError::Internal(format!("session flush: {e}").into())))
    }

    /// The fully signed-in actor; any other state answers with the error that
    /// names the next step (401/403), so nothing else is reachable before MFA.
    pub async fn actor(&self) -> Result<Actor, AppError> {
        let auth = self.require_session_auth().await?;
        let actor = self.state.auth.actor(&auth, self.ip()).await?;
        // Who is acting in this call, for the audit of a refusal (see `fail`).
        provide_context(CurrentActor(actor.audit_actor()));
        Ok(actor)
    }
}

/// A server-function call from a fully signed-in staff member (every
/// dashboard function): the request's context and the actor, or the error
/// that names the next sign-in step. Dereferences to the `Ctx`.
pub struct StaffCtx {
    ctx: Ctx,
    pub actor: Actor,
}

impl StaffCtx {
    pub async fn load() -> Result<StaffCtx, AppError> {
        let ctx = Ctx::load().await?;
        let actor = ctx.actor().await?;
        Ok(StaffCtx { ctx, actor })
    }
}

/// The fully signed-in staff member behind a plain HTTP handler's session
/// (a form post that is not a server function, such as an upload): the
/// same checks as `StaffCtx`.
pub async fn staff_actor_of(
    state: &AppState,
    session: &Session,
    ip: Option<&str>,
) -> Result<Actor, DomainError> {
    let auth = session
        .get::<SessionAuth>(SESSION_AUTH_KEY)
        .await
        .map_err(|e| DomainError::Internal(format!("session read: {e}").into()))?
        .ok_or(DomainError::Unauthenticated)?;
    state.auth.actor(&auth, ip).await
}

/// Leaves a message for the next page the session loads (`take_flash`).
pub async fn set_flash(session: &Session, ok: bool, message: String) {
    if let Err(e) = session.insert(FLASH_KEY, (ok, message)).await {
        tracing::warn!(error = %e, "storing a flash message failed");
    }
}

/// A call from anyone (the public site): the shared state and the client's
/// address. It reads no session, so nothing it does depends on who asks.
pub struct PublicCtx {
    pub state: AppState,
    pub ip: Option<String>,
}

impl PublicCtx {
    pub async fn load() -> Result<PublicCtx, AppError> {
        Ok(PublicCtx {
            state: state()?,
            ip: client_ip().await,
        })
    }
}

/// A call from a signed-in gamer (the gamer portal): the request's context
/// and the gamer, or `Unauthenticated`. A staff session is not a gamer's.
pub struct GamerCtx {
    ctx: Ctx,
    pub gamer: payquest_domain::gamers::GamerActor,
}

impl GamerCtx {
    pub async fn load() -> Result<GamerCtx, AppError> {
        Self::load_optional()
            .await?
            .ok_or_else(|| fail(DomainError::Unauthenticated))
    }

    /// The gamer if one is signed in (and their session still good).
    pub async fn load_optional() -> Result<Option<GamerCtx>, AppError> {
        let ctx = Ctx::load().await?;
        let Some(session) = gamer_session()
            .await?
            .get::<payquest_domain::gamers::GamerSession>(GAMER_SESSION_KEY)
            .await
            .map_err(|e| fail(DomainError::Internal(format!("session read: {e}").into())))?
        else {
            return Ok(None);
        };
        match ctx.state.gamers.actor(&session).await {
            Ok(gamer) => Ok(Some(GamerCtx { ctx, gamer })),
            Err(DomainError::Unauthenticated) => Ok(None),
            Err(e) => Err(fail(e)),
        }
    }
}

impl std::ops::Deref for GamerCtx {
    type Target = Ctx;
    fn deref(&self) -> &Ctx {
        &self.ctx
    }
}

impl std::ops::Deref for StaffCtx {
    type Target = Ctx;
    fn deref(&self) -> &Ctx {
        &self.ctx
    }
}

/// Where a session at `stage` continues.
pub fn stage_path(stage: SessionStage) -> &'static str {
    crate::routes::stage_path(stage)
}
