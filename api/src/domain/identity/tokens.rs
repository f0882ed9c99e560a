//! Access tokens: EdDSA (Ed25519) JWTs per RFC 9068 (`typ` `at+jwt`), checked per RFC 8725
//! (one algorithm allowed, `typ`, `iss`, `aud`, `exp`/`nbf` with a small leeway).
//!
//! Signing keys live in the database so that every API node signs and verifies alike. The
//! newest unretired key signs. A rotated key stays published (and accepted) for
//! [`RETIRED_KEY_GRACE`], longer than any access token lives, and then disappears from the
//! JWKS. Each node caches the keys for a minute and reloads at once when it meets a key id
//! it does not know, so a rotation on one node reaches the others.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant};

use anyhow::{Context, anyhow};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use chrono::Utc;
use jsonwebtoken::jwk::{Jwk, PublicKeyUse, ThumbprintHash};
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use sea_orm::sea_query::{Expr, ExprTrait};
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, ConnectionTrait, DatabaseConnection, EntityTrait, QueryFilter,
    QueryOrder, TransactionTrait,
};
use serde::{Deserialize, Serialize};

use super::error::IdentityError;
use crate::entity::signing_key;

/// Access tokens live this long.
pub const ACCESS_TTL_SECS: i64 = 15 * 60;
/// Clock skew allowed on `exp` and `nbf`.
pub const LEEWAY_SECS: u64 = 30;
/// The audience of every access token this server issues.
pub const AUDIENCE: &str = "doorstep-api";
/// RFC 9068's media type for JWT access tokens, as the `typ` header.
pub const TOKEN_TYPE: &str = "at+jwt";
/// How long a retired key stays in the JWKS: four access-token lifetimes.
pub const RETIRED_KEY_GRACE: chrono::Duration = chrono::Duration::hours(1);
/// A key this old is rotated automatically when the keys are next loaded.
pub const MAX_KEY_AGE: chrono::Duration = chrono::Duration::days(90);
/// Retired keys' private material is deleted after this.
const PURGE_AFTER: chrono::Duration = chrono::Duration::days(30);
const CACHE_TTL: Duration = Duration::from_secs(60);
const FORCED_RELOAD_GAP: Duration = Duration::from_secs(5);
const ALG: &str = "EdDSA";

/// PKCS#8 v1 wrapping of an Ed25519 seed (RFC 8410): this prefix, then the 32-byte seed.
const ED25519_PKCS8_PREFIX: [u8; 16] =
    [0x30, 0x2e, 0x02, 0x01, 0x00, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x04, 0x22, 0x04, 0x20];

/// What an access token says.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct AccessClaims {
    pub iss: String,
    pub aud: String,
    /// The user id.
    pub sub: String,
    pub exp: i64,
    pub iat: i64,
    pub nbf: i64,
    pub jti: String,
    /// `doorstep-web` or `doorstep-app` (RFC 9068 `client_id`).
    pub client_id: String,
    pub role: String,
    /// A member of staff's organisation.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub org: Option<i64>,
}

/// A freshly made Ed25519 key: the PKCS#8 DER and its public JWK (with `kid`).
pub struct GeneratedKey {
    pub kid: String,
    pub pkcs8_der: Vec<u8>,
    pub public_jwk: Jwk,
}

pub fn generate_ed25519() -> Result<GeneratedKey, IdentityError> {
    let mut seed = [0u8; 32];
    super::random::fill(&mut seed)?;
    let mut der = Vec::with_capacity(48);
    der.extend_from_slice(&ED25519_PKCS8_PREFIX);
    der.extend_from_slice(&seed);
    let key = EncodingKey::from_ed_der(&der);
    let mut jwk = Jwk::from_encoding_key(&key, Algorithm::EdDSA).context("deriving the public key")?;
    let kid = jwk.thumbprint(ThumbprintHash::SHA256).context("key thumbprint")?;
    jwk.common.key_id = Some(kid.clone());
    jwk.common.public_key_use = Some(PublicKeyUse::Signature);
    Ok(GeneratedKey { kid, pkcs8_der: der, public_jwk: jwk })
}

struct Loaded {
    at: Instant,
    signer: Option<(String, EncodingKey)>,
    verifiers: HashMap<String, DecodingKey>,
    jwks: serde_json::Value,
}

/// The signing keys as this node sees them, cached.
pub struct KeyStore {
    issuer: String,
    cache: RwLock<Option<Arc<Loaded>>>,
    last_forced: Mutex<Option<Instant>>,
}

