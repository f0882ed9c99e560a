//! Identity: sign-ins, external identities, registration requests and their PIN letters,
//! refresh tokens, API keys, token signing keys, the audit trail and shared rate-limit
//! counters.
//!
//! The user table is `app_user`, not `user`: `user` is a reserved word in PostgreSQL and
//! every hand-written statement would have to quote it.

use sea_orm_migration::prelude::*;

use crate::columns::{fk, fk_null, foreign, id, int0, long_text, text, text_null, timestamp, timestamp_null};

#[derive(DeriveMigrationName)]
pub struct Migration;

fn index(name: &str, table: impl IntoIden, cols: &[&'static str]) -> IndexCreateStatement {
    let mut i = Index::create();
    i.name(name).table(table);
    for c in cols {
        i.col(Alias::new(*c));
    }
    i.to_owned()
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        use ForeignKeyAction::{Cascade, Restrict, SetNull};

        m.create_table(
            Table::create()
                .table(AppUser::Table)
                .col(id(AppUser::Id))
                // Stored lower-cased; the unique index is the one place that says "taken".
                .col(text(AppUser::Email).unique_key())
                // NULL for a sign-in that only uses an external identity provider.
                .col(text_null(AppUser::PasswordHash))
                .col(text(AppUser::Role))
                .col(fk_null(AppUser::OrganisationId))
                // A tenant's person. Unique: one sign-in per person.
                .col(fk_null(AppUser::PersonId).unique_key())
                .col(text_null(AppUser::DisplayName))
                .col(text(AppUser::Status))
                .col(int0(AppUser::FailedLoginCount))
                .col(timestamp_null(AppUser::LockedUntil))
                .col(timestamp_null(AppUser::LastLoginAt))
                .col(timestamp(AppUser::CreatedAt))
                .foreign_key(&mut foreign(
                    AppUser::Table,
                    AppUser::OrganisationId,
                    Organisation::Table,
                    Organisation::Id,
                    Restrict,
                ))
                .foreign_key(&mut foreign(AppUser::Table, AppUser::PersonId, Person::Table, Person::Id, Restrict))
                .to_owned(),
        )
        .await?;
        m.create_index(index("ix_app_user_org", AppUser::Table, &["organisation_id"])).await?;

        m.create_table(
            Table::create()
                .table(IdentityLink::Table)
                .col(id(IdentityLink::Id))
                .col(fk(IdentityLink::UserId))
                .col(text(IdentityLink::Issuer))
                .col(text(IdentityLink::Subject))
                .col(text_null(IdentityLink::Email))
                .col(timestamp(IdentityLink::CreatedAt))
                .col(timestamp_null(IdentityLink::LastUsedAt))
                .foreign_key(&mut foreign(
                    IdentityLink::Table,
                    IdentityLink::UserId,
                    AppUser::Table,
                    AppUser::Id,
                    Cascade,
                ))
                .to_owned(),
        )
        .await?;
        m.create_index(
            index("ux_identity_link_iss_sub", IdentityLink::Table, &["issuer", "subject"]).unique().to_owned(),
        )
        .await?;
        m.create_index(index("ix_identity_link_user", IdentityLink::Table, &["user_id"])).await?;

        m.create_table(
            Table::create()
                .table(Registration::Table)
                .col(id(Registration::Id))
                // The landlord whose staff work this request: the matched tenancy's, or for an
                // unmatched request the landlord of the account number or postcode, if any.
                .col(fk_null(Registration::OrganisationId))
                // The request as typed.
                .col(text(Registration::AccountNumber))
                .col(text(Registration::Surname))
                .col(text(Registration::Postcode))
                .col(text_null(Registration::Email))
                // Registering with an external identity instead of an email address.
                .col(text_null(Registration::IdentityIssuer))
                .col(text_null(Registration::IdentitySubject))
                // What it matched, if anything.
                .col(fk_null(Registration::AccountId))
                .col(fk_null(Registration::TenancyId))
                .col(fk_null(Registration::PersonId))
                .col(text(Registration::Status))
                .col(text_null(Registration::RejectReason))
                .col(fk_null(Registration::DecidedBy))
                .col(timestamp_null(Registration::DecidedAt))
                // The PIN exists in clear only in the letter as it is produced; this is its
                // argon2id hash.
                .col(text_null(Registration::PinHash))
                .col(timestamp_null(Registration::PinExpiresAt))
                .col(int0(Registration::PinAttempts))
                // The day the letter is due in a print run, and when it was produced.
                .col(ColumnDef::new(Registration::LetterDue).date().null())
                .col(timestamp_null(Registration::LetterPrintedAt))
                .col(fk_null(Registration::UserId))
                .col(timestamp_null(Registration::ActivatedAt))
                .col(timestamp(Registration::CreatedAt))
                .col(text_null(Registration::RequestIp))
                .foreign_key(&mut foreign(
                    Registration::Table,
                    Registration::OrganisationId,
                    Organisation::Table,
                    Organisation::Id,
                    Restrict,
                ))
                .foreign_key(&mut foreign(
                    Registration::Table,
                    Registration::AccountId,
                    RentAccount::Table,
                    RentAccount::Id,
                    SetNull,
                ))
                .foreign_key(&mut foreign(
                    Registration::Table,
                    Registration::TenancyId,
                    Tenancy::Table,
                    Tenancy::Id,
                    SetNull,
                ))
                .foreign_key(&mut foreign(
                    Registration::Table,
                    Registration::PersonId,
                    Person::Table,
                    Person::Id,
                    SetNull,
                ))
                .foreign_key(&mut foreign(
                    Registration::Table,
                    Registration::DecidedBy,
                    AppUser::Table,
                    AppUser::Id,
                    SetNull,
                ))
                .foreign_key(&mut foreign(
                    Registration::Table,
                    Registration::UserId,
                    AppUser::Table,
                    AppUser::Id,
                    SetNull,
                ))
                .to_owned(),
        )
        .await?;
        m.create_index(index("ix_registration_org_status", Registration::Table, &["organisation_id", "status", "id"]))
            .await?;
        m.create_index(index("ix_registration_account_number", Registration::Table, &["account_number"])).await?;
        m.create_index(index("ix_registration_letter_due", Registration::Table, &["letter_due"])).await?;

        m.create_table(
            Table::create()
                .table(RefreshToken::Table)
                .col(id(RefreshToken::Id))
                .col(fk(RefreshToken::UserId))
                // SHA-256 of the 256-bit random token, hex.
                .col(text(RefreshToken::TokenHash).unique_key())
                .col(text(RefreshToken::FamilyId))
                .col(fk_null(RefreshToken::ParentId))
                // `web` (cookie) or `app` (body).
                .col(text(RefreshToken::Client))
                .col(timestamp(RefreshToken::CreatedAt))
                .col(timestamp(RefreshToken::ExpiresAt))
                // The family may not outlive this, however often it is refreshed.
                .col(timestamp(RefreshToken::FamilyExpiresAt))
                .col(timestamp_null(RefreshToken::UsedAt))
                .col(timestamp_null(RefreshToken::RevokedAt))
                .foreign_key(&mut foreign(
                    RefreshToken::Table,
                    RefreshToken::UserId,
                    AppUser::Table,
                    AppUser::Id,
                    Cascade,
                ))
                .to_owned(),
        )
        .await?;
        m.create_index(index("ix_refresh_token_family", RefreshToken::Table, &["family_id"])).await?;
        m.create_index(index("ix_refresh_token_user", RefreshToken::Table, &["user_id"])).await?;

        m.create_table(
            Table::create()
                .table(ApiKey::Table)
                .col(id(ApiKey::Id))
                .col(fk(ApiKey::OrganisationId))
                .col(text(ApiKey::Name))
                // The first characters of the key, to recognise it in a list; not secret.
                .col(text(ApiKey::Prefix))
                // SHA-256 of the whole key, hex: keys are 256-bit random, so a slow hash buys
                // nothing and would slow every machine request.
                .col(text(ApiKey::KeyHash).unique_key())
                // Space-separated.
                .col(text(ApiKey::Scopes))
                .col(fk_null(ApiKey::CreatedBy))
                .col(timestamp(ApiKey::CreatedAt))
                .col(timestamp_null(ApiKey::LastUsedAt))
                .col(timestamp_null(ApiKey::RevokedAt))
                .foreign_key(&mut foreign(
                    ApiKey::Table,
                    ApiKey::OrganisationId,
                    Organisation::Table,
                    Organisation::Id,
                    Cascade,
                ))
                .foreign_key(&mut foreign(ApiKey::Table, ApiKey::CreatedBy, AppUser::Table, AppUser::Id, SetNull))
                .to_owned(),
        )
        .await?;
        m.create_index(index("ix_api_key_org", ApiKey::Table, &["organisation_id"])).await?;

        m.create_table(
            Table::create()
                .table(SigningKey::Table)
                .col(id(SigningKey::Id))
                .col(text(SigningKey::Kid).unique_key())
                .col(text(SigningKey::Alg))
                // PKCS#8 DER, base64. Every API node reads it from here so they all sign alike.
                .col(long_text(SigningKey::PrivateKey))
                .col(long_text(SigningKey::PublicJwk))
                .col(timestamp(SigningKey::CreatedAt))
                .col(timestamp_null(SigningKey::RetiredAt))
                .to_owned(),
        )
        .await?;

        m.create_table(
            Table::create()
                .table(AuditEvent::Table)
                .col(id(AuditEvent::Id))
                .col(timestamp(AuditEvent::At))
                // `anonymous`, `user`, `api_key`, `system`.
                .col(text(AuditEvent::ActorKind))
                .col(fk_null(AuditEvent::ActorUserId))
                .col(fk_null(AuditEvent::ActorApiKeyId))
                // Who, as people read it (an email address, a key's name).
                .col(text_null(AuditEvent::ActorLabel))
                // Whose trail this belongs in.
                .col(fk_null(AuditEvent::OrganisationId))
                .col(text(AuditEvent::Action))
                .col(text_null(AuditEvent::ObjectType))
                .col(text_null(AuditEvent::ObjectId))
                // `success`, `failure`, `denied`.
                .col(text(AuditEvent::Outcome))
                .col(text_null(AuditEvent::Ip))
                .col(text_null(AuditEvent::UserAgent))
                .col(long_text(AuditEvent::Details))
                .to_owned(),
        )
        .await?;
        m.create_index(index("ix_audit_event_org", AuditEvent::Table, &["organisation_id", "id"])).await?;
        m.create_index(index("ix_audit_event_action", AuditEvent::Table, &["action"])).await?;

        // Fixed-window counters shared by every API node. The key is a hash, so the table
        // holds no email addresses or account numbers.
        m.create_table(
            Table::create()
                .table(RateLimit::Table)
                .col(ColumnDef::new(RateLimit::Bucket).string().not_null().primary_key())
                // Unix seconds.
                .col(ColumnDef::new(RateLimit::WindowStart).big_integer().not_null())
                .col(ColumnDef::new(RateLimit::Hits).big_integer().not_null())
                .to_owned(),
        )
        .await?;
        Ok(())
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        for table in [
            RateLimit::Table.into_iden(),
            AuditEvent::Table.into_iden(),
            SigningKey::Table.into_iden(),
            ApiKey::Table.into_iden(),
            RefreshToken::Table.into_iden(),
            Registration::Table.into_iden(),
            IdentityLink::Table.into_iden(),
            AppUser::Table.into_iden(),
        ] {
            m.drop_table(Table::drop().table(table).to_owned()).await?;
        }
        Ok(())
    }
}

