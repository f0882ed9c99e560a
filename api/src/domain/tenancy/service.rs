//! Finding a tenant and reading their tenancy, for staff of the tenancy's landlord (a group
//! admin also sees the group's subsidiaries) and for API keys with `tenants:read`. Every
//! call asks the policy layer first; a tenancy the caller may not see answers exactly like
//! one that does not exist.

use doorstep_shared::dto::BalanceState;

use super::error::TenancyError;
use super::model::{StaffTenancyView, TenancyPerson, TenantMatch, TenantMatchPage};
use super::queries::{self, Member, SearchKey, SearchQuery, Term};
use crate::domain::identity::IdentityError;
use crate::domain::identity::model::{AccountView, HousingOfficerView, PropertyView, Role, Scope};
use crate::domain::identity::policy::{self, OrgScope, Principal};
use crate::domain::ledger::views;
use crate::entity::{person, rent_account};
use crate::http::pagination::{DEFAULT_LIMIT, MAX_LIMIT, decode_token, encode_token};

/// Staff roles that look up tenants and their accounts (repairs staff work from repairs).
pub const TENANT_LOOKUP_ROLES: &[Role] = &[Role::CustomerService, Role::HousingOfficer, Role::Income, Role::Admin];

/// The shortest search worth running: one letter matches half the landlord.
pub const MIN_QUERY_CHARS: usize = 2;
pub const MAX_QUERY_CHARS: usize = 100;
/// Every word must match, so more words only narrow the search; past this many it is
/// not a search for a tenant any more.
pub const MAX_QUERY_WORDS: usize = 8;

/// A search as a caller sent it, not yet checked.
#[derive(Debug, Clone, Copy, Default)]
pub struct SearchRequest<'a> {
    pub q: Option<&'a str>,
    pub limit: Option<i64>,
    pub cursor: Option<&'a str>,
}

/// The words of a search: split on spaces and commas, lower-cased.
pub fn parse_terms(q: Option<&str>) -> Result<Vec<Term>, TenancyError> {
    let q = q.map(str::trim).unwrap_or_default();
    let chars = q.chars().count();
    if chars == 0 {
        return Err(TenancyError::invalid("q", "is needed: a name, address, postcode or account number"));
    }
    if chars < MIN_QUERY_CHARS {
        return Err(TenancyError::invalid("q", format!("must be at least {MIN_QUERY_CHARS} characters")));
    }
    if chars > MAX_QUERY_CHARS {
        return Err(TenancyError::invalid("q", format!("must be at most {MAX_QUERY_CHARS} characters")));
    }
    // Nobody types them, and PostgreSQL refuses a NUL in text. (Tabs and line breaks, as in
    // a pasted address, only separate words.)
    if q.chars().any(|c| c.is_control() && !c.is_whitespace()) {
        return Err(TenancyError::invalid("q", "must not contain control characters"));
    }
    let words: Vec<Term> =
        q.split(|c: char| c.is_whitespace() || c == ',').filter(|w| !w.is_empty()).map(Term::new).collect();
    if words.len() > MAX_QUERY_WORDS {
        return Err(TenancyError::invalid("q", format!("may have at most {MAX_QUERY_WORDS} words")));
    }
    Ok(words)
}

fn parse_limit(limit: Option<i64>) -> Result<u64, TenancyError> {
    match limit {
        None => Ok(DEFAULT_LIMIT),
        Some(n) if (1..=MAX_LIMIT as i64).contains(&n) => Ok(n as u64),
        Some(_) => Err(TenancyError::invalid("limit", format!("must be between 1 and {MAX_LIMIT}"))),
    }
}

fn encode_key(k: SearchKey) -> String {
    encode_token(&format!("{}|{}", u8::from(k.ended), k.tenancy_id))
}

