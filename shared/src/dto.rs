//! Request and response bodies of the public API, as both the server and the SPA see them.

use serde::{Deserialize, Serialize};

/// The error envelope of every failed request: `{"error": {"code", "message", "details"}}`.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[cfg_attr(feature = "server", derive(utoipa::ToSchema))]
pub struct ErrorEnvelope {
    pub error: ErrorBody,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[cfg_attr(feature = "server", derive(utoipa::ToSchema))]
pub struct ErrorBody {
    /// A stable machine-readable code such as `not_found` or `validation_failed`.
    pub code: String,
    /// A sentence for a person.
    pub message: String,
    /// Structured detail, such as the field that failed validation.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "server", schema(value_type = Option<Object>))]
    pub details: Option<serde_json::Value>,
}

/// A page of a list, with the cursor for the next page (absent on the last page).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[cfg_attr(feature = "server", derive(utoipa::ToSchema))]
pub struct Page<T> {
    pub items: Vec<T>,
    pub next_cursor: Option<String>,
}

/// How a landlord presents itself: colours and the name to show.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[cfg_attr(feature = "server", derive(utoipa::ToSchema, async_graphql::SimpleObject))]
pub struct Branding {
    /// Main colour as `#rrggbb`.
    pub primary_colour: String,
    /// Accent colour as `#rrggbb`.
    pub secondary_colour: String,
    /// A short strapline shown under the name.
    pub tagline: Option<String>,
}

/// How tenants reach a landlord.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[cfg_attr(feature = "server", derive(utoipa::ToSchema, async_graphql::SimpleObject))]
pub struct Contacts {
    pub phone: Option<String>,
    pub email: Option<String>,
    pub website: Option<String>,
    pub address: Option<String>,
    /// When the phone lines are open, as written for people.
    pub opening_hours: Option<String>,
    /// The out-of-hours number for emergency repairs.
    pub emergency_phone: Option<String>,
}

/// A landlord as the public sees it.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[cfg_attr(feature = "server", derive(utoipa::ToSchema, async_graphql::SimpleObject))]
pub struct Organisation {
    pub slug: String,
    pub name: String,
    /// The slug of the group this landlord belongs to, if any.
    pub parent_slug: Option<String>,
    pub branding: Branding,
    pub contacts: Contacts,
}
