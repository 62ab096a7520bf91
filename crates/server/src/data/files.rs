//! Uploads: `file` fields, `POST` and `GET /v1/collections/{name}/records/{id}/files/{field}`.
//!
//! - **Declared** as `file(max=2MB, types=image/png|image/jpeg|application/pdf)` (both parts
//!   optional: 5MB and every type below by default).
//! - **Upload**: the raw bytes as the (signed) body, the media type in `Content-Type`, the
//!   original file name in the signed query `?name=...`. The record must be readable (else 404)
//!   and writable under the collection's `write` rule and the field's own `write` rule (else
//!   403). The declared type must be allowed (415), the content's magic bytes must match it
//!   (400: a PNG named `.pdf`, an HTML page sent as `image/png`), and the size must be within the
//!   field's `max` (413). The server's `body_limit_bytes` is enforced while the body streams in,
//!   before anything is buffered past it, so a file field can never accept more than that limit:
//!   raise it in `[server]` for larger files.
//! - **Storage**: `<data dir>/uploads/<32 random hex digits>` (the data dir is the database's
//!   directory), outside any web root; no part of a client-supplied name ever reaches a path.
//!   Written to a temporary file, synced and renamed, then the record's column is set to
//!   `{ "name", "size", "type", "sha256", "blob", "by" }` (`blob`, the stored name, and `by`,
//!   the uploader, are never shown); a replaced file's blob is removed after the update commits.
//! - **Quota**: the files a user uploaded, in any record of any installed collection (whoever
//!   owns it), hold at most `upload_quota_bytes` (413 `quota-exceeded`); the check and the
//!   write run under the uploader's lock, so parallel uploads cannot pass it together.
//! - **Download**: the `read` rule and the field's `read` rule (404 otherwise); the SHA-256 is
//!   checked before serving (500 when the stored bytes changed), served as
//!   `Content-Disposition: attachment; filename="<ASCII>"; filename*=UTF-8''<percent-encoded>`,
//!   the sniffed `Content-Type`, `X-Content-Type-Options: nosniff` and `Cache-Control: no-store`.

use std::io::Write as _;
use std::path::PathBuf;

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Value as Json_, json};
use sha2::{Digest as _, Sha256};

use super::query::{Cond, SqlValue};
use super::schema::{Collection, Field, FieldType};
use super::store::WriteOutcome;
use super::{collection, deny, principal, readable_record, records, store};
use crate::db::now_ms;
use crate::error::ApiError;
use crate::http::AppState;
use crate::sessions::Authenticated;

/// The kinds of content the server recognises by their first bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FileKind {
    Png,
    Jpeg,
    Gif,
    Webp,
    Pdf,
}

impl FileKind {
    pub const ALL: [Self; 5] = [Self::Png, Self::Jpeg, Self::Gif, Self::Webp, Self::Pdf];

    pub fn mime(self) -> &'static str {
        match self {
            Self::Png => "image/png",
            Self::Jpeg => "image/jpeg",
            Self::Gif => "image/gif",
            Self::Webp => "image/webp",
            Self::Pdf => "application/pdf",
        }
    }

    pub fn from_mime(m: &str) -> Option<Self> {
        Self::ALL
            .into_iter()
            .find(|k| k.mime().eq_ignore_ascii_case(m.trim()))
    }

    /// What the content is, by its magic bytes.
    pub fn sniff(bytes: &[u8]) -> Option<Self> {
        if bytes.starts_with(b"\x89PNG\r\n\x1a\n") {
            Some(Self::Png)
        } else if bytes.starts_with(&[0xFF, 0xD8, 0xFF]) {
            Some(Self::Jpeg)
        } else if bytes.starts_with(b"GIF87a") || bytes.starts_with(b"GIF89a") {
            Some(Self::Gif)
        } else if bytes.len() >= 12 && bytes.starts_with(b"RIFF") && &bytes[8..12] == b"WEBP" {
            Some(Self::Webp)
        } else if bytes.starts_with(b"%PDF-") {
            Some(Self::Pdf)
        } else {
            None
        }
    }
}

