//! The HTTP edge stays thin: no function in `server/src/http` is longer than
//! 40 lines, counted from the line of `fn` to the closing brace. Test
//! modules (`#[cfg(test)]` items, and test module files named `tests.rs`)
//! are exempt.
//!
//! The scan is textual: comments, strings and character literals are blanked
//! first, then every `fn` item with a body is brace-matched.

use std::path::{Path, PathBuf};

const MAX_LINES: usize = 40;

#[test]
fn no_function_in_http_is_longer_than_40_lines() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("src/http");
    let mut offenders = Vec::new();
    for file in rust_files(&root) {
        let source = std::fs::read_to_string(&file).unwrap();
        for (name, line, length) in long_functions(&source) {
            let shown = file.strip_prefix(env!("CARGO_MANIFEST_DIR")).unwrap();
            offenders.push(format!("{}:{line} {name}: {length} lines", shown.display()));
        }
    }
    assert!(
        offenders.is_empty(),
        "functions over {MAX_LINES} lines in server/src/http (split them):\n{}",
        offenders.join("\n")
    );
}

#[test]
fn the_scan_finds_long_functions_and_skips_tests_and_strings() {
    let body = "    let x = 1;\n".repeat(MAX_LINES);
    let source = format!(
        "fn short() {{ let s = \"}}}}\"; let c = '}}'; }}\n\
         pub async fn long<'a>(x: &'a str) -> Result<(), ()> {{\n{body}}}\n\
         // fn commented() {{\n\
         #[cfg(test)]\nmod tests {{\n    fn long_test() {{\n{body}    }}\n}}\n\
         trait T {{ fn declared(&self); }}\n"
    );
    let found = long_functions(&source);
    assert_eq!(found, vec![("long".to_owned(), 2, MAX_LINES + 2)]);
}

fn rust_files(dir: &Path) -> Vec<PathBuf> {
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            files.extend(rust_files(&path));
        } else if path.extension().is_some_and(|e| e == "rs")
            && path.file_name().is_some_and(|n| n != "tests.rs")
        {
            files.push(path);
        }
    }
    files.sort();
    files
}

/// Functions over the limit: name, first line (1-based) and length in lines.
fn long_functions(source: &str) -> Vec<(String, usize, usize)> {
    let code: Vec<char> = blank_comments_and_literals(source).chars().collect();
    let line_of = |at: usize| code[..at].iter().filter(|c| **c == '\n').count() + 1;
    let tests = test_items(&code);
    let mut found = Vec::new();
    let mut at = 0;
    while let Some(start) = find_word(&code, at, "fn") {
        at = start + 2;
        if tests.iter().any(|(from, to)| (*from..*to).contains(&start)) {
            continue;
        }
        let Some(name) = identifier_after(&code, at) else {
            continue; // a function pointer type such as `fn(u8)`
        };
        let Some(open) = body_start(&code, at) else {
            continue; // a declaration without a body
        };
        let close = matching_brace(&code, open);
        let length = line_of(close) - line_of(start) + 1;
        if length > MAX_LINES {
            found.push((name, line_of(start), length));
        }
    }
    found
}

/// The spans of items marked `#[cfg(test)]`, from the attribute to the end
/// of the item.
fn test_items(code: &[char]) -> Vec<(usize, usize)> {
    let text: String = code.iter().collect();
    let mut spans = Vec::new();
    for (byte, _) in text.match_indices("#[cfg(test)]") {
        let start = text[..byte].chars().count();
        let end = code[start..]
            .iter()
            .position(|c| *c == '{' || *c == ';')
            .map(|offset| start + offset);
        if let Some(end) = end.filter(|e| code[*e] == '{') {
            spans.push((start, matching_brace(code, end)));
        }
    }
    spans
}

fn is_ident(c: char) -> bool {
    c.is_alphanumeric() || c == '_'
}

fn find_word(code: &[char], from: usize, word: &str) -> Option<usize> {
    let word: Vec<char> = word.chars().collect();
    (from..code.len().saturating_sub(word.len() - 1)).find(|&i| {
        code[i..i + word.len()] == word[..]
            && (i == 0 || !is_ident(code[i - 1]))
            && code.get(i + word.len()).is_none_or(|c| !is_ident(*c))
    })
}

