//! The demo landlord group (`doorstep seed-demo`): Pennine Vale Housing Group and its two
//! landlords, with homes in real West Yorkshire towns, tenants, rent accounts and years of
//! rent history. Everything follows from a seed, so two runs make the same landlord.
//!
//! [`generate`] makes the rows; [`seed`] writes them to the database through the ledger's
//! bulk loader; [`export`] writes them as a housing management system export instead (for
//! import benchmarks).

pub mod data;
pub mod export;
pub mod generate;
pub mod rng;
pub mod seed;
mod table;

use chrono::NaiveDate;
use sea_orm::{ConnectionTrait, EntityTrait, PaginatorTrait};

pub use seed::{SeedError, SeedReport, database_size, seed};

use crate::entity::organisation;

#[derive(Debug, Clone)]
pub struct SeedOptions {
    /// Number of tenancies of homes (garage licences come on top).
    pub scale: u32,
    /// Years of rent history.
    pub years: u32,
    /// Seed of the generator.
    pub seed: u64,
    /// The day the history runs up to (today when `None`); tests pin it.
    pub today: Option<NaiveDate>,
}

impl SeedOptions {
    pub fn new(scale: u32, years: u32) -> Self {
        SeedOptions { scale, years, seed: 1, today: None }
    }
}

impl Default for SeedOptions {
    fn default() -> Self {
        SeedOptions::new(200, 3)
    }
}

/// Progress of a long seed or export, for a progress bar.
pub trait Progress: Send + Sync {
    /// `total` tenancies will be made.
    fn start(&self, _total: u64) {}
    /// `done` tenancies and `rows` rows are written so far.
    fn advance(&self, _done: u64, _rows: u64) {}
    /// The rows are written; `what` is being done before the end.
    fn step(&self, _what: &str) {}
    fn finish(&self) {}
}

pub struct NoProgress;
impl Progress for NoProgress {}

/// Whether the database holds no landlord yet, so `serve --demo` should seed it.
pub async fn is_empty(db: &impl ConnectionTrait) -> Result<bool, sea_orm::DbErr> {
    Ok(organisation_count(db).await? == 0)
}

pub async fn organisation_count(db: &impl ConnectionTrait) -> Result<u64, sea_orm::DbErr> {
    organisation::Entity::find().count(db).await
}
