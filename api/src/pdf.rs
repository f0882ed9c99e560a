//! Print-ready A4 PDFs with the base-14 fonts (Helvetica, Helvetica-Bold, Courier-Bold):
//! nothing is embedded, so a letter or statement is a few kilobytes. Text goes out in
//! WinAnsi encoding, which has `£`.

use chrono::NaiveDate;
use pdf_writer::{Content, Finish, Name, Pdf, Rect, Ref, Str, TextStr};

pub const MM: f32 = 72.0 / 25.4;
pub const PAGE_W: f32 = 595.28;
pub const PAGE_H: f32 = 841.89;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Font {
    Regular,
    Bold,
    Mono,
}

impl Font {
    fn name(self) -> Name<'static> {
        match self {
            Font::Regular => Name(b"F1"),
            Font::Bold => Name(b"F2"),
            Font::Mono => Name(b"F3"),
        }
    }
}

/// Assembles finished page content streams into one document.
pub fn render(title: &str, pages: &[Vec<u8>]) -> Vec<u8> {
    let mut pdf = Pdf::new();
    let catalog = Ref::new(1);
    let tree = Ref::new(2);
    let fonts = [Ref::new(3), Ref::new(4), Ref::new(5)];
    let info = Ref::new(6);
    let page_ids: Vec<Ref> = (0..pages.len()).map(|i| Ref::new(10 + 2 * i as i32)).collect();

    pdf.catalog(catalog).pages(tree);
    pdf.pages(tree).kids(page_ids.iter().copied()).count(pages.len() as i32);
    for (id, base) in fonts.iter().zip([&b"Helvetica"[..], b"Helvetica-Bold", b"Courier-Bold"]) {
        pdf.type1_font(*id).base_font(Name(base)).encoding_predefined(Name(b"WinAnsiEncoding"));
    }
    {
        let mut doc = pdf.document_info(info);
        doc.title(TextStr(title));
        doc.creator(TextStr("Doorstep"));
        doc.finish();
    }
    for (i, content) in pages.iter().enumerate() {
        let page_id = page_ids[i];
        let content_id = Ref::new(page_id.get() + 1);
        let mut page = pdf.page(page_id);
        page.parent(tree).media_box(Rect::new(0.0, 0.0, PAGE_W, PAGE_H)).contents(content_id);
        {
            let mut resources = page.resources();
            let mut f = resources.fonts();
            f.pair(Font::Regular.name(), fonts[0]);
            f.pair(Font::Bold.name(), fonts[1]);
            f.pair(Font::Mono.name(), fonts[2]);
        }
        page.finish();
        pdf.stream(content_id, content);
    }
    pdf.finish()
}

pub fn text(c: &mut Content, font: Font, size: f32, x: f32, y: f32, s: &str) {
    let bytes = win_ansi(s);
    c.begin_text();
    c.set_font(font.name(), size);
    c.next_line(x, y);
    c.show(Str(&bytes));
    c.end_text();
}

/// Text whose right edge is at `right` (for columns of figures).
pub fn text_right(c: &mut Content, font: Font, size: f32, right: f32, y: f32, s: &str) {
    let w = text_width(s, size) * if font == Font::Bold { 1.05 } else { 1.0 };
    text(c, font, size, right - w, y, s);
}

/// Greedy word wrap at 10.5 pt Helvetica; returns the y below the paragraph.
pub fn paragraph(c: &mut Content, x: f32, mut y: f32, width: f32, s: &str) -> f32 {
    const SIZE: f32 = 10.5;
    const LEADING: f32 = 14.0;
    let mut line = String::new();
    for word in s.split_whitespace() {
        let candidate = if line.is_empty() { word.to_owned() } else { format!("{line} {word}") };
        if text_width(&candidate, SIZE) > width && !line.is_empty() {
            text(c, Font::Regular, SIZE, x, y, &line);
            y -= LEADING;
            line = word.to_owned();
        } else {
            line = candidate;
        }
    }
    if !line.is_empty() {
        text(c, Font::Regular, SIZE, x, y, &line);
        y -= LEADING;
    }
    y
}

