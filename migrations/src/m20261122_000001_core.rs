//! The core of the domain: landlords, homes, people, tenancies, rent accounts, the ledger
//! and planned work.

use sea_orm_migration::prelude::*;

use crate::columns::{date, date_null, fk, fk_null, foreign, id, pence, text, text_null, timestamp};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        use ForeignKeyAction::{Cascade, Restrict, SetNull};

        m.create_table(
            Table::create()
                .table(Organisation::Table)
                .col(id(Organisation::Id))
                .col(text(Organisation::Slug).unique_key())
                .col(text(Organisation::Name))
                .col(fk_null(Organisation::ParentId))
                .col(text(Organisation::PrimaryColour))
                .col(text(Organisation::SecondaryColour))
                .col(text_null(Organisation::Tagline))
                .col(text_null(Organisation::Phone))
                .col(text_null(Organisation::Email))
                .col(text_null(Organisation::Website))
                .col(text_null(Organisation::Address))
                .col(text_null(Organisation::OpeningHours))
                .col(text_null(Organisation::EmergencyPhone))
                .col(timestamp(Organisation::CreatedAt))
                .foreign_key(&mut foreign(
                    Organisation::Table,
                    Organisation::ParentId,
                    Organisation::Table,
                    Organisation::Id,
                    Restrict,
                ))
                .to_owned(),
        )
        .await?;

        m.create_table(
            Table::create()
                .table(HousingOfficer::Table)
                .col(id(HousingOfficer::Id))
                .col(fk(HousingOfficer::OrganisationId))
                .col(text(HousingOfficer::Name))
                .col(text_null(HousingOfficer::Email))
                .col(text_null(HousingOfficer::Phone))
                .col(text(HousingOfficer::Patch))
                .foreign_key(&mut foreign(
                    HousingOfficer::Table,
                    HousingOfficer::OrganisationId,
                    Organisation::Table,
                    Organisation::Id,
                    Cascade,
                ))
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("ux_housing_officer_org_patch")
                .table(HousingOfficer::Table)
                .col(HousingOfficer::OrganisationId)
                .col(HousingOfficer::Patch)
                .unique()
                .to_owned(),
        )
        .await?;

        m.create_table(
            Table::create()
                .table(Property::Table)
                .col(id(Property::Id))
                .col(fk(Property::OrganisationId))
                .col(text(Property::HmsRef).unique_key())
                .col(ColumnDef::new(Property::Uprn).big_integer().null().unique_key())
                .col(text(Property::AddressLine1))
                .col(text_null(Property::AddressLine2))
                .col(text(Property::Town))
                .col(text(Property::Postcode))
                .col(ColumnDef::new(Property::Latitude).double().null())
                .col(ColumnDef::new(Property::Longitude).double().null())
                .col(ColumnDef::new(Property::Easting).integer().null())
                .col(ColumnDef::new(Property::Northing).integer().null())
                .col(text(Property::Kind))
                .col(ColumnDef::new(Property::Bedrooms).integer().null())
                .col(text_null(Property::Patch))
                .col(fk_null(Property::HousingOfficerId))
                .foreign_key(&mut foreign(
                    Property::Table,
                    Property::OrganisationId,
                    Organisation::Table,
                    Organisation::Id,
                    Restrict,
                ))
                .foreign_key(&mut foreign(
                    Property::Table,
                    Property::HousingOfficerId,
                    HousingOfficer::Table,
                    HousingOfficer::Id,
                    SetNull,
                ))
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create().name("ix_property_org").table(Property::Table).col(Property::OrganisationId).to_owned(),
        )
        .await?;
        m.create_index(
            Index::create().name("ix_property_postcode").table(Property::Table).col(Property::Postcode).to_owned(),
        )
        .await?;

        m.create_table(
            Table::create()
                .table(PropertyFeature::Table)
                .col(id(PropertyFeature::Id))
                .col(fk(PropertyFeature::PropertyId))
                .col(text(PropertyFeature::Kind))
                .col(text(PropertyFeature::Responsibility))
                .col(ColumnDef::new(PropertyFeature::Geometry).text().not_null())
                .col(text_null(PropertyFeature::Notes))
                .foreign_key(&mut foreign(
                    PropertyFeature::Table,
                    PropertyFeature::PropertyId,
                    Property::Table,
                    Property::Id,
                    Cascade,
                ))
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("ix_property_feature_property")
                .table(PropertyFeature::Table)
                .col(PropertyFeature::PropertyId)
                .to_owned(),
        )
        .await?;

        m.create_table(
            Table::create()
                .table(Person::Table)
                .col(id(Person::Id))
                .col(fk(Person::OrganisationId))
                .col(text(Person::HmsRef).unique_key())
                .col(text_null(Person::Title))
                .col(text(Person::Forename))
                .col(text(Person::Surname))
                .col(date_null(Person::DateOfBirth))
                .col(text_null(Person::Email))
                .col(text_null(Person::Phone))
                .foreign_key(&mut foreign(
                    Person::Table,
                    Person::OrganisationId,
                    Organisation::Table,
                    Organisation::Id,
                    Restrict,
                ))
                .to_owned(),
        )
        .await?;
        m.create_index(Index::create().name("ix_person_surname").table(Person::Table).col(Person::Surname).to_owned())
            .await?;

        m.create_table(
            Table::create()
                .table(Tenancy::Table)
                .col(id(Tenancy::Id))
                .col(fk(Tenancy::OrganisationId))
                .col(text(Tenancy::HmsRef).unique_key())
                .col(fk(Tenancy::PropertyId))
                .col(text(Tenancy::Tenure))
                .col(date(Tenancy::StartDate))
                .col(date_null(Tenancy::EndDate))
                .foreign_key(&mut foreign(
                    Tenancy::Table,
                    Tenancy::OrganisationId,
                    Organisation::Table,
                    Organisation::Id,
                    Restrict,
                ))
                .foreign_key(&mut foreign(Tenancy::Table, Tenancy::PropertyId, Property::Table, Property::Id, Restrict))
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create().name("ix_tenancy_property").table(Tenancy::Table).col(Tenancy::PropertyId).to_owned(),
        )
        .await?;

        m.create_table(
            Table::create()
                .table(TenancyMember::Table)
                .col(id(TenancyMember::Id))
                .col(fk(TenancyMember::TenancyId))
                .col(fk(TenancyMember::PersonId))
                .col(text(TenancyMember::Role))
                .foreign_key(&mut foreign(
                    TenancyMember::Table,
                    TenancyMember::TenancyId,
                    Tenancy::Table,
                    Tenancy::Id,
                    Cascade,
                ))
                .foreign_key(&mut foreign(
                    TenancyMember::Table,
                    TenancyMember::PersonId,
                    Person::Table,
                    Person::Id,
                    Restrict,
                ))
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("ux_tenancy_member")
                .table(TenancyMember::Table)
                .col(TenancyMember::TenancyId)
                .col(TenancyMember::PersonId)
                .unique()
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("ix_tenancy_member_person")
                .table(TenancyMember::Table)
                .col(TenancyMember::PersonId)
                .to_owned(),
        )
        .await?;

        m.create_table(
            Table::create()
                .table(RentAccount::Table)
                .col(id(RentAccount::Id))
                .col(fk(RentAccount::OrganisationId))
                .col(fk(RentAccount::TenancyId))
                .col(text(RentAccount::HmsRef).unique_key())
                .col(text(RentAccount::AccountNumber).unique_key())
                .col(text(RentAccount::Kind))
                .col(pence(RentAccount::WeeklyChargePence))
                .col(pence(RentAccount::BalancePence))
                .col(ColumnDef::new(RentAccount::Version).big_integer().not_null().default(0))
                .col(date_null(RentAccount::LastEntryDate))
                .col(date(RentAccount::OpenedOn))
                .col(date_null(RentAccount::ClosedOn))
                .foreign_key(&mut foreign(
                    RentAccount::Table,
                    RentAccount::OrganisationId,
                    Organisation::Table,
                    Organisation::Id,
                    Restrict,
                ))
                .foreign_key(&mut foreign(
                    RentAccount::Table,
                    RentAccount::TenancyId,
                    Tenancy::Table,
                    Tenancy::Id,
                    Restrict,
                ))
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("ix_rent_account_tenancy")
                .table(RentAccount::Table)
                .col(RentAccount::TenancyId)
                .to_owned(),
        )
        .await?;

        m.create_table(
            Table::create()
                .table(RentFreeWeek::Table)
                .col(id(RentFreeWeek::Id))
                .col(fk(RentFreeWeek::OrganisationId))
                .col(date(RentFreeWeek::WeekStart))
                .foreign_key(&mut foreign(
                    RentFreeWeek::Table,
                    RentFreeWeek::OrganisationId,
                    Organisation::Table,
                    Organisation::Id,
                    Cascade,
                ))
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("ux_rent_free_week")
                .table(RentFreeWeek::Table)
                .col(RentFreeWeek::OrganisationId)
                .col(RentFreeWeek::WeekStart)
                .unique()
                .to_owned(),
        )
        .await?;

        // Append-only: the application never updates or deletes a row here.
        m.create_table(
            Table::create()
                .table(LedgerEntry::Table)
                .col(id(LedgerEntry::Id))
                .col(fk(LedgerEntry::AccountId))
                .col(text(LedgerEntry::Kind))
                .col(ColumnDef::new(LedgerEntry::AmountPence).big_integer().not_null())
                .col(date(LedgerEntry::EffectiveDate))
                .col(timestamp(LedgerEntry::PostedAt))
                .col(text(LedgerEntry::Description))
                .col(text(LedgerEntry::Source))
                .col(text(LedgerEntry::SourceRef))
                .col(text_null(LedgerEntry::Channel))
                .col(ColumnDef::new(LedgerEntry::BalanceAfterPence).big_integer().not_null())
                .foreign_key(&mut foreign(
                    LedgerEntry::Table,
                    LedgerEntry::AccountId,
                    RentAccount::Table,
                    RentAccount::Id,
                    Restrict,
                ))
                .to_owned(),
        )
        .await?;
        // The idempotency key: an HMS transaction id, a provider payment id, a charge-run key.
        m.create_index(
            Index::create()
                .name("ux_ledger_entry_source")
                .table(LedgerEntry::Table)
                .col(LedgerEntry::Source)
                .col(LedgerEntry::SourceRef)
                .unique()
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("ix_ledger_entry_account_date")
                .table(LedgerEntry::Table)
                .col(LedgerEntry::AccountId)
                .col(LedgerEntry::EffectiveDate)
                .col(LedgerEntry::Id)
                .to_owned(),
        )
        .await?;

        m.create_table(
            Table::create()
                .table(PlannedWork::Table)
                .col(id(PlannedWork::Id))
                .col(fk(PlannedWork::PropertyId))
                .col(text(PlannedWork::HmsRef).unique_key())
                .col(text(PlannedWork::Category))
                .col(text(PlannedWork::Description))
                .col(date(PlannedWork::PlannedStart))
                .col(date_null(PlannedWork::PlannedEnd))
                .col(text(PlannedWork::Status))
                .col(text_null(PlannedWork::Contractor))
                .foreign_key(&mut foreign(
                    PlannedWork::Table,
                    PlannedWork::PropertyId,
                    Property::Table,
                    Property::Id,
                    Cascade,
                ))
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("ix_planned_work_property")
                .table(PlannedWork::Table)
                .col(PlannedWork::PropertyId)
                .to_owned(),
        )
        .await?;

        m.create_table(
            Table::create()
                .table(ImportRun::Table)
                .col(id(ImportRun::Id))
                .col(text(ImportRun::Origin))
                .col(text(ImportRun::ContentHash))
                .col(timestamp(ImportRun::StartedAt))
                .col(timestamp(ImportRun::FinishedAt))
                .col(text(ImportRun::Outcome))
                .col(ColumnDef::new(ImportRun::Summary).text().not_null())
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create().name("ix_import_run_hash").table(ImportRun::Table).col(ImportRun::ContentHash).to_owned(),
        )
        .await?;
        Ok(())
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        for table in [
            ImportRun::Table.into_iden(),
            PlannedWork::Table.into_iden(),
            LedgerEntry::Table.into_iden(),
            RentFreeWeek::Table.into_iden(),
            RentAccount::Table.into_iden(),
            TenancyMember::Table.into_iden(),
            Tenancy::Table.into_iden(),
            Person::Table.into_iden(),
            PropertyFeature::Table.into_iden(),
            Property::Table.into_iden(),
            HousingOfficer::Table.into_iden(),
            Organisation::Table.into_iden(),
        ] {
            m.drop_table(Table::drop().table(table).to_owned()).await?;
        }
        Ok(())
    }
}

