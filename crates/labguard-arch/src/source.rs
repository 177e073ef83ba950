//! Just enough Rust lexing to search code and not comments, strings or test modules: a word
//! in a doc comment or an error message is not a use.

use std::path::{Path, PathBuf};

/// `text` with comments and the contents of string and char literals blanked out (newlines
/// kept, so byte offsets still map to the same lines) and `#[cfg(test)]` items removed.
pub fn code_only(text: &str) -> String {
    strip_cfg_test(&strip_comments_and_literals(text))
}

fn strip_comments_and_literals(text: &str) -> String {
    let b = text.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    // Blanks `b[from..to]`, keeping newlines.
    let blank = |out: &mut Vec<u8>, from: usize, to: usize| {
        out.extend(
            b[from..to]
                .iter()
                .map(|&c| if c == b'\n' { b'\n' } else { b' ' }),
        );
    };
    while i < b.len() {
        let c = b[i];
        let next = b.get(i + 1).copied();
        if c == b'/' && next == Some(b'/') {
            let end = text[i..].find('\n').map_or(b.len(), |n| i + n);
            blank(&mut out, i, end);
            i = end;
        } else if c == b'/' && next == Some(b'*') {
            let mut depth = 0usize;
            let mut j = i;
            while j < b.len() {
                if b[j] == b'/' && b.get(j + 1) == Some(&b'*') {
                    depth += 1;
                    j += 2;
                } else if b[j] == b'*' && b.get(j + 1) == Some(&b'/') {
                    depth -= 1;
                    j += 2;
                    if depth == 0 {
                        break;
                    }
                } else {
                    j += 1;
                }
            }
            blank(&mut out, i, j.min(b.len()));
            i = j.min(b.len());
        } else if let Some((open, hashes)) = raw_string_start(b, i) {
            let close = format!("\"{}", "#".repeat(hashes));
            let body = i + open;
            let end = text[body..]
                .find(&close)
                .map_or(b.len(), |n| body + n + close.len());
            out.extend_from_slice(&b[i..body]);
            blank(&mut out, body, end);
            i = end;
        } else if c == b'"' {
            let mut j = i + 1;
            while j < b.len() && b[j] != b'"' {
                j += if b[j] == b'\\' { 2 } else { 1 };
            }
            let end = (j + 1).min(b.len());
            out.push(b'"');
            blank(&mut out, i + 1, end);
            i = end;
        } else if c == b'\'' {
            // A char literal ('x', '\n', '\u{..}') or a lifetime ('a): only the former ends
            // with a quote soon after.
            let end = if next == Some(b'\\') {
                text[i + 2..].find('\'').map(|n| i + 2 + n + 1)
            } else {
                let ch = text[i + 1..].chars().next().map_or(1, char::len_utf8);
                (b.get(i + 1 + ch) == Some(&b'\'')).then_some(i + 2 + ch)
            };
            match end {
                Some(end) => {
                    blank(&mut out, i, end);
                    i = end;
                }
                None => {
                    out.push(c);
                    i += 1;
                }
            }
        } else {
            out.push(c);
            i += 1;
        }
    }
    // Only ASCII bytes were replaced by ASCII bytes, and whole literals at once.
    String::from_utf8_lossy(&out).into_owned()
}

/// At `r"`, `r#"`, `br"`…: the length of the opening and the number of `#`s.
fn raw_string_start(b: &[u8], i: usize) -> Option<(usize, usize)> {
    if i > 0 && is_ident(b[i - 1]) {
        return None;
    }
    let mut j = i;
    if b.get(j) == Some(&b'b') {
        j += 1;
    }
    if b.get(j) != Some(&b'r') {
        return None;
    }
    j += 1;
    let hashes = b[j..].iter().take_while(|&&c| c == b'#').count();
    j += hashes;
    (b.get(j) == Some(&b'"')).then_some((j + 1 - i, hashes))
}

/// Removes each `#[cfg(test)]` attribute and the item after it (up to its `;` or its
/// matching `}`), keeping newlines.
fn strip_cfg_test(code: &str) -> String {
    let mut out = code.to_string();
    let mut from = 0;
    while let Some(n) = out[from..].find("#[cfg(test)]") {
        let start = from + n;
        let b = out.as_bytes();
        let mut j = start + "#[cfg(test)]".len();
        let mut depth = 0usize;
        while j < b.len() {
            match b[j] {
                b'{' => depth += 1,
                b'}' => {
                    depth = depth.saturating_sub(1);
                    if depth == 0 {
                        j += 1;
                        break;
                    }
                }
                b';' if depth == 0 => {
                    j += 1;
                    break;
                }
                _ => {}
            }
            j += 1;
        }
        let end = j.min(b.len());
        let blanked: String = out[start..end]
            .chars()
            .map(|c| if c == '\n' { '\n' } else { ' ' })
            .collect();
        out.replace_range(start..end, &blanked);
        from = start + blanked.len();
    }
    out
}

pub fn is_ident(c: u8) -> bool {
    c.is_ascii_alphanumeric() || c == b'_'
}

/// Byte offsets where `word` occurs as a whole identifier (or path, if it has `::`).
pub fn find_word(code: &str, word: &str) -> Vec<usize> {
    let b = code.as_bytes();
    code.match_indices(word)
        .map(|(i, _)| i)
        .filter(|&i| {
            let before = i == 0 || !is_ident(b[i - 1]);
            let after = b.get(i + word.len()).is_none_or(|&c| !is_ident(c));
            before && after
        })
        .collect()
}