/// Markers of markup or script that have no business inside an image: a file carrying them
/// is a polyglot, an image that a browser or a careless viewer may also run as HTML.
/// Long enough (or followed by a delimiter) that compressed pixel data does not hit them by
/// chance.
const MARKUP_MARKERS: &[&[u8]] = &[
    b"<script",
    b"<html",
    b"<!doctype",
    b"<iframe",
    b"<?php",
    b"<object",
    b"<embed",
    b"javascript:",
    b"<svg ",
    b"<svg>",
    b"<svg\n",
    b"<svg/",
    b"<body ",
    b"<body>",
];

/// Names that make a PDF act rather than show: scripts, actions run on open or on events,
/// launching programs, other documents or embedded files, forms that send data.
const PDF_ACTIVE_NAMES: &[&[u8]] = &[
    b"JavaScript",
    b"JS",
    b"AA",
    b"OpenAction",
    b"Launch",
    b"EmbeddedFile",
    b"EmbeddedFiles",
    b"RichMedia",
    b"XFA",
    b"SubmitForm",
    b"ImportData",
    b"GoToR",
    b"GoToE",
];

/// Most bytes inflated from the streams of one PDF while looking for active names; a PDF that
/// needs more is refused (it cannot be checked at a bounded cost).
const PDF_INFLATE_BUDGET: u64 = 16 * 1024 * 1024;

fn contains_ci(haystack: &[u8], needle: &[u8]) -> bool {
    haystack
        .windows(needle.len())
        .any(|w| w.eq_ignore_ascii_case(needle))
}

/// A PNG is its signature and chunks up to `IEND`, with nothing after it (where polyglots put
/// their second document).
fn png_well_formed(bytes: &[u8]) -> bool {
    let mut at = 8;
    loop {
        let Some(header) = bytes.get(at..at + 8) else {
            return false;
        };
        let len = u32::from_be_bytes([header[0], header[1], header[2], header[3]]) as usize;
        let kind = &header[4..8];
        let Some(end) = at.checked_add(12).and_then(|n| n.checked_add(len)) else {
            return false;
        };
        if end > bytes.len() {
            return false;
        }
        if kind == b"IEND" {
            return end == bytes.len();
        }
        at = end;
    }
}

fn pdf_delimiter(b: u8) -> bool {
    b.is_ascii_whitespace() || b"()<>[]{}/%".contains(&b)
}

/// Whether PDF syntax in `bytes` names an active feature, `#xx` escapes decoded (`/J#53` is
/// `/JS`).
fn pdf_names_active(bytes: &[u8]) -> bool {
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] != b'/' {
            i += 1;
            continue;
        }
        i += 1;
        let mut name = Vec::new();
        while i < bytes.len() && !pdf_delimiter(bytes[i]) && name.len() <= 64 {
            let b = bytes[i];
            if b == b'#'
                && let Some(h) = bytes
                    .get(i + 1..i + 3)
                    .and_then(|h| std::str::from_utf8(h).ok())
                    .and_then(|h| u8::from_str_radix(h, 16).ok())
            {
                name.push(h);
                i += 3;
                continue;
            }
            name.push(b);
            i += 1;
        }
        if PDF_ACTIVE_NAMES.contains(&name.as_slice()) {
            return true;
        }
    }
    false
}

