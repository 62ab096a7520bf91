//! The data API: collections declared in `miniguard.toml` ([`schema`]) served at
//! `/v1/collections/{name}/records[/{id}]` behind signed sessions.
//!
//! A request goes: session layer → [`principal`] (the one place authorization inputs come
//! from) → schema check of the body ([`records`]) or of `filter`/`sort` ([`filter`]) → the
//! collection's rule for the action ([`rules`]), in memory for one record and in SQL for lists
//! and by-id lookups → the one query builder ([`query`]) → the store ([`store`]).
//!
//! Denials: a record the caller may not read answers **404**, exactly like a record that does
//! not exist, so ids cannot be probed; a readable record the caller may not change or delete,
//! and a create the rule refuses, answer **403**. A record the caller may not read and an id
//! that does not exist take the same path: one statement ([`store::find_checked`]) that does the
//! same work for both, and the denial is audited off the request's path. Every denial of a record
//! that exists is audited as `authz.denied`, at most a few rows per caller and minute (the rest
//! are counted, see [`crate::audit::AuditBudget`]). Lists are filtered by the read rule in SQL before `COUNT`,
//! `LIMIT` and `OFFSET`, so neither items nor totals reveal other users' records.

pub mod files;
pub mod filter;
pub mod query;
pub mod records;
pub mod rules;
pub mod sanitize;
pub mod schema;
pub mod store;

use axum::Json;
use axum::extract::rejection::JsonRejection;
use axum::extract::{Path, RawQuery, State};
use axum::http::StatusCode;
use serde_json::{Value as Json_, json};
use utoipa::ToSchema;
use utoipa_axum::routes;

pub use rules::Principal;
use schema::FieldType;
pub use schema::{Collection, Collections, SchemaError};

use crate::access::{Access, Routes};
use crate::db::now_ms;
use crate::error::ApiError;
use crate::http::AppState;
use crate::sessions::Authenticated;
use query::Cond;
use records::{FieldError, field_readable};
use store::WriteOutcome;

/// Default and largest page sizes.
pub const DEFAULT_PER_PAGE: i64 = 20;
pub const MAX_PER_PAGE: i64 = 100;
/// The furthest row a page may start at (deep OFFSETs cost a scan each).
pub const MAX_OFFSET: i64 = 100_000;

/// The routes with their declared access: a signed session; the collections' rules decide the
/// rest per record.
pub(crate) fn routes() -> Routes {
    Routes::new()
        .add(Access::Session, routes!(list_records, create_record))
        .add(
            Access::Session,
            routes!(get_record, update_record, delete_record),
        )
        .add(Access::Session, routes!(files::download, files::upload))
}

/// A page of records (the schema of `GET .../records`).
#[derive(ToSchema)]
#[allow(dead_code)] // a schema only: the handler builds the JSON
pub(crate) struct RecordPage {
    /// The records the caller may read, each with `id`, `created`, `updated` and the
    /// fields the caller may read.
    #[schema(value_type = Vec<Object>)]
    items: Vec<Json_>,
    /// The page number, from 1.
    page: i64,
    /// The page size, 1 to 100.
    per_page: i64,
    /// How many records match the filter and the `read` rule.
    total: i64,
}

/// One rejected field of an `invalid-record` problem.
#[derive(serde::Serialize, ToSchema)]
#[allow(dead_code)] // a schema only: the problem middleware renders it
pub(crate) struct FieldProblem {
    /// The field (or `query`, `filter`, `sort`, `page`, `per_page`).
    field: String,
    /// What is wrong with it.
    message: String,
}

/// A 400 answer of the data API: a malformed request (`about:blank`) or, with `errors`, the
/// fields that failed validation (`urn:miniguard:problem:invalid-record`).
#[derive(serde::Serialize, ToSchema)]
#[schema(title = "InvalidRecordProblem")]
#[allow(dead_code)] // a schema only: the problem middleware renders it
pub(crate) struct InvalidRecordProblem {
    #[serde(rename = "type")]
    kind: String,
    title: String,
    status: u16,
    request_id: String,
    #[schema(required = false)]
    detail: Option<String>,
    /// The rejected fields (invalid-record only).
    #[schema(required = false)]
    errors: Option<Vec<FieldProblem>>,
}

