//! Renders the migrations: every source in `migrations/` (one per schema
//! change) for every database, into `$OUT_DIR/migrations.rs`, which
//! `store::sql::migrations` embeds. A source that does not render stops the
//! build, naming its file and line.

use std::error::Error;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

#[path = "src/store/sql/migrations/render.rs"]
mod render;

fn main() -> Result<(), Box<dyn Error>> {
    println!("cargo:rerun-if-changed=migrations");
    println!("cargo:rerun-if-changed=src/store/sql/migrations/render.rs");
    let out_dir = PathBuf::from(std::env::var("OUT_DIR")?);
    let mut sources = Vec::new();
    for entry in std::fs::read_dir("migrations")? {
        let path = entry?.path();
        if path.extension().is_some_and(|e| e == "sql") {
            sources.push(path);
        }
    }
    sources.sort();
    let mut table = String::from("// Rendered by build.rs from server/migrations/.\n[\n");
    for dialect in &render::DIALECTS {
        for path in &sources {
            let (file, name, source) = read(path)?;
            let sql = render::render(&source, dialect)
                .map_err(|e| format!("migrations/{file} ({}): {e}", dialect.name))?;
            writeln!(
                table,
                "    Rendered {{ dialect: {:?}, version: {}, description: {:?}, up: {}, sql: {:?} }},",
                dialect.name, name.version, name.description, name.up, sql
            )?;
        }
    }
    table.push_str("]\n");
    std::fs::write(out_dir.join("migrations.rs"), table)?;
    Ok(())
}

/// A source's file name, what the name says, and its text.
fn read(path: &Path) -> Result<(String, render::FileName, String), Box<dyn Error>> {
    let file = path
        .file_name()
        .and_then(|f| f.to_str())
        .ok_or_else(|| format!("{}: not a UTF-8 file name", path.display()))?
        .to_owned();
    let name = render::parse_file_name(&file)?;
    let source = std::fs::read_to_string(path)?;
    Ok((file, name, source))
}