/// Why a PDF is refused, if it is: active names in its text or inside its compressed streams
/// (object streams hide dictionaries there).
fn pdf_refusal(bytes: &[u8]) -> Option<&'static str> {
    use std::io::Read as _;
    if pdf_names_active(bytes) {
        return Some("PDFs with scripts, actions or embedded files are not accepted");
    }
    let mut budget = PDF_INFLATE_BUDGET;
    let mut rest = bytes;
    while let Some(start) = find(rest, b"stream") {
        let mut body = &rest[start + 6..];
        body = body.strip_prefix(b"\r").unwrap_or(body);
        body = body.strip_prefix(b"\n").unwrap_or(body);
        let end = find(body, b"endstream").unwrap_or(body.len());
        let data = &body[..end];
        let mut out = Vec::new();
        let read = flate2::read::ZlibDecoder::new(data)
            .take(budget + 1)
            .read_to_end(&mut out);
        // Not deflate data (an image, say): nothing to look into.
        if read.is_ok() || !out.is_empty() {
            let n = u64::try_from(out.len()).unwrap_or(u64::MAX);
            if n > budget {
                return Some("the PDF's streams are too large to check");
            }
            budget -= n;
            if pdf_names_active(&out) {
                return Some("PDFs with scripts, actions or embedded files are not accepted");
            }
        }
        rest = &body[end.min(body.len())..];
        if rest.starts_with(b"endstream") {
            rest = &rest[9..];
        }
    }
    None
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

impl FileKind {
    /// Why content of this kind is refused, if it is: an image that also carries markup or
    /// script (a PNG/HTML polyglot, or a PNG with a second document after its end), or a PDF
    /// that can run something (JavaScript, launch and open actions, embedded files, XFA).
    pub fn refusal(self, bytes: &[u8]) -> Option<&'static str> {
        match self {
            Self::Pdf => pdf_refusal(bytes),
            image => {
                if MARKUP_MARKERS.iter().any(|m| contains_ci(bytes, m)) {
                    return Some("the image also carries markup or script");
                }
                if image == Self::Png && !png_well_formed(bytes) {
                    return Some("the PNG has data after its end or broken chunks");
                }
                None
            }
        }
    }
}

/// The stored metadata without the internal blob name and the uploader's id (what records
/// show).
pub fn public_meta(text: &str) -> Json_ {
    match serde_json::from_str::<Json_>(text) {
        Ok(Json_::Object(mut m)) => {
            m.remove("blob");
            m.remove("by");
            Json_::Object(m)
        }
        _ => Json_::Null,
    }
}

/// A client's file name made safe to show and to put in a header: the last path component,
/// letters, digits, `.`, `-`, `_` and spaces only, no leading dots, at most 100 characters.
pub fn sanitize_name(raw: &str) -> String {
    let last = raw.rsplit(['/', '\\']).next().unwrap_or("");
    let cleaned: String = last
        .chars()
        .filter(|c| c.is_alphanumeric() || matches!(c, '.' | '-' | '_' | ' '))
        .take(100)
        .collect();
    let trimmed = cleaned.trim().trim_start_matches('.').trim();
    if trimmed.is_empty() {
        "file".to_owned()
    } else {
        trimmed.to_owned()
    }
}

/// RFC 5987 `attr-char`s stay, every other byte of the UTF-8 is percent-encoded.
fn percent_encode(s: &str) -> String {
    use std::fmt::Write as _;
    let mut out = String::new();
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"!#$&+-.^_`|~".contains(&b) {
            out.push(char::from(b));
        } else {
            let _ = write!(out, "%{b:02X}");
        }
    }
    out
}

/// `attachment; filename="ascii"; filename*=UTF-8''encoded`.
fn content_disposition(name: &str) -> String {
    let ascii: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_' | ' ') {
                c
            } else {
                '_'
            }
        })
        .collect();
    format!(
        "attachment; filename=\"{ascii}\"; filename*=UTF-8''{}",
        percent_encode(name)
    )
}

/// `<database directory>/uploads`.
fn uploads_dir(state: &AppState) -> PathBuf {
    uploads_dir_of(state.db())
}

/// Where this database's uploads go: `<database directory>/uploads` for SQLite, the folder
/// configured beside a PostgreSQL database.
pub fn uploads_dir_of(db: &crate::db::Db) -> PathBuf {
    db.uploads_dir().to_path_buf()
}

fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write as _;
    bytes.iter().fold(String::new(), |mut s, b| {
        let _ = write!(s, "{b:02x}");
        s
    })
}

