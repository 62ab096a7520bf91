//! Authorization declared once: every route states its [`Access`] next to its registration, one
//! layer (`enforce`) checks it, and the OpenAPI `security`, the `x-miniguard-access` extension
//! and the 401/403 answers of each operation are written from the same declaration.
//!
//! ```ignore
//! Routes::new()
//!     .add(Access::Public.with_auth_rate(), routes!(platform_login))
//!     .add(Access::Session, routes!(me))
//!     .add(Access::FactorChange.while_enrolling(), routes!(totp_enroll))
//! ```
//!
//! `Routes::into_router` builds the router with the one layer on every route. The layer finds
//! the declaration of the matched route (method and path template; `HEAD` is checked as `GET`);
//! another method of a declared path goes on to the router's 405, and anything else without a
//! declaration is refused with 500 (fail closed), which `tests/e2e_access.rs` would also catch. Handlers take
//! [`crate::sessions::Authenticated`] only as the caller's identity; they never check access
//! themselves (ownership rules of records stay in the data API, which is authorization of a
//! different kind: per record, not per route).
//!
//! A monitoring route (`/metrics`) is declared [`Access::MonitoringAddress`]: no session, the
//! client's address must be loopback or listed in `metrics_from` (404 otherwise).
//!
//! Order of the checks: the stricter per-address auth rate (when declared), the session (a live
//! access token and a valid signature: 401), the enrolment limit of a staff login without a
//! factor (403 `mfa-enrolment-required`), staff (403 `staff-required`), a recent factor (403
//! `mfa-required`).

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Arc;

use axum::extract::{MatchedPath, Request, State};
use axum::http::Method;
use axum::middleware::{self, Next};
use axum::response::Response;
use utoipa::openapi::extensions::ExtensionsBuilder;
use utoipa::openapi::path::Operation;
use utoipa::openapi::security::SecurityRequirement;
use utoipa::openapi::{RefOr, Response as OpenApiResponse};
use utoipa_axum::router::{OpenApiRouter, UtoipaMethodRouter};

use crate::db::UserId;
use crate::error::ApiError;
use crate::http::{AppState, ClientAddr};
use crate::mfa::STEP_UP_WINDOW;
use crate::sessions::Authenticated;

/// Who may call a route.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Access {
    /// Anyone; no session.
    Public,
    /// No session, but only from a monitoring address: the client's address (behind a trusted
    /// proxy, the forwarded one) is loopback or listed in `metrics_from`. Anyone else gets 404,
    /// so the route does not even show that it exists.
    MonitoringAddress,
    /// A signed session (a live access token and a valid request signature).
    Session,
    /// A signed session whose login verified a second factor within [`STEP_UP_WINDOW`].
    SessionRecentFactor,
    /// A signed session of a staff account (a user with a role).
    Staff,
    /// A signed staff session whose login verified a second factor within [`STEP_UP_WINDOW`].
    StaffRecentFactor,
    /// A change of the caller's factors, or of where a factor's codes go: a signed session and,
    /// when the user has any factor already (a confirmed TOTP, a bound phone), a verification of
    /// one of them by this login within [`STEP_UP_WINDOW`]. Enrolling never verifies anything
    /// itself, so a new factor never vouches for its own change.
    FactorChange,
}

impl Access {
    /// The name in `x-miniguard-access` and in the docs.
    pub fn name(self) -> &'static str {
        match self {
            Self::Public => "public",
            Self::MonitoringAddress => "monitoring-address",
            Self::Session => "session",
            Self::SessionRecentFactor => "session+recent-factor",
            Self::Staff => "staff",
            Self::StaffRecentFactor => "staff+recent-factor",
            Self::FactorChange => "factor-change",
        }
    }

    /// Whether a signed session is needed (and so the `session` + `signature` security).
    pub fn needs_session(self) -> bool {
        !matches!(self, Self::Public | Self::MonitoringAddress)
    }

    /// Adds the stricter per-address auth rate (routes that start logins or call the platform).
    pub fn with_auth_rate(self) -> Declared {
        Declared::from(self).with_auth_rate()
    }

    /// Also allowed for a staff login limited to TOTP enrolment.
    pub fn while_enrolling(self) -> Declared {
        Declared::from(self).while_enrolling()
    }
}

/// A route's declaration: its [`Access`] and two modifiers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Declared {
    pub access: Access,
    /// The auth routes' per-address rate applies first.
    pub auth_rate: bool,
    /// A login limited to TOTP enrolment may call it.
    pub while_enrolling: bool,
}

impl From<Access> for Declared {
    fn from(access: Access) -> Self {
        Self {
            access,
            auth_rate: false,
            while_enrolling: false,
        }
    }
}

impl Declared {
    #[must_use]
    pub fn with_auth_rate(mut self) -> Self {
        self.auth_rate = true;
        self
    }

    #[must_use]
    pub fn while_enrolling(mut self) -> Self {
        self.while_enrolling = true;
        self
    }