/// The one function that builds authorization inputs for a caller. Roles are read from the
/// database on every request (a grant or revocation counts at once), and only when some rule
/// names a role: otherwise nothing reads them, and an owner-rule request makes one query, its
/// own.
pub async fn principal(state: &AppState, auth: &Authenticated) -> Result<Principal, ApiError> {
    let roles = if state.collections().mention_roles() {
        state.db().user_roles(auth.user).await?
    } else {
        Vec::new()
    };
    Ok(Principal {
        user: auth.user,
        roles,
        // The login's latest verified second factor (`crate::mfa`), for rules that say `mfa`.
        mfa_at_ms: auth.mfa_at_ms,
    })
}

fn collection<'a>(state: &'a AppState, name: &str) -> Result<&'a Collection, ApiError> {
    state
        .collections()
        .get(name)
        .ok_or(ApiError::NotFound("no such collection"))
}

async fn deny(
    state: &AppState,
    p: &Principal,
    c: &Collection,
    action: &str,
    id: Option<&str>,
) -> Result<(), ApiError> {
    state
        .db()
        .append_audit(
            &format!("user:{}", p.user.0),
            "authz.denied",
            &json!({ "collection": c.name, "action": action, "record": id, "user_id": p.user.0 }),
        )
        .await?;
    tracing::warn!(collection = %c.name, action, "authorization denied");
    Ok(())
}

/// The query string as (key, value) pairs, refusing a repeated key (400) and any key not in
/// `known`. Each parameter of the data API takes one value: with a repeat, which one counts would
/// depend on the order of the pairs, and the request signature covers the query in canonical
/// (sorted) order, so `per_page=1&per_page=100` and its reordering sign alike.
pub(crate) fn single_valued(
    raw: Option<&str>,
    known: &[&str],
) -> Result<Vec<(String, String)>, ApiError> {
    let mut out: Vec<(String, String)> = Vec::new();
    for (k, v) in url::form_urlencoded::parse(raw.unwrap_or("").as_bytes()) {
        if !known.contains(&k.as_ref()) {
            return Err(one_error("query", "unknown query parameter"));
        }
        if out.iter().any(|(seen, _)| *seen == k) {
            return Err(one_error(
                &k,
                "given more than once; this parameter takes one value",
            ));
        }
        out.push((k.into_owned(), v.into_owned()));
    }
    Ok(out)
}

fn invalid(errors: Vec<FieldError>) -> ApiError {
    ApiError::Invalid(errors.into_iter().map(|e| (e.field, e.message)).collect())
}

fn one_error(field: &str, message: impl Into<String>) -> ApiError {
    ApiError::Invalid(vec![(field.to_owned(), message.into())])
}

fn body_object(
    body: Result<Json<Json_>, JsonRejection>,
) -> Result<serde_json::Map<String, Json_>, ApiError> {
    let Json(v) = body.map_err(|r| match r.status() {
        StatusCode::PAYLOAD_TOO_LARGE => ApiError::PayloadTooLarge,
        StatusCode::UNSUPPORTED_MEDIA_TYPE => ApiError::UnsupportedMediaType(r.body_text().into()),
        _ => ApiError::BadRequest(r.body_text().into()),
    })?;
    match v {
        Json_::Object(m) => Ok(m),
        _ => Err(ApiError::BadRequest("the body is not a JSON object".into())),
    }
}

/// Opens a stored row (decryption failures are ours).
fn open(
    state: &AppState,
    c: &Collection,
    row: &records::StoredRow,
) -> Result<rules::RecordView, ApiError> {
    records::open(c, state.keyring(), row).map_err(|e| ApiError::Internal(e.into()))
}

/// The readable record, or 404 (auditing the denial when the record exists).
async fn readable_record(
    state: &AppState,
    p: &Principal,
    c: &Collection,
    id: &str,
    action: &str,
    now: i64,
) -> Result<rules::RecordView, ApiError> {
    if !records::valid_id(id) {
        return Err(ApiError::NotFound("no such record"));
    }
    let cond = c.read.to_cond(c, p, now);
    match store::find_checked(state.db(), c, id, &cond).await? {
        store::Access::Allowed(row) => open(state, c, &row),
        store::Access::Denied => {
            // Audited off the request's path, so the answer takes as long as for a missing id.
            let (state, p, c_name, action, id) = (
                state.clone(),
                p.clone(),
                c.name.clone(),
                action.to_owned(),
                id.to_owned(),
            );
            tokio::spawn(async move {
                if let Some(c) = state.collections().get(&c_name)
                    && let Err(e) = deny(&state, &p, c, &action, Some(&id)).await
                {
                    tracing::warn!(error = %e, "auditing a denial failed");
                }
            });
            Err(ApiError::NotFound("no such record"))
        }
        store::Access::Missing => Err(ApiError::NotFound("no such record")),
    }
}

