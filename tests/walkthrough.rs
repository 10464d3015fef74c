//! WALKTHROUGH.md's evidence is real: every line of every excerpt labelled with a `captures/…`
//! file appears, whole, in that file.

use std::path::Path;

#[test]
fn every_excerpt_line_is_in_its_capture_file() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let text = std::fs::read_to_string(root.join("WALKTHROUGH.md")).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    let mut checked = 0;
    let mut missing = Vec::new();
    let mut i = 0;
    while i + 1 < lines.len() {
        let label = lines[i].trim();
        let is_label = label.starts_with("`captures/") && label.ends_with('`') && label.len() > 2;
        if !(is_label && lines[i + 1].starts_with("```")) {
            i += 1;
            continue;
        }
        let path = &label[1..label.len() - 1];
        let file = std::fs::read(root.join(path))
            .unwrap_or_else(|e| panic!("WALKTHROUGH.md cites {path}: {e}"));
        let file = String::from_utf8_lossy(&file);
        let file_lines: std::collections::HashSet<&str> = file.lines().collect();
        let mut j = i + 2;
        while j < lines.len() && !lines[j].starts_with("```") {
            checked += 1;
            if !file_lines.contains(lines[j]) {
                missing.push(format!("{path}: {}", lines[j]));
            }
            j += 1;
        }
        i = j + 1;
    }
    assert!(
        checked >= 40,
        "only {checked} excerpt lines found: is the label format still `captures/…`?"
    );
    assert!(
        missing.is_empty(),
        "excerpt lines not in their capture:\n{}",
        missing.join("\n")
    );
}
