use proptest::prelude::*;

use super::*;

fn task(title: &str, goal: &str, files: &[&str], verify: Option<&str>) -> PlannedTaskAnswer {
    PlannedTaskAnswer {
        title: title.into(),
        goal: goal.into(),
        files: files.iter().map(|f| f.to_string()).collect(),
        verify: verify.map(String::from),
    }
}

#[test]
fn a_rendered_plan_reads_back_the_same() {
    let open = vec![
        task(
            "Add --json",
            "Print the list as JSON.\n\nKeep the default output.",
            &["todo/cli.py", "tests/test_cli.py"],
            Some("python3 -m unittest"),
        ),
        task("Docs", "Say so in the README.", &[], None),
    ];
    let text = render_plan("todo", 2, &[(1, "Storage".into())], 3, &open);
    assert!(
        text.starts_with("# samocoder plan: todo, iteration 2, 1 of 3 tasks done\n"),
        "{text}"
    );
    assert!(text.contains("#   done 1. Storage\n"), "{text}");
    let back = parse(&text).unwrap();
    assert_eq!(back.tasks, open);
    assert_eq!(
        back.header,
        Some(PlanHeader {
            project: "todo".into(),
            iteration: 2,
            done: 1,
            total: 3
        })
    );
}

#[test]
fn an_edit_is_read_with_its_new_tasks_order_and_continued_lines() {
    let text = "# samocoder plan: todo, iteration 1, 0 of 2 tasks done\n\n## Second first\ngoal: Do B\n  and more of B\nfiles: b.py,\n  c.py\n\n## New task\ngoal:\nwritten on the next line\nverify: make test\n";
    let p = parse(text).unwrap();
    assert_eq!(p.tasks.len(), 2);
    assert_eq!(p.tasks[0].goal, "Do B\nand more of B");
    assert_eq!(p.tasks[0].files, ["b.py", "c.py"]);
    assert_eq!(p.tasks[1].goal, "written on the next line");
    assert_eq!(p.tasks[1].verify.as_deref(), Some("make test"));
}

#[test]
fn every_mistake_is_reported_with_its_line() {
    let text = "stray text\n## \ngoal: x\n## Good\ngaol: typo\n## No goal\nfiles: a.py\n## Twice\ngoal: a\ngoal: b\n## Outside\nfiles: /etc/passwd, ../../x\n";
    let problems = parse(text).unwrap_err();
    let shown: Vec<String> = problems.iter().map(|p| p.to_string()).collect();
    let has = |line: usize, word: &str| {
        problems
            .iter()
            .any(|p| p.line == line && p.message.contains(word))
    };
    assert!(has(1, "text before the first task"), "{shown:#?}");
    assert!(has(2, "needs a title"), "{shown:#?}");
    assert!(has(5, "unknown field `gaol:`"), "{shown:#?}");
    assert!(has(4, "\"Good\" has no goal"), "{shown:#?}");
    assert!(has(6, "\"No goal\" has no goal"), "{shown:#?}");
    assert!(has(10, "given twice"), "{shown:#?}");
    assert!(has(11, "must be relative"), "{shown:#?}");
    assert!(has(11, "leaves the project"), "{shown:#?}");
    assert!(problems.windows(2).all(|w| w[0].line <= w[1].line));
}

#[test]
fn an_empty_plan_is_refused() {
    let p = parse("# samocoder plan: x, iteration 1, 0 of 1 tasks done\n# nothing\n").unwrap_err();
    assert_eq!(p.len(), 1);
    assert!(p[0].message.contains("no open task"), "{}", p[0]);
    assert_eq!(
        p[0].to_string(),
        p[0].message,
        "no line for the file as a whole"
    );
    let many: String = (0..31).map(|i| format!("## t{i}\ngoal: g\n")).collect();
    assert!(parse(&many).unwrap_err()[0].message.contains("too many"));
}

/// Lines of a goal as the file keeps them: trimmed, blank lines kept, ends trimmed.
fn normal(goal: &str) -> String {
    goal.trim()
        .lines()
        .map(str::trim)
        .collect::<Vec<_>>()
        .join("\n")
}

proptest! {
    /// Whatever the editor leaves in the file, reading it never panics and reports problems
    /// only with lines that exist.
    #[test]
    fn reading_any_text_never_panics(text in "(## |goal: |files: |verify: |# |[a-z ,./:]|\n){0,300}") {
        match parse(&text) {
            Ok(p) => prop_assert!(!p.tasks.is_empty()),
            Err(problems) => {
                let lines = text.lines().count();
                prop_assert!(!problems.is_empty());
                prop_assert!(problems.iter().all(|p| p.line <= lines));
            }
        }
    }

    /// A plan the file can hold reads back as written.
    #[test]
    fn rendered_plans_round_trip(
        tasks in proptest::collection::vec(
            ("[A-Za-z][A-Za-z0-9 ]{0,30}", "[A-Za-z][A-Za-z0-9 .,\n]{0,80}", proptest::collection::vec("[a-z]{1,8}(/[a-z]{1,8}){0,2}\\.py", 0..4), proptest::option::of("[a-z][a-z0-9 -]{0,20}")),
            1..6,
        )
    ) {
        let open: Vec<PlannedTaskAnswer> = tasks
            .into_iter()
            .map(|(t, g, f, v)| PlannedTaskAnswer { title: t, goal: g, files: f, verify: v })
            .collect();
        let text = render_plan("p", 1, &[], open.len(), &open);
        let back = parse(&text).map_err(|e| TestCaseError::fail(format!("{e:?}\n{text}")))?;
        prop_assert_eq!(back.tasks.len(), open.len());
        for (a, b) in open.iter().zip(&back.tasks) {
            prop_assert_eq!(one_line(&a.title), b.title.clone());
            prop_assert_eq!(normal(&a.goal), normal(&b.goal));
            prop_assert_eq!(&a.files, &b.files);
            prop_assert_eq!(a.verify.as_deref().map(one_line).filter(|v| !v.is_empty()), b.verify.clone());
        }
    }
}
