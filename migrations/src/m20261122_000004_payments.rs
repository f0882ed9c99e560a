//! Payments: intents started in the portal, the provider inbox, the suspense account, the
//! outbox to the housing management system, and end-of-day reconciliation.
//!
//! Every notification is recorded in `provider_event` (UNIQUE on provider and event id, so a
//! redelivery is a no-op) in the same transaction as its ledger posting and its outbox row.
//! A payment for an account reference that matches no account is held in `suspense_payment`
//! until staff allocate it. `reconciliation_run` is UNIQUE on the file's SHA-256, so that a
//! file loaded twice changes nothing.

use sea_orm_migration::prelude::*;

use crate::columns::{fk, fk_null, foreign, id, int0, long_text, pence, text, text_null, timestamp, timestamp_null};

#[derive(DeriveMigrationName)]
pub struct Migration;

fn index(name: &str, table: impl IntoIden, cols: Vec<DynIden>) -> IndexCreateStatement {
    let mut i = Index::create().name(name).table(table).to_owned();
    for c in cols {
        i.col(c);
    }
    i
}

fn unique(name: &str, table: impl IntoIden, cols: Vec<DynIden>) -> IndexCreateStatement {
    let mut i = index(name, table, cols);
    i.unique();
    i
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_table(
            Table::create()
                .table(PaymentIntent::Table)
                .col(id(PaymentIntent::Id))
                // What clients see: `pi_` and a random id, never the row number.
                .col(text(PaymentIntent::PublicId).unique_key())
                .col(fk(PaymentIntent::AccountId))
                .col(fk(PaymentIntent::UserId))
                .col(pence(PaymentIntent::AmountPence))
                .col(text(PaymentIntent::Provider))
                // created, pending (the provider page is open), succeeded, failed, provider_error.
                .col(text(PaymentIntent::Status))
                .col(text(PaymentIntent::IdempotencyKey))
                // SHA-256 of the request that first used the key: the same key with another
                // request is refused.
                .col(text(PaymentIntent::RequestHash))
                .col(text_null(PaymentIntent::ProviderPaymentId))
                .col(text_null(PaymentIntent::ProviderSessionId))
                .col(text_null(PaymentIntent::ProviderUrl))
                .col(text_null(PaymentIntent::ReturnUrl))
                .col(fk_null(PaymentIntent::LedgerEntryId))
                .col(text_null(PaymentIntent::FailureReason))
                .col(timestamp(PaymentIntent::CreatedAt))
                .col(timestamp(PaymentIntent::UpdatedAt))
                .foreign_key(&mut foreign(
                    PaymentIntent::Table,
                    PaymentIntent::AccountId,
                    RentAccount::Table,
                    RentAccount::Id,
                    ForeignKeyAction::Restrict,
                ))
                .foreign_key(&mut foreign(
                    PaymentIntent::Table,
                    PaymentIntent::UserId,
                    AppUser::Table,
                    AppUser::Id,
                    ForeignKeyAction::Restrict,
                ))
                .to_owned(),
        )
        .await?;
        m.create_index(unique(
            "ux_payment_intent_key",
            PaymentIntent::Table,
            vec![PaymentIntent::UserId.into_iden(), PaymentIntent::IdempotencyKey.into_iden()],
        ))
        .await?;
        m.create_index(unique(
            "ux_payment_intent_provider_payment",
            PaymentIntent::Table,
            vec![PaymentIntent::Provider.into_iden(), PaymentIntent::ProviderPaymentId.into_iden()],
        ))
        .await?;
        m.create_index(index(
            "ix_payment_intent_account",
            PaymentIntent::Table,
            vec![PaymentIntent::AccountId.into_iden()],
        ))
        .await?;

        m.create_table(
            Table::create()
                .table(ProviderEvent::Table)
                .col(id(ProviderEvent::Id))
                .col(text(ProviderEvent::Provider))
                .col(text(ProviderEvent::EventId))
                .col(text(ProviderEvent::EventType))
                .col(text_null(ProviderEvent::ProviderPaymentId))
                // posted, already_posted, suspense, failed_payment, ignored, conflict.
                .col(text(ProviderEvent::Outcome))
                .col(fk_null(ProviderEvent::LedgerEntryId))
                .col(long_text(ProviderEvent::Payload))
                .col(timestamp(ProviderEvent::ReceivedAt))
                .to_owned(),
        )
        .await?;
        m.create_index(unique(
            "ux_provider_event",
            ProviderEvent::Table,
            vec![ProviderEvent::Provider.into_iden(), ProviderEvent::EventId.into_iden()],
        ))
        .await?;
        m.create_index(index(
            "ix_provider_event_payment",
            ProviderEvent::Table,
            vec![ProviderEvent::Provider.into_iden(), ProviderEvent::ProviderPaymentId.into_iden()],
        ))
        .await?;

        m.create_table(
            Table::create()
                .table(SuspensePayment::Table)
                .col(id(SuspensePayment::Id))
                .col(fk_null(SuspensePayment::OrganisationId))
                .col(text(SuspensePayment::Provider))
                .col(text(SuspensePayment::ProviderPaymentId))
                // The reference the payer gave, which matched no account.
                .col(text(SuspensePayment::AccountReference))
                .col(pence(SuspensePayment::AmountPence))
                .col(text(SuspensePayment::Channel))
                .col(timestamp(SuspensePayment::PaidAt))
                .col(timestamp(SuspensePayment::ReceivedAt))
                // webhook or reconciliation.
                .col(text(SuspensePayment::Origin))
                // open, allocated, closed.
                .col(text(SuspensePayment::Status))
                .col(fk_null(SuspensePayment::AllocatedAccountId))
                .col(fk_null(SuspensePayment::LedgerEntryId))
                .col(text_null(SuspensePayment::Note))
                .col(fk_null(SuspensePayment::ResolvedBy))
                .col(timestamp_null(SuspensePayment::ResolvedAt))
                .to_owned(),
        )
        .await?;
        m.create_index(unique(
            "ux_suspense_payment",
            SuspensePayment::Table,
            vec![SuspensePayment::Provider.into_iden(), SuspensePayment::ProviderPaymentId.into_iden()],
        ))
        .await?;
        m.create_index(index("ix_suspense_status", SuspensePayment::Table, vec![SuspensePayment::Status.into_iden()]))
            .await?;

        m.create_table(
            Table::create()
                .table(Outbox::Table)
                .col(id(Outbox::Id))
                // What the message is for, e.g. `hms.payment`.
                .col(text(Outbox::Topic))
                // The idempotency key every delivery carries; unique per topic.
                .col(text(Outbox::MessageKey))
                .col(long_text(Outbox::Payload))
                .col(timestamp(Outbox::CreatedAt))
                .col(int0(Outbox::Attempts))
                .col(timestamp(Outbox::NextAttemptAt))
                .col(timestamp_null(Outbox::DeliveredAt))
                .col(text_null(Outbox::LastError))
                .to_owned(),
        )
        .await?;
        m.create_index(unique(
            "ux_outbox_key",
            Outbox::Table,
            vec![Outbox::Topic.into_iden(), Outbox::MessageKey.into_iden()],
        ))
        .await?;
        m.create_index(index(
            "ix_outbox_due",
            Outbox::Table,
            vec![Outbox::DeliveredAt.into_iden(), Outbox::NextAttemptAt.into_iden()],
        ))
        .await?;

        m.create_table(
            Table::create()
                .table(ReconciliationRun::Table)
                .col(id(ReconciliationRun::Id))
                .col(text(ReconciliationRun::Provider))
                .col(text(ReconciliationRun::FileName))
                .col(text(ReconciliationRun::FileSha256))
                .col(timestamp(ReconciliationRun::StartedAt))
                .col(timestamp_null(ReconciliationRun::FinishedAt))
                .col(int0(ReconciliationRun::Lines))
                .col(int0(ReconciliationRun::Matched))
                .col(int0(ReconciliationRun::Late))
                .col(int0(ReconciliationRun::AmountMismatch))
                .col(int0(ReconciliationRun::UnknownAccount))
                .col(int0(ReconciliationRun::NotInFile))
                .col(pence(ReconciliationRun::FileTotalPence))
                .col(pence(ReconciliationRun::LatePostedPence))
                .to_owned(),
        )
        .await?;
        m.create_index(unique(
            "ux_reconciliation_file",
            ReconciliationRun::Table,
            vec![ReconciliationRun::Provider.into_iden(), ReconciliationRun::FileSha256.into_iden()],
        ))
        .await?;

        m.create_table(
            Table::create()
                .table(ReconciliationItem::Table)
                .col(id(ReconciliationItem::Id))
                .col(fk(ReconciliationItem::RunId))
                .col(fk_null(ReconciliationItem::OrganisationId))
                // 0 for an entry in the ledger that the file does not list.
                .col(int0(ReconciliationItem::LineNo))
                .col(text(ReconciliationItem::ProviderPaymentId))
                .col(text(ReconciliationItem::AccountReference))
                .col(ColumnDef::new(ReconciliationItem::FileAmountPence).big_integer().null())
                .col(ColumnDef::new(ReconciliationItem::LedgerAmountPence).big_integer().null())
                .col(text_null(ReconciliationItem::Channel))
                .col(timestamp_null(ReconciliationItem::PaidAt))
                // matched, late, amount_mismatch, unknown_account, not_in_file.
                .col(text(ReconciliationItem::Status))
                .col(fk_null(ReconciliationItem::LedgerEntryId))
                // open or resolved (exceptions only; matched items are resolved).
                .col(text(ReconciliationItem::Resolution))
                .col(text_null(ReconciliationItem::Note))
                .col(fk_null(ReconciliationItem::ResolvedBy))
                .col(timestamp_null(ReconciliationItem::ResolvedAt))
                .foreign_key(&mut foreign(
                    ReconciliationItem::Table,
                    ReconciliationItem::RunId,
                    ReconciliationRun::Table,
                    ReconciliationRun::Id,
                    ForeignKeyAction::Cascade,
                ))
                .to_owned(),
        )
        .await?;
        m.create_index(index(
            "ix_reconciliation_item_run",
            ReconciliationItem::Table,
            vec![ReconciliationItem::RunId.into_iden(), ReconciliationItem::Status.into_iden()],
        ))
        .await?;

        // How tenants pay, by channel and day: a range of dates read from the index alone.
        m.create_index(index(
            "ix_ledger_entry_date_channel",
            LedgerEntry::Table,
            vec![
                LedgerEntry::EffectiveDate.into_iden(),
                LedgerEntry::Channel.into_iden(),
                LedgerEntry::AmountPence.into_iden(),
            ],
        ))
        .await?;
        Ok(())
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.drop_index(Index::drop().name("ix_ledger_entry_date_channel").table(LedgerEntry::Table).to_owned()).await?;
        for t in [
            ReconciliationItem::Table.into_iden(),
            ReconciliationRun::Table.into_iden(),
            Outbox::Table.into_iden(),
            SuspensePayment::Table.into_iden(),
            ProviderEvent::Table.into_iden(),
            PaymentIntent::Table.into_iden(),
        ] {
            m.drop_table(Table::drop().table(t).to_owned()).await?;
        }
        Ok(())
    }
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
}

