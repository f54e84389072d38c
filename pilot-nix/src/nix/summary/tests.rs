use super::*;

#[test]
fn missing_attributes_name_the_attribute_and_place() {
    let stderr = "warning: not writing modified lock file of flake 'path:/x':\n\
        error: attribute 'python399' missing\n\n       \
        at /nix/store/x91xhi51divc28x1yh4bcy6m64jbixlx-source/flake.nix:6:66:\n\n            \
        5|   in {\n       Did you mean python311?\n\
        (use '--show-trace' to show detailed location information)\n";
    let failure = summarize(stderr);
    assert_eq!(
        failure,
        NixFailure::MissingAttribute {
            attribute: "python399".into(),
            location: Some("flake.nix:6:66".into()),
            suggestion: Some("Did you mean python311?".into()),
        }
    );
    assert_eq!(
        failure.to_string(),
        "missing attribute 'python399' at flake.nix:6:66 (did you mean python311?)"
    );
}

#[test]
fn syntax_errors_keep_file_line_and_column() {
    let stderr = "\u{1b}[31;1merror:\u{1b}[0m syntax error, unexpected '}', expecting ';'\n\n       \
        at /tmp/app/nix/flake.nix:4:3:\n\n            3|     x = 1\n";
    assert_eq!(
        summarize(stderr).to_string(),
        "syntax error, unexpected '}', expecting ';' at /tmp/app/nix/flake.nix:4:3"
    );
}

#[test]
fn failed_builds_show_the_last_lines_of_their_builder() {
    let stderr = "building '/nix/store/sip9kq6aabjs03jwldhvblz6cmvlh46r-fails.drv'...\n\
        fails> one\nfails> two\nfails> three\nfails> oops\n\
        error: builder for '/nix/store/sip9kq6aabjs03jwldhvblz6cmvlh46r-fails.drv' failed with exit code 3\n";
    assert_eq!(
        summarize(stderr).to_string(),
        "building fails failed with exit code 3; last output: two | three | oops"
    );
    let quiet = "error: builder for '/nix/store/aaa-x.drv' failed with exit code 1;\n       \
        last 2 log lines:\n       > a\n       > b\n       For full logs, run 'nix log'.\n";
    assert_eq!(
        summarize(quiet).to_string(),
        "building x failed with exit code 1; last output: a | b"
    );
}

#[test]
fn hash_mismatches_say_which_hash_to_use() {
    let stderr = "error: hash mismatch in fixed-output derivation '/nix/store/3vfr-fod.drv':\n         \
        specified: sha256-AAAA=\n            got:    sha256-mOpu=\n";
    assert_eq!(
        summarize(stderr),
        NixFailure::HashMismatch {
            derivation: "fod".into(),
            specified: "sha256-AAAA=".into(),
            got: "sha256-mOpu=".into(),
        }
    );
}

#[test]
fn other_errors_are_evaluation_errors() {
    assert_eq!(
        summarize("error: custom failure x\n").to_string(),
        "evaluation error: custom failure x"
    );
    assert_eq!(summarize("killed\n"), NixFailure::NoMessage);
}
