//! `verify-admission --version`: the version, then the FIPS state (README,
//! "FIPS build").

#[test]
fn version_names_the_build_and_its_fips_state() {
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_verify-admission"))
        .arg("--version")
        .output()
        .expect("the binary runs");
    assert!(output.status.success());
    let text = String::from_utf8(output.stdout).expect("UTF-8");
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 2, "{text}");
    assert_eq!(
        lines[0],
        format!("verify-admission {}", env!("CARGO_PKG_VERSION"))
    );
    if cfg!(feature = "fips") {
        assert!(lines[1].starts_with("fips: on (AWS-LC FIPS "), "{text}");
    } else {
        assert_eq!(lines[1], "fips: off");
    }
}
