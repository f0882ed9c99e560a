//! The reads behind tenant search and the staff view of a tenancy. The search is raw SQL
//! that runs on both databases (written with PostgreSQL's `$1` placeholders; SQLite reads
//! the same numbers as `?1`); the rest uses the entities.

use std::collections::{HashMap, HashSet};

use chrono::NaiveDate;
use sea_orm::{
    ColumnTrait, ConnectionTrait, DatabaseBackend, EntityTrait, FromQueryResult, QueryFilter, QueryOrder, Statement,
    Value,
};

use crate::entity::{app_user, housing_officer, organisation, person, property, rent_account, tenancy, tenancy_member};

/// One word of a search, lower-cased, already checked for length.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Term(String);

impl Term {
    pub fn new(word: &str) -> Term {
        Term(word.to_lowercase())
    }

    /// The word with `LIKE`'s wildcards and the escape character escaped.
    fn escaped(&self) -> String {
        let mut out = String::with_capacity(self.0.len());
        for c in self.0.chars() {
            if matches!(c, '\\' | '%' | '_') {
                out.push('\\');
            }
            out.push(c);
        }
        out
    }
}

/// Where a search page starts: after this tenancy, current tenancies before ended ones.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SearchKey {
    pub ended: bool,
    pub tenancy_id: i64,
}

#[derive(Debug, Clone)]
pub struct SearchQuery {
    pub organisation_ids: Vec<i64>,
    /// Every term must match something of the tenancy.
    pub terms: Vec<Term>,
    pub after: Option<SearchKey>,
    pub limit: u64,
}

#[derive(Debug, Clone, FromQueryResult)]
pub struct TenancyRow {
    pub tenancy_id: i64,
    pub tenancy_ref: String,
    pub organisation_id: i64,
    pub start_date: NaiveDate,
    pub end_date: Option<NaiveDate>,
    pub address_line1: String,
    pub address_line2: Option<String>,
    pub town: String,
    pub postcode: String,
}

impl TenancyRow {
    pub fn key(&self) -> SearchKey {
        SearchKey { ended: self.end_date.is_some(), tenancy_id: self.tenancy_id }
    }
}

fn statement(backend: DatabaseBackend, sql: &str, values: Vec<Value>) -> Statement {
    let sql = match backend {
        DatabaseBackend::Sqlite => sql.replace('$', "?"),
        _ => sql.to_owned(),
    };
    Statement::from_sql_and_values(backend, sql, values)
}

/// Tenancies of the given organisations where every term matches a lead or joint tenant's
/// forename or surname (anywhere in it), the start of a word of the address or town, the
/// postcode (spaces ignored), the tenancy reference, or the start of an account number.
/// Current tenancies come first, then ended ones, each oldest first. Returns the rows and
/// whether more follow.
pub async fn search(db: &impl ConnectionTrait, q: &SearchQuery) -> Result<(Vec<TenancyRow>, bool), sea_orm::DbErr> {
    if q.organisation_ids.is_empty() || q.terms.is_empty() {
        return Ok((Vec::new(), false));
    }
    let mut values: Vec<Value> = Vec::new();
    let mut push = |v: Value| {
        values.push(v);
        format!("${}", values.len())
    };
    let orgs: Vec<String> = q.organisation_ids.iter().map(|id| push(Value::from(*id))).collect();
    let mut clauses = Vec::new();
    for term in &q.terms {
        let word = term.escaped();
        let anywhere = push(Value::from(format!("%{word}%")));
        let starts = push(Value::from(format!("{word}%")));
        let word_start = push(Value::from(format!("% {word}%")));
        let compact = push(Value::from(format!("%{}%", word.replace(' ', ""))));
        let address = |column: &str| {
            format!(
                "LOWER(COALESCE({column}, '')) LIKE {starts} ESCAPE '\\' \
                 OR LOWER(COALESCE({column}, '')) LIKE {word_start} ESCAPE '\\'"
            )
        };
        clauses.push(format!(
            "(EXISTS (SELECT 1 FROM tenancy_member m JOIN person per ON per.id = m.person_id
                       WHERE m.tenancy_id = t.id AND m.role IN ('lead', 'joint')
                         AND (LOWER(per.surname) LIKE {anywhere} ESCAPE '\\'
                              OR LOWER(per.forename) LIKE {anywhere} ESCAPE '\\'))
              OR {} OR {} OR {}
              OR REPLACE(LOWER(p.postcode), ' ', '') LIKE {compact} ESCAPE '\\'
              OR LOWER(t.hms_ref) LIKE {anywhere} ESCAPE '\\'
              OR EXISTS (SELECT 1 FROM rent_account a
                          WHERE a.tenancy_id = t.id AND LOWER(a.account_number) LIKE {starts} ESCAPE '\\'))",
            address("p.address_line1"),
            address("p.address_line2"),
            address("p.town"),
        ));
    }
    let ended = "CASE WHEN t.end_date IS NULL THEN 0 ELSE 1 END";
    if let Some(after) = q.after {
        let group = push(Value::from(i32::from(after.ended)));
        let id = push(Value::from(after.tenancy_id));
        clauses.push(format!("({ended} > {group} OR ({ended} = {group} AND t.id > {id}))"));
    }
    let limit = push(Value::from((q.limit + 1) as i64));
    let sql = format!(
        "SELECT t.id AS tenancy_id, t.hms_ref AS tenancy_ref, t.organisation_id, t.start_date, t.end_date,
                p.address_line1, p.address_line2, p.town, p.postcode
           FROM tenancy t
           JOIN property p ON p.id = t.property_id
          WHERE t.organisation_id IN ({}) AND {}
          ORDER BY {ended}, t.id
          LIMIT {limit}",
        orgs.join(", "),
        clauses.join(" AND "),
    );
    let rows = TenancyRow::find_by_statement(statement(db.get_database_backend(), &sql, values)).all(db).await?;
    let more = rows.len() as u64 > q.limit;
    Ok((rows.into_iter().take(q.limit as usize).collect(), more))
}

