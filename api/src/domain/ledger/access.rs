//! Who may read which account: the ledger's use of the identity policy layer.

use crate::domain::identity::{IdentityError, Principal, policy};
use crate::entity::rent_account;

/// The account, if the caller may see it. Anonymous callers get `Unauthorized`; an account
/// that exists but is not theirs answers exactly like one that does not exist.
pub async fn visible_account(
    db: &impl sea_orm::ConnectionTrait,
    p: &Principal,
    id: i64,
) -> Result<rent_account::Model, IdentityError> {
    policy::require_authenticated(p)?;
    let account = super::views::account(db, id).await?.ok_or(IdentityError::NotFound("account"))?;
    policy::visible_or_not_found(policy::can_view_account(p, account.organisation_id, account.id), "account")?;
    Ok(account)
}
