use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "property_feature")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub property_id: i64,
    /// `boundary`, `fence`, `tree`, `grass_area`.
    pub kind: String,
    /// `landlord`, `tenant` or `shared`.
    pub responsibility: String,
    /// A GeoJSON geometry in WGS84.
    pub geometry: String,
    pub notes: Option<String>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
