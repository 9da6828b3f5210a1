#!/usr/bin/env python3
"""Writes cassette.jsonl: the model answers that build the todo example, one JSON line each.

The answers are written out here as readable Python so they are easy to review and change;
run `python3 examples/todo/make_cassette.py` after editing, and commit both files.
The second task's first attempt has a deliberate bug so the replay shows the fix loop.
"""
import json
import os

SPEC = """# todo: a small todo list for the terminal

## What it does
`python3 -m todo` keeps a todo list in a JSON file (`todo.json` in the current directory, or
the file named by `--file` / the `TODO_FILE` environment variable).

## Commands
- `add TEXT...`: adds an item and prints `added ID: TEXT`.
- `list`: prints every item as `[ ] ID: TEXT` or `[x] ID: TEXT`, or `nothing to do`.
- `done ID`: marks an item done and prints `done ID: TEXT`.
- `remove ID`: removes an item and prints `removed ID`.

Errors (unknown id, empty text, unreadable file) print `error: ...` on stderr and exit 1.
Ids are whole numbers that are never reused while the item with the highest id exists.

## Tests
unittest tests cover the storage (add, done, remove, missing and broken files, atomic
writes) and every command of the CLI, including the error cases.

## Out of scope
Due dates, priorities, several lists.
"""

INIT = '"""A small todo list kept in a JSON file."""\n\n__version__ = "0.1.0"\n'

STORE = '''"""Storage of todo items in a JSON file, written atomically."""

import contextlib
import json
import os
import tempfile


class TodoError(Exception):
    """A problem the user can fix: an unknown id, empty text, an unreadable file."""


class Store:
    """The todo list in one JSON file: a list of {"id", "text", "done"} objects."""

    def __init__(self, path):
        self.path = path

    def load(self):
        try:
            with open(self.path, encoding="utf-8") as f:
                data = json.load(f)
        except FileNotFoundError:
            return []
        except (OSError, ValueError) as e:
            raise TodoError(f"cannot read {self.path}: {e}") from e
        if not isinstance(data, list):
            raise TodoError(f"{self.path} does not hold a todo list")
        return data

    def save(self, items):
        directory = os.path.dirname(os.path.abspath(self.path))
        fd, tmp = tempfile.mkstemp(dir=directory, prefix=".todo-", suffix=".json")
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as f:
                json.dump(items, f, indent=2)
                f.write("\\n")
            os.replace(tmp, self.path)
        except BaseException:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(tmp)
            raise

    def add(self, text):
        text = text.strip()
        if not text:
            raise TodoError("a todo needs some text")
        items = self.load()
        item = {"id": max((i["id"] for i in items), default=0) + 1, "text": text, "done": False}
        items.append(item)
        self.save(items)
        return item

    def done(self, item_id):
        items = self.load()
        for item in items:
            if item["id"] == item_id:
                item["done"] = True
                self.save(items)
                return item
        raise TodoError(f"no todo with id {item_id}")

    def remove(self, item_id):
        items = self.load()
        kept = [i for i in items if i["id"] != item_id]
        if len(kept) == len(items):
            raise TodoError(f"no todo with id {item_id}")
        self.save(kept)
'''