#[derive(DeriveIden)]
enum Organisation {
    Table,
    Id,
}

#[derive(DeriveIden)]
enum Person {
    Table,
    Id,
}

#[derive(DeriveIden)]
enum Tenancy {
    Table,
    Id,
}

#[derive(DeriveIden)]
enum RentAccount {
    Table,
    Id,
}

#[derive(DeriveIden)]
enum AppUser {
    Table,
    Id,
    Email,
    PasswordHash,
    Role,
    OrganisationId,
    PersonId,
    DisplayName,
    Status,
    FailedLoginCount,
    LockedUntil,
    LastLoginAt,
    CreatedAt,
}

#[derive(DeriveIden)]
enum IdentityLink {
    Table,
    Id,
    UserId,
    Issuer,
    Subject,
    Email,
    CreatedAt,
    LastUsedAt,
}

#[derive(DeriveIden)]
enum Registration {
    Table,
    Id,
    OrganisationId,
    AccountNumber,
    Surname,
    Postcode,
    Email,
    IdentityIssuer,
    IdentitySubject,
    AccountId,
    TenancyId,
    PersonId,
    Status,
    RejectReason,
    DecidedBy,
    DecidedAt,
    PinHash,
    PinExpiresAt,
    PinAttempts,
    LetterDue,
    LetterPrintedAt,
    UserId,
    ActivatedAt,
    CreatedAt,
    RequestIp,
}

#[derive(DeriveIden)]
enum RefreshToken {
    Table,
    Id,
    UserId,
    TokenHash,
    FamilyId,
    ParentId,
    Client,
    CreatedAt,
    ExpiresAt,
    FamilyExpiresAt,
    UsedAt,
    RevokedAt,
}

#[derive(DeriveIden)]
enum ApiKey {
    Table,
    Id,
    OrganisationId,
    Name,
    Prefix,
    KeyHash,
    Scopes,
    CreatedBy,
    CreatedAt,
    LastUsedAt,
    RevokedAt,
}

#[derive(DeriveIden)]
enum SigningKey {
    Table,
    Id,
    Kid,
    Alg,
    PrivateKey,
    PublicJwk,
    CreatedAt,
    RetiredAt,
}

#[derive(DeriveIden)]
enum AuditEvent {
    Table,
    Id,
    At,
    ActorKind,
    ActorUserId,
    ActorApiKeyId,
    ActorLabel,
    OrganisationId,
    Action,
    ObjectType,
    ObjectId,
    Outcome,
    Ip,
    UserAgent,
    Details,
}

#[derive(DeriveIden)]
enum RateLimit {
    Table,
    Bucket,
    WindowStart,
    Hits,
}
