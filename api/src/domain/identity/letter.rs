//! The PIN letter: a print-ready A4 PDF in the landlord's colours, addressed for a DL window
//! envelope, with the PIN in large clear type. Uses the PDF base-14 fonts (Helvetica,
//! Courier), so nothing is embedded and the file stays a few kilobytes.

use chrono::NaiveDate;
use pdf_writer::Content;

use crate::pdf::{Font, MM, PAGE_H, PAGE_W, paragraph, rgb, text};

/// Everything one letter says.
pub struct Letter {
    pub landlord_name: String,
    pub primary_colour: String,
    pub secondary_colour: String,
    pub tagline: Option<String>,
    pub landlord_phone: Option<String>,
    pub landlord_email: Option<String>,
    pub landlord_website: Option<String>,
    pub landlord_address: Option<String>,
    pub opening_hours: Option<String>,
    pub recipient: String,
    /// Street lines, town and postcode, in order.
    pub address: Vec<String>,
    pub account_number: String,
    pub reference: String,
    pub date: NaiveDate,
    /// As printed (two groups of five).
    pub pin: String,
    pub expires: NaiveDate,
    pub activate_url: String,
}

impl std::fmt::Debug for Letter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Letter").field("reference", &self.reference).finish_non_exhaustive()
    }
}

const LEFT: f32 = 25.0 * MM;
const RIGHT: f32 = PAGE_W - 20.0 * MM;

/// Renders one or more letters into one PDF, a page each.
pub fn render(letters: &[Letter]) -> Vec<u8> {
    let title = if letters.len() == 1 { "Your PIN to finish registering" } else { "PIN letters" };
    let pages: Vec<Vec<u8>> = letters.iter().map(draw).collect();
    crate::pdf::render(title, &pages)
}

