use crate::events::{Cx, Event};
use crate::rules::{Rule, RuleMeta};
use crate::spec::{SinkKind, spec};
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

impl Rule for PathTraversal {
    fn meta(&self) -> &'static RuleMeta {
        &Self::META
    }

    fn check(&self, cx: &mut Cx<'_>, event: &Event<'_, '_>) {
        let Event::Call(call) = event else { return };
        let Some(path) = call.path else { return };
        // File operations (`fs`, `fs-extra`, ...) and files sent in a response, with the
        // arguments that are paths, as the specification lists them.
        let (sink, what) = if let Some(op) = fs_op(path) {
            let Some(sink) = spec().sink_by_method(SinkKind::FilePath, op) else {
                return;
            };
            (sink, msg!("I005.file-path"))
        } else {
            let Some(sink) = spec().sink_by_call(SinkKind::FileSent, path) else {
                return;
            };
            // `{ root }` makes express's `send` and koa-send refuse paths that leave it.
            if call.args.iter().any(|a| a.field("root").is_some()) {
                return;
            }
            (sink, msg!("I005.file-sent"))
        };
        for i in sink.arguments(call.args.len()) {
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
