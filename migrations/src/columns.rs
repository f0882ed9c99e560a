//! Column and key builders shared by the migrations, so that every table spells ids,
//! money, text and times the same way on SQLite and PostgreSQL.

use sea_orm_migration::prelude::*;

/// A 64-bit surrogate key. On SQLite this is the rowid alias; on PostgreSQL an identity.
pub fn id<T: IntoIden>(col: T) -> ColumnDef {
    ColumnDef::new(col).big_integer().not_null().auto_increment().primary_key().to_owned()
}

pub fn fk<T: IntoIden>(col: T) -> ColumnDef {
    ColumnDef::new(col).big_integer().not_null().to_owned()
}

pub fn fk_null<T: IntoIden>(col: T) -> ColumnDef {
    ColumnDef::new(col).big_integer().null().to_owned()
}

pub fn text<T: IntoIden>(col: T) -> ColumnDef {
    ColumnDef::new(col).string().not_null().to_owned()
}

pub fn text_null<T: IntoIden>(col: T) -> ColumnDef {
    ColumnDef::new(col).string().null().to_owned()
}

pub fn long_text<T: IntoIden>(col: T) -> ColumnDef {
    ColumnDef::new(col).text().not_null().to_owned()
}

pub fn int0<T: IntoIden>(col: T) -> ColumnDef {
    ColumnDef::new(col).integer().not_null().default(0).to_owned()
}

/// Money in pence (`i64`), zero by default. Never a float.
pub fn pence<T: IntoIden>(col: T) -> ColumnDef {
    ColumnDef::new(col).big_integer().not_null().default(0).to_owned()
}

pub fn timestamp<T: IntoIden>(col: T) -> ColumnDef {
    ColumnDef::new(col).timestamp_with_time_zone().not_null().to_owned()
}

pub fn timestamp_null<T: IntoIden>(col: T) -> ColumnDef {
    ColumnDef::new(col).timestamp_with_time_zone().null().to_owned()
}

pub fn date<T: IntoIden>(col: T) -> ColumnDef {
    ColumnDef::new(col).date().not_null().to_owned()
}

pub fn date_null<T: IntoIden>(col: T) -> ColumnDef {
    ColumnDef::new(col).date().null().to_owned()
}

pub fn foreign(
    from_table: impl IntoIden,
    from_col: impl IntoIden,
    to_table: impl IntoIden,
    to_col: impl IntoIden,
    on_delete: ForeignKeyAction,
) -> ForeignKeyCreateStatement {
    ForeignKey::create().from(from_table, from_col).to(to_table, to_col).on_delete(on_delete).to_owned()
}
