use proptest::prelude::*;

use super::*;

use crate::workspace::test_support::project;

#[test]
fn top_level_definitions_of_each_language() {
    let py = "import os\n\nclass Store:\n    def load(self):\n        pass\n\nasync def main():\n    pass\ndef _helper(x): ...\n";
    assert_eq!(
        definitions(Lang::Python, py),
        "class Store, def main, def _helper"
    );
    let js = "import x from 'y';\nexport function add(a, b) {}\nexport default class App {}\nconst local = 1;\nconst handler = async (req) => {};\nexport const VERSION = '1';\nfunction* gen() {}\nexport interface Opts {}\ntype Id = string;\n";
    assert_eq!(
        definitions(Lang::Script, js),
        "function add, class App, const handler, const VERSION, function gen, interface Opts, type Id"
    );
    let rs = "use std::io;\npub struct Config {\n    pub x: u8,\n}\npub(crate) fn run() {}\nimpl Config {\n    pub fn new() {}\n}\nenum Mode { A }\npub async fn serve() {}\nmacro_rules! m { () => {} }\nconst MAX: u8 = 1;\npub mod cli;\n";
    assert_eq!(
        definitions(Lang::Rust, rs),
        "struct Config, fn run, enum Mode, fn serve, macro_rules! m, const MAX, mod cli"
    );
    let go = "package main\n\ntype Server struct {}\nfunc (s *Server) Start() error {}\nfunc main() {}\nfunc (l List[T]) Len() int {}\n";
    assert_eq!(
        definitions(Lang::Go, go),
        "type Server, func Server.Start, func main, func List.Len"
    );
    let many: String = (0..20)
        .map(|i| format!("def f{i}():\n    pass\n"))
        .collect();
    assert!(definitions(Lang::Python, &many).ends_with("def f11, +8 more"));
}

#[test]
fn a_small_project_is_listed_whole_with_definitions() {
    let (_d, ws) = project(&[
        ("README.md", "# app\n"),
        ("app/cli.py", "def main():\n    pass\n"),
        ("tests/test_cli.py", "class CliTests:\n    pass\n"),
        ("node_modules/x/index.js", "function hidden() {}\n"),
        (".gitignore", "*.log\n"),
        ("debug.log", "x"),
    ]);
    let map = ws.repo_map(None, 2000).unwrap();
    assert_eq!(map.files, 4, "{}", map.text);
    assert_eq!(map.listed, 4);
    assert!(
        map.text.contains("app/cli.py (21 B): def main\n"),
        "{}",
        map.text
    );
    assert!(
        map.text
            .contains("tests/test_cli.py (25 B): class CliTests\n"),
        "{}",
        map.text
    );
    assert!(
        !map.text.contains("node_modules") && !map.text.contains("debug.log"),
        "{}",
        map.text
    );
    assert!(
        !map.text.contains("not listed") && !map.text.contains("files listed"),
        "{}",
        map.text
    );
    let sub = ws.repo_map(Some("app"), 2000).unwrap();
    assert_eq!(sub.files, 1);
    assert!(sub.text.contains("in `app`"), "{}", sub.text);
    assert!(ws.repo_map(Some("nope"), 100).is_err());
    assert!(ws.repo_map(Some("../"), 100).is_err());
}

#[test]
fn a_large_tree_stays_in_budget_reads_only_what_it_lists_and_sums_up_the_rest() {
    let mut files = vec![("README.md".to_string(), "# big\n".to_string())];
    files.push(("src/main.py".into(), "def main():\n    pass\n".into()));
    for d in 0..20 {
        for f in 0..50 {
            files.push((
                format!("vendor/lib{d}/mod{f}.py"),
                format!("def f{f}():\n    pass\n"),
            ));
        }
    }
    let refs: Vec<(&str, &str)> = files
        .iter()
        .map(|(a, b)| (a.as_str(), b.as_str()))
        .collect();
    let (_d, ws) = project(&refs);
    let map = ws.repo_map(None, 500).unwrap();
    assert_eq!(map.files, 1002);
    assert!(
        map.tokens() <= 500 + 40,
        "{} tokens:\n{}",
        map.tokens(),
        map.text
    );
    assert!(map.read < 100, "read {} files", map.read);
    assert!(map.listed < map.files);
    assert!(map.text.starts_with("1002 files"), "{}", map.text);
    assert!(map.text.contains("README.md (6 B)\n"), "{}", map.text);
    assert!(
        map.text.contains("src/main.py (21 B): def main\n"),
        "the top-level source comes first:\n{}",
        map.text
    );
    assert!(map.text.contains("more files,"), "{}", map.text);
    assert!(map.text.contains("of 1002 files listed"), "{}", map.text);
}

proptest! {
    /// Whatever a file holds, definitions are names that occur in it, at most MAX_DEFS of them.
    #[test]
    fn definitions_are_names_from_the_text(text in "(def |class |fn |pub fn |func |export const |type |[a-z_ (){}=:\n]){0,200}") {
        for l in [Lang::Python, Lang::Script, Lang::Rust, Lang::Go] {
            let d = definitions(l, &text);
            let items: Vec<&str> = d.split(", ").filter(|s| !s.is_empty() && !s.starts_with('+')).collect();
            prop_assert!(items.len() <= MAX_DEFS);
            for item in items {
                let name = item.rsplit([' ', '.']).next().unwrap();
                prop_assert!(text.contains(name), "{item:?} not in {text:?}");
            }
        }
    }

}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(24))]

    /// The map keeps to its budget (a header and the footer line aside).
    #[test]
    fn the_map_keeps_to_its_budget(n in 1usize..150, budget in 64usize..400) {
        let files: Vec<(String, String)> = (0..n)
            .map(|i| (format!("d{}/sub{}/file_{i}.py", i % 7, i % 3), format!("def f{i}():\n    pass\n")))
            .collect();
        let refs: Vec<(&str, &str)> = files.iter().map(|(a, b)| (a.as_str(), b.as_str())).collect();
        let (_d, ws) = project(&refs);
        let map = ws.repo_map(None, budget).unwrap();
        prop_assert_eq!(map.files, n);
        prop_assert!(map.tokens() <= budget + 60, "{} > {budget}:\n{}", map.tokens(), map.text);
    }
}
