//! Opening an instance over fresh test stores, for tests and benches.

use crate::{Datavow, OpenOptions};
use datavow_policy::Policy;
use datavow_store::testkit::TestStores;
use std::path::PathBuf;
use std::sync::Arc;

/// Options for an instance over `t` with the bundled policy; the master key is
/// `master_key_file`, or created in the test's scratch data directory.
pub fn options(t: &TestStores, master_key_file: Option<PathBuf>) -> OpenOptions {
    OpenOptions {
        data_dir: t.scratch_dir().join("data"),
        location: t.location.clone(),
        policy: Arc::new(Policy::bundled().expect("bundled policy")),
        master_key_file,
    }
}

/// An instance over `t` with the bundled policy.
pub async fn open(t: &TestStores) -> Datavow {
    Datavow::open(options(t, None)).await.expect("open Datavow")
}
