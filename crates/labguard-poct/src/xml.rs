//! A bounded XML reader into a small element tree, and the writer the encoders share.
//!
//! Devices are outside input, so every dimension has a hard limit checked while reading
//! (size before the first byte is parsed; depth, element count, attribute count and
//! lengths as they appear). A DOCTYPE is refused outright: without a DTD no entity can
//! be declared, so external entities (XXE) and entity expansion bombs are impossible, and
//! an undeclared entity reference is a parse error, never expanded. Only the five
//! predefined entities and character references are decoded.

use quick_xml::events::{BytesStart, Event};
use quick_xml::Reader;

use crate::PoctError;

/// Hard limits for one message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    pub max_bytes: usize,
    pub max_depth: usize,
    pub max_elements: usize,
    pub max_attributes: usize,
    /// Longest element name, attribute value or text.
    pub max_value: usize,
}

impl Default for Limits {
    /// Generous for real POCT1-A traffic: a docking station's OBS.R01 with dozens of
    /// results is a few tens of kilobytes and nests about six levels.
    fn default() -> Self {
        Limits {
            max_bytes: 256 * 1024,
            max_depth: 16,
            max_elements: 10_000,
            max_attributes: 16,
            max_value: 4096,
        }
    }
}

/// One element: its name, attributes in document order, child elements and its text.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Element {
    pub name: String,
    pub attrs: Vec<(String, String)>,
    pub children: Vec<Element>,
    pub text: String,
}

impl Element {
    pub fn attr(&self, key: &str) -> Option<&str> {
        self.attrs
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }

    pub fn child(&self, name: &str) -> Option<&Element> {
        self.children.iter().find(|c| c.name == name)
    }

    pub fn children_named<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a Element> {
        self.children.iter().filter(move |c| c.name == name)
    }

    /// The `V` attribute of child `name`: how POCT1-A carries every value.
    pub fn v(&self, name: &str) -> Option<&str> {
        self.child(name).and_then(|c| c.attr("V"))
    }

    /// Like [`Element::v`], as an owned string, empty values as none.
    pub fn v_owned(&self, name: &str) -> Option<String> {
        self.v(name)
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(str::to_string)
    }
}

fn malformed(at: u64, what: &'static str) -> PoctError {
    PoctError::Malformed { at, what }
}

/// Parses one XML document within `limits`.
pub fn parse(bytes: &[u8], limits: &Limits) -> Result<Element, PoctError> {
    if bytes.len() > limits.max_bytes {
        return Err(PoctError::TooLarge {
            size: bytes.len(),
            max: limits.max_bytes,
        });
    }
    let text = std::str::from_utf8(bytes).map_err(|_| PoctError::NotUtf8)?;
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let mut reader = Reader::from_str(text);
    reader.config_mut().trim_text(true);
    let mut stack: Vec<Element> = Vec::new();
    let mut root: Option<Element> = None;
    let mut count = 0usize;
    loop {
        let at = reader.buffer_position();
        // quick-xml's own messages can quote input; ours name the position only.
        let event = reader
            .read_event()
            .map_err(|_| malformed(at, "syntax error"))?;
        match event {
            Event::DocType(_) => return Err(PoctError::Dtd),
            Event::Start(_) | Event::Empty(_) if root.is_some() => {
                return Err(malformed(at, "content after the root element"));
            }
            Event::Start(e) => {
                count += 1;
                if count > limits.max_elements {
                    return Err(PoctError::TooManyElements {
                        max: limits.max_elements,
                    });
                }
                stack.push(start(&e, limits, at)?);
                if stack.len() > limits.max_depth {
                    return Err(PoctError::TooDeep {
                        max: limits.max_depth,
                    });
                }
            }
            Event::Empty(e) => {
                count += 1;
                if count > limits.max_elements {
                    return Err(PoctError::TooManyElements {
                        max: limits.max_elements,
                    });
                }
                if stack.len() + 1 > limits.max_depth {
                    return Err(PoctError::TooDeep {
                        max: limits.max_depth,
                    });
                }
                let el = start(&e, limits, at)?;
                attach(&mut stack, &mut root, el);
            }
            Event::End(_) => {
                let el = stack.pop().ok_or(malformed(at, "unbalanced end tag"))?;
                attach(&mut stack, &mut root, el);
            }
            Event::Text(t) => {
                let s = t.unescape().map_err(|_| malformed(at, "bad entity"))?;
                push_text(&mut stack, &s, limits, at)?;
            }
            Event::CData(c) => {
                let s = std::str::from_utf8(&c).map_err(|_| PoctError::NotUtf8)?;
                push_text(&mut stack, s, limits, at)?;
            }
            Event::Decl(_) | Event::PI(_) | Event::Comment(_) => {}
            Event::Eof => break,
        }
    }
    if !stack.is_empty() {
        return Err(malformed(reader.buffer_position(), "unclosed element"));
    }
    root.ok_or(PoctError::Empty)
}

