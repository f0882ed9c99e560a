//! The demo generator: a pure function of the seed, the scale, the years of history and
//! "today". It streams rows into a [`Sink`] one tenancy at a time, so that memory does not
//! grow with the scale; the database writer and the HMS exporter are two sinks.

use std::collections::HashMap;

use chrono::{Datelike, Days, NaiveDate};
use doorstep_shared::Money;

use super::data::{self, NameGroup, Neighbourhood, OrgSpec, Town};
use super::rng::{Rng, hash_str};
use crate::domain::geo::{LatLon, wgs84_to_bng};
use crate::domain::ledger::bulk::BulkError;
use crate::domain::ledger::{Channel, EntryKind};

/// The ledger source of every demo entry.
pub const SOURCE: &str = "demo";

/// The first id each table's rows get (the demo only seeds an empty database, but ids are
/// still taken after whatever is there).
#[derive(Debug, Clone, Copy, Default)]
pub struct IdBase {
    pub organisation: i64,
    pub housing_officer: i64,
    pub property: i64,
    pub property_feature: i64,
    pub person: i64,
    pub tenancy: i64,
    pub tenancy_member: i64,
    pub rent_account: i64,
    pub planned_work: i64,
    pub rent_free_week: i64,
}

impl IdBase {
    pub fn fresh() -> Self {
        IdBase {
            organisation: 1,
            housing_officer: 1,
            property: 1,
            property_feature: 1,
            person: 1,
            tenancy: 1,
            tenancy_member: 1,
            rent_account: 1,
            planned_work: 1,
            rent_free_week: 1,
        }
    }
}

pub struct OrgRow {
    pub id: i64,
    pub parent_id: Option<i64>,
    pub spec: &'static OrgSpec,
}

pub struct OfficerRow {
    pub id: i64,
    pub organisation_id: i64,
    pub name: String,
    pub email: String,
    pub phone: String,
    pub patch: String,
}

pub struct RentFreeRow {
    pub id: i64,
    pub organisation_id: i64,
    pub week_start: NaiveDate,
}

pub struct PropertyRow {
    pub id: i64,
    pub organisation_id: i64,
    pub organisation: &'static str,
    pub hms_ref: String,
    pub uprn: i64,
    pub address_line1: String,
    pub address_line2: Option<String>,
    pub town: &'static str,
    pub postcode: String,
    pub latitude: f64,
    pub longitude: f64,
    pub easting: i32,
    pub northing: i32,
    pub kind: &'static str,
    pub bedrooms: Option<i32>,
    pub patch: String,
    pub housing_officer_id: i64,
}

pub struct FeatureRow {
    pub id: i64,
    pub property_id: i64,
    pub kind: &'static str,
    pub responsibility: &'static str,
    pub geometry: String,
    pub notes: Option<&'static str>,
}

pub struct PersonRow {
    pub id: i64,
    pub organisation_id: i64,
    pub organisation: &'static str,
    pub hms_ref: String,
    pub title: Option<&'static str>,
    pub forename: &'static str,
    pub surname: &'static str,
    pub date_of_birth: NaiveDate,
    pub email: Option<String>,
    pub phone: Option<String>,
}

pub struct TenancyRow {
    pub id: i64,
    pub organisation_id: i64,
    pub hms_ref: String,
    pub property_id: i64,
    pub property_ref: String,
    pub tenure: &'static str,
    pub start_date: NaiveDate,
    pub end_date: Option<NaiveDate>,
}

pub struct MemberRow {
    pub id: i64,
    pub tenancy_id: i64,
    pub tenancy_ref: String,
    pub person_id: i64,
    pub person_ref: String,
    pub role: &'static str,
}

pub struct AccountRow {
    pub id: i64,
    pub organisation_id: i64,
    pub tenancy_id: i64,
    pub tenancy_ref: String,
    pub hms_ref: String,
    pub account_number: String,
    pub kind: &'static str,
    pub weekly_charge_pence: i64,
    pub opened_on: NaiveDate,
    pub closed_on: Option<NaiveDate>,
}

pub struct WorkRow {
    pub id: i64,
    pub property_id: i64,
    pub property_ref: String,
    pub hms_ref: String,
    pub category: &'static str,
    pub description: &'static str,
    pub planned_start: NaiveDate,
    pub planned_end: Option<NaiveDate>,
    pub status: &'static str,
    pub contractor: Option<&'static str>,
}

pub struct EntryRow<'a> {
    pub kind: EntryKind,
    pub amount: Money,
    pub effective_date: NaiveDate,
    pub description: &'static str,
    pub source_ref: &'a str,
    pub channel: Option<Channel>,
}

/// Where generated rows go. Rows arrive parents first: a tenancy's property and people
/// before the tenancy, an account before its history.
pub trait Sink {
    fn property(&mut self, row: PropertyRow);
    fn feature(&mut self, row: FeatureRow);
    fn person(&mut self, row: PersonRow);
    fn tenancy(&mut self, row: TenancyRow);
    fn member(&mut self, row: MemberRow);
    fn account(&mut self, row: &AccountRow);
    fn work(&mut self, row: WorkRow);
    fn begin_history(&mut self, account: &AccountRow);
    fn entry(&mut self, entry: &EntryRow<'_>) -> Result<(), BulkError>;
}

/// Parameters of a run.
#[derive(Debug, Clone)]
pub struct Plan {
    pub seed: u64,
    pub scale: u32,
    pub years: u32,
    pub today: NaiveDate,
}

/// One neighbourhood of one landlord, with its patches and street counter.
struct Place {
    town: &'static Town,
    nb: &'static Neighbourhood,
    weight: u32,
    lat: f64,
    lon: f64,
    /// `(patch name, officer id)`.
    patches: Vec<(String, i64)>,
    homes: u32,
    /// The town-wide number of the street being filled.
    street_no: u32,
}

struct Landlord {
    spec: &'static OrgSpec,
    index: u64,
    id: i64,
    tenancies: u32,
    places: Vec<Place>,
    /// Streets given out so far, per town.
    streets_in_town: HashMap<&'static str, u32>,
    people: u64,
    garages: u64,
    alarms: u64,
    works: u64,
    properties: u64,
    formers: u64,
    services: u64,
}

/// A week of the history window: its Monday, rent year and whether it is rent free.
struct Weeks {
    first_monday: NaiveDate,
    free: Vec<bool>,
    rent_year: Vec<i32>,
    first_rent_year: i32,
    /// Chargeable weeks per rent year, from `first_rent_year`.
    chargeable: Vec<i64>,
}

impl Weeks {
    fn index(&self, monday: NaiveDate) -> usize {
        ((monday - self.first_monday).num_days() / 7) as usize
    }

    fn monday(&self, w: usize) -> NaiveDate {
        self.first_monday + Days::new(7 * w as u64)
    }

    /// Weekly charges by rent year for a home whose charge this rent year (the one holding
    /// `today`) is `current`: earlier years undo each April's change, later ones apply it.
    fn rates(&self, current: i64, today: NaiveDate) -> Vec<i64> {
        let n = self.chargeable.len();
        let mut rates = vec![0i64; n];
        let ci = ((rent_year_of(today) - self.first_rent_year).max(0) as usize).min(n - 1);
        rates[ci] = current;
        for i in (0..ci).rev() {
            let change = data::rent_change_bp(self.first_rent_year + i as i32 + 1);
            rates[i] = (rates[i + 1] * 10_000 + (10_000 + change) / 2) / (10_000 + change);
        }
        for i in ci + 1..n {
            rates[i] = rates[i - 1] * (10_000 + data::rent_change_bp(self.first_rent_year + i as i32)) / 10_000;
        }
        rates
    }

