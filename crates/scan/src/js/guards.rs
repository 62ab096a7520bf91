//! Checks before use. Code that validates an input before a sink (`p.startsWith(BASE_DIR)`,
//! `/^[\w-]+$/.test(id)`, `ALLOWED_HOSTS.includes(host)`, `name.includes('..')`) has made the
//! flow safe, or at least deliberate. The evaluator walks code in order, so a check is seen
//! before the sink it guards; [`Guards`] remembers which sources (by origin) were checked, for
//! the rules of the current batch. It cannot tell a real guard from another use of the same
//! calls, so it errs on the side of silence only for these specific shapes.

use std::cell::Cell;
use std::rc::Rc;

use rustc_hash::{FxHashMap, FxHashSet};

use crate::events::Event;
use crate::value::{Origin, Taint, Value};

type OriginKey = (Rc<str>, u32, u32);

/// Sources checked before use, in one batch of analysed files.
#[derive(Debug, Default)]
pub struct Guards {
    guarded: FxHashSet<OriginKey>,
    /// The origin a property read (`url.hostname`) was named after, by the read's origin.
    parent: FxHashMap<OriginKey, OriginKey>,
    /// How many times a check was remembered, and how many times a rule asked about a source:
    /// what a module's top level did with them ties its findings to the batch (see
    /// [`crate::js::eval::Summary`]).
    changes: u64,
    asked: Cell<u64>,
}

fn key(o: &Origin) -> OriginKey {
    (o.file.clone(), o.start, o.end)
}

impl Guards {
    /// Look at an event of `file` (whose text is `source`) for a check.
    pub fn observe(&mut self, file: &Rc<str>, source: &str, event: &Event<'_, '_>) {
        if let Event::Member(m) = event {
            // `url.hostname` of a parsed `url`: the read gets its own origin; remember whose
            // part it is.
            if let Some(parent) = &m.object.deep_taint().origin {
                let child = (file.clone(), m.span.start, m.span.end);
                if child != key(parent) {
                    self.parent.insert(child, key(parent));
                    self.changes += 1;
                }
            }
            return;
        }
        let Event::Call(call) = event else { return };
        let Some(method) = call.method else { return };
        let receiver_tainted = call.receiver.is_some_and(|r| !r.deep_taint().is_empty());
        let checked = match method {
            // `p.startsWith(BASE_DIR)`, `url.startsWith('https://m.example.com/')`; not a bare
            // scheme test such as `url.startsWith('http')`.
            "startsWith" if receiver_tainted => call.receiver.filter(|_| {
                call.arg(0)
                    .and_then(Value::exact_text)
                    .is_none_or(crate::rules::injection::ssrf::prefix_is_fixed)
            }),
            // `name.includes('..')`: a traversal test.
            "includes" | "indexOf" if receiver_tainted => call
                .arg(0)
                .and_then(Value::exact_text)
                .filter(|t| t.contains(".."))
                .and(call.receiver),
            // `/^[\w-]+$/.test(x)`, `ALLOWED.includes(x)`, `HOSTS.has(host)`.
            "test" | "includes" | "has" | "indexOf" if !receiver_tainted => call.arg(0),
            _ => None,
        };
        let Some(origin) = checked.and_then(|v| v.deep_taint().origin) else {
            return;
        };
        let k = key(&origin);
        // Checking `url.hostname` of a parsed URL checks the URL; checking `req.query.a` does
        // not check the rest of `req.query`.
        if let Some(parent) = self.parent.get(&k).cloned() {
            let text = if *parent.0 == **file {
                source
                    .get(parent.1 as usize..parent.2 as usize)
                    .unwrap_or("")
            } else {
                ""
            };
            if !is_container(text) {
                self.guarded.insert(parent);
            }
        }
        self.guarded.insert(k);
        self.changes += 1;
    }

    /// Checks remembered and questions asked so far (see the fields).
    pub fn activity(&self) -> (u64, u64) {
        (self.changes, self.asked.get())
    }

    /// Whether the source of this taint (or the value it was read from) was checked before.
    pub fn is_guarded(&self, taint: &Taint) -> bool {
        let Some(o) = &taint.origin else { return false };
        self.asked.set(self.asked.get() + 1);
        let k = key(o);
        self.guarded.contains(&k)
            || self
                .parent
                .get(&k)
                .is_some_and(|p| self.guarded.contains(p))
    }
}

/// Request containers and entry parameters, whose other fields are separate inputs.
fn is_container(what: &str) -> bool {
    let last = what.rsplit('.').next().unwrap_or(what).trim();
    what.is_empty()
        || matches!(
            last,
            "query"
                | "body"
                | "params"
                | "headers"
                | "header"
                | "cookies"
                | "request"
                | "event"
                | "options"
                | "req"
                | "ctx"
                | "data"
                | "detail"
        )
}
