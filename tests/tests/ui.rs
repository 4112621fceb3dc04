//! The macro's compile errors, one mistake per file with a reviewed
//! `.stderr` snapshot, and programs that must compile (hygiene included).
//! Regenerate snapshots with `TRYBUILD=overwrite` and read the diff.

#[test]
fn ui() {
    let cases = trybuild::TestCases::new();
    cases.pass("tests/ui/pass/*.rs");
    cases.compile_fail("tests/ui/fail/*.rs");
}
