//! Data-key rotation: `miniguard keys rotate`, `keys status` and `keys retire`, and the data
//! layer they share (the only SQL outside `db.rs` that touches envelopes of other features).
//!
//! # Design
//!
//! Every secret the server keeps at rest is an AES-256-GCM envelope from
//! [`miniguard_crypto::Keyring`]: the envelope names its key id, so several keys can be live at
//! once. The keyring is the *data-keys file* (`[server] data_keys_file`, lines `ID:BASE64`, mode
//! 0600; or the `data_keys_env` variable); the highest id encrypts, every id decrypts.
//!
//! A rotation is three steps, each safe to repeat and to interrupt:
//!
//! 1. **Add a key** ([`add_key_to_file`]): a fresh random key with the next id is appended to the
//!    data-keys file by writing a temporary file (0600) in the same directory, syncing it and
//!    renaming it over the old one, so a crash leaves either the old or the new file, never a
//!    half-written one. Old keys stay in the file.
//! 2. **Re-encrypt** ([`reencrypt`]): every envelope column the server writes ([`targets`]: the
//!    collections' `encrypted` fields, `platform_session_keys`, `storage_keys`, `user_phones`,
//!    `mfa_totp.secret`, `sessions.signing_key`) is walked in key order in batches; envelopes
//!    under an older key are opened and sealed again under the newest key with the *same*
//!    associated data, and each batch is written in one transaction. An envelope already under the
//!    newest key is skipped ([`Keyring::needs_reencrypt`]), so rerunning after a crash (or a
//!    `--limit`) simply finishes the job. Each `UPDATE` compares the old envelope too, so a value
//!    a running server rewrote meanwhile is left alone (it is already under the new key or will be
//!    picked up by the next run). An envelope that does not open (tampered, moved to another row,
//!    unknown key) stops the run with an error naming the table and row: never silently skipped.
//! 3. **Retire** ([`retire_key_in_file`]): a key is removed from the file only when
//!    [`key_usage`] finds no envelope under it, and never the newest key.
//!
//! A running server reads the keyring at startup, so it cannot open values re-encrypted under a
//! key it has not loaded. With a server running: `keys rotate --add-only`, restart the server
//! (it now encrypts under the new key and still decrypts the old ones), then
//! `keys rotate --resume`; or stop the server for the plain `keys rotate`.
//!
//! There is no separate master key wrapping the data keys: the data-keys file *is* the secret the
//! operator protects (file mode, container secret or environment), and a wrapping layer would only
//! move that secret one file further while adding a second rotation procedure.

use std::collections::BTreeMap;
use std::io::Write as _;
use std::path::Path;

use miniguard_crypto::envelope::key_id_of;
use miniguard_crypto::{AssociatedData, Key, KeyId, Keyring};
use secrecy::ExposeSecret as _;
use sqlx::Row as _;
use zeroize::Zeroizing;

use crate::data::Collections;
use crate::db::{Db, DbError, Dialect, on_pool};

/// Why a rotation step failed. Messages never contain key material or plaintext.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RotationError {
    #[error("database: {0}")]
    Db(#[from] DbError),
    #[error(
        "{table}.{column} of row {row}: {cause}; refusing to continue (tampered or moved data, or a key missing from the keyring)"
    )]
    Envelope {
        table: String,
        column: String,
        row: String,
        cause: miniguard_crypto::EnvelopeError,
    },
    #[error("key file {path}: {message}")]
    KeyFile { path: String, message: String },
    #[error("key {0} is still used by {1} envelope(s); run `miniguard keys rotate --resume` first")]
    KeyInUse(KeyId, u64),
    #[error("key {0} is the newest key and encrypts new data; add a newer key first")]
    NewestKey(KeyId),
    #[error("key {0} is not in the keyring")]
    UnknownKey(KeyId),
}

impl From<sqlx::Error> for RotationError {
    fn from(e: sqlx::Error) -> Self {
        Self::Db(DbError::Sqlx(e))
    }
}

/// How a row's id goes into its associated data.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum IdKind {
    /// An INTEGER column, in decimal.
    Int,
    /// A BLOB column, in lower-case hex (`sessions.token_hash`).
    HexBlob,
    /// A TEXT column (collection record ids).
    Text,
}

/// One envelope column.
#[derive(Debug, Clone)]
pub struct Target {
    /// The SQL table.
    pub table: String,
    /// The envelope column.
    pub column: String,
    id_column: String,
    id_kind: IdKind,
    /// The unique column the walk pages by (its primary key) and whether it is text.
    key_column: String,
    key_text: bool,
    /// Table and column names in the associated data.
    aad_table: String,
    aad_column: String,
}

