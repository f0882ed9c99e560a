//! WGS84 latitude/longitude to and from the Ordnance Survey National Grid (OSGB36, EPSG:27700).
//!
//! The method is the one in the Ordnance Survey's "A guide to coordinate systems in Great
//! Britain": a seven-parameter Helmert transformation between WGS84 (taken as ETRS89) and
//! OSGB36 cartesian coordinates, then the National Grid's Transverse Mercator projection of
//! the Airy 1830 ellipsoid (the guide's Annex C series). The Helmert step is good to about
//! 5 m across Great Britain, which is what addresses and open data need; survey-grade work
//! would use the OSTN15 grid shift instead.

/// A WGS84 position in decimal degrees (north and east positive).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LatLon {
    pub lat: f64,
    pub lon: f64,
}

/// A National Grid position in metres from the false origin.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct GridRef {
    pub easting: f64,
    pub northing: f64,
}

impl GridRef {
    /// Whether the point lies inside the National Grid's 700 km by 1300 km extent.
    pub fn is_on_grid(&self) -> bool {
        (0.0..700_000.0).contains(&self.easting) && (0.0..1_300_000.0).contains(&self.northing)
    }

    /// Rounded to whole metres, as the `property` table stores it.
    pub fn to_metres(&self) -> (i32, i32) {
        (self.easting.round() as i32, self.northing.round() as i32)
    }

    /// The lettered form, e.g. `SE 09312 25218` for `digits = 5` per axis (1 to 5).
    /// `None` off the grid.
    pub fn to_letters(&self, digits: u32) -> Option<String> {
        if !self.is_on_grid() || !(1..=5).contains(&digits) {
            return None;
        }
        let e = self.easting.floor() as i64;
        let n = self.northing.floor() as i64;
        let (e100k, n100k) = (e / 100_000, n / 100_000);
        // Letters skip I. The first letter names the 500 km square, the second the 100 km one.
        let mut l1 = (19 - n100k) - (19 - n100k) % 5 + (e100k + 10) / 5;
        let mut l2 = (19 - n100k) * 5 % 25 + e100k % 5;
        if l1 > 7 {
            l1 += 1;
        }
        if l2 > 7 {
            l2 += 1;
        }
        let letter = |i: i64| char::from(b'A' + i as u8);
        let scale = 10_i64.pow(5 - digits);
        let width = digits as usize;
        Some(format!(
            "{}{} {:0width$} {:0width$}",
            letter(l1),
            letter(l2),
            (e % 100_000) / scale,
            (n % 100_000) / scale
        ))
    }
}

struct Ellipsoid {
    a: f64,
    b: f64,
}

impl Ellipsoid {
    fn e2(&self) -> f64 {
        (self.a * self.a - self.b * self.b) / (self.a * self.a)
    }
}

const WGS84: Ellipsoid = Ellipsoid { a: 6_378_137.000, b: 6_356_752.314_245 };
const AIRY_1830: Ellipsoid = Ellipsoid { a: 6_377_563.396, b: 6_356_256.909 };

/// National Grid projection constants (the guide, Annex A).
const F0: f64 = 0.999_601_271_7;
const LAT0_DEG: f64 = 49.0;
const LON0_DEG: f64 = -2.0;
const E0: f64 = 400_000.0;
const N0: f64 = -100_000.0;

/// WGS84 to OSGB36 (the guide, section 6.6): translations in metres, scale in parts per
/// million, rotations in arc-seconds.
struct Helmert {
    tx: f64,
    ty: f64,
    tz: f64,
    s_ppm: f64,
    rx_sec: f64,
    ry_sec: f64,
    rz_sec: f64,
}

const WGS84_TO_OSGB36: Helmert = Helmert {
    tx: -446.448,
    ty: 125.157,
    tz: -542.060,
    s_ppm: 20.4894,
    rx_sec: -0.1502,
    ry_sec: -0.2470,
    rz_sec: -0.8421,
};

impl Helmert {
    fn apply(&self, [x, y, z]: [f64; 3], sign: f64) -> [f64; 3] {
        let sec = std::f64::consts::PI / (180.0 * 3600.0);
        let (tx, ty, tz) = (sign * self.tx, sign * self.ty, sign * self.tz);
        let s = 1.0 + sign * self.s_ppm * 1e-6;
        let (rx, ry, rz) = (sign * self.rx_sec * sec, sign * self.ry_sec * sec, sign * self.rz_sec * sec);
        [tx + s * x - rz * y + ry * z, ty + rz * x + s * y - rx * z, tz - ry * x + rx * y + s * z]
    }
}

