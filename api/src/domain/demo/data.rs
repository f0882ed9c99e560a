//! The fixed material of the demo: the landlord group, real West Yorkshire towns and
//! neighbourhoods, street and person names, contractors and the social rent settlement.
//!
//! Contact details are fictional on purpose: telephone numbers come from Ofcom's ranges kept
//! for drama (0113 496 0000–0999, 01632 960000–960999, 07700 900000–900999) and every email
//! address and website is under an `.example` domain or `example.com/.org/.net`.

pub struct OrgSpec {
    pub slug: &'static str,
    pub name: &'static str,
    pub parent: Option<&'static str>,
    pub primary_colour: &'static str,
    pub secondary_colour: &'static str,
    pub tagline: &'static str,
    pub phone: &'static str,
    pub emergency_phone: &'static str,
    pub email: &'static str,
    pub website: &'static str,
    pub address: &'static str,
    pub opening_hours: &'static str,
    /// Prefix of HMS references (`PVH-P0000001`).
    pub code: &'static str,
    /// Digit that starts this landlord's account numbers and UPRN block.
    pub number_prefix: u64,
    /// Share of the demo tenancies, in per cent (landlords with homes only).
    pub share_pct: u32,
    /// Tenure of an established tenancy.
    pub tenure: &'static str,
    pub mail_domain: &'static str,
    /// Officers' direct lines: the first digits of a drama-range number.
    pub officer_phone_prefix: &'static str,
    pub towns: &'static [Town],
}

pub struct Town {
    pub name: &'static str,
    /// Town centre, WGS84.
    pub lat: f64,
    pub lon: f64,
    /// Relative weight of homes in this town within the landlord.
    pub weight: u32,
    pub neighbourhoods: &'static [Neighbourhood],
    /// Real street names of the town, mixed in with generated ones.
    pub streets: &'static [&'static str],
}

pub struct Neighbourhood {
    pub name: &'static str,
    /// Approximate offset of its centre from the town centre, in kilometres east and north.
    pub east_km: f64,
    pub north_km: f64,
    /// Postcode districts (outward codes) and sector digits used here.
    pub districts: &'static [&'static str],
    pub sectors: &'static [u8],
    pub weight: u32,
}

const fn nb(
    name: &'static str,
    east_km: f64,
    north_km: f64,
    districts: &'static [&'static str],
    sectors: &'static [u8],
    weight: u32,
) -> Neighbourhood {
    Neighbourhood { name, east_km, north_km, districts, sectors, weight }
}

pub const GROUP: OrgSpec = OrgSpec {
    slug: "pennine-vale",
    name: "Pennine Vale Housing Group",
    parent: None,
    primary_colour: "#1B3A5C",
    secondary_colour: "#6A1B4D",
    tagline: "Good homes in the Calder and Colne valleys",
    phone: "0113 496 0100",
    emergency_phone: "0113 496 0199",
    email: "hello@pennine-vale.example",
    website: "https://www.pennine-vale.example",
    address: "Vale House, 14 Wade Street, Halifax HX1 1SN",
    opening_hours: "Monday to Friday 9am to 5pm",
    code: "PVG",
    number_prefix: 9,
    share_pct: 0,
    tenure: "assured",
    mail_domain: "pennine-vale.example",
    officer_phone_prefix: "0113 496 01",
    towns: &[],
};