/// 32 hex digits; anything else in a stored `blob` is refused (it could be a tampered path).
fn valid_blob(name: &str) -> bool {
    name.len() == 32 && name.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
}

/// The blob a stored file field's metadata names, if well-formed.
pub fn blob_of(meta_text: &str) -> Option<String> {
    let meta: Json_ = serde_json::from_str(meta_text).ok()?;
    meta["blob"]
        .as_str()
        .filter(|b| valid_blob(b))
        .map(str::to_owned)
}

/// Who uploaded a stored file: the metadata's `by`, or for files stored before uploaders were
/// recorded, the record's owner (what the quota charged then).
fn uploader_of(meta_text: &str, owner: Option<i64>) -> Option<i64> {
    serde_json::from_str::<Json_>(meta_text)
        .ok()
        .and_then(|m| m["by"].as_i64())
        .or(owner)
}

/// Locks taken around an upload's quota check and write, one stripe per uploader (a fixed
/// number of stripes: two users may share one and wait for each other, the table never grows).
static QUOTA_LOCKS: [tokio::sync::Mutex<()>; 64] =
    [const { tokio::sync::Mutex::const_new(()) }; 64];

/// The quota lock of `uploader`, held until the returned guard drops.
async fn quota_lock(uploader: i64) -> tokio::sync::MutexGuard<'static, ()> {
    let stripe = usize::try_from(uploader.rem_euclid(64)).unwrap_or(0);
    QUOTA_LOCKS[stripe].lock().await
}

/// The bytes a stored file field's metadata declares.
fn size_of(meta_text: &str) -> i64 {
    serde_json::from_str::<Json_>(meta_text)
        .ok()
        .and_then(|m| m["size"].as_i64())
        .unwrap_or(0)
}

/// Removes the blobs of these stored file values (after the rows no longer refer to them).
/// Failures are logged and left to [`sweep_orphans`].
pub fn remove_blobs_of<'a>(db: &crate::db::Db, values: impl IntoIterator<Item = &'a SqlValue>) {
    let dir = uploads_dir_of(db);
    for v in values {
        if let SqlValue::Text(meta) = v
            && let Some(blob) = blob_of(meta)
            && let Err(e) = std::fs::remove_file(dir.join(&blob))
            && e.kind() != std::io::ErrorKind::NotFound
        {
            tracing::warn!(error = %e, "removing an upload failed; the sweep will retry");
        }
    }
}

/// How old an unreferenced file in the uploads directory must be before the sweep removes it:
/// an upload writes its blob before the row that refers to it, so a young blob may be in flight.
pub const ORPHAN_GRACE: std::time::Duration = std::time::Duration::from_hours(1);

/// Removes files of the uploads directory that no record refers to and that are older than
/// `grace`: blobs left by a crash between writing a blob and its row (or between deleting a row
/// and its blob), and unfinished temporary files. Answers how many were removed.
///
/// What counts as referenced is read from every collection table installed in the database,
/// not from the configuration in use: a server started with a configuration that leaves a
/// collection out must not take that collection's files for orphans.
pub async fn sweep_orphans(
    db: &crate::db::Db,
    grace: std::time::Duration,
) -> Result<usize, crate::db::DbError> {
    let dir = uploads_dir_of(db);
    if !dir.is_dir() {
        return Ok(0);
    }
    let referenced = store::referenced_blobs(db).await?;
    let removed = tokio::task::spawn_blocking(move || {
        let mut removed = 0;
        let Ok(entries) = std::fs::read_dir(&dir) else {
            return 0;
        };
        let now = std::time::SystemTime::now();
        for entry in entries.flatten() {
            let name = entry.file_name().to_string_lossy().into_owned();
            let ours = valid_blob(&name) || name.starts_with(".tmp");
            let old_enough = entry
                .metadata()
                .and_then(|m| m.modified())
                .ok()
                .and_then(|t| now.duration_since(t).ok())
                .is_some_and(|age| age >= grace);
            if ours && old_enough && !referenced.contains(&name) && entry.path().is_file() {
                match std::fs::remove_file(entry.path()) {
                    Ok(()) => removed += 1,
                    Err(e) => tracing::warn!(error = %e, "removing an orphaned upload failed"),
                }
            }
        }
        removed
    })
    .await
    .unwrap_or(0);
    Ok(removed)
}

