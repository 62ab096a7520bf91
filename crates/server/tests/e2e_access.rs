//! Authorization declared once (issue 9): every operation of `/openapi.json`, for every kind of
//! caller, in process through `app(state).oneshot(..)` (no socket). The expected access of each
//! operation is pinned here, so a route registered with the wrong declaration, or without one,
//! fails; the document's `security`, `x-miniguard-access` and 401/403 answers must agree with it,
//! and the status each caller gets must be the one the declaration implies.

mod common;

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Duration;

use axum::body::Body;
use axum::http::Request;
use common::*;
use miniguard_crypto::signing::generate_nonce;
use miniguard_crypto::{RequestParts, SigningKey};
use miniguard_server::db::{Db, UserId};
use miniguard_server::mfa::{MfaClock, MfaPolicy};
use miniguard_server::platform::wechat::WeChatClient;
use miniguard_server::ratelimit::Rate;
use miniguard_server::{AppOptions, AppState, accounts, app, sessions};
use secrecy::{ExposeSecret as _, SecretString};
use serde_json::Value;
use tower::ServiceExt as _;

/// Every operation with the access it must have: (method, path, access, allowed while a staff
/// login is limited to TOTP enrolment).
const PINNED: &[(&str, &str, &str, bool)] = &[
    ("GET", "/healthz", "public", false),
    ("GET", "/readyz", "public", false),
    ("GET", "/openapi.json", "public", false),
    // From loopback or a `metrics_from` address only; in process there is no address at all.
    ("GET", "/metrics", "monitoring-address", false),
    ("POST", "/v1/auth/{platform}/login", "public", false),
    ("POST", "/v1/auth/refresh", "public", false),
    ("POST", "/v1/admin/login", "public", false),
    ("POST", "/v1/auth/logout", "session", true),
    ("POST", "/v1/auth/logout-all", "session", false),
    ("GET", "/v1/me", "session", false),
    ("GET", "/v1/me/storage-key", "session", false),
    ("POST", "/v1/auth/wechat/phone", "factor-change", false),
    ("POST", "/v1/auth/wechat/verify-userinfo", "session", false),
    ("POST", "/v1/mfa/totp/enroll", "factor-change", true),
    ("POST", "/v1/mfa/totp/confirm", "factor-change", true),
    ("POST", "/v1/mfa/totp/verify", "session", false),
    ("POST", "/v1/mfa/totp/disable", "factor-change", false),
    ("POST", "/v1/mfa/recovery", "session", false),
    (
        "POST",
        "/v1/mfa/recovery/regenerate",
        "factor-change",
        false,
    ),
    ("POST", "/v1/mfa/sms/send", "session", false),
    ("POST", "/v1/mfa/sms/verify", "session", false),
    ("POST", "/v1/mfa/soter/challenge", "session", false),
    ("POST", "/v1/mfa/soter/verify", "session", false),
    ("GET", "/v1/admin/me", "staff", false),
    ("POST", "/v1/admin/password", "staff+recent-factor", false),
    ("GET", "/v1/collections/{name}/records", "session", false),
    ("POST", "/v1/collections/{name}/records", "session", false),
    (
        "GET",
        "/v1/collections/{name}/records/{id}",
        "session",
        false,
    ),
    (
        "PATCH",
        "/v1/collections/{name}/records/{id}",
        "session",
        false,
    ),
    (
        "DELETE",
        "/v1/collections/{name}/records/{id}",
        "session",
        false,
    ),
    (
        "GET",
        "/v1/collections/{name}/records/{id}/files/{field}",
        "session",
        false,
    ),
    (
        "POST",
        "/v1/collections/{name}/records/{id}/files/{field}",
        "session",
        false,
    ),
];

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Caller {
    Anonymous,
    /// A staff account without TOTP: its password login is limited to enrolment.
    PasswordOnlyStaff,
    /// A platform user with a TOTP factor, this login verified none.
    User,
    /// The same kind of user, this login verified a factor a minute ago.
    UserSteppedUp,
    /// A staff account with TOTP whose login verified it ten minutes ago.
    Staff,
    /// A staff account whose login verified TOTP a minute ago.
    StaffSteppedUp,
}

