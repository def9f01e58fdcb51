//! The `bia` command.

fn main() {}
