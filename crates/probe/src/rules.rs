//! The probe's checks as rules of the report crate: stable codes (the `1xx` numbers of each
//! category letter belong to `probe`; `scan` uses `0xx`), names, severities, CWE ids and docs.

use miniguard_report::{Category, Confidence, Msg, RuleInfo, Severity};

/// One check's metadata.
pub struct ProbeRule {
    pub code: &'static str,
    pub name: &'static str,
    pub category: Category,
    pub severity: Severity,
    pub confidence: Confidence,
    pub cwe: &'static [u32],
    pub summary: &'static str,
    pub fix: &'static str,
    /// [`ProbeRule::fix`] as a message of the tables (`probe-fix.<code>`), so that a finding's
    /// help reads in the reader's language.
    pub fix_msg: fn() -> Msg,
}

impl ProbeRule {
    pub fn info(&self) -> RuleInfo {
        RuleInfo {
            code: self.code.into(),
            name: self.name.into(),
            category: self.category,
            severity: self.severity,
            confidence: self.confidence,
            cwe: self.cwe.to_vec(),
            summary: self.summary.into(),
            docs: format!(
                "## What it finds\n\n{}\n\n## Fix\n\n{}\n\n## References\n\n{}\n",
                self.summary,
                self.fix,
                self.cwe
                    .iter()
                    .map(|c| format!("- CWE-{c}: https://cwe.mitre.org/data/definitions/{c}.html"))
                    .collect::<Vec<_>>()
                    .join("\n")
            ),
        }
    }
}

macro_rules! rule {
    ($id:ident, $code:literal, $name:literal, $cat:ident, $sev:ident, $conf:ident, [$($cwe:literal),*], $summary:literal, $fix:literal) => {
        pub const $id: ProbeRule = ProbeRule {
            code: $code,
            name: $name,
            category: Category::$cat,
            severity: Severity::$sev,
            confidence: Confidence::$conf,
            cwe: &[$($cwe),*],
            summary: $summary,
            fix: $fix,
            fix_msg: || miniguard_report::msg!(concat!("probe-fix.", $code)),
        };
    };
}

rule!(
    PLAIN_HTTP,
    "T101",
    "plain-http-answering",
    Transport,
    High,
    High,
    [319],
    "The backend answers requests over plain HTTP, so anyone on the path reads and changes them.",
    "Serve HTTPS only (TLS 1.2+); answer port 80 with a redirect at most, never with data."
);
rule!(
    TLS_CERTIFICATE,
    "T102",
    "tls-certificate-invalid",
    Transport,
    High,
    High,
    [295],
    "The TLS certificate does not verify: untrusted chain, wrong host name, expired or not yet valid.",
    "Install a certificate from a trusted CA for the host name and renew it before it expires."
);
rule!(
    MISSING_HSTS,
    "T103",
    "missing-hsts",
    Transport,
    Medium,
    High,
    [319],
    "HTTPS answers carry no Strict-Transport-Security header, so a first plain request can be downgraded.",
    "Send `Strict-Transport-Security: max-age=31536000; includeSubDomains` on every HTTPS answer."
);
rule!(
    MISSING_SECURITY_HEADERS,
    "C101",
    "missing-security-headers",
    Config,
    Low,
    High,
    [693],
    "Answers lack `X-Content-Type-Options: nosniff`, so browsers may sniff JSON or uploads as HTML or script.",
    "Send `X-Content-Type-Options: nosniff` on every answer (and a CSP and frame denial on HTML)."
);
rule!(
    CORS_REFLECTION,
    "C102",
    "cors-origin-reflected-with-credentials",
    Config,
    High,
    High,
    [942],
    "Any Origin is echoed in Access-Control-Allow-Origin together with Allow-Credentials, so every website can read users' data with their cookies.",
    "Allow-list the origins that may call the API; never echo the request's Origin with credentials."
);
rule!(
    ERROR_DETAILS,
    "C103",
    "error-details-leaked",
    Config,
    Medium,
    High,
    [209],
    "Answers carry stack traces or database error messages, which map the code and help injection.",
    "Answer errors with a generic message and a request id; log the details on the server."
);
rule!(
    OPEN_REDIRECT,
    "C104",
    "open-redirect",
    Config,
    Medium,
    High,
    [601],
    "A parameter sends the browser to any site it names, which phishing uses to borrow the backend's name.",
    "Redirect only to relative paths or an allow-list of hosts."
);
rule!(
    ROUTE_WITHOUT_AUTH,
    "A101",
    "route-answers-without-credentials",
    Auth,
    High,
    High,
    [306, 862],
    "A route that the OpenAPI document declares as secured answers with data to a request without credentials.",
    "Enforce the declared access in one layer that every route passes through."
);
rule!(
    BOLA,
    "A102",
    "object-of-another-user-readable",
    Auth,
    High,
    High,
    [639],
    "One user's object (by id) is returned to another user (BOLA/IDOR): the lookup checks the id, not the owner.",
    "Check ownership (or an explicit sharing rule) on every read and write by id."
);
rule!(
    MASS_ASSIGNMENT,
    "A103",
    "mass-assignment",
    Auth,
    High,
    High,
    [915],
    "A write accepts and stores a privileged field the client should not set (role, owner, price).",
    "Validate writes against a schema that lists the fields a client may set; reject the rest."
);
rule!(
    CLIENT_IDENTITY,
    "A104",
    "client-sent-identity-honoured",
    Auth,
    Critical,
    High,
    [639, 290],
    "A secured route serves a user's data when the client names the user (openid, userId) instead of proving a session.",
    "Take the user from the server-side session only; ignore identities sent in parameters or bodies."
);
rule!(
    NO_THROTTLING,
    "A105",
    "no-brute-force-throttling",
    Auth,
    Medium,
    Medium,
    [307],
    "A password login answers many wrong guesses in a row without throttling or lockout.",
    "Limit attempts per account and per client (429 with Retry-After), and lock out after repeated failures."
);
rule!(
    TOKEN_IN_URL,
    "A106",
    "token-in-url",
    Auth,
    Medium,
    High,
    [598],
    "A session token is put into a URL, where logs, proxies, history and Referer headers keep it.",
    "Send tokens in the Authorization header or a body, never in a URL."
);
rule!(
    SQL_INJECTION,
    "I101",
    "sql-injection",
    Injection,
    Critical,
    High,
    [89],
    "A parameter is concatenated into SQL: a quote causes a database error, or true and false conditions change the answer.",
    "Bind every value as a query parameter; never build SQL from input."
);
rule!(
    PATH_TRAVERSAL,
    "I103",
    "path-traversal",
    Injection,
    High,
    High,
    [22],
    "A parameter names a file and `../` reaches files outside the intended folder (/etc/passwd was read).",
    "Map names to files through an allow-list or ids; resolve and check the final path stays inside its folder."
);
rule!(
    SSRF,
    "I104",
    "server-side-request-forgery",
    Injection,
    High,
    High,
    [918],
    "The backend fetches a URL taken from a parameter: the probe's own canary listener received the request.",
    "Fetch only allow-listed hosts; refuse private, loopback and link-local addresses after resolving."
);
rule!(
    REFLECTED_XSS,
    "X101",
    "reflected-xss",
    Xss,
    High,
    High,
    [79],
    "A parameter is echoed unescaped into an HTML answer, so a link can run script in the site's origin.",
    "Escape output for its HTML context (use a template engine that escapes by default); send a CSP."
);

