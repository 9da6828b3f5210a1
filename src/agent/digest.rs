//! Bounded lists for prompts and events: a long list of paths becomes the paths that fit in a
//! byte budget followed by counts per top-level directory ("1,204 files added under data/"), so
//! a prompt never grows with the size of what the user did.

use std::collections::BTreeMap;

/// Most paths of each kind an event lists (the counts are always whole).
pub const EVENT_PATHS: usize = 200;

/// The changes of one kind as lines for the model, within `budget` bytes.
pub fn paths(what: &str, list: &[String], budget: usize) -> String {
    let mut out = String::new();
    let mut listed = 0;
    for p in list {
        let line = format!("- {what}: {p}\n");
        if out.len() + line.len() > budget {
            break;
        }
        out.push_str(&line);
        listed += 1;
    }
    if listed == list.len() {
        return out;
    }
    // The rest, counted per top-level directory, biggest first.
    let mut dirs: BTreeMap<&str, usize> = BTreeMap::new();
    for p in &list[listed..] {
        let top = match p.split_once('/') {
            Some((d, _)) => d,
            None => "",
        };
        *dirs.entry(top).or_default() += 1;
    }
    let mut dirs: Vec<(&str, usize)> = dirs.into_iter().collect();
    dirs.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(b.0)));
    for (i, (dir, n)) in dirs.iter().enumerate() {
        if i == 8 {
            let rest: usize = dirs[8..].iter().map(|d| d.1).sum();
            out.push_str(&format!(
                "- {what}: {} more files elsewhere\n",
                thousands(rest)
            ));
            break;
        }
        let place = if dir.is_empty() {
            "at the top level".to_string()
        } else {
            format!("under {dir}/")
        };
        let files = if *n == 1 { "file" } else { "files" };
        out.push_str(&format!("- {what}: {} {files} {place}\n", thousands(*n)));
    }
    out
}

/// `1204` -> `1,204`.
pub fn thousands(n: usize) -> String {
    let s = n.to_string();
    let mut out = String::new();
    for (i, c) in s.chars().enumerate() {
        if i > 0 && (s.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_short_list_is_given_whole() {
        let list = vec!["a.py".to_string(), "src/b.py".to_string()];
        assert_eq!(
            paths("added", &list, 1000),
            "- added: a.py\n- added: src/b.py\n"
        );
    }

    #[test]
    fn a_long_list_becomes_counts_per_directory_within_the_budget() {
        let mut list: Vec<String> = (0..1204).map(|i| format!("data/f{i}.csv")).collect();
        list.extend((0..30).map(|i| format!("src/m{i}.py")));
        list.push("README.md".into());
        let text = paths("added", &list, 200);
        assert!(text.len() < 400, "{text}");
        assert!(text.contains("files under data/"), "{text}");
        assert!(text.contains("30 files under src/"), "{text}");
        assert!(text.contains("1 file at the top level"), "{text}");
        assert_eq!(thousands(1204), "1,204");
        assert_eq!(thousands(999), "999");
        assert_eq!(thousands(1_000_000), "1,000,000");
    }
}