const CALLERS: [Caller; 6] = [
    Caller::Anonymous,
    Caller::PasswordOnlyStaff,
    Caller::User,
    Caller::UserSteppedUp,
    Caller::Staff,
    Caller::StaffSteppedUp,
];

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Expect {
    /// Past the access layer (the handler answers as it will).
    Allowed,
    /// 401 unauthorized.
    Unauthorized,
    /// 403 mfa-enrolment-required.
    Enrol,
    /// 403 staff-required.
    Staff,
    /// 403 mfa-required.
    Mfa,
    /// 404: the route does not show itself to this caller.
    Hidden,
}

/// What a declaration means for a caller (written from the rules in docs/protocol.md, not from
/// the server's code).
fn expected(access: &str, while_enrolling: bool, caller: Caller) -> Expect {
    use Caller::*;
    if access == "public" {
        return Expect::Allowed;
    }
    // The walk has no socket, so no caller comes from a monitoring address, signed in or not.
    if access == "monitoring-address" {
        return Expect::Hidden;
    }
    let staff_route = access.starts_with("staff");
    let needs_recent = access.ends_with("recent-factor") || access == "factor-change";
    match caller {
        Anonymous => Expect::Unauthorized,
        // No factor at all: a factor change does not need a prior one.
        PasswordOnlyStaff if !while_enrolling => Expect::Enrol,
        PasswordOnlyStaff => Expect::Allowed,
        User | UserSteppedUp if staff_route => Expect::Staff,
        User | Staff if needs_recent => Expect::Mfa,
        User | UserSteppedUp | Staff | StaffSteppedUp => Expect::Allowed,
    }
}

struct World {
    state: AppState,
    clock: MfaClock,
    limited_staff: UserId,
    user: UserId,
    user_up: UserId,
    staff: UserId,
    staff_up: UserId,
    _dir: tempfile::TempDir,
    /// Dropped with the world: its database goes last.
    _store: std::sync::Arc<TestDb>,
}

async fn with_totp(db: &Db, user: UserId) {
    // The secret is never opened here: the walk sends no codes.
    assert!(
        db.put_pending_totp(user, b"not-a-real-envelope")
            .await
            .unwrap()
    );
    assert!(db.confirm_totp(user, 1).await.unwrap());
}

async fn world() -> World {
    let dir = tempfile::tempdir().unwrap();
    let store = TestDb::new(dir.path()).await;
    let db = Db::open_at(&store).await.unwrap();
    let clock = MfaClock::adjustable();
    let options = AppOptions {
        general_rate: Rate::new(60_000, 10_000),
        auth_rate: Rate::new(60_000, 10_000),
        mfa: MfaPolicy {
            clock: clock.clone(),
            ..MfaPolicy::default()
        },
        ..test_options()
    };
    // Never called: every request of the walk is refused or fails before the platform.
    let platform = WeChatClient::new(
        "http://127.0.0.1:9",
        APPID,
        SecretString::from(SECRET),
        Duration::from_secs(1),
    )
    .unwrap();
    let state = AppState::new(db.clone(), Arc::new(platform), test_keyring(), options);
    let password = SecretString::from("violet-harbor-lantern-42");
    let limited_staff = accounts::create_account(&db, "limited.staff", &password, "operator")
        .await
        .unwrap();
    let staff = accounts::create_account(&db, "staff.one", &password, "admin")
        .await
        .unwrap();
    let staff_up = accounts::create_account(&db, "staff.two", &password, "admin")
        .await
        .unwrap();
    let (user, _) = db.upsert_user("wechat", "o-user-1", None).await.unwrap();
    let (user_up, _) = db.upsert_user("wechat", "o-user-2", None).await.unwrap();
    for u in [staff, staff_up, user, user_up] {
        with_totp(&db, u).await;
    }
    World {
        state,
        clock,
        limited_staff,
        user,
        user_up,
        staff,
        staff_up,
        _dir: dir,
        _store: store,
    }
}

