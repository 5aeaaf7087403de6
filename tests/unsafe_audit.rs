//! The crate denies unsafe code; two audited modules say why they need it.
//! Adding another means adding it here, in the open.

use std::path::{Path, PathBuf};

#[test]
fn only_the_audited_modules_allow_unsafe_code() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut allowed = Vec::new();
    let mut stack = vec![root.clone()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).expect("read the source tree") {
            let path = entry.expect("list the source tree").path();
            if path.is_dir() {
                stack.push(path);
            } else if path.extension().is_some_and(|e| e == "rs") {
                let text = std::fs::read_to_string(&path).expect("read a source file");
                if text.contains(concat!("allow(", "unsafe_code)")) {
                    allowed.push(path.strip_prefix(&root).expect("under src").to_owned());
                }
            }
        }
    }
    allowed.sort();
    assert_eq!(
        allowed,
        [
            PathBuf::from("capture/live/packet_stats.rs"),
            PathBuf::from("flow/prefetch.rs"),
        ]
    );
    let lib = std::fs::read_to_string(root.join("lib.rs")).expect("read lib.rs");
    assert!(lib.contains("#![deny(unsafe_code)]"));
}