/// Latitude and longitude in radians (height zero) to earth-centred cartesian metres.
fn to_cartesian(lat: f64, lon: f64, ell: &Ellipsoid) -> [f64; 3] {
    let e2 = ell.e2();
    let nu = ell.a / (1.0 - e2 * lat.sin().powi(2)).sqrt();
    [nu * lat.cos() * lon.cos(), nu * lat.cos() * lon.sin(), (1.0 - e2) * nu * lat.sin()]
}

/// Cartesian metres to latitude and longitude in radians (the guide, B.2, iterated).
fn from_cartesian([x, y, z]: [f64; 3], ell: &Ellipsoid) -> (f64, f64) {
    let e2 = ell.e2();
    let p = (x * x + y * y).sqrt();
    let lon = y.atan2(x);
    let mut lat = z.atan2(p * (1.0 - e2));
    for _ in 0..16 {
        let nu = ell.a / (1.0 - e2 * lat.sin().powi(2)).sqrt();
        let next = (z + e2 * nu * lat.sin()).atan2(p);
        let done = (next - lat).abs() < 1e-13;
        lat = next;
        if done {
            break;
        }
    }
    (lat, lon)
}

/// The meridional arc from the true origin's latitude to `lat` (the guide, C.1, M).
fn meridional_arc(lat: f64, ell: &Ellipsoid) -> f64 {
    let lat0 = LAT0_DEG.to_radians();
    let n = (ell.a - ell.b) / (ell.a + ell.b);
    let (n2, n3) = (n * n, n * n * n);
    let (d, s) = (lat - lat0, lat + lat0);
    ell.b
        * F0
        * ((1.0 + n + 1.25 * n2 + 1.25 * n3) * d - (3.0 * n + 3.0 * n2 + 21.0 / 8.0 * n3) * d.sin() * s.cos()
            + (15.0 / 8.0 * n2 + 15.0 / 8.0 * n3) * (2.0 * d).sin() * (2.0 * s).cos()
            - 35.0 / 24.0 * n3 * (3.0 * d).sin() * (3.0 * s).cos())
}

/// Radii of curvature: `nu` (prime vertical) and `rho` (meridian), both scaled by F0.
fn radii(lat: f64, ell: &Ellipsoid) -> (f64, f64) {
    let e2 = ell.e2();
    let t = 1.0 - e2 * lat.sin().powi(2);
    let nu = ell.a * F0 / t.sqrt();
    let rho = ell.a * F0 * (1.0 - e2) / t.powf(1.5);
    (nu, rho)
}

/// OSGB36 latitude/longitude in degrees to National Grid (projection only).
pub fn osgb36_to_grid(lat_deg: f64, lon_deg: f64) -> GridRef {
    let ell = &AIRY_1830;
    let lat = lat_deg.to_radians();
    let dl = (lon_deg - LON0_DEG).to_radians();
    let (nu, rho) = radii(lat, ell);
    let eta2 = nu / rho - 1.0;
    let (sin, cos, tan) = (lat.sin(), lat.cos(), lat.tan());
    let tan2 = tan * tan;
    let m = meridional_arc(lat, ell);
    let i = m + N0;
    let ii = nu / 2.0 * sin * cos;
    let iii = nu / 24.0 * sin * cos.powi(3) * (5.0 - tan2 + 9.0 * eta2);
    let iiia = nu / 720.0 * sin * cos.powi(5) * (61.0 - 58.0 * tan2 + tan2 * tan2);
    let iv = nu * cos;
    let v = nu / 6.0 * cos.powi(3) * (nu / rho - tan2);
    let vi = nu / 120.0 * cos.powi(5) * (5.0 - 18.0 * tan2 + tan2 * tan2 + 14.0 * eta2 - 58.0 * tan2 * eta2);
    GridRef {
        northing: i + ii * dl.powi(2) + iii * dl.powi(4) + iiia * dl.powi(6),
        easting: E0 + iv * dl + v * dl.powi(3) + vi * dl.powi(5),
    }
}