pub const PENNINE_VALE_HOMES: OrgSpec = OrgSpec {
    slug: "pennine-vale-homes",
    name: "Pennine Vale Homes",
    parent: Some("pennine-vale"),
    primary_colour: "#00557F",
    secondary_colour: "#2E6B30",
    tagline: "Your home, your say: homes across Calderdale and Kirklees",
    phone: "0113 496 0200",
    emergency_phone: "0113 496 0299",
    email: "contact@pennine-vale-homes.example",
    website: "https://www.pennine-vale-homes.example",
    address: "Vale House, 14 Wade Street, Halifax HX1 1SN",
    opening_hours: "Monday to Friday 8:30am to 5pm (Wednesday from 10am); emergency repairs 24 hours",
    code: "PVH",
    number_prefix: 1,
    share_pct: 58,
    tenure: "assured",
    mail_domain: "pennine-vale-homes.example",
    officer_phone_prefix: "0113 496 0",
    towns: &[
        Town {
            name: "Halifax",
            lat: 53.7227,
            lon: -1.8575,
            weight: 34,
            neighbourhoods: &[
                nb("Ovenden", 0.0, 2.2, &["HX3"], &[5, 6], 12),
                nb("Mixenden", -3.0, 2.0, &["HX2"], &[8, 9], 12),
                nb("Illingworth", -1.2, 3.2, &["HX2"], &[9], 8),
                nb("Pellon", -1.3, 0.5, &["HX1", "HX2"], &[4, 0], 8),
                nb("King Cross", -1.3, -0.9, &["HX1"], &[3], 6),
                nb("Siddal", 1.0, -1.2, &["HX3"], &[9], 6),
                nb("Boothtown", 0.3, 1.5, &["HX3"], &[6], 6),
                nb("Savile Park", -0.6, -1.2, &["HX1"], &[3], 4),
                nb("Lee Mount", -0.5, 1.4, &["HX3"], &[5], 5),
                nb("Highroad Well", -2.0, 0.0, &["HX2"], &[0], 5),
            ],
            streets: &[
                "Gibbet Street",
                "Queens Road",
                "Pellon Lane",
                "Hanson Lane",
                "Spring Hall Lane",
                "Ovenden Road",
                "Keighley Road",
                "Lee Mount Road",
                "Nursery Lane",
                "Dodge Holme Road",
            ],
        },
        Town {
            name: "Huddersfield",
            lat: 53.6450,
            lon: -1.7850,
            weight: 34,
            neighbourhoods: &[
                nb("Birkby", -1.0, 1.5, &["HD2"], &[2], 8),
                nb("Fartown", 0.0, 1.8, &["HD2"], &[2], 8),
                nb("Deighton", 1.8, 2.8, &["HD2"], &[1], 9),
                nb("Sheepridge", 1.0, 2.8, &["HD2"], &[1], 8),
                nb("Lockwood", -0.5, -1.6, &["HD1", "HD4"], &[3, 6], 6),
                nb("Newsome", 0.3, -2.2, &["HD4"], &[6], 6),
                nb("Crosland Moor", -2.0, -1.2, &["HD4"], &[5], 7),
                nb("Dalton", 2.3, 0.2, &["HD5"], &[8], 7),
                nb("Paddock", -1.8, 0.0, &["HD1"], &[4], 5),
                nb("Bradley", 2.8, 3.5, &["HD2"], &[1], 6),
            ],
            streets: &[
                "Trinity Street",
                "Bradford Road",
                "Wakefield Road",
                "Manchester Road",
                "Fitzwilliam Street",
                "Birkby Hall Road",
                "Ashbrow Road",
                "Blackmoorfoot Road",
                "Whitehead Lane",
                "Leeds Road",
            ],
        },
        Town {
            name: "Brighouse",
            lat: 53.7030,
            lon: -1.7840,
            weight: 12,
            neighbourhoods: &[
                nb("Rastrick", -0.6, -0.9, &["HD6"], &[3], 5),
                nb("Hove Edge", -1.0, 1.2, &["HD6"], &[2], 3),
                nb("Clifton", 1.5, 1.0, &["HD6"], &[4], 2),
                nb("Brighouse", 0.0, 0.0, &["HD6"], &[1], 3),
            ],
            streets: &["Bradford Road", "Huddersfield Road", "Elland Road", "Halifax Road", "Thornhill Road"],
        },
        Town {
            name: "Todmorden",
            lat: 53.7135,
            lon: -2.0970,
            weight: 8,
            neighbourhoods: &[
                nb("Walsden", -1.0, -2.5, &["OL14"], &[6], 3),
                nb("Cornholme", -3.0, 1.5, &["OL14"], &[8], 2),
                nb("Todmorden", 0.0, 0.0, &["OL14"], &[5, 7], 5),
            ],
            streets: &["Burnley Road", "Halifax Road", "Rochdale Road", "Cross Lee Road", "Victoria Road"],
        },
        Town {
            name: "Elland",
            lat: 53.6850,
            lon: -1.8380,
            weight: 6,
            neighbourhoods: &[
                nb("Elland", 0.0, 0.0, &["HX5"], &[0, 9], 4),
                nb("Greetland", -1.8, 0.5, &["HX4"], &[8], 2),
            ],
            streets: &["Southgate", "Huddersfield Road", "Victoria Road", "Saddleworth Road"],
        },
        Town {
            name: "Sowerby Bridge",
            lat: 53.7090,
            lon: -1.9090,
            weight: 6,
            neighbourhoods: &[
                nb("Sowerby Bridge", 0.0, 0.0, &["HX6"], &[2, 3], 4),
                nb("Norland", 0.2, -1.5, &["HX6"], &[3], 1),
                nb("Triangle", -2.0, -0.8, &["HX6"], &[3], 1),
            ],
            streets: &["Wharf Street", "Tuel Lane", "Bolton Brow", "Station Road"],
        },
    ],
};