impl Target {
    fn fixed(table: &str, column: &str, id_column: &str, id_kind: IdKind, key: &str) -> Self {
        Self {
            table: table.into(),
            column: column.into(),
            id_column: id_column.into(),
            id_kind,
            key_column: key.into(),
            key_text: false,
            aad_table: table.into(),
            aad_column: column.into(),
        }
    }
}

/// Every envelope column the server writes, the collections' encrypted fields included.
/// Names come from this list and from checked schema names only (`[a-z][a-z0-9_]*`).
pub fn targets(collections: &Collections) -> Vec<Target> {
    let mut out = vec![
        Target::fixed(
            "platform_session_keys",
            "envelope",
            "user_id",
            IdKind::Int,
            "user_id",
        ),
        Target::fixed(
            "storage_keys",
            "envelope",
            "user_id",
            IdKind::Int,
            "user_id",
        ),
        Target::fixed("user_phones", "envelope", "user_id", IdKind::Int, "user_id"),
        Target::fixed("mfa_totp", "secret", "user_id", IdKind::Int, "user_id"),
        Target::fixed(
            "sessions",
            "signing_key",
            "token_hash",
            IdKind::HexBlob,
            "id",
        ),
    ];
    for c in collections.by_name.values() {
        for f in c.stored_fields().filter(|f| f.encrypted) {
            out.push(Target {
                table: c.table(),
                column: f.column(),
                id_column: "id".into(),
                id_kind: IdKind::Text,
                key_column: "id".into(),
                key_text: true,
                aad_table: c.table(),
                aad_column: f.name.clone(),
            });
        }
    }
    out
}

fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write as _;
    bytes.iter().fold(String::new(), |mut s, b| {
        let _ = write!(s, "{b:02x}");
        s
    })
}

/// Where a walk over a table is: after this key.
#[derive(Clone, Debug)]
enum Cursor {
    Int(i64),
    Text(String),
}

fn row_id<R: sqlx::Row>(kind: IdKind, row: &R) -> Result<String, sqlx::Error>
where
    usize: sqlx::ColumnIndex<R>,
    for<'r> i64: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
    for<'r> Vec<u8>: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
    for<'r> String: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
{
    Ok(match kind {
        IdKind::Int => row.try_get::<i64, _>(1)?.to_string(),
        IdKind::HexBlob => hex(&row.try_get::<Vec<u8>, _>(1)?),
        IdKind::Text => row.try_get::<String, _>(1)?,
    })
}

/// How many envelopes of one column use each key id.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Usage {
    pub table: String,
    pub column: String,
    pub by_key: BTreeMap<KeyId, u64>,
    /// Values that are not envelopes at all.
    pub malformed: u64,
}

/// Counts envelopes per key id in every target (reads key ids only; decrypts nothing).
pub async fn key_usage(db: &Db, collections: &Collections) -> Result<Vec<Usage>, RotationError> {
    let mut out = Vec::new();
    for t in targets(collections) {
        let mut usage = Usage {
            table: t.table.clone(),
            column: t.column.clone(),
            ..Usage::default()
        };
        if !table_exists(db, &t.table).await? {
            out.push(usage);
            continue;
        }
        let sql = format!(
            "SELECT \"{c}\" FROM \"{t}\" WHERE \"{c}\" IS NOT NULL",
            c = t.column,
            t = t.table
        );
        let envelopes: Vec<Option<Vec<u8>>> = on_pool!(db.pool(), p => {
            sqlx::query(&sql)
                .fetch_all(p)
                .await?
                .iter()
                .map(|row| row.try_get::<Vec<u8>, _>(0).ok())
                .collect()
        });
        for envelope in envelopes {
            match envelope.and_then(|e| key_id_of(&e).ok()) {
                Some(id) => *usage.by_key.entry(id).or_default() += 1,
                None => usage.malformed += 1,
            }
        }
        out.push(usage);
    }
    Ok(out)
}

async fn table_exists(db: &Db, table: &str) -> Result<bool, RotationError> {
    let sql = match db.dialect() {
        Dialect::Sqlite => "SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND name = $1",
        Dialect::Postgres => {
            "SELECT COUNT(*) FROM information_schema.tables \
             WHERE table_schema = current_schema() AND table_name = $1"
        }
    };
    let n: i64 = on_pool!(db.pool(), p => {
        sqlx::query_scalar(sql).bind(table).fetch_one(p).await?
    });
    Ok(n > 0)
}

/// What a [`reencrypt`] run did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Progress {
    /// Envelopes sealed again under the newest key.
    pub reencrypted: u64,
    /// Envelopes already under the newest key.
    pub current: u64,
    /// Whether every target was walked to its end (false when `limit` stopped the run).
    pub complete: bool,
}