/// National Grid to OSGB36 latitude/longitude in degrees (projection only; the guide, C.2).
pub fn grid_to_osgb36(easting: f64, northing: f64) -> LatLon {
    let ell = &AIRY_1830;
    let lat0 = LAT0_DEG.to_radians();
    let mut lat = (northing - N0) / (ell.a * F0) + lat0;
    let mut m = meridional_arc(lat, ell);
    // Converges in a handful of steps; 0.01 mm is the guide's own stopping rule.
    for _ in 0..32 {
        if (northing - N0 - m).abs() < 1e-5 {
            break;
        }
        lat += (northing - N0 - m) / (ell.a * F0);
        m = meridional_arc(lat, ell);
    }
    let (nu, rho) = radii(lat, ell);
    let eta2 = nu / rho - 1.0;
    let tan = lat.tan();
    let (t2, t4, t6) = (tan * tan, tan.powi(4), tan.powi(6));
    let sec = 1.0 / lat.cos();
    let vii = tan / (2.0 * rho * nu);
    let viii = tan / (24.0 * rho * nu.powi(3)) * (5.0 + 3.0 * t2 + eta2 - 9.0 * t2 * eta2);
    let ix = tan / (720.0 * rho * nu.powi(5)) * (61.0 + 90.0 * t2 + 45.0 * t4);
    let x = sec / nu;
    let xi = sec / (6.0 * nu.powi(3)) * (nu / rho + 2.0 * t2);
    let xii = sec / (120.0 * nu.powi(5)) * (5.0 + 28.0 * t2 + 24.0 * t4);
    let xiia = sec / (5040.0 * nu.powi(7)) * (61.0 + 662.0 * t2 + 1320.0 * t4 + 720.0 * t6);
    let de = easting - E0;
    let lat = lat - vii * de.powi(2) + viii * de.powi(4) - ix * de.powi(6);
    let lon = LON0_DEG.to_radians() + x * de - xi * de.powi(3) + xii * de.powi(5) - xiia * de.powi(7);
    LatLon { lat: lat.to_degrees(), lon: lon.to_degrees() }
}

/// WGS84 latitude/longitude to OSGB36 latitude/longitude, both in degrees.
pub fn wgs84_to_osgb36(p: LatLon) -> LatLon {
    let xyz = to_cartesian(p.lat.to_radians(), p.lon.to_radians(), &WGS84);
    let (lat, lon) = from_cartesian(WGS84_TO_OSGB36.apply(xyz, 1.0), &AIRY_1830);
    LatLon { lat: lat.to_degrees(), lon: lon.to_degrees() }
}

/// OSGB36 latitude/longitude to WGS84, both in degrees (the Helmert step reversed by
/// negating its parameters, as the guide allows at this accuracy).
pub fn osgb36_to_wgs84(p: LatLon) -> LatLon {
    let xyz = to_cartesian(p.lat.to_radians(), p.lon.to_radians(), &AIRY_1830);
    let (lat, lon) = from_cartesian(WGS84_TO_OSGB36.apply(xyz, -1.0), &WGS84);
    LatLon { lat: lat.to_degrees(), lon: lon.to_degrees() }
}

/// WGS84 (GPS, web maps) to British National Grid easting and northing.
pub fn wgs84_to_bng(p: LatLon) -> GridRef {
    let o = wgs84_to_osgb36(p);
    osgb36_to_grid(o.lat, o.lon)
}