impl World {
    /// A fresh login of the caller (so a logout in the walk ends only that one).
    async fn session(&self, caller: Caller) -> Option<Value> {
        let now = self.clock.now_ms();
        let minute = 60_000;
        let (user, mfa_at, limited) = match caller {
            Caller::Anonymous => return None,
            Caller::PasswordOnlyStaff => (self.limited_staff, None, true),
            Caller::User => (self.user, None, false),
            Caller::UserSteppedUp => (self.user_up, Some(now - minute), false),
            Caller::Staff => (self.staff, Some(now - 10 * minute), false),
            Caller::StaffSteppedUp => (self.staff_up, Some(now - minute), false),
        };
        let issued = sessions::start(&self.state, user).await.unwrap();
        let family = issued.family.as_str();
        let db = self.state.db();
        if limited {
            db.limit_family(family, user).await.unwrap();
        }
        if let Some(at) = mfa_at {
            db.record_family_mfa(family, user, at, "totp", false)
                .await
                .unwrap();
        }
        Some(serde_json::json!({
            "access_token": issued.access.expose_secret(),
            "signing_key": issued.signing_key.expose_secret(),
        }))
    }

    async fn send(&self, method: &str, path: &str, session: Option<&Value>) -> (u16, Value) {
        self.send_from(None, method, path, session).await
    }

    /// [`Self::send`] as if over a socket from `peer`.
    async fn send_from(
        &self,
        peer: Option<&str>,
        method: &str,
        path: &str,
        session: Option<&Value>,
    ) -> (u16, Value) {
        let mut req = Request::builder().method(method).uri(path);
        if let Some(peer) = peer {
            let addr: std::net::SocketAddr = peer.parse().unwrap();
            req = req.extension(axum::extract::ConnectInfo(addr));
        }
        if let Some(s) = session {
            let key = SigningKey::from_base64url(s["signing_key"].as_str().unwrap()).unwrap();
            let nonce = generate_nonce().unwrap();
            let timestamp = unix_now();
            let parts = RequestParts {
                method,
                path,
                query: "",
                timestamp,
                nonce: &nonce,
                body: b"",
            };
            let signature = miniguard_crypto::sign(&key, &parts).unwrap();
            req = req
                .header(
                    "authorization",
                    format!("Bearer {}", s["access_token"].as_str().unwrap()),
                )
                .header("x-mg-timestamp", timestamp.to_string())
                .header("x-mg-nonce", nonce)
                .header("x-mg-signature", signature);
        }
        let res = app(self.state.clone())
            .oneshot(req.body(Body::empty()).unwrap())
            .await
            .unwrap();
        let status = res.status().as_u16();
        let bytes = axum::body::to_bytes(res.into_body(), 1 << 20)
            .await
            .unwrap();
        (
            status,
            serde_json::from_slice(&bytes).unwrap_or(Value::Null),
        )
    }
}

fn operations(doc: &Value) -> Vec<(String, String, Value)> {
    let mut out = Vec::new();
    for (path, item) in doc["paths"].as_object().unwrap() {
        for (method, op) in item.as_object().unwrap() {
            out.push((method.to_uppercase(), path.clone(), op.clone()));
        }
    }
    out
}

fn concrete(path: &str) -> String {
    path.replace("{platform}", "wechat")
        .split('/')
        .map(|seg| if seg.starts_with('{') { "x" } else { seg })
        .collect::<Vec<_>>()
        .join("/")
}