fn io_error(what: &'static str) -> impl Fn(std::io::Error) -> ApiError {
    move |e| ApiError::Internal(format!("{what}: {e}").into())
}

fn file_field<'a>(
    c: &'a Collection,
    name: &str,
) -> Result<(&'a Field, u64, &'a [String]), ApiError> {
    match c.field(name) {
        Some(f) => match &f.ty {
            FieldType::File { max, types } => Ok((f, *max, types.as_slice())),
            _ => Err(ApiError::NotFound("no such file field")),
        },
        None => Err(ApiError::NotFound("no such file field")),
    }
}

/// Writes `bytes` to a new random name in the uploads directory; answers the name.
fn store_blob(dir: &std::path::Path, bytes: &[u8]) -> Result<String, ApiError> {
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::DirBuilderExt as _;
        builder.mode(0o700);
    }
    builder
        .create(dir)
        .map_err(io_error("creating the uploads directory"))?;
    let name = uuid::Uuid::new_v4().simple().to_string();
    let mut tmp = tempfile::NamedTempFile::new_in(dir).map_err(io_error("creating an upload"))?;
    tmp.write_all(bytes)
        .and_then(|()| tmp.as_file().sync_all())
        .map_err(io_error("writing an upload"))?;
    tmp.persist_noclobber(dir.join(&name))
        .map_err(|e| ApiError::Internal(format!("storing an upload: {}", e.error).into()))?;
    Ok(name)
}

/// Auth: signed session; `read` (404), then `write` and the field's `write` rule (403).
#[utoipa::path(post, path = "/v1/collections/{name}/records/{id}/files/{field}", tag = "data",
    params(("name" = String, Path, description = "The collection, as declared in miniguard.toml"), ("id" = String, Path, description = "The record id"), ("field" = String, Path, description = "A file field of the collection"),
        ("name" = Option<String>, Query, description = "The original file name (sanitised before it is kept)")),
    request_body(description = "The file's raw bytes; Content-Type one of the field's declared types, matching the content", content(("image/png"), ("image/jpeg"), ("image/gif"), ("image/webp"), ("application/pdf"))),
    responses(
        (status = 201, description = "The record with the file's metadata", body = Object),
        (status = 400, description = "An empty file, or content that does not match the Content-Type (invalid-record, with `errors`), or a malformed request", body = super::InvalidRecordProblem, content_type = "application/problem+json"),
        (status = 403, description = "The collection's or the field's rule refuses the upload, or a login limited to TOTP enrolment (forbidden)", body = crate::openapi::ProblemBody, content_type = "application/problem+json"),
        (status = 404, description = "No such collection, file field, or record the caller may read (not-found)", body = crate::openapi::ProblemBody, content_type = "application/problem+json"),
        (status = 413, description = "The file is larger than the field's max or the body limit", body = crate::openapi::ProblemBody, content_type = "application/problem+json"),
        (status = 415, description = "The Content-Type is not one the field accepts", body = crate::openapi::ProblemBody, content_type = "application/problem+json"),
    ))]