    /// The answers the layer can give for this declaration: (status, description).
    fn denials(self) -> Vec<(&'static str, String)> {
        let mut out = Vec::new();
        match self.access {
            Access::Public => return out,
            Access::MonitoringAddress => {
                out.push((
                    "404",
                    "Not from loopback or a metrics_from address (not found)".to_owned(),
                ));
                return out;
            }
            _ => {}
        }
        out.push((
            "401",
            "No valid session or signature (unauthorized)".to_owned(),
        ));
        let mut reasons = Vec::new();
        if !self.while_enrolling {
            reasons.push("a login limited to TOTP enrolment (mfa-enrolment-required)");
        }
        if matches!(self.access, Access::Staff | Access::StaffRecentFactor) {
            reasons.push("not a staff account (staff-required)");
        }
        match self.access {
            Access::SessionRecentFactor | Access::StaffRecentFactor => {
                reasons.push("no second factor verified by this login within 5 minutes (mfa-required)");
            }
            Access::FactorChange => reasons.push(
                "the user has a factor and this login verified none within 5 minutes (mfa-required)",
            ),
            _ => {}
        }
        if !reasons.is_empty() {
            out.push(("403", capitalize(&reasons.join("; "))));
        }
        out
    }
}

fn capitalize(text: &str) -> String {
    let mut chars = text.chars();
    chars.next().map_or_else(String::new, |c| {
        c.to_uppercase().collect::<String>() + chars.as_str()
    })
}

/// Declarations by (method, path template).
#[derive(Debug, Default)]
struct Table(HashMap<(Method, String), Declared>);

/// Routes with their declarations; [`Routes::into_router`] adds the one layer.
pub(crate) struct Routes {
    router: OpenApiRouter<AppState>,
    table: Table,
}

impl Routes {
    pub(crate) fn new() -> Self {
        Self::with_router(OpenApiRouter::new())
    }

    pub(crate) fn with_router(router: OpenApiRouter<AppState>) -> Self {
        Self {
            router,
            table: Table::default(),
        }
    }

    /// Registers a handler (`routes!(..)`) under a declaration, and writes the declaration into
    /// its OpenAPI operations.
    pub(crate) fn add(
        mut self,
        declared: impl Into<Declared>,
        (schemas, mut paths, method_router): UtoipaMethodRouter<AppState>,
    ) -> Self {
        let declared = declared.into();
        for (path, item) in &mut paths.paths {
            let ops = [
                (Method::GET, &mut item.get),
                (Method::POST, &mut item.post),
                (Method::PUT, &mut item.put),
                (Method::PATCH, &mut item.patch),
                (Method::DELETE, &mut item.delete),
            ];
            for (method, op) in ops {
                if let Some(op) = op {
                    document(op, declared);
                    self.table.0.insert((method, path.clone()), declared);
                }
            }
        }
        self.router = self.router.routes((schemas, paths, method_router));
        self
    }

    pub(crate) fn merge(mut self, other: Self) -> Self {
        self.router = self.router.merge(other.router);
        self.table.0.extend(other.table.0);
        self
    }

    /// The router with [`enforce`] on every route.
    pub(crate) fn into_router(self, state: &AppState) -> OpenApiRouter<AppState> {
        let table = Arc::new(self.table);
        self.router.route_layer(middleware::from_fn_with_state(
            (state.clone(), table),
            enforce,
        ))
    }
}

/// Writes a declaration into an operation: security, extension, 401/403 answers.
fn document(op: &mut Operation, declared: Declared) {
    op.security = declared.access.needs_session().then(|| {
        vec![
            SecurityRequirement::new("session", Vec::<String>::new())
                .add("signature", Vec::<String>::new()),
        ]
    });
    let mut ext = op.extensions.take().unwrap_or_default();
    ext.merge(
        ExtensionsBuilder::new()
            .add("x-miniguard-access", declared.access.name())
            .add("x-miniguard-while-enrolling", declared.while_enrolling)
            .build(),
    );
    op.extensions = Some(ext);
    for (status, text) in declared.denials() {
        let entry = op.responses.responses.entry(status.to_owned());
        match entry {
            std::collections::btree_map::Entry::Vacant(v) => {
                v.insert(RefOr::T(crate::openapi::problem_response(&text)));
            }
            std::collections::btree_map::Entry::Occupied(mut o) => {
                // The handler documented its own reasons for this status: keep them, add ours.
                if let RefOr::T(OpenApiResponse { description, .. }) = o.get_mut() {
                    *description = format!("{text}; {description}");
                }
            }
        }
    }
}