fn attach(stack: &mut [Element], root: &mut Option<Element>, el: Element) {
    match stack.last_mut() {
        Some(parent) => parent.children.push(el),
        None => *root = Some(el),
    }
}

fn push_text(stack: &mut [Element], s: &str, limits: &Limits, at: u64) -> Result<(), PoctError> {
    let Some(el) = stack.last_mut() else {
        return Err(malformed(at, "text outside the root element"));
    };
    if s.chars().any(forbidden) {
        return Err(malformed(at, "character not allowed in XML"));
    }
    if el.text.len() + s.len() > limits.max_value {
        return Err(PoctError::TooLong {
            max: limits.max_value,
        });
    }
    el.text.push_str(s);
    Ok(())
}

fn start(e: &BytesStart<'_>, limits: &Limits, at: u64) -> Result<Element, PoctError> {
    let too_long = PoctError::TooLong {
        max: limits.max_value,
    };
    let name = std::str::from_utf8(e.name().as_ref())
        .map_err(|_| PoctError::NotUtf8)?
        .to_string();
    if name.len() > limits.max_value {
        return Err(too_long);
    }
    let mut attrs = Vec::new();
    for a in e.attributes() {
        let a = a.map_err(|_| malformed(at, "bad attribute"))?;
        if attrs.len() == limits.max_attributes {
            return Err(PoctError::TooManyAttributes {
                max: limits.max_attributes,
            });
        }
        let key = std::str::from_utf8(a.key.as_ref()).map_err(|_| PoctError::NotUtf8)?;
        if key.len() > limits.max_value || a.value.len() > limits.max_value {
            return Err(too_long);
        }
        let value = a
            .unescape_value()
            .map_err(|_| malformed(at, "bad entity"))?;
        if value.chars().any(forbidden) {
            return Err(malformed(at, "character not allowed in XML"));
        }
        attrs.push((key.to_string(), value.into_owned()));
    }
    Ok(Element {
        name,
        attrs,
        ..Element::default()
    })
}

/// Builds a POCT1-A document: `<X.y V="..."/>` value elements inside object elements.
#[derive(Default)]
pub struct Writer {
    out: String,
}