TEST_STORE = '''import json
import os
import tempfile
import unittest

from todo.store import Store, TodoError


class StoreTest(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.TemporaryDirectory()
        self.path = os.path.join(self.dir.name, "todo.json")
        self.store = Store(self.path)

    def tearDown(self):
        self.dir.cleanup()

    def test_missing_file_is_an_empty_list(self):
        self.assertEqual(self.store.load(), [])

    def test_add_assigns_increasing_ids(self):
        self.assertEqual(self.store.add("milk")["id"], 1)
        self.assertEqual(self.store.add(" eggs ")["text"], "eggs")
        self.assertEqual([i["id"] for i in self.store.load()], [1, 2])

    def test_empty_text_is_refused(self):
        with self.assertRaises(TodoError):
            self.store.add("   ")

    def test_done_and_remove(self):
        self.store.add("a")
        self.store.add("b")
        self.assertTrue(self.store.done(2)["done"])
        self.store.remove(1)
        self.assertEqual(self.store.load(), [{"id": 2, "text": "b", "done": True}])

    def test_unknown_ids_are_errors(self):
        with self.assertRaises(TodoError):
            self.store.done(7)
        with self.assertRaises(TodoError):
            self.store.remove(7)

    def test_broken_file_is_an_error_not_a_crash(self):
        with open(self.path, "w", encoding="utf-8") as f:
            f.write("{not json")
        with self.assertRaises(TodoError):
            self.store.load()

    def test_save_leaves_no_temporary_files(self):
        self.store.add("x")
        self.assertEqual(os.listdir(self.dir.name), ["todo.json"])
        with open(self.path, encoding="utf-8") as f:
            self.assertEqual(json.load(f)[0]["text"], "x")


if __name__ == "__main__":
    unittest.main()
'''

CLI_BUGGY = '''"""Command-line interface: python3 -m todo add|list|done|remove."""

import argparse
import os
import sys

from .store import Store, TodoError


def build_parser():
    parser = argparse.ArgumentParser(prog="todo", description="A small todo list.")
    parser.add_argument(
        "--file",
        default=os.environ.get("TODO_FILE", "todo.json"),
        help="the JSON file that holds the list (default: todo.json or $TODO_FILE)",
    )
    sub = parser.add_subparsers(dest="command", required=True)
    add = sub.add_parser("add", help="add an item")
    add.add_argument("text", nargs="+")
    sub.add_parser("list", help="show every item")
    for name in ("done", "remove"):
        p = sub.add_parser(name, help=f"{name} an item by id")
        p.add_argument("id", type=int)
    return parser


def main(argv=None, out=None, err=None):
    out = out or sys.stdout
    err = err or sys.stderr
    args = build_parser().parse_args(argv)
    store = Store(args.file)
    try:
        if args.command == "add":
            item = store.add(" ".join(args.text))
            print(f"added {item['id']}: {item['text']}", file=out)
        elif args.command == "list":
            items = store.load()
            if not items:
                print("nothing to do", file=out)
            for item in items:
                mark = "x" if item["done"] else " "
                print(f"[{mark}] {item['id']}: {item['text']}", file=out)
        elif args.command == "done":
            item = store.done(args.id)
            print(f"done {item['id']}: {item['txt']}", file=out)
        elif args.command == "remove":
            store.remove(args.id)
            print(f"removed {args.id}", file=out)
    except TodoError as e:
        print(f"error: {e}", file=err)
        return 1
    return 0
'''

MAIN = '''import sys

from .cli import main

sys.exit(main())
'''

TEST_CLI = '''import io
import os
import tempfile
import unittest

from todo.cli import main


class CliTest(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.TemporaryDirectory()
        self.file = os.path.join(self.dir.name, "todo.json")

    def tearDown(self):
        self.dir.cleanup()

    def run_cli(self, *argv):
        out, err = io.StringIO(), io.StringIO()
        code = main(["--file", self.file, *argv], out=out, err=err)
        return code, out.getvalue(), err.getvalue()

    def test_empty_list(self):
        self.assertEqual(self.run_cli("list"), (0, "nothing to do\\n", ""))

    def test_add_list_done_remove(self):
        self.assertEqual(self.run_cli("add", "buy", "milk")[1], "added 1: buy milk\\n")
        self.run_cli("add", "call mum")
        self.assertEqual(self.run_cli("done", "1")[1], "done 1: buy milk\\n")
        self.assertEqual(self.run_cli("list")[1], "[x] 1: buy milk\\n[ ] 2: call mum\\n")
        self.assertEqual(self.run_cli("remove", "2")[1], "removed 2\\n")
        self.assertEqual(self.run_cli("list")[1], "[x] 1: buy milk\\n")

    def test_errors_go_to_stderr_with_exit_1(self):
        code, out, err = self.run_cli("done", "9")
        self.assertEqual((code, out), (1, ""))
        self.assertIn("no todo with id 9", err)
        self.assertEqual(self.run_cli("add", " ")[0], 1)


if __name__ == "__main__":
    unittest.main()
'''

