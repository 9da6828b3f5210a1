//! Writes the linker's function order (`linker/samocoder.order`) from profiles of real runs.
//! Run by `scripts/link-order.sh`, which explains the why; see also docs/link-order.md.
//!
//! ```text
//! cargo run --example link_order -- --map samocoder.map --rustc "$(rustc -V)" --lock Cargo.lock PROFILE... > linker/samocoder.order
//! ```
//! `--map` is LLD's link map of the profiled binary (`-Wl,-Map=FILE`), which names the input
//! section behind every address even when the binary itself is stripped. Each PROFILE is a
//! callgrind output written with `--dump-instr=yes --compress-strings=no --compress-pos=no`.
//! The functions the first profile executed come first, in their present address order (which
//! keeps callers near callees the way the compiler placed them); then those only later profiles
//! executed. Prints one symbol per line, after `#` header lines that record the rustc and the
//! Cargo.lock (its FNV-1a) the names belong to: build.rs warns when either differs.

use std::collections::HashSet;
use std::fmt::Write as _;

#[path = "../linker/fnv.rs"]
mod fnv;

/// One input section of the link map: where it is, how big, and the first symbol it defines.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Section {
    addr: u64,
    size: u64,
    symbol: String,
}

/// The executable input sections of an LLD map (`VMA LMA Size Align Out In Symbol`), sorted by
/// address. Output sections have no indent in the `Out` column, input sections 8 spaces and
/// symbols 16; only input sections of `.text` that define a symbol are kept.
fn parse_map(text: &str) -> Vec<Section> {
    let mut sections: Vec<Section> = Vec::new();
    let mut in_text = false;
    let mut open: Option<(u64, u64)> = None;
    for line in text.lines() {
        let Some((numbers, rest)) = split_numbers(line) else {
            continue;
        };
        let indent = rest.len() - rest.trim_start().len();
        let name = rest.trim();
        match indent {
            0 => {
                in_text = name == ".text";
                open = None;
            }
            8 => open = (in_text && numbers[2] > 0).then_some((numbers[0], numbers[2])),
            16 => {
                if let Some((addr, size)) = open.take() {
                    sections.push(Section {
                        addr,
                        size,
                        symbol: name.to_string(),
                    });
                }
            }
            _ => {}
        }
    }
    sections.sort_by_key(|s| s.addr);
    sections
}

/// The four hexadecimal/decimal columns (VMA, LMA, Size, Align) and what follows them, keeping
/// the indentation of the rest. `None` for the header line and anything malformed.
fn split_numbers(line: &str) -> Option<([u64; 4], &str)> {
    let mut rest = line;
    let mut numbers = [0u64; 4];
    for (i, n) in numbers.iter_mut().enumerate() {
        let trimmed = rest.trim_start();
        let end = trimmed.find(' ').unwrap_or(trimmed.len());
        let field = &trimmed[..end];
        let radix = if i == 3 { 10 } else { 16 };
        *n = u64::from_str_radix(field, radix).ok()?;
        rest = &trimmed[end..];
    }
    // One space separates Align from the Out column; the indent is what comes after it.
    Some((numbers, rest.strip_prefix(' ')?))
}

/// The instruction addresses a callgrind profile saw executed in `object` (a path suffix).
/// Costs are per instruction (`0xADDR cost...` lines) under the current `ob=`; `cob=` names a
/// callee's object and does not change it.
fn executed(profile: &str, object: &str) -> Vec<u64> {
    let mut current = false;
    let mut out = Vec::new();
    for line in profile.lines() {
        if let Some(ob) = line.strip_prefix("ob=") {
            current = ob.trim().ends_with(object);
        } else if current && let Some(hex) = line.strip_prefix("0x") {
            let field = hex.split_whitespace().next().unwrap_or("");
            if let Ok(addr) = u64::from_str_radix(field, 16) {
                out.push(addr);
            }
        }
    }
    out
}

/// The section holding `addr`, if any.
fn section_at(sections: &[Section], addr: u64) -> Option<usize> {
    let i = sections
        .partition_point(|s| s.addr <= addr)
        .checked_sub(1)?;
    (addr < sections[i].addr + sections[i].size).then_some(i)
}

/// The order file: header comments, then each profile's new sections in address order.
fn order(sections: &[Section], profiles: &[Vec<u64>], header: &[String]) -> String {
    let mut out = String::new();
    for line in header {
        let _ = writeln!(out, "# {line}");
    }
    let mut taken: HashSet<usize> = HashSet::new();
    for addrs in profiles {
        let mut new: Vec<usize> = addrs
            .iter()
            .filter_map(|&a| section_at(sections, a))
            .filter(|i| !taken.contains(i))
            .collect();
        new.sort_unstable();
        new.dedup();
        for i in new {
            taken.insert(i);
            let _ = writeln!(out, "{}", sections[i].symbol);
        }
    }
    out
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let mut map = None;
    let mut object = "samocoder".to_string();
    let (mut rustc, mut lock) = (None, None);
    let mut profiles = Vec::new();
    let mut it = args.into_iter();
    while let Some(a) = it.next() {
        match a.as_str() {
            "--map" => map = it.next(),
            "--object" => object = it.next().unwrap_or_default(),
            "--rustc" => rustc = it.next(),
            "--lock" => lock = it.next(),
            _ => profiles.push(a),
        }
    }
    let (Some(map), Some(rustc), Some(lock), false) = (map, rustc, lock, profiles.is_empty())
    else {
        eprintln!(
            "usage: link_order --map FILE --rustc \"$(rustc -V)\" --lock Cargo.lock [--object NAME] PROFILE..."
        );
        std::process::exit(2);
    };
    let read = |p: &str| {
        std::fs::read_to_string(p).unwrap_or_else(|e| {
            eprintln!("cannot read {p}: {e}");
            std::process::exit(1)
        })
    };
    let header = [
        "The functions common commands run, first and together in the release binary; made by"
            .to_string(),
        "scripts/link-order.sh (docs/link-order.md). The names belong to this rustc and Cargo.lock:"
            .to_string(),
        format!("rustc: {}", rustc.trim()),
        format!("Cargo.lock fnv1a64: {}", fnv::fnv1a64(read(&lock).as_bytes())),
    ];
    let sections = parse_map(&read(&map));
    if sections.is_empty() {
        eprintln!("{map} has no .text input sections: is it an LLD map (-Wl,-Map=FILE)?");
        std::process::exit(1);
    }
    let profiles: Vec<Vec<u64>> = profiles
        .iter()
        .map(|p| executed(&read(p), &object))
        .collect();
    let text = order(&sections, &profiles, &header);
    let count = text.lines().filter(|l| !l.starts_with('#')).count();
    if count == 0 {
        eprintln!(
            "the profiles executed nothing in {object}: wrong --object, or not --dump-instr=yes?"
        );
        std::process::exit(1);
    }
    print!("{text}");
    eprintln!("{count} functions");
}

