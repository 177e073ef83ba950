//! Markdown to sanitized HTML, and HTML escaping shared by the templates and charts.
//!
//! Lab-provided course files are outside input shown to every member of staff, so the
//! renderer must not let a course author (or whoever tampered with the file) run script in
//! the labguard web UI: raw HTML blocks and inline HTML are emitted as escaped text, and
//! links or images with schemes other than http(s)/mailto/relative are neutralised.

use pulldown_cmark::{html, CowStr, Event, Options, Parser, Tag};

/// Escape text for an HTML element body or a double- or single-quoted attribute value.
pub fn escape_html(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// Whether a link destination is safe to put in `href`/`src`. Relative links and fragments
/// are allowed; absolute URLs only with http, https or mailto. Control characters and
/// whitespace are stripped before the check because browsers ignore them inside schemes
/// (`java\tscript:`).
pub fn is_safe_url(url: &str) -> bool {
    let cleaned: String = url
        .chars()
        .filter(|c| !c.is_control() && !c.is_whitespace())
        .collect();
    let lower = cleaned.to_ascii_lowercase();
    match lower.find(':') {
        None => true,
        Some(colon) => {
            // A ':' after a '/', '?' or '#' is part of a path or query, not a scheme.
            if lower[..colon].contains(['/', '?', '#']) {
                return true;
            }
            matches!(&lower[..colon], "http" | "https" | "mailto")
        }
    }
}

/// Render CommonMark (with tables and strikethrough) to HTML that is safe to embed.
pub fn markdown_to_html(md: &str) -> String {
    let mut opts = Options::empty();
    opts.insert(Options::ENABLE_TABLES);
    opts.insert(Options::ENABLE_STRIKETHROUGH);
    let events = Parser::new_ext(md, opts).map(|ev| match ev {
        // Raw HTML becomes visible text; the HTML writer escapes Text events.
        Event::Html(h) | Event::InlineHtml(h) => Event::Text(h),
        Event::Start(Tag::Link {
            link_type,
            dest_url,
            title,
            id,
        }) => Event::Start(Tag::Link {
            link_type,
            dest_url: safe_dest(dest_url),
            title,
            id,
        }),
        Event::Start(Tag::Image {
            link_type,
            dest_url,
            title,
            id,
        }) => Event::Start(Tag::Image {
            link_type,
            dest_url: safe_dest(dest_url),
            title,
            id,
        }),
        other => other,
    });
    let mut out = String::with_capacity(md.len() + md.len() / 4);
    html::push_html(&mut out, events);
    out
}

fn safe_dest(url: CowStr<'_>) -> CowStr<'_> {
    if is_safe_url(&url) {
        url
    } else {
        CowStr::Borrowed("#")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn raw_html_is_escaped() {
        let h = markdown_to_html("Hello <script>alert(1)</script>\n\n<img src=x onerror=alert(1)>");
        assert!(!h.contains("<script"), "{h}");
        assert!(!h.contains("<img"), "{h}");
        assert!(h.contains("&lt;script&gt;alert(1)&lt;/script&gt;"), "{h}");
    }

    #[test]
    fn javascript_links_are_neutralised() {
        let h = markdown_to_html("[click](javascript:alert(1)) [ok](https://lab.example/x)");
        assert!(h.contains(r##"<a href="#">click</a>"##), "{h}");
        assert!(
            h.contains(r#"<a href="https://lab.example/x">ok</a>"#),
            "{h}"
        );
        assert!(!is_safe_url("JaVa\tScRiPt:alert(1)"));
        assert!(!is_safe_url("data:text/html,hi"));
        assert!(is_safe_url("/training/x?a=b:c"));
        assert!(is_safe_url("mailto:security@lab.example"));
    }

    #[test]
    fn markdown_features_render() {
        let h = markdown_to_html("**bold**\n\n| a | b |\n|---|---|\n| 1 | 2 |\n");
        assert!(h.contains("<strong>bold</strong>"));
        assert!(h.contains("<table>"));
    }

    #[test]
    fn escape_all_specials() {
        assert_eq!(
            escape_html(r#"<a href="x">'&'"#),
            "&lt;a href=&quot;x&quot;&gt;&#39;&amp;&#39;"
        );
    }
}