    fn rate_on(&self, rates: &[i64], d: NaiveDate) -> i64 {
        let i = ((rent_year_of(d) - self.first_rent_year).max(0) as usize).min(rates.len() - 1);
        rates[i]
    }
}

/// The generator's whole state between tenancies.
pub struct Generator {
    plan: Plan,
    pub history_start: NaiveDate,
    pub orgs: Vec<OrgRow>,
    pub officers: Vec<OfficerRow>,
    pub rent_free: Vec<RentFreeRow>,
    landlords: Vec<Landlord>,
    weeks: Weeks,
    ids: IdBase,
    next_tenancy: u32,
    ref_buf: String,
}

const HOMES_PER_STREET: u32 = 48;
const HOMES_PER_PATCH: f64 = 450.0;
const INWARD_LETTERS: &[u8] = b"ABDEFGHJLNPQRSTUWXYZ";

pub fn monday_on_or_before(d: NaiveDate) -> NaiveDate {
    d - Days::new(d.weekday().num_days_from_monday() as u64)
}

pub fn monday_on_or_after(d: NaiveDate) -> NaiveDate {
    let back = d.weekday().num_days_from_monday();
    if back == 0 { d } else { d + Days::new(7 - back as u64) }
}

/// Rent years start on the first Monday of April.
pub fn rent_year_start(year: i32) -> NaiveDate {
    let april = NaiveDate::from_ymd_opt(year, 4, 1).unwrap_or(NaiveDate::MIN);
    monday_on_or_after(april)
}

pub fn rent_year_of(d: NaiveDate) -> i32 {
    if d >= rent_year_start(d.year()) { d.year() } else { d.year() - 1 }
}

/// The two rent-free weeks of rent year `year`: the week holding Christmas Day and the last
/// week of March (the week starting on March's last Monday), which ends the rent year.
pub fn rent_free_mondays(year: i32) -> [NaiveDate; 2] {
    let christmas = NaiveDate::from_ymd_opt(year, 12, 25).unwrap_or(NaiveDate::MIN);
    let march_end = NaiveDate::from_ymd_opt(year + 1, 3, 31).unwrap_or(NaiveDate::MIN);
    [monday_on_or_before(christmas), monday_on_or_before(march_end)]
}

impl Generator {
    pub fn new(plan: Plan, ids: IdBase) -> Self {
        let today = plan.today;
        let window_start = today.checked_sub_months(chrono::Months::new(12 * plan.years)).unwrap_or(today);
        let history_start = monday_on_or_after(window_start).min(monday_on_or_before(today));
        // Weeks run from the history start to two months past today, so that payments in
        // advance can see the charges they cover.
        let first_monday = history_start;
        let last_monday = monday_on_or_before(today) + Days::new(9 * 7);
        let first_rent_year = rent_year_of(first_monday);
        let last_rent_year = rent_year_of(last_monday);
        let free_days: Vec<NaiveDate> = (first_rent_year..=last_rent_year).flat_map(rent_free_mondays).collect();
        let n = ((last_monday - first_monday).num_days() / 7 + 1) as usize;
        let mut free = Vec::with_capacity(n);
        let mut rent_year = Vec::with_capacity(n);
        for w in 0..n {
            let m = first_monday + Days::new(7 * w as u64);
            free.push(free_days.contains(&m));
            rent_year.push(rent_year_of(m));
        }
        let chargeable = (first_rent_year..=last_rent_year)
            .map(|y| {
                let (a, b) = (rent_year_start(y), rent_year_start(y + 1));
                let mondays = (b - a).num_days() / 7;
                let free = rent_free_mondays(y).iter().filter(|m| **m >= a && **m < b).count() as i64;
                mondays - free
            })
            .collect();
        let weeks = Weeks { first_monday, free, rent_year, first_rent_year, chargeable };

        let mut ids = ids;
        let mut orgs = Vec::new();
        let group_id = take(&mut ids.organisation);
        orgs.push(OrgRow { id: group_id, parent_id: None, spec: &data::GROUP });
        let mut landlords = Vec::new();
        let mut officers = Vec::new();
        let mut rent_free = Vec::new();
        let mut emails = std::collections::HashSet::new();
        let mut assigned = 0u32;
        for (index, spec) in data::LANDLORDS.iter().enumerate() {
            let id = take(&mut ids.organisation);
            orgs.push(OrgRow { id, parent_id: Some(group_id), spec });
            let tenancies = if index + 1 == data::LANDLORDS.len() {
                plan.scale - assigned
            } else {
                (plan.scale as u64 * spec.share_pct as u64 / 100) as u32
            };
            assigned += tenancies;
            let mut officer_rng = Rng::derive(plan.seed, &[0x0ff1, index as u64]);
            let town_total: u32 = spec.towns.iter().map(|t| t.weight).sum();
            let mut places = Vec::new();
            for town in spec.towns {
                let nb_total: u32 = town.neighbourhoods.iter().map(|n| n.weight).sum();
                let town_homes = tenancies as f64 * town.weight as f64 / town_total as f64;
                // A patch is about 450 homes: a small town (or a small demo) has one patch
                // per town, a big one a patch or more per neighbourhood.
                let per_neighbourhood = town_homes / HOMES_PER_PATCH >= town.neighbourhoods.len() as f64;
                let mut town_patches: Vec<(String, i64)> = Vec::new();
                let mut new_patch = |name: String, ids: &mut IdBase, officers: &mut Vec<OfficerRow>| {
                    let oid = take(&mut ids.housing_officer);
                    let forename = *officer_rng.pick(data::OFFICER_FORENAMES);
                    let surname = *officer_rng.pick(data::OFFICER_SURNAMES);
                    let local = format!("{}.{}", forename.to_lowercase(), surname.to_lowercase());
                    let mut email = format!("{local}@{}", spec.mail_domain);
                    let mut k = 2;
                    while !emails.insert(email.clone()) {
                        email = format!("{local}{k}@{}", spec.mail_domain);
                        k += 1;
                    }
                    let line = if spec.number_prefix == 1 { 300 } else { 500 } + officers.len() % 200;
                    officers.push(OfficerRow {
                        id: oid,
                        organisation_id: id,
                        name: format!("{forename} {surname}"),
                        email,
                        phone: format!("{}{line:03}", spec.officer_phone_prefix),
                        patch: name.clone(),
                    });
                    (name, oid)
                };
                if !per_neighbourhood {
                    let count = (town_homes / HOMES_PER_PATCH).ceil().max(1.0) as usize;
                    for p in 0..count {
                        town_patches.push(new_patch(patch_name(town.name, p, count), &mut ids, &mut officers));
                    }
                }
                for (ni, nb) in town.neighbourhoods.iter().enumerate() {
                    let patches = if per_neighbourhood {
                        let expected = town_homes * nb.weight as f64 / nb_total as f64;
                        let count = (expected / HOMES_PER_PATCH).ceil().max(1.0) as usize;
                        (0..count).map(|p| new_patch(patch_name(nb.name, p, count), &mut ids, &mut officers)).collect()
                    } else {
                        vec![town_patches[ni % town_patches.len()].clone()]
                    };
                    let lat = town.lat + nb.north_km / 111.32;
                    let lon = town.lon + nb.east_km / (111.32 * town.lat.to_radians().cos());
                    places.push(Place {
                        town,
                        nb,
                        weight: town.weight * 1000 / town_total * nb.weight * 1000 / nb_total,
                        lat,
                        lon,
                        patches,
                        homes: 0,
                        street_no: 0,
                    });
                }
            }
            for y in first_rent_year..=last_rent_year + 1 {
                for week_start in rent_free_mondays(y) {
                    rent_free.push(RentFreeRow { id: take(&mut ids.rent_free_week), organisation_id: id, week_start });
                }
            }
            landlords.push(Landlord {
                spec,
                index: index as u64,
                id,
                tenancies,
                places,
                streets_in_town: HashMap::new(),
                people: 0,
                garages: 0,
                alarms: 0,
                works: 0,
                properties: 0,
                formers: 0,
                services: 0,
            });
        }
        Generator {
            plan,
            history_start,
            orgs,
            officers,
            rent_free,
            landlords,
            weeks,
            ids,
            next_tenancy: 0,
            ref_buf: String::new(),
        }
    }

    pub fn plan(&self) -> &Plan {
        &self.plan
    }

    /// Tenancies made so far (homes; garage licences are extra).
    pub fn done(&self) -> u32 {
        self.next_tenancy
    }