pub const CALDER_RIVERSIDE: OrgSpec = OrgSpec {
    slug: "calder-riverside",
    name: "Calder Riverside Housing",
    parent: Some("pennine-vale"),
    primary_colour: "#0B5D5B",
    secondary_colour: "#8A3B12",
    tagline: "Homes and neighbourhoods along the Calder, from Mirfield to Wakefield",
    phone: "01632 960300",
    emergency_phone: "01632 960399",
    email: "hello@calder-riverside.example",
    website: "https://www.calder-riverside.example",
    address: "Riverside Court, 2 Wellington Road, Dewsbury WF13 1HF",
    opening_hours: "Monday to Friday 9am to 5pm; Saturday 9am to 12 noon (telephone only)",
    code: "CRH",
    number_prefix: 2,
    share_pct: 42,
    tenure: "secure",
    mail_domain: "calder-riverside.example",
    officer_phone_prefix: "01632 960",
    towns: &[
        Town {
            name: "Dewsbury",
            lat: 53.6910,
            lon: -1.6320,
            weight: 45,
            neighbourhoods: &[
                nb("Ravensthorpe", -1.8, -0.8, &["WF13"], &[3], 9),
                nb("Thornhill", 0.2, -2.0, &["WF12"], &[0], 7),
                nb("Savile Town", 0.2, -0.6, &["WF12"], &[9], 6),
                nb("Chickenley", 1.8, 0.8, &["WF12"], &[8], 7),
                nb("Dewsbury Moor", -1.2, 0.8, &["WF13"], &[4], 8),
                nb("Westtown", -0.6, 0.2, &["WF13"], &[2], 5),
                nb("Batley Carr", -0.5, 1.2, &["WF17"], &[6], 4),
            ],
            streets: &[
                "Halifax Road",
                "Bradford Road",
                "Savile Road",
                "Wakefield Road",
                "Ravensthorpe Road",
                "Leeds Road",
                "Heckmondwike Road",
                "Boothroyd Lane",
            ],
        },
        Town {
            name: "Wakefield",
            lat: 53.6830,
            lon: -1.4990,
            weight: 42,
            neighbourhoods: &[
                nb("Lupset", -2.2, -0.6, &["WF2"], &[8], 8),
                nb("Eastmoor", 1.2, 0.8, &["WF1"], &[4], 8),
                nb("Portobello", 0.8, -1.8, &["WF1"], &[5], 6),
                nb("Kettlethorpe", -0.3, -3.5, &["WF2"], &[7], 5),
                nb("Agbrigg", 1.2, -1.6, &["WF1"], &[5], 4),
                nb("Belle Vue", 1.0, -1.0, &["WF1"], &[5], 4),
                nb("Flanshaw", -2.2, 0.6, &["WF2"], &[9], 5),
                nb("Outwood", -0.3, 3.5, &["WF1"], &[2, 3], 4),
            ],
            streets: &[
                "Kirkgate",
                "Westgate",
                "Doncaster Road",
                "Dewsbury Road",
                "Agbrigg Road",
                "Eastmoor Road",
                "Horbury Road",
                "Denby Dale Road",
            ],
        },
        Town {
            name: "Mirfield",
            lat: 53.6750,
            lon: -1.6940,
            weight: 13,
            neighbourhoods: &[
                nb("Mirfield", 0.0, 0.0, &["WF14"], &[8, 9], 4),
                nb("Hopton", 1.2, -0.7, &["WF14"], &[8], 2),
                nb("Battyeford", -1.2, 0.5, &["WF14"], &[9], 2),
            ],
            streets: &["Huddersfield Road", "Station Road", "Nab Lane", "Doctor Lane", "Sand Lane"],
        },
    ],
};