#[tracing::instrument(skip_all, fields(collection = %name))]
pub(super) async fn upload(
    State(state): State<AppState>,
    auth: Authenticated,
    Path((name, id, field)): Path<(String, String, String)>,
    RawQuery(raw): RawQuery,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    let c = collection(&state, &name)?;
    let (f, max, types) = file_field(c, &field)?;
    let p = principal(&state, &auth).await?;
    let now = now_ms();
    let before = readable_record(&state, &p, c, &id, "upload", now).await?;
    let field_ok = f
        .write
        .as_ref()
        .is_none_or(|r| r.allows(c, &p, &before, now));
    let readonly_set = f.readonly
        && before
            .fields
            .get(&f.name)
            .is_some_and(|v| *v != SqlValue::Null);
    if !c.write.allows(c, &p, &before, now) || !field_ok || readonly_set {
        deny(&state, &p, c, "upload", Some(&id)).await?;
        return Err(ApiError::Forbidden("upload denied"));
    }
    // The declared type: allowed for the field, and what the content really is.
    let declared = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .map(|v| {
            v.split(';')
                .next()
                .unwrap_or("")
                .trim()
                .to_ascii_lowercase()
        })
        .unwrap_or_default();
    if !types.iter().any(|t| t.eq_ignore_ascii_case(&declared)) {
        return Err(ApiError::UnsupportedFileType);
    }
    if u64::try_from(body.len()).unwrap_or(u64::MAX) > max {
        return Err(ApiError::PayloadTooLarge);
    }
    if body.is_empty() {
        return Err(ApiError::Invalid(vec![(
            field.clone(),
            "the file is empty".into(),
        )]));
    }
    let kind = FileKind::sniff(&body);
    if kind.map(FileKind::mime) != Some(declared.as_str()) {
        return Err(ApiError::Invalid(vec![(
            field.clone(),
            "the content does not match the Content-Type".into(),
        )]));
    }
    if let Some(why) = kind.and_then(|k| k.refusal(&body)) {
        return Err(ApiError::Invalid(vec![(field.clone(), why.into())]));
    }
    let original = super::single_valued(raw.as_deref(), &["name"])?
        .into_iter()
        .next()
        .map(|(_, v)| v)
        .unwrap_or_default();
    let shown = sanitize_name(&original);
    let digest = Sha256::digest(&body);
    let sha256 = hex(&digest);
    // The uploader's storage quota, whoever owns the record, counting the file this one
    // replaces as gone if it is the uploader's. Checked and written under the uploader's lock,
    // so parallel uploads of one user cannot each pass the check against the same total.
    let _quota = quota_lock(p.user.0).await;
    let used = store::file_bytes_of_uploader(state.db(), p.user.0).await?;
    let replaced = match before.fields.get(&f.name) {
        Some(SqlValue::Text(meta)) if uploader_of(meta, before.owner) == Some(p.user.0) => {
            size_of(meta)
        }
        _ => 0,
    };
    let after_upload = used
        .saturating_sub(replaced)
        .saturating_add(i64::try_from(body.len()).unwrap_or(i64::MAX));
    if u64::try_from(after_upload).unwrap_or(0) > state.options().upload_quota_bytes {
        return Err(ApiError::QuotaExceeded);
    }
    let dir = uploads_dir(&state);
    let bytes = body.clone();
    let dir2 = dir.clone();
    let blob = tokio::task::spawn_blocking(move || store_blob(&dir2, &bytes))
        .await
        .map_err(|e| ApiError::Internal(format!("upload task: {e}").into()))??;
    let meta = json!({
        "name": shown,
        "size": body.len(),
        "type": declared,
        "sha256": sha256,
        "blob": blob,
        "by": p.user.0,
    });
    let cond = Cond::And(vec![
        c.read.to_cond(c, &p, now),
        c.write.to_cond(c, &p, now),
    ])
    .simplify();
    let values = vec![(f.column(), SqlValue::Text(meta.to_string()))];
    let outcome = store::update(state.db(), c, &id, now, values, &cond).await;
    if !matches!(outcome, Ok(WriteOutcome::Done(1))) {
        let _ = std::fs::remove_file(dir.join(&blob));
        outcome?;
        return Err(ApiError::NotFound("no such record"));
    }
    // The replaced file is no longer referenced.
    if let Some(SqlValue::Text(old)) = before.fields.get(&f.name)
        && let Ok(old) = serde_json::from_str::<Json_>(old)
        && let Some(old_blob) = old["blob"].as_str()
        && valid_blob(old_blob)
    {
        let _ = std::fs::remove_file(dir.join(old_blob));
    }
    let mut after = before;
    after
        .fields
        .insert(f.name.clone(), SqlValue::Text(meta.to_string()));
    after.updated = now;
    Ok((
        axum::http::StatusCode::CREATED,
        Json(records::to_json(c, &p, &after, now)),
    )
        .into_response())
}