fn draw(l: &Letter) -> Vec<u8> {
    let mut c = Content::new();
    let primary = rgb(&l.primary_colour).unwrap_or((0.1, 0.2, 0.4));
    let secondary = rgb(&l.secondary_colour).unwrap_or((0.9, 0.6, 0.0));

    // Branded band across the top, well above the envelope window.
    c.set_fill_rgb(primary.0, primary.1, primary.2);
    c.rect(0.0, PAGE_H - 28.0 * MM, PAGE_W, 28.0 * MM).fill_nonzero();
    c.set_fill_rgb(secondary.0, secondary.1, secondary.2);
    c.rect(0.0, PAGE_H - 30.0 * MM, PAGE_W, 2.0 * MM).fill_nonzero();
    c.set_fill_gray(1.0);
    text(&mut c, Font::Bold, 20.0, LEFT, PAGE_H - 15.0 * MM, &l.landlord_name);
    if let Some(t) = &l.tagline {
        text(&mut c, Font::Regular, 10.0, LEFT, PAGE_H - 22.0 * MM, t);
    }
    c.set_fill_gray(0.0);

    // Address block for a DL window envelope (window about 20 mm from the left and 45 to
    // 90 mm from the top of the sheet once folded in three).
    let mut y = PAGE_H - 52.0 * MM;
    text(&mut c, Font::Regular, 11.0, LEFT, y, &l.recipient);
    for line in &l.address {
        y -= 13.5;
        text(&mut c, Font::Regular, 11.0, LEFT, y, line);
    }

    // Date, reference and how to reach us, on the right.
    let rx = 125.0 * MM;
    let mut ry = PAGE_H - 40.0 * MM;
    for (label, value) in [
        ("Date", Some(long_date(l.date))),
        ("Our reference", Some(l.reference.clone())),
        ("Rent account", Some(l.account_number.clone())),
        ("Phone", l.landlord_phone.clone()),
        ("Email", l.landlord_email.clone()),
    ] {
        if let Some(v) = value {
            text(&mut c, Font::Bold, 8.5, rx, ry, label);
            text(&mut c, Font::Regular, 9.5, rx, ry - 11.0, &v);
            ry -= 25.0;
        }
    }

    // Body, below the first fold.
    let width = RIGHT - LEFT;
    let mut y = PAGE_H - 112.0 * MM;
    text(&mut c, Font::Regular, 11.0, LEFT, y, &format!("Dear {},", l.recipient));
    y -= 24.0;
    c.set_fill_rgb(primary.0, primary.1, primary.2);
    text(&mut c, Font::Bold, 15.0, LEFT, y, "Your PIN to finish registering online");
    c.set_fill_gray(0.0);
    y -= 22.0;
    y = paragraph(
        &mut c,
        LEFT,
        y,
        width,
        &format!(
            "You asked to register for {}'s online services. We have checked your details against our records. \
             To finish registering, go to the web address below and enter your rent account number, this PIN, your \
             email address and a password you choose.",
            l.landlord_name
        ),
    );

    // The PIN, large and clear, in a box.
    y -= 14.0;
    let box_h = 64.0;
    c.set_stroke_rgb(primary.0, primary.1, primary.2);
    c.set_line_width(2.0);
    c.rect(LEFT, y - box_h, width, box_h).stroke();
    text(&mut c, Font::Bold, 10.0, LEFT + 14.0, y - 18.0, "Your PIN:");
    text(&mut c, Font::Mono, 30.0, LEFT + 14.0, y - 50.0, &l.pin);
    y -= box_h + 22.0;

    text(&mut c, Font::Bold, 11.0, LEFT, y, "Web address:");
    y -= 15.0;
    text(&mut c, Font::Regular, 12.0, LEFT, y, &l.activate_url);
    y -= 22.0;
    y = paragraph(
        &mut c,
        LEFT,
        y,
        width,
        &format!(
            "The PIN works once, until {}. If it is entered wrongly 5 times it stops working, and we will need to \
             post you a new letter. Choose a password of at least 8 characters; 15 or more is better, for example \
             three or four unrelated words.",
            long_date(l.expires)
        ),
    );
    y -= 8.0;
    let phone = l.landlord_phone.clone().unwrap_or_else(|| "the number on your tenancy agreement".into());
    y = paragraph(
        &mut c,
        LEFT,
        y,
        width,
        &format!(
            "If you did not ask to register, please call us on {phone}: someone may be using your details. \
             We will never ask you for this PIN on the phone or by email."
        ),
    );
    y -= 8.0;
    let hours = l.opening_hours.as_deref().map(|h| format!(" ({h})")).unwrap_or_default();
    paragraph(&mut c, LEFT, y, width, &format!("Questions? Call us on {phone}{hours}."));

    // Footer.
    c.set_fill_rgb(secondary.0, secondary.1, secondary.2);
    c.rect(0.0, 18.0 * MM, PAGE_W, 1.0 * MM).fill_nonzero();
    c.set_fill_gray(0.35);
    let footer: Vec<String> = [Some(l.landlord_name.clone()), l.landlord_address.clone(), l.landlord_website.clone()]
        .into_iter()
        .flatten()
        .collect();
    text(&mut c, Font::Regular, 8.0, LEFT, 12.0 * MM, &footer.join("  |  "));
    c.finish().into_vec()
}

pub use crate::pdf::long_date;

#[cfg(test)]
mod tests {
    use super::*;

    fn letter(pin: &str) -> Letter {
        Letter {
            landlord_name: "Calder Riverside Housing".into(),
            primary_colour: "#1d4f91".into(),
            secondary_colour: "not a colour".into(),
            tagline: Some("Homes for the valley".into()),
            landlord_phone: Some("0113 496 0000".into()),
            landlord_email: None,
            landlord_website: None,
            landlord_address: None,
            opening_hours: Some("Mon–Fri 8am–6pm".into()),
            recipient: "Ms Siobhán O’Connor".into(),
            address: vec!["4 Mill Lane".into(), "Halifax".into(), "HX1 2AB".into()],
            account_number: "10004217".into(),
            reference: "REG-1".into(),
            date: NaiveDate::from_ymd_opt(2026, 11, 22).unwrap(),
            pin: pin.into(),
            expires: NaiveDate::from_ymd_opt(2026, 12, 22).unwrap(),
            activate_url: "https://portal.example/register/activate".into(),
        }
    }

    #[test]
    fn renders_a_pdf_with_a_page_per_letter() {
        let one = render(&[letter("ABCDE FGHJK")]);
        assert!(one.starts_with(b"%PDF-"));
        let two = render(&[letter("ABCDE FGHJK"), letter("23456 789AB")]);
        let text = String::from_utf8_lossy(&two);
        assert!(text.contains("/Count 2"), "two pages");
        assert!(text.contains("(23456 789AB)"));
        assert!(!format!("{:?}", letter("ABCDE FGHJK")).contains("ABCDE"));
    }
}