/// British National Grid easting and northing to WGS84.
pub fn bng_to_wgs84(g: GridRef) -> LatLon {
    osgb36_to_wgs84(grid_to_osgb36(g.easting, g.northing))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn dms(d: f64, m: f64, s: f64) -> f64 {
        d.signum() * (d.abs() + m / 60.0 + s / 3600.0)
    }

    /// Distance in metres between two nearby WGS84 points (equirectangular is plenty here).
    fn metres_apart(a: LatLon, b: LatLon) -> f64 {
        let k = 111_320.0;
        let dy = (a.lat - b.lat) * k;
        let dx = (a.lon - b.lon) * k * a.lat.to_radians().cos();
        (dx * dx + dy * dy).sqrt()
    }

    #[test]
    fn projection_reproduces_the_ordnance_survey_worked_example_to_the_millimetre() {
        // The guide, Annex C: Caister Water Tower, OSGB36 52°39'27.2531"N 1°43'4.5177"E.
        let g = osgb36_to_grid(dms(52.0, 39.0, 27.2531), dms(1.0, 43.0, 4.5177));
        assert!((g.easting - 651_409.903).abs() < 0.001, "easting {}", g.easting);
        assert!((g.northing - 313_177.270).abs() < 0.001, "northing {}", g.northing);
        let back = grid_to_osgb36(651_409.903, 313_177.270);
        assert!((back.lat - dms(52.0, 39.0, 27.2531)).abs() < 1e-8, "lat {}", back.lat);
        assert!((back.lon - dms(1.0, 43.0, 4.5177)).abs() < 1e-8, "lon {}", back.lon);
    }

    #[test]
    fn projection_matches_the_epsg_guidance_note_example() {
        // IOGP Guidance Note 7-2, Transverse Mercator: 50°30'N 0°30'E -> 577274.99 E, 69740.50 N.
        let g = osgb36_to_grid(50.5, 0.5);
        assert!((g.easting - 577_274.99).abs() < 0.01, "easting {}", g.easting);
        assert!((g.northing - 69_740.50).abs() < 0.01, "northing {}", g.northing);
    }

    #[test]
    fn wgs84_to_grid_matches_the_published_helmert_result() {
        // The same tower in WGS84 via the Helmert transformation: 52°39'28.723"N 1°42'57.787"E
        // (given to a thousandth of a second, about 3 cm).
        let wgs = LatLon { lat: dms(52.0, 39.0, 28.723), lon: dms(1.0, 42.0, 57.787) };
        let g = wgs84_to_bng(wgs);
        assert!((g.easting - 651_409.903).abs() < 0.1, "easting {}", g.easting);
        assert!((g.northing - 313_177.270).abs() < 0.1, "northing {}", g.northing);
        let back = bng_to_wgs84(GridRef { easting: 651_409.903, northing: 313_177.270 });
        assert!(metres_apart(back, wgs) < 0.1, "{back:?}");
    }

    #[test]
    fn the_datum_shift_is_the_size_the_guide_describes() {
        // OSGB36 and WGS84 differ by roughly 100 m in Great Britain: a conversion that
        // skipped the Helmert step would be off by about that much.
        let wgs = LatLon { lat: 53.7248, lon: -1.8658 };
        let osgb = wgs84_to_osgb36(wgs);
        let shift = metres_apart(wgs, osgb);
        assert!((70.0..150.0).contains(&shift), "shift {shift} m");
    }

    #[test]
    fn halifax_lands_in_grid_square_se() {
        // Halifax town centre is in 100 km square SE, about 409 km east and 425 km north.
        let g = wgs84_to_bng(LatLon { lat: 53.7227, lon: -1.8575 });
        assert!((408_500.0..410_500.0).contains(&g.easting), "{g:?}");
        assert!((424_500.0..426_500.0).contains(&g.northing), "{g:?}");
        assert!(g.to_letters(3).unwrap().starts_with("SE 09"), "{:?}", g.to_letters(3));
    }

    #[test]
    fn grid_letters_follow_the_national_grid() {
        assert_eq!(GridRef { easting: 651_409.903, northing: 313_177.270 }.to_letters(5).unwrap(), "TG 51409 13177");
        assert_eq!(GridRef { easting: 216_671.0, northing: 771_259.0 }.to_letters(5).unwrap(), "NN 16671 71259");
        assert_eq!(GridRef { easting: 530_000.0, northing: 180_000.0 }.to_letters(2).unwrap(), "TQ 30 80");
        assert_eq!(GridRef { easting: 0.0, northing: 0.0 }.to_letters(1).unwrap(), "SV 0 0");
        assert!(GridRef { easting: -1.0, northing: 0.0 }.to_letters(3).is_none());
    }

    proptest! {
        #[test]
        fn round_trips_anywhere_in_great_britain(lat in 49.9f64..60.9, lon in -7.5f64..1.8) {
            let p = LatLon { lat, lon };
            let g = wgs84_to_bng(p);
            let back = bng_to_wgs84(g);
            // Reversing Helmert by negation is an approximation; it stays within centimetres.
            prop_assert!(metres_apart(p, back) < 0.05, "{:?} -> {:?} -> {:?}", p, g, back);
        }
    }
}
