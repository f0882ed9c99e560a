//! The flows: `start` (to the provider), `callback` (back from it: sign in, or park the
//! identity for registering), and activation with a parked identity and the PIN.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, Duration, Utc};
use oauth2::basic::{
    BasicErrorResponse, BasicRevocationErrorResponse, BasicTokenIntrospectionResponse, BasicTokenType,
};
use oauth2::{
    AuthUrl, AuthorizationCode, ClientId, ClientSecret, CsrfToken, EndpointNotSet, EndpointSet, ExtraTokenFields,
    PkceCodeChallenge, PkceCodeVerifier, RedirectUrl, RequestTokenError, Scope, StandardRevocableToken,
    StandardTokenResponse, TokenResponse as _, TokenUrl,
};
use sea_orm::sea_query::Expr;
use sea_orm::{ActiveModelTrait, ActiveValue::Set, ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter};
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};
use serde_json::json;
use sha2::{Digest, Sha256};
use tracing::instrument;
use utoipa::ToSchema;

use super::discovery::{ProviderMetadata, get_json};
use super::id_token::{self, Expected, VerifiedIdentity};
use super::store::{oidc_pending_link, oidc_state};
use super::{Oidc, OidcError, constant_time_eq, sanitize_code};
use crate::config::OidcProvider;
use crate::domain::identity::Identity;
use crate::domain::identity::audit::{self, Actor, ClientMeta, Event, Outcome as Audit};
use crate::domain::identity::error::IdentityError;
use crate::domain::identity::model::{ClientKind, Role, UserStatus};
use crate::domain::identity::random::{self, sha256_hex, token_256};
use crate::domain::identity::rate_limit::{self, Limit};
use crate::domain::identity::service::{self, Activation, NewCredential};
use crate::domain::identity::sessions::{self, Session};
use crate::entity::{app_user, identity_link, person};

/// How long the provider has to send the browser back.
pub const FLOW_TTL: Duration = Duration::minutes(10);
/// How long a verified identity waits for its PIN.
pub const PENDING_TTL: Duration = Duration::minutes(15);
/// Flows started from one address. Each makes a row, so they are counted.
pub const START_PER_IP: Limit = Limit { name: "oidc:start:ip", max: 60, window_secs: 15 * 60 };

/// What the browser is going to the provider for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Intent {
    /// Sign in with an identity that is linked already.
    SignIn,
    /// Use the identity instead of a password when finishing registering with the PIN.
    Register,
}

impl Intent {
    pub fn as_str(self) -> &'static str {
        match self {
            Intent::SignIn => "sign_in",
            Intent::Register => "register",
        }
    }

    pub fn parse(s: &str) -> Option<Intent> {
        match s {
            "sign_in" => Some(Intent::SignIn),
            "register" => Some(Intent::Register),
            _ => None,
        }
    }
}

/// The one redirect URI of a provider, registered with it exactly like this.
pub fn redirect_uri(public_url: &str, provider_id: &str) -> String {
    format!("{}/api/v1/auth/oidc/{provider_id}/callback", public_url.trim_end_matches('/'))
}

/// The PKCE verifier of a flow, derived from the browser's binding secret: the server needs
/// it only at the callback, where the browser brings the secret back, so it is never stored.
fn pkce_verifier(browser_secret: &str) -> PkceCodeVerifier {
    let digest = Sha256::digest(format!("doorstep-oidc-pkce-v1\u{0}{browser_secret}").as_bytes());
    // 43 characters of base64url: a valid RFC 7636 verifier with 256 bits of entropy.
    PkceCodeVerifier::new(URL_SAFE_NO_PAD.encode(digest))
}

/// The token endpoint's answer: OAuth's fields plus the ID token.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct IdTokenField {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id_token: Option<String>,
}

impl ExtraTokenFields for IdTokenField {}

type TokenAnswer = StandardTokenResponse<IdTokenField, BasicTokenType>;
type BaseClient = oauth2::Client<
    BasicErrorResponse,
    TokenAnswer,
    BasicTokenIntrospectionResponse,
    StandardRevocableToken,
    BasicRevocationErrorResponse,
>;
type OidcClient = oauth2::Client<
    BasicErrorResponse,
    TokenAnswer,
    BasicTokenIntrospectionResponse,
    StandardRevocableToken,
    BasicRevocationErrorResponse,
    EndpointSet,
    EndpointNotSet,
    EndpointNotSet,
    EndpointNotSet,
    EndpointSet,
