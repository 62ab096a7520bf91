use crate::events::{Cx, Event};
use crate::rules::{Rule, RuleMeta};
use crate::value::{Kind, Sanitized, SourceKind, Taint, Value};
use miniguard_report::msg;

crate::declare_rule! {
    /// ## What it finds
    /// A file-system path built from untrusted input (a cloud function `event`, an HTTP
    /// request's body, query, params or headers) that reaches a file operation: `fs.readFile`,
    /// `createReadStream`, `writeFile`, `appendFile`, `unlink`, `rm`, `readdir`, `stat`,
    /// `access`, `open`, `exists`, `mkdir`, `copyFile`, `rename` and their `Sync` /
    /// `fs.promises` / `fs/promises` / `fs-extra` forms, Express `res.sendFile` /
    /// `res.download`, and koa-send `send(ctx, path)`. Paths joined with `path.join` /
    /// `path.resolve` keep the input's taint.
    ///
    /// Not reported: `path.basename(x)` (keeps only the file name), values looked up in a fixed
    /// table, numbers, constants, `res.sendFile(name, { root })` (the `send` module refuses to
    /// leave `root`), and the temporary path an upload middleware gives a received file
    /// (`req.file.path`, `ctx.request.files[0].filepath`), which the server chose.
    /// `ctx.attachment(name)` only names the download and is not a file access.
    ///
    /// ## Why it matters
    /// `../` sequences (and absolute paths) walk out of the intended folder: `../../.env`,
    /// `/etc/passwd`, the cloud function's own source with its keys, or, when writing, a file
    /// that the server later executes or serves.
    ///
    /// ## Example
    /// ```js
    /// router.get('/download', (req, res) => {
    ///   res.sendFile(path.join(__dirname, 'exports', req.query.file))
    /// })
    /// ```
    ///
    /// ## Fix
    /// Reduce the input to a file name with `path.basename`, or map an identifier to a path
    /// through a fixed table; when a sub-path is needed, `path.resolve` it and check that the
    /// result starts with the base folder plus a separator. For Express use
    /// `res.sendFile(name, { root: dir })`.
    ///
    /// ## References
    /// - CWE-22: Improper Limitation of a Pathname to a Restricted Directory ('Path Traversal')
    /// - OWASP Path Traversal
    pub struct PathTraversal {
        code: "I005",
        name: "path-traversal",
        category: Injection,
        severity: High,
        confidence: High,
        cwe: [22],
        summary: "File path built from untrusted input",
    }
}

/// File operations by name (the `Sync` suffix removed) and how many leading arguments are
/// paths.
const FS_OPS: &[(&str, usize)] = &[
    ("readFile", 1),
    ("createReadStream", 1),
    ("createWriteStream", 1),
    ("writeFile", 1),
    ("appendFile", 1),
    ("unlink", 1),
    ("rm", 1),
    ("rmdir", 1),
    ("remove", 1),
    ("readdir", 1),
    ("stat", 1),
    ("lstat", 1),
    ("access", 1),
    ("open", 1),
    ("exists", 1),
    ("mkdir", 1),
    ("copyFile", 2),
    ("copy", 2),
    ("rename", 2),
    ("move", 2),
    ("symlink", 2),
    ("link", 2),
    ("truncate", 1),
    ("chmod", 1),
    ("readJson", 1),
    ("readJSON", 1),
    ("writeJson", 1),
    ("writeJSON", 1),
    ("outputFile", 1),
    ("outputJson", 1),
    ("ensureFile", 1),
    ("emptyDir", 1),
    ("opendir", 1),
    ("realpath", 1),
    ("readlink", 1),
];

impl Rule for PathTraversal {
    fn meta(&self) -> &'static RuleMeta {
        &Self::META
    }

    fn check(&self, cx: &mut Cx<'_>, event: &Event<'_, '_>) {
        let Event::Call(call) = event else { return };
        let Some(path) = call.path else { return };
        let (first, count, what) = if let Some(op) = fs_op(path) {
            let Some(&(_, n)) = FS_OPS.iter().find(|(name, _)| *name == op) else {
                return;
            };
            (0, n, msg!("I005.file-path"))
        } else {
            match path {
                "@res.sendFile" | "@res.sendfile" | "@res.download" => {
                    // `{ root }` makes `send` refuse paths that leave it.
                    if call.args.iter().any(|a| a.field("root").is_some()) {
                        return;
                    }
                    (0, 1, msg!("I005.file-sent"))
                }
                // koa-send: `send(ctx, path, { root })`: the root is enforced too.
                "koa-send" | "@koa/send" => {
                    if call.args.iter().any(|a| a.field("root").is_some()) {
                        return;
                    }
                    (1, 1, msg!("I005.file-sent"))
                }
                _ => return,
            }
        };
        for i in first..first + count {
            let Some(v) = call.arg(i) else { continue };
            if matches!(v.kind, Kind::Func(_)) {
                continue;
            }
            if let Some(taint) = untrusted(cx, v) {
                cx.report_flow(&Self::META, call.arg_span(i), &taint, what)
                    .help(msg!("I005.help"));
                return;
            }
        }
    }
}

/// The operation name of a file-system call path (`fs.promises.readFile` → `readFile`,
/// `fs.readFileSync` → `readFile`, `fs-extra.outputFile` → `outputFile`).
fn fs_op(path: &str) -> Option<&str> {
    let rest = [
        "fs.promises.",
        "fs.",
        "fs-extra.",
        "graceful-fs.",
        "mz.fs.",
        "mz/fs.",
    ]
    .iter()
    .find_map(|p| path.strip_prefix(p))?;
    if rest.contains('.') || rest.contains('(') {
        return None;
    }
    Some(rest.strip_suffix("Sync").unwrap_or(rest))
}

fn untrusted(cx: &Cx<'_>, v: &Value<'_>) -> Option<Taint> {
    let taint = v.attacker_taint(SourceKind::SERVER_INPUT, Sanitized::PATH)?;
    if cx.is_guarded(&taint) {
        return None;
    }
    let what = taint.origin.as_ref().map_or("", |o| &*o.what);
    if is_upload_temp_path(what) {
        return None;
    }
    Some(taint)
}

/// The server-chosen temporary path of an uploaded file (multer `req.file.path`, formidable and
/// egg `filepath`, express-fileupload `tempFilePath`, koa-body `files.x.path`).
fn is_upload_temp_path(what: &str) -> bool {
    let w = what.trim();
    w.contains("file")
        && (w.ends_with(".path") || w.ends_with(".filepath") || w.ends_with(".tempFilePath"))
}