/// A filled rectangle in `#rrggbb` (black if the colour does not parse).
pub fn fill_rect(c: &mut Content, x: f32, y: f32, w: f32, h: f32, colour: &str) {
    let (r, g, b) = rgb(colour).unwrap_or((0.0, 0.0, 0.0));
    c.save_state();
    c.set_fill_rgb(r, g, b);
    c.rect(x, y, w, h);
    c.fill_nonzero();
    c.restore_state();
}

/// Sets the colour of the text that follows.
pub fn text_colour(c: &mut Content, colour: &str) {
    let (r, g, b) = rgb(colour).unwrap_or((0.0, 0.0, 0.0));
    c.set_fill_rgb(r, g, b);
}

/// Helvetica advance widths (1/1000 em) for ASCII 32..=126, from Adobe's AFM.
const HELVETICA: [u16; 95] = [
    278, 278, 355, 556, 556, 889, 667, 191, 333, 333, 389, 584, 278, 333, 278, 278, 556, 556, 556, 556, 556, 556, 556,
    556, 556, 556, 278, 278, 584, 584, 584, 556, 1015, 667, 667, 722, 722, 667, 611, 778, 722, 278, 500, 667, 556, 833,
    722, 778, 667, 778, 722, 667, 611, 722, 667, 944, 667, 667, 611, 278, 278, 278, 469, 556, 333, 556, 556, 500, 556,
    556, 278, 556, 556, 222, 222, 500, 222, 833, 556, 556, 556, 556, 333, 500, 278, 556, 500, 722, 500, 500, 500, 334,
    260, 334, 584,
];

pub fn text_width(s: &str, size: f32) -> f32 {
    let units: u32 = s
        .chars()
        .map(|ch| {
            let code = ch as u32;
            if (32..=126).contains(&code) { u32::from(HELVETICA[(code - 32) as usize]) } else { 556 }
        })
        .sum();
    units as f32 * size / 1000.0
}

/// Text in the PDF's WinAnsi encoding; characters it lacks become `?`.
pub fn win_ansi(s: &str) -> Vec<u8> {
    s.chars()
        .map(|ch| match ch {
            c if (c as u32) < 0x80 => c as u8,
            c if (0xA0..=0xFF).contains(&(c as u32)) => c as u32 as u8,
            '€' => 0x80,
            '‘' => 0x91,
            '’' => 0x92,
            '“' => 0x93,
            '”' => 0x94,
            '–' => 0x96,
            '—' => 0x97,
            _ => b'?',
        })
        .collect()
}

pub fn rgb(hex: &str) -> Option<(f32, f32, f32)> {
    let h = hex.trim().strip_prefix('#')?;
    if h.len() != 6 {
        return None;
    }
    let v = u32::from_str_radix(h, 16).ok()?;
    let c = |shift: u32| ((v >> shift) & 0xff) as f32 / 255.0;
    Some((c(16), c(8), c(0)))
}

/// `22 November 2026`.
pub fn long_date(d: NaiveDate) -> String {
    d.format("%-d %B %Y").to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pound_sign_survives_encoding() {
        assert_eq!(win_ansi("£12.50 – rent"), b"\xa312.50 \x96 rent".to_vec());
        assert_eq!(win_ansi("O’Connor"), b"O\x92Connor".to_vec());
        assert_eq!(win_ansi("名"), b"?".to_vec());
        assert_eq!(long_date(NaiveDate::from_ymd_opt(2026, 1, 5).unwrap()), "5 January 2026");
    }

    #[test]
    fn colours_parse_or_refuse() {
        assert_eq!(rgb("#ff0000"), Some((1.0, 0.0, 0.0)));
        assert_eq!(rgb("red"), None);
    }
}