>;

fn client(provider: &OidcProvider, metadata: &ProviderMetadata, public_url: &str) -> Result<OidcClient, OidcError> {
    let bad = |what: &str, e: oauth2::url::ParseError| OidcError::Misconfigured(format!("{what}: {e}"));
    Ok(BaseClient::new(ClientId::new(provider.client_id.clone()))
        .set_client_secret(ClientSecret::new(provider.client_secret.expose_secret().to_owned()))
        .set_auth_uri(
            AuthUrl::new(metadata.authorization_endpoint.clone()).map_err(|e| bad("authorization_endpoint", e))?,
        )
        .set_token_uri(TokenUrl::new(metadata.token_endpoint.clone()).map_err(|e| bad("token_endpoint", e))?)
        .set_redirect_uri(
            RedirectUrl::new(redirect_uri(public_url, &provider.id)).map_err(|e| bad("the redirect URI", e))?,
        )
        .set_auth_type(metadata.token_auth()?))
}

/// Where to send the browser, and the secret that binds the flow to it (an HttpOnly cookie).
pub struct Started {
    pub authorization_url: String,
    pub browser_secret: String,
}

/// `GET /auth/oidc/{provider}/start`: a new flow and the provider's authorization URL.
#[instrument(skip_all, fields(provider = %provider.id, intent = intent.as_str()))]
pub async fn start(
    db: &DatabaseConnection,
    oidc: &Oidc,
    provider: &OidcProvider,
    public_url: &str,
    intent: Intent,
    meta: &ClientMeta,
) -> Result<Started, OidcError> {
    match rate_limit::hit(db, START_PER_IP, meta.ip_or_unknown()).await {
        Ok(()) => {}
        Err(IdentityError::Throttled { .. }) => return Err(OidcError::Throttled),
        Err(e) => return Err(e.into()),
    }
    let metadata = oidc.metadata(&provider.issuer).await?;
    let client = client(provider, &metadata, public_url)?;
    let state = token_256()?;
    let nonce = token_256()?;
    let browser_secret = token_256()?;
    let verifier = pkce_verifier(&browser_secret);
    let (url, _) = client
        .authorize_url(|| CsrfToken::new(state.clone()))
        .add_scopes(provider.scopes.iter().cloned().map(Scope::new))
        .add_extra_param("nonce", nonce.clone())
        .set_pkce_challenge(PkceCodeChallenge::from_code_verifier_sha256(&verifier))
        .url();
    let now = Utc::now();
    oidc_state::ActiveModel {
        state_hash: Set(sha256_hex(&state)),
        provider: Set(provider.id.clone()),
        intent: Set(intent.as_str().to_owned()),
        nonce: Set(nonce),
        browser_hash: Set(sha256_hex(&browser_secret)),
        created_at: Set(now),
        expires_at: Set(now + FLOW_TTL),
        used_at: Set(None),
        ..Default::default()
    }
    .insert(db)
    .await?;
    purge_now_and_then(db).await;
    Ok(Started { authorization_url: url.to_string(), browser_secret })
}

/// What the provider sent the browser back with (query parameters of the callback).
#[derive(Clone, Default, Deserialize)]
pub struct CallbackParams {
    #[serde(default)]
    pub code: Option<String>,
    #[serde(default)]
    pub state: Option<String>,
    #[serde(default)]
    pub error: Option<String>,
    /// RFC 9207.
    #[serde(default)]
    pub iss: Option<String>,
}

/// A successful callback.
pub enum Outcome {
    /// A linked identity: a new session, as a password sign-in gives.
    SignedIn { session: Session, staff: bool },
    /// A `register` flow: the identity waits for the PIN; `handle` goes in an HttpOnly cookie.
    Pending { handle: String },
}

impl std::fmt::Debug for Outcome {
    // The session and the handle are secrets: never in a log line.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Outcome::SignedIn { staff, .. } => f.debug_struct("SignedIn").field("staff", staff).finish_non_exhaustive(),
            Outcome::Pending { .. } => f.debug_struct("Pending").finish_non_exhaustive(),
        }
    }
}

/// The callback's result, with the flow's intent (so the browser goes back to the right
/// page, whatever happened).
#[derive(Debug)]
pub struct Callback {
    pub intent: Intent,
    pub outcome: Result<Outcome, OidcError>,
}

