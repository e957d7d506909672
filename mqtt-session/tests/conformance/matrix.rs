//! `CONFORMANCE.md`, generated from `statements.txt` and the names of the conformance tests, so
//! the matrix cannot drift from the tests.
//!
//! The tests here fail when a statement has neither a test nor a note saying why it has none,
//! when a conformance test's name matches no statement, and when the file at the repository root
//! differs from what this generates. After adding or renaming tests, regenerate it with
//!
//! ```text
//! UPDATE_CONFORMANCE=1 cargo test -p mqtt-session --test conformance_matrix
//! ```

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::fs;
use std::path::{Path, PathBuf};

/// The number of client-binding numbered statements in each standard: facts of the standards,
/// so a line lost from `statements.txt` fails here. Server statements (`5.0 server`) are not
/// counted: only those the client checks are listed.
const NUMBERED: [(&str, usize); 2] = [("3.1.1", 72), ("5.0", 133)];

/// One line of `statements.txt`.
#[derive(Debug)]
struct Statement {
    version: String,
    /// A statement that binds the server alone, listed because the client checks what it
    /// receives against it (written `5.0 server` in the version column).
    server: bool,
    id: String,
    summary: String,
    /// Why no test covers it, when none does.
    note: Option<String>,
}

impl Statement {
    /// The prefix of the names of the tests that cover this statement.
    fn key(&self) -> String {
        let version = match self.version.as_str() {
            "3.1.1" => "311",
            _ => "5",
        };
        let id = self.id.to_lowercase().replace(['.', '-'], "_");
        let (kind, number) = id.split_once('_').expect("ids have a kind and a number");
        format!("{kind}_{version}_{number}_")
    }
}

/// A conformance test: its function name and the file it is in, relative to the repository.
#[derive(Debug, Clone)]
struct TestFn {
    file: String,
    name: String,
}

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("the crate sits in the workspace")
        .to_path_buf()
}

fn statements() -> Vec<Statement> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/conformance/statements.txt");
    let text = fs::read_to_string(&path).expect("statements.txt");
    let mut statements = Vec::new();
    for (n, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let fields: Vec<&str> = line.split(" | ").map(str::trim).collect();
        let (version, id, summary, note) = match fields.as_slice() {
            [v, i, s] => (v, i, s, None),
            [v, i, s, note] => (v, i, s, Some(note.to_string())),
            _ => panic!("statements.txt:{}: expected 3 or 4 fields", n + 1),
        };
        let (version, server) = match version.strip_suffix(" server") {
            Some(version) => (version, true),
            None => (*version, false),
        };
        assert!(
            matches!(version, "3.1.1" | "5.0"),
            "statements.txt:{}: version {version}",
            n + 1
        );
        let well_formed = id
            .split_once('-')
            .is_some_and(|(kind, rest)| matches!(kind, "MQTT" | "SHOULD") && rest.contains('-'));
        assert!(well_formed, "statements.txt:{}: id {id}", n + 1);
        assert!(
            !server || id.starts_with("MQTT-"),
            "statements.txt:{}: only numbered statements bind the server",
            n + 1
        );
        statements.push(Statement {
            version: version.to_string(),
            server,
            id: id.to_string(),
            summary: summary.to_string(),
            note,
        });
    }
    statements
}

/// Every `#[test]` function in a `tests/conformance` directory of a workspace crate, except
/// this file's.
fn tests() -> Vec<TestFn> {
    let root = root();
    let mut files = Vec::new();
    for krate in fs::read_dir(&root).expect("the workspace") {
        let dir = krate
            .expect("a directory entry")
            .path()
            .join("tests/conformance");
        let Ok(entries) = fs::read_dir(&dir) else {
            continue;
        };
        for entry in entries {
            let path = entry.expect("a directory entry").path();
            let is_rust = path.extension().is_some_and(|e| e == "rs");
            if is_rust && path.file_name().is_some_and(|n| n != "matrix.rs") {
                files.push(path);
            }
        }
    }
    files.sort();
    let mut tests = Vec::new();
    for path in files {
        let file = path
            .strip_prefix(&root)
            .expect("under the root")
            .to_string_lossy()
            .replace('\\', "/");
        let text = fs::read_to_string(&path).expect("a test file");
        let mut is_test = false;
        for line in text.lines().map(str::trim) {
            if line.starts_with("#[test]") || line.starts_with("#[tokio::test") {
                is_test = true;
            } else if is_test && !line.starts_with("#[") && !line.starts_with("//") {
                let name = line
                    .trim_start_matches("async ")
                    .strip_prefix("fn ")
                    .and_then(|rest| rest.split('(').next())
                    .unwrap_or_else(|| panic!("{file}: no fn after #[test]: {line}"));
                tests.push(TestFn {
                    file: file.clone(),
                    name: name.to_string(),
                });
                is_test = false;
            }
        }
    }
    tests
}

/// The tests of each statement, by index into `statements`.
fn coverage(statements: &[Statement], tests: &[TestFn]) -> BTreeMap<usize, Vec<TestFn>> {
    let keys: Vec<String> = statements.iter().map(Statement::key).collect();
    let mut covered: BTreeMap<usize, Vec<TestFn>> = BTreeMap::new();
    let mut stray = Vec::new();
    for test in tests {
        match keys.iter().position(|k| test.name.starts_with(k.as_str())) {
            Some(i) => covered.entry(i).or_default().push(test.clone()),
            None => stray.push(format!("{}: {}", test.file, test.name)),
        }
    }
    assert!(
        stray.is_empty(),
        "conformance tests whose names match no statement in statements.txt:\n{}",
        stray.join("\n")
    );
    covered
}

