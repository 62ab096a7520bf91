// Reason: doc comments here are `--help` text, where backticks would show as-is.
#![allow(clippy::doc_markdown)]

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

/// Security auditor for mini-programs (WeChat, Alipay, Douyin, Baidu, QQ, uni-app, Taro).
///
/// `miniguard scan PATH` audits a mini-program with its cloud functions and Node backend for
/// insecure transport, weak authentication, injection, XSS-style injection, leaky storage and
/// logs, hard-coded secrets and risky configuration. `miniguard rules` lists what it checks.
#[derive(Parser, Debug)]
#[command(
    name = "miniguard",
    version,
    about,
    long_about,
    propagate_version = true
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,

    /// Language of the text and HTML reports and of rule documentation: `en` or `zh-CN`
    /// [default: from LC_ALL, LC_MESSAGES or LANG]. JSON and SARIF stay English.
    #[arg(long, global = true, value_name = "LANG", value_parser = parse_lang)]
    pub lang: Option<miniguard_report::i18n::Lang>,
}

fn parse_lang(s: &str) -> Result<miniguard_report::i18n::Lang, String> {
    match miniguard_report::i18n::Lang::parse(s) {
        Some(l)
            if !s.trim().eq_ignore_ascii_case("c") && !s.trim().eq_ignore_ascii_case("posix") =>
        {
            Ok(l)
        }
        _ => Err(format!(
            "`{s}` is not a language miniguard speaks: en or zh-CN"
        )),
    }
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Audit a project: a mini-program source tree, its cloud functions and Node backend.
    ///
    /// Exit codes: 0 when no finding is at or above --fail-on, 1 when one is, 2 on a usage or
    /// I/O error.
    #[command(after_help = SCAN_EXAMPLES)]
    Scan(Box<ScanArgs>),
    /// List the rules, or print one rule's documentation (`miniguard rules T001`).
    Rules(RulesArgs),
    /// Audit third-party packages: lockfiles, miniprogram_npm and copied library files, against
    /// an advisory database that works offline.
    ///
    /// Exit codes: 0 when no finding is at or above --fail-on, 1 when one is, 2 on a usage or
    /// I/O error.
    #[command(after_help = DEPS_EXAMPLES)]
    Deps(DepsArgs),
    /// The advisory database: `db info` (which, how many, how old), `db update` (fetch current
    /// OSV data).
    Db(DbArgs),
    /// Run the hardened backend: TLS (rustls, 1.2+), security headers, problem JSON errors,
    /// server-side platform login and a hash-chained audit log.
    ///
    /// `--dev` needs nothing else: a self-signed certificate, throwaway data and a local fake of
    /// the WeChat login API. `--config miniguard.toml` reads the server settings of that file.
    #[command(after_help = SERVE_EXAMPLES)]
    Serve(ServeArgs),
    /// The tamper-evident audit log of `serve`.
    AuditLog(AuditLogArgs),
    /// Keys for `serve`: `keys generate` makes a data-encryption keyring line.
    Keys(KeysArgs),
    /// Staff accounts and sessions of `serve`: `accounts create` makes an admin or operator,
    /// `accounts end-sessions` logs everybody out.
    Accounts(AccountsArgs),
    /// Roles of `serve`'s users (`role:NAME` in collection rules): `roles grant|revoke|list`.
    Roles(crate::cmd_roles::RolesArgs),
    /// Start here: write a commented miniguard.toml for the project in PATH (and, with
    /// --baseline, accept today's findings), then print the next steps.
    Init(crate::cmd_init::InitArgs),
    /// Print a shell completion script (bash, zsh, fish, powershell, elvish).
    Completions(crate::cmd_completions::CompletionsArgs),
    /// Print the man page (or write every page with --out DIR).
    Man(crate::cmd_completions::ManArgs),
    /// Penetration-test a live backend within a declared scope (--scope FILE is required):
    /// transport, headers, CORS, authentication, authorization and injection checks.
    ///
    /// Exit codes: 0 when no finding is at or above --fail-on, 1 when one is, 2 on a usage,
    /// network or scope error.
    #[command(after_help = crate::cmd_probe::PROBE_EXAMPLES)]
    Probe(Box<crate::cmd_probe::ProbeArgs>),
    /// Unpack a .wxapkg package (plain or PC-encrypted) into a folder in source shape:
    /// modules split out of app-service.js, app.json and page configs out of app-config.json.
    /// `miniguard scan` reads packages directly.
    Unpack(crate::cmd_unpack::UnpackArgs),
    /// A consistent copy of `serve`'s SQLite database, taken while the server runs.
    ///
    /// The copy is one moment of the database (SQLite's VACUUM INTO), checked before it gets
    /// its name; an existing file is never overwritten. Restore: stop the server, copy the
    /// backup over the database file, start. PostgreSQL is backed up with pg_dump or base
    /// backups instead. Uploaded files are not in the database: copy the uploads folder too.
    #[command(after_help = crate::cmd_backup::BACKUP_EXAMPLES)]
    Backup(crate::cmd_backup::BackupArgs),
}

