//! The configuration loader: documents merged in order, environment
//! overrides resolved against the config's JSON Schema, the structural
//! checks and every feature's interpretation of its section; then the
//! configuration the operator would write back is read again unchanged.
//!
//! Input: UTF-8 sections separated by lines of `%%`. With one section it is
//! a document; with more, the last holds `NAME=value` lines (the environment)
//! and the others are documents, JSON when they start with `{`, else YAML.
#![no_main]

use bia_config::{Mode, merge, parse_text};
use bia_server::config::from_tree_and_env;
use libfuzzer_sys::fuzz_target;
use serde_json::Value;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let mut sections: Vec<&str> = text.split("\n%%\n").collect();
    let env = if sections.len() > 1 {
        sections.pop()
    } else {
        None
    };
    let vars: Vec<(String, String)> = env
        .unwrap_or_default()
        .lines()
        .filter_map(|line| line.split_once('='))
        .map(|(name, value)| (name.to_owned(), value.to_owned()))
        .collect();
    let mut tree = Value::Object(Default::default());
    for section in sections {
        let json = section.trim_start().starts_with('{');
        match parse_text(section, json) {
            Ok(document) => merge(&mut tree, document),
            Err(_) => return,
        }
    }
    // `--dev` only relaxes a check or two; either mode, by the input's length.
    let mode = Mode {
        dev: data.len() % 2 == 0,
    };
    let Ok(loaded) = from_tree_and_env(tree, vars, mode) else {
        return;
    };
    // The YAML a configuration serializes to reads back as the same one.
    let yaml = loaded
        .config
        .to_yaml()
        .expect("a loaded configuration serializes");
    let again = parse_text(&yaml, false).expect("its YAML parses");
    let reread = bia_config::parse(&again).expect("its YAML reads back");
    assert_eq!(reread.config, loaded.config, "YAML:\n{yaml}");
});