rule!(
    TLS_OLD_VERSION,
    "T104",
    "tls-old-version-or-weak-suite",
    Transport,
    Medium,
    High,
    [326, 327],
    "The server completes a handshake with SSL 3.0, TLS 1.0 or 1.1 (or picks a suite without forward secrecy or with CBC/RC4/3DES), which downgrade attacks and old clients' weaknesses reach.",
    "Accept TLS 1.2 and 1.3 only, with ECDHE key exchange and AEAD suites (AES-GCM, ChaCha20-Poly1305)."
);
rule!(
    TLS_EXPIRING,
    "T105",
    "tls-certificate-expiring",
    Transport,
    Medium,
    High,
    [298],
    "The TLS certificate verifies today but expires within 30 days: clients will refuse the backend when it does.",
    "Renew the certificate (automate renewal, e.g. ACME) well before it expires; monitor expiry."
);
rule!(
    LOGOUT_NOT_REVOKED,
    "A107",
    "session-not-revoked",
    Auth,
    High,
    High,
    [613],
    "A logout leaves its access token working, or a refresh leaves the spent refresh token usable again, so a stolen token outlives the session it belonged to.",
    "Revoke on the server: delete the session (or its token family) on logout; spend a refresh token once and revoke the login when it is presented again."
);
rule!(
    REPLAY,
    "A108",
    "replay-accepted",
    Auth,
    High,
    High,
    [294],
    "A request carrying a nonce and a timestamp (the backend's replay protection) is accepted a second time, byte for byte.",
    "Remember each nonce (per session) until its timestamp leaves the accepted window, and refuse a nonce seen before."
);
rule!(
    NOSQL_INJECTION,
    "I102",
    "nosql-injection",
    Injection,
    Critical,
    High,
    [943],
    "A parameter reaches a document-database filter as an object: query operators such as `$ne` and `$gt` match records the plain value does not, or a `$where` expression (JavaScript the database or the filter library runs) decides which records match.",
    "Accept only scalar values for filter fields (validate types with a schema); never pass request objects or `$`-keys into a query; turn off server-side JavaScript (`$where`)."
);
rule!(
    COMMAND_INJECTION,
    "I105",
    "command-injection",
    Injection,
    Critical,
    High,
    [78],
    "A parameter reaches a shell: a command appended after `;`, `$()`, backticks, a quote or a newline runs and its output comes back.",
    "Run programs without a shell (an argument array, e.g. `execFile`), validate values against an allow-list, or avoid the program."
);
rule!(
    TEMPLATE_INJECTION,
    "I106",
    "template-injection",
    Injection,
    Critical,
    High,
    [1336, 94],
    "A parameter is evaluated as a server-side template: an arithmetic expression in `{{ }}`, `${ }`, `<%= %>` or `#{ }` comes back computed.",
    "Pass input to templates as data (a context variable), never as template source; use a sandboxed, escaping engine."
);
rule!(
    SLOW_REQUESTS,
    "C105",
    "slow-requests-held",
    Config,
    Medium,
    Medium,
    [400],
    "The server keeps a connection with an unfinished request open for many seconds, so a few clients sending slowly (slowloris) hold all its connections.",
    "Time out request headers and bodies (e.g. 10 s for the headers), cap connections per client, and put a proxy that buffers requests in front."
);
rule!(
    EXPENSIVE_QUERY,
    "C106",
    "unbounded-page-size",
    Config,
    Medium,
    High,
    [770],
    "A page-size parameter (`limit`, `pageSize`, `per_page`) is accepted at a huge value, so one request makes the database read and the server serialise everything.",
    "Cap page sizes on the server (e.g. 100) and refuse or clamp larger values."
);
rule!(
    IDLE_CONNECTIONS,
    "C107",
    "idle-connection-held",
    Config,
    Medium,
    Medium,
    [400, 772],
    "The server keeps connections that never send a byte (after the TLS handshake on HTTPS) open for more than 95 s, longer than any common default, so clients that only connect hold all its connections and file descriptors.",
    "Close a connection that sends no request within a bounded time (e.g. 10 to 60 s after it was accepted or after its TLS handshake), and cap connections per client."
);
rule!(
    FACTOR_CHANGE_WITHOUT_FACTOR,
    "A109",
    "factor-change-without-factor",
    Auth,
    High,
    High,
    [308, 620],
    "With only a logged-in session and no second factor verified by it, a request that enrols, replaces or disables a second factor, regenerates recovery codes, binds the phone codes are sent to or changes the password is accepted, so a stolen session takes over the account's second factor.",
    "Demand a factor that existed before the change, verified recently by this login (step-up), for every change of a factor or of where its codes are delivered; only an account without any factor adds its first one without."
);