const SCAN_EXAMPLES: &str = "\
Examples:
  miniguard scan .
  miniguard scan app --format sarif --output results.sarif
  miniguard scan app --select injection,T001 --fail-on medium
  miniguard scan app --write-baseline .miniguard-baseline.json
  miniguard scan app --baseline .miniguard-baseline.json     # only new findings

Suppress one finding with a comment on or above its line:
  // miniguard-ignore T001: staging host, never shipped";

const DEPS_EXAMPLES: &str = "\
Examples:
  miniguard deps .                                   # table of vulnerable packages
  miniguard deps . --format sarif --output deps.sarif
  miniguard deps . --sbom cyclonedx --output bom.json
  miniguard db update                                # current advisories (OSV npm data)
  miniguard deps . --db path/to/osv-dir-or-zip";

const SERVE_EXAMPLES: &str = "\
Examples:
  miniguard serve --dev                                # https://127.0.0.1:8443, fake WeChat login
  miniguard serve --dev --listen 127.0.0.1:9443 --data-dir .miniguard-dev
  MINIGUARD_WECHAT_SECRET=... miniguard serve --config miniguard.toml
  miniguard audit-log verify --db /var/lib/miniguard/miniguard.db --config miniguard.toml
  miniguard audit-log anchor --db /var/lib/miniguard/miniguard.db --config miniguard.toml -o head.json
  miniguard keys generate --out /etc/miniguard/data-keys   # the keyring for data_keys_file";

#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum FormatArg {
    /// Human-readable report (the default): findings with code frames for `scan`, a table for `deps`.
    Text,
    /// Stable JSON, documented in docs/json-format.md.
    Json,
    /// SARIF 2.1.0 for code scanning.
    Sarif,
    /// One self-contained HTML page.
    Html,
}

#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum SeverityArg {
    Info,
    Low,
    Medium,
    High,
    Critical,
    /// Never fail because of findings.
    Never,
}

/// A severity, as `--min-severity` takes it.
#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum LevelArg {
    Info,
    Low,
    Medium,
    High,
    Critical,
}

#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum ColorArg {
    Auto,
    Always,
    Never,
}

#[derive(Args, Debug)]
pub struct ScanArgs {
    /// The project folder (or a single file) to audit.
    #[arg(default_value = ".")]
    pub path: PathBuf,

    /// Output format.
    #[arg(long, short = 'f', value_enum, ignore_case = true, default_value_t = FormatArg::Text)]
    pub format: FormatArg,

    /// Write the report to FILE instead of standard output.
    #[arg(long, short = 'o', value_name = "FILE")]
    pub output: Option<PathBuf>,

    /// Exit with 1 when a finding has at least this severity [default: high].
    #[arg(long, value_enum, ignore_case = true, value_name = "SEVERITY")]
    pub fail_on: Option<SeverityArg>,

    /// List findings of at least this severity; the others are only counted in the summary
    /// [default: low]. `info` is what cannot hurt a released build: settings that only the
    /// developer tools read, logs only the phone's owner sees (see docs/severity.md).
    #[arg(long, value_enum, ignore_case = true, value_name = "SEVERITY")]
    pub min_severity: Option<LevelArg>,

    /// Configuration file [default: miniguard.toml in PATH, if present].
    #[arg(long, short = 'c', value_name = "FILE")]
    pub config: Option<PathBuf>,

    /// Report only findings not in this baseline file.
    #[arg(long, value_name = "FILE")]
    pub baseline: Option<PathBuf>,

