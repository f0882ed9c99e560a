//! `GET /me`: the caller, their person, tenancies, homes, housing officers, accounts with
//! balances and the landlord's branding; for staff, role and organisations.

use std::collections::HashMap;

use sea_orm::{ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter, QueryOrder};

use super::error::IdentityError;
use super::model::{AccountView, HousingOfficerView, MeView, PersonView, PropertyView, StaffView, TenancyView};
use super::policy::{self, Principal};
use super::sessions::user_view;
use crate::entity::{app_user, housing_officer, organisation, person, property, rent_account, tenancy, tenancy_member};

async fn org_dto(
    db: &DatabaseConnection,
    id: i64,
) -> Result<Option<doorstep_shared::dto::Organisation>, IdentityError> {
    let Some(org) = organisation::Entity::find_by_id(id).one(db).await? else { return Ok(None) };
    let parent = match org.parent_id {
        Some(pid) => organisation::Entity::find_by_id(pid).one(db).await?.map(|p| p.slug),
        None => None,
    };
    Ok(Some(crate::domain::org::service::to_dto(org, parent)))
}

pub async fn me(db: &DatabaseConnection, p: &Principal) -> Result<MeView, IdentityError> {
    policy::require_user(p)?;
    let user_id = p.user_id().ok_or(IdentityError::Unauthorized)?;
    let user = app_user::Entity::find_by_id(user_id).one(db).await?.ok_or(IdentityError::Unauthorized)?;
    match p {
        Principal::Tenant(t) => {
            let person = person::Entity::find_by_id(t.person_id).one(db).await?;
            let memberships =
                tenancy_member::Entity::find().filter(tenancy_member::Column::PersonId.eq(t.person_id)).all(db).await?;
            let tenancies = tenancy::Entity::find()
                .filter(tenancy::Column::Id.is_in(t.tenancy_ids.clone()))
                .order_by_desc(tenancy::Column::StartDate)
                .all(db)
                .await?;
            let homes: HashMap<i64, property::Model> = property::Entity::find()
                .filter(property::Column::Id.is_in(tenancies.iter().map(|t| t.property_id).collect::<Vec<_>>()))
                .all(db)
                .await?
                .into_iter()
                .map(|p| (p.id, p))
                .collect();
            let officers: HashMap<i64, housing_officer::Model> = housing_officer::Entity::find()
                .filter(
                    housing_officer::Column::Id
                        .is_in(homes.values().filter_map(|h| h.housing_officer_id).collect::<Vec<_>>()),
                )
                .all(db)
                .await?
                .into_iter()
                .map(|o| (o.id, o))
                .collect();
            let accounts = rent_account::Entity::find()
                .filter(rent_account::Column::TenancyId.is_in(t.tenancy_ids.clone()))
                .order_by_asc(rent_account::Column::Id)
                .all(db)
                .await?;
            let tenancies = tenancies
                .into_iter()
                .filter_map(|ten| {
                    let home = homes.get(&ten.property_id)?;
                    Some(TenancyView {
                        id: ten.id,
                        reference: ten.hms_ref.clone(),
                        tenure: ten.tenure.clone(),
                        start_date: ten.start_date,
                        end_date: ten.end_date,
                        member_role: memberships
                            .iter()
                            .find(|m| m.tenancy_id == ten.id)
                            .map(|m| m.role.clone())
                            .unwrap_or_default(),
                        property: PropertyView {
                            id: home.id,
                            address_line1: home.address_line1.clone(),
                            address_line2: home.address_line2.clone(),
                            town: home.town.clone(),
                            postcode: home.postcode.clone(),
                            kind: home.kind.clone(),
                        },
                        housing_officer: home.housing_officer_id.and_then(|id| officers.get(&id)).map(|o| {
                            HousingOfficerView { name: o.name.clone(), email: o.email.clone(), phone: o.phone.clone() }
                        }),
                        accounts: accounts
                            .iter()
                            .filter(|a| a.tenancy_id == ten.id)
                            .map(|a| AccountView {
                                id: a.id,
                                account_number: a.account_number.clone(),
                                kind: a.kind.clone(),
                                kind_label: crate::domain::ledger::views::kind_label(&a.kind).to_owned(),
                                balance_pence: a.balance_pence,
                                balance_state: doorstep_shared::dto::BalanceState::of(a.balance_pence),
                                balance_text: doorstep_shared::dto::BalanceState::describe(a.balance_pence),
                                weekly_charge_pence: a.weekly_charge_pence,
                                last_entry_date: a.last_entry_date,
                            })
                            .collect(),
                    })
                })
                .collect();
            Ok(MeView {
                user: user_view(&user),
                person: person.map(|p| PersonView {
                    id: p.id,
                    title: p.title,
                    forename: p.forename,
                    surname: p.surname,
                    email: p.email,
                    phone: p.phone,
                }),
                organisation: org_dto(db, t.organisation_id).await?,
                tenancies,
                staff: None,
            })
        }
        Principal::Staff(s) => {
            let slugs = organisation::Entity::find()
                .filter(organisation::Column::Id.is_in(s.org_ids.clone()))
                .order_by_asc(organisation::Column::Id)
                .all(db)
                .await?
                .into_iter()
                .map(|o| o.slug)
                .collect();
            Ok(MeView {
                user: user_view(&user),
                person: None,
                organisation: org_dto(db, s.organisation_id).await?,
                tenancies: Vec::new(),
                staff: Some(StaffView { role: s.role.as_str().to_owned(), organisations_in_scope: slugs }),
            })
        }
        _ => Err(IdentityError::Unauthorized),
    }
}