pub const LANDLORDS: [&OrgSpec; 2] = [&PENNINE_VALE_HOMES, &CALDER_RIVERSIDE];

/// First halves of generated street names: trees, local families, mills and moors.
pub const STREET_STEMS: &[&str] = &[
    "Oak",
    "Ash",
    "Beech",
    "Birch",
    "Elm",
    "Hawthorn",
    "Rowan",
    "Holly",
    "Willow",
    "Chestnut",
    "Sycamore",
    "Laburnum",
    "Laurel",
    "Hazel",
    "Cedar",
    "Alder",
    "Moor",
    "Calder",
    "Hebble",
    "Ryburn",
    "Copley",
    "Savile",
    "Akroyd",
    "Crossley",
    "Holdsworth",
    "Sutcliffe",
    "Priestley",
    "Brontë",
    "Lister",
    "Wentworth",
    "Spring",
    "Mill",
    "Church",
    "Park",
    "Hill",
    "Green",
    "Brook",
    "Wood",
    "Field",
    "Holme",
    "Clough",
    "Beck",
    "Lea",
    "Stone",
    "Heath",
    "Well",
    "Bank",
    "Croft",
    "Fold",
    "Shaw",
    "Booth",
    "Nab",
    "Scar",
    "Ing",
    "Royd",
    "Hey",
    "Kirk",
    "Pinfold",
    "Tenter",
    "Weavers",
    "Dyers",
    "Canal",
    "Lock",
    "Wharf",
    "Station",
    "Victoria",
    "Albert",
    "Coronation",
    "Jubilee",
    "Queens",
    "Kings",
    "Prospect",
    "Mount Pleasant",
    "Fairfield",
    "Greenhill",
    "Highfield",
    "Westfield",
    "Eastfield",
    "Northfield",
    "Southfield",
    "Low Moor",
    "High Lees",
    "Windmill",
];

pub const STREET_KINDS: &[&str] = &[
    "Street", "Road", "Lane", "Avenue", "Close", "Grove", "Crescent", "Drive", "Walk", "Way", "Terrace", "Mount",
    "View", "Rise", "Place", "Gardens",
];

/// Names of blocks of flats: `<stem> <kind>`.
pub const BLOCK_KINDS: &[&str] = &["Court", "House", "Heights", "Towers", "Mews", "Lodge"];

/// Groups of families whose surnames and forenames go together.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NameGroup {
    British,
    SouthAsian,
    Polish,
    Irish,
}

pub const GROUP_WEIGHTS_DEFAULT: &[(NameGroup, u32)] =
    &[(NameGroup::British, 78), (NameGroup::SouthAsian, 12), (NameGroup::Polish, 5), (NameGroup::Irish, 5)];
/// Dewsbury, Huddersfield and Halifax have large British Pakistani, Kashmiri and Gujarati
/// communities.
pub const GROUP_WEIGHTS_DIVERSE: &[(NameGroup, u32)] =
    &[(NameGroup::British, 62), (NameGroup::SouthAsian, 28), (NameGroup::Polish, 5), (NameGroup::Irish, 5)];

pub fn group_weights(town: &str) -> &'static [(NameGroup, u32)] {
    match town {
        "Dewsbury" | "Huddersfield" | "Halifax" => GROUP_WEIGHTS_DIVERSE,
        _ => GROUP_WEIGHTS_DEFAULT,
    }
}

