use sea_orm::entity::prelude::*;

/// One run of the housing management system importer.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "import_run")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    /// The folder or file that was imported.
    pub origin: String,
    /// SHA-256 over the files' names and bytes, so the drop-folder job skips what it has done.
    pub content_hash: String,
    pub started_at: DateTimeUtc,
    pub finished_at: DateTimeUtc,
    /// `committed`, `committed_with_skips`, `rejected`.
    pub outcome: String,
    /// The run report as JSON.
    pub summary: String,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