impl KeyStore {
    pub fn new(issuer: impl Into<String>) -> KeyStore {
        KeyStore { issuer: issuer.into(), cache: RwLock::new(None), last_forced: Mutex::new(None) }
    }

    pub fn issuer(&self) -> &str {
        &self.issuer
    }

    /// Drops the cache so that the next use reads the database.
    pub fn invalidate(&self) {
        if let Ok(mut c) = self.cache.write() {
            *c = None;
        }
    }

    async fn loaded(&self, db: &DatabaseConnection) -> Result<Arc<Loaded>, IdentityError> {
        let cached = self.cache.read().ok().and_then(|c| c.as_ref().filter(|l| l.at.elapsed() < CACHE_TTL).cloned());
        match cached {
            Some(l) => Ok(l),
            None => self.reload(db).await,
        }
    }

    async fn reload(&self, db: &DatabaseConnection) -> Result<Arc<Loaded>, IdentityError> {
        let loaded = Arc::new(load(db).await?);
        if let Ok(mut c) = self.cache.write() {
            *c = Some(loaded.clone());
        }
        Ok(loaded)
    }

    /// Signs `claims` with the current key.
    pub async fn sign(&self, db: &DatabaseConnection, claims: &AccessClaims) -> Result<String, IdentityError> {
        let loaded = self.loaded(db).await?;
        let loaded = if loaded.signer.is_some() { loaded } else { self.reload(db).await? };
        let (kid, key) = loaded.signer.as_ref().ok_or_else(|| anyhow!("no signing key after loading the keys"))?;
        let mut header = Header::new(Algorithm::EdDSA);
        header.typ = Some(TOKEN_TYPE.to_owned());
        header.kid = Some(kid.clone());
        Ok(jsonwebtoken::encode(&header, claims, key).context("signing an access token")?)
    }

    /// Checks an access token. Every failure is `Unauthorized`: the caller learns nothing
    /// about which check failed.
    pub async fn verify(&self, db: &DatabaseConnection, token: &str) -> Result<AccessClaims, IdentityError> {
        let header = jsonwebtoken::decode_header(token).map_err(|_| IdentityError::Unauthorized)?;
        if header.alg != Algorithm::EdDSA {
            return Err(IdentityError::Unauthorized);
        }
        let typ_ok = header
            .typ
            .as_deref()
            .map(|t| t.eq_ignore_ascii_case(TOKEN_TYPE) || t.eq_ignore_ascii_case("application/at+jwt"))
            .unwrap_or(false);
        if !typ_ok {
            return Err(IdentityError::Unauthorized);
        }
        let kid = header.kid.ok_or(IdentityError::Unauthorized)?;
        let mut loaded = self.loaded(db).await?;
        if !loaded.verifiers.contains_key(&kid) && self.may_force_reload() {
            loaded = self.reload(db).await?;
        }
        let key = loaded.verifiers.get(&kid).ok_or(IdentityError::Unauthorized)?;
        let mut validation = Validation::new(Algorithm::EdDSA);
        validation.leeway = LEEWAY_SECS;
        validation.validate_nbf = true;
        validation.set_issuer(&[self.issuer.as_str()]);
        validation.set_audience(&[AUDIENCE]);
        validation.set_required_spec_claims(&["exp", "nbf", "iss", "aud", "sub"]);
        let data =
            jsonwebtoken::decode::<AccessClaims>(token, key, &validation).map_err(|_| IdentityError::Unauthorized)?;
        Ok(data.claims)
    }

    /// The JWKS document: the current key and recently retired ones.
    pub async fn jwks(&self, db: &DatabaseConnection) -> Result<serde_json::Value, IdentityError> {
        Ok(self.loaded(db).await?.jwks.clone())
    }

    fn may_force_reload(&self) -> bool {
        let Ok(mut last) = self.last_forced.lock() else { return false };
        if last.is_some_and(|t| t.elapsed() < FORCED_RELOAD_GAP) {
            return false;
        }
        *last = Some(Instant::now());
        true
    }
}