#[derive(DeriveIden)]
enum LedgerEntry {
    Table,
    Channel,
    EffectiveDate,
    AmountPence,
}

#[derive(DeriveIden)]
enum PaymentIntent {
    Table,
    Id,
    PublicId,
    AccountId,
    UserId,
    AmountPence,
    Provider,
    Status,
    IdempotencyKey,
    RequestHash,
    ProviderPaymentId,
    ProviderSessionId,
    ProviderUrl,
    ReturnUrl,
    LedgerEntryId,
    FailureReason,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum ProviderEvent {
    Table,
    Id,
    Provider,
    EventId,
    EventType,
    ProviderPaymentId,
    Outcome,
    LedgerEntryId,
    Payload,
    ReceivedAt,
}

#[derive(DeriveIden)]
enum SuspensePayment {
    Table,
    Id,
    OrganisationId,
    Provider,
    ProviderPaymentId,
    AccountReference,
    AmountPence,
    Channel,
    PaidAt,
    ReceivedAt,
    Origin,
    Status,
    AllocatedAccountId,
    LedgerEntryId,
    Note,
    ResolvedBy,
    ResolvedAt,
}

#[derive(DeriveIden)]
enum Outbox {
    Table,
    Id,
    Topic,
    MessageKey,
    Payload,
    CreatedAt,
    Attempts,
    NextAttemptAt,
    DeliveredAt,
    LastError,
}

#[derive(DeriveIden)]
enum ReconciliationRun {
    Table,
    Id,
    Provider,
    FileName,
    FileSha256,
    StartedAt,
    FinishedAt,
    Lines,
    Matched,
    Late,
    AmountMismatch,
    UnknownAccount,
    NotInFile,
    FileTotalPence,
    LatePostedPence,
}

#[derive(DeriveIden)]
enum ReconciliationItem {
    Table,
    Id,
    RunId,
    OrganisationId,
    LineNo,
    ProviderPaymentId,
    AccountReference,
    FileAmountPence,
    LedgerAmountPence,
    Channel,
    PaidAt,
    Status,
    LedgerEntryId,
    Resolution,
    Note,
    ResolvedBy,
    ResolvedAt,
}