#[tokio::test]
async fn every_operation_answers_every_kind_of_caller_as_declared() {
    let w = world().await;
    let (status, doc) = w.send("GET", "/openapi.json", None).await;
    assert_eq!(status, 200);
    let ops = operations(&doc);

    // The document and the pinned table list the same operations.
    let in_doc: BTreeSet<(String, String)> =
        ops.iter().map(|(m, p, _)| (m.clone(), p.clone())).collect();
    let pinned: BTreeSet<(String, String)> = PINNED
        .iter()
        .map(|(m, p, _, _)| ((*m).to_owned(), (*p).to_owned()))
        .collect();
    assert_eq!(in_doc, pinned, "every operation is pinned, and only those");

    let mut walked = 0;
    for (method, path, op) in &ops {
        let &(_, _, access, while_enrolling) = PINNED
            .iter()
            .find(|(m, p, _, _)| m == method && p == path)
            .unwrap();
        // The document is written from the declaration.
        assert_eq!(op["x-miniguard-access"], access, "{method} {path}");
        assert_eq!(
            op["x-miniguard-while-enrolling"], while_enrolling,
            "{method} {path}"
        );
        let security = op.get("security").and_then(Value::as_array);
        let responses = &op["responses"];
        if access == "public" || access == "monitoring-address" {
            assert!(security.is_none_or(Vec::is_empty), "{method} {path}");
        } else {
            let names: Vec<&String> = security.unwrap()[0].as_object().unwrap().keys().collect();
            assert_eq!(names, ["session", "signature"], "{method} {path}");
            assert!(responses["401"].is_object(), "{method} {path}: 401");
        }
        if access == "monitoring-address" {
            assert!(responses["404"].is_object(), "{method} {path}: 404");
        }
        let can_403 = !["public", "monitoring-address"].contains(&access)
            && (!while_enrolling || access != "session");
        if can_403 {
            assert!(responses["403"].is_object(), "{method} {path}: 403");
        }

        for caller in CALLERS {
            let session = w.session(caller).await;
            let (status, body) = w.send(method, &concrete(path), session.as_ref()).await;
            let kind = body["type"].as_str().unwrap_or_default();
            let what = format!("{method} {path} as {caller:?}: {status} {body}");
            match expected(access, while_enrolling, caller) {
                Expect::Allowed => {
                    assert_ne!(status, 500, "{what}");
                    assert!(
                        !(status == 401 && kind.ends_with(":unauthorized")),
                        "{what}"
                    );
                    assert!(
                        !(status == 403
                            && ["mfa-required", "staff-required", "mfa-enrolment-required"]
                                .iter()
                                .any(|t| kind.ends_with(t))),
                        "{what}"
                    );
                }
                Expect::Unauthorized => {
                    assert_eq!(status, 401, "{what}");
                    assert_eq!(kind, "urn:miniguard:problem:unauthorized", "{what}");
                }
                Expect::Enrol => {
                    assert_eq!(status, 403, "{what}");
                    assert_eq!(
                        kind, "urn:miniguard:problem:mfa-enrolment-required",
                        "{what}"
                    );
                }
                Expect::Staff => {
                    assert_eq!(status, 403, "{what}");
                    assert_eq!(kind, "urn:miniguard:problem:staff-required", "{what}");
                }
                Expect::Mfa => {
                    assert_eq!(status, 403, "{what}");
                    assert_eq!(kind, "urn:miniguard:problem:mfa-required", "{what}");
                }
                Expect::Hidden => {
                    assert_eq!(status, 404, "{what}");
                    assert_eq!(kind, "about:blank", "{what}");
                }
            }
            walked += 1;
        }
    }
    assert_eq!(walked, PINNED.len() * CALLERS.len());
    w.state.db().close().await;
}

/// The monitoring route answers a loopback or listed address through the same layer, with no
/// session, and stays hidden from any other address, signed in or not.
#[tokio::test]
async fn metrics_answer_monitoring_addresses_only() {
    let w = world().await;
    let (status, _) = w
        .send_from(Some("127.0.0.1:4000"), "GET", "/metrics", None)
        .await;
    assert_eq!(status, 200);
    let staff = w.session(Caller::StaffSteppedUp).await;
    let (status, _) = w
        .send_from(Some("192.0.2.7:4000"), "GET", "/metrics", staff.as_ref())
        .await;
    assert_eq!(status, 404);
    w.state.db().close().await;
}

#[tokio::test]
async fn a_head_request_is_checked_like_its_get() {
    let w = world().await;
    let (status, _) = w.send("HEAD", "/v1/me", None).await;
    assert_eq!(status, 401);
    let s = w.session(Caller::User).await;
    let (status, _) = w.send("HEAD", "/v1/admin/me", s.as_ref()).await;
    assert_eq!(status, 403);
    w.state.db().close().await;
}