    /// Report only findings on lines changed since REF (a branch, tag or commit; compared from
    /// the merge base of REF and HEAD to the working tree), or whose data flow passes through
    /// one: a pull request is judged by what it touches. Needs git.
    #[arg(long, value_name = "REF")]
    pub diff_base: Option<String>,

    /// Write every current finding to FILE as the new baseline (exit code 0).
    #[arg(long, value_name = "FILE")]
    pub write_baseline: Option<PathBuf>,

    /// Run only these rules or categories (comma separated codes, names or categories:
    /// `T001,sql-injection,xss`).
    #[arg(long, value_delimiter = ',', value_name = "RULES")]
    pub select: Vec<String>,

    /// Do not run these rules or categories.
    #[arg(long, value_delimiter = ',', value_name = "RULES")]
    pub ignore: Vec<String>,

    /// Leave out files matching these gitignore-style globs (repeatable).
    #[arg(long, value_name = "GLOB")]
    pub exclude: Vec<String>,

    /// Also scan node_modules, miniprogram_npm and build output.
    #[arg(long)]
    pub include_vendor: bool,

    /// Advisory database for the `dependency` rules: an OSV directory or zip [default: the cache
    /// of `db update`, else the embedded snapshot].
    #[arg(long, value_name = "PATH")]
    pub db: Option<PathBuf>,

    /// Number of parallel jobs [default: number of CPUs].
    #[arg(long, short = 'j', value_name = "N")]
    pub jobs: Option<usize>,

    /// Skip files larger than this (bytes, or with K/M suffix) [default: 2M].
    #[arg(long, value_name = "SIZE")]
    pub max_file_size: Option<String>,

    /// Do not show a progress bar.
    #[arg(long)]
    pub no_progress: bool,

    /// When to use colours in text output.
    #[arg(long, value_enum, default_value_t = ColorArg::Auto)]
    pub color: ColorArg,
}

#[derive(Args, Debug)]
pub struct RulesArgs {
    /// Print the documentation of this rule (code or name), or the rules of a category
    /// (`xss`, `secrets`...).
    pub rule: Option<String>,

    /// Print the rule table as JSON.
    #[arg(long, conflicts_with = "markdown")]
    pub json: bool,

    /// Print the rule table as Markdown (the table in README.md).
    #[arg(long)]
    pub markdown: bool,

    /// Write one Markdown page per rule, and an index, into DIR (how docs/rules is made).
    #[arg(long, value_name = "DIR")]
    pub write_docs: Option<std::path::PathBuf>,

    /// Print the built-in taint specification (sources, sanitizers, sinks and the APIs they
    /// name), the format `[scan.taint]` of miniguard.toml adds rows in (docs/taint-spec.md).
    #[arg(long, conflicts_with_all = ["json", "markdown", "write_docs", "rule"])]
    pub taint_spec: bool,
}

#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum SbomArg {
    /// CycloneDX 1.5 JSON.
    Cyclonedx,
}

#[derive(Args, Debug)]
pub struct DepsArgs {
    /// The project folder to audit.
    #[arg(default_value = ".")]
    pub path: PathBuf,

    /// Output format; here text is a table of the vulnerable packages.
    #[arg(long, short = 'f', value_enum, ignore_case = true, default_value_t = FormatArg::Text)]
    pub format: FormatArg,

    /// Write the report (or the SBOM) to FILE instead of standard output.
    #[arg(long, short = 'o', value_name = "FILE")]
    pub output: Option<PathBuf>,

    /// Write a software bill of materials instead of the report.
    #[arg(long, value_enum, value_name = "FORMAT")]
    pub sbom: Option<SbomArg>,

    /// Advisory database: an OSV directory or zip, or `embedded` for the snapshot built in
    /// [default: the cache of `db update`, else the embedded snapshot].
    #[arg(long, value_name = "PATH")]
    pub db: Option<PathBuf>,

    /// Exit with 1 when a finding has at least this severity [default: high].
    #[arg(long, value_enum, ignore_case = true, value_name = "SEVERITY")]
    pub fail_on: Option<SeverityArg>,

    /// Leave out development-only dependencies.
    #[arg(long)]
    pub no_dev: bool,

    /// Configuration file, for `[[deps.ignore]]` [default: miniguard.toml in PATH, if present].
    #[arg(long, short = 'c', value_name = "FILE")]
    pub config: Option<PathBuf>,