/// `GET /auth/oidc/{provider}/callback`. Failures are recorded in the audit trail here.
#[instrument(skip_all, fields(provider = %provider.id))]
pub async fn callback(
    db: &DatabaseConnection,
    oidc: &Oidc,
    identity: &Identity,
    provider: &OidcProvider,
    params: CallbackParams,
    browser_secret: Option<&str>,
    meta: &ClientMeta,
) -> Callback {
    let mut intent = Intent::SignIn;
    let outcome = run_callback(db, oidc, identity, provider, params, browser_secret, meta, &mut intent).await;
    if let Err(e) = &outcome {
        tracing::info!(reason = e.reason(), intent = intent.as_str(), error = %e, "external sign-in failed");
        // These three were recorded where the identity was known.
        if !matches!(e, OidcError::NotLinked | OidcError::AlreadyLinked | OidcError::NotAllowed) {
            let outcome = if matches!(e, OidcError::State(_) | OidcError::IssuerMismatch | OidcError::IdToken(_)) {
                Audit::Denied
            } else {
                Audit::Failure
            };
            audit::record_best_effort(
                db,
                Event::new("auth.oidc", outcome, Actor::anonymous(None)).details(json!({
                    "provider": provider.id,
                    "intent": intent.as_str(),
                    "reason": e.reason(),
                })),
                meta,
            )
            .await;
        }
    }
    Callback { intent, outcome }
}

#[expect(clippy::too_many_arguments, reason = "one call site; a struct would only rename these")]
async fn run_callback(
    db: &DatabaseConnection,
    oidc: &Oidc,
    identity: &Identity,
    provider: &OidcProvider,
    params: CallbackParams,
    browser_secret: Option<&str>,
    meta: &ClientMeta,
    intent: &mut Intent,
) -> Result<Outcome, OidcError> {
    let state = params.state.as_deref().filter(|s| !s.is_empty() && s.len() <= 512);
    let state = state.ok_or(OidcError::State("missing_state"))?;
    let row = oidc_state::Entity::find()
        .filter(oidc_state::Column::StateHash.eq(sha256_hex(state)))
        .one(db)
        .await?
        .ok_or(OidcError::State("unknown_state"))?;
    *intent = Intent::parse(&row.intent).unwrap_or(Intent::SignIn);
    // The one statement that decides: a replay, or a second callback racing this one, finds
    // the row used.
    let now = Utc::now();
    let claimed = oidc_state::Entity::update_many()
        .col_expr(oidc_state::Column::UsedAt, Expr::value(now))
        .filter(oidc_state::Column::Id.eq(row.id))
        .filter(oidc_state::Column::UsedAt.is_null())
        .filter(oidc_state::Column::ExpiresAt.gt(now))
        .exec(db)
        .await?
        .rows_affected
        == 1;
    if !claimed {
        let expired = row.used_at.is_none() && row.expires_at <= now;
        return Err(OidcError::State(if expired { "expired_state" } else { "replayed_state" }));
    }
    if row.provider != provider.id {
        return Err(OidcError::State("wrong_provider"));
    }
    // Login CSRF: a code and state that an attacker got for their own identity, replayed in
    // a victim's browser, fail here, because the victim's browser lacks the binding cookie.
    let browser_secret = browser_secret
        .filter(|b| constant_time_eq(&sha256_hex(b), &row.browser_hash))
        .ok_or(OidcError::State("browser_mismatch"))?;

    let metadata = oidc.metadata(&provider.issuer).await?;
    // RFC 9207: the response must say it comes from the issuer we sent the browser to.
    match params.iss.as_deref() {
        Some(iss) if iss != provider.issuer => return Err(OidcError::IssuerMismatch),
        None if metadata.authorization_response_iss_parameter_supported => return Err(OidcError::IssuerMismatch),
        _ => {}
    }
    if let Some(error) = params.error.as_deref() {
        return Err(OidcError::Provider(sanitize_code(error)));
    }
    let code = params.code.filter(|c| !c.is_empty() && c.len() <= 4096);
    let code = code.ok_or_else(|| OidcError::Provider("no_code".into()))?;
    let answer = client(provider, &metadata, &identity.public_url)?
        .exchange_code(AuthorizationCode::new(code))
        .set_pkce_verifier(pkce_verifier(browser_secret))
        .request_async(&oidc.http)
        .await
        .map_err(token_error)?;
    let id_token = answer.extra_fields().id_token.as_deref().ok_or(OidcError::IdToken("missing_id_token"))?;
    let expected = Expected { issuer: &provider.issuer, client_id: &provider.client_id, nonce: &row.nonce };
    let mut verified = id_token::verify(oidc, &metadata.jwks_uri, id_token, &expected).await?;
    if verified.email.is_none()
        && let Some(endpoint) = &metadata.userinfo_endpoint
    {
        add_userinfo(oidc, endpoint, answer.access_token().secret(), &mut verified).await;
    }

    match *intent {
        Intent::SignIn => sign_in(db, identity, provider, &verified, meta).await,
        Intent::Register => park(db, provider, &verified, meta).await,
    }
}