fn decode_key(cursor: &str) -> Result<SearchKey, TenancyError> {
    let bad = || TenancyError::invalid("cursor", "is not a cursor from this API");
    let text = decode_token(cursor).ok_or_else(bad)?;
    let (ended, id) = text.split_once('|').ok_or_else(bad)?;
    let ended = match ended {
        "0" => false,
        "1" => true,
        _ => return Err(bad()),
    };
    Ok(SearchKey { ended, tenancy_id: id.parse().map_err(|_| bad())? })
}

/// "Ms Amira Okafor".
pub fn full_name(p: &person::Model) -> String {
    [p.title.as_deref(), Some(p.forename.as_str()), Some(p.surname.as_str())]
        .into_iter()
        .flatten()
        .map(str::trim)
        .filter(|part| !part.is_empty())
        .collect::<Vec<_>>()
        .join(" ")
}

fn address_lines(line1: &str, line2: Option<&str>, town: &str, postcode: &str) -> Vec<String> {
    [Some(line1), line2, Some(town), Some(postcode)]
        .into_iter()
        .flatten()
        .map(str::trim)
        .filter(|line| !line.is_empty())
        .map(str::to_owned)
        .collect()
}

fn account_view(a: &rent_account::Model) -> AccountView {
    AccountView {
        id: a.id,
        account_number: a.account_number.clone(),
        kind: a.kind.clone(),
        kind_label: views::kind_label(&a.kind).to_owned(),
        balance_pence: a.balance_pence,
        balance_state: BalanceState::of(a.balance_pence),
        balance_text: BalanceState::describe(a.balance_pence),
        weekly_charge_pence: a.weekly_charge_pence,
        last_entry_date: a.last_entry_date,
    }
}

fn lookup_scope(p: &Principal) -> Result<OrgScope, IdentityError> {
    policy::staff_or_key_scope(p, TENANT_LOOKUP_ROLES, Scope::TenantsRead)
}

/// `GET /staff/tenants?q=`: tenancies of the caller's organisations where every word of `q`
/// matches a tenant's name, the address, the postcode, the tenancy reference or an account
/// number. Current tenancies first.
pub async fn find_tenants(
    db: &impl sea_orm::ConnectionTrait,
    p: &Principal,
    req: SearchRequest<'_>,
) -> Result<TenantMatchPage, TenancyError> {
    let scope = lookup_scope(p)?;
    let terms = parse_terms(req.q)?;
    let limit = parse_limit(req.limit)?;
    let after = req.cursor.filter(|c| !c.is_empty()).map(decode_key).transpose()?;
    let q = SearchQuery { organisation_ids: scope.org_ids, terms, after, limit };
    let (rows, more) = queries::search(db, &q).await?;
    let next_cursor = if more { rows.last().map(|r| encode_key(r.key())) } else { None };

    let ids: Vec<i64> = rows.iter().map(|r| r.tenancy_id).collect();
    let members = queries::members(db, &ids).await?;
    let accounts = queries::accounts(db, &ids).await?;
    let mut org_ids: Vec<i64> = rows.iter().map(|r| r.organisation_id).collect();
    org_ids.sort_unstable();
    org_ids.dedup();
    let orgs = queries::organisations(db, &org_ids).await?;

    let items = rows
        .into_iter()
        .map(|r| {
            let org = orgs.get(&r.organisation_id);
            TenantMatch {
                tenancy_id: r.tenancy_id,
                tenancy_ref: r.tenancy_ref,
                organisation: org.map(|o| o.slug.clone()).unwrap_or_default(),
                organisation_name: org.map(|o| o.name.clone()).unwrap_or_default(),
                tenants: members
                    .iter()
                    .filter(|m| m.tenancy_id == r.tenancy_id && matches!(m.role.as_str(), "lead" | "joint"))
                    .map(|m| full_name(&m.person))
                    .collect(),
                address: address_lines(&r.address_line1, r.address_line2.as_deref(), &r.town, &r.postcode),
                postcode: r.postcode,
                start_date: r.start_date,
                end_date: r.end_date,
                accounts: accounts.iter().filter(|a| a.tenancy_id == r.tenancy_id).map(account_view).collect(),
            }
        })
        .collect();
    Ok(TenantMatchPage { items, next_cursor })
}

