//! Reading the configuration: files merged in order (later files win), then
//! environment overrides, then the typed tree, with a warning for every key
//! this version does not read.

use std::io::Read;
use std::path::Path;

use serde_json::Value;

use crate::error::{ConfigError, Warning, key};
use crate::types::Config;

/// The largest config file read, in bytes. A Kratos config, even with its
/// schemas inlined as `base64://`, is far smaller; past this the file is
/// refused rather than parsed.
pub const MAX_FILE_BYTES: u64 = 4 * 1024 * 1024;

/// Reads one file: YAML, or JSON when its name ends in `.json`. An empty file
/// is an empty mapping.
pub fn read_file(path: &Path) -> Result<Value, ConfigError> {
    let refuse = |reason: String| ConfigError::Read {
        path: path.to_owned(),
        reason,
    };
    let file = std::fs::File::open(path).map_err(|e| refuse(e.to_string()))?;
    let mut bytes = Vec::new();
    file.take(MAX_FILE_BYTES + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| refuse(e.to_string()))?;
    if bytes.len() as u64 > MAX_FILE_BYTES {
        return Err(refuse(format!(
            "the file is larger than {} MiB",
            MAX_FILE_BYTES >> 20
        )));
    }
    let text = String::from_utf8(bytes).map_err(|_| refuse("the file is not UTF-8".into()))?;
    let is_json = path.extension().is_some_and(|e| e == "json");
    parse_text(&text, is_json).map_err(refuse)
}

/// Parses the text of one config file as [`read_file`] does: YAML, or JSON
/// when `json`. Empty text is an empty mapping; any other top level than a
/// mapping is refused.
pub fn parse_text(text: &str, json: bool) -> Result<Value, String> {
    let value = if json {
        serde_json::from_str(text).map_err(|e| e.to_string())?
    } else {
        parse_yaml(text)?
    };
    match value {
        Value::Null => Ok(Value::Object(Default::default())),
        Value::Object(_) => Ok(value),
        _ => Err("the top level must be a mapping of keys".into()),
    }
}

/// The deepest nesting of flow collections (`[`, `{`) accepted in YAML. The
/// deepest key of a configuration is about ten levels down; the parser's
/// work per token grows with the depth.
pub const MAX_FLOW_DEPTH: usize = 32;

/// The deepest indentation accepted, in columns (block indicators `- ` and
/// `? ` count as indentation): block nesting can go no deeper.
pub const MAX_INDENT: usize = 1000;

/// Parses YAML text. Hostile input ends in an error: nesting is measured
/// before parsing (the parser's time grows with the square of the depth), and
/// the parser refuses aliases that expand too far.
pub fn parse_yaml(text: &str) -> Result<Value, String> {
    check_nesting(text)?;
    yaml_serde::from_str(text).map_err(|e| e.to_string())
}

/// A conservative scan of YAML text for its nesting: indentation, and flow
/// brackets outside quotes and comments. Outside flow collections a bracket
/// opens one only where a node can start (at the start of a line or a token
/// after `:`, `-`, `?`, an anchor or a tag); elsewhere it is text of a plain
/// scalar (`secret: ab{{cd`). Inside flow collections every bracket counts,
/// as plain scalars cannot hold them there. The scan may overcount, but never
/// lets deeper nesting through to the parser.
fn check_nesting(text: &str) -> Result<(), String> {
    for (n, line) in text.lines().enumerate() {
        let indent = line
            .chars()
            .take_while(|c| matches!(c, ' ' | '\t' | '-' | '?'))
            .count();
        if indent > MAX_INDENT {
            return Err(format!(
                "line {}: indented deeper than {MAX_INDENT} columns",
                n + 1
            ));
        }
    }
    let mut scan = NestingScan::default();
    for (n, c) in text.chars().enumerate() {
        if scan.step(c) > MAX_FLOW_DEPTH {
            return Err(format!(
                "recursion limit exceeded: collections nested deeper than \
                 {MAX_FLOW_DEPTH} levels (character {n})"
            ));
        }
    }
    Ok(())
}

