//! End-of-day reconciliation, beside the tables of `000004_payments`:
//!
//! - `reconciliation_run` learns the London business dates its file covered (the window in
//!   which a ledger payment missing from the file is reported) and who started it;
//! - `reconciliation_summary` holds each run's counts and totals per organisation and status,
//!   written once when the run commits, so that a landlord's staff read their own figures of
//!   a run that spans a group without summing a million items;
//! - `reconciliation_item` is indexed on its ledger entry, so that a run can tell which of the
//!   provider's ledger payments an earlier run already accounted for (ledger ids grow with
//!   time, so this index is cheap to extend by a million items at once, unlike one on the
//!   provider's random payment ids).

use sea_orm_migration::prelude::*;

use crate::columns::{fk, fk_null, foreign, id, pence, text, text_null};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        // One column per statement: SQLite alters one thing at a time.
        for col in [
            ColumnDef::new(ReconciliationRun::BusinessDateFrom).date().null().to_owned(),
            ColumnDef::new(ReconciliationRun::BusinessDateTo).date().null().to_owned(),
            // `doorstep reconcile`, the drop-folder job, ...
            text_null(ReconciliationRun::StartedBy),
        ] {
            m.alter_table(Table::alter().table(ReconciliationRun::Table).add_column(col).to_owned()).await?;
        }

        m.create_table(
            Table::create()
                .table(ReconciliationSummary::Table)
                .col(id(ReconciliationSummary::Id))
                .col(fk(ReconciliationSummary::RunId))
                // The organisation of the account the items are for; none for unknown accounts.
                .col(fk_null(ReconciliationSummary::OrganisationId))
                // matched, late, amount_mismatch, unknown_account, not_in_file.
                .col(text(ReconciliationSummary::Status))
                .col(ColumnDef::new(ReconciliationSummary::Items).big_integer().not_null().default(0))
                // What the file says was paid, and what the ledger holds, as positive amounts.
                .col(pence(ReconciliationSummary::FilePence))
                .col(pence(ReconciliationSummary::LedgerPence))
                .foreign_key(&mut foreign(
                    ReconciliationSummary::Table,
                    ReconciliationSummary::RunId,
                    ReconciliationRun::Table,
                    ReconciliationRun::Id,
                    ForeignKeyAction::Cascade,
                ))
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("ix_reconciliation_summary_run")
                .table(ReconciliationSummary::Table)
                .col(ReconciliationSummary::RunId)
                .col(ReconciliationSummary::OrganisationId)
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("ix_reconciliation_item_entry")
                .table(ReconciliationItem::Table)
                .col(ReconciliationItem::LedgerEntryId)
                .to_owned(),
        )
        .await?;
        Ok(())
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.drop_index(Index::drop().name("ix_reconciliation_item_entry").table(ReconciliationItem::Table).to_owned())
            .await?;
        m.drop_table(Table::drop().table(ReconciliationSummary::Table).to_owned()).await?;
        for col in [
            ReconciliationRun::StartedBy.into_iden(),
            ReconciliationRun::BusinessDateTo.into_iden(),
            ReconciliationRun::BusinessDateFrom.into_iden(),
        ] {
            m.alter_table(Table::alter().table(ReconciliationRun::Table).drop_column(col).to_owned()).await?;
        }
        Ok(())
    }
}

#[derive(DeriveIden)]
enum ReconciliationRun {
    Table,
    Id,
    BusinessDateFrom,
    BusinessDateTo,
    StartedBy,
}

#[derive(DeriveIden)]
enum ReconciliationItem {
    Table,
    LedgerEntryId,
}

#[derive(DeriveIden)]
enum ReconciliationSummary {
    Table,
    Id,
    RunId,
    OrganisationId,
    Status,
    Items,
    FilePence,
    LedgerPence,
}
