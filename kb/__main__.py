"""`python -m kb`: check the knowledge base, write its JSON Schemas, render pages, scaffold entries.

Exit codes: 0 success, 1 invalid data, 2 usage error.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path


def _check(args: argparse.Namespace) -> int:
    from kb.load import format_problems, load

    root = Path(args.root)
    if not (root / "kb").is_dir():
        print(f"kb check: no kb/ folder under {root}", file=sys.stderr)
        return 2
    kb = load(root)
    problems = kb.problems
    if args.files:
        wanted = set()
        for name in args.files:
            path = Path(name)
            if not path.exists():
                print(f"kb check: no such file: {name}", file=sys.stderr)
                return 2
            wanted.add(path.resolve())
        problems = [p for p in problems if (root / p.path).resolve() in wanted]
    if problems:
        print(format_problems(problems))
        print(f"{len(problems)} problem(s) in {len({p.path for p in problems})} file(s)", file=sys.stderr)
        return 1
    print(f"ok: {len(kb.methods)} methods, {len(kb.categories)} categories, "
          f"{len(kb.hardware)} devices, {len(kb.models)} models")
    return 0


def _schema(args: argparse.Namespace) -> int:
    from kb.jsonschema import write_schemas

    for path in write_schemas(Path(args.out)):
        print(f"wrote {path}")
    return 0


def _render(args: argparse.Namespace) -> int:
    from kb.load import format_problems, load
    from kb.render import render_site

    kb = load(Path(args.root))
    if kb.problems:
        print(format_problems(kb.problems))
        return 1
    out = Path(args.out)
    pages = render_site(kb)
    for rel, text in pages.items():
        target = out / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text, encoding="utf-8")
    print(f"wrote {len(pages)} pages under {out}")
    return 0


def _new(args: argparse.Namespace) -> int:
    from kb.scaffold import ScaffoldError, scaffold

    try:
        path = scaffold(Path(args.root), args.id, args.category, args.name)
    except ScaffoldError as exc:
        print(f"kb new: {exc}", file=sys.stderr)
        return 2
    print(f"created {path}; fill in the fields, then run: python -m kb check {path}")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m kb", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)

    check = sub.add_parser("check", help="validate the knowledge base")
    check.add_argument("--root", default=".", help="repository root (default: current directory)")
    check.add_argument("files", nargs="*", help="report only these files (the whole KB is still read)")
    check.set_defaults(func=_check)

    schema = sub.add_parser("schema", help="write the JSON Schemas of entries")
    schema.add_argument("--out", default="schema", help="output folder (default: schema)")
    schema.set_defaults(func=_schema)

    render = sub.add_parser("render", help="write the generated Markdown pages to a folder")
    render.add_argument("--root", default=".")
    render.add_argument("--out", required=True)
    render.set_defaults(func=_render)

    new = sub.add_parser("new", help="scaffold a new method entry (never overwrites)")
    new.add_argument("id", help="kebab-case id, e.g. my-method")
    new.add_argument("--category", required=True, help="a taxonomy category, e.g. compression/pruning/structured")
    new.add_argument("--name", help="display name (default: the id)")
    new.add_argument("--root", default=".")
    new.set_defaults(func=_new)

    args = parser.parse_args(argv)
    try:
        status = args.func(args)
        sys.stdout.flush()
    except BrokenPipeError:  # piped into `head`: stop quietly
        _silence_stdout()
        return 0
    except OSError as exc:  # standard output on a full disk: one line, not a traceback
        if exc.filename is not None:
            raise
        _silence_stdout()
        print(f"kb: cannot write the output: {exc.strerror or exc}", file=sys.stderr)
        return 1
    return status


def _silence_stdout() -> None:
    """Point standard output at /dev/null so that the interpreter's last flush cannot fail again."""
    import os

    try:
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
    except (OSError, ValueError):
        pass


if __name__ == "__main__":
    sys.exit(main())
