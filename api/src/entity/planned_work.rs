use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "planned_work")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub property_id: i64,
    #[sea_orm(unique)]
    pub hms_ref: String,
    /// e.g. `kitchen`, `bathroom`, `windows`, `roof`, `heating`, `external_decoration`.
    pub category: String,
    pub description: String,
    pub planned_start: Date,
    pub planned_end: Option<Date>,
    /// `planned`, `in_progress`, `completed`, `cancelled`.
    pub status: String,
    pub contractor: Option<String>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