/// Most common first. Yorkshire names (Sutcliffe, Greenwood, Haigh...) are among them.
pub const SURNAMES_BRITISH: &[&str] = &[
    "Smith",
    "Jones",
    "Taylor",
    "Brown",
    "Wilson",
    "Walker",
    "Wood",
    "Robinson",
    "Thompson",
    "Wright",
    "Johnson",
    "White",
    "Hall",
    "Green",
    "Jackson",
    "Clarke",
    "Williams",
    "Turner",
    "Hill",
    "Shaw",
    "Harrison",
    "Roberts",
    "Lee",
    "Holmes",
    "Davies",
    "Greenwood",
    "Sutcliffe",
    "Mitchell",
    "Cooper",
    "Ward",
    "Martin",
    "Hirst",
    "Haigh",
    "Firth",
    "Sykes",
    "Baker",
    "King",
    "Moore",
    "Lewis",
    "Allen",
    "Scott",
    "Parker",
    "Bailey",
    "Marshall",
    "Barker",
    "Booth",
    "Brook",
    "Armitage",
    "Dyson",
    "Kaye",
    "Gledhill",
    "Pickles",
    "Holroyd",
    "Midgley",
    "Rhodes",
    "Horsfall",
    "Ackroyd",
    "Crossley",
    "Barraclough",
    "Lumb",
    "Priestley",
    "Whiteley",
    "Hartley",
    "Bentley",
    "Ramsden",
    "Lockwood",
    "Beaumont",
    "Fielding",
    "Townend",
    "Illingworth",
    "Crowther",
    "Hinchliffe",
    "Hey",
    "Stansfield",
    "Campbell",
    "Edwards",
    "Hughes",
    "Evans",
    "Harris",
    "Morris",
    "Price",
    "Bell",
    "Watson",
    "Cook",
    "Richardson",
    "Wilkinson",
    "Atkinson",
    "Fletcher",
    "Pearson",
    "Dawson",
    "Spencer",
    "Chapman",
    "Webster",
    "Ellis",
    "Kelly",
    "Lawson",
    "Simpson",
    "Stevenson",
    "Gibson",
];
pub const SURNAMES_SOUTH_ASIAN: &[&str] = &[
    "Hussain", "Khan", "Ali", "Ahmed", "Akhtar", "Iqbal", "Mahmood", "Shah", "Begum", "Rashid", "Aslam", "Patel",
    "Bibi", "Mistry", "Lunat", "Desai", "Hanif", "Nawaz", "Rehman", "Riaz", "Sadiq", "Karim", "Saleem", "Javed",
];
/// Polish surnames agree with sex: `(masculine, feminine)`.
pub const SURNAMES_POLISH: &[(&str, &str)] = &[
    ("Nowak", "Nowak"),
    ("Kowalski", "Kowalska"),
    ("Wiśniewski", "Wiśniewska"),
    ("Wójcik", "Wójcik"),
    ("Kamiński", "Kamińska"),
    ("Lewandowski", "Lewandowska"),
    ("Zieliński", "Zielińska"),
    ("Szymański", "Szymańska"),
    ("Woźniak", "Woźniak"),
    ("Dąbrowski", "Dąbrowska"),
];
pub const SURNAMES_IRISH: &[&str] = &[
    "Murphy",
    "Kelly",
    "O'Brien",
    "Byrne",
    "Ryan",
    "Walsh",
    "O'Connor",
    "McCarthy",
    "Doyle",
    "Gallagher",
    "O'Neill",
    "Quinn",
];

