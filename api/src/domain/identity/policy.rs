//! The one policy layer. Every REST handler and GraphQL resolver gets a [`Principal`] and
//! asks these functions; nothing else decides who may see what.
//!
//! Rules:
//! - a tenant sees only the tenancies they are a member of, and what hangs off them;
//! - staff see their own organisation, and an admin of a group also its subsidiaries;
//! - an API key acts for one organisation within its scopes;
//! - an object the caller may not see answers 404, exactly as a missing one, so that ids
//!   cannot be probed; a role or scope that does not allow a kind of request answers 403;
//!   no or bad credentials answer 401.

use super::error::IdentityError;
use super::model::{Role, Scope};

/// Who is calling.
#[derive(Debug, Clone, Default)]
pub enum Principal {
    #[default]
    Anonymous,
    Tenant(TenantPrincipal),
    Staff(StaffPrincipal),
    ApiKey(ApiKeyPrincipal),
}

#[derive(Debug, Clone)]
pub struct TenantPrincipal {
    pub user_id: i64,
    pub email: String,
    pub person_id: i64,
    pub organisation_id: i64,
    pub tenancy_ids: Vec<i64>,
    pub property_ids: Vec<i64>,
    pub account_ids: Vec<i64>,
}

#[derive(Debug, Clone)]
pub struct StaffPrincipal {
    pub user_id: i64,
    pub email: String,
    pub role: Role,
    pub organisation_id: i64,
    /// The staff member's organisation, and for a group admin its subsidiaries.
    pub org_ids: Vec<i64>,
    /// Whether the organisation heads a group (or stands alone): such staff also work
    /// requests that could not be tied to any landlord.
    pub top_level: bool,
}

#[derive(Debug, Clone)]
pub struct ApiKeyPrincipal {
    pub key_id: i64,
    pub name: String,
    pub organisation_id: i64,
    pub scopes: Vec<Scope>,
}

/// The organisations a collection request may list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OrgScope {
    pub org_ids: Vec<i64>,
    /// Also objects that belong to no organisation.
    pub include_unassigned: bool,
}

impl OrgScope {
    pub fn contains(&self, org: Option<i64>) -> bool {
        match org {
            Some(id) => self.org_ids.contains(&id),
            None => self.include_unassigned,
        }
    }
}

/// Staff roles that work registration requests and PIN letters.
pub const REGISTRATION_ROLES: &[Role] = &[Role::CustomerService, Role::HousingOfficer, Role::Admin];
/// Staff roles that may unlock a sign-in.
pub const USER_SUPPORT_ROLES: &[Role] = &[Role::CustomerService, Role::HousingOfficer, Role::Admin];
/// Staff roles that read the audit trail and manage API keys.
pub const ADMIN_ROLES: &[Role] = &[Role::Admin];

impl Principal {
    pub fn is_anonymous(&self) -> bool {
        matches!(self, Principal::Anonymous)
    }

    pub fn user_id(&self) -> Option<i64> {
        match self {
            Principal::Tenant(t) => Some(t.user_id),
            Principal::Staff(s) => Some(s.user_id),
            _ => None,
        }
    }

    /// The organisation the caller belongs to, for filing audit events.
    pub fn organisation_id(&self) -> Option<i64> {
        match self {
            Principal::Anonymous => None,
            Principal::Tenant(t) => Some(t.organisation_id),
            Principal::Staff(s) => Some(s.organisation_id),
            Principal::ApiKey(k) => Some(k.organisation_id),
        }
    }
}

/// Any signed-in caller.
pub fn require_authenticated(p: &Principal) -> Result<(), IdentityError> {
    if p.is_anonymous() { Err(IdentityError::Unauthorized) } else { Ok(()) }
}

/// A signed-in person (tenant or staff), not a machine.
pub fn require_user(p: &Principal) -> Result<(), IdentityError> {
    match p {
        Principal::Anonymous => Err(IdentityError::Unauthorized),
        Principal::ApiKey(_) => Err(IdentityError::Forbidden("this needs a person's sign-in, not an API key".into())),
        _ => Ok(()),
    }
}

/// A member of staff with one of `roles` (an admin always qualifies).
pub fn require_staff<'a>(p: &'a Principal, roles: &[Role]) -> Result<&'a StaffPrincipal, IdentityError> {
    match p {
        Principal::Anonymous => Err(IdentityError::Unauthorized),
        Principal::Staff(s) if s.role == Role::Admin || roles.contains(&s.role) => Ok(s),
        Principal::Staff(_) => Err(IdentityError::Forbidden("your role does not allow this".into())),
        _ => Err(IdentityError::Forbidden("staff only".into())),
    }
}