fn token_error<RE: std::error::Error + 'static>(e: RequestTokenError<RE, BasicErrorResponse>) -> OidcError {
    match e {
        RequestTokenError::ServerResponse(r) => OidcError::TokenExchange(sanitize_code(r.error().as_ref())),
        RequestTokenError::Request(e) => OidcError::Unavailable(format!("token endpoint: {e}")),
        RequestTokenError::Parse(e, _) => OidcError::TokenExchange(format!("unreadable answer: {e}")),
        RequestTokenError::Other(s) => OidcError::TokenExchange(sanitize_code(&s)),
    }
}

/// Email and name from the userinfo endpoint, for providers whose ID tokens carry only the
/// subject. Best effort: signing in does not need them.
async fn add_userinfo(oidc: &Oidc, endpoint: &str, access_token: &str, verified: &mut VerifiedIdentity) {
    #[derive(Deserialize)]
    struct UserInfo {
        sub: String,
        #[serde(default)]
        email: Option<String>,
        #[serde(default)]
        email_verified: Option<serde_json::Value>,
        #[serde(default)]
        name: Option<String>,
    }
    match get_json::<UserInfo>(&oidc.http, endpoint, Some(access_token)).await {
        // Core §5.3.2: userinfo about anyone but the ID token's subject is not used.
        Ok(info) if info.sub == verified.subject => {
            verified.email = info.email.map(|e| e.trim().to_owned()).filter(|e| !e.is_empty() && e.len() <= 254);
            verified.email_verified = verified.email.is_some() && id_token::is_true(info.email_verified.as_ref());
            if verified.name.is_none() {
                verified.name =
                    info.name.map(|n| n.trim().chars().take(200).collect()).filter(|n: &String| !n.is_empty());
            }
        }
        Ok(_) => tracing::warn!("userinfo answered about another subject: ignored"),
        Err(e) => tracing::warn!(error = %e, "cannot read userinfo"),
    }
}

/// The organisation a user's audit events belong to: staff's own, a tenant's person's.
async fn org_of(db: &DatabaseConnection, user: &app_user::Model) -> Result<Option<i64>, OidcError> {
    if user.organisation_id.is_some() {
        return Ok(user.organisation_id);
    }
    match user.person_id {
        Some(pid) => Ok(person::Entity::find_by_id(pid).one(db).await?.map(|p| p.organisation_id)),
        None => Ok(None),
    }
}

fn method(provider: &OidcProvider) -> String {
    format!("oidc:{}", provider.id)
}

async fn sign_in(
    db: &DatabaseConnection,
    identity: &Identity,
    provider: &OidcProvider,
    verified: &VerifiedIdentity,
    meta: &ClientMeta,
) -> Result<Outcome, OidcError> {
    let Some(user) = service::user_for_identity(db, &verified.issuer, &verified.subject).await? else {
        audit::record_best_effort(
            db,
            Event::new("auth.login", Audit::Failure, Actor::anonymous(verified.email.clone())).details(json!({
                "method": method(provider),
                "reason": "not_linked",
                "subject": verified.subject,
            })),
            meta,
        )
        .await;
        return Err(OidcError::NotLinked);
    };
    if user.status != UserStatus::Active.as_str() {
        let org = org_of(db, &user).await?;
        audit::record_best_effort(
            db,
            Event::new("auth.login", Audit::Failure, Actor::user(user.id, &user.email))
                .org(org)
                .object("user", user.id)
                .details(json!({ "method": method(provider), "reason": "disabled" })),
            meta,
        )
        .await;
        return Err(OidcError::NotAllowed);
    }
    let session = sessions::sign_in_verified_user(db, identity, &user, &method(provider), ClientKind::Web, meta)
        .await
        .map_err(|e| match e {
            IdentityError::InvalidCredentials => OidcError::NotAllowed,
            e => e.into(),
        })?;
    let staff = Role::parse(&user.role).is_some_and(Role::is_staff);
    Ok(Outcome::SignedIn { session, staff })
}