fn identifier_after(code: &[char], from: usize) -> Option<String> {
    let start = from
        + code[from..]
            .iter()
            .take_while(|c| c.is_whitespace())
            .count();
    let name: String = code[start..].iter().take_while(|c| is_ident(**c)).collect();
    (!name.is_empty()).then_some(name)
}

/// The opening brace of a function's body, or `None` when its signature
/// ends with `;`.
fn body_start(code: &[char], from: usize) -> Option<usize> {
    let offset = code[from..].iter().position(|c| *c == '{' || *c == ';')?;
    (code[from + offset] == '{').then_some(from + offset)
}

fn matching_brace(code: &[char], open: usize) -> usize {
    let mut depth = 0usize;
    for (i, c) in code.iter().enumerate().skip(open) {
        match c {
            '{' => depth += 1,
            '}' => {
                depth -= 1;
                if depth == 0 {
                    return i;
                }
            }
            _ => {}
        }
    }
    code.len() - 1
}

/// The source with comments, string and character literals replaced by
/// spaces, keeping every line break where it was.
fn blank_comments_and_literals(source: &str) -> String {
    let chars: Vec<char> = source.chars().collect();
    let mut out = String::with_capacity(source.len());
    let mut i = 0;
    while i < chars.len() {
        let end = literal_or_comment_end(&chars, i);
        if end == i {
            out.push(chars[i]);
            i += 1;
            continue;
        }
        for c in &chars[i..end] {
            out.push(if *c == '\n' { '\n' } else { ' ' });
        }
        i = end;
    }
    out
}

/// Where a comment or literal starting at `i` ends (exclusive); `i` when
/// none starts there.
fn literal_or_comment_end(chars: &[char], i: usize) -> usize {
    let at = |k: usize| chars.get(k).copied().unwrap_or('\0');
    let prev_ident = i > 0 && is_ident(chars[i - 1]);
    match (at(i), at(i + 1)) {
        ('/', '/') => (i..chars.len())
            .find(|&k| chars[k] == '\n')
            .unwrap_or(chars.len()),
        ('/', '*') => block_comment_end(chars, i),
        ('"', _) => quoted_end(chars, i + 1, '"'),
        ('r', '"' | '#') if !prev_ident => raw_string_end(chars, i + 1),
        ('b', 'r') if !prev_ident && matches!(at(i + 2), '"' | '#') => raw_string_end(chars, i + 2),
        ('b', '"' | '\'') if !prev_ident => quoted_end(chars, i + 2, at(i + 1)),
        ('\'', '\\') => quoted_end(chars, i + 1, '\''),
        ('\'', _) if at(i + 2) == '\'' => i + 3,
        _ => i,
    }
}

fn block_comment_end(chars: &[char], start: usize) -> usize {
    let mut depth = 0;
    let mut k = start;
    while k + 1 < chars.len() {
        match (chars[k], chars[k + 1]) {
            ('/', '*') => {
                depth += 1;
                k += 2;
            }
            ('*', '/') => {
                depth -= 1;
                k += 2;
                if depth == 0 {
                    return k;
                }
            }
            _ => k += 1,
        }
    }
    chars.len()
}

/// The end of a literal whose body starts at `from` and ends at `quote`,
/// with backslash escapes.
fn quoted_end(chars: &[char], from: usize, quote: char) -> usize {
    let mut k = from;
    while k < chars.len() {
        match chars[k] {
            '\\' => k += 2,
            c if c == quote => return k + 1,
            _ => k += 1,
        }
    }
    chars.len()
}

/// The end of a raw string whose hashes (or quote) start at `from`.
fn raw_string_end(chars: &[char], from: usize) -> usize {
    let hashes = chars[from..].iter().take_while(|c| **c == '#').count();
    if chars.get(from + hashes) != Some(&'"') {
        return from - 1; // `r#ident`, not a string: leave it
    }
    let closing: Vec<char> = std::iter::once('"')
        .chain(std::iter::repeat_n('#', hashes))
        .collect();
    let body = from + hashes + 1;
    (body..chars.len())
        .find(|&k| chars[k..].starts_with(&closing))
        .map_or(chars.len(), |k| k + closing.len())
}