/// The state of [`check_nesting`]'s scan.
struct NestingScan {
    depth: usize,
    quote: Option<char>,
    /// A single quote just closed a single-quoted scalar: a second one at
    /// once (`''`) is an escaped quote and the scalar goes on.
    single_closed: bool,
    comment: bool,
    escaped: bool,
    previous: char,
    /// Outside flow collections: whether a node may start here.
    node_start: bool,
    /// The first character of the current token, if one has begun.
    token: Option<char>,
    /// The last character of the current token.
    last: char,
    /// The column of the character being read (0 at a line's start).
    column: usize,
    /// The column where the line's innermost entry began (its key, or the
    /// `-`/`?` of a sequence entry or complex key).
    entry_col: usize,
    /// A block scalar header (`|`, `>`, `|-`, `>2`, ...) is the line's last
    /// token so far: at the line's end its text begins, indented past this
    /// column.
    pending_block: Option<usize>,
    /// Inside a block scalar: the column its text lines are indented past.
    block: Option<usize>,
    /// The current line is text of the block scalar.
    block_text: bool,
}

impl Default for NestingScan {
    fn default() -> Self {
        Self {
            depth: 0,
            quote: None,
            single_closed: false,
            comment: false,
            escaped: false,
            previous: '\n',
            node_start: true,
            token: None,
            last: '\n',
            column: 0,
            entry_col: 0,
            pending_block: None,
            block: None,
            block_text: false,
        }
    }
}

impl NestingScan {
    /// Takes one character; answers the flow depth after it.
    fn step(&mut self, c: char) -> usize {
        let column = self.column;
        self.column = if c == '\n' { 0 } else { column + 1 };
        if self.block_scalar_text(c, column) {
            return self.depth;
        }
        if std::mem::take(&mut self.single_closed) && c == '\'' {
            self.quote = Some(c);
        } else if c == '\n' {
            // Quoted scalars may span lines; ending the quote here can only
            // make the scan count more brackets, never fewer.
            (self.quote, self.comment, self.escaped) = (None, false, false);
            (self.node_start, self.token) = (true, None);
            self.block = self.pending_block.take();
            self.entry_col = 0;
        } else if self.comment {
        } else if let Some(q) = self.quote {
            if self.escaped {
                self.escaped = false;
            } else if q == '"' && c == '\\' {
                self.escaped = true;
            } else if c == q {
                self.quote = None;
                self.single_closed = q == '\'';
            }
        } else if c.is_whitespace() {
            self.end_token();
        } else {
            self.character(c, column);
        }
        self.previous = c;
        self.depth
    }

    /// Whether `c`, at `column`, is text of a block scalar (`key: |` and
    /// the lines indented past the key): its brackets are text. A line not
    /// indented past it ends the scalar. Tabs never indent in YAML, so a
    /// line starting with one ends it too (the scan then counts more).
    fn block_scalar_text(&mut self, c: char, column: usize) -> bool {
        let Some(past) = self.block else {
            return false;
        };
        match c {
            '\n' => self.block_text = false,
            _ if self.block_text => {}
            ' ' => {}
            _ if column > past => self.block_text = true,
            _ => {
                self.block = None;
                return false;
            }
        }
        true
    }

    fn character(&mut self, c: char, column: usize) {
        let token_start = self.token.is_none();
        let comment = c == '#' && self.previous.is_whitespace();
        if token_start && !comment {
            // Only a header's indicators may follow `|` or `>` in its token,
            // and nothing but a comment after it on its line.
            self.pending_block = None;
            if self.depth == 0 && self.node_start {
                if matches!(c, '|' | '>') {
                    self.pending_block = Some(self.entry_col);
                } else {
                    self.entry_col = column;
                }
            }
        } else if !token_start && !matches!(c, '-' | '+' | '0'..='9') {
            self.pending_block = None;
        }
        match c {
            '#' if self.previous.is_whitespace() => self.comment = true,
            '"' | '\'' if self.previous.is_whitespace() || "[{,:".contains(self.previous) => {
                self.quote = Some(c)
            }
            '[' | '{' if self.depth > 0 || (self.node_start && token_start) => {
                self.depth += 1;
                self.token = None;
                return;
            }
            ']' | '}' if self.depth > 0 => {
                self.depth -= 1;
                self.token = None;
                return;
            }
            _ => {}
        }
        if token_start {
            self.token = Some(c);
        }
        self.last = c;
    }

    /// Whitespace: a node may start after `:`, `-`, `?` or a property
    /// (`&anchor`, `!tag`), and nowhere else in the line.
    fn end_token(&mut self) {
        if let Some(first) = self.token.take() {
            self.node_start = matches!(first, '&' | '!') || matches!(self.last, ':' | '-' | '?');
        }
    }
}

