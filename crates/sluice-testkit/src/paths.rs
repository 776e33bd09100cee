//! Where a test finds the repository's files and cargo's build outputs. This crate is a
//! library, so cargo's `CARGO_BIN_EXE_*` and `CARGO_TARGET_TMPDIR` (set only while an
//! integration test compiles) are derived here from the running test executable.

use std::path::{Path, PathBuf};

/// The repository's `config/` directory (compiled-in defaults' overrides).
pub fn config_dir() -> PathBuf {
    repo_root().join("config")
}

/// The repository root (the `sluice` package).
pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// `target/<profile>`: a test executable runs from `target/<profile>/deps/`.
fn profile_dir() -> PathBuf {
    let exe = std::env::current_exe().expect("the test executable's path");
    exe.parent()
        .and_then(Path::parent)
        .expect("test executables live in target/<profile>/deps")
        .to_path_buf()
}

/// The `sluice` binary cargo built for this test run (cargo builds a package's binaries
/// before running its integration tests).
pub fn sluice_bin() -> PathBuf {
    let bin = profile_dir().join(format!("sluice{}", std::env::consts::EXE_SUFFIX));
    assert!(bin.exists(), "{} not built", bin.display());
    bin
}

/// `target/tmp`, cargo's scratch directory for integration tests.
pub fn target_tmpdir() -> PathBuf {
    let dir = profile_dir()
        .parent()
        .expect("target/<profile> has a parent")
        .join("tmp");
    std::fs::create_dir_all(&dir).expect("target/tmp");
    dir
}
