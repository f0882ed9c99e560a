//! Database reads that identity's services share.

use std::collections::HashMap;

use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder};

use super::error::IdentityError;
use super::model::{MatchedTenancy, RegistrationSubmitted, RegistrationView, Role};
use super::policy::{Principal, StaffPrincipal, TenantPrincipal};
use crate::entity::{app_user, organisation, person, property, registration, rent_account, tenancy, tenancy_member};

/// Organisation ids with their parents, for working out group scopes.
pub async fn org_tree(conn: &impl ConnectionTrait) -> Result<Vec<(i64, Option<i64>)>, IdentityError> {
    Ok(organisation::Entity::find().all(conn).await?.into_iter().map(|o| (o.id, o.parent_id)).collect())
}

/// `root` and every organisation below it.
pub fn descendants(tree: &[(i64, Option<i64>)], root: i64) -> Vec<i64> {
    let mut out = vec![root];
    let mut i = 0;
    while i < out.len() {
        let parent = out[i];
        for (id, p) in tree {
            if *p == Some(parent) && !out.contains(id) {
                out.push(*id);
            }
        }
        i += 1;
    }
    out
}

/// What a signed-in user may reach, worked out afresh for each request so that a change of
/// tenancy or role takes effect at once.
pub async fn principal_for(conn: &impl ConnectionTrait, user: &app_user::Model) -> Result<Principal, IdentityError> {
    let role = Role::parse(&user.role).ok_or_else(|| anyhow::anyhow!("user {} has an unknown role", user.id))?;
    if role == Role::Tenant {
        let person_id = user.person_id.ok_or_else(|| anyhow::anyhow!("tenant user {} has no person", user.id))?;
        let person = person::Entity::find_by_id(person_id)
            .one(conn)
            .await?
            .ok_or_else(|| anyhow::anyhow!("tenant user {} has a missing person", user.id))?;
        let tenancy_ids: Vec<i64> = tenancy_member::Entity::find()
            .filter(tenancy_member::Column::PersonId.eq(person_id))
            .all(conn)
            .await?
            .into_iter()
            .map(|m| m.tenancy_id)
            .collect();
        let tenancies =
            tenancy::Entity::find().filter(tenancy::Column::Id.is_in(tenancy_ids.clone())).all(conn).await?;
        let accounts = rent_account::Entity::find()
            .filter(rent_account::Column::TenancyId.is_in(tenancy_ids.clone()))
            .all(conn)
            .await?;
        Ok(Principal::Tenant(TenantPrincipal {
            user_id: user.id,
            email: user.email.clone(),
            person_id,
            organisation_id: person.organisation_id,
            tenancy_ids,
            property_ids: tenancies.iter().map(|t| t.property_id).collect(),
            account_ids: accounts.iter().map(|a| a.id).collect(),
        }))
    } else {
        let org = user.organisation_id.ok_or_else(|| anyhow::anyhow!("staff user {} has no organisation", user.id))?;
        let tree = org_tree(conn).await?;
        let top_level = tree.iter().any(|(id, parent)| *id == org && parent.is_none());
        let org_ids = if role == Role::Admin { descendants(&tree, org) } else { vec![org] };
        Ok(Principal::Staff(StaffPrincipal {
            user_id: user.id,
            email: user.email.clone(),
            role,
            organisation_id: org,
            org_ids,
            top_level,
        }))
    }
}

/// The full name as a letter addresses it: `Ms Sam O'Connor`.
pub fn full_name(p: &person::Model) -> String {
    [p.title.as_deref(), Some(p.forename.as_str()), Some(p.surname.as_str())]
        .into_iter()
        .flatten()
        .filter(|s| !s.trim().is_empty())
        .collect::<Vec<_>>()
        .join(" ")
}

/// Address lines of a property, town and postcode last.
pub fn address_lines(p: &property::Model) -> Vec<String> {
    let mut lines = vec![p.address_line1.clone()];
    if let Some(l2) = p.address_line2.as_ref().filter(|s| !s.trim().is_empty()) {
        lines.push(l2.clone());
    }
    lines.push(p.town.clone());
    lines.push(p.postcode.clone());
    lines
}