/// Reads and merges files in order.
pub fn read_files(files: &[impl AsRef<Path>]) -> Result<Value, ConfigError> {
    let mut tree = Value::Object(Default::default());
    for path in files {
        merge(&mut tree, read_file(path.as_ref())?);
    }
    Ok(tree)
}

/// Deep-merges `layer` into `base`: mappings merge key by key, anything else
/// (lists included) is replaced.
pub fn merge(base: &mut Value, layer: Value) {
    match (base, layer) {
        (Value::Object(base), Value::Object(layer)) => {
            for (key, value) in layer {
                match base.get_mut(&key) {
                    Some(existing) if existing.is_object() && value.is_object() => {
                        merge(existing, value)
                    }
                    _ => {
                        base.insert(key, value);
                    }
                }
            }
        }
        (base, layer) => *base = layer,
    }
}

/// Turns a merged tree into the typed configuration, with a warning for every
/// key it does not read. A value of the wrong kind is an error naming its key.
pub fn parse(tree: &Value) -> Result<(Config, Vec<Warning>), ConfigError> {
    let mut warnings = Vec::new();
    let config = {
        let mut on_ignored = |path: serde_ignored::Path<'_>| {
            warnings.push(Warning::unsupported(ignored_key(&path)));
        };
        let ignored = serde_ignored::Deserializer::new(tree, &mut on_ignored);
        serde_path_to_error::deserialize(ignored).map_err(|e| {
            let key = e
                .path()
                .iter()
                .fold(String::new(), |parent, segment| match segment {
                    serde_path_to_error::Segment::Seq { index } => key::index(&parent, *index),
                    serde_path_to_error::Segment::Map { key: name }
                    | serde_path_to_error::Segment::Enum { variant: name } => {
                        key::field(&parent, name)
                    }
                    serde_path_to_error::Segment::Unknown => parent,
                });
            ConfigError::invalid(
                if key.is_empty() { ".".into() } else { key },
                e.into_inner().to_string(),
            )
        })?
    };
    Ok((config, warnings))
}

