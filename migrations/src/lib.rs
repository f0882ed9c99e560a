//! Doorstep's database schema. One file per change, named `mYYYYMMDD_HHMMSS_name.rs`; a
//! migration that has shipped is never edited, only followed by another.

pub use sea_orm_migration;
use sea_orm_migration::prelude::*;

mod columns;
mod m20261122_000001_core;
mod m20261122_000002_identity;
mod m20261122_000003_oidc;
mod m20261122_000004_payments;
mod m20261122_000005_reconciliation;

pub struct Migrator;

#[async_trait::async_trait]
impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        vec![
            Box::new(m20261122_000001_core::Migration),
            Box::new(m20261122_000002_identity::Migration),
            Box::new(m20261122_000003_oidc::Migration),
            Box::new(m20261122_000004_payments::Migration),
            Box::new(m20261122_000005_reconciliation::Migration),
        ]
    }
}
