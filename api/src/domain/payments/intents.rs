//! Payments started in the portal: the tenant picks an account and an amount; we record an
//! intent, ask the provider for a hosted page and hand back its URL to embed. The
//! `Idempotency-Key` makes a retried request safe: the same key with the same request gives
//! the same payment; the same key with another request is refused.

use chrono::Utc;
use doorstep_shared::Money;
use sea_orm::{ActiveModelTrait, ActiveValue::Set, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter};
use sha2::{Digest, Sha256};

use super::provider::{CreatePayment, Providers};
use crate::domain::identity::model::Role;
use crate::domain::identity::{IdentityError, Principal, policy};
use crate::entity::{payment_intent, rent_account};

/// The most one card payment may be.
pub const MAX_PAYMENT_PENCE: i64 = 1_000_000;

#[derive(Debug, thiserror::Error)]
pub enum PaymentError {
    #[error(transparent)]
    Identity(#[from] IdentityError),
    #[error("{field} {message}")]
    Invalid { field: &'static str, message: String },
    #[error("the Idempotency-Key was already used for a different payment request")]
    KeyReused,
    #[error(transparent)]
    Provider(#[from] super::provider::ProviderError),
    #[error(transparent)]
    Db(#[from] sea_orm::DbErr),
}

impl From<PaymentError> for crate::ApiError {
    fn from(e: PaymentError) -> Self {
        use crate::ApiError;
        match e {
            PaymentError::Identity(i) => i.into(),
            PaymentError::Invalid { field, message } => ApiError::validation(field, message),
            PaymentError::KeyReused => ApiError::validation(
                "Idempotency-Key",
                "was already used for a different payment request: use a new key for a new payment",
            ),
            PaymentError::Provider(p) => ApiError::Unavailable(p.to_string()),
            PaymentError::Db(d) => d.into(),
        }
    }
}

/// A validated request to pay.
#[derive(Debug, Clone)]
pub struct PayRequest {
    pub account_id: i64,
    pub amount: Money,
    pub idempotency_key: String,
    /// Where the provider page sends the payer when done (the SPA's own page).
    pub return_url: String,
}

impl PayRequest {
    pub fn parse(
        account_id: i64,
        amount_pence: i64,
        idempotency_key: Option<&str>,
        return_url: String,
    ) -> Result<PayRequest, PaymentError> {
        let key = idempotency_key.map(str::trim).unwrap_or("");
        if key.is_empty() {
            return Err(PaymentError::Invalid {
                field: "Idempotency-Key",
                message: "header is required: send a new random value for each payment".into(),
            });
        }
        if key.len() > 255 || !key.chars().all(|c| c.is_ascii_graphic()) {
            return Err(PaymentError::Invalid {
                field: "Idempotency-Key",
                message: "must be 1 to 255 visible ASCII characters".into(),
            });
        }
        if amount_pence < 100 {
            return Err(PaymentError::Invalid {
                field: "amount_pence",
                message: "must be at least 100 (£1.00)".into(),
            });
        }
        if amount_pence > MAX_PAYMENT_PENCE {
            return Err(PaymentError::Invalid {
                field: "amount_pence",
                message: format!("must be at most {MAX_PAYMENT_PENCE} ({})", Money::from_pence(MAX_PAYMENT_PENCE)),
            });
        }
        Ok(PayRequest {
            account_id,
            amount: Money::from_pence(amount_pence),
            idempotency_key: key.to_owned(),
            return_url,
        })
    }

    fn hash(&self) -> String {
        hex::encode(Sha256::digest(format!("{}|{}", self.account_id, self.amount.pence())))
    }
}

/// The account the caller may pay into, and who is paying: a tenant into their own
/// accounts, or staff of the landlord taking a payment over the telephone. Checked before
/// the request is read, so that an account the caller may not see is a plain 404.
pub async fn payable_account(
    db: &impl ConnectionTrait,
    p: &Principal,
    account_id: i64,
) -> Result<(i64, rent_account::Model), PaymentError> {
    let account = crate::domain::ledger::access::visible_account(db, p, account_id).await?;
    match p {
        Principal::Tenant(t) => Ok((t.user_id, account)),
        Principal::Staff(_) => {
            let s = policy::require_staff(p, &[Role::CustomerService, Role::Income])?;
            Ok((s.user_id, account))
        }
        _ => Err(IdentityError::Forbidden("payments are started by a person, not an API key".into()).into()),
    }
}

/// Creates (or, for a repeated key, returns) the payment and its provider page.
pub async fn create(
    db: &sea_orm::DatabaseConnection,
    providers: &Providers,
    p: &Principal,
    req: PayRequest,
) -> Result<(payment_intent::Model, bool), PaymentError> {
    let (user_id, account) = payable_account(db, p, req.account_id).await?;
    let hash = req.hash();
    let existing = payment_intent::Entity::find()
        .filter(payment_intent::Column::UserId.eq(user_id))
        .filter(payment_intent::Column::IdempotencyKey.eq(req.idempotency_key.as_str()))
        .one(db)
        .await?;
    let intent = match existing {
        Some(i) if i.request_hash != hash => return Err(PaymentError::KeyReused),
        Some(i) if i.status != "provider_error" => return Ok((i, false)),
        Some(i) => i,
        None => {
            let provider = providers.checkout().key();
            let now = Utc::now();
            let row = payment_intent::ActiveModel {
                public_id: Set(format!("pi_{}", uuid::Uuid::new_v4().simple())),
                account_id: Set(account.id),
                user_id: Set(user_id),
                amount_pence: Set(req.amount.pence()),
                provider: Set(provider.to_owned()),
                status: Set("created".into()),
                idempotency_key: Set(req.idempotency_key.clone()),
                request_hash: Set(hash.clone()),
                return_url: Set(Some(req.return_url.clone())),
                created_at: Set(now),
                updated_at: Set(now),
                ..Default::default()
            };
            match row.insert(db).await {
                Ok(m) => m,
                // Two requests with one key at once: the other one won; answer with its row.
                Err(e) if matches!(e.sql_err(), Some(sea_orm::SqlErr::UniqueConstraintViolation(_))) => {
                    let winner = payment_intent::Entity::find()
                        .filter(payment_intent::Column::UserId.eq(user_id))
                        .filter(payment_intent::Column::IdempotencyKey.eq(req.idempotency_key.as_str()))
                        .one(db)
                        .await?
                        .ok_or(PaymentError::Db(e))?;
                    if winner.request_hash != hash {
                        return Err(PaymentError::KeyReused);
                    }
                    return Ok((winner, false));
                }
                Err(e) => return Err(e.into()),
            }
        }
    };

    let provider = providers.checkout();
    let request = CreatePayment {
        reference: intent.public_id.clone(),
        account_number: account.account_number.clone(),
        amount_pence: intent.amount_pence,
        description: format!("Payment to account {}", account.account_number),
        return_url: req.return_url.clone(),
    };
    let mut active: payment_intent::ActiveModel = intent.clone().into();
    match provider.create_payment(&request).await {
        Ok(created) => {
            active.status = Set("pending".into());
            active.provider_payment_id = Set(Some(created.payment_id));
            active.provider_session_id = Set(created.session_id);
            active.provider_url = Set(Some(created.url));
            active.failure_reason = Set(None);
            active.updated_at = Set(Utc::now());
            Ok((active.update(db).await?, true))
        }
        Err(e) => {
            tracing::warn!(intent = %intent.public_id, error = %e, "the payment provider did not start a payment");
            active.status = Set("provider_error".into());
            active.failure_reason = Set(Some(e.to_string()));
            active.updated_at = Set(Utc::now());
            active.update(db).await?;
            Err(e.into())
        }
    }
}

/// A payment the caller may see: the tenant who started it, or staff of the account's landlord.
pub async fn get(
    db: &impl ConnectionTrait,
    p: &Principal,
    public_id: &str,
) -> Result<payment_intent::Model, PaymentError> {
    policy::require_authenticated(p)?;
    let intent = payment_intent::Entity::find()
        .filter(payment_intent::Column::PublicId.eq(public_id))
        .one(db)
        .await?
        .ok_or(IdentityError::NotFound("payment"))?;
    let account = rent_account::Entity::find_by_id(intent.account_id).one(db).await?;
    let visible = match (p, account) {
        (Principal::Tenant(t), Some(_)) => t.user_id == intent.user_id && t.account_ids.contains(&intent.account_id),
        (other, Some(a)) => policy::can_view_account(other, a.organisation_id, a.id),
        (_, None) => false,
    };
    policy::visible_or_not_found(visible, "payment")?;
    Ok(intent)
}