    /// When to use colours in text output.
    #[arg(long, value_enum, default_value_t = ColorArg::Auto)]
    pub color: ColorArg,
}

#[derive(Args, Debug)]
pub struct DbArgs {
    #[command(subcommand)]
    pub command: DbCommand,
}

#[derive(Subcommand, Debug)]
pub enum DbCommand {
    /// Which database is used, how many advisories it holds, and how old it is.
    Info {
        /// An OSV directory or zip to describe instead of the default database.
        #[arg(long, value_name = "PATH")]
        db: Option<PathBuf>,
    },
    /// Load current OSV npm advisories into the cache. A failed or interrupted update leaves
    /// the previous database in place.
    Update {
        /// An OSV `all.zip` file or an https:// URL [default: the OSV project's npm all.zip].
        #[arg(long, value_name = "FILE_OR_URL")]
        from: Option<String>,
        /// Where to keep the database [default: $MINIGUARD_CACHE_DIR, $XDG_CACHE_HOME or
        /// ~/.cache, /miniguard/advisories.zip].
        #[arg(long, value_name = "FILE")]
        cache: Option<PathBuf>,
    },
}

#[derive(Args, Debug)]
#[command(group(clap::ArgGroup::new("mode").required(true).multiple(true).args(["dev", "config"])))]
pub struct ServeArgs {
    /// Development mode: self-signed certificate for localhost, throwaway data, and a local fake
    /// of the WeChat, Douyin and Alipay login APIs that log in `dev:<name>` codes. Loopback
    /// addresses only.
    #[arg(long)]
    pub dev: bool,

    /// Configuration file with the server settings (listen, database, tls, wechat). With --dev,
    /// only its `[collections.*]`, `[server.limits]` and `[server] rich_text_image_hosts` are used.
    #[arg(long, short = 'c', value_name = "FILE")]
    pub config: Option<PathBuf>,

    /// Address to listen on [default: 127.0.0.1:8443 with --dev, else `listen` of the
    /// configuration].
    #[arg(long, value_name = "ADDR")]
    pub listen: Option<std::net::SocketAddr>,

    /// Where --dev keeps its database and certificate [default: a temporary directory, removed
    /// at exit].
    #[arg(long, value_name = "DIR", requires = "dev")]
    pub data_dir: Option<PathBuf>,

    /// The database as a URL: `postgres://USER@HOST:PORT/DATABASE` runs on PostgreSQL (several
    /// instances may share it), `sqlite:FILE` on a SQLite file. Overrides `database` and
    /// `database_url` of the configuration; with --dev, replaces the SQLite file in the data
    /// directory [env: MINIGUARD_DATABASE_URL].
    #[arg(long, value_name = "URL")]
    pub database_url: Option<String>,

    /// Redis shared by several instances on one database: `redis://HOST:PORT/DB` (or
    /// `rediss://` for TLS). Nonces of signed requests, rate limits and logouts then hold across
    /// instances; Redis must not evict keys (maxmemory-policy noeviction). Overrides `redis_url`
    /// of the configuration [env: MINIGUARD_REDIS_URL].
    #[arg(long, value_name = "URL")]
    pub redis_url: Option<String>,

    /// Serve plain HTTP for a TLS-terminating reverse proxy in front (the configuration must
    /// then have no server TLS settings, and must name the proxy in trusted_proxies: without it
    /// the server refuses to start); X-Forwarded-For is read only from its trusted_proxies.
    #[arg(long, requires = "config", conflicts_with = "dev")]
    pub insecure_http_behind_proxy: bool,
}

#[derive(Args, Debug)]
pub struct AuditLogArgs {
    #[command(subcommand)]
    pub command: AuditLogCommand,
}