/// Relations must point at records the caller can read (else they would be an existence oracle).
async fn check_relations(
    state: &AppState,
    p: &Principal,
    relations: &[(String, String, String)],
    now: i64,
) -> Result<(), ApiError> {
    let mut errors = Vec::new();
    for (field, other, id) in relations {
        let Some(oc) = state.collections().get(other) else {
            errors.push((field.clone(), "no such record".to_owned()));
            continue;
        };
        let cond = oc.read.to_cond(oc, p, now);
        if store::find(state.db(), oc, id, &cond).await?.is_none() {
            errors.push((field.clone(), "no such record".to_owned()));
        }
    }
    if errors.is_empty() {
        Ok(())
    } else {
        Err(ApiError::Invalid(errors))
    }
}

/// Auth: signed session; the collection's `read` rule, applied in SQL.
#[utoipa::path(get, path = "/v1/collections/{name}/records", tag = "data",
    params(("name" = String, Path, description = "The collection, as declared in miniguard.toml"),
        ("filter" = Option<String>, Query, description = "A filter expression over the readable fields, e.g. `title ~ 'a' and done = false`"),
        ("sort" = Option<String>, Query, description = "Comma-separated fields, `-` for descending; default newest first"),
        ("page" = Option<i64>, Query, description = "The page, from 1 (default 1)", minimum = 1),
        ("per_page" = Option<i64>, Query, description = "The page size (default 20)", minimum = 1, maximum = 100)),
    responses(
        (status = 200, description = "The readable records matching the filter", body = RecordPage),
        (status = 400, description = "Invalid fields (invalid-record, with `errors`), or a malformed request", body = InvalidRecordProblem, content_type = "application/problem+json"),
        (status = 404, description = "No such collection (not-found)", body = crate::openapi::ProblemBody, content_type = "application/problem+json"),
    ))]
#[tracing::instrument(skip_all, fields(collection = %name))]
async fn list_records(
    State(state): State<AppState>,
    auth: Authenticated,
    Path(name): Path<String>,
    RawQuery(raw): RawQuery,
) -> Result<Json<Json_>, ApiError> {
    let c = collection(&state, &name)?;
    let p = principal(&state, &auth).await?;
    let now = now_ms();
    let (mut filter, mut sort, mut page, mut per_page) = (None, None, 1_i64, DEFAULT_PER_PAGE);
    for (k, v) in single_valued(raw.as_deref(), &["filter", "sort", "page", "per_page"])? {
        match k.as_str() {
            "filter" => filter = Some(v),
            "sort" => sort = Some(v),
            "page" => {
                page = v
                    .parse()
                    .ok()
                    .filter(|n| *n >= 1)
                    .ok_or_else(|| one_error("page", "must be a whole number from 1"))?;
            }
            "per_page" => {
                per_page = v
                    .parse()
                    .ok()
                    .filter(|n| (1..=MAX_PER_PAGE).contains(n))
                    .ok_or_else(|| {
                        one_error("per_page", format!("must be from 1 to {MAX_PER_PAGE}"))
                    })?;
            }
            _ => return Err(one_error("query", "unknown query parameter")),
        }
    }
    let offset = (page - 1)
        .checked_mul(per_page)
        .filter(|o| *o <= MAX_OFFSET)
        .ok_or_else(|| one_error("page", "too far"))?;
    let readable = |n: &str| {
        c.field(n)
            .is_none_or(|f| field_readable(c, f, &p, None, now))
    };
    let mut cond = vec![c.read.to_cond(c, &p, now)];
    if let Some(text) = &filter {
        let f = filter::parse_filter_within(c, text, &readable, state.options().filter_budget)
            .map_err(|e| one_error("filter", e.to_string()))?;
        cond.push(Cond::from_filter(&f));
    }
    let sort = match &sort {
        Some(text) => {
            filter::parse_sort(c, text, &readable).map_err(|e| one_error("sort", e.to_string()))?
        }
        None => vec![filter::SortKey {
            target: filter::Target::Created,
            descending: true,
        }],
    };
    let cond = Cond::And(cond).simplify();
    let (rows, total) = store::page(state.db(), c, &cond, &sort, per_page, offset).await?;
    let mut items = Vec::with_capacity(rows.len());
    for row in &rows {
        items.push(records::to_json(c, &p, &open(&state, c, row)?, now));
    }
    Ok(Json(json!({
        "items": items,
        "page": page,
        "per_page": per_page,
        "total": total,
    })))
}