    pub fn is_done(&self) -> bool {
        self.next_tenancy >= self.plan.scale
    }

    /// Makes up to `n` more tenancies with everything that hangs off them. Returns how many.
    pub fn fill(&mut self, sink: &mut impl Sink, n: u32) -> Result<u32, BulkError> {
        let mut made = 0;
        while made < n && !self.is_done() {
            let g = self.next_tenancy;
            let (li, j) = if g < self.landlords[0].tenancies { (0, g) } else { (1, g - self.landlords[0].tenancies) };
            self.tenancy(sink, li, j)?;
            self.next_tenancy += 1;
            made += 1;
        }
        Ok(made)
    }

    fn tenancy(&mut self, sink: &mut impl Sink, li: usize, j: u32) -> Result<(), BulkError> {
        let seed = self.plan.seed;
        let today = self.plan.today;
        let mut rng = Rng::derive(seed, &[self.landlords[li].index, j as u64]);
        let home = self.home(&mut rng, li);
        let l = &mut self.landlords[li];
        let spec = l.spec;
        let org_id = l.id;
        let property_id = take(&mut self.ids.property);
        l.properties += 1;
        let property_ref = format!("{}-P{:07}", spec.code, l.properties);
        let place = &l.places[home.place];
        let (patch, officer_id) = place.patches[(home.street_hash % place.patches.len() as u64) as usize].clone();
        let town = place.town;
        let grid = wgs84_to_bng(LatLon { lat: home.lat, lon: home.lon });
        let (easting, northing) = grid.to_metres();
        sink.property(PropertyRow {
            id: property_id,
            organisation_id: org_id,
            organisation: spec.slug,
            hms_ref: property_ref.clone(),
            uprn: uprn(spec, l.properties),
            address_line1: home.line1.clone(),
            address_line2: Some(place.nb.name.to_owned()),
            town: town.name,
            postcode: home.postcode.clone(),
            latitude: round6(home.lat),
            longitude: round6(home.lon),
            easting,
            northing,
            kind: "home",
            bedrooms: Some(home.bedrooms),
            patch: patch.clone(),
            housing_officer_id: officer_id,
        });
        if !home.flat && rng.chance(350) {
            self.features(sink, &mut rng, property_id, home.lat, home.lon, home.angle);
        }

        // The tenancy and its household.
        let years_ago_days = {
            let (lo, hi) = *rng.weighted(&[
                ((0, 365), 10),
                ((365, 3 * 365), 14),
                ((3 * 365, 6 * 365), 16),
                ((6 * 365, 10 * 365), 16),
                ((10 * 365, 20 * 365), 24),
                ((20 * 365, 40 * 365), 20),
            ]);
            rng.range(lo, hi - 1)
        };
        let start = monday_on_or_before(today - Days::new(years_ago_days as u64));
        let years_since = (today - start).num_days() / 365;
        let tenure = if (today - start).num_days() < 365 {
            "starter"
        } else if spec.tenure == "assured" && rng.chance(30) {
            "assured_shorthold"
        } else {
            spec.tenure
        };
        let tenancy_id = take(&mut self.ids.tenancy);
        let tenancy_ref = format!("{}-T{:07}", spec.code, j + 1);
        let group = *rng.weighted(data::group_weights(town.name));
        let lead_female = rng.chance(560);
        let age_at_start = {
            let (lo, hi) =
                *rng.weighted(&[((18, 24), 22), ((25, 34), 28), ((35, 49), 25), ((50, 64), 15), ((65, 80), 10)]);
            rng.range(lo, hi).min(97 - years_since).max(18)
        };
        let lead_dob = start.checked_sub_months(chrono::Months::new(12 * age_at_start as u32)).unwrap_or(start)
            - Days::new(rng.below(365));
        let lead_age = age_on(lead_dob, today);
        let surname = surname_for(&mut rng, group, lead_female);
        let mut people: Vec<(PersonRow, &'static str)> = Vec::new();
        let lead = self.person(&mut rng, li, group, lead_female, surname, lead_dob, Role::Lead);
        people.push((lead, "lead"));
        if age_at_start >= 20 && rng.chance(280) {
            let female = if rng.chance(900) { !lead_female } else { lead_female };
            let dob = lead_dob + Days::new(rng.range(0, 12 * 365) as u64) - Days::new(6 * 365);
            let dob = dob.min(start - Days::new(18 * 366));
            let group2 = if rng.chance(850) { group } else { *rng.weighted(data::GROUP_WEIGHTS_DEFAULT) };
            let surname2 = if rng.chance(650) && group2 == group {
                surname_for_sex(surname, group, female)
            } else {
                surname_for(&mut rng, group2, female)
            };
            let joint = self.person(&mut rng, li, group2, female, surname2, dob, Role::Joint);
            people.push((joint, "joint"));
        }
        let max_household = (home.bedrooms - 1).max(0) as i64 + 1;
        let household = if lead_age < 19 { 0 } else { rng.range(0, max_household.min(4)) };
        for _ in 0..household {
            let oldest = (lead_age - 18).min(25);
            let age = rng.range(0, oldest.max(0));
            let dob = today.checked_sub_months(chrono::Months::new(12 * age as u32)).unwrap_or(today)
                - Days::new(rng.below(365));
            let female = rng.chance(500);
            let member =
                self.person(&mut rng, li, group, female, surname_for_sex(surname, group, female), dob, Role::Household);
            people.push((member, "household"));
        }
        let lead_person_id = people[0].0.id;
        let lead_person_ref = people[0].0.hms_ref.clone();
        let tenancy = TenancyRow {
            id: tenancy_id,
            organisation_id: org_id,
            hms_ref: tenancy_ref.clone(),
            property_id,
            property_ref: property_ref.clone(),
            tenure,
            start_date: start,
            end_date: None,
        };
        let mut members = Vec::with_capacity(people.len());
        for (p, role) in people {
            members.push(MemberRow {
                id: take(&mut self.ids.tenancy_member),
                tenancy_id,
                tenancy_ref: tenancy_ref.clone(),
                person_id: p.id,
                person_ref: p.hms_ref.clone(),
                role,
            });
            sink.person(p);
        }
        sink.tenancy(tenancy);
        for m in members {
            sink.member(m);
        }

        // How this household pays.
        let behaviour = *rng.weighted(&[(Behaviour::Good, 700), (Behaviour::Arrears, 200), (Behaviour::Credit, 100)]);
        let payer = Payer::new(&mut rng, behaviour, lead_age, self.history_start, today);

        // Rent.
        let rate = match home.bedrooms {
            0 | 1 => rng.range(8000, 9400),
            2 => rng.range(9000, 10800),
            3 => rng.range(10200, 12400),
            _ => rng.range(11800, 14000),
        };
        let number = format!("{}{:07}", spec.number_prefix, j + 1);
        let rent = AccountRow {
            id: take(&mut self.ids.rent_account),
            organisation_id: org_id,
            tenancy_id,
            tenancy_ref: tenancy_ref.clone(),
            hms_ref: format!("{}-{number}", spec.code),
            account_number: number,
            kind: "rent",
            weekly_charge_pence: rate,
            opened_on: start,
            closed_on: None,
        };
        sink.account(&rent);
        self.history(sink, &mut rng, &rent, rent.weekly_charge_pence, &payer, AccountKind::Rent)?;

        // The tenancies before this one that ended within the history window: their
        // tenants, their closed accounts and whatever they left owing.
        let mut next_start = start;
        while next_start > self.history_start && rng.chance(900) {
            let end = next_start - Days::new(7 * rng.range(1, 8) as u64 + 1);
            let begun = monday_on_or_before(end - Days::new(rng.range(180, 20 * 365) as u64));
            let home = FormerHome { town: town.name, property_id, property_ref: &property_ref, rate };
            self.former(sink, &mut rng, li, &home, begun, end)?;
            next_start = begun;
        }

        // Flats in blocks pay a service charge for cleaning, lighting and the lift.
        if home.flat {
            let l = &mut self.landlords[li];
            l.services += 1;
            let number = format!("SVC-{}{:06}", spec.number_prefix, l.services);
            let service = AccountRow {
                id: take(&mut self.ids.rent_account),
                organisation_id: org_id,
                tenancy_id,
                tenancy_ref: tenancy_ref.clone(),
                hms_ref: format!("{}-{number}", spec.code),
                account_number: number,
                kind: "service_charge",
                weekly_charge_pence: rng.range(450, 1500),
                opened_on: start,
                closed_on: None,
            };
            sink.account(&service);
            let text = "Service charge (cleaning, lighting, lift)";
            self.history(sink, &mut rng, &service, service.weekly_charge_pence, &payer, AccountKind::Other(text))?;
        }

        // Community alarm, mostly for older tenants.
        if rng.chance(if lead_age >= 65 { 250 } else { 20 }) {
            let l = &mut self.landlords[li];
            l.alarms += 1;
            let opened = start.max(monday_on_or_before(today - Days::new(rng.below(8 * 365))));
            let number = format!("CAL-{}{:06}", spec.number_prefix, l.alarms);
            let alarm = AccountRow {
                id: take(&mut self.ids.rent_account),
                organisation_id: org_id,
                tenancy_id,
                tenancy_ref: tenancy_ref.clone(),
                hms_ref: format!("{}-{number}", spec.code),
                account_number: number,
                kind: "community_alarm",
                weekly_charge_pence: rng.range(300, 500),
                opened_on: opened,
                closed_on: None,
            };
            sink.account(&alarm);
            self.history(
                sink,
                &mut rng,
                &alarm,
                alarm.weekly_charge_pence,
                &payer,
                AccountKind::Other("Community alarm service"),
            )?;
        }

        // A garage, on its own licence.
        if rng.chance(150) {
            let l = &mut self.landlords[li];
            l.garages += 1;
            l.properties += 1;
            let n = l.garages;
            let garage_ref = format!("{}-G{:07}", spec.code, n);
            let garage_id = take(&mut self.ids.property);
            let (glat, glon) = offset(home.lat, home.lon, home.angle + 1.57, 35.0 + rng.range(0, 20) as f64);
            let grid = wgs84_to_bng(LatLon { lat: glat, lon: glon });
            let (ge, gn) = grid.to_metres();
            sink.property(PropertyRow {
                id: garage_id,
                organisation_id: org_id,
                organisation: spec.slug,
                hms_ref: garage_ref.clone(),
                uprn: uprn(spec, l.properties),
                address_line1: format!("Garage {}", rng.range(1, 24)),
                address_line2: Some(format!("Garage site off {}", home.street)),
                town: town.name,
                postcode: home.postcode.clone(),
                latitude: round6(glat),
                longitude: round6(glon),
                easting: ge,
                northing: gn,
                kind: "garage",
                bedrooms: None,
                patch: patch.clone(),
                housing_officer_id: officer_id,
            });
            let opened = start.max(monday_on_or_before(today - Days::new(rng.below(12 * 365))));
            let licence_ref = format!("{}-L{:07}", spec.code, n);
            let licence_id = take(&mut self.ids.tenancy);
            sink.tenancy(TenancyRow {
                id: licence_id,
                organisation_id: org_id,
                hms_ref: licence_ref.clone(),
                property_id: garage_id,
                property_ref: garage_ref,
                tenure: "licence",
                start_date: opened,
                end_date: None,
            });
            sink.member(MemberRow {
                id: take(&mut self.ids.tenancy_member),
                tenancy_id: licence_id,
                tenancy_ref: licence_ref.clone(),
                person_id: lead_person_id,
                person_ref: lead_person_ref,
                role: "lead",
            });
            let number = format!("GAR-{}{:06}", spec.number_prefix, n);
            let garage = AccountRow {
                id: take(&mut self.ids.rent_account),
                organisation_id: org_id,
                tenancy_id: licence_id,
                tenancy_ref: licence_ref,
                hms_ref: format!("{}-{number}", spec.code),
                account_number: number,
                kind: "garage",
                weekly_charge_pence: rng.range(800, 1200),
                opened_on: opened,
                closed_on: None,
            };
            sink.account(&garage);
            self.history(
                sink,
                &mut rng,
                &garage,
                garage.weekly_charge_pence,
                &payer,
                AccountKind::Other("Garage rent"),
            )?;
        }

        // Planned work on the home.
        for kind in data::WORK_KINDS {
            if home.flat && matches!(kind.category, "roof" | "external_decoration") {
                continue;
            }
            let mut dates = Vec::new();
            if rng.chance(kind.past_pm) {
                dates.push(today - Days::new(rng.range(kind.days + 1, 10 * 365) as u64));
            }
            if rng.chance(kind.future_pm) {
                dates.push(today + Days::new(rng.range(0, 3 * 365) as u64) - Days::new(kind.days as u64 / 2));
            }
            for planned_start in dates {
                let planned_start = monday_on_or_after(planned_start);
                let end = planned_start + Days::new(kind.days as u64 - 1);
                let status = if end < today {
                    if rng.chance(50) { "cancelled" } else { "completed" }
                } else if planned_start <= today {
                    "in_progress"
                } else {
                    "planned"
                };
                let l = &mut self.landlords[li];
                l.works += 1;
                sink.work(WorkRow {
                    id: take(&mut self.ids.planned_work),
                    property_id,
                    property_ref: property_ref.clone(),
                    hms_ref: format!("{}-W{:07}", spec.code, l.works),
                    category: kind.category,
                    description: kind.description,
                    planned_start,
                    planned_end: Some(end),
                    status,
                    contractor: (status != "planned" || rng.chance(600)).then(|| *rng.pick(kind.contractors)),
                });
            }
        }
        Ok(())
    }

    fn former(
        &mut self,
        sink: &mut impl Sink,
        rng: &mut Rng,
        li: usize,
        home: &FormerHome<'_>,
        begun: NaiveDate,
        end: NaiveDate,
    ) -> Result<(), BulkError> {
        let today = self.plan.today;
        let l = &mut self.landlords[li];
        l.formers += 1;
        let (n, spec, org_id) = (l.formers, l.spec, l.id);
        let group = *rng.weighted(data::group_weights(home.town));
        let female = rng.chance(560);
        let age_at_start = rng.range(18, 75) as u32;
        let dob = begun.checked_sub_months(chrono::Months::new(12 * age_at_start)).unwrap_or(begun)
            - Days::new(rng.below(365));
        let surname = surname_for(rng, group, female);
        let mut people = vec![(self.person(rng, li, group, female, surname, dob, Role::Lead), "lead")];
        if rng.chance(250) {
            let dob2 = dob + Days::new(rng.range(0, 8 * 365) as u64) - Days::new(4 * 365);
            let dob2 = dob2.min(begun - Days::new(18 * 366));
            let joint =
                self.person(rng, li, group, !female, surname_for_sex(surname, group, !female), dob2, Role::Joint);
            people.push((joint, "joint"));
        }
        let tenancy_id = take(&mut self.ids.tenancy);
        let tenancy_ref = format!("{}-F{:07}", spec.code, n);
        let tenure = if (end - begun).num_days() < 365 { "starter" } else { spec.tenure };
        let mut members = Vec::new();
        for (p, role) in people {
            members.push(MemberRow {
                id: take(&mut self.ids.tenancy_member),
                tenancy_id,
                tenancy_ref: tenancy_ref.clone(),
                person_id: p.id,
                person_ref: p.hms_ref.clone(),
                role,
            });
            sink.person(p);
        }
        sink.tenancy(TenancyRow {
            id: tenancy_id,
            organisation_id: org_id,
            hms_ref: tenancy_ref.clone(),
            property_id: home.property_id,
            property_ref: home.property_ref.to_owned(),
            tenure,
            start_date: begun,
            end_date: Some(end),
        });
        for m in members {
            sink.member(m);
        }
        let rates = self.weeks.rates(home.rate, today);
        let number = format!("{}{:07}", spec.number_prefix, 5_000_000 + n);
        let account = AccountRow {
            id: take(&mut self.ids.rent_account),
            organisation_id: org_id,
            tenancy_id,
            tenancy_ref,
            hms_ref: format!("{}-{number}", spec.code),
            account_number: number,
            kind: "rent",
            weekly_charge_pence: self.weeks.rate_on(&rates, end),
            opened_on: begun,
            closed_on: Some(end),
        };
        sink.account(&account);
        let behaviour = *rng.weighted(&[(Behaviour::Good, 600), (Behaviour::Arrears, 300), (Behaviour::Credit, 100)]);
        let payer = Payer::new(rng, behaviour, age_on(dob, end), self.history_start, end);
        self.history(sink, rng, &account, home.rate, &payer, AccountKind::Rent)
    }

    #[expect(clippy::too_many_arguments, reason = "a person's particulars")]
    fn person(
        &mut self,
        rng: &mut Rng,
        li: usize,
        group: NameGroup,
        female: bool,
        surname: &'static str,
        dob: NaiveDate,
        role: Role,
    ) -> PersonRow {
        let today = self.plan.today;
        let l = &mut self.landlords[li];
        l.people += 1;
        let age = age_on(dob, today);
        let forename = forename_for(rng, group, female, dob.year());
        let adult = age >= 18;
        let title = if !adult {
            None
        } else if rng.chance(10) {
            Some("Dr")
        } else if rng.chance(15) {
            Some("Mx")
        } else if !female {
            Some("Mr")
        } else {
            Some(*rng.weighted(&[("Mrs", 50), ("Ms", 30), ("Miss", 20)]))
        };
        let (email_pm, phone_pm) = match role {
            Role::Lead => (600, 850),
            Role::Joint => (400, 600),
            Role::Household => (200, 300),
        };
        let email = (adult && rng.chance(email_pm)).then(|| {
            let domain = *rng.pick(&["example.com", "example.org", "example.net"]);
            let digits = if rng.chance(500) { format!("{}", rng.range(1, 99)) } else { String::new() };
            format!("{}.{}{digits}@{domain}", ascii_fold(forename), ascii_fold(surname))
        });
        let phone = (adult && rng.chance(phone_pm)).then(|| format!("07700 900{:03}", rng.below(1000)));
        PersonRow {
            id: take(&mut self.ids.person),
            organisation_id: l.id,
            organisation: l.spec.slug,
            hms_ref: format!("{}-C{:07}", l.spec.code, l.people),
            title,
            forename,
            surname,
            date_of_birth: dob,
            email,
            phone,
        }
    }

    /// Picks a neighbourhood, a street and a door for the next home.
    fn home(&mut self, rng: &mut Rng, li: usize) -> Home {
        let l = &mut self.landlords[li];
        let weights: Vec<(usize, u32)> = l.places.iter().enumerate().map(|(i, p)| (i, p.weight)).collect();
        let pi = *rng.weighted(&weights);
        let place = &mut l.places[pi];
        let slot = place.homes % HOMES_PER_STREET;
        if slot == 0 {
            let next = l.streets_in_town.entry(place.town.name).or_insert(0);
            place.street_no = *next;
            *next += 1;
        }
        let street_no = place.street_no;
        place.homes += 1;
        let town = place.town;
        let key = format!("{}/{}/{}", l.spec.code, town.name, street_no);
        let h = hash_str(&key);
        let flat = h % 100 < 18;
        let stems = data::STREET_STEMS;
        let kinds = data::STREET_KINDS;
        let name = if !flat && (street_no as usize) < town.streets.len() {
            town.streets[street_no as usize].to_owned()
        } else {
            // A town-wide walk through every stem and kind, so no name repeats in a town.
            let total = stems.len() * kinds.len();
            let step = coprime_step(total);
            let i = (street_no as usize * step + (hash_str(town.name) as usize % total)) % total;
            let (stem, k) = (stems[i / kinds.len()], i % kinds.len());
            let blocks = data::BLOCK_KINDS;
            let name = match (flat, k < blocks.len()) {
                (false, _) => format!("{stem} {}", kinds[k]),
                // Blocks are named after a stem, or after the street they stand on.
                (true, true) => format!("{stem} {}", blocks[k]),
                (true, false) => format!("{stem} {} {}", kinds[k], blocks[i / kinds.len() % blocks.len()]),
            };
            if town.streets.contains(&name.as_str()) { format!("{name} North") } else { name }
        };
        let both_sides = h >> 8 & 1 == 0;
        let first = 1 + 2 * (h >> 16 & 7) as u32;
        let number = if flat {
            slot + 1
        } else if both_sides {
            first + slot
        } else {
            first + 2 * slot
        };
        let nb = place.nb;
        let district = nb.districts[(h >> 24) as usize % nb.districts.len()];
        let sector = nb.sectors[(h >> 28) as usize % nb.sectors.len()];
        let unit = hash_str(&format!("{key}/{}", slot / 14));
        let l1 = INWARD_LETTERS[(unit % 20) as usize] as char;
        let l2 = INWARD_LETTERS[(unit / 20 % 20) as usize] as char;
        let postcode = format!("{district} {sector}{l1}{l2}");
        // Streets sit within about 700 m of the neighbourhood centre and run in a straight
        // line; homes are 7 m apart, odd and even numbers on opposite sides.
        let angle = (h >> 32 & 0xffff) as f64 / 65536.0 * std::f64::consts::TAU;
        let radius = (h >> 48 & 0xff) as f64 / 255.0 * 700.0;
        let (slat, slon) = offset(place.lat, place.lon, angle, radius);
        let street_angle = (h >> 40 & 0xff) as f64 / 255.0 * std::f64::consts::PI;
        let along = if flat { 0.0 } else { (number as f64 / 2.0).floor() * 7.0 - 80.0 };
        let (alat, alon) = offset(slat, slon, street_angle, along);
        let side = if number % 2 == 0 { 1.0 } else { -1.0 };
        let (lat, lon) = offset(alat, alon, street_angle + std::f64::consts::FRAC_PI_2, side * 12.0);
        let (lat, lon) = (lat + (rng.unit() - 0.5) * 0.00002, lon + (rng.unit() - 0.5) * 0.00003);
        let bedrooms = if flat {
            *rng.weighted(&[(1, 55), (2, 45)])
        } else {
            *rng.weighted(&[(1, 5), (2, 38), (3, 45), (4, 10), (5, 2)])
        };
        let line1 = if flat { format!("Flat {number}, {name}") } else { format!("{number} {name}") };
        Home { place: pi, street: name, street_hash: h, line1, postcode, lat, lon, angle: street_angle, flat, bedrooms }
    }

    fn features(&mut self, sink: &mut impl Sink, rng: &mut Rng, property_id: i64, lat: f64, lon: f64, angle: f64) {
        let back = angle + std::f64::consts::FRAC_PI_2;
        let n = rng.range(1, 3);
        let mut kinds = vec!["boundary", "fence", "tree", "grass_area"];
        for _ in 0..n {
            let kind = kinds.remove(rng.below(kinds.len() as u64) as usize);
            let corner = |along: f64, deep: f64| {
                let (a, b) = offset(lat, lon, angle, along);
                let (a, b) = offset(a, b, back, deep);
                format!("[{:.6},{:.6}]", b, a)
            };
            let (geometry, responsibility, notes) = match kind {
                "boundary" => (
                    format!(
                        r#"{{"type":"Polygon","coordinates":[[{},{},{},{},{}]]}}"#,
                        corner(-3.5, 0.0),
                        corner(3.5, 0.0),
                        corner(3.5, 25.0),
                        corner(-3.5, 25.0),
                        corner(-3.5, 0.0)
                    ),
                    "landlord",
                    None,
                ),
                "fence" => (
                    format!(r#"{{"type":"LineString","coordinates":[{},{}]}}"#, corner(-3.5, 25.0), corner(3.5, 25.0)),
                    *rng.weighted(&[("tenant", 60), ("landlord", 30), ("shared", 10)]),
                    Some(*rng.pick(&["Close-boarded fence, 1.8 m", "Post and rail fence", "Chain-link fence, 1.2 m"])),
                ),
                "tree" => (
                    format!(r#"{{"type":"Point","coordinates":{}}}"#, corner(rng.range(-3, 3) as f64, 18.0)),
                    "landlord",
                    Some(*rng.pick(&[
                        "Sycamore",
                        "Silver birch",
                        "Rowan",
                        "Ash, covered by a tree preservation order",
                    ])),
                ),
                _ => (
                    format!(
                        r#"{{"type":"Polygon","coordinates":[[{},{},{},{},{}]]}}"#,
                        corner(-10.0, -6.0),
                        corner(10.0, -6.0),
                        corner(10.0, -14.0),
                        corner(-10.0, -14.0),
                        corner(-10.0, -6.0)
                    ),
                    *rng.weighted(&[("landlord", 80), ("shared", 20)]),
                    Some("Communal grass, cut fortnightly from April to October"),
                ),
            };
            sink.feature(FeatureRow {
                id: take(&mut self.ids.property_feature),
                property_id,
                kind,
                responsibility,
                geometry,
                notes,
            });
        }
    }

    /// Posts an account's whole history: charges every Monday that is not rent free, and the
    /// household's payments and benefits as its payer pays them.
    fn history(
        &mut self,
        sink: &mut impl Sink,
        rng: &mut Rng,
        account: &AccountRow,
        current_rate: i64,
        payer: &Payer,
        kind: AccountKind,
    ) -> Result<(), BulkError> {
        let today = self.plan.today;
        let history_start = self.history_start;
        let Generator { weeks, ref_buf, .. } = self;
        let start = account.opened_on.max(history_start);
        let end = account.closed_on.unwrap_or(today).min(today);
        if monday_on_or_after(start) > end {
            return Ok(());
        }
        let first_w = weeks.index(monday_on_or_after(start));
        let last_w = weeks.index(monday_on_or_before(end));
        let rates = weeks.rates(current_rate, today);
        let n_years = rates.len();
        let charge_of = |w: usize| -> i64 {
            if w < first_w || w > last_w || w >= weeks.free.len() || weeks.free[w] {
                0
            } else {
                rates[(weeks.rent_year[w] - weeks.first_rent_year) as usize]
            }
        };
        let monthly_of = |d: NaiveDate| -> i64 {
            let i = ((rent_year_of(d) - weeks.first_rent_year).max(0) as usize).min(n_years - 1);
            (rates[i] * weeks.chargeable[i] + 6) / 12
        };
        let (charge_text, plans) = match kind {
            AccountKind::Rent => ("Rent", payer.rent_plans.as_slice()),
            AccountKind::Other(text) => (text, payer.other_plans.as_slice()),
        };
        let mut seq = 0u32;
        let mut balance: i64 = 0;
        sink.begin_history(account);
        let number = account.account_number.as_str();

        // Accounts older than the window start with what they owed (or were owed) then.
        if account.opened_on < history_start {
            let weekly = rates[0];
            let opening = match (payer.behaviour, kind) {
                (Behaviour::Arrears, _) => rng.range(weekly / 2, weekly * 8),
                (Behaviour::Credit, _) => -rng.range(weekly / 2, weekly * 4),
                (Behaviour::Good, AccountKind::Rent) if rng.chance(300) => -rng.range(1, weekly),
                _ => 0,
            };
            if opening != 0 {
                let date = weeks.monday(first_w);
                seq += 1;
                emit(
                    sink,
                    ref_buf,
                    number,
                    seq,
                    EntryKind::Adjustment,
                    opening,
                    date,
                    "Balance brought forward",
                    None,
                )?;
                balance += opening;
            }
        }

        // Arrangement state: once arrears pass eight weeks the household agrees to pay
        // extra until they are under three; once credit passes eight weeks it eases off.
        let mut catching_up = false;
        let mut easing = false;
        let mut events: Vec<Event> = Vec::new();
        for w in first_w..=last_w {
            let monday = weeks.monday(w);
            events.clear();
            let charge = charge_of(w);
            if charge > 0 {
                events.push((monday, 0, EntryKind::Charge, charge, charge_text, None));
            }
            let weekly = rates[(weeks.rent_year[w] - weeks.first_rent_year) as usize].max(1);
            if payer.behaviour == Behaviour::Arrears {
                if balance > 8 * weekly {
                    catching_up = true;
                } else if balance < 3 * weekly {
                    catching_up = false;
                }
            }
            if payer.behaviour == Behaviour::Credit {
                if balance < -8 * weekly {
                    easing = true;
                } else if balance > -2 * weekly {
                    easing = false;
                }
            }
            for plan in plans {
                let Some(date) = plan.freq.date_in_week(monday, w) else { continue };
                if date < plan.from || date >= plan.to || date > end || date < start {
                    continue;
                }
                let due = match plan.freq {
                    Freq::Monthly { .. } => monthly_of(date),
                    f => {
                        let k = f.weeks() as usize;
                        if plan.in_arrears {
                            (w.saturating_sub(k)..w).map(&charge_of).sum()
                        } else {
                            (w..w + k).map(&charge_of).sum()
                        }
                    }
                };
                let share = match plan.role {
                    PlanRole::Benefit(s) => s,
                    PlanRole::Personal => 1000 - payer.covered(date, kind),
                };
                if share == 0 || due == 0 {
                    continue;
                }
                let ratio = match plan.role {
                    PlanRole::Benefit(_) => 1000,
                    PlanRole::Personal => {
                        if catching_up {
                            1150
                        } else if rng.chance(payer.miss_pm) {
                            continue;
                        } else if easing {
                            920
                        } else {
                            payer.ratio_pm
                        }
                    }
                };
                let mut amount = (due * share as i64 * ratio as i64 + 500_000) / 1_000_000;
                // Households who keep up clear anything outstanding with their next payment
                // (what a late first payment or a missed one left behind).
                if plan.role == PlanRole::Personal
                    && payer.behaviour != Behaviour::Arrears
                    && share == 1000
                    && balance > 0
                {
                    amount += balance.min(4 * weekly);
                }
                if plan.round_pounds {
                    // People paying by hand pay whole pounds: rounded up when they keep up,
                    // to the nearest pound when they are behind.
                    let up = if payer.behaviour == Behaviour::Arrears { 50 } else { 99 };
                    amount = ((amount + up) / 100 * 100).max(100);
                }
                if amount <= 0 {
                    continue;
                }
                events.push((date, 1, plan.kind, -amount, plan.description, Some(plan.channel)));
            }
            // Households in credit sometimes ask for it back.
            if payer.behaviour == Behaviour::Credit && balance < -10 * weekly && rng.chance(150) {
                let refund = -balance - 2 * weekly;
                let date = monday + Days::new(2);
                if date <= end && refund > 0 {
                    events.push((date, 2, EntryKind::Refund, refund, "Refund of credit", None));
                }
            }
            events.sort_by_key(|e| (e.0, e.1));
            for &(date, _, kind, amount, text, channel) in &events {
                seq += 1;
                emit(sink, ref_buf, number, seq, kind, amount, date, text, channel)?;
                balance += amount;
            }
        }
        // A tenancy that ended: credit goes back to the tenant; some former tenant
        // arrears are written off, the rest stay on the account to be pursued.
        if account.closed_on.is_some() {
            if balance < 0 {
                seq += 1;
                emit(
                    sink,
                    ref_buf,
                    number,
                    seq,
                    EntryKind::Refund,
                    -balance,
                    end,
                    "Refund of credit on leaving",
                    None,
                )?;
            } else if balance > 0 && rng.chance(400) {
                seq += 1;
                let text = "Former tenant arrears written off";
                emit(sink, ref_buf, number, seq, EntryKind::Adjustment, -balance, end, text, None)?;
            }
        }
        Ok(())
    }
}

#[expect(clippy::too_many_arguments, reason = "one ledger line's fields")]
fn emit(
    sink: &mut impl Sink,
    ref_buf: &mut String,
    number: &str,
    seq: u32,
    kind: EntryKind,
    amount: i64,
    date: NaiveDate,
    description: &'static str,
    channel: Option<Channel>,
) -> Result<(), BulkError> {
    use std::fmt::Write;
    ref_buf.clear();
    let _ = write!(ref_buf, "{number}/{seq}");
    sink.entry(&EntryRow {
        kind,
        amount: Money::from_pence(amount),
        effective_date: date,
        description,
        source_ref: ref_buf,
        channel,
    })
}

/// A line of one week's history: date, order within the day, kind, amount, description
/// and channel.
type Event = (NaiveDate, u8, EntryKind, i64, &'static str, Option<Channel>);

#[derive(Debug, Clone, Copy)]
enum Role {
    Lead,
    Joint,
    Household,
}

#[derive(Debug, Clone, Copy)]
enum AccountKind {
    Rent,
    Other(&'static str),
}

/// What a former tenancy shares with the current one.
struct FormerHome<'a> {
    town: &'static str,
    property_id: i64,
    property_ref: &'a str,
    /// This rent year's weekly rent for the home.
    rate: i64,
}

struct Home {
    place: usize,
    street: String,
    street_hash: u64,
    line1: String,
    postcode: String,
    lat: f64,
    lon: f64,
    angle: f64,
    flat: bool,
    bedrooms: i32,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Behaviour {
    Good,
    Arrears,
    Credit,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Freq {
    Weekly { weekday: u8 },
    Fortnightly { weekday: u8, parity: u8 },
    FourWeekly { weekday: u8, phase: u8 },
    Monthly { day: u8 },
}

impl Freq {
    fn weeks(self) -> u64 {
        match self {
            Freq::Weekly { .. } => 1,
            Freq::Fortnightly { .. } => 2,
            Freq::FourWeekly { .. } => 4,
            Freq::Monthly { .. } => 4,
        }
    }

    /// The day this plan pays in the week starting `monday` (week number `w`), if any.
    fn date_in_week(self, monday: NaiveDate, w: usize) -> Option<NaiveDate> {
        match self {
            Freq::Weekly { weekday } => Some(monday + Days::new(weekday as u64)),
            Freq::Fortnightly { weekday, parity } => {
                (w % 2 == parity as usize).then(|| monday + Days::new(weekday as u64))
            }
            Freq::FourWeekly { weekday, phase } => {
                (w % 4 == phase as usize).then(|| monday + Days::new(weekday as u64))
            }
            Freq::Monthly { day } => (0..7u64).map(|i| monday + Days::new(i)).find(|d| d.day() == day as u32),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum PlanRole {
    /// Paid by the household; covers what benefits do not.
    Personal,
    /// Housing Benefit or Universal Credit paid to the landlord: this share of the charge.
    Benefit(u32),
}

#[derive(Debug, Clone)]
struct PayPlan {
    from: NaiveDate,
    to: NaiveDate,
    kind: EntryKind,
    channel: Channel,
    description: &'static str,
    freq: Freq,
    role: PlanRole,
    /// Housing Benefit pays for the weeks just gone; everyone else for the weeks ahead.
    in_arrears: bool,
    /// Cash, card and app payments are usually whole pounds.
    round_pounds: bool,
}

struct Payer {
    behaviour: Behaviour,
    ratio_pm: u32,
    miss_pm: u32,
    rent_plans: Vec<PayPlan>,
    other_plans: Vec<PayPlan>,
}

impl Payer {
    fn new(rng: &mut Rng, behaviour: Behaviour, lead_age: i64, history_start: NaiveDate, today: NaiveDate) -> Payer {
        let far = NaiveDate::MAX;
        let (ratio_pm, miss_pm) = match behaviour {
            Behaviour::Good => (1000, 4),
            Behaviour::Arrears => (rng.range(880, 985) as u32, rng.range(60, 150) as u32),
            Behaviour::Credit => (rng.range(1020, 1080) as u32, 0),
        };
        let mut rent_plans = Vec::new();
        // Benefits: most pensioners on low incomes get Housing Benefit; working-age claims
        // moved to Universal Credit, paid to the landlord direct for some households.
        let pensioner = lead_age >= 66;
        if rng.chance(if pensioner { 500 } else { 420 }) {
            let share = if rng.chance(650) { 1000 } else { rng.range(30, 90) as u32 * 10 };
            let hb = |from, to, rng: &mut Rng| PayPlan {
                from,
                to,
                kind: EntryKind::HousingBenefit,
                channel: Channel::HousingBenefit,
                description: "Housing Benefit",
                freq: Freq::FourWeekly { weekday: 0, phase: rng.below(4) as u8 },
                role: PlanRole::Benefit(share),
                in_arrears: true,
                round_pounds: false,
            };
            if pensioner {
                rent_plans.push(hb(NaiveDate::MIN, far, rng));
            } else {
                // The move to Universal Credit: a date between mid-2018 and the end of 2024.
                let switch =
                    NaiveDate::from_ymd_opt(2018, 6, 1).unwrap_or(NaiveDate::MIN) + Days::new(rng.below(6 * 365 + 180));
                rent_plans.push(hb(NaiveDate::MIN, switch, rng));
                if rng.chance(450) {
                    // Managed payment to the landlord starts after the five-week wait.
                    rent_plans.push(PayPlan {
                        from: switch + Days::new(35),
                        to: far,
                        kind: EntryKind::UniversalCredit,
                        channel: Channel::UniversalCredit,
                        description: "Universal Credit housing costs",
                        freq: Freq::Monthly { day: rng.range(1, 28) as u8 },
                        role: PlanRole::Benefit(share),
                        in_arrears: false,
                        round_pounds: false,
                    });
                }
            }
        }
        // The household's own payments, sometimes changing channel part way through.
        let first = personal_plan(rng, NaiveDate::MIN, far);
        if rng.chance(300) && history_start < today {
            let span = (today - history_start).num_days().max(1) as u64;
            let switch = history_start + Days::new(rng.below(span));
            let mut a = first;
            a.to = switch;
            let b = personal_plan(rng, switch, far);
            rent_plans.push(a);
            rent_plans.push(b);
        } else {
            rent_plans.push(first);
        }
        // Garages and alarms are paid monthly by direct debit or card, whatever the rent does.
        let channel =
            *rng.weighted(&[(Channel::DirectDebit, 60), (Channel::StandingOrder, 15), (Channel::RecurringCard, 25)]);
        let other_plans = vec![PayPlan {
            from: NaiveDate::MIN,
            to: far,
            kind: EntryKind::Payment,
            channel,
            description: describe(channel),
            freq: Freq::Monthly { day: rng.range(1, 28) as u8 },
            role: PlanRole::Personal,
            in_arrears: false,
            round_pounds: false,
        }];
        Payer { behaviour, ratio_pm, miss_pm, rent_plans, other_plans }
    }

    /// Share of the charge (per mille) that benefits pay on `date`.
    fn covered(&self, date: NaiveDate, kind: AccountKind) -> u32 {
        if !matches!(kind, AccountKind::Rent) {
            return 0;
        }
        self.rent_plans
            .iter()
            .filter(|p| date >= p.from && date < p.to)
            .map(|p| match p.role {
                PlanRole::Benefit(s) => s,
                PlanRole::Personal => 0,
            })
            .max()
            .unwrap_or(0)
    }
}

fn personal_plan(rng: &mut Rng, from: NaiveDate, to: NaiveDate) -> PayPlan {
    let channel = *rng.weighted(&[
        (Channel::DirectDebit, 28),
        (Channel::StandingOrder, 6),
        (Channel::RecurringCard, 8),
        (Channel::Web, 14),
        (Channel::App, 13),
        (Channel::Telephone, 7),
        (Channel::RetailCash, 16),
        (Channel::PayByLink, 8),
    ]);
    let weekday = rng.range(0, 4) as u8;
    let weekly = Freq::Weekly { weekday };
    let fortnightly = Freq::Fortnightly { weekday, parity: rng.below(2) as u8 };
    let four = Freq::FourWeekly { weekday, phase: rng.below(4) as u8 };
    let monthly = Freq::Monthly { day: *rng.pick(&[1u8, 1, 1, 8, 15, 15, 22, 28]) };
    let freq = match channel {
        Channel::DirectDebit => *rng.weighted(&[(monthly, 65), (four, 15), (fortnightly, 10), (weekly, 10)]),
        Channel::StandingOrder => *rng.weighted(&[(monthly, 80), (weekly, 20)]),
        Channel::RecurringCard => *rng.weighted(&[(weekly, 30), (fortnightly, 30), (monthly, 40)]),
        Channel::RetailCash => *rng.weighted(&[(weekly, 85), (fortnightly, 15)]),
        _ => *rng.weighted(&[(weekly, 55), (fortnightly, 25), (monthly, 20)]),
    };
    let round_pounds =
        matches!(channel, Channel::Web | Channel::App | Channel::Telephone | Channel::RetailCash | Channel::PayByLink);
    PayPlan {
        from,
        to,
        kind: EntryKind::Payment,
        channel,
        description: describe(channel),
        freq,
        role: PlanRole::Personal,
        in_arrears: false,
        round_pounds,
    }
}

fn describe(channel: Channel) -> &'static str {
    match channel {
        Channel::DirectDebit => "Direct Debit",
        Channel::StandingOrder => "Standing order",
        Channel::RecurringCard => "Card payment (recurring)",
        Channel::Web => "Online payment",
        Channel::App => "App payment",
        Channel::Telephone => "Telephone payment",
        Channel::RetailCash => "Cash payment (PayPoint)",
        Channel::PayByLink => "Pay by link",
        Channel::HousingBenefit => "Housing Benefit",
        Channel::UniversalCredit => "Universal Credit housing costs",
        Channel::Hms => "Payment",
    }
}

fn patch_name(area: &str, i: usize, count: usize) -> String {
    match count {
        1 => area.to_owned(),
        2..=5 => format!("{area} {}", ["North", "South", "East", "West", "Central"][i]),
        _ => format!("{area} {}", i + 1),
    }
}

fn take(counter: &mut i64) -> i64 {
    let v = *counter;
    *counter += 1;
    v
}

fn uprn(spec: &OrgSpec, n: u64) -> i64 {
    // A block of twelve-digit numbers per landlord that real UPRNs in these towns do not use.
    (100_090_000_000 + spec.number_prefix * 10_000_000 + n) as i64
}

fn round6(v: f64) -> f64 {
    (v * 1e6).round() / 1e6
}

/// Moves `metres` from a point along a bearing (radians from east, anticlockwise).
fn offset(lat: f64, lon: f64, angle: f64, metres: f64) -> (f64, f64) {
    let dn = metres * angle.sin();
    let de = metres * angle.cos();
    (lat + dn / 111_320.0, lon + de / (111_320.0 * lat.to_radians().cos()))
}

fn coprime_step(total: usize) -> usize {
    fn gcd(a: usize, b: usize) -> usize {
        if b == 0 { a } else { gcd(b, a % b) }
    }
    let mut step = 7919 % total.max(1);
    while step == 0 || gcd(step, total) != 1 {
        step += 1;
    }
    step
}

fn age_on(dob: NaiveDate, day: NaiveDate) -> i64 {
    let mut age = (day.year() - dob.year()) as i64;
    if (day.month(), day.day()) < (dob.month(), dob.day()) {
        age -= 1;
    }
    age
}

fn surname_for(rng: &mut Rng, group: NameGroup, female: bool) -> &'static str {
    match group {
        NameGroup::British => rng.skewed::<&str>(data::SURNAMES_BRITISH),
        NameGroup::SouthAsian => rng.skewed::<&str>(data::SURNAMES_SOUTH_ASIAN),
        NameGroup::Irish => rng.pick::<&str>(data::SURNAMES_IRISH),
        NameGroup::Polish => {
            let (m, f) = *rng.pick(data::SURNAMES_POLISH);
            if female { f } else { m }
        }
    }
}

/// The family surname in the form for this person (Polish surnames agree with sex).
fn surname_for_sex(surname: &'static str, group: NameGroup, female: bool) -> &'static str {
    if group == NameGroup::Polish {
        for (m, f) in data::SURNAMES_POLISH {
            if *m == surname || *f == surname {
                return if female { f } else { m };
            }
        }
    }
    surname
}

fn forename_for(rng: &mut Rng, group: NameGroup, female: bool, born: i32) -> &'static str {
    match (group, female) {
        (NameGroup::British, _) => {
            let decade = match born {
                ..=1950 => 0,
                1951..=1970 => 1,
                1971..=1990 => 2,
                1991..=2005 => 3,
                _ => 4,
            };
            if female {
                rng.skewed::<&str>(data::FEMALE_BRITISH[decade])
            } else {
                rng.skewed::<&str>(data::MALE_BRITISH[decade])
            }
        }
        (NameGroup::SouthAsian, true) => rng.skewed::<&str>(data::FEMALE_SOUTH_ASIAN),
        (NameGroup::SouthAsian, false) => rng.skewed::<&str>(data::MALE_SOUTH_ASIAN),
        (NameGroup::Polish, true) => rng.pick::<&str>(data::FEMALE_POLISH),
        (NameGroup::Polish, false) => rng.pick::<&str>(data::MALE_POLISH),
        (NameGroup::Irish, true) => rng.pick::<&str>(data::FEMALE_IRISH),
        (NameGroup::Irish, false) => rng.pick::<&str>(data::MALE_IRISH),
    }
}

/// Lower-case ASCII for an email address: accents dropped, apostrophes and spaces removed.
fn ascii_fold(s: &str) -> String {
    s.chars()
        .filter_map(|c| {
            let c = match c {
                'ą' | 'Ą' => 'a',
                'ć' | 'Ć' => 'c',
                'ę' | 'Ę' | 'ë' => 'e',
                'ł' | 'Ł' => 'l',
                'ń' | 'Ń' => 'n',
                'ó' | 'Ó' => 'o',
                'ś' | 'Ś' => 's',
                'ź' | 'ż' | 'Ź' | 'Ż' => 'z',
                c => c,
            };
            c.is_ascii_alphanumeric().then(|| c.to_ascii_lowercase())
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::Weekday;

    fn d(s: &str) -> NaiveDate {
        s.parse().unwrap()
    }

    #[test]
    fn rent_years_start_on_the_first_monday_of_april() {
        assert_eq!(rent_year_start(2024), d("2024-04-01"));
        assert_eq!(rent_year_start(2025), d("2025-04-07"));
        assert_eq!(rent_year_of(d("2025-04-06")), 2024);
        assert_eq!(rent_year_of(d("2025-04-07")), 2025);
    }

    #[test]
    fn rent_free_weeks_are_christmas_and_the_end_of_march() {
        let [xmas, march] = rent_free_mondays(2024);
        assert_eq!(xmas, d("2024-12-23"));
        assert_eq!(march, d("2025-03-31"));
        for y in 2000..2040 {
            let [a, b] = rent_free_mondays(y);
            assert_eq!(a.weekday(), Weekday::Mon);
            assert_eq!(b.weekday(), Weekday::Mon);
            assert!(a >= rent_year_start(y) && b < rent_year_start(y + 1), "{y}");
        }
    }

    #[test]
    fn ascii_fold_makes_email_safe_names() {
        assert_eq!(ascii_fold("Wiśniewska"), "wisniewska");
        assert_eq!(ascii_fold("O'Brien"), "obrien");
        assert_eq!(ascii_fold("Łukasz"), "lukasz");
    }

    #[test]
    fn monthly_plans_pay_once_a_month() {
        let f = Freq::Monthly { day: 15 };
        let mut monday = d("2024-01-01");
        let mut paid = Vec::new();
        for w in 0..52 {
            if let Some(date) = f.date_in_week(monday, w) {
                paid.push(date);
            }
            monday = monday + Days::new(7);
        }
        assert_eq!(paid.len(), 12);
        assert!(paid.iter().all(|p| p.day() == 15));
    }
}