/// Auth: signed session; `read` and the field's `read` rule (404 otherwise).
#[utoipa::path(get, path = "/v1/collections/{name}/records/{id}/files/{field}", tag = "data",
    params(("name" = String, Path, description = "The collection, as declared in miniguard.toml"), ("id" = String, Path, description = "The record id"), ("field" = String, Path, description = "A file field of the collection")),
    responses(
        (status = 200, description = "The file, as an attachment with its sniffed type", content(("image/png"), ("image/jpeg"), ("image/gif"), ("image/webp"), ("application/pdf"))),
        (status = 403, description = "A login limited to TOTP enrolment (forbidden)", body = crate::openapi::ProblemBody, content_type = "application/problem+json"),
        (status = 404, description = "No such collection, file field, readable record or file (not-found)", body = crate::openapi::ProblemBody, content_type = "application/problem+json"),
    ))]
#[tracing::instrument(skip_all, fields(collection = %name))]
pub(super) async fn download(
    State(state): State<AppState>,
    auth: Authenticated,
    Path((name, id, field)): Path<(String, String, String)>,
) -> Result<Response, ApiError> {
    let c = collection(&state, &name)?;
    let (f, _, _) = file_field(c, &field)?;
    let p = principal(&state, &auth).await?;
    let now = now_ms();
    let rec = readable_record(&state, &p, c, &id, "download", now).await?;
    if !records::field_readable(c, f, &p, Some(&rec), now) {
        return Err(ApiError::NotFound("no such file"));
    }
    let Some(SqlValue::Text(text)) = rec.fields.get(&f.name) else {
        return Err(ApiError::NotFound("no such file"));
    };
    let meta: Json_ = serde_json::from_str(text)
        .map_err(|e| ApiError::Internal(format!("file metadata: {e}").into()))?;
    let (Some(blob), Some(kind), Some(shown), Some(sha)) = (
        meta["blob"].as_str().filter(|b| valid_blob(b)),
        meta["type"].as_str().and_then(FileKind::from_mime),
        meta["name"].as_str(),
        meta["sha256"].as_str(),
    ) else {
        return Err(ApiError::Internal("file metadata is damaged".into()));
    };
    let path = uploads_dir(&state).join(blob);
    let bytes = tokio::fs::read(&path)
        .await
        .map_err(io_error("reading an upload"))?;
    let actual = hex(&Sha256::digest(&bytes));
    if actual != sha || FileKind::sniff(&bytes) != Some(kind) {
        return Err(ApiError::Internal("a stored upload changed on disk".into()));
    }
    let disposition = HeaderValue::from_str(&content_disposition(&sanitize_name(shown)))
        .map_err(|e| ApiError::Internal(format!("content-disposition: {e}").into()))?;
    Ok((
        [
            (header::CONTENT_TYPE, HeaderValue::from_static(kind.mime())),
            (header::CONTENT_DISPOSITION, disposition),
            (
                header::X_CONTENT_TYPE_OPTIONS,
                HeaderValue::from_static("nosniff"),
            ),
            (
                header::CACHE_CONTROL,
                HeaderValue::from_static("private, no-store"),
            ),
        ],
        bytes,
    )
        .into_response())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_lose_paths_and_odd_characters() {
        assert_eq!(sanitize_name("../../etc/passwd"), "passwd");
        assert_eq!(sanitize_name("..\\..\\boot.ini"), "boot.ini");
        assert_eq!(sanitize_name("...hidden"), "hidden");
        assert_eq!(sanitize_name("a\"b;c\r\n.png"), "abc.png");
        assert_eq!(sanitize_name("照片 1.png"), "照片 1.png");
        assert_eq!(sanitize_name("../"), "file");
        assert_eq!(sanitize_name(""), "file");
        assert_eq!(
            content_disposition("照片.png"),
            "attachment; filename=\"__.png\"; filename*=UTF-8''%E7%85%A7%E7%89%87.png"
        );
    }

    fn png(extra_chunks: &[(&[u8; 4], &[u8])], trailer: &[u8]) -> Vec<u8> {
        let mut v = b"\x89PNG\r\n\x1a\n".to_vec();
        let mut chunk = |kind: &[u8; 4], data: &[u8]| {
            v.extend_from_slice(&u32::try_from(data.len()).unwrap().to_be_bytes());
            v.extend_from_slice(kind);
            v.extend_from_slice(data);
            v.extend_from_slice(&[0, 0, 0, 0]);
        };
        chunk(b"IHDR", &[0; 13]);
        for (k, d) in extra_chunks {
            chunk(k, d);
        }
        chunk(b"IEND", &[]);
        v.extend_from_slice(trailer);
        v
    }

    /// Round 2, item 11: PNG/HTML polyglots and active PDFs are refused; plain ones pass.
    #[test]
    fn polyglots_and_active_pdfs_are_refused() {
        use std::io::Write as _;
        let plain = png(&[(b"IDAT", b"\x78\x9c\x01\x02")], b"");
        assert_eq!(FileKind::Png.refusal(&plain), None);
        let html_in_chunk = png(&[(b"tEXt", b"c\0<html><script>alert(1)</script>")], b"");
        assert!(FileKind::Png.refusal(&html_in_chunk).is_some());
        let html_after_end = png(&[], b"<b>hi</b>");
        assert!(FileKind::Png.refusal(&html_after_end).is_some());
        let svg_in_gif = b"GIF89a....<svg onload=alert(1)>".to_vec();
        assert!(FileKind::Gif.refusal(&svg_in_gif).is_some());

        let pdf = b"%PDF-1.7\n1 0 obj << /Type /Catalog /Pages 2 0 R >> endobj\n%%EOF";
        assert_eq!(FileKind::Pdf.refusal(pdf), None);
        for active in [
            &b"%PDF-1.7\n1 0 obj << /OpenAction << /S /JavaScript /JS (app.alert(1)) >> >>"[..],
            b"%PDF-1.7\n1 0 obj << /S /J#61vaScript >>",
            b"%PDF-1.7\n<</Type/Action/S/Launch/F(cmd.exe)>>",
        ] {
            assert!(FileKind::Pdf.refusal(active).is_some(), "{active:?}");
        }
        // Hidden in a compressed object stream.
        let mut z = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::default());
        z.write_all(b"<< /S /JavaScript /JS (x) >>").unwrap();
        let mut hidden =
            b"%PDF-1.7\n4 0 obj << /Type /ObjStm /Filter /FlateDecode >>\nstream\n".to_vec();
        hidden.extend_from_slice(&z.finish().unwrap());
        hidden.extend_from_slice(b"\nendstream\nendobj\n%%EOF");
        assert!(FileKind::Pdf.refusal(&hidden).is_some());
    }

    #[test]
    fn sniffing_needs_the_magic_bytes() {
        assert_eq!(
            FileKind::sniff(b"\x89PNG\r\n\x1a\nrest"),
            Some(FileKind::Png)
        );
        assert_eq!(FileKind::sniff(b"%PDF-1.7"), Some(FileKind::Pdf));
        assert_eq!(FileKind::sniff(b"RIFF0000WEBPVP8 "), Some(FileKind::Webp));
        assert_eq!(FileKind::sniff(b"<html><script>"), None);
        assert_eq!(FileKind::sniff(b"\x89PN"), None);
        assert!(!valid_blob("../x"));
        assert!(valid_blob(&"a".repeat(32)));
    }
}
