//! Writes the CRD YAML to `crds/` and `charts/bia/crds/` (or checks it with `--check`).

use std::path::PathBuf;
use std::process::ExitCode;

fn main() -> ExitCode {
    let check = std::env::args().any(|a| a == "--check");
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..");
    let targets = [root.join("crds"), root.join("charts/bia/crds")];
    let mut stale = false;
    for file in bia_crds::crds_yaml() {
        for dir in &targets {
            let path = dir.join(&file.file_name);
            let current = std::fs::read_to_string(&path).unwrap_or_default();
            if current == file.yaml {
                continue;
            }
            if check {
                eprintln!("stale: {}", path.display());
                stale = true;
            } else if let Err(e) =
                std::fs::create_dir_all(dir).and_then(|()| std::fs::write(&path, &file.yaml))
            {
                eprintln!("cannot write {}: {e}", path.display());
                return ExitCode::FAILURE;
            } else {
                println!("wrote {}", path.display());
            }
        }
    }
    if stale {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    }
}
