//! Payments started in the portal.

pub mod create;
pub mod get;

use doorstep_shared::dto::Payment;

use crate::entity::payment_intent;

pub fn to_dto(m: payment_intent::Model) -> Payment {
    Payment {
        id: m.public_id,
        account_id: m.account_id,
        amount_pence: m.amount_pence,
        status: m.status,
        provider: m.provider,
        provider_url: m.provider_url,
        failure_reason: m.failure_reason,
        created_at: m.created_at,
    }
}