#[derive(DeriveIden)]
enum Organisation {
    Table,
    Id,
    Slug,
    Name,
    ParentId,
    PrimaryColour,
    SecondaryColour,
    Tagline,
    Phone,
    Email,
    Website,
    Address,
    OpeningHours,
    EmergencyPhone,
    CreatedAt,
}

#[derive(DeriveIden)]
enum HousingOfficer {
    Table,
    Id,
    OrganisationId,
    Name,
    Email,
    Phone,
    Patch,
}

#[derive(DeriveIden)]
enum Property {
    Table,
    Id,
    OrganisationId,
    HmsRef,
    Uprn,
    AddressLine1,
    AddressLine2,
    Town,
    Postcode,
    Latitude,
    Longitude,
    Easting,
    Northing,
    Kind,
    Bedrooms,
    Patch,
    HousingOfficerId,
}

#[derive(DeriveIden)]
enum PropertyFeature {
    Table,
    Id,
    PropertyId,
    Kind,
    Responsibility,
    Geometry,
    Notes,
}

#[derive(DeriveIden)]
enum Person {
    Table,
    Id,
    OrganisationId,
    HmsRef,
    Title,
    Forename,
    Surname,
    DateOfBirth,
    Email,
    Phone,
}

#[derive(DeriveIden)]
enum Tenancy {
    Table,
    Id,
    OrganisationId,
    HmsRef,
    PropertyId,
    Tenure,
    StartDate,
    EndDate,
}

