//! External sign-in (OpenID Connect): the flows under way, and external identities waiting
//! for the PIN that links them to a tenancy.
//!
//! Both live in the database, not in a node's memory, so that the provider's redirect back
//! may land on any API node; and each row is single use, so that a replayed `state` or a
//! reused link fails. Secrets are stored only as SHA-256 hashes: the `state` value, the
//! browser-binding cookie (from which the PKCE verifier is also derived, so the verifier is
//! never stored) and the pending-link handle.

use sea_orm_migration::prelude::*;

use crate::columns::{text, text_null, timestamp};

#[derive(DeriveMigrationName)]
pub struct Migration;

fn index(name: &str, table: impl IntoIden, col: impl IntoIden) -> IndexCreateStatement {
    Index::create().name(name).table(table).col(col).to_owned()
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_table(
            Table::create()
                .table(OidcState::Table)
                .col(ColumnDef::new(OidcState::Id).big_integer().not_null().auto_increment().primary_key())
                // SHA-256 (hex) of the `state` sent to the provider: how the callback finds its flow.
                .col(text(OidcState::StateHash).unique_key())
                .col(text(OidcState::Provider))
                // `sign_in` or `register`.
                .col(text(OidcState::Intent))
                // Sent in the authorization request and required back in the ID token. Not a
                // secret (it is in the token), only single use.
                .col(text(OidcState::Nonce))
                // SHA-256 of the HttpOnly cookie set on the browser that started the flow: the
                // callback must come from that browser.
                .col(text(OidcState::BrowserHash))
                .col(timestamp(OidcState::CreatedAt))
                .col(timestamp(OidcState::ExpiresAt))
                // Set by the one callback that may use it.
                .col(ColumnDef::new(OidcState::UsedAt).timestamp_with_time_zone().null())
                .to_owned(),
        )
        .await?;
        m.create_index(index("ix_oidc_state_expires", OidcState::Table, OidcState::ExpiresAt)).await?;

        m.create_table(
            Table::create()
                .table(OidcPendingLink::Table)
                .col(ColumnDef::new(OidcPendingLink::Id).big_integer().not_null().auto_increment().primary_key())
                // SHA-256 of the HttpOnly cookie that holds the handle.
                .col(text(OidcPendingLink::HandleHash).unique_key())
                .col(text(OidcPendingLink::Provider))
                .col(text(OidcPendingLink::Issuer))
                .col(text(OidcPendingLink::Subject))
                .col(text_null(OidcPendingLink::Email))
                .col(ColumnDef::new(OidcPendingLink::EmailVerified).boolean().not_null().default(false))
                .col(text_null(OidcPendingLink::Name))
                .col(timestamp(OidcPendingLink::CreatedAt))
                .col(timestamp(OidcPendingLink::ExpiresAt))
                .to_owned(),
        )
        .await?;
        m.create_index(index("ix_oidc_pending_link_expires", OidcPendingLink::Table, OidcPendingLink::ExpiresAt))
            .await?;
        Ok(())
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.drop_table(Table::drop().table(OidcPendingLink::Table).to_owned()).await?;
        m.drop_table(Table::drop().table(OidcState::Table).to_owned()).await?;
        Ok(())
    }
}

#[derive(DeriveIden)]
enum OidcState {
    Table,
    Id,
    StateHash,
    Provider,
    Intent,
    Nonce,
    BrowserHash,
    CreatedAt,
    ExpiresAt,
    UsedAt,
}

#[derive(DeriveIden)]
enum OidcPendingLink {
    Table,
    Id,
    HandleHash,
    Provider,
    Issuer,
    Subject,
    Email,
    EmailVerified,
    Name,
    CreatedAt,
    ExpiresAt,
}