fn generate(statements: &[Statement], covered: &BTreeMap<usize, Vec<TestFn>>) -> String {
    let tested = covered.len();
    let tests: usize = covered.values().map(Vec::len).sum();
    let mut out = String::new();
    out.push_str(
        "# MQTT conformance\n\n\
         Every normative statement of MQTT 3.1.1 and MQTT 5.0 that binds a client, with the tests \
         that check it. The numbered statements are the MUSTs of each standard's Appendix B that \
         apply to the Client alone or to both sides; the SHOULD rows are the unnumbered advice of \
         MQTT 5.0 §4.13 about closing with a reason code. After them, for each version, come the \
         statements that bind the Server alone but that the client checks in what it receives, \
         closing the connection when the server breaks them. Summaries are ours; the standards' \
         own words decide.\n\n\
         This file is generated by `mqtt-session/tests/conformance/matrix.rs` from the list in \
         `mqtt-session/tests/conformance/statements.txt` and the names of the tests in each \
         crate's `tests/conformance/` directory (a test covers the statement whose id starts its \
         name: `mqtt_5_3_3_2_8_…` is MQTT 5.0's MQTT-3.3.2-8). `cargo test` fails if a statement \
         has no test and no reason, if a test matches no statement, or if this file is stale; \
         regenerate it with\n\n\
         ```text\n\
         UPDATE_CONFORMANCE=1 cargo test -p mqtt-session --test conformance_matrix\n\
         ```\n\n",
    );
    let _ = writeln!(
        out,
        "{} statements; {tested} covered by {tests} tests, {} with a reason instead of a test.\n",
        statements.len(),
        statements.len() - tested,
    );
    for (version, title) in [
        ("3.1.1", "MQTT 3.1.1 (OASIS Standard, 29 October 2014)"),
        ("5.0", "MQTT 5.0 (OASIS Standard, 7 March 2019)"),
    ] {
        let _ = writeln!(out, "## {title}\n");
        table(&mut out, statements, covered, version, false);
        if statements.iter().any(|s| s.version == version && s.server) {
            let _ = writeln!(
                out,
                "### MQTT {version}: server statements the client checks on receipt\n"
            );
            table(&mut out, statements, covered, version, true);
        }
    }
    out
}

/// The table of the statements of `version` that bind the server alone (`server`) or the
/// client.
fn table(
    out: &mut String,
    statements: &[Statement],
    covered: &BTreeMap<usize, Vec<TestFn>>,
    version: &str,
    server: bool,
) {
    out.push_str("| Id | Requirement | Tests | Status |\n|---|---|---|---|\n");
    for (i, s) in statements.iter().enumerate() {
        if s.version != version || s.server != server {
            continue;
        }
        let tests = covered.get(&i).map_or(String::new(), |tests| {
            tests
                .iter()
                .map(|t| format!("[`{}`]({})", t.name, t.file))
                .collect::<Vec<_>>()
                .join("<br>")
        });
        let status = match (covered.contains_key(&i), &s.note) {
            (true, None) => "tested".to_string(),
            (true, Some(note)) => format!("tested; {note}"),
            (false, Some(note)) => format!("not tested: {note}"),
            (false, None) => unreachable!("checked before"),
        };
        let _ = writeln!(out, "| {} | {} | {tests} | {status} |", s.id, s.summary);
    }
    out.push('\n');
}

#[test]
fn statements_are_complete_and_unique() {
    let statements = statements();
    for (version, count) in NUMBERED {
        let numbered = statements
            .iter()
            .filter(|s| s.version == version && !s.server && s.id.starts_with("MQTT-"))
            .count();
        assert_eq!(
            numbered, count,
            "client-binding statements of MQTT {version}"
        );
    }
    let mut keys: Vec<String> = statements.iter().map(Statement::key).collect();
    keys.sort();
    let before = keys.len();
    keys.dedup();
    assert_eq!(keys.len(), before, "a statement is listed twice");
}

#[test]
fn every_statement_has_a_test_or_a_reason() {
    let statements = statements();
    let covered = coverage(&statements, &tests());
    let missing: Vec<String> = statements
        .iter()
        .enumerate()
        .filter(|(i, s)| !covered.contains_key(i) && s.note.is_none())
        .map(|(_, s)| format!("{} {} (tests named {}…)", s.version, s.id, s.key()))
        .collect();
    assert!(
        missing.is_empty(),
        "statements with no test and no reason:\n{}",
        missing.join("\n")
    );
}

#[test]
fn conformance_md_is_up_to_date() {
    let statements = statements();
    let covered = coverage(&statements, &tests());
    if statements
        .iter()
        .enumerate()
        .any(|(i, s)| !covered.contains_key(&i) && s.note.is_none())
    {
        return; // every_statement_has_a_test_or_a_reason reports it
    }
    let generated = generate(&statements, &covered);
    let path = root().join("CONFORMANCE.md");
    if std::env::var_os("UPDATE_CONFORMANCE").is_some() {
        fs::write(&path, &generated).expect("write CONFORMANCE.md");
        return;
    }
    let on_disk = fs::read_to_string(&path).unwrap_or_default();
    assert!(
        on_disk == generated,
        "CONFORMANCE.md is stale; regenerate it with\n\
         UPDATE_CONFORMANCE=1 cargo test -p mqtt-session --test conformance_matrix"
    );
}
