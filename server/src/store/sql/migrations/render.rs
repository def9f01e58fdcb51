//! Renders one migration source into the SQL of one dialect.
//!
//! Each schema change is one source file in `server/migrations/`
//! (`<version>_<description>.<up|down>.sql`). What differs between the
//! databases is written in the source, and only that:
//!
//! - `${name}` stands for a word of the dialect's vocabulary ([`DIALECTS`]):
//!   `${long_text}` is the column type for documents that may exceed 64 KiB
//!   (`TEXT`, or `LONGTEXT` on MySQL) and `${table_options}` ends every
//!   `CREATE TABLE` (the engine and a binary collation on MySQL, nothing elsewhere).
//! - A line `--@ sqlite postgres` starts lines for the named dialects only;
//!   `--@ all` returns to lines for every dialect. These lines vanish from the
//!   output; every other byte is kept as written.
//!
//! The build script renders every source for every dialect and embeds the
//! result; this file is compiled into both, so they cannot disagree.

/// A database dialect and its vocabulary.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Dialect {
    /// Its name, as in directives and as `Backend` prints it.
    pub name: &'static str,
    /// The words `${name}` stands for.
    words: &'static [(&'static str, &'static str)],
}

/// Every dialect, with its words.
pub const DIALECTS: [Dialect; 3] = [
    Dialect {
        name: "sqlite",
        words: &[("long_text", "TEXT"), ("table_options", "")],
    },
    Dialect {
        name: "postgres",
        words: &[("long_text", "TEXT"), ("table_options", "")],
    },
    Dialect {
        name: "mysql",
        words: &[
            ("long_text", "LONGTEXT"),
            (
                "table_options",
                " ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin",
            ),
        ],
    },
];

/// Starts a directive line.
const DIRECTIVE: &str = "--@";

/// Renders `source` for `dialect`; the error names the line and what is wrong.
pub fn render(source: &str, dialect: &Dialect) -> Result<String, String> {
    let mut out = String::with_capacity(source.len());
    let mut included = true;
    for (n, line) in source.split_inclusive('\n').enumerate() {
        let at = |problem: String| format!("line {}: {problem}", n + 1);
        if let Some(names) = line.trim_start().strip_prefix(DIRECTIVE) {
            included = includes(names, dialect).map_err(at)?;
        } else if included {
            substitute(line, dialect, &mut out).map_err(at)?;
        }
    }
    Ok(out)
}

/// Whether a directive's list of dialects (or `all`) names this one.
fn includes(names: &str, dialect: &Dialect) -> Result<bool, String> {
    let names: Vec<&str> = names.split_whitespace().collect();
    if names.is_empty() {
        return Err(format!("{DIRECTIVE} names no dialect (or `all`)"));
    }
    if names == ["all"] {
        return Ok(true);
    }
    for name in &names {
        if !DIALECTS.iter().any(|d| d.name == *name) {
            return Err(format!("unknown dialect {name:?}"));
        }
    }
    Ok(names.contains(&dialect.name))
}

/// Copies `line` with every `${name}` replaced by the dialect's word.
fn substitute(line: &str, dialect: &Dialect, out: &mut String) -> Result<(), String> {
    let mut rest = line;
    while let Some(start) = rest.find("${") {
        out.push_str(&rest[..start]);
        let after = &rest[start + 2..];
        let end = after
            .find('}')
            .ok_or_else(|| "`${` without a closing `}`".to_owned())?;
        let name = &after[..end];
        let word = dialect
            .words
            .iter()
            .find(|(known, _)| *known == name)
            .map(|(_, word)| *word)
            .ok_or_else(|| format!("unknown word ${{{name}}}"))?;
        out.push_str(word);
        rest = &after[end + 1..];
    }
    out.push_str(rest);
    Ok(())
}

/// What a source's file name says: `<version>_<description>.<up|down>.sql`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileName {
    /// The version, which orders migrations.
    pub version: i64,
    /// The description, with underscores read as spaces (as sqlx reads it).
    pub description: String,
    /// True for `.up.sql`, false for `.down.sql`.
    pub up: bool,
}

/// Reads a source's file name.
pub fn parse_file_name(file: &str) -> Result<FileName, String> {
    let wrong = || format!("{file}: expected <version>_<description>.<up|down>.sql");
    let (version, rest) = file.split_once('_').ok_or_else(wrong)?;
    let version = version.parse().map_err(|_| wrong())?;
    let (description, up) = if let Some(description) = rest.strip_suffix(".up.sql") {
        (description, true)
    } else if let Some(description) = rest.strip_suffix(".down.sql") {
        (description, false)
    } else {
        return Err(wrong());
    };
    Ok(FileName {
        version,
        description: description.replace('_', " "),
        up,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dialect(name: &str) -> Dialect {
        DIALECTS.into_iter().find(|d| d.name == name).unwrap()
    }

    #[test]
    fn words_and_sections_render_per_dialect() {
        let source = "-- shared\nCREATE TABLE t (doc ${long_text})${table_options};\n\
                      --@ sqlite postgres\nSELECT 1;\n--@ mysql\nSELECT 2;\n--@ all\nSELECT 3;\n";
        assert_eq!(
            render(source, &dialect("sqlite")).unwrap(),
            "-- shared\nCREATE TABLE t (doc TEXT);\nSELECT 1;\nSELECT 3;\n"
        );
        assert_eq!(
            render(source, &dialect("mysql")).unwrap(),
            "-- shared\nCREATE TABLE t (doc LONGTEXT) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 \
             COLLATE=utf8mb4_bin;\nSELECT 2;\nSELECT 3;\n"
        );
        // Braces that are not a word stay as written.
        assert_eq!(
            render("DEFAULT '{\"a\":[]}'", &dialect("postgres")).unwrap(),
            "DEFAULT '{\"a\":[]}'"
        );
    }

    #[test]
    fn mistakes_name_their_line() {
        let sqlite = dialect("sqlite");
        assert_eq!(
            render("SELECT 1;\n${short_text}\n", &sqlite).unwrap_err(),
            "line 2: unknown word ${short_text}"
        );
        assert_eq!(
            render("${long_text\n", &sqlite).unwrap_err(),
            "line 1: `${` without a closing `}`"
        );
        assert_eq!(
            render("--@ oracle\n", &sqlite).unwrap_err(),
            "line 1: unknown dialect \"oracle\""
        );
        assert!(render("--@\n", &sqlite).is_err());
    }

    #[test]
    fn file_names_are_read_as_sqlx_reads_them() {
        assert_eq!(
            parse_file_name("20261128000003_identity_addresses_copy.up.sql").unwrap(),
            FileName {
                version: 20261128000003,
                description: "identity addresses copy".into(),
                up: true,
            }
        );
        assert!(!parse_file_name("1_x.down.sql").unwrap().up);
        assert!(parse_file_name("1_x.sql").is_err());
        assert!(parse_file_name("one_x.up.sql").is_err());
    }
}
