use crate::events::{Cx, Event};
use crate::rules::{Rule, RuleMeta};
use crate::spec::{SinkKind, spec};
use crate::value::{Sanitized, SourceKind};
use miniguard_report::msg;

crate::declare_rule! {
    /// ## What it finds
    /// A SQL statement built from untrusted input (a cloud function `event`, an HTTP request's
    /// body, query, params or headers) by concatenation or a template literal, and passed to a
    /// query method: `query`, `execute`, `raw`, `$queryRawUnsafe`, `run`, `all`, ... of mysql,
    /// mysql2, pg, sequelize, knex, sqlite3, egg-mysql, Prisma, or any wrapper with those names.
    ///
    /// Also a condition fragment built from such input and given to a query builder of
    /// typeorm (`createQueryBuilder('u').where("u.name = '" + name + "'")`, `andWhere`,
    /// `orWhere`, `having`) or to knex's raw conditions (`whereRaw('id = ' + id)`,
    /// `orderByRaw`), where the text is SQL as written.
    ///
    /// Values passed as bound parameters (`query('... WHERE id = ?', [id])`), numbers
    /// (`parseInt`, `Number`) and values escaped with the driver's `escape` are not reported.
    ///
    /// ## Why it matters
    /// Whoever controls the input controls the statement: `1 OR 1=1` reads every row,
    /// `1; DROP TABLE users` destroys data, `UNION SELECT` reads other tables.
    ///
    /// ## Example
    /// ```js
    /// exports.main = async (event) => {
    ///   return db.query(`SELECT * FROM orders WHERE user = '${event.user}'`)
    /// }
    /// ```
    ///
    /// ## Fix
    /// Use placeholders and pass the values separately:
    /// `db.query('SELECT * FROM orders WHERE user = ?', [event.user])`.
    ///
    /// ## References
    /// - CWE-89: Improper Neutralization of Special Elements used in an SQL Command
    /// - OWASP SQL Injection Prevention Cheat Sheet
    pub struct SqlInjection {
        code: "I001",
        name: "sql-injection",
        category: Injection,
        severity: Critical,
        confidence: High,
        cwe: [89],
        summary: "SQL statement built from untrusted input",
    }
}

impl Rule for SqlInjection {
    fn meta(&self) -> &'static RuleMeta {
        &Self::META
    }

    fn check(&self, cx: &mut Cx<'_>, event: &Event<'_, '_>) {
        let Event::Call(call) = event else { return };
        let Some(method) = call.method else { return };
        let sinks = spec();
        // A raw condition is SQL text; a query builder's `where` also takes an object (bound
        // parameters), so there only a string counts.
        let condition = sinks
            .sink_by_method(SinkKind::SqlRawCondition, method)
            .map(|s| (s, false))
            .or_else(|| {
                sinks
                    .sink_by_method(SinkKind::SqlBuilderCondition, method)
                    .filter(|_| cx.text(call.callee_span).contains("QueryBuilder("))
                    .map(|s| (s, true))
            });
        if let Some((sink, text_only)) = condition
            && let Some(fragment) = call.arg(sink.first())
            && (!text_only || fragment.text.is_some())
            && let Some(taint) = fragment.attacker_taint(SourceKind::SERVER_INPUT, Sanitized::SQL)
        {
            cx.report_flow(
                &Self::META,
                call.arg_span(sink.first()),
                &taint,
                msg!("I001.condition"),
            )
            .help(msg!("I001.condition-help"));
            return;
        }
        let Some(sink) = sinks.sink_by_method(SinkKind::SqlStatement, method) else {
            return;
        };
        // `child_process.exec` and friends belong to the command injection rule.
        if call
            .path
            .is_some_and(|p| p.starts_with("child_process") || p.starts_with("shelljs"))
        {
            return;
        }
        let Some(sql) = call.arg(sink.first()) else {
            return;
        };
        if !looks_like_sql(sql.text.as_deref().unwrap_or("")) {
            return;
        }
        let Some(taint) = sql.attacker_taint(SourceKind::SERVER_INPUT, Sanitized::SQL) else {
            return;
        };
        cx.report_flow(
            &Self::META,
            call.arg_span(sink.first()),
            &taint,
            msg!("I001.statement"),
        )
        .help(msg!("I001.help"));
    }
}

/// Whether the known parts of a text are a SQL statement.
pub(crate) fn looks_like_sql(text: &str) -> bool {
    let lower = text.to_ascii_lowercase();
    let words: Vec<&str> = lower
        .split(|c: char| !c.is_ascii_alphanumeric() && c != '_')
        .filter(|w| !w.is_empty())
        .collect();
    let has = |w: &str| words.contains(&w);
    (has("select") && has("from"))
        || (has("insert") && has("into"))
        || (has("update") && has("set"))
        || (has("delete") && has("from"))
        || (has("replace") && has("into"))
        || has("where") && (has("and") || has("or") || lower.contains('='))
        || (has("order") && has("by"))
        || (has("drop") && has("table"))
}
