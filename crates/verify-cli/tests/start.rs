//! What keeps a one-shot run's start cheap (see `build.rs` and `cli.rs`'s
//! `Command`), checked so that neither quietly regresses.

use std::process::Command;

fn verify(args: &[&str]) -> String {
    let out = Command::new(env!("CARGO_BIN_EXE_verify"))
        .args(args)
        .output()
        .expect("the verify binary runs");
    assert!(out.status.success(), "verify {args:?}: {out:?}");
    String::from_utf8(out.stdout).expect("help is UTF-8")
}

/// The ELF type of the binary: `ET_EXEC` (2) when linked without PIE,
/// `ET_DYN` (3) for a position-independent one.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
#[test]
fn the_binary_is_not_position_independent_unless_fips_or_asked() {
    let elf = std::fs::read(env!("CARGO_BIN_EXE_verify")).expect("read the binary");
    assert_eq!(&elf[..4], b"\x7fELF");
    let e_type = u16::from_le_bytes([elf[16], elf[17]]);
    let pie = cfg!(feature = "fips") || option_env!("VERIFY_PIE") == Some("1");
    assert_eq!(e_type, if pie { 3 } else { 2 }, "ELF type of verify");
}

/// Subcommands' arguments are built lazily (`defer`); a flattened argument
/// group's doc comment would then replace the subcommand's own summary.
/// Every `verify NAME --help` must open with the summary `verify --help`
/// lists for NAME, and list its options.
#[test]
fn each_subcommand_help_opens_with_its_own_summary() {
    let top = verify(&["--help"]);
    let listed: Vec<(String, String)> = top
        .lines()
        .skip_while(|l| !l.starts_with("Commands:"))
        .skip(1)
        .take_while(|l| l.starts_with("  "))
        .filter_map(|l| {
            let (name, summary) = l.trim().split_once(' ')?;
            Some((name.to_string(), summary.trim().to_string()))
        })
        .filter(|(name, _)| name != "help")
        .collect();
    assert!(listed.len() >= 12, "subcommands listed: {listed:?}");
    for (name, summary) in listed {
        let help = verify(&[&name, "--help"]);
        let first = help.lines().next().unwrap_or_default();
        assert_eq!(first, summary, "first line of `verify {name} --help`");
        assert!(help.contains("Options:"), "`verify {name} --help`:\n{help}");
    }
}
