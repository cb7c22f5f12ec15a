//! The committed `openapi.yaml` must match what the code serves. Regenerate it with
//! `UPDATE_OPENAPI=1 cargo test -p wa-http --test openapi_spec`.

use std::path::PathBuf;

#[test]
fn committed_openapi_yaml_is_current() {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../openapi.yaml");
    let generated = wa_http::spec_yaml();
    if std::env::var_os("UPDATE_OPENAPI").is_some() {
        std::fs::write(&path, &generated).expect("write openapi.yaml");
        return;
    }
    let committed = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        committed == generated,
        "openapi.yaml is stale: run `UPDATE_OPENAPI=1 cargo test -p wa-http --test openapi_spec` and commit it"
    );
}
