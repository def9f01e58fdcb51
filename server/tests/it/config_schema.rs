//! The committed config schema is generated from the config types.

use std::path::PathBuf;

#[test]
fn committed_config_schema_matches_the_types() {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../config/config.schema.json");
    let generated =
        serde_json::to_string_pretty(&bia_server::config::json_schema()).unwrap() + "\n";
    if std::env::var_os("BIA_UPDATE_GENERATED").is_some() {
        std::fs::write(&path, &generated).unwrap();
        return;
    }
    let committed = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        committed == generated,
        "config/config.schema.json is out of date; regenerate it with \
         `BIA_UPDATE_GENERATED=1 cargo test -p bia-server --test it config_schema`"
    );
}
