//! Landlord colours made safe to use: parsed from `#rrggbb`, with text colours picked so that
//! whatever a landlord chooses, text on it stays readable (WCAG 2.2 contrast, 4.5:1).

use std::fmt;

/// WCAG's minimum contrast for normal-size text.
const MIN_TEXT_CONTRAST: f64 = 4.5;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rgb {
    pub r: u8,
    pub g: u8,
    pub b: u8,
}

pub const WHITE: Rgb = Rgb { r: 0xff, g: 0xff, b: 0xff };
pub const BLACK: Rgb = Rgb { r: 0, g: 0, b: 0 };

impl Rgb {
    /// Parses `#rrggbb` (either case). Anything else is not a colour we will put in a style.
    pub fn parse(input: &str) -> Option<Rgb> {
        let hex = input.trim().strip_prefix('#')?;
        if hex.len() != 6 || !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
            return None;
        }
        let channel = |i: usize| u8::from_str_radix(&hex[i..i + 2], 16).ok();
        Some(Rgb { r: channel(0)?, g: channel(2)?, b: channel(4)? })
    }

    /// Relative luminance as WCAG defines it, from 0 (black) to 1 (white).
    pub fn luminance(self) -> f64 {
        fn linear(channel: u8) -> f64 {
            let c = f64::from(channel) / 255.0;
            if c <= 0.040_45 { c / 12.92 } else { ((c + 0.055) / 1.055).powf(2.4) }
        }
        0.2126 * linear(self.r) + 0.7152 * linear(self.g) + 0.0722 * linear(self.b)
    }

    /// WCAG contrast ratio between two colours, from 1 to 21.
    pub fn contrast(self, other: Rgb) -> f64 {
        let (a, b) = (self.luminance(), other.luminance());
        let (light, dark) = if a > b { (a, b) } else { (b, a) };
        (light + 0.05) / (dark + 0.05)
    }

    /// White or black, whichever reads better on this colour as a background. The better of
    /// the two is never below 4.58:1, so this always passes for normal text.
    pub fn text_on(self) -> Rgb {
        if self.contrast(WHITE) >= self.contrast(BLACK) { WHITE } else { BLACK }
    }

    /// This colour, darkened just enough to be readable as text on a white page.
    pub fn readable_on_white(self) -> Rgb {
        let mut colour = self;
        // Each step keeps 90% of each channel; 40 steps reach black, which always passes.
        for _ in 0..40 {
            if colour.contrast(WHITE) >= MIN_TEXT_CONTRAST {
                return colour;
            }
            let darken = |c: u8| (f64::from(c) * 0.9).floor() as u8;
            colour = Rgb { r: darken(colour.r), g: darken(colour.g), b: darken(colour.b) };
        }
        BLACK
    }
}

impl fmt::Display for Rgb {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "#{:02x}{:02x}{:02x}", self.r, self.g, self.b)
    }
}

/// The CSS custom properties for a landlord's colours, for a `style` attribute. Colours that
/// do not parse are left out, so the stylesheet's neutral defaults apply.
pub fn brand_properties(primary: &str, secondary: &str) -> String {
    let mut css = String::new();
    if let Some(primary) = Rgb::parse(primary) {
        css.push_str(&format!(
            "--brand-primary:{primary};--brand-on-primary:{};--brand-text:{};",
            primary.text_on(),
            primary.readable_on_white()
        ));
    }
    if let Some(secondary) = Rgb::parse(secondary) {
        css.push_str(&format!("--brand-secondary:{secondary};--brand-on-secondary:{};", secondary.text_on()));
    }
    css
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_only_six_digit_hex() {
        assert_eq!(Rgb::parse("#1A2b3c"), Some(Rgb { r: 0x1a, g: 0x2b, b: 0x3c }));
        assert_eq!(Rgb::parse("#fff"), None);
        assert_eq!(Rgb::parse("red"), None);
        assert_eq!(Rgb::parse("#12345g"), None);
        assert_eq!(Rgb::parse("#123456;background:url(x)"), None);
    }

    #[test]
    fn contrast_matches_wcag_reference_values() {
        assert!((WHITE.contrast(BLACK) - 21.0).abs() < 1e-9);
        // #767676 on white is the classic "just passes" grey: 4.54:1.
        let grey = Rgb::parse("#767676").unwrap();
        assert!((grey.contrast(WHITE) - 4.54).abs() < 0.01);
    }

    #[test]
    fn text_on_picks_the_readable_one() {
        assert_eq!(Rgb::parse("#003366").unwrap().text_on(), WHITE);
        assert_eq!(Rgb::parse("#ffdd00").unwrap().text_on(), BLACK);
        // Worst case, a grey where white and black read equally badly: still passes.
        for v in 0..=255u8 {
            let grey = Rgb { r: v, g: v, b: v };
            assert!(grey.contrast(grey.text_on()) >= MIN_TEXT_CONTRAST);
        }
    }

    #[test]
    fn pale_brand_colours_are_darkened_for_text() {
        let yellow = Rgb::parse("#ffdd00").unwrap();
        let text = yellow.readable_on_white();
        assert!(text.contrast(WHITE) >= MIN_TEXT_CONTRAST);
        let navy = Rgb::parse("#003366").unwrap();
        assert_eq!(navy.readable_on_white(), navy);
    }

    #[test]
    fn brand_properties_drop_what_does_not_parse() {
        assert_eq!(brand_properties("nonsense", "also"), "");
        let css = brand_properties("#003366", "#ffdd00");
        assert!(css.contains("--brand-primary:#003366;"));
        assert!(css.contains("--brand-on-primary:#ffffff;"));
        assert!(css.contains("--brand-on-secondary:#000000;"));
    }
}