/// Forenames by decade of birth: before 1951, 1951–70, 1971–90, 1991–2005, after 2005.
pub const MALE_BRITISH: [&[&str]; 5] = [
    &[
        "John", "David", "Michael", "Peter", "Robert", "Brian", "Alan", "Kenneth", "Keith", "Geoffrey", "Ronald",
        "Derek", "Roy", "Barry", "Trevor", "Colin", "Terence", "Dennis", "Harold", "Frank",
    ],
    &[
        "David",
        "Paul",
        "Andrew",
        "Mark",
        "Stephen",
        "Ian",
        "Gary",
        "Michael",
        "Peter",
        "Steven",
        "Richard",
        "Kevin",
        "Neil",
        "Martin",
        "Darren",
        "Philip",
        "Nigel",
        "Simon",
        "Christopher",
        "Anthony",
    ],
    &[
        "Christopher",
        "James",
        "David",
        "Daniel",
        "Michael",
        "Matthew",
        "Paul",
        "Andrew",
        "Richard",
        "Lee",
        "Craig",
        "Mark",
        "Scott",
        "Jason",
        "Carl",
        "Wayne",
        "Adam",
        "Ben",
        "Thomas",
        "Robert",
    ],
    &[
        "Jack", "Thomas", "James", "Joshua", "Daniel", "Liam", "Ryan", "Luke", "Samuel", "Jordan", "Callum", "Connor",
        "Lewis", "Jake", "Kieran", "Bradley", "Nathan", "Ben", "Adam", "Harry",
    ],
    &[
        "Oliver", "Jack", "Harry", "George", "Noah", "Charlie", "Jacob", "Alfie", "Freddie", "Oscar", "Leo", "Archie",
        "Theo", "Arthur", "Henry", "Joshua", "Tommy", "Riley", "Teddy", "Reggie",
    ],
];
pub const FEMALE_BRITISH: [&[&str]; 5] = [
    &[
        "Margaret", "Patricia", "Jean", "Mary", "Joan", "Barbara", "Sheila", "Dorothy", "Brenda", "Doreen", "Irene",
        "Betty", "Pauline", "Maureen", "Kathleen", "Joyce", "Valerie", "Shirley", "Audrey", "Sylvia",
    ],
    &[
        "Susan",
        "Julie",
        "Karen",
        "Linda",
        "Tracey",
        "Janet",
        "Christine",
        "Elaine",
        "Deborah",
        "Alison",
        "Jacqueline",
        "Angela",
        "Lorraine",
        "Sharon",
        "Gillian",
        "Wendy",
        "Dawn",
        "Carol",
        "Sandra",
        "Helen",
    ],
    &[
        "Sarah", "Claire", "Emma", "Nicola", "Lisa", "Kelly", "Michelle", "Joanne", "Rachel", "Laura", "Gemma", "Amy",
        "Stacey", "Donna", "Louise", "Victoria", "Hayley", "Samantha", "Leanne", "Kerry",
    ],
    &[
        "Jessica",
        "Chloe",
        "Lauren",
        "Emily",
        "Sophie",
        "Rebecca",
        "Hannah",
        "Charlotte",
        "Megan",
        "Bethany",
        "Amy",
        "Ellie",
        "Shannon",
        "Abbie",
        "Courtney",
        "Jade",
        "Paige",
        "Holly",
        "Danielle",
        "Georgia",
    ],
    &[
        "Olivia", "Amelia", "Isla", "Ava", "Mia", "Ivy", "Lily", "Isabella", "Sophia", "Grace", "Poppy", "Evie",
        "Freya", "Ella", "Florence", "Willow", "Rosie", "Millie", "Daisy", "Elsie",
    ],
];
pub const MALE_SOUTH_ASIAN: &[&str] = &[
    "Mohammed", "Muhammad", "Imran", "Asif", "Tariq", "Zahid", "Bilal", "Adnan", "Hamza", "Ibrahim", "Yusuf", "Zain",
    "Ayaan", "Usman", "Khalid", "Faisal", "Rizwan", "Sajid", "Nadeem", "Arif",
];
pub const FEMALE_SOUTH_ASIAN: &[&str] = &[
    "Aisha", "Fatima", "Nasreen", "Shazia", "Samina", "Rubina", "Zainab", "Maryam", "Hafsa", "Amina", "Safia", "Noor",
    "Iqra", "Sana", "Hina", "Parveen", "Yasmin", "Ruksana", "Saima", "Khadija",
];
pub const MALE_POLISH: &[&str] =
    &["Piotr", "Tomasz", "Krzysztof", "Paweł", "Marcin", "Jakub", "Łukasz", "Michał", "Adam", "Kacper"];
pub const FEMALE_POLISH: &[&str] =
    &["Anna", "Katarzyna", "Agnieszka", "Magdalena", "Joanna", "Zofia", "Małgorzata", "Ewa", "Natalia", "Julia"];
pub const MALE_IRISH: &[&str] = &["Sean", "Patrick", "Liam", "Declan", "Ciaran", "Conor", "Michael", "Brendan"];
pub const FEMALE_IRISH: &[&str] = &["Siobhan", "Niamh", "Aoife", "Mary", "Bridget", "Ciara", "Orla", "Roisin"];

/// Housing officers' names (their own list, so officers do not look like tenants).
pub const OFFICER_FORENAMES: &[&str] = &[
    "Rachel", "Imran", "Joanne", "Gareth", "Priya", "Stuart", "Helen", "Naveed", "Kirsty", "Owen", "Saira", "Martin",
    "Lucy", "Danny", "Farah", "Craig", "Nadia", "Tom", "Bev", "Ashley",
];
pub const OFFICER_SURNAMES: &[&str] = &[
    "Holroyd",
    "Bashir",
    "Fearnley",
    "Pritchard",
    "Chauhan",
    "Ogden",
    "Brearley",
    "Akram",
    "Sunderland",
    "Metcalfe",
    "Qureshi",
    "Haworth",
    "Oldroyd",
    "Naylor",
    "Rafiq",
    "Heap",
    "Uttley",
    "Crabtree",
    "Exley",
    "Moorhouse",
];

