//! The Bia operator binary.

fn main() {}
