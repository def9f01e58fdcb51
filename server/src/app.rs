//! Assembles the server from its configuration and runs its listeners.

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use async_trait::async_trait;
use tokio::net::TcpListener;

use crate::config::Config;
use crate::courier::template::{TemplateHandle, Templates};
use crate::flow::{AddressFlowSettings, AddressFlows, FlowService, FlowSettings, Method};
use crate::hash::{HashPool, PoolError};
use crate::http::{self, AppState};
use crate::identity::{HashFailure, IdentityService, PasswordHasher};
use crate::method::{
    CodeMethod, CodeSettings, LookupMethod, LookupSettings, OidcMethod, PasswordMethod,
    PasswordSettings, ProfileMethod, TotpMethod, TotpSettings,
};
use crate::onetime::{Delivery, OneTimeCodes};
use crate::policy::PasswordPolicy;
use crate::schema::{SchemaError, SchemaHandle, SchemaRegistry, SchemaSource};
use crate::session::{SessionService, SessionSettings};
use crate::store::{
    Database, Dsn, SqlFlowStore, SqlIdentityStore, SqlOneTimeCodeStore, SqlSessionStore, StoreError,
};
use crate::throttle::{Throttle, ThrottleSettings};
use crate::time::SystemClock;

/// Why the server could not start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    /// The DSN is invalid.
    #[error(transparent)]
    Dsn(#[from] crate::store::DsnError),
    /// An identity schema is broken.
    #[error(transparent)]
    Schema(#[from] SchemaError),
    /// The database layer refused.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// A hook is misconfigured.
    #[error(transparent)]
    Hooks(#[from] crate::hook::HookConfigError),
    /// A listener's CORS settings are invalid.
    #[error("serve.{listener}.cors.{source}")]
    Cors {
        /// `public` or `admin`.
        listener: &'static str,
        /// The refused setting.
        source: http::cors::CorsError,
    },
    /// The password hasher could not start.
    #[error("password hasher: {0}")]
    Hasher(#[from] PoolError),
    /// The breached-password lookup client could not be built.
    #[error("password policy: {0}")]
    Policy(#[from] crate::policy::LookupError),
    /// A message template is broken.
    #[error(transparent)]
    Templates(#[from] crate::courier::template::TemplateError),
    /// The courier section cannot be acted on.
    #[error(transparent)]
    Courier(#[from] crate::courier::CourierConfigError),
    /// `ciphers.algorithm` or `secrets.cipher` cannot be used.
    #[error("secrets.cipher: {0}")]
    Cipher(#[from] crate::cipher::CipherError),
    /// A WebAuthn relying party cannot be set up.
    #[error(transparent)]
    RelyingParty(#[from] crate::method::RelyingPartyError),
    /// An OpenID Connect provider cannot be used (its mapper).
    #[error(transparent)]
    Oidc(#[from] crate::method::OidcConfigError),
    /// A listener could not be bound.
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        /// The address.
        addr: String,
        /// The cause.
        source: std::io::Error,
    },
}

/// How `serve` was asked to run.
#[derive(Debug, Clone, Copy, Default)]
pub struct ServeOptions {
    /// Development mode: migrations run at start.
    pub dev: bool,
    /// Run the courier worker in this process (`--watch-courier`).
    pub watch_courier: bool,
    /// Delete expired flows, error records, sessions and session token exchanges at this interval
    /// (`--cleanup-every`); off when `None`.
    pub cleanup_every: Option<Duration>,
}

/// A server ready to run.
pub struct App {
    state: AppState,
    config: Config,
    auto_migrate: bool,
    cors: CorsLayers,
    courier: Option<crate::courier::Worker>,
    templates: TemplateHandle,
    cleanup_every: Option<Duration>,
}

/// The CORS layer of each listener, when enabled.
struct CorsLayers {
    public: Option<tower_http::cors::CorsLayer>,
    admin: Option<tower_http::cors::CorsLayer>,
}

impl CorsLayers {
    fn from_config(config: &Config) -> Result<Self, StartError> {
        let layer = |listener: &'static str, cors: Option<&bia_config::Cors>| {
            http::cors::layer(cors).map_err(|source| StartError::Cors { listener, source })
        };
        Ok(Self {
            public: layer("public", config.serve.public.cors.as_ref())?,
            admin: layer("admin", config.serve.admin.cors.as_ref())?,
        })
    }
}

/// Puts a listener's CORS layer around its router, outermost, so refusals carry it too.
fn with_cors(router: axum::Router, cors: Option<tower_http::cors::CorsLayer>) -> axum::Router {
    match cors {
        Some(layer) => router.layer(layer),
        None => router,
    }
}

/// Adapts the hash worker pool to the identity service's hasher seam.
struct PooledHasher {
    pool: HashPool,
    config: crate::hash::HashersConfig,
}

#[async_trait]
impl PasswordHasher for PooledHasher {
    async fn hash(&self, password: &str) -> Result<String, HashFailure> {
        self.pool
            .hash(password.as_bytes().to_vec())
            .await
            .map_err(|e| match e {
                PoolError::Busy => HashFailure::Busy,
                other => HashFailure::Failed(other.to_string()),
            })
    }

    fn is_supported(&self, hashed: &str) -> bool {
        crate::hash::is_supported_format(hashed)
    }

    async fn verify(&self, password: &str, hashed: &str) -> Result<bool, HashFailure> {
        self.pool
            .verify(password.as_bytes().to_vec(), hashed.to_owned())
            .await
            .map_err(|e| match e {
                PoolError::Busy => HashFailure::Busy,
                other => HashFailure::Failed(other.to_string()),
            })
    }

    fn needs_rehash(&self, hashed: &str) -> bool {
        crate::hash::needs_rehash(hashed, &self.config)
    }

    fn max_password_bytes(&self) -> Option<usize> {
        let algorithm_limit = match self.config.algorithm {
            crate::hash::Algorithm::Bcrypt => 72,
            crate::hash::Algorithm::Argon2 => crate::hash::MAX_PASSWORD_BYTES,
        };
        Some(algorithm_limit.min(crate::hash::MAX_PASSWORD_BYTES))
    }
}

/// The parts of recovery and verification flows: their settings, the
/// one-time secret store and the courier's outbox.
fn address_flows(
    config: &Config,
    codes: OneTimeCodes,
    outbox: Arc<dyn crate::courier::Outbox>,
) -> AddressFlows {
    let selfservice = &config.selfservice;
    let settings = |flow: &bia_config::AddressFlowConfig| AddressFlowSettings {
        enabled: flow.is_enabled(),
        delivery: Delivery::parse(flow.method()).unwrap_or(Delivery::Code),
        lifespan: flow.flow.lifespan(),
        notify_unknown: flow.notify_unknown_recipients.unwrap_or(false),
    };
    let methods = &selfservice.methods;
    let link_base = methods
        .link
        .config
        .base_url
        .clone()
        .map(|u| if u.ends_with('/') { u } else { format!("{u}/") })
        .unwrap_or_else(|| config.public_base_url());
    AddressFlows {
        recovery: settings(&selfservice.flows.recovery),
        verification: settings(&selfservice.flows.verification),
        code_lifespan: methods.code.config.lifespan(),
        link_lifespan: methods.link.config.lifespan(),
        link_base_url: link_base,
        codes,
        outbox,
    }
}

/// The store of one-time codes shared by recovery, verification and the
/// code method.
fn one_time_codes(
    config: &Config,
    db: &Database,
    clock: Arc<dyn crate::time::Clock>,
) -> OneTimeCodes {
    // Secrets digest one-time codes on every replica alike, so a generated
    // per-process secret would not do: without one, codes use the cookie secrets.
    let mut secrets = config.secrets.default.clone();
    if secrets.is_empty() {
        secrets = config.secrets.cookie_secrets().to_vec();
    }
    if secrets.is_empty() {
        // `--dev` without secrets: codes end with this process, as cookies do.
        secrets.push(crate::flow::csrf::new_token());
    }
    OneTimeCodes::new(
        Arc::new(SqlOneTimeCodeStore::new(db.clone())),
        &secrets,
        config.selfservice.methods.code.config.max_submissions(),
        clock,
    )
}

/// The TOTP method, when `selfservice.methods.totp` is enabled.
fn totp_method(
    config: &Config,
    identities: &IdentityService,
    throttle: &Arc<Throttle>,
    clock: &Arc<dyn crate::time::Clock>,
) -> Result<Option<Arc<dyn Method>>, StartError> {
    let totp = &config.selfservice.methods.totp;
    if !totp.is_enabled() {
        return Ok(None);
    }
    let algorithm = crate::cipher::Algorithm::parse(config.ciphers.algorithm.as_deref())
        .ok_or(crate::cipher::CipherError::BadAlgorithm)?;
    let cipher = crate::cipher::Cipher::new(algorithm, &config.secrets.cipher)?;
    cipher.sealing_key()?;
    let issuer = totp.config.issuer.clone().unwrap_or_else(|| {
        url::Url::parse(&config.public_base_url())
            .ok()
            .and_then(|u| u.host_str().map(str::to_owned))
            .unwrap_or_else(|| "Bia".into())
    });
    Ok(Some(Arc::new(TotpMethod::new(
        identities.clone(),
        TotpSettings {
            issuer,
            cipher: Arc::new(cipher),
            throttle: throttle.clone(),
            clock: clock.clone(),
        },
    ))))
}

/// The cipher of `secrets.cipher` and `ciphers.algorithm` (with no secret,
/// one that seals nothing).
fn config_cipher(config: &Config) -> Result<crate::cipher::Cipher, StartError> {
    let algorithm = crate::cipher::Algorithm::parse(config.ciphers.algorithm.as_deref())
        .ok_or(crate::cipher::CipherError::BadAlgorithm)?;
    Ok(crate::cipher::Cipher::new(
        algorithm,
        &config.secrets.cipher,
    )?)
}

/// The cipher imported TOTP URLs and lookup codes are sealed with, when
/// `secrets.cipher` is usable (otherwise they are kept as given and sealed
/// by their method on first use).
fn import_cipher(config: &Config) -> Option<Arc<crate::cipher::Cipher>> {
    let cipher = config_cipher(config).ok()?;
    cipher.sealing_key().ok()?;
    Some(Arc::new(cipher))
}

/// The lookup code method, when `selfservice.methods.lookup_secret` is enabled.
fn lookup_method(
    config: &Config,
    identities: &IdentityService,
    throttle: &Arc<Throttle>,
    clock: &Arc<dyn crate::time::Clock>,
) -> Result<Option<Arc<dyn Method>>, StartError> {
    if !config.selfservice.methods.lookup_secret.is_enabled() {
        return Ok(None);
    }
    let algorithm = crate::cipher::Algorithm::parse(config.ciphers.algorithm.as_deref())
        .ok_or(crate::cipher::CipherError::BadAlgorithm)?;
    let cipher = crate::cipher::Cipher::new(algorithm, &config.secrets.cipher)?;
    cipher.sealing_key()?;
    Ok(Some(Arc::new(LookupMethod::new(
        identities.clone(),
        LookupSettings {
            cipher: Arc::new(cipher),
            throttle: throttle.clone(),
            clock: clock.clone(),
        },
    ))))
}

/// The security key and passkey methods that `selfservice.methods.webauthn`
/// and `selfservice.methods.passkey` enable.
fn webauthn_methods(
    config: &Config,
    (identities, schemas): (&IdentityService, &crate::schema::SchemaHandle),
    throttle: &Arc<Throttle>,
    clock: &Arc<dyn crate::time::Clock>,
) -> Result<Vec<Arc<dyn Method>>, StartError> {
    use crate::method::{PasskeyMethod, RelyingParty, WebauthnMethod};
    let methods = &config.selfservice.methods;
    let base = config.public_base_url();
    let mut enabled: Vec<Arc<dyn Method>> = Vec::new();
    if methods.webauthn.is_enabled() {
        let rp = RelyingParty::from_config("webauthn", &methods.webauthn.config.rp, &base)?;
        enabled.push(Arc::new(WebauthnMethod::new(
            identities.clone(),
            crate::method::KeySettings {
                relying_party: Arc::new(rp),
                throttle: throttle.clone(),
                clock: clock.clone(),
            },
        )));
    }
    if methods.passkey.is_enabled() {
        let rp = RelyingParty::from_config("passkey", &methods.passkey.config.rp, &base)?;
        enabled.push(Arc::new(PasskeyMethod::new(
            identities.clone(),
            schemas.clone(),
            crate::method::KeySettings {
                relying_party: Arc::new(rp),
                throttle: throttle.clone(),
                clock: clock.clone(),
            },
        )));
    }
    Ok(enabled)
}

/// Loads the schemas named by the configuration.
pub async fn load_schemas(config: &Config) -> Result<SchemaRegistry, SchemaError> {
    let sources: Vec<SchemaSource> = config
        .identity
        .schemas
        .iter()
        .map(|s| SchemaSource {
            id: s.id.clone(),
            url: s.url.clone(),
            selectable: s.selfservice_selectable,
        })
        .collect();
    SchemaRegistry::load(&sources, config.default_schema_id()).await
}

impl App {
    /// Builds every part; the database is connected lazily so a server whose
    /// database is down still starts, reports not-ready, and keeps retrying.
    pub async fn build(config: Config, options: ServeOptions) -> Result<Self, StartError> {
        let dsn = Dsn::parse(config.dsn())?;
        let db = Database::connect_lazy(&dsn)?;
        let schemas = SchemaHandle::new(load_schemas(&config).await?);
        let pool = HashPool::with_defaults(config.hashers.clone())?;
        let clock: Arc<dyn crate::time::Clock> = Arc::new(SystemClock);
        let identity_store: Arc<dyn crate::store::IdentityStore> =
            Arc::new(SqlIdentityStore::new(db.clone()));
        let identities = IdentityService::new(
            identity_store.clone(),
            schemas.clone(),
            Arc::new(PooledHasher {
                pool,
                config: config.hashers.clone(),
            }),
            clock.clone(),
        )
        .with_code_mfa(config.selfservice.methods.code.mfa_enabled == Some(true))
        .with_converter(Arc::new(crate::method::SecondFactorImport::new(
            import_cipher(&config),
        )));
        let sessions = SessionService::new(
            Arc::new(SqlSessionStore::new(db.clone())),
            identity_store,
            clock.clone(),
            SessionSettings {
                lifespan: config.session.lifespan(),
                earliest_possible_extend: config.session.earliest_possible_extend(),
                inactivity_timeout: config.session.inactivity_timeout(),
            },
        )
        .with_whoami_aal(config.session.whoami.required_aal.unwrap_or_default());
        let throttle = Arc::new(Throttle::new(ThrottleSettings::from_config(
            &config.throttle,
        )));
        let mut methods: Vec<Arc<dyn Method>> = Vec::new();
        let password = &config.selfservice.methods.password;
        if password.is_enabled() {
            methods.push(Arc::new(PasswordMethod::new(
                identities.clone(),
                schemas.clone(),
                PasswordSettings {
                    policy: Arc::new(PasswordPolicy::from_config(&password.config)?),
                    throttle: throttle.clone(),
                },
            )));
        }
        if config.selfservice.methods.profile.enabled.unwrap_or(true) {
            methods.push(Arc::new(ProfileMethod::new(
                identities.clone(),
                schemas.clone(),
            )));
        }
        let templates = TemplateHandle::new(Templates::load(&config.courier).await?);
        let outbox = crate::courier::outbox(db.clone(), Arc::new(templates.clone()), clock.clone());
        let codes = one_time_codes(&config, &db, clock.clone());
        let code = &config.selfservice.methods.code;
        let passwordless = code.passwordless_enabled.unwrap_or(false);
        let mfa = code.mfa_enabled.unwrap_or(false);
        if code.enabled.unwrap_or(true) && (passwordless || mfa) {
            methods.push(Arc::new(CodeMethod::new(
                identities.clone(),
                schemas.clone(),
                CodeSettings {
                    codes: codes.clone(),
                    outbox: outbox.clone(),
                    throttle: throttle.clone(),
                    lifespan: code.config.lifespan(),
                    clock: clock.clone(),
                    passwordless,
                    mfa,
                },
            )));
        }
        if let Some(totp) = totp_method(&config, &identities, &throttle, &clock)? {
            methods.push(totp);
        }
        let oidc = &config.selfservice.methods.oidc;
        if oidc.is_enabled() {
            let method = OidcMethod::from_config(
                identities.clone(),
                oidc,
                &config.public_base_url(),
                Arc::new(config_cipher(&config)?),
            )
            .await?;
            methods.push(Arc::new(method));
        }
        if let Some(lookup) = lookup_method(&config, &identities, &throttle, &clock)? {
            methods.push(lookup);
        }
        methods.extend(webauthn_methods(
            &config,
            (&identities, &schemas),
            &throttle,
            &clock,
        )?);
        let courier = match options.watch_courier {
            true => {
                let worker =
                    crate::courier::worker_from_config(&config.courier, db.clone(), clock.clone());
                Some(worker.await?)
            }
            false => None,
        };
        let flows_config = &config.selfservice.flows;
        let browser = http::BrowserUrls::from_config(&config);
        let flows = FlowService::new(
            Arc::new(SqlFlowStore::new(db.clone())),
            methods,
            identities.clone(),
            sessions.clone(),
            clock.clone(),
            FlowSettings {
                login_lifespan: flows_config.login.lifespan(),
                registration_lifespan: flows_config.registration.lifespan(),
                settings_lifespan: flows_config.settings.flow.lifespan(),
                privileged_session_max_age: flows_config.settings.privileged_session_max_age(),
                registration_enabled: flows_config.registration.enabled.unwrap_or(true),
                public_base_url: config.public_base_url(),
                throttle: Some(throttle.clone()),
                verification_return_url: browser.after_verification(),
                settings_required_aal: flows_config.settings.required_aal(),
                identifier_first: flows_config.login.identifier_first(),
                mitigate_enumeration: config.security.account_enumeration.mitigate == Some(true),
                profile_first: flows_config.registration.profile_first(),
            },
        );
        let flows = flows.with_address_flows(address_flows(&config, codes, outbox));
        let hooks = crate::hook::Hooks::load(&config, &crate::hook::HookOptions::default()).await?;
        let flows = flows.with_hooks(crate::flow::FlowHooks::new(
            Arc::new(hooks),
            http::hook_renderer(config.public_base_url()),
        ));
        let mut cookie_secrets = config.secrets.cookie_secrets().to_vec();
        if cookie_secrets.is_empty() {
            tracing::warn!(
                "no cookie secret is configured; --dev uses a random one, so cookies end with this process"
            );
            cookie_secrets.push(crate::flow::csrf::new_token());
        }
        let cookies = http::CookieCodec::new(&cookie_secrets, !options.dev, &config);
        let migrations = crate::identity::migration::SchemaMigrator::new(
            identities.clone(),
            http::hook_renderer(config.public_base_url()),
        );
        let exchanges = crate::session::TokenExchanges::new(
            Arc::new(crate::store::SqlTokenExchangeStore::new(db.clone())),
            clock.clone(),
        );
        let state = AppState::new(http::Shared {
            migrations,
            identities,
            sessions,
            exchanges,
            flows,
            courier: Arc::new(crate::store::SqlCourierStore::new(db.clone())),
            schemas,
            db,
            cookies,
            // Only the oidc method seals with it, and refuses to start
            // without a usable one.
            cipher: Arc::new(
                config_cipher(&config).unwrap_or_else(|_| crate::cipher::Cipher::without_secrets()),
            ),
            browser,
            trusted_proxies: http::TrustedProxies::parse(&config.serve.public.trusted_proxies)
                .unwrap_or_default()
                .with_true_client_ip(config.serve.public.trust_true_client_ip),
            public_base_url: config.public_base_url(),
            admin_base_url: config.admin_base_url(),
            ready: Arc::new(AtomicBool::new(false)),
        });
        Ok(Self {
            state,
            auto_migrate: options.dev || dsn.is_memory(),
            cors: CorsLayers::from_config(&config)?,
            config,
            courier,
            templates,
            cleanup_every: options.cleanup_every,
        })
    }

    /// Reloads schemas and message templates when these config files change
    /// (see [`crate::reload`]).
    pub fn watch_config(&self, files: Vec<std::path::PathBuf>, mode: crate::config::Mode) {
        if files.is_empty() {
            return;
        }
        let watcher = crate::reload::ConfigWatcher::new(
            files,
            mode,
            self.config.clone(),
            self.state.schemas.clone(),
        )
        .with_templates(self.templates.clone());
        tokio::spawn(watcher.run(crate::reload::DEFAULT_INTERVAL));
    }

    /// The shared handler state.
    pub fn state(&self) -> &AppState {
        &self.state
    }

    /// Binds both listeners and serves until `shutdown` completes.
    pub async fn run(
        self,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> Result<(), StartError> {
        let public_addr = listen_addr(&self.config.serve.public.host, self.config.public_port());
        let admin_addr = listen_addr(&self.config.serve.admin.host, self.config.admin_port());
        let public = bind(&public_addr).await?;
        let admin = bind(&admin_addr).await?;
        tracing::info!(public = %public_addr, admin = %admin_addr, "listening");
        self.run_on(public, admin, shutdown).await
    }

    /// Serves on listeners that are already bound (tests bind port 0).
    pub async fn run_on(
        self,
        public: TcpListener,
        admin: TcpListener,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> Result<(), StartError> {
        let serve = &self.config.serve;
        let limit_public = serve
            .public
            .request_body_limit
            .unwrap_or(http::limits::PUBLIC_BODY_LIMIT);
        let limit_admin = serve
            .admin
            .request_body_limit
            .unwrap_or(http::limits::ADMIN_BODY_LIMIT);
        tokio::spawn(watch_database(self.state.clone(), self.auto_migrate));
        let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
        tokio::spawn(async move {
            shutdown.await;
            let _ = stop_tx.send(true);
        });
        let courier = self
            .courier
            .map(|worker| tokio::spawn(run_courier(worker, self.state.clone(), stop_rx.clone())));
        if let Some(every) = self.cleanup_every {
            let state = self.state.clone();
            tokio::spawn(crate::cleanup::janitor(
                Arc::new(crate::store::SqlCleanupStore::new(state.db.clone())),
                Arc::new(crate::time::SystemClock),
                every,
                move || state.is_ready(),
                stop_rx.clone(),
            ));
        }
        let public_app = with_cors(
            http::public_router(self.state.clone(), limit_public),
            self.cors.public.clone(),
        );
        let admin_app = with_cors(
            http::admin_router(self.state.clone(), limit_admin),
            self.cors.admin.clone(),
        );
        let stopped = |mut rx: tokio::sync::watch::Receiver<bool>| async move {
            let _ = rx.wait_for(|stop| *stop).await;
        };
        let public_server = axum::serve(
            public,
            public_app.into_make_service_with_connect_info::<SocketAddr>(),
        )
        .with_graceful_shutdown(stopped(stop_rx.clone()));
        let admin_server = axum::serve(admin, admin_app).with_graceful_shutdown(stopped(stop_rx));
        let (a, b) = tokio::join!(public_server, admin_server);
        for result in [a, b] {
            if let Err(error) = result {
                tracing::error!(%error, "listener failed");
            }
        }
        if let Some(courier) = courier {
            // The batch being delivered is finished and recorded first.
            let _ = courier.await;
        }
        self.state.db.close().await;
        Ok(())
    }
}

fn listen_addr(host: &Option<String>, port: u16) -> String {
    let host = host
        .as_deref()
        .filter(|h| !h.is_empty())
        .unwrap_or("0.0.0.0");
    if host.contains(':') {
        format!("[{host}]:{port}")
    } else {
        format!("{host}:{port}")
    }
}

async fn bind(addr: &str) -> Result<TcpListener, StartError> {
    let parsed: Result<SocketAddr, _> = addr.parse();
    let result = match parsed {
        Ok(socket) => TcpListener::bind(socket).await,
        Err(_) => TcpListener::bind(addr).await,
    };
    result.map_err(|source| StartError::Bind {
        addr: addr.to_owned(),
        source,
    })
}

/// Runs the courier worker once the database is ready, until `stop`.
async fn run_courier(
    worker: crate::courier::Worker,
    state: AppState,
    mut stop: tokio::sync::watch::Receiver<bool>,
) {
    while !state.is_ready() {
        tokio::select! {
            _ = stop.wait_for(|stop| *stop) => return,
            () = tokio::time::sleep(Duration::from_millis(100)) => {}
        }
    }
    worker.run(stop).await;
}

/// Waits for the database with backoff, migrates when asked, then marks the server ready.
async fn watch_database(state: AppState, auto_migrate: bool) {
    let mut delay = Duration::from_millis(50);
    loop {
        match state.db.ping().await {
            Ok(()) => {
                if auto_migrate && let Err(error) = state.db.migrate_up().await {
                    tracing::error!(%error, "migrations failed");
                }
                match state.db.is_migrated().await {
                    Ok(true) => {
                        state.ready.store(true, Ordering::Release);
                        tracing::info!("database ready");
                        return;
                    }
                    Ok(false) => tracing::warn!(
                        "migrations are pending; run `bia migrate sql -e --yes` (not ready until then)"
                    ),
                    Err(error) => tracing::warn!(%error, "cannot read migration state"),
                }
            }
            Err(error) => {
                tracing::warn!(%error, retry_in_ms = delay.as_millis() as u64, "database unreachable, retrying");
            }
        }
        tokio::time::sleep(delay).await;
        delay = (delay * 2).min(Duration::from_secs(5));
    }
}