#[derive(Subcommand, Debug)]
pub enum AuditLogCommand {
    /// Walk the keyed hash chain and report any edited, deleted, reordered or re-hashed entry;
    /// with --anchor, also a rewrite or a cut-off tail since that anchor was exported.
    ///
    /// Exit codes: 0 intact, 1 tampered, 2 error (no database, or keyed entries and no key).
    Verify {
        /// The server's SQLite database.
        #[arg(long, value_name = "PATH")]
        db: PathBuf,
        #[command(flatten)]
        key: AuditKeyArgs,
        /// An anchor file written by `audit-log anchor`: the entry it names must still be there,
        /// with the same hash.
        #[arg(long, value_name = "FILE")]
        anchor: Option<PathBuf>,
    },
    /// Verify the chain, then write its head (id and keyed hash) as an anchor file. Keep it
    /// where the database's owner cannot write (a ticket, another system, write-once storage);
    /// `verify --anchor` then detects a rewrite or truncation of everything before it.
    Anchor {
        /// The server's SQLite database.
        #[arg(long, value_name = "PATH")]
        db: PathBuf,
        #[command(flatten)]
        key: AuditKeyArgs,
        /// Write the anchor to FILE instead of standard output.
        #[arg(long, short = 'o', value_name = "FILE")]
        out: Option<PathBuf>,
    },
    /// Print a new audit key (base64 of 32 random bytes) for `audit_key_env` / `audit_key_file`.
    Keygen {
        /// Write it to FILE (created with mode 0600, never overwritten) instead of standard output.
        #[arg(long, short = 'o', value_name = "FILE")]
        out: Option<PathBuf>,
    },
}

/// Where the audit key comes from (at most one).
#[derive(Args, Debug)]
#[group(multiple = false)]
pub struct AuditKeyArgs {
    /// A file holding the audit key.
    #[arg(long, value_name = "FILE")]
    pub key_file: Option<PathBuf>,
    /// An environment variable holding the audit key.
    #[arg(long, value_name = "VAR")]
    pub key_env: Option<String>,
    /// The server's miniguard.toml: its `audit_key_env` or `audit_key_file`.
    #[arg(long, short = 'c', value_name = "FILE")]
    pub config: Option<PathBuf>,
}

#[derive(Args, Debug)]
pub struct KeysArgs {
    #[command(subcommand)]
    pub command: KeysCommand,
}

#[derive(Subcommand, Debug)]
pub enum KeysCommand {
    /// Make a fresh AES-256 data-encryption key as a keyring line (`ID:BASE64`), the format of
    /// `data_keys_env` / `data_keys_file` in the server section of miniguard.toml.
    ///
    /// Without --out the line alone goes to standard output (for
    /// `export MINIGUARD_DATA_KEYS=$(miniguard keys generate)`) and the instructions to standard
    /// error. Keep a backup: data encrypted under a lost key cannot be recovered.
    #[command(after_help = KEYS_EXAMPLES)]
    Generate {
        /// Write the line to FILE, created with mode 0600 (owner read/write only), instead of
        /// printing it.
        #[arg(long, short = 'o', value_name = "FILE")]
        out: Option<PathBuf>,

        /// Replace FILE if it exists (its old key is lost: only for a key never used).
        #[arg(long, requires = "out")]
        force: bool,

        /// The key id. When rotating, give the next id and add the line to the existing ones
        /// (`1:OLD,2:NEW`); the highest id encrypts, all decrypt.
        #[arg(long, value_name = "N", default_value_t = 1)]
        id: u32,
    },
    /// Rotate the data key: append a new key to `data_keys_file` (old keys kept), then
    /// re-encrypt every envelope under an older key, one transaction per batch. Safe to rerun
    /// after a crash (`--resume` finishes without adding another key).
    ///
    /// A running server must be restarted after the key is added before it can read
    /// re-encrypted values: with a server running, use `--add-only`, restart it, then `--resume`.
    Rotate {
        /// The miniguard.toml with the server section (database, data keys, collections).
        #[arg(long, value_name = "FILE")]
        config: PathBuf,
        /// Only re-encrypt to the newest key already in the keyring (finish an interrupted run).
        #[arg(long, conflicts_with = "add_only")]
        resume: bool,
        /// Only add the new key to the file; re-encrypt later with `--resume`.
        #[arg(long)]
        add_only: bool,
        /// Rows per transaction.
        #[arg(long, value_name = "N", default_value_t = 500)]
        batch: usize,
        /// Stop after re-encrypting N envelopes (the rest waits for the next `--resume`).
        #[arg(long, value_name = "N")]
        limit: Option<u64>,
    },
    /// How many envelopes of each table use each key id.
    Status {
        /// The miniguard.toml with the server section.
        #[arg(long, value_name = "FILE")]
        config: PathBuf,
    },
    /// Remove key N from `data_keys_file`; refused while any envelope uses it, and for the newest.
    Retire {
        /// The miniguard.toml with the server section.
        #[arg(long, value_name = "FILE")]
        config: PathBuf,
        /// The key id to remove.
        #[arg(long, value_name = "N")]
        id: u32,
    },
}