/// Auth: signed session; the `read` rule (404 when it fails).
#[utoipa::path(get, path = "/v1/collections/{name}/records/{id}", tag = "data",
    params(("name" = String, Path, description = "The collection, as declared in miniguard.toml"), ("id" = String, Path, description = "The record id")),
    responses(
        (status = 200, description = "The record, with the fields the caller may read", body = Object),
        (status = 404, description = "No such collection, or no such record the caller may read (not-found)", body = crate::openapi::ProblemBody, content_type = "application/problem+json"),
    ))]
#[tracing::instrument(skip_all, fields(collection = %name))]
async fn get_record(
    State(state): State<AppState>,
    auth: Authenticated,
    Path((name, id)): Path<(String, String)>,
) -> Result<Json<Json_>, ApiError> {
    let c = collection(&state, &name)?;
    let p = principal(&state, &auth).await?;
    let now = now_ms();
    let rec = readable_record(&state, &p, c, &id, "read", now).await?;
    Ok(Json(records::to_json(c, &p, &rec, now)))
}

/// Auth: signed session; the `create` rule (default: `write`) on the record to be created.
#[utoipa::path(post, path = "/v1/collections/{name}/records", tag = "data",
    params(("name" = String, Path, description = "The collection, as declared in miniguard.toml")),
    request_body(content = Object, description = "The record's fields, checked against the collection's schema"),
    responses(
        (status = 201, description = "The created record", body = Object),
        (status = 400, description = "Invalid fields (invalid-record, with `errors`), or a malformed request", body = InvalidRecordProblem, content_type = "application/problem+json"),
        (status = 403, description = "The collection's rule refuses the create (forbidden)", body = crate::openapi::ProblemBody, content_type = "application/problem+json"),
        (status = 404, description = "No such collection (not-found)", body = crate::openapi::ProblemBody, content_type = "application/problem+json"),
    ))]
#[tracing::instrument(skip_all, fields(collection = %name))]
async fn create_record(
    State(state): State<AppState>,
    auth: Authenticated,
    Path(name): Path<String>,
    body: Result<Json<Json_>, JsonRejection>,
) -> Result<(StatusCode, Json<Json_>), ApiError> {
    let c = collection(&state, &name)?;
    let p = principal(&state, &auth).await?;
    let now = now_ms();
    let body = body_object(body)?;
    let write = records::validate_write_with(c, &p, &body, None, now, state.rich_text())
        .map_err(invalid)?;
    let id = records::new_id();
    let view = rules::RecordView {
        id: id.clone(),
        owner: Some(p.user.0),
        created: now,
        updated: now,
        fields: write.values.iter().cloned().collect(),
    };
    if !c.create.allows_change(c, &p, None, &view, now) {
        deny(&state, &p, c, "create", None).await?;
        return Err(ApiError::Forbidden("create denied"));
    }
    check_relations(&state, &p, &write.relations, now).await?;
    let sealed = records::seal(c, state.keyring(), &id, write.values)
        .map_err(|e| ApiError::Internal(e.into()))?;
    match store::insert(state.db(), c, &id, p.user.0, now, sealed).await? {
        WriteOutcome::Done(_) => {}
        WriteOutcome::Duplicate(field) => return Err(one_error(&field, "already taken")),
    }
    Ok((
        StatusCode::CREATED,
        Json(records::to_json(c, &p, &view, now)),
    ))
}

/// Auth: signed session; `read` (404) then `write` on the record before and after (403).
#[utoipa::path(patch, path = "/v1/collections/{name}/records/{id}", tag = "data",
    params(("name" = String, Path, description = "The collection, as declared in miniguard.toml"), ("id" = String, Path, description = "The record id")),
    request_body(content = Object, description = "The fields to change, checked against the collection's schema"),
    responses(
        (status = 200, description = "The updated record", body = Object),
        (status = 400, description = "Invalid fields (invalid-record, with `errors`), or a malformed request", body = InvalidRecordProblem, content_type = "application/problem+json"),
        (status = 403, description = "The collection's rule refuses the update (forbidden)", body = crate::openapi::ProblemBody, content_type = "application/problem+json"),
        (status = 404, description = "No such collection, or no such record the caller may read (not-found)", body = crate::openapi::ProblemBody, content_type = "application/problem+json"),
    ))]
