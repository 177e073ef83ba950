//! The pages' markup lives in `templates/` (askama escapes every value there): no Rust
//! source of the server writes HTML tags in a string literal, so a handler cannot build a
//! page with `format!` or `push_str` again. Unit tests (after `#[cfg(test)]`) may hold
//! markup they look for.

use std::path::Path;

const TAGS: [&str; 36] = [
    "html", "head", "body", "main", "section", "article", "div", "p", "span", "a", "table",
    "thead", "tbody", "tr", "td", "th", "ul", "ol", "li", "form", "input", "label", "button",
    "select", "svg", "rect", "text", "figure", "h1", "h2", "h3", "strong", "code", "script",
    "style", "meta",
];

/// `"<tag "`, `"<tag>"` or `"<tag/"` inside a string literal on this line.
fn tag_in_literal(line: &str) -> Option<&'static str> {
    let code = line.trim_start();
    if code.starts_with("//") {
        return None;
    }
    let mut in_str = false;
    let b = line.as_bytes();
    for (i, &c) in b.iter().enumerate() {
        if c == b'"' && (i == 0 || b[i - 1] != b'\\') {
            in_str = !in_str;
        } else if in_str && c == b'<' {
            let rest = &line[i + 1..];
            for t in TAGS {
                if let Some(after) = rest.strip_prefix(t) {
                    if after.starts_with([' ', '>', '/']) || after.starts_with("\\\"") {
                        return Some(t);
                    }
                }
            }
        }
    }
    None
}

#[test]
fn no_server_source_writes_html() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut found = Vec::new();
    let mut files = 0;
    for e in std::fs::read_dir(&src).unwrap() {
        let path = e.unwrap().path();
        if path.extension().is_none_or(|x| x != "rs") {
            continue;
        }
        files += 1;
        let text = std::fs::read_to_string(&path).unwrap();
        for (n, line) in text.lines().enumerate() {
            if line.contains("#[cfg(test)]") {
                break;
            }
            if let Some(t) = tag_in_literal(line) {
                found.push(format!("{}:{}: <{t}", path.display(), n + 1));
            }
        }
    }
    assert!(files > 20, "read {files} files from {}", src.display());
    assert!(found.is_empty(), "HTML in Rust source: {found:#?}");
}

#[test]
fn the_check_sees_markup() {
    assert_eq!(tag_in_literal(r#"rows.push_str("<tr><td>");"#), Some("tr"));
    assert_eq!(
        tag_in_literal(r#"format!("<a href=\"/x\">{}</a>", n)"#),
        Some("a")
    );
    assert_eq!(tag_in_literal(r#"let x = "<svg viewBox"; "#), Some("svg"));
    assert_eq!(tag_in_literal("// a comment about <td> cells"), None);
    assert_eq!(tag_in_literal(r#"if a < b && "x" == y {"#), None);
    assert_eq!(tag_in_literal(r#"Vec<String>"#), None);
}