/// `GET /staff/tenants/{id}`: one tenancy with its people, home, housing officer and every
/// account at a glance. Anyone who may not look up tenants, or not this landlord's, gets
/// "not found".
pub async fn staff_tenancy(
    db: &impl sea_orm::ConnectionTrait,
    p: &Principal,
    id: i64,
) -> Result<StaffTenancyView, TenancyError> {
    let scope = match lookup_scope(p) {
        Err(IdentityError::Forbidden(_)) => Err(IdentityError::NotFound("tenancy")),
        other => other,
    }?;
    let (t, home, officer) = queries::tenancy_with_home(db, id)
        .await?
        .filter(|(t, _, _)| {
            scope.contains(Some(t.organisation_id)) && policy::can_view_tenancy(p, t.organisation_id, t.id)
        })
        .ok_or(IdentityError::NotFound("tenancy"))?;
    let members: Vec<Member> = queries::members(db, &[t.id]).await?;
    let person_ids: Vec<i64> = members.iter().map(|m| m.person.id).collect();
    let signed_up = queries::people_with_sign_in(db, &person_ids).await?;
    let org = queries::organisations(db, &[t.organisation_id]).await?.remove(&t.organisation_id);
    let mut accounts = Vec::new();
    for a in queries::accounts(db, &[t.id]).await? {
        accounts.push(views::summary(db, a).await?);
    }
    Ok(StaffTenancyView {
        id: t.id,
        reference: t.hms_ref,
        tenure: t.tenure,
        start_date: t.start_date,
        end_date: t.end_date,
        organisation: org.as_ref().map(|o| o.slug.clone()).unwrap_or_default(),
        organisation_name: org.map(|o| o.name).unwrap_or_default(),
        people: members
            .into_iter()
            .map(|m| TenancyPerson {
                id: m.person.id,
                has_sign_in: signed_up.contains(&m.person.id),
                name: full_name(&m.person),
                role: m.role,
                title: m.person.title,
                forename: m.person.forename,
                surname: m.person.surname,
                email: m.person.email,
                phone: m.person.phone,
            })
            .collect(),
        patch: home.patch.clone(),
        property: PropertyView {
            id: home.id,
            address_line1: home.address_line1,
            address_line2: home.address_line2,
            town: home.town,
            postcode: home.postcode,
            kind: home.kind,
        },
        housing_officer: officer.map(|o| HousingOfficerView { name: o.name, email: o.email, phone: o.phone }),
        accounts,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn searches_are_words_with_limits() {
        assert_eq!(
            parse_terms(Some(" Okafor, HX1  2ab ")).unwrap(),
            vec![Term::new("okafor"), Term::new("hx1"), Term::new("2ab")]
        );
        for bad in [
            None,
            Some(""),
            Some("   "),
            Some("a"),
            Some(&"x".repeat(101)),
            Some("a b c d e f g h i"),
            Some("ok\0afor"),
        ] {
            assert!(matches!(parse_terms(bad), Err(TenancyError::Invalid { field: "q", .. })), "{bad:?}");
        }
    }

    #[test]
    fn a_pasted_address_is_words() {
        assert_eq!(parse_terms(Some("7 Bradford Road\nRastrick\tHD6")).unwrap().len(), 5);
    }

    #[test]
    fn cursors_round_trip_and_garbage_is_refused() {
        let k = SearchKey { ended: true, tenancy_id: 42 };
        assert_eq!(decode_key(&encode_key(k)).unwrap(), k);
        assert!(decode_key("nonsense").is_err());
        assert!(decode_key(&encode_token("2|5")).is_err());
        assert!(decode_key(&encode_token("0|x")).is_err());
    }
}