const KEYS_EXAMPLES: &str = "\
Examples:
  miniguard keys generate --out /etc/miniguard/data-keys   # then: data_keys_file = \"/etc/miniguard/data-keys\"
  export MINIGUARD_DATA_KEYS=$(miniguard keys generate)     # then: data_keys_env = \"MINIGUARD_DATA_KEYS\"
  miniguard keys generate --id 2                            # a rotation: append to the existing line";

#[derive(Args, Debug)]
pub struct AccountsArgs {
    #[command(subcommand)]
    pub command: AccountsCommand,
}

/// A staff role.
#[derive(Clone, Copy, Debug, ValueEnum)]
pub enum StaffRole {
    Admin,
    Operator,
}

#[derive(Subcommand, Debug)]
pub enum AccountsCommand {
    /// Create a staff account. The password is read from standard input (first line), never
    /// from the command line; it must be 12 to 128 characters, not a common password, not
    /// containing the username, not keyboard rows or sequences. The account must enrol TOTP at
    /// its first `POST /v1/admin/login`.
    ///
    /// Exit codes: 0 created, 2 error (weak password, taken username, ...).
    #[command(after_help = ACCOUNTS_EXAMPLES)]
    Create {
        /// The server's SQLite database (created and migrated if needed).
        #[arg(long, value_name = "PATH")]
        db: PathBuf,
        /// 3 to 64 of a-z, 0-9, '.', '_', '-' (upper case is lowered).
        #[arg(long)]
        username: String,
        /// The account's role: admin or operator.
        #[arg(long, value_enum)]
        role: StaffRole,
        /// The audit key, to chain the `account.created` entry (required once the server has
        /// written keyed entries).
        #[command(flatten)]
        audit_key: AuditKeyArgs,
    },
    /// End every session now: every user's access and refresh tokens are revoked in the
    /// database, so every client (staff included) must log in again. Audited as
    /// `sessions.ended_all`. Running instances refuse the tokens within a second (they read the
    /// database's count of ends once a second); with Redis they are also told at once.
    ///
    /// The database is --db (SQLite), --database-url, or the one of --config (the server's
    /// miniguard.toml, which also gives redis_url and the audit key).
    ///
    /// Exit codes: 0 ended, 2 error (no database named, unreachable database, ...). Redis not
    /// answering is a warning: the database ended the sessions, the instances follow it.
    #[command(after_help = END_SESSIONS_EXAMPLES)]
    EndSessions {
        /// The server's SQLite database (`miniguard.db` in serve's --data-dir).
        #[arg(long, value_name = "PATH", conflicts_with = "database_url")]
        db: Option<PathBuf>,
        /// The database as a URL: `postgres://USER@HOST:PORT/DATABASE` or `sqlite:FILE`
        /// [env: MINIGUARD_DATABASE_URL].
        #[arg(long, value_name = "URL")]
        database_url: Option<String>,
        /// The Redis the instances share, to tell them at once: `redis://HOST:PORT/DB` or
        /// `rediss://` [env: MINIGUARD_REDIS_URL].
        #[arg(long, value_name = "URL")]
        redis_url: Option<String>,
        /// The audit key the end is chained with (and, with --config, the database and Redis
        /// of that file). Without one, the `dev-audit-key` beside a --db file is used when it is
        /// there.
        #[command(flatten)]
        audit_key: AuditKeyArgs,
    },
}

const END_SESSIONS_EXAMPLES: &str = "\
Examples:
  miniguard accounts end-sessions --config /etc/miniguard/miniguard.toml
  miniguard accounts end-sessions --database-url postgres://miniguard@db.internal/miniguard \\
      --redis-url redis://cache.internal:6379/0 --key-file /etc/miniguard/audit-key
  miniguard accounts end-sessions --db .shop-data/miniguard.db";

const ACCOUNTS_EXAMPLES: &str = "\
Examples:
  miniguard accounts create --db /var/lib/miniguard/miniguard.db --username ops.chief --role admin \
      --config /etc/miniguard/miniguard.toml
  (then type the password and press Enter, or pipe it: ... < password-file)";