#[cfg(test)]
mod tests {
    use super::*;

    const MAP: &str = "\
             VMA              LMA     Size Align Out     In      Symbol
            2e70             2e70      100     8 .rela.dyn
            2e70             2e70      100     8         <internal>:(.rela.dyn)
          53be00           53be00      300    64 .text
          53be00           53be00       2a    16         /usr/lib/Scrt1.o:(.text)
          53be00           53be00        0     1                 _start
          53be40           53be40       40    16         a.o:(.text._RNvCs1_3foo3bar)
          53be40           53be40       40     1                 _RNvCs1_3foo3bar
          53be80           53be80       80    16         a.o:(.text.sqlite3Step)
          53be80           53be80       80     1                 sqlite3Step
          53bf00           53bf00        0    16         a.o:(.text.empty)
          53bf00           53bf00        0     1                 empty
          53bf00           53bf00      100    16         a.o:(.text.main)
          53bf00           53bf00      100     1                 main
          53c000           53c000      100    16 .rodata
          53c000           53c000      100    16         a.o:(.rodata.x)
          53c000           53c000      100     1                 not_code
";

    #[test]
    fn the_map_gives_each_text_input_section_with_its_first_symbol() {
        let s = parse_map(MAP);
        let names: Vec<&str> = s.iter().map(|s| s.symbol.as_str()).collect();
        assert_eq!(names, ["_start", "_RNvCs1_3foo3bar", "sqlite3Step", "main"]);
        assert_eq!((s[2].addr, s[2].size), (0x53be80, 0x80));
    }

    #[test]
    fn addresses_outside_every_section_are_ignored() {
        let s = parse_map(MAP);
        assert_eq!(
            section_at(&s, 0x53be2a),
            None,
            "the gap after _start's 0x2a bytes"
        );
        assert_eq!(section_at(&s, 0x53bdff), None);
        assert_eq!(
            section_at(&s, 0x53befc).map(|i| &*s[i].symbol),
            Some("sqlite3Step")
        );
        assert_eq!(section_at(&s, 0x53c050), None, "rodata is not code");
    }

    #[test]
    fn only_the_named_object_counts_and_callee_objects_do_not_switch_it() {
        let profile = "ob=/usr/lib/libc.so.6\nfn=memcpy\n0x53be40 5\n\
                       ob=/tmp/x/samocoder\nfn=main\n0x53bf10 1\ncob=/usr/lib/libc.so.6\n\
                       cfn=memcpy\ncalls=1 0x100\n0x53bf20 3\njump=1 0x53be80\n";
        assert_eq!(executed(profile, "samocoder"), [0x53bf10, 0x53bf20]);
    }

    #[test]
    fn the_first_profile_comes_first_in_address_order_and_nothing_twice() {
        let s = parse_map(MAP);
        let first = vec![0x53bf10, 0x53be90, 0x53bf20, 0x99];
        let second = vec![0x53be40, 0x53bf10, 0x53be00];
        let text = order(&s, &[first, second], &["made by a test".into()]);
        assert_eq!(
            text,
            "# made by a test\nsqlite3Step\nmain\n_start\n_RNvCs1_3foo3bar\n"
        );
    }

    #[test]
    fn a_header_line_or_garbage_is_not_a_section() {
        assert_eq!(split_numbers("  VMA LMA Size Align Out In Symbol"), None);
        assert_eq!(split_numbers(""), None);
        assert_eq!(split_numbers("  zz 1 2 3 x"), None);
        assert!(parse_map("not a map\n\u{0}\n").is_empty());
    }

    #[test]
    fn the_checked_in_order_was_made_for_this_cargo_lock() {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
        let order = std::fs::read_to_string(root.join("linker/samocoder.order")).unwrap();
        let lock = std::fs::read(root.join("Cargo.lock")).unwrap();
        let recorded = order
            .lines()
            .find_map(|l| l.strip_prefix("# Cargo.lock fnv1a64: "));
        assert_eq!(
            recorded,
            Some(fnv::fnv1a64(&lock).as_str()),
            "Cargo.lock changed: run scripts/link-order.sh (the names in the list are stale)"
        );
        let names = order.lines().filter(|l| !l.starts_with('#')).count();
        assert!(
            names > 1000,
            "only {names} functions: was the list made from real profiles?"
        );
        assert!(order.lines().any(|l| l == "main"));
    }
}
