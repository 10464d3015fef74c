//! README promises checked against the code: the exit-code table and the two opening commands.

use wtcurl::error::Label;

#[test]
fn exit_code_table_matches_the_code() {
    let readme =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md")).unwrap();
    for l in Label::ALL {
        let row = format!(
            "| `{}` | {} | {} | {} |",
            l.as_str(),
            l.exit_code(),
            l.curl_name(),
            l.meaning()
        );
        assert!(readme.contains(&row), "README lacks the row: {row}");
    }
    // …and in the table's order.
    let at: Vec<usize> = Label::ALL
        .iter()
        .map(|l| readme.find(&format!("| `{}` |", l.as_str())).unwrap())
        .collect();
    assert!(
        at.windows(2).all(|w| w[0] < w[1]),
        "README's exit-code rows are not in src/error.rs's order"
    );
}

#[test]
fn checking_a_run_yourself_needs_no_network() {
    let readme =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md")).unwrap();
    let section = readme
        .split("## Checking a run yourself")
        .nth(1)
        .expect("the section");
    let block = section
        .split("```sh\n")
        .nth(1)
        .unwrap()
        .split("```")
        .next()
        .unwrap();
    let run = block
        .lines()
        .find(|l| l.trim_start().starts_with("wtcurl "))
        .expect("a wtcurl command");
    // A host name must be pinned (--resolve) or asked of a loopback resolver (--dns-servers).
    assert!(
        run.contains("--resolve ") || run.contains("--dns-servers 127.0.0.1"),
        "the example would query the machine's resolver: {run}"
    );
    assert!(
        section.contains("cargo install --path ."),
        "say how to put wtcurl on PATH"
    );
    // strace must trace every kind wtcurl-check compares (ioctl's FIONREAD included).
    assert!(
        block.contains(&format!("-e trace={} ", wtcurl::check::STRACE_TRACE_LIST)),
        "the strace command's -e trace= list is not wtcurl-check's: {block}"
    );
}

#[test]
fn readme_opens_with_the_demo_and_the_test_command() {
    let readme =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md")).unwrap();
    let block = readme
        .split("```sh\n")
        .nth(1)
        .unwrap()
        .split("```")
        .next()
        .unwrap();
    let lines: Vec<&str> = block.lines().collect();
    assert!(lines[0].starts_with("cargo run --release -- --demo"));
    assert!(lines[1].starts_with("scripts/test.sh"));
    let ci = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/.ci/run")).unwrap();
    assert!(
        ci.contains("scripts/test.sh"),
        ".ci/run must call the README's test command"
    );
}