#[tracing::instrument(skip_all, fields(collection = %name))]
async fn update_record(
    State(state): State<AppState>,
    auth: Authenticated,
    Path((name, id)): Path<(String, String)>,
    body: Result<Json<Json_>, JsonRejection>,
) -> Result<Json<Json_>, ApiError> {
    let c = collection(&state, &name)?;
    let p = principal(&state, &auth).await?;
    let now = now_ms();
    let body = body_object(body)?;
    let before = readable_record(&state, &p, c, &id, "update", now).await?;
    if !c.write.allows(c, &p, &before, now) {
        deny(&state, &p, c, "update", Some(&id)).await?;
        return Err(ApiError::Forbidden("update denied"));
    }
    let write = records::validate_write_with(c, &p, &body, Some(&before), now, state.rich_text())
        .map_err(invalid)?;
    let mut after = before.clone();
    for (k, v) in &write.values {
        after.fields.insert(k.clone(), v.clone());
    }
    after.updated = now;
    // The rule holds for the result too: an update cannot move a record out of the caller's reach
    // (`stored.FIELD` still reads the record before the change).
    if !c.write.allows_change(c, &p, Some(&before), &after, now) {
        deny(&state, &p, c, "update", Some(&id)).await?;
        return Err(ApiError::Forbidden("update denied"));
    }
    check_relations(&state, &p, &write.relations, now).await?;
    // File fields set to null: their blobs go once the row no longer refers to them.
    let cleared: Vec<query::SqlValue> = write
        .values
        .iter()
        .filter(|(k, _)| {
            c.field(k)
                .is_some_and(|f| matches!(f.ty, FieldType::File { .. }))
        })
        .filter_map(|(k, _)| before.fields.get(k).cloned())
        .collect();
    let sealed = records::seal(c, state.keyring(), &id, write.values)
        .map_err(|e| ApiError::Internal(e.into()))?;
    // The rules again in SQL, so a concurrent change between read and write cannot slip through.
    let cond = Cond::And(vec![
        c.read.to_cond(c, &p, now),
        c.write.to_cond(c, &p, now),
    ])
    .simplify();
    match store::update(state.db(), c, &id, now, sealed, &cond).await? {
        WriteOutcome::Done(1) => {}
        WriteOutcome::Done(_) => return Err(ApiError::NotFound("no such record")),
        WriteOutcome::Duplicate(field) => return Err(one_error(&field, "already taken")),
    }
    files::remove_blobs_of(state.db(), &cleared);
    Ok(Json(records::to_json(c, &p, &after, now)))
}

/// Auth: signed session; `read` (404) then `delete` (403).
#[utoipa::path(delete, path = "/v1/collections/{name}/records/{id}", tag = "data",
    params(("name" = String, Path, description = "The collection, as declared in miniguard.toml"), ("id" = String, Path, description = "The record id")),
    responses(
        (status = 204, description = "The record is deleted"),
        (status = 403, description = "The collection's rule refuses the delete (forbidden)", body = crate::openapi::ProblemBody, content_type = "application/problem+json"),
        (status = 404, description = "No such collection, or no such record the caller may read (not-found)", body = crate::openapi::ProblemBody, content_type = "application/problem+json"),
    ))]
#[tracing::instrument(skip_all, fields(collection = %name))]
async fn delete_record(
    State(state): State<AppState>,
    auth: Authenticated,
    Path((name, id)): Path<(String, String)>,
) -> Result<StatusCode, ApiError> {
    let c = collection(&state, &name)?;
    let p = principal(&state, &auth).await?;
    let now = now_ms();
    let rec = readable_record(&state, &p, c, &id, "delete", now).await?;
    if !c.delete.allows(c, &p, &rec, now) {
        deny(&state, &p, c, "delete", Some(&id)).await?;
        return Err(ApiError::Forbidden("delete denied"));
    }
    let cond = Cond::And(vec![
        c.read.to_cond(c, &p, now),
        c.delete.to_cond(c, &p, now),
    ])
    .simplify();
    if store::delete(state.db(), c, &id, &cond).await? == 0 {
        return Err(ApiError::NotFound("no such record"));
    }
    // The record's files go with it (a crash before this leaves them to the orphan sweep).
    files::remove_blobs_of(
        state.db(),
        c.fields
            .iter()
            .filter(|f| matches!(f.ty, FieldType::File { .. }))
            .filter_map(|f| rec.fields.get(&f.name)),
    );
    Ok(StatusCode::NO_CONTENT)
}