/// Staff with one of `roles`, or an API key with `scope`: the organisations they may act on.
pub fn staff_or_key_scope(p: &Principal, roles: &[Role], scope: Scope) -> Result<OrgScope, IdentityError> {
    match p {
        Principal::ApiKey(k) if k.scopes.contains(&scope) => {
            Ok(OrgScope { org_ids: vec![k.organisation_id], include_unassigned: false })
        }
        Principal::ApiKey(_) => Err(IdentityError::Forbidden(format!("this API key lacks the {scope} scope"))),
        other => {
            let s = require_staff(other, roles)?;
            Ok(OrgScope { org_ids: s.org_ids.clone(), include_unassigned: s.top_level })
        }
    }
}

/// Whether the caller may see a tenancy (and so its members and home).
pub fn can_view_tenancy(p: &Principal, tenancy_org: i64, tenancy_id: i64) -> bool {
    match p {
        Principal::Anonymous => false,
        Principal::Tenant(t) => t.tenancy_ids.contains(&tenancy_id),
        Principal::Staff(s) => s.org_ids.contains(&tenancy_org),
        Principal::ApiKey(k) => k.organisation_id == tenancy_org && k.scopes.contains(&Scope::TenantsRead),
    }
}

/// Whether the caller may see a rent account and its transactions.
pub fn can_view_account(p: &Principal, account_org: i64, account_id: i64) -> bool {
    match p {
        Principal::Anonymous => false,
        Principal::Tenant(t) => t.account_ids.contains(&account_id),
        Principal::Staff(s) => s.org_ids.contains(&account_org),
        Principal::ApiKey(k) => k.organisation_id == account_org && k.scopes.contains(&Scope::TenantsRead),
    }
}

/// Whether the caller may see a property.
pub fn can_view_property(p: &Principal, property_org: i64, property_id: i64) -> bool {
    match p {
        Principal::Anonymous => false,
        Principal::Tenant(t) => t.property_ids.contains(&property_id),
        Principal::Staff(s) => s.org_ids.contains(&property_org),
        Principal::ApiKey(k) => k.organisation_id == property_org && k.scopes.contains(&Scope::TenantsRead),
    }
}

/// Turns "may not see" into the same answer as "does not exist".
pub fn visible_or_not_found(visible: bool, what: &'static str) -> Result<(), IdentityError> {
    if visible { Ok(()) } else { Err(IdentityError::NotFound(what)) }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tenant() -> Principal {
        Principal::Tenant(TenantPrincipal {
            user_id: 1,
            email: "t@example.com".into(),
            person_id: 10,
            organisation_id: 100,
            tenancy_ids: vec![5],
            property_ids: vec![6],
            account_ids: vec![7],
        })
    }

    fn staff(role: Role, orgs: Vec<i64>) -> Principal {
        Principal::Staff(StaffPrincipal {
            user_id: 2,
            email: "s@example.com".into(),
            role,
            organisation_id: orgs[0],
            org_ids: orgs,
            top_level: false,
        })
    }

    #[test]
    fn tenants_see_their_own_things_only() {
        let t = tenant();
        assert!(can_view_tenancy(&t, 100, 5));
        assert!(!can_view_tenancy(&t, 100, 55));
        assert!(can_view_account(&t, 100, 7));
        assert!(!can_view_account(&t, 100, 8));
        assert!(!can_view_property(&Principal::Anonymous, 100, 6));
    }

    #[test]
    fn staff_see_their_organisations_and_roles_gate_requests() {
        let s = staff(Role::Income, vec![100]);
        assert!(can_view_account(&s, 100, 999));
        assert!(!can_view_account(&s, 200, 999));
        assert!(matches!(require_staff(&s, REGISTRATION_ROLES), Err(IdentityError::Forbidden(_))));
        assert!(require_staff(&staff(Role::Admin, vec![100]), &[]).is_ok());
        assert!(matches!(require_staff(&Principal::Anonymous, &[]), Err(IdentityError::Unauthorized)));
        assert!(matches!(require_staff(&tenant(), &[]), Err(IdentityError::Forbidden(_))));
    }

    #[test]
    fn keys_act_within_their_scopes() {
        let k = Principal::ApiKey(ApiKeyPrincipal {
            key_id: 1,
            name: "k".into(),
            organisation_id: 100,
            scopes: vec![Scope::RegistrationsRead],
        });
        let scope = staff_or_key_scope(&k, REGISTRATION_ROLES, Scope::RegistrationsRead).unwrap();
        assert!(scope.contains(Some(100)) && !scope.contains(Some(200)) && !scope.contains(None));
        assert!(staff_or_key_scope(&k, REGISTRATION_ROLES, Scope::AuditRead).is_err());
        assert!(!can_view_account(&k, 100, 7));
    }
}