async fn load(db: &DatabaseConnection) -> Result<Loaded, IdentityError> {
    let mut rows = published_keys(db).await?;
    let newest_active = rows.iter().find(|k| k.retired_at.is_none());
    let needs_key = match newest_active {
        None => true,
        Some(k) => Utc::now() - k.created_at > MAX_KEY_AGE,
    };
    if needs_key {
        let kid = rotate(db).await?;
        tracing::info!(%kid, "generated a new token signing key");
        rows = published_keys(db).await?;
    }
    let mut verifiers = HashMap::new();
    let mut jwks = Vec::new();
    for row in &rows {
        let jwk: Jwk = serde_json::from_str(&row.public_jwk).with_context(|| format!("signing key {}", row.kid))?;
        let key = DecodingKey::from_jwk(&jwk).with_context(|| format!("signing key {}", row.kid))?;
        verifiers.insert(row.kid.clone(), key);
        jwks.push(serde_json::to_value(&jwk).context("serialising a JWK")?);
    }
    let signer = match rows.iter().find(|k| k.retired_at.is_none()) {
        Some(row) => {
            let der = STANDARD.decode(&row.private_key).with_context(|| format!("signing key {}", row.kid))?;
            Some((row.kid.clone(), EncodingKey::from_ed_der(&der)))
        }
        None => None,
    };
    Ok(Loaded { at: Instant::now(), signer, verifiers, jwks: serde_json::json!({ "keys": jwks }) })
}

/// Keys that verify tokens: unretired ones and those retired within the grace period,
/// newest first.
async fn published_keys(db: &impl ConnectionTrait) -> Result<Vec<signing_key::Model>, IdentityError> {
    let since = Utc::now() - RETIRED_KEY_GRACE;
    Ok(signing_key::Entity::find()
        .filter(signing_key::Column::Alg.eq(ALG))
        .filter(signing_key::Column::RetiredAt.is_null().or(signing_key::Column::RetiredAt.gt(since)))
        .order_by_desc(signing_key::Column::CreatedAt)
        .order_by_desc(signing_key::Column::Id)
        .all(db)
        .await?)
}

/// Makes a new signing key and retires the others; deletes keys retired long ago. Returns
/// the new key id. Other nodes pick the key up within a minute, or at once when they see a
/// token it signed.
pub async fn rotate(db: &DatabaseConnection) -> Result<String, IdentityError> {
    let key = generate_ed25519()?;
    let now = Utc::now();
    let txn = db.begin().await?;
    signing_key::Entity::update_many()
        .col_expr(signing_key::Column::RetiredAt, Expr::value(now))
        .filter(signing_key::Column::RetiredAt.is_null())
        .exec(&txn)
        .await?;
    signing_key::Entity::delete_many().filter(signing_key::Column::RetiredAt.lt(now - PURGE_AFTER)).exec(&txn).await?;
    signing_key::ActiveModel {
        kid: Set(key.kid.clone()),
        alg: Set(ALG.to_owned()),
        private_key: Set(STANDARD.encode(&key.pkcs8_der)),
        public_jwk: Set(serde_json::to_string(&key.public_jwk).context("serialising a JWK")?),
        created_at: Set(now),
        retired_at: Set(None),
        ..Default::default()
    }
    .insert(&txn)
    .await?;
    txn.commit().await?;
    Ok(key.kid)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_keys_sign_and_their_jwk_verifies() {
        let k = generate_ed25519().unwrap();
        let claims = AccessClaims {
            iss: "https://portal.example".into(),
            aud: AUDIENCE.into(),
            sub: "1".into(),
            exp: Utc::now().timestamp() + 60,
            iat: Utc::now().timestamp(),
            nbf: Utc::now().timestamp(),
            jti: "j".into(),
            client_id: "doorstep-web".into(),
            role: "tenant".into(),
            org: None,
        };
        let mut header = Header::new(Algorithm::EdDSA);
        header.typ = Some(TOKEN_TYPE.into());
        let token = jsonwebtoken::encode(&header, &claims, &EncodingKey::from_ed_der(&k.pkcs8_der)).unwrap();
        let mut v = Validation::new(Algorithm::EdDSA);
        v.set_audience(&[AUDIENCE]);
        let decoded =
            jsonwebtoken::decode::<AccessClaims>(&token, &DecodingKey::from_jwk(&k.public_jwk).unwrap(), &v).unwrap();
        assert_eq!(decoded.claims, claims);
        let jwk = serde_json::to_value(&k.public_jwk).unwrap();
        assert_eq!(jwk["kty"], "OKP");
        assert_eq!(jwk["crv"], "Ed25519");
        assert_eq!(jwk["kid"], k.kid.as_str());
        assert!(jwk.get("d").is_none(), "the JWK must not carry the private key");
    }
}