TEST_COMMAND = "python3 -m unittest -v"

def write(path, content):
    return {"name": "write_file", "arguments": {"path": path, "content": content}}

def answer(*calls, text=""):
    out = {"tool_calls": [dict(c, id=f"call_{i + 1}") for i, c in enumerate(calls)]}
    if text:
        out["text"] = text
    out["usage"] = {"input_tokens": 1200, "output_tokens": 400}
    return out

lines = [
    answer({"name": "submit_spec", "arguments": {"spec_markdown": SPEC, "assumptions": [
        "Python 3 standard library only, so it runs anywhere python3 does",
        "the list lives in todo.json in the current directory unless --file or TODO_FILE says otherwise",
    ]}}),
    answer({"name": "submit_architecture", "arguments": {
        "stack": "Python 3 (argparse, json, unittest)",
        "template": None,
        "dependencies": [],
        "install_command": None,
        "test_command": TEST_COMMAND,
        "notes": "package `todo` with store.py and cli.py; tests in tests/",
    }}),
    answer({"name": "submit_plan", "arguments": {"tasks": [
        {"title": "Todo storage", "goal": "A Store class that adds, lists, completes and removes items in a JSON file, written atomically, with unit tests.",
         "files": ["todo/__init__.py", "todo/store.py", "tests/__init__.py", "tests/test_store.py"], "verify": TEST_COMMAND},
        {"title": "Command-line interface", "goal": "`python3 -m todo add|list|done|remove` on top of the store, with tests for every command and error.",
         "files": ["todo/cli.py", "todo/__main__.py", "tests/test_cli.py"], "verify": TEST_COMMAND},
    ]}}),
    # Task 1
    answer(write("todo/__init__.py", INIT), write("todo/store.py", STORE),
           write("tests/__init__.py", ""), write("tests/test_store.py", TEST_STORE),
           text="I'll write the store and its tests."),
    answer({"name": "run_command", "arguments": {"command": TEST_COMMAND, "timeout_s": 60}}),
    answer({"name": "task_done", "arguments": {"summary": "Store with atomic JSON writes and 7 unit tests."}}),
    # Task 2: a bug on the first try, fixed after the failing test run.
    answer(write("todo/cli.py", CLI_BUGGY), write("todo/__main__.py", MAIN), write("tests/test_cli.py", TEST_CLI)),
    answer({"name": "task_done", "arguments": {"summary": "CLI with add, list, done and remove."}}),
    answer({"name": "edit_file", "arguments": {"path": "todo/cli.py",
            "old": "print(f\"done {item['id']}: {item['txt']}\", file=out)",
            "new": "print(f\"done {item['id']}: {item['text']}\", file=out)"}},
           text="The done command read a key that does not exist (`txt`); the item's key is `text`."),
    answer({"name": "task_done", "arguments": {"summary": "CLI with add, list, done and remove; fixed the done message."}}),
]

header = {"name": "todo", "description": "A small todo list CLI in Python (add, list, done, remove) that keeps its items in a JSON file, with unittest tests."}
here = os.path.dirname(os.path.abspath(__file__))
with open(os.path.join(here, "cassette.jsonl"), "w", encoding="utf-8") as f:
    f.write("# samocoder-new: " + json.dumps(header) + "\n")
    f.write("# Replay with: samocoder new --replay examples/todo/cassette.jsonl --yes\n")
    for line in lines:
        f.write(json.dumps(line) + "\n")