/// A `register` flow: keep the verified identity, briefly, for the tenant's PIN.
async fn park(
    db: &DatabaseConnection,
    provider: &OidcProvider,
    verified: &VerifiedIdentity,
    meta: &ClientMeta,
) -> Result<Outcome, OidcError> {
    let linked = identity_link::Entity::find()
        .filter(identity_link::Column::Issuer.eq(verified.issuer.as_str()))
        .filter(identity_link::Column::Subject.eq(verified.subject.as_str()))
        .one(db)
        .await?;
    if let Some(link) = linked {
        audit::record_best_effort(
            db,
            Event::new("identity.link_started", Audit::Failure, Actor::anonymous(verified.email.clone()))
                .object("user", link.user_id)
                .details(json!({ "provider": provider.id, "reason": "already_linked" })),
            meta,
        )
        .await;
        return Err(OidcError::AlreadyLinked);
    }
    let handle = token_256()?;
    let now = Utc::now();
    oidc_pending_link::ActiveModel {
        handle_hash: Set(sha256_hex(&handle)),
        provider: Set(provider.id.clone()),
        issuer: Set(verified.issuer.clone()),
        subject: Set(verified.subject.clone()),
        email: Set(verified.email.clone()),
        email_verified: Set(verified.email_verified),
        name: Set(verified.name.clone()),
        created_at: Set(now),
        expires_at: Set(now + PENDING_TTL),
        ..Default::default()
    }
    .insert(db)
    .await?;
    audit::record_best_effort(
        db,
        Event::new("identity.link_started", Audit::Success, Actor::anonymous(verified.email.clone()))
            .details(json!({ "provider": provider.id, "subject": verified.subject })),
        meta,
    )
    .await;
    Ok(Outcome::Pending { handle })
}

/// Now and then, forget flows and pending links that ended over an hour ago.
async fn purge_now_and_then(db: &DatabaseConnection) {
    let mut b = [0u8; 1];
    if random::fill(&mut b).is_err() || b[0] >= 8 {
        return;
    }
    let cutoff = Utc::now() - Duration::hours(1);
    let states = oidc_state::Entity::delete_many().filter(oidc_state::Column::ExpiresAt.lt(cutoff)).exec(db).await;
    let links =
        oidc_pending_link::Entity::delete_many().filter(oidc_pending_link::Column::ExpiresAt.lt(cutoff)).exec(db).await;
    if let Err(e) = states.and(links) {
        tracing::warn!(error = %e, "cannot prune finished external sign-ins");
    }
}

// ----- registering with a parked identity -----

/// The identity waiting for a PIN in this browser, as the activation page shows it.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct PendingExternalIdentity {
    /// The provider's id, as in `/api/v1/auth/providers`.
    pub provider: String,
    /// The provider's name, for "You signed in with …".
    pub provider_name: String,
    /// The email address the provider gave, if any.
    pub email: Option<String>,
    /// Whether the provider confirmed that address. Only a confirmed address is used when
    /// activation names none.
    pub email_verified: bool,
    pub name: Option<String>,
    pub expires_at: DateTime<Utc>,
}

/// Finish registering: the account number and PIN from the letter, with the external
/// identity that this browser signed in with instead of a password.
#[derive(Debug, Clone, Deserialize, ToSchema)]
pub struct ExternalActivationRequest {
    #[schema(example = "10004217")]
    pub account_number: String,
    /// The PIN printed in the letter; spaces and case do not matter.
    #[schema(value_type = String, example = "K7M2Q X9PAB")]
    pub pin: SecretString,
    /// The email address for the account (we contact you there). Leave it out to use the
    /// address your provider confirmed.
    #[serde(default)]
    pub email: Option<String>,
}

async fn find_pending(
    db: &DatabaseConnection,
    handle: &str,
) -> Result<Option<oidc_pending_link::Model>, IdentityError> {
    if handle.is_empty() || handle.len() > 128 {
        return Ok(None);
    }
    Ok(oidc_pending_link::Entity::find()
        .filter(oidc_pending_link::Column::HandleHash.eq(sha256_hex(handle)))
        .filter(oidc_pending_link::Column::ExpiresAt.gt(Utc::now()))
        .one(db)
        .await?)
}