/// A member of a tenancy with their person.
#[derive(Debug, Clone)]
pub struct Member {
    pub tenancy_id: i64,
    pub role: String,
    pub person: person::Model,
}

fn role_rank(role: &str) -> u8 {
    match role {
        "lead" => 0,
        "joint" => 1,
        _ => 2,
    }
}

/// The members of these tenancies: lead first, then joint tenants, then the household.
pub async fn members(db: &impl ConnectionTrait, tenancy_ids: &[i64]) -> Result<Vec<Member>, sea_orm::DbErr> {
    if tenancy_ids.is_empty() {
        return Ok(Vec::new());
    }
    let rows = tenancy_member::Entity::find()
        .filter(tenancy_member::Column::TenancyId.is_in(tenancy_ids.to_vec()))
        .order_by_asc(tenancy_member::Column::Id)
        .all(db)
        .await?;
    let people: HashMap<i64, person::Model> = person::Entity::find()
        .filter(person::Column::Id.is_in(rows.iter().map(|m| m.person_id).collect::<Vec<_>>()))
        .all(db)
        .await?
        .into_iter()
        .map(|p| (p.id, p))
        .collect();
    let mut members: Vec<Member> = rows
        .into_iter()
        .filter_map(|m| {
            // A person on two of these tenancies appears on each.
            let person = people.get(&m.person_id)?.clone();
            Some(Member { tenancy_id: m.tenancy_id, role: m.role, person })
        })
        .collect();
    members.sort_by_key(|m| (m.tenancy_id, role_rank(&m.role)));
    Ok(members)
}

/// The accounts of these tenancies, in the order they were opened.
pub async fn accounts(
    db: &impl ConnectionTrait,
    tenancy_ids: &[i64],
) -> Result<Vec<rent_account::Model>, sea_orm::DbErr> {
    if tenancy_ids.is_empty() {
        return Ok(Vec::new());
    }
    rent_account::Entity::find()
        .filter(rent_account::Column::TenancyId.is_in(tenancy_ids.to_vec()))
        .order_by_asc(rent_account::Column::Id)
        .all(db)
        .await
}

/// Organisations by id.
pub async fn organisations(
    db: &impl ConnectionTrait,
    ids: &[i64],
) -> Result<HashMap<i64, organisation::Model>, sea_orm::DbErr> {
    if ids.is_empty() {
        return Ok(HashMap::new());
    }
    Ok(organisation::Entity::find()
        .filter(organisation::Column::Id.is_in(ids.to_vec()))
        .all(db)
        .await?
        .into_iter()
        .map(|o| (o.id, o))
        .collect())
}

/// Which of these people have a sign-in to the portal.
pub async fn people_with_sign_in(
    db: &impl ConnectionTrait,
    person_ids: &[i64],
) -> Result<HashSet<i64>, sea_orm::DbErr> {
    if person_ids.is_empty() {
        return Ok(HashSet::new());
    }
    Ok(app_user::Entity::find()
        .filter(app_user::Column::PersonId.is_in(person_ids.to_vec()))
        .all(db)
        .await?
        .into_iter()
        .filter_map(|u| u.person_id)
        .collect())
}

/// A tenancy with its home and the home's housing officer.
pub async fn tenancy_with_home(
    db: &impl ConnectionTrait,
    id: i64,
) -> Result<Option<(tenancy::Model, property::Model, Option<housing_officer::Model>)>, sea_orm::DbErr> {
    let Some(t) = tenancy::Entity::find_by_id(id).one(db).await? else { return Ok(None) };
    let Some(home) = property::Entity::find_by_id(t.property_id).one(db).await? else { return Ok(None) };
    let officer = match home.housing_officer_id {
        Some(officer_id) => housing_officer::Entity::find_by_id(officer_id).one(db).await?,
        None => None,
    };
    Ok(Some((t, home, officer)))
}
