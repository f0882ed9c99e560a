use sea_orm::entity::prelude::*;

/// A key that signs access tokens. The newest unretired one signs; retired ones stay in
/// the JWKS for a while so that tokens they signed still verify.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "signing_key")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    #[sea_orm(unique)]
    pub kid: String,
    pub alg: String,
    /// PKCS#8 DER, base64.
    pub private_key: String,
    /// The public JWK as JSON.
    pub public_jwk: String,
    pub created_at: DateTimeUtc,
    pub retired_at: Option<DateTimeUtc>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
