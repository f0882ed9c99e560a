use doorstep_shared::dto::{Branding, Contacts, Organisation};
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect};

use crate::entity::organisation;

#[derive(Debug, thiserror::Error)]
pub enum OrgError {
    #[error("organisation not found")]
    NotFound,
    #[error(transparent)]
    Db(#[from] sea_orm::DbErr),
}

impl From<OrgError> for crate::ApiError {
    fn from(e: OrgError) -> Self {
        match e {
            OrgError::NotFound => crate::ApiError::not_found("organisation"),
            OrgError::Db(e) => e.into(),
        }
    }
}

/// Organisations in id order, `limit` at most, after the one with id `after`. Returns the
/// page and whether more follow.
pub async fn list(
    db: &impl ConnectionTrait,
    after: Option<i64>,
    limit: u64,
) -> Result<(Vec<(i64, Organisation)>, bool), OrgError> {
    let mut query = organisation::Entity::find().order_by_asc(organisation::Column::Id).limit(limit + 1);
    if let Some(after) = after {
        query = query.filter(organisation::Column::Id.gt(after));
    }
    let rows = query.all(db).await?;
    let more = rows.len() as u64 > limit;
    let parents = parent_slugs(db, &rows).await?;
    let items = rows
        .into_iter()
        .take(limit as usize)
        .map(|m| {
            let parent = m.parent_id.and_then(|p| parents.iter().find(|(id, _)| *id == p).map(|(_, s)| s.clone()));
            (m.id, to_dto(m, parent))
        })
        .collect();
    Ok((items, more))
}

pub async fn get_by_slug(db: &impl ConnectionTrait, slug: &str) -> Result<Organisation, OrgError> {
    let model = organisation::Entity::find()
        .filter(organisation::Column::Slug.eq(slug))
        .one(db)
        .await?
        .ok_or(OrgError::NotFound)?;
    let parents = parent_slugs(db, std::slice::from_ref(&model)).await?;
    let parent = parents.into_iter().next().map(|(_, s)| s);
    Ok(to_dto(model, parent))
}

/// The id of the organisation with this slug, if any.
pub async fn id_by_slug(db: &impl ConnectionTrait, slug: &str) -> Result<Option<i64>, sea_orm::DbErr> {
    Ok(organisation::Entity::find().filter(organisation::Column::Slug.eq(slug)).one(db).await?.map(|m| m.id))
}

async fn parent_slugs(
    db: &impl ConnectionTrait,
    rows: &[organisation::Model],
) -> Result<Vec<(i64, String)>, sea_orm::DbErr> {
    let ids: Vec<i64> = rows.iter().filter_map(|m| m.parent_id).collect();
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    Ok(organisation::Entity::find()
        .filter(organisation::Column::Id.is_in(ids))
        .all(db)
        .await?
        .into_iter()
        .map(|m| (m.id, m.slug))
        .collect())
}

pub fn to_dto(m: organisation::Model, parent_slug: Option<String>) -> Organisation {
    Organisation {
        slug: m.slug,
        name: m.name,
        parent_slug,
        branding: Branding {
            primary_colour: m.primary_colour,
            secondary_colour: m.secondary_colour,
            tagline: m.tagline,
        },
        contacts: Contacts {
            phone: m.phone,
            email: m.email,
            website: m.website,
            address: m.address,
            opening_hours: m.opening_hours,
            emergency_phone: m.emergency_phone,
        },
    }
}
