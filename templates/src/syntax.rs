//! A structural pre-check of Go-style templates (`{{ ... }}` actions), run before
//! the engine parses them: unbalanced or empty actions, unterminated strings or
//! comments, unbalanced parentheses, and `if`/`range`/`with`/`define`/`block`
//! without their `end` (or an `end`/`else` without an opener). Go refuses all of
//! these; the engine would let an unclosed block run to the end of the file.

/// Why a template does not parse. `offset` is a byte offset into the template.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message} (at byte {offset})")]
pub struct SyntaxError {
    /// Byte offset of the problem.
    pub offset: usize,
    /// What is wrong.
    pub message: String,
}

fn err(offset: usize, message: impl Into<String>) -> SyntaxError {
    SyntaxError {
        offset,
        message: message.into(),
    }
}

/// Checks a template's block structure.
pub fn check(template: &str) -> Result<(), SyntaxError> {
    let mut stack: Vec<(&'static str, usize)> = Vec::new();
    let mut rest = template;
    let mut base = 0;
    while let Some(open) = rest.find("{{") {
        let start = base + open;
        let after_open = &rest[open + 2..];
        let (body, consumed) = action_body(after_open).map_err(|m| err(start, m))?;
        let body = body.strip_prefix('-').map_or(body, |b| {
            b.strip_prefix(char::is_whitespace).map_or(body, |_| b)
        });
        let body = body.trim();
        if let Some(comment) = body.strip_prefix("/*") {
            if !comment.ends_with("*/") {
                return Err(err(start, "a comment must be closed by */ right before }}"));
            }
        } else {
            action(body, start, &mut stack)?;
        }
        let advance = open + 2 + consumed;
        base += advance;
        rest = &rest[advance..];
    }
    if let Some((keyword, offset)) = stack.pop() {
        return Err(err(
            offset,
            format!("{{{{{keyword}}}}} has no matching {{{{end}}}}"),
        ));
    }
    Ok(())
}

/// The text of an action up to its closing `}}` (outside strings), and how many bytes
/// including the delimiter it spans.
fn action_body(s: &str) -> Result<(&str, usize), String> {
    let bytes = s.as_bytes();
    let mut i = 0;
    let mut depth = 0i32;
    if s.starts_with("/*") {
        return match s.find("*/") {
            Some(end) => {
                let tail = s[end + 2..].trim_start_matches([' ', '-']);
                if tail.starts_with("}}") {
                    let close = s.len() - tail.len();
                    Ok((&s[..end + 2], close + 2))
                } else {
                    Err("a comment must be followed by }}".into())
                }
            }
            None => Err("unclosed comment".into()),
        };
    }
    while i < bytes.len() {
        match bytes[i] {
            b'"' | b'\'' => {
                let quote = bytes[i];
                i += 1;
                loop {
                    match bytes.get(i) {
                        None | Some(b'\n') => return Err("unterminated quoted string".into()),
                        Some(b'\\') => i += 2,
                        Some(c) if *c == quote => break,
                        Some(_) => i += 1,
                    }
                }
            }
            b'`' => match s[i + 1..].find('`') {
                Some(end) => i += end + 1,
                None => return Err("unterminated raw string".into()),
            },
            b'(' => depth += 1,
            b')' => {
                depth -= 1;
                if depth < 0 {
                    return Err("unexpected )".into());
                }
            }
            b'{' if bytes.get(i + 1) == Some(&b'{') => {
                return Err("{{ inside an action: missing }}".into());
            }
            b'}' if bytes.get(i + 1) == Some(&b'}') => {
                if depth != 0 {
                    return Err("unclosed ( in action".into());
                }
                let mut body = &s[..i];
                if body.ends_with(" -") || body == "-" {
                    body = &body[..body.len() - 1];
                }
                return Ok((body, i + 2));
            }
            _ => {}
        }
        i += 1;
    }
    Err("unclosed action: missing }}".into())
}

fn action(
    body: &str,
    start: usize,
    stack: &mut Vec<(&'static str, usize)>,
) -> Result<(), SyntaxError> {
    if body.is_empty() {
        return Err(err(start, "empty action {{}}"));
    }
    let word = body
        .split(|c: char| c.is_whitespace() || c == '(')
        .next()
        .unwrap_or_default();
    let bare = body.len() == word.len();
    match word {
        "if" | "range" | "with" | "define" | "block" => {
            if bare {
                return Err(err(start, format!("{{{{{word}}}}} needs an argument")));
            }
            let keyword = match word {
                "if" => "if",
                "range" => "range",
                "with" => "with",
                "define" => "define",
                _ => "block",
            };
            stack.push((keyword, start));
        }
        "end" => {
            if !bare {
                return Err(err(start, "{{end}} takes no argument"));
            }
            if stack.pop().is_none() {
                return Err(err(
                    start,
                    "{{end}} without a matching if, range, with, define or block",
                ));
            }
        }
        "else" => match stack.last() {
            Some((k, _)) if matches!(*k, "if" | "range" | "with") => {}
            _ => return Err(err(start, "{{else}} outside if, range or with")),
        },
        _ => {}
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::check;

    #[test]
    fn accepts_kratos_style_templates() {
        for ok in [
            "Hi, your code is {{ .RecoveryCode }}",
            "{{- if .Identity -}}Hello {{ .Identity.traits.email }}{{ else }}Hi{{ end -}}",
            "{{ range $i, $e := .Items }}{{ $e | printf \"%q\" }}{{ end }}",
            "{{/* a comment */}}plain {{ \"}}\" }}",
            "no actions at all } }",
            "{{ define \"x\" }}a{{ end }}{{ template \"x\" . }}",
        ] {
            assert!(check(ok).is_ok(), "{ok}: {:?}", check(ok));
        }
    }

    #[test]
    fn refuses_broken_templates() {
        for bad in [
            "Hi {{ .Name ",
            "{{ if .X }}open",
            "{{ end }}",
            "{{ }}",
            "{{ \"unterminated }}",
            "{{ (index .A 1 }}",
            "{{ else }}",
            "{{ .A {{ .B }}",
            "{{/* open }}",
        ] {
            assert!(check(bad).is_err(), "{bad} should fail");
        }
    }
}
