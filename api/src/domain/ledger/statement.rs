//! Account statements: opening balance, every line in the period, closing balance.

use chrono::{Datelike, NaiveDate};
use doorstep_shared::Money;
use doorstep_shared::dto::{BalanceState, Transaction};
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter};

use super::views;
use crate::entity::{organisation, person, property, rent_account, tenancy, tenancy_member};

#[derive(Debug, thiserror::Error)]
pub enum StatementError {
    #[error("from: {from} is after to: {to}")]
    BackwardsPeriod { from: NaiveDate, to: NaiveDate },
    #[error("the period may be at most 6 years")]
    TooLong,
    #[error("account not found")]
    NotFound,
    #[error(transparent)]
    Db(#[from] sea_orm::DbErr),
}

#[derive(Debug, Clone)]
pub struct Statement {
    pub organisation: organisation::Model,
    pub account: rent_account::Model,
    pub tenant_names: Vec<String>,
    pub address_lines: Vec<String>,
    pub from: NaiveDate,
    pub to: NaiveDate,
    pub opening_pence: i64,
    pub lines: Vec<Transaction>,
    pub closing_pence: i64,
    /// Sum of positive lines (charges, refunds, positive adjustments).
    pub debits_pence: i64,
    /// Sum of negative lines (payments, benefits, credits), as a negative number.
    pub credits_pence: i64,
}

/// The UK financial year before the one `today` falls in: 1 April to 31 March.
pub fn last_financial_year(today: NaiveDate) -> (NaiveDate, NaiveDate) {
    let start_year = if today.month() >= 4 { today.year() - 1 } else { today.year() - 2 };
    (
        NaiveDate::from_ymd_opt(start_year, 4, 1).unwrap_or(today),
        NaiveDate::from_ymd_opt(start_year + 1, 3, 31).unwrap_or(today),
    )
}

pub async fn build(
    db: &impl ConnectionTrait,
    account_id: i64,
    from: NaiveDate,
    to: NaiveDate,
) -> Result<Statement, StatementError> {
    if from > to {
        return Err(StatementError::BackwardsPeriod { from, to });
    }
    if (to - from).num_days() > 6 * 366 {
        return Err(StatementError::TooLong);
    }
    let account = rent_account::Entity::find_by_id(account_id).one(db).await?.ok_or(StatementError::NotFound)?;
    let organisation =
        organisation::Entity::find_by_id(account.organisation_id).one(db).await?.ok_or(StatementError::NotFound)?;
    let tenancy = tenancy::Entity::find_by_id(account.tenancy_id).one(db).await?.ok_or(StatementError::NotFound)?;
    let home = property::Entity::find_by_id(tenancy.property_id).one(db).await?.ok_or(StatementError::NotFound)?;
    let members = tenancy_member::Entity::find()
        .filter(tenancy_member::Column::TenancyId.eq(tenancy.id))
        .filter(tenancy_member::Column::Role.is_in(["lead", "joint"]))
        .all(db)
        .await?;
    let mut tenant_names = Vec::new();
    for m in members {
        if let Some(p) = person::Entity::find_by_id(m.person_id).one(db).await? {
            let title = p.title.map(|t| format!("{t} ")).unwrap_or_default();
            tenant_names.push(format!("{title}{} {}", p.forename, p.surname));
        }
    }
    let mut address_lines = vec![home.address_line1.clone()];
    address_lines.extend(home.address_line2.clone());
    address_lines.push(home.town.clone());
    address_lines.push(home.postcode.clone());

    let opening_pence = views::balance_before(db, account_id, from).await?;
    let lines = views::lines_between(db, account_id, from, to).await?;
    let debits_pence = lines.iter().map(|l| l.amount_pence).filter(|a| *a > 0).sum();
    let credits_pence = lines.iter().map(|l| l.amount_pence).filter(|a| *a < 0).sum();
    let closing_pence = opening_pence + debits_pence + credits_pence;
    Ok(Statement {
        organisation,
        account,
        tenant_names,
        address_lines,
        from,
        to,
        opening_pence,
        lines,
        closing_pence,
        debits_pence,
        credits_pence,
    })
}

/// The statement as CSV: a header block, then one row a line with its running balance.
pub fn to_csv(s: &Statement) -> String {
    let mut w = csv::WriterBuilder::new().flexible(true).from_writer(Vec::new());
    let money = |p: i64| Money::from_pence(p).decimal();
    let _ = w.write_record(["Statement", &s.organisation.name]);
    let _ = w.write_record(["Account", &s.account.account_number]);
    let _ = w.write_record(["Period", &s.from.to_string(), &s.to.to_string()]);
    let _ = w.write_record(["Opening balance", &money(s.opening_pence), &BalanceState::describe(s.opening_pence)]);
    let _ = w.write_record(["date", "description", "kind", "channel", "amount", "balance"]);
    let mut running = s.opening_pence;
    for l in &s.lines {
        running += l.amount_pence;
        let _ = w.write_record([
            l.date.to_string(),
            l.description.clone(),
            l.kind.clone(),
            l.channel.clone().unwrap_or_default(),
            money(l.amount_pence),
            money(running),
        ]);
    }
    let _ = w.write_record(["Closing balance", &money(s.closing_pence), &BalanceState::describe(s.closing_pence)]);
    String::from_utf8(w.into_inner().unwrap_or_default()).unwrap_or_default()
}

/// "£12.34" for statements and letters.
pub fn pounds(pence: i64) -> String {
    Money::from_pence(pence).to_string()
}

/// The statement as a landlord-branded A4 PDF: opening balance, every line with the
/// running balance, closing balance, and how to pay.
pub fn to_pdf(s: &Statement, portal_url: &str, today: NaiveDate) -> Vec<u8> {
    use crate::pdf::{self, Font, MM, PAGE_H, PAGE_W, fill_rect, long_date, text, text_colour, text_right};

    const ROWS_FIRST: usize = 26;
    const ROWS_NEXT: usize = 44;
    let left = 18.0 * MM;
    let right = PAGE_W - 18.0 * MM;
    let brand = s.organisation.primary_colour.as_str();

    let chunks: Vec<&[Transaction]> = if s.lines.len() <= ROWS_FIRST {
        vec![&s.lines[..]]
    } else {
        let mut v = vec![&s.lines[..ROWS_FIRST]];
        v.extend(s.lines[ROWS_FIRST..].chunks(ROWS_NEXT));
        v
    };
    let pages_total = chunks.len();
    let mut running = s.opening_pence;
    let mut pages = Vec::with_capacity(pages_total);
    for (page_no, rows) in chunks.iter().enumerate() {
        let mut c = pdf_writer::Content::new();
        // Brand bar.
        fill_rect(&mut c, 0.0, PAGE_H - 26.0 * MM, PAGE_W, 26.0 * MM, brand);
        text_colour(&mut c, "#ffffff");
        text(&mut c, Font::Bold, 17.0, left, PAGE_H - 13.0 * MM, &s.organisation.name);
        if let Some(tagline) = &s.organisation.tagline {
            text(&mut c, Font::Regular, 9.5, left, PAGE_H - 19.5 * MM, tagline);
        }
        text_right(
            &mut c,
            Font::Regular,
            9.0,
            right,
            PAGE_H - 13.0 * MM,
            &format!("Page {} of {pages_total}", page_no + 1),
        );
        text_colour(&mut c, "#1a1a1a");

        let mut y = PAGE_H - 38.0 * MM;
        if page_no == 0 {
            text(&mut c, Font::Bold, 15.0, left, y, &format!("{} account statement", kind_label_for(&s.account.kind)));
            y -= 7.0 * MM;
            text(
                &mut c,
                Font::Regular,
                10.0,
                left,
                y,
                &format!("Account number (your payment reference): {}", s.account.account_number),
            );
            y -= 5.0 * MM;
            text(
                &mut c,
                Font::Regular,
                10.0,
                left,
                y,
                &format!("Period: {} to {}", long_date(s.from), long_date(s.to)),
            );
            y -= 5.0 * MM;
            text(&mut c, Font::Regular, 10.0, left, y, &format!("Produced on {}", long_date(today)));
            // Who and where, on the right.
            let mut ay = PAGE_H - 38.0 * MM;
            let ax = PAGE_W / 2.0 + 20.0 * MM;
            for line in s.tenant_names.iter().chain(s.address_lines.iter()) {
                text(&mut c, Font::Regular, 10.0, ax, ay, line);
                ay -= 4.6 * MM;
            }
            y = y.min(ay) - 8.0 * MM;

            // Totals.
            fill_rect(&mut c, left, y - 27.0 * MM, right - left, 31.0 * MM, "#f1f3f5");
            text_colour(&mut c, "#1a1a1a");
            let totals = [
                ("Opening balance", describe_pounds(s.opening_pence)),
                ("Charges", pounds(s.debits_pence)),
                ("Payments and credits", pounds(-s.credits_pence)),
                ("Closing balance", describe_pounds(s.closing_pence)),
            ];
            let mut ty = y - 2.0 * MM;
            for (i, (label, value)) in totals.iter().enumerate() {
                let font = if i == 3 { Font::Bold } else { Font::Regular };
                text(&mut c, font, 10.5, left + 4.0 * MM, ty, label);
                text_right(&mut c, font, 10.5, right - 4.0 * MM, ty, value);
                ty -= 6.5 * MM;
            }
            y -= 36.0 * MM;
        }

        // The table.
        let cols = [left, left + 26.0 * MM, right - 32.0 * MM, right];
        fill_rect(&mut c, left, y - 2.0 * MM, right - left, 7.0 * MM, brand);
        text_colour(&mut c, "#ffffff");
        text(&mut c, Font::Bold, 9.5, cols[0] + 2.0 * MM, y, "Date");
        text(&mut c, Font::Bold, 9.5, cols[1], y, "Description");
        text_right(&mut c, Font::Bold, 9.5, cols[2] - 2.0 * MM, y, "Amount");
        text_right(&mut c, Font::Bold, 9.5, cols[3] - 2.0 * MM, y, "Balance");
        text_colour(&mut c, "#1a1a1a");
        y -= 7.5 * MM;
        if page_no == 0 && rows.is_empty() {
            text(&mut c, Font::Regular, 9.5, cols[1], y, "No transactions in this period.");
            y -= 5.4 * MM;
        }
        for (i, line) in rows.iter().enumerate() {
            running += line.amount_pence;
            if i % 2 == 1 {
                fill_rect(&mut c, left, y - 1.6 * MM, right - left, 5.4 * MM, "#f7f7f7");
                text_colour(&mut c, "#1a1a1a");
            }
            text(&mut c, Font::Regular, 9.0, cols[0] + 2.0 * MM, y, &line.date.format("%d %b %Y").to_string());
            let mut desc = line.description.clone();
            while pdf::text_width(&desc, 9.0) > cols[2] - cols[1] - 30.0 * MM && desc.len() > 4 {
                desc.pop();
            }
            text(&mut c, Font::Regular, 9.0, cols[1], y, &desc);
            text_right(&mut c, Font::Regular, 9.0, cols[2] - 2.0 * MM, y, &pounds(line.amount_pence));
            text_right(&mut c, Font::Regular, 9.0, cols[3] - 2.0 * MM, y, &pounds(running));
            y -= 5.4 * MM;
        }

        if page_no + 1 == pages_total {
            y -= 6.0 * MM;
            text(&mut c, Font::Bold, 11.0, left, y, "How to pay");
            y -= 6.0 * MM;
            let phone = s.organisation.phone.as_deref().unwrap_or("the number on our website");
            let how = format!(
                "Pay online at {portal_url}: sign in and choose Pay, with no reference to type. Or call us on {phone}, \
                 or pay at any shop with a PayPoint using your payment card. Quote your payment reference {} if asked. \
                 If you are finding it hard to pay, talk to us early: we can help.",
                s.account.account_number
            );
            pdf::paragraph(&mut c, left, y, right - left, &how);
        }
        pages.push(c.finish().to_vec());
    }
    pdf::render(&format!("Statement for account {}", s.account.account_number), &pages)
}

fn describe_pounds(pence: i64) -> String {
    BalanceState::describe(pence)
}

fn kind_label_for(kind: &str) -> &'static str {
    super::views::kind_label(kind)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_last_financial_year_runs_april_to_march() {
        let d = |s: &str| NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap();
        assert_eq!(last_financial_year(d("2026-11-22")), (d("2025-04-01"), d("2026-03-31")));
        assert_eq!(last_financial_year(d("2026-03-31")), (d("2024-04-01"), d("2025-03-31")));
        assert_eq!(last_financial_year(d("2026-04-01")), (d("2025-04-01"), d("2026-03-31")));
    }
}