/// Re-encrypts every envelope under an older key to the keyring's newest key, `batch` rows per
/// transaction, stopping after `limit` re-encryptions when given (the rest is left for the next
/// run). Idempotent: rerun it until [`Progress::complete`].
pub async fn reencrypt(
    db: &Db,
    keyring: &Keyring,
    collections: &Collections,
    batch: usize,
    limit: Option<u64>,
) -> Result<Progress, RotationError> {
    let batch = i64::try_from(batch.max(1)).unwrap_or(i64::MAX);
    let mut progress = Progress::default();
    for t in targets(collections) {
        if !table_exists(db, &t.table).await? {
            continue;
        }
        let select = format!(
            "SELECT \"{k}\", \"{id}\", \"{c}\" FROM \"{t}\" \
             WHERE \"{k}\" > $1 AND \"{c}\" IS NOT NULL ORDER BY \"{k}\" LIMIT $2",
            k = t.key_column,
            id = t.id_column,
            c = t.column,
            t = t.table
        );
        let update = format!(
            "UPDATE \"{t}\" SET \"{c}\" = $1 WHERE \"{k}\" = $2 AND \"{c}\" = $3",
            k = t.key_column,
            c = t.column,
            t = t.table
        );
        // Below every key: record ids are never empty, integer keys are ids from 1.
        let mut after = if t.key_text {
            Cursor::Text(String::new())
        } else {
            Cursor::Int(i64::MIN)
        };
        loop {
            let (rows, next) = on_pool!(db.pool(), p => {
                let q = sqlx::query(&select);
                let q = match &after {
                    Cursor::Int(n) => q.bind(*n),
                    Cursor::Text(s) => q.bind(s.clone()),
                };
                let rows = q.bind(batch).fetch_all(p).await?;
                let mut out = Vec::with_capacity(rows.len());
                let mut next = None;
                for row in &rows {
                    next = Some(if t.key_text {
                        Cursor::Text(row.try_get(0)?)
                    } else {
                        Cursor::Int(row.try_get(0)?)
                    });
                    let envelope: Vec<u8> = row.try_get(2)?;
                    out.push((next.clone(), row_id(t.id_kind, row)?, envelope));
                }
                (out, next)
            });
            let Some(next) = next else { break };
            after = next;
            let mut changes = Vec::new();
            for (key, id, envelope) in rows {
                let fail = |cause| RotationError::Envelope {
                    table: t.table.clone(),
                    column: t.column.clone(),
                    row: id.clone(),
                    cause,
                };
                let aad = AssociatedData::field(&t.aad_table, &t.aad_column, &id);
                if !keyring.needs_reencrypt(&envelope) {
                    // Current, or malformed: check it opens, so damage is reported, not skipped.
                    keyring.decrypt(&envelope, &aad).map_err(fail)?;
                    progress.current += 1;
                    continue;
                }
                if limit.is_some_and(|l| progress.reencrypted + changes.len() as u64 >= l) {
                    break;
                }
                let sealed = keyring.reencrypt(&envelope, &aad).map_err(fail)?;
                changes.push((key, sealed, envelope));
            }
            let stopped = limit.is_some_and(|l| progress.reencrypted + changes.len() as u64 >= l);
            if !changes.is_empty() {
                on_pool!(db.pool(), p => {
                    let mut tx = p.begin().await?;
                    for (key, sealed, old) in &changes {
                        let q = sqlx::query(&update).bind(sealed.as_slice());
                        let q = match key {
                            Some(Cursor::Int(n)) => q.bind(*n),
                            Some(Cursor::Text(s)) => q.bind(s.as_str()),
                            None => continue,
                        };
                        q.bind(old.as_slice()).execute(&mut *tx).await?;
                    }
                    tx.commit().await?;
                });
                progress.reencrypted += changes.len() as u64;
            }
            if stopped {
                return Ok(progress);
            }
        }
    }
    progress.complete = true;
    Ok(progress)
}

/// The `ID:BASE64` entries of a keys file, in order, and the ids they name.
fn entries(text: &str) -> Vec<(String, Option<u32>)> {
    text.split(|c: char| c == ',' || c.is_whitespace())
        .filter(|e| !e.is_empty())
        .map(|e| {
            let id = e.split_once(':').and_then(|(id, _)| id.parse().ok());
            (e.to_owned(), id)
        })
        .collect()
}

fn key_file_error(path: &Path, message: impl Into<String>) -> RotationError {
    RotationError::KeyFile {
        path: path.display().to_string(),
        message: message.into(),
    }
}

fn read_keys_file(path: &Path) -> Result<(Zeroizing<String>, Keyring), RotationError> {
    let text = Zeroizing::new(
        std::fs::read_to_string(path).map_err(|e| key_file_error(path, e.to_string()))?,
    );
    let ring = Keyring::from_text(&text).map_err(|e| key_file_error(path, e.to_string()))?;
    Ok((text, ring))
}

