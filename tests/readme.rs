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