/// The one layer: checks the matched route's declaration.
async fn enforce(
    State((state, table)): State<(AppState, Arc<Table>)>,
    req: Request,
    next: Next,
) -> Result<Response, ApiError> {
    let method = if req.method() == Method::HEAD {
        Method::GET
    } else {
        req.method().clone()
    };
    let path = req
        .extensions()
        .get::<MatchedPath>()
        .map(|m| m.as_str().to_owned())
        .unwrap_or_default();
    let Some(declared) = table.0.get(&(method, path.clone())).copied() else {
        // Another method of a declared path: the router answers 405 without running a handler.
        if table.0.keys().any(|(_, p)| *p == path) {
            return Ok(next.run(req).await);
        }
        return Err(ApiError::Internal(
            "a route without a declared access".into(),
        ));
    };
    if !declared.access.needs_session() {
        // No signature to verify here: the shared general count, if put off, happens now.
        crate::http::settle_deferred(&state, &req).await?;
    }
    if declared.auth_rate {
        crate::http::limit(&state, state.auth_limit(), "auth", &req).await?;
    }
    match declared.access {
        Access::Public => return Ok(next.run(req).await),
        Access::MonitoringAddress => {
            let client = req.extensions().get::<ClientAddr>().and_then(|c| c.0);
            if !monitoring_address(client, &state.options().metrics_from) {
                return Err(ApiError::NotFound("not a monitoring address"));
            }
            return Ok(next.run(req).await);
        }
        _ => {}
    }
    let (mut req, auth, limited) = crate::signed::verify(&state, req).await?;
    if limited && !declared.while_enrolling {
        return Err(ApiError::EnrolmentRequired);
    }
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map(|m| m.as_str().to_owned())
        .unwrap_or_default();
    match declared.access {
        Access::Public | Access::MonitoringAddress | Access::Session => {}
        Access::SessionRecentFactor => recent(&state, &auth, &route).await?,
        Access::Staff => staff(&state, auth.user).await?,
        Access::StaffRecentFactor => {
            staff(&state, auth.user).await?;
            recent(&state, &auth, &route).await?;
        }
        Access::FactorChange => {
            if has_factor(&state, auth.user).await? {
                recent(&state, &auth, &route).await?;
            }
        }
    }
    req.extensions_mut().insert(auth);
    Ok(next.run(req).await)
}

/// Whether the client address may call a [`Access::MonitoringAddress`] route: loopback, or one
/// of `from` (IPv4-mapped IPv6 compared as IPv4). No known address (no socket) is refused.
fn monitoring_address(client: Option<IpAddr>, from: &[IpAddr]) -> bool {
    client.is_some_and(|ip| {
        let ip = ip.to_canonical();
        ip.is_loopback() || from.iter().any(|f| f.to_canonical() == ip)
    })
}

async fn recent(state: &AppState, auth: &Authenticated, route: &str) -> Result<(), ApiError> {
    crate::mfa::require_recent_mfa(state, auth, STEP_UP_WINDOW, route).await
}

async fn staff(state: &AppState, user: UserId) -> Result<(), ApiError> {
    if state.db().user_roles(user).await?.is_empty() {
        return Err(ApiError::StaffRequired);
    }
    Ok(())
}

/// Whether the user has a second factor: a confirmed TOTP, or a bound phone (SMS codes).
pub(crate) async fn has_factor(state: &AppState, user: UserId) -> Result<bool, ApiError> {
    let totp = state
        .db()
        .totp(user)
        .await?
        .is_some_and(|t| t.confirmed_at_ms.is_some());
    Ok(totp || state.db().has_phone(user).await?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_loopback_and_listed_addresses_are_monitoring_addresses() {
        let listed: IpAddr = "10.0.0.9".parse().unwrap();
        assert!(monitoring_address(Some("127.0.0.1".parse().unwrap()), &[]));
        assert!(monitoring_address(Some("::1".parse().unwrap()), &[]));
        assert!(monitoring_address(
            Some("::ffff:127.0.0.1".parse().unwrap()),
            &[]
        ));
        assert!(monitoring_address(Some(listed), &[listed]));
        assert!(monitoring_address(
            Some("::ffff:10.0.0.9".parse().unwrap()),
            &[listed]
        ));
        assert!(!monitoring_address(
            Some("10.0.0.8".parse().unwrap()),
            &[listed]
        ));
        assert!(!monitoring_address(None, &[listed]));
    }

    #[test]
    fn denials_follow_the_declaration() {
        assert!(Declared::from(Access::Public).denials().is_empty());
        let monitoring = Declared::from(Access::MonitoringAddress).denials();
        assert_eq!(monitoring.len(), 1);
        assert_eq!(monitoring[0].0, "404");
        let session = Declared::from(Access::Session).denials();
        assert_eq!(session.len(), 2);
        assert!(session[1].1.contains("mfa-enrolment-required"));
        let enrolling = Access::Session.while_enrolling().denials();
        assert_eq!(enrolling.len(), 1, "{enrolling:?}");
        let staff = Declared::from(Access::StaffRecentFactor).denials();
        assert!(staff[1].1.contains("staff-required") && staff[1].1.contains("mfa-required"));
        assert!(
            Access::FactorChange.while_enrolling().denials()[1]
                .1
                .starts_with("The user has a factor")
        );
    }
}
