//! The rows of `m20261122_000003_oidc`: flows under way and identities waiting for a PIN.
//! Only this module reads or writes them.

pub mod oidc_state {
    use sea_orm::entity::prelude::*;

    /// One authorization request sent to a provider, until its callback uses it.
    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "oidc_state")]
    pub struct Model {
        #[sea_orm(primary_key)]
        pub id: i64,
        pub state_hash: String,
        pub provider: String,
        pub intent: String,
        pub nonce: String,
        pub browser_hash: String,
        pub created_at: DateTimeUtc,
        pub expires_at: DateTimeUtc,
        pub used_at: Option<DateTimeUtc>,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

pub mod oidc_pending_link {
    use sea_orm::entity::prelude::*;

    /// A verified external identity that will link to the tenant who enters a PIN with it.
    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "oidc_pending_link")]
    pub struct Model {
        #[sea_orm(primary_key)]
        pub id: i64,
        pub handle_hash: String,
        pub provider: String,
        pub issuer: String,
        pub subject: String,
        pub email: Option<String>,
        pub email_verified: bool,
        pub name: Option<String>,
        pub created_at: DateTimeUtc,
        pub expires_at: DateTimeUtc,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}