/// A kind of planned work: category, description, how long it takes (days), how often a home
/// has had it done in the last decade (per mille) and has it coming (per mille).
pub struct WorkKind {
    pub category: &'static str,
    pub description: &'static str,
    pub days: i64,
    pub past_pm: u32,
    pub future_pm: u32,
    /// Fictional firms that do this kind of work.
    pub contractors: &'static [&'static str],
}

const BUILDERS: &[&str] = &["Pennine Kitchens and Bathrooms Ltd", "Calder Valley Building Services Ltd"];

pub const WORK_KINDS: &[WorkKind] = &[
    WorkKind {
        category: "kitchen",
        description: "Kitchen replacement",
        days: 5,
        past_pm: 300,
        future_pm: 120,
        contractors: BUILDERS,
    },
    WorkKind {
        category: "bathroom",
        description: "Bathroom replacement with level-access shower",
        days: 4,
        past_pm: 220,
        future_pm: 90,
        contractors: BUILDERS,
    },
    WorkKind {
        category: "windows",
        description: "uPVC double glazing and doors",
        days: 2,
        past_pm: 100,
        future_pm: 50,
        contractors: &["Holme Windows Ltd"],
    },
    WorkKind {
        category: "roof",
        description: "Roof renewal and new guttering",
        days: 10,
        past_pm: 40,
        future_pm: 30,
        contractors: &["Yorkshire Roofing Co", "Calder Valley Building Services Ltd"],
    },
    WorkKind {
        category: "heating",
        description: "Boiler replacement (A-rated combi)",
        days: 2,
        past_pm: 300,
        future_pm: 140,
        contractors: &["Westgate Heating Services"],
    },
    WorkKind {
        category: "external_decoration",
        description: "External painting and repairs",
        days: 3,
        past_pm: 120,
        future_pm: 60,
        contractors: &["Ryburn Decorators", "Riverside Property Care"],
    },
];

/// The social rent settlement: the change applied each April, in basis points, by the year
/// the rent year starts. 2016–2019 were the four years of 1% cuts; 2023 was capped at 7%.
pub fn rent_change_bp(year: i32) -> i64 {
    match year {
        ..=2011 => 500,
        2012 => 560,
        2013 | 2014 => 370,
        2015 => 220,
        2016..=2019 => -100,
        2020 => 270,
        2021 => 150,
        2022 => 410,
        2023 => 700,
        2024 => 770,
        2025 => 270,
        2026 => 480,
        _ => 300,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn luminance(hex: &str) -> f64 {
        let v = u32::from_str_radix(hex.trim_start_matches('#'), 16).unwrap();
        let channel = |c: u32| {
            let c = c as f64 / 255.0;
            if c <= 0.03928 { c / 12.92 } else { ((c + 0.055) / 1.055).powf(2.4) }
        };
        0.2126 * channel(v >> 16 & 0xff) + 0.7152 * channel(v >> 8 & 0xff) + 0.0722 * channel(v & 0xff)
    }

    #[test]
    fn brand_colours_pass_wcag_aa_with_white_text() {
        for org in [&GROUP, &PENNINE_VALE_HOMES, &CALDER_RIVERSIDE] {
            for colour in [org.primary_colour, org.secondary_colour] {
                let contrast = 1.05 / (luminance(colour) + 0.05);
                assert!(contrast >= 4.5, "{} {colour}: contrast {contrast:.2} with white", org.slug);
            }
        }
    }

    #[test]
    fn contact_numbers_are_in_ofcom_drama_ranges() {
        for org in [&GROUP, &PENNINE_VALE_HOMES, &CALDER_RIVERSIDE] {
            for phone in [org.phone, org.emergency_phone] {
                assert!(phone.starts_with("0113 496 0") || phone.starts_with("01632 960"), "{phone}");
            }
            assert!(org.email.ends_with(".example") && org.website.ends_with(".example"));
        }
    }

    #[test]
    fn landlord_shares_add_up() {
        assert_eq!(LANDLORDS.iter().map(|o| o.share_pct).sum::<u32>(), 100);
        for org in LANDLORDS {
            for town in org.towns {
                for n in town.neighbourhoods {
                    for d in n.districts {
                        let pc = format!("{d} {}AB", n.sectors[0]);
                        assert!(doorstep_shared::Postcode::parse(&pc).is_ok(), "{pc}");
                    }
                }
            }
        }
    }
}