#[derive(DeriveIden)]
enum TenancyMember {
    Table,
    Id,
    TenancyId,
    PersonId,
    Role,
}

#[derive(DeriveIden)]
enum RentAccount {
    Table,
    Id,
    OrganisationId,
    TenancyId,
    HmsRef,
    AccountNumber,
    Kind,
    WeeklyChargePence,
    BalancePence,
    Version,
    LastEntryDate,
    OpenedOn,
    ClosedOn,
}

#[derive(DeriveIden)]
enum RentFreeWeek {
    Table,
    Id,
    OrganisationId,
    WeekStart,
}

#[derive(DeriveIden)]
enum LedgerEntry {
    Table,
    Id,
    AccountId,
    Kind,
    AmountPence,
    EffectiveDate,
    PostedAt,
    Description,
    Source,
    SourceRef,
    Channel,
    BalanceAfterPence,
}

#[derive(DeriveIden)]
enum PlannedWork {
    Table,
    Id,
    PropertyId,
    HmsRef,
    Category,
    Description,
    PlannedStart,
    PlannedEnd,
    Status,
    Contractor,
}

#[derive(DeriveIden)]
enum ImportRun {
    Table,
    Id,
    Origin,
    ContentHash,
    StartedAt,
    FinishedAt,
    Outcome,
    Summary,
}