/// The names a path `prefix::…` brings in, one per use: `prefix::a::b` gives `a`,
/// `prefix::{a, b::c}` gives `a` and `b`. Each with the byte offset of `prefix`.
pub fn path_heads(code: &str, prefix: &str) -> Vec<(usize, String)> {
    let mut found = vec![];
    for i in find_word(code, prefix) {
        let rest = code[i + prefix.len()..].trim_start();
        let Some(rest) = rest.strip_prefix("::") else {
            continue;
        };
        let rest = rest.trim_start();
        if let Some(group) = rest.strip_prefix('{') {
            let mut depth = 0usize;
            let mut item_start = true;
            let mut chars = group.char_indices();
            while let Some((k, ch)) = chars.next() {
                match ch {
                    '{' => depth += 1,
                    '}' if depth == 0 => break,
                    '}' => depth -= 1,
                    ',' if depth == 0 => item_start = true,
                    c if item_start && (c.is_alphanumeric() || c == '_') => {
                        let name: String = group[k..]
                            .chars()
                            .take_while(|c| c.is_alphanumeric() || *c == '_')
                            .collect();
                        for _ in 1..name.chars().count() {
                            chars.next();
                        }
                        found.push((i, name));
                        item_start = false;
                    }
                    _ => {}
                }
            }
        } else {
            let name: String = rest
                .chars()
                .take_while(|c| c.is_alphanumeric() || *c == '_')
                .collect();
            if !name.is_empty() {
                found.push((i, name));
            }
        }
    }
    found
}

/// The files of the out-of-line `#[cfg(test)] mod name;` modules that `file` declares
/// (`#[path = "…"]` honoured), to be left out like inline test modules.
pub fn test_module_files(file: &Path, text: &str) -> Vec<PathBuf> {
    let Some(dir) = file.parent() else {
        return vec![];
    };
    let stem = file.file_stem().and_then(|s| s.to_str()).unwrap_or("");
    // mod.rs, lib.rs and main.rs own their directory; foo.rs owns foo/.
    let own_dir = if ["mod", "lib", "main"].contains(&stem) {
        dir.to_path_buf()
    } else {
        dir.join(stem)
    };
    let mut out = vec![];
    for (i, _) in text.match_indices("#[cfg(test)]") {
        let mut rest = text[i + "#[cfg(test)]".len()..].trim_start();
        let mut path_attr = None;
        if let Some(r) = rest.strip_prefix("#[path") {
            let Some(open) = r.find('"') else { continue };
            let Some(len) = r[open + 1..].find('"') else {
                continue;
            };
            path_attr = Some(r[open + 1..open + 1 + len].to_string());
            rest = r[open + 1 + len..]
                .trim_start_matches(['"', ']', ' '])
                .trim_start();
        }
        let Some(r) = rest.strip_prefix("mod ") else {
            continue;
        };
        let name: String = r
            .trim_start()
            .chars()
            .take_while(|c| c.is_alphanumeric() || *c == '_')
            .collect();
        if !r.trim_start()[name.len()..].trim_start().starts_with(';') {
            continue;
        }
        match path_attr {
            Some(p) => out.push(dir.join(p)),
            None => {
                out.push(own_dir.join(format!("{name}.rs")));
                out.push(own_dir.join(&name).join("mod.rs"));
            }
        }
    }
    out
}

/// The 1-based line of byte offset `at`.
pub fn line_of(code: &str, at: usize) -> usize {
    code[..at].matches('\n').count() + 1
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn comments_strings_and_test_modules_are_not_code() {
        let src = "//! uses std::fs in docs\n\
                   let s = \"std::net\"; let r = r#\"TcpStream\"#; let c = '\"';\n\
                   /* std::process /* nested */ */ fn f<'a>(x: &'a str) {}\n\
                   use std::collections::HashMap;\n\
                   #[cfg(test)]\nmod tests { use std::fs; fn g() { {} } }\n\
                   fn after() {}\n";
        let code = code_only(src);
        assert!(!code.contains("std::fs"), "{code}");
        assert!(!code.contains("std::net"));
        assert!(!code.contains("TcpStream"));
        assert!(!code.contains("std::process"));
        assert!(code.contains("fn f<'a>(x: &'a str)"));
        assert!(code.contains("std::collections::HashMap"));
        assert!(code.contains("fn after()"));
        assert_eq!(code.lines().count(), src.lines().count());
    }

    #[test]
    fn out_of_line_test_modules_are_found() {
        let text = "#[cfg(test)]\nmod tests;\n#[cfg(test)]\n#[path = \"rules_tests.rs\"]\nmod t;\n\
                    #[cfg(test)]\nmod inline {}\n";
        let found = test_module_files(Path::new("src/entry.rs"), text);
        assert_eq!(
            found,
            [
                PathBuf::from("src/entry/tests.rs"),
                PathBuf::from("src/entry/tests/mod.rs"),
                PathBuf::from("src/rules_tests.rs"),
            ]
        );
        assert_eq!(
            test_module_files(Path::new("src/lib.rs"), "#[cfg(test)] mod tests;")[0],
            PathBuf::from("src/tests.rs")
        );
    }

    #[test]
    fn path_heads_reads_groups_and_plain_paths() {
        let code = "use std::{fs, io::Read, net::{IpAddr}};\nlet x = std :: process::id();";
        let heads: Vec<String> = path_heads(code, "std").into_iter().map(|h| h.1).collect();
        assert_eq!(heads, ["fs", "io", "net", "process"]);
        assert!(path_heads("use mystd::fs;", "std").is_empty());
    }
}
