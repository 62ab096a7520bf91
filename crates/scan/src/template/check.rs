//! Structural self-check of a parsed template, shared by the fuzz target and the tests.

use super::{AttrValue, Element, Node, Part, Span, Template};

impl Template {
    /// Checks the invariants the rest of miniguard relies on when it slices the source with
    /// spans from this tree:
    ///
    /// - every span is in bounds of `src`, ordered, and on `char` boundaries;
    /// - every stored string equals the source under its span (`name`, `raw`, `text`, `code`);
    /// - children lie inside their parent, parts inside their value or text node, and siblings
    ///   do not overlap.
    ///
    /// Returns the first violation as a message. Used by the fuzz targets; it is public so
    /// that code building on templates can assert the same in its own tests.
    pub fn check_spans(&self, src: &str) -> Result<(), String> {
        for e in &self.errors {
            span_ok(src, e.span, "error")?;
        }
        // Explicit stack of (sibling list, enclosing span) instead of recursion.
        let whole = Span::new(0, u32::try_from(src.len()).unwrap_or(u32::MAX));
        let mut stack: Vec<(&[Node], Span)> = vec![(&self.nodes, whole)];
        while let Some((nodes, parent)) = stack.pop() {
            let mut prev_end = parent.start;
            for node in nodes {
                let span = node.span();
                span_ok(src, span, "node")?;
                inside(parent, span, "node")?;
                if span.start < prev_end {
                    return Err(format!("node {span:?} overlaps its previous sibling"));
                }
                prev_end = span.end;
                match node {
                    Node::Element(el) => {
                        check_element(src, el)?;
                        stack.push((&el.children, el.span));
                    }
                    Node::Text(t) => check_parts(src, &t.parts, t.span)?,
                    Node::Comment(_) => {}
                }
            }
        }
        Ok(())
    }
}

fn check_element(src: &str, el: &Element) -> Result<(), String> {
    same(src, &el.name, el.name_span, "element name")?;
    inside(el.span, el.name_span, "element name")?;
    for a in &el.attrs {
        same(src, &a.name, a.name_span, "attribute name")?;
        span_ok(src, a.span, "attribute")?;
        inside(el.span, a.span, "attribute")?;
        inside(a.span, a.name_span, "attribute name")?;
        if let Some(AttrValue { raw, span, parts }) = &a.value {
            same(src, raw, *span, "attribute value")?;
            inside(a.span, *span, "attribute value")?;
            check_parts(src, parts, *span)?;
        }
    }
    Ok(())
}

fn check_parts(src: &str, parts: &[Part], parent: Span) -> Result<(), String> {
    let mut prev_end = parent.start;
    for p in parts {
        let span = p.span();
        same(src, p.as_str(), span, "part")?;
        inside(parent, span, "part")?;
        if span.start < prev_end {
            return Err(format!("part {span:?} overlaps its previous sibling"));
        }
        prev_end = span.end;
    }
    Ok(())
}

fn span_ok(src: &str, span: Span, what: &str) -> Result<(), String> {
    if span.start > span.end || src.get(span.range()).is_none() {
        return Err(format!(
            "{what} span {span:?} is reversed, out of bounds or not on char boundaries"
        ));
    }
    Ok(())
}

fn same(src: &str, text: &str, span: Span, what: &str) -> Result<(), String> {
    span_ok(src, span, what)?;
    if src.get(span.range()) != Some(text) {
        return Err(format!(
            "{what} {text:?} differs from the source at {span:?}"
        ));
    }
    Ok(())
}

fn inside(outer: Span, inner: Span, what: &str) -> Result<(), String> {
    if outer.contains(inner) {
        Ok(())
    } else {
        Err(format!("{what} span {inner:?} is outside {outer:?}"))
    }
}