impl Writer {
    pub fn new(root: &str) -> Writer {
        let mut w = Writer {
            out: String::from(r#"<?xml version="1.0" encoding="UTF-8"?>"#),
        };
        w.open(root);
        w
    }

    pub fn open(&mut self, name: &str) -> &mut Self {
        self.out.push('<');
        self.out.push_str(name);
        self.out.push('>');
        self
    }

    pub fn close(&mut self, name: &str) -> &mut Self {
        self.out.push_str("</");
        self.out.push_str(name);
        self.out.push('>');
        self
    }

    /// `<name V="value" [extra="..."]/>`.
    pub fn v_with(&mut self, name: &str, value: &str, extra: &[(&str, &str)]) -> &mut Self {
        self.out.push('<');
        self.out.push_str(name);
        self.out.push_str(" V=\"");
        escape_into(&mut self.out, value);
        self.out.push('"');
        for (k, v) in extra {
            self.out.push(' ');
            self.out.push_str(k);
            self.out.push_str("=\"");
            escape_into(&mut self.out, v);
            self.out.push('"');
        }
        self.out.push_str("/>");
        self
    }

    pub fn v(&mut self, name: &str, value: &str) -> &mut Self {
        self.v_with(name, value, &[])
    }

    /// Writes the value element only when there is a value.
    pub fn v_opt(&mut self, name: &str, value: Option<&str>) -> &mut Self {
        if let Some(v) = value {
            self.v(name, v);
        }
        self
    }

    pub fn finish(mut self, root: &str) -> String {
        self.close(root);
        self.out
    }
}

/// Characters XML 1.0 documents cannot contain, even as character references.
fn forbidden(c: char) -> bool {
    (c < '\u{20}' && !matches!(c, '\t' | '\n' | '\r')) || matches!(c, '\u{fffe}' | '\u{ffff}')
}

/// Escapes for attribute values and text. Control characters XML 1.0 cannot carry become
/// U+FFFD so the output always parses.
fn escape_into(out: &mut String, s: &str) {
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            '\t' => out.push_str("&#9;"),
            '\n' => out.push_str("&#10;"),
            '\r' => out.push_str("&#13;"),
            c if forbidden(c) => out.push('\u{fffd}'),
            c => out.push(c),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(s: &str) -> Result<Element, PoctError> {
        parse(s.as_bytes(), &Limits::default())
    }

    #[test]
    fn reads_values_and_entities() {
        let el =
            p(r#"<?xml version="1.0"?><A><B.x V="1 &amp; &lt;2&gt; &#65;"/><C>t&quot;</C></A>"#)
                .unwrap();
        assert_eq!(el.name, "A");
        assert_eq!(el.v("B.x"), Some("1 & <2> A"));
        assert_eq!(el.child("C").map(|c| c.text.as_str()), Some("t\""));
    }

    #[test]
    fn dtds_are_refused_so_no_entity_can_expand() {
        let lol = r#"<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;"><!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">]><lolz V="&lol3;"/>"#;
        assert_eq!(p(lol), Err(PoctError::Dtd));
        let xxe = r#"<?xml version="1.0"?><!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]><x V="&e;"/>"#;
        assert_eq!(p(xxe), Err(PoctError::Dtd));
        // Without a DTD an entity reference is an error, never expanded or passed on.
        assert!(matches!(
            p(r#"<x V="&e;"/>"#),
            Err(PoctError::Malformed { .. })
        ));
        assert!(matches!(p("<x>&e;</x>"), Err(PoctError::Malformed { .. })));
    }

    #[test]
    fn limits_are_enforced() {
        let tight = Limits {
            max_bytes: 64,
            max_depth: 3,
            max_elements: 4,
            max_attributes: 2,
            max_value: 8,
        };
        let big = format!("<a>{}</a>", " ".repeat(64));
        assert_eq!(
            parse(big.as_bytes(), &tight),
            Err(PoctError::TooLarge { size: 71, max: 64 })
        );
        assert_eq!(
            parse(b"<a><b><c><d/></c></b></a>", &tight),
            Err(PoctError::TooDeep { max: 3 })
        );
        assert!(parse(b"<a><b><c/></b></a>", &tight).is_ok());
        assert_eq!(
            parse(b"<a><b/><b/><b/><b/></a>", &tight),
            Err(PoctError::TooManyElements { max: 4 })
        );
        assert_eq!(
            parse(br#"<a x="1" y="2" z="3"/>"#, &tight),
            Err(PoctError::TooManyAttributes { max: 2 })
        );
        assert_eq!(
            parse(br#"<a x="123456789"/>"#, &tight),
            Err(PoctError::TooLong { max: 8 })
        );
        assert_eq!(
            parse(b"<a>123456789</a>", &tight),
            Err(PoctError::TooLong { max: 8 })
        );
    }

    #[test]
    fn malformed_input_is_an_error_not_a_panic() {
        for bad in [
            "",
            "<",
            "<a>",
            "<a></b>",
            "</a>",
            "<a/><b/>",
            "text",
            "<a x=1/>",
            "<a x='1' x='2'/>",
        ] {
            assert!(p(bad).is_err(), "{bad:?}");
        }
        assert_eq!(
            parse(&[0xff, 0xfe], &Limits::default()),
            Err(PoctError::NotUtf8)
        );
        assert!(matches!(
            p(r#"<a V="&#1;"/>"#),
            Err(PoctError::Malformed { .. })
        ));
    }

    #[test]
    fn writer_output_parses_back() {
        let mut w = Writer::new("R");
        w.open("O")
            .v_with("O.v", "a\"<&>'\u{1}\n", &[("U", "mg/dL")])
            .v_opt("O.none", None)
            .close("O");
        let xml = w.finish("R");
        let el = p(&xml).unwrap();
        let o = el.child("O").unwrap();
        assert_eq!(o.v("O.v"), Some("a\"<&>'\u{fffd}\n"));
        assert_eq!(o.child("O.v").and_then(|c| c.attr("U")), Some("mg/dL"));
        assert!(o.child("O.none").is_none());
    }
}
