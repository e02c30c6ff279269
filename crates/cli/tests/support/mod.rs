//! What the CLI test files share: the binary, the test state, and running a command on a database.
#![allow(dead_code)] // each test binary uses its own part of this module

use std::process::{Command, Output};

pub const BIN: &str = env!("CARGO_BIN_EXE_sangathan");
pub const MINI: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../tests/fixtures/mini-state"
);

/// `sangathan --db DB ARGS…`, ignoring any SANGATHAN_DB of the environment.
pub fn run<D: AsRef<str> + ?Sized>(db: &D, args: &[&str]) -> Output {
    let mut a = vec!["--db", db.as_ref()];
    a.extend_from_slice(args);
    Command::new(BIN)
        .args(&a)
        .env_remove("SANGATHAN_DB")
        .output()
        .unwrap()
}

/// Like [`run`], asserting success; its standard output.
pub fn ok<D: AsRef<str> + ?Sized>(db: &D, args: &[&str]) -> String {
    let o = run(db, args);
    assert!(
        o.status.success(),
        "{args:?} failed: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    String::from_utf8(o.stdout).unwrap()
}