/// `GET /auth/oidc/pending`.
pub async fn pending(
    db: &DatabaseConnection,
    providers: &[OidcProvider],
    handle: &str,
) -> Result<Option<PendingExternalIdentity>, IdentityError> {
    let Some(row) = find_pending(db, handle).await? else { return Ok(None) };
    let Some(provider) = providers.iter().find(|p| p.id == row.provider && p.issuer == row.issuer) else {
        return Ok(None);
    };
    Ok(Some(PendingExternalIdentity {
        provider: provider.id.clone(),
        provider_name: provider.name.clone(),
        email: row.email,
        email_verified: row.email_verified,
        name: row.name,
        expires_at: row.expires_at,
    }))
}

/// `DELETE /auth/oidc/pending`: "not you? use a password instead".
pub async fn discard_pending(db: &DatabaseConnection, handle: &str) -> Result<(), IdentityError> {
    oidc_pending_link::Entity::delete_many()
        .filter(oidc_pending_link::Column::HandleHash.eq(sha256_hex(handle)))
        .exec(db)
        .await?;
    Ok(())
}

/// `POST /auth/oidc/activate`: the PIN check, counting and locking of password activation
/// (`service::activate`, unchanged), with the parked identity linked instead of a password;
/// then the tenant is signed in.
#[instrument(skip_all)]
pub async fn activate(
    db: &DatabaseConnection,
    identity: &Identity,
    providers: &[OidcProvider],
    handle: Option<&str>,
    req: ExternalActivationRequest,
    meta: &ClientMeta,
) -> Result<Session, IdentityError> {
    let gone = || {
        IdentityError::conflict(
            Some("external_identity"),
            "The sign-in with your provider has expired or was already used: choose your provider again.",
        )
    };
    let row = match handle {
        Some(h) => find_pending(db, h).await?.ok_or_else(gone)?,
        None => return Err(gone()),
    };
    let provider = providers.iter().find(|p| p.id == row.provider && p.issuer == row.issuer).ok_or_else(gone)?;
    let email = match (req.email.as_deref().map(str::trim).filter(|e| !e.is_empty()), &row.email) {
        (Some(typed), _) => typed.to_owned(),
        (None, Some(confirmed)) if row.email_verified => confirmed.clone(),
        (None, _) => {
            return Err(IdentityError::invalid("email", "is required: your provider did not confirm an email address"));
        }
    };
    let activated = service::activate(
        db,
        Activation {
            account_number: req.account_number,
            pin: req.pin,
            email,
            credential: NewCredential::External { issuer: row.issuer.clone(), subject: row.subject.clone() },
        },
        meta,
    )
    .await?;
    oidc_pending_link::Entity::delete_by_id(row.id).exec(db).await?;
    let user = app_user::Entity::find_by_id(activated.user_id)
        .one(db)
        .await?
        .ok_or_else(|| anyhow::anyhow!("user {} went missing after activation", activated.user_id))?;
    let org = org_of(db, &user).await.ok().flatten();
    audit::record_best_effort(
        db,
        Event::new("identity.linked", Audit::Success, Actor::user(user.id, &user.email))
            .org(org)
            .object("user", user.id)
            .details(json!({ "provider": provider.id, "issuer": row.issuer, "via": "activation" })),
        meta,
    )
    .await;
    sessions::sign_in_verified_user(db, identity, &user, &method(provider), ClientKind::Web, meta).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn verifiers_are_valid_and_bound_to_the_browser() {
        let a = pkce_verifier("secret-a");
        let b = pkce_verifier("secret-b");
        assert_eq!(a.secret().len(), 43);
        assert!(a.secret().chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_'));
        assert_ne!(a.secret(), b.secret());
        assert_eq!(a.secret(), pkce_verifier("secret-a").secret());
    }

    #[test]
    fn outcomes_do_not_print_their_secrets() {
        let o = Outcome::Pending { handle: "h4ndle-s3cret".into() };
        assert!(!format!("{o:?}").contains("s3cret"));
    }

    #[test]
    fn redirect_uris_are_exact() {
        assert_eq!(
            redirect_uri("https://portal.example/", "google"),
            "https://portal.example/api/v1/auth/oidc/google/callback"
        );
    }
}