fn ignored_key(path: &serde_ignored::Path<'_>) -> String {
    use serde_ignored::Path;
    match path {
        Path::Root => String::new(),
        Path::Seq { parent, index } => key::index(&ignored_key(parent), *index),
        Path::Map { parent, key: name } => key::field(&ignored_key(parent), name),
        Path::Some { parent }
        | Path::NewtypeStruct { parent }
        | Path::NewtypeVariant { parent } => ignored_key(parent),
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn later_layers_win() {
        let mut tree = json!({"serve": {"public": {"port": 1, "host": "a"}}});
        merge(&mut tree, json!({"serve": {"public": {"port": 2}}}));
        assert_eq!(tree, json!({"serve": {"public": {"port": 2, "host": "a"}}}));
    }

    #[test]
    fn unknown_keys_warn_with_their_key() {
        let tree = json!({
            "oauth2_provider": {"url": "x"},
            "identity": {"schemas": [{"id": "a", "url": "file:///a", "extra": 1}]},
            "serve": {"public": {"port": 4455}}
        });
        let (config, warnings) = parse(&tree).unwrap();
        assert_eq!(config.public_port(), 4455);
        let mut keys: Vec<&str> = warnings.iter().map(|w| w.key.as_str()).collect();
        // In document order, which depends on whether maps keep it: compare as a set.
        keys.sort_unstable();
        assert_eq!(keys, ["identity.schemas[0].extra", "oauth2_provider"]);
    }

    #[test]
    fn wrong_kinds_name_the_key() {
        let err = parse(&json!({"identity": {"schemas": [{"id": "a", "url": 5}]}})).unwrap_err();
        assert_eq!(err.key(), Some("identity.schemas[0].url"), "{err}");
        let err = parse(&json!({"session": {"lifespan": "soon"}})).unwrap_err();
        assert_eq!(err.key(), Some("session.lifespan"), "{err}");
    }

    fn write(dir: &tempfile::TempDir, name: &str, body: &[u8]) -> std::path::PathBuf {
        let path = dir.path().join(name);
        std::fs::write(&path, body).unwrap();
        path
    }

    #[test]
    fn hostile_files_are_errors() {
        let dir = tempfile::tempdir().unwrap();
        let deep = format!("a: {}{}", "[".repeat(100_000), "]".repeat(100_000));
        let deep_map = format!("{}1{}", "{a: ".repeat(50_000), "}".repeat(50_000));
        let mut bomb = String::from("a: &a [x, x, x, x, x, x, x, x, x]\n");
        for n in 1..12 {
            let prev = if n == 1 {
                "a".to_owned()
            } else {
                format!("a{}", n - 1)
            };
            bomb.push_str(&format!(
                "a{n}: &a{n} [*{prev}, *{prev}, *{prev}, *{prev}, *{prev}, *{prev}, *{prev}, *{prev}, *{prev}]\n"
            ));
        }
        let cases: Vec<(std::path::PathBuf, &str)> = vec![
            (write(&dir, "deep.yml", deep.as_bytes()), "recursion limit"),
            (
                write(&dir, "deep-map.yml", deep_map.as_bytes()),
                "recursion limit",
            ),
            (
                write(
                    &dir,
                    "deep.json",
                    format!("{{\"a\": {}{}}}", "[".repeat(100_000), "]".repeat(100_000)).as_bytes(),
                ),
                "recursion limit",
            ),
            (write(&dir, "bomb.yml", bomb.as_bytes()), "repetition limit"),
            (
                write(&dir, "huge.yml", &vec![b'#'; MAX_FILE_BYTES as usize + 1]),
                "larger than",
            ),
            (write(&dir, "binary.yml", &[0xff, 0xfe, 0x00]), "UTF-8"),
            (write(&dir, "list.yml", b"- a\n- b\n"), "mapping"),
            (
                write(
                    &dir,
                    "indented.yml",
                    format!("a:\n{}b: 1\n", " ".repeat(MAX_INDENT + 1)).as_bytes(),
                ),
                "indented deeper",
            ),
            (
                write(
                    &dir,
                    "dashes.yml",
                    format!("{}1\n", "- ".repeat(MAX_INDENT)).as_bytes(),
                ),
                "indented deeper",
            ),
            (
                write(
                    &dir,
                    "block.yml",
                    (0..MAX_INDENT)
                        .map(|n| format!("{}k:\n", " ".repeat(n)))
                        .collect::<String>()
                        .as_bytes(),
                ),
                "recursion limit",
            ),
        ];
        for (path, expected) in cases {
            let started = std::time::Instant::now();
            let err = read_file(&path).unwrap_err().to_string();
            assert!(err.contains(expected), "{}: {err}", path.display());
            assert!(
                started.elapsed() < std::time::Duration::from_secs(5),
                "{}: {:?}",
                path.display(),
                started.elapsed()
            );
        }
    }

    #[test]
    fn a_large_file_at_the_deepest_nesting_reads_quickly() {
        let dir = tempfile::tempdir().unwrap();
        let wide = format!(
            "a: {}{}{}",
            "[".repeat(MAX_FLOW_DEPTH),
            "1,".repeat(500_000),
            "]".repeat(MAX_FLOW_DEPTH)
        );
        let path = write(&dir, "wide.yml", wide.as_bytes());
        let started = std::time::Instant::now();
        read_file(&path).unwrap();
        assert!(
            started.elapsed() < std::time::Duration::from_secs(5),
            "{:?}",
            started.elapsed()
        );
    }

    #[test]
    fn legitimate_nesting_and_quotes_pass_the_scan() {
        let text = "a: \"[[[[ # not a comment\"\nb: 'it''s [ {'\nc: [1, [2, {d: \"x\"}]] # [[[\ne: |\n  local f(x) = { a: [x] };\n  f(1)\nf: it's [a\n";
        check_nesting(text).unwrap();
        let deep_enough = format!(
            "a: {}1{}",
            "[".repeat(MAX_FLOW_DEPTH - 1),
            "]".repeat(MAX_FLOW_DEPTH - 1)
        );
        check_nesting(&deep_enough).unwrap();
        let too_deep = format!(
            "a: {}1{}",
            "[".repeat(MAX_FLOW_DEPTH + 1),
            "]".repeat(MAX_FLOW_DEPTH + 1)
        );
        assert!(check_nesting(&too_deep).is_err());
        // A quote that is never closed does not hide brackets on later lines.
        let hidden = format!("a: |\n  'x\nb: {}", "[".repeat(MAX_FLOW_DEPTH + 1));
        assert!(check_nesting(&hidden).is_err());
    }

    /// Brackets inside a plain scalar are text, however many (a secret may
    /// hold them, and a serialized config must read back); a flow collection
    /// after `- `, `? `, an anchor or a tag is nesting.
    #[test]
    fn brackets_in_plain_scalars_are_text_and_flow_after_properties_is_nesting() {
        let braces = "{".repeat(MAX_FLOW_DEPTH * 4);
        for text in [
            format!("secrets:\n  cookie:\n  - one-cookie-se{braces}\n"),
            format!("a: x{braces}\nb: x [{braces}\nc: key:{braces}\n"),
        ] {
            assert_eq!(parse_yaml(&text).map(|_| ()), Ok(()), "{text}");
        }
        let deep = "[".repeat(MAX_FLOW_DEPTH + 1);
        for text in [
            format!("- {deep}"),
            format!("? {deep}"),
            format!("a: &anchor {deep}"),
            format!("a: !!seq {deep}"),
            format!("a:\n  {deep}"),
            format!("a: [x, {deep}"),
        ] {
            assert!(check_nesting(&text).is_err(), "{text}");
        }
    }

    /// A configuration whose secret holds many brackets serializes to YAML
    /// that reads back (found by fuzzing the loader).
    #[test]
    fn a_secret_full_of_brackets_round_trips() {
        let mut config = crate::Config::default();
        config.secrets.cookie = vec![format!("one-cookie-se{}", "{".repeat(200))];
        let yaml = config.to_yaml().unwrap();
        let again = crate::parse(&parse_yaml(&yaml).unwrap()).unwrap();
        assert_eq!(again.config, config);
    }

    /// `''` inside a single-quoted scalar is an escaped quote: the brackets
    /// after it are still text (found by fuzzing the loader).
    #[test]
    fn an_escaped_single_quote_keeps_the_scalar_open() {
        let braces = "{".repeat(MAX_FLOW_DEPTH * 4);
        let text = format!("a: 'it''s: {braces}'\nb: 'x'''\nc: ''''\n");
        assert_eq!(parse_yaml(&text).map(|_| ()), Ok(()), "{text}");
        let mut config = crate::Config::default();
        config.secrets.cookie = vec![format!("one-cooki'-se hook: {braces}")];
        let yaml = config.to_yaml().unwrap();
        let again = crate::parse(&parse_yaml(&yaml).unwrap()).unwrap();
        assert_eq!(again.config, config, "{yaml}");
        // A closed quote followed by brackets at a node start still counts.
        let deep = "[".repeat(MAX_FLOW_DEPTH + 1);
        assert!(check_nesting(&format!("a: ['x', {deep}")).is_err());
        assert!(check_nesting(&format!("- 'x'\n- {deep}")).is_err());
    }

    /// The text of a block scalar (`|`, `>`) is text, brackets and all: a
    /// secret with a line break serializes as one (found by fuzzing).
    #[test]
    fn block_scalar_text_is_not_counted() {
        let braces = "{".repeat(MAX_FLOW_DEPTH * 4);
        let mut config = crate::Config::default();
        config.secrets.cookie = vec![format!("word:\nnext: {braces}\n  cost: {braces}")];
        let yaml = config.to_yaml().unwrap();
        let again = crate::parse(&parse_yaml(&yaml).unwrap()).unwrap();
        assert_eq!(again.config, config, "{yaml}");
        for text in [
            format!("a: |\n  b: {braces}\n\n  c: {braces}\nd: 1\n"),
            format!("- >-\n  x: {braces}\n- |2 # a comment\n    {braces}\n"),
            format!("- a: |+\n    b: {braces}\n  c: x\n"),
        ] {
            assert_eq!(check_nesting(&text), Ok(()), "{text}");
        }
        // Lines not indented past the key are YAML again, and a header that
        // is not alone on its line starts no block scalar.
        let deep = "[".repeat(MAX_FLOW_DEPTH + 1);
        for text in [
            format!("a: |\n  b\nc: {deep}\n"),
            format!("- a: |\n    b\n  c: {deep}\n"),
            format!("- |\n  b\n- {deep}\n"),
            format!("a: |x\n  {deep}\n"),
            format!("a: [|\n  {deep}\n"),
            format!("a: |\n\tb: {deep}\n"),
        ] {
            assert!(check_nesting(&text).is_err(), "{text}");
        }
    }
}