/// Staff views of registrations, with their matched tenancies loaded in a handful of
/// queries whatever the page size.
pub async fn registration_views(
    conn: &impl ConnectionTrait,
    rows: Vec<registration::Model>,
) -> Result<Vec<RegistrationView>, IdentityError> {
    let tenancy_ids: Vec<i64> = rows.iter().filter_map(|r| r.tenancy_id).collect();
    let tenancies: HashMap<i64, tenancy::Model> = tenancy::Entity::find()
        .filter(tenancy::Column::Id.is_in(tenancy_ids.clone()))
        .all(conn)
        .await?
        .into_iter()
        .map(|t| (t.id, t))
        .collect();
    let property_ids: Vec<i64> = tenancies.values().map(|t| t.property_id).collect();
    let properties: HashMap<i64, property::Model> = property::Entity::find()
        .filter(property::Column::Id.is_in(property_ids))
        .all(conn)
        .await?
        .into_iter()
        .map(|p| (p.id, p))
        .collect();
    let account_ids: Vec<i64> = rows.iter().filter_map(|r| r.account_id).collect();
    let accounts: HashMap<i64, rent_account::Model> = rent_account::Entity::find()
        .filter(rent_account::Column::Id.is_in(account_ids))
        .all(conn)
        .await?
        .into_iter()
        .map(|a| (a.id, a))
        .collect();
    let members = tenancy_member::Entity::find()
        .filter(tenancy_member::Column::TenancyId.is_in(tenancy_ids))
        .filter(tenancy_member::Column::Role.is_in(["lead", "joint"]))
        .order_by_asc(tenancy_member::Column::Id)
        .all(conn)
        .await?;
    let person_ids: Vec<i64> = members.iter().map(|m| m.person_id).collect();
    let persons: HashMap<i64, person::Model> = person::Entity::find()
        .filter(person::Column::Id.is_in(person_ids.clone()))
        .all(conn)
        .await?
        .into_iter()
        .map(|p| (p.id, p))
        .collect();
    let registered: Vec<i64> = app_user::Entity::find()
        .filter(app_user::Column::PersonId.is_in(rows.iter().filter_map(|r| r.person_id).collect::<Vec<_>>()))
        .all(conn)
        .await?
        .into_iter()
        .filter_map(|u| u.person_id)
        .collect();
    let orgs: HashMap<i64, String> =
        organisation::Entity::find().all(conn).await?.into_iter().map(|o| (o.id, o.name)).collect();

    Ok(rows
        .into_iter()
        .map(|r| {
            let matched = r.tenancy_id.and_then(|tid| tenancies.get(&tid)).map(|t| {
                let property = properties.get(&t.property_id);
                MatchedTenancy {
                    tenancy_id: t.id,
                    tenancy_ref: t.hms_ref.clone(),
                    tenure: t.tenure.clone(),
                    account_number: r.account_id.and_then(|a| accounts.get(&a)).map(|a| a.account_number.clone()),
                    address: property.map(address_lines).unwrap_or_default(),
                    postcode: property.map(|p| p.postcode.clone()).unwrap_or_default(),
                    tenants: members
                        .iter()
                        .filter(|m| m.tenancy_id == t.id)
                        .filter_map(|m| persons.get(&m.person_id).map(full_name))
                        .collect(),
                    matched_person: r.person_id.and_then(|p| persons.get(&p)).map(full_name),
                    already_registered: r.person_id.is_some_and(|p| registered.contains(&p)),
                    organisation: orgs.get(&t.organisation_id).cloned().unwrap_or_default(),
                }
            });
            RegistrationView {
                id: r.id,
                status: r.status,
                created_at: r.created_at,
                submitted: RegistrationSubmitted {
                    account_number: r.account_number,
                    surname: r.surname,
                    postcode: r.postcode,
                    email: r.email,
                },
                matched,
                reject_reason: r.reject_reason,
                decided_at: r.decided_at,
                letter_due: r.letter_due,
                letter_printed_at: r.letter_printed_at,
                pin_expires_at: r.pin_expires_at,
                pin_attempts: r.pin_attempts,
            }
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn descendants_walk_the_whole_group() {
        let tree = [(1, None), (2, Some(1)), (3, Some(2)), (4, None), (5, Some(4))];
        let mut d = descendants(&tree, 1);
        d.sort();
        assert_eq!(d, vec![1, 2, 3]);
        assert_eq!(descendants(&tree, 3), vec![3]);
    }
}