/// Every check of the probe.
pub const ALL: &[&ProbeRule] = &[
    &PLAIN_HTTP,
    &TLS_CERTIFICATE,
    &MISSING_HSTS,
    &TLS_OLD_VERSION,
    &TLS_EXPIRING,
    &MISSING_SECURITY_HEADERS,
    &CORS_REFLECTION,
    &ERROR_DETAILS,
    &OPEN_REDIRECT,
    &SLOW_REQUESTS,
    &EXPENSIVE_QUERY,
    &IDLE_CONNECTIONS,
    &ROUTE_WITHOUT_AUTH,
    &BOLA,
    &MASS_ASSIGNMENT,
    &CLIENT_IDENTITY,
    &NO_THROTTLING,
    &TOKEN_IN_URL,
    &LOGOUT_NOT_REVOKED,
    &REPLAY,
    &FACTOR_CHANGE_WITHOUT_FACTOR,
    &SQL_INJECTION,
    &NOSQL_INJECTION,
    &PATH_TRAVERSAL,
    &SSRF,
    &COMMAND_INJECTION,
    &TEMPLATE_INJECTION,
    &REFLECTED_XSS,
];

#[cfg(test)]
mod tests {
    #[test]
    fn codes_are_unique_and_match_their_category() {
        let mut codes: Vec<&str> = super::ALL.iter().map(|r| r.code).collect();
        for r in super::ALL {
            assert!(r.code.starts_with(r.category.code_letter()), "{}", r.code);
            assert!(
                r.code[1..].starts_with('1'),
                "{}: probe codes are 1xx",
                r.code
            );
        }
        codes.sort_unstable();
        codes.dedup();
        assert_eq!(codes.len(), super::ALL.len());
    }

    /// A finding's help is the rule's fix: the English row of its message is the fix itself,
    /// and the Chinese row says the same.
    #[test]
    fn every_fix_is_a_message_in_both_languages() {
        use miniguard_report::i18n::Lang;
        for r in super::ALL {
            let fix = (r.fix_msg)();
            assert_eq!(fix.render(Lang::En), r.fix, "{}", r.code);
            assert_ne!(fix.render(Lang::ZhCn), r.fix, "{}", r.code);
        }
    }
}