/// Replaces `path` with `text` atomically: a 0600 temporary file in the same directory, synced,
/// renamed over `path`, then the directory synced.
fn write_atomically(path: &Path, text: &str) -> Result<(), RotationError> {
    let dir = path
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let mut tmp =
        tempfile::NamedTempFile::new_in(dir).map_err(|e| key_file_error(path, e.to_string()))?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        tmp.as_file()
            .set_permissions(std::fs::Permissions::from_mode(0o600))
            .map_err(|e| key_file_error(path, e.to_string()))?;
    }
    tmp.write_all(text.as_bytes())
        .and_then(|()| tmp.as_file().sync_all())
        .map_err(|e| key_file_error(path, e.to_string()))?;
    tmp.persist(path)
        .map_err(|e| key_file_error(path, e.error.to_string()))?;
    if let Ok(d) = std::fs::File::open(dir) {
        let _ = d.sync_all();
    }
    Ok(())
}

/// Appends a fresh key with the next id to the keys file (old keys kept) and returns its id.
pub fn add_key_to_file(path: &Path) -> Result<KeyId, RotationError> {
    let (text, ring) = read_keys_file(path)?;
    let newest = ring.current_id();
    let id = newest
        .0
        .checked_add(1)
        .ok_or_else(|| key_file_error(path, "key ids exhausted"))?;
    let key = Key::generate().map_err(|e| key_file_error(path, e.to_string()))?;
    let mut lines: Vec<String> = entries(&text).into_iter().map(|(e, _)| e).collect();
    lines.push(format!("{id}:{}", key.to_base64().expose_secret()));
    let new_text = Zeroizing::new(lines.join("\n") + "\n");
    // What the server will do with it; a failure here is a bug, never written.
    let check = Keyring::from_text(&new_text).map_err(|e| key_file_error(path, e.to_string()))?;
    if check.current_id() != KeyId(id) {
        return Err(key_file_error(path, "the new key is not the newest"));
    }
    write_atomically(path, &new_text)?;
    Ok(KeyId(id))
}

/// Removes key `id` from the keys file, refusing the newest key and a key any envelope uses.
pub async fn retire_key_in_file(
    path: &Path,
    db: &Db,
    collections: &Collections,
    id: KeyId,
) -> Result<(), RotationError> {
    let (text, ring) = read_keys_file(path)?;
    if !ring.key_ids().any(|k| k == id) {
        return Err(RotationError::UnknownKey(id));
    }
    if ring.current_id() == id {
        return Err(RotationError::NewestKey(id));
    }
    let used: u64 = key_usage(db, collections)
        .await?
        .iter()
        .filter_map(|u| u.by_key.get(&id))
        .sum();
    if used > 0 {
        return Err(RotationError::KeyInUse(id, used));
    }
    let kept: Vec<String> = entries(&text)
        .into_iter()
        .filter(|(_, k)| *k != Some(id.0))
        .map(|(e, _)| e)
        .collect();
    let new_text = Zeroizing::new(kept.join("\n") + "\n");
    Keyring::from_text(&new_text).map_err(|e| key_file_error(path, e.to_string()))?;
    write_atomically(path, &new_text)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn add_and_retire_keep_other_keys_and_mode() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("keys");
        let k = Key::generate().unwrap();
        std::fs::write(&path, format!("1:{}\n", k.to_base64().expose_secret())).unwrap();
        assert_eq!(add_key_to_file(&path).unwrap(), KeyId(2));
        assert_eq!(add_key_to_file(&path).unwrap(), KeyId(3));
        let (_, ring) = read_keys_file(&path).unwrap();
        assert_eq!(
            ring.key_ids().collect::<Vec<_>>(),
            vec![KeyId(1), KeyId(2), KeyId(3)]
        );
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt as _;
            let mode = std::fs::metadata(&path).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(text.starts_with(&format!("1:{}", k.to_base64().expose_secret())));
        let kept: Vec<_> = entries(&text)
            .into_iter()
            .filter(|(_, id)| *id != Some(2))
            .collect();
        assert_eq!(kept.len(), 2);
    }

    #[test]
    fn targets_name_every_envelope_column() {
        let c = Collections::from_config_text(
            "[collections.a]\nfields = { s = \"string encrypted\", t = \"string\" }\n",
        )
        .unwrap();
        let names: Vec<_> = targets(&c)
            .iter()
            .map(|t| format!("{}.{}", t.table, t.column))
            .collect();
        assert!(names.contains(&"c_a.f_s".to_string()));
        assert!(!names.contains(&"c_a.f_t".to_string()));
        assert!(names.contains(&"sessions.signing_key".to_string()));
        assert!(names.contains(&"mfa_totp.secret".to_string()));
    }
}
