"""Documentation generated from the project's own files, so that it cannot drift from them.

Commands (``python -m blendphot.docs <command> --help``):

- ``config-reference``: ``docs/configuration-reference.md``, every key of the configuration
  schema (``blendphot/config.schema.yaml``) with its type, default, the demo's value
  (``config/config.yaml``, merged with the defaults) and its description.
- ``readme-table SUMMARY``: the README's headline table (the demo's numbers beside the
  paper's), rewritten between ``<!-- summary:start -->`` and ``<!-- summary:end -->`` from a
  run's ``results/<dataset>/tables/summary.md``, with the dataset, the date and the commit.
- ``effective-config OVERLAY...``: the configuration ``snakemake --configfile OVERLAY...``
  runs with, as YAML (the reference files of ``tests/data``).

The benchmark scripts write the tables of the study pages (``docs/studies/``) with
:func:`write_study_table`: the table, the command that made it, the date and the commit.
"""

from __future__ import annotations

import argparse
import datetime as dt
import re
import shlex
import sys
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
"""The repository holding this package (the default place of its docs and configs)."""

REFERENCE_PAGE = Path("docs") / "configuration-reference.md"
DEMO_CONFIG = Path("config") / "config.yaml"
SUMMARY_MARKERS = ("<!-- summary:start -->", "<!-- summary:end -->")


# --- provenance ---------------------------------------------------------------------------


def git_commit(root: Path = ROOT) -> str:
    """The commit checked out in ``root`` (short hash, ``-dirty`` with uncommitted changes to
    tracked files), or ``unknown`` outside a git checkout."""
    from blendphot.version import _git_commit

    commit = _git_commit(root)
    if not commit:
        return "unknown"
    return commit[:10] + ("-dirty" if commit.endswith("-dirty") else "")


def today() -> str:
    """Today's date, ISO (UTC)."""
    return dt.datetime.now(dt.UTC).date().isoformat()


def command_line(argv: Sequence[str] | None = None, root: Path = ROOT) -> str:
    """The command that is running, as a user would type it from the repository root:
    ``python benchmarks/x.py --n 100``."""
    argv = list(sys.argv if argv is None else argv)
    script = Path(argv[0])
    if script.is_absolute():
        try:
            script = script.relative_to(root)
        except ValueError:
            pass
    return shlex.join(["python", str(script), *argv[1:]])


def study_table(table: str, command: str, date: str | None = None, commit: str | None = None):
    """A table for a study page: the table, then the line that says how it was made."""
    date, commit = date or today(), commit or git_commit()
    return f"{table.rstrip()}\n\nMeasured by `{command}` on {date} at commit `{commit}`.\n"


def write_study_table(
    path: str | Path,
    table: str,
    argv: Sequence[str] | None = None,
    command: str | None = None,
    commit: str | None = None,
) -> Path:
    """Write ``table`` (Markdown) with its provenance (:func:`study_table`) for a study page:
    the ``--markdown PATH`` option of the benchmark scripts. The command is ``command``, else
    the script and arguments ``argv`` (default: this process's); the commit ``commit``, else
    the checkout's now (a script that writes several tables passes the one it started at, not
    one made dirty by its first table)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(study_table(table, command or command_line(argv), commit=commit))
    return path


# --- the effective configuration ----------------------------------------------------------


def effective_config_text(
    default: str | Path, overlays: Sequence[str | Path], root: Path = ROOT
) -> str:
    """The merged configuration of the default and the overlays as YAML, with a header saying
    which command gives it (``tests/data/*_effective_config.yaml``)."""
    import yaml

    from blendphot.config import merged_config

    names = " ".join(_relative(Path(p), root) for p in overlays)
    out = "_".join(Path(p).stem for p in overlays[-1:]) or "demo"
    header = (
        f"# The effective configuration of `snakemake --configfile {names}`: the\n"
        "# default config/config.yaml with the overlay(s) merged over it\n"
        "# (blendphot.config.merged_config). tests/test_config_overlays.py checks that the\n"
        "# shipped files still give exactly this, so that a change of the default (the demo)\n"
        "# cannot change the paper's run unnoticed. After an intended change, regenerate it:\n"
        f"#   python -m blendphot.docs effective-config {names} > "
        f"tests/data/{out}_effective_config.yaml\n"
    )
    return header + yaml.safe_dump(merged_config(default, overlays), sort_keys=False)


def _relative(path: Path, root: Path) -> str:
    try:
        return str(path.resolve().relative_to(root.resolve()))
    except ValueError:
        return str(path)


# --- the configuration reference ----------------------------------------------------------


@dataclass(frozen=True)
class Key:
    """One key of the schema: its dotted path (``<name>`` for a mapping's own keys, as in
    ``models.<name>.params``), its schema node ($ref followed) and what the schema says of it."""

    path: str
    node: dict
    description: str | None
    default: Any
    has_default: bool
    required: bool


def schema_keys(schema: dict | None = None) -> Iterator[Key]:
    """Every key of the configuration schema, depth first in the schema's order."""
    from blendphot.config import load_schema

    root = schema or load_schema()

    def resolve(node: dict) -> dict:
        if "$ref" in node:
            return root["definitions"][node["$ref"].rsplit("/", 1)[-1]]
        return node

    def walk(node: dict, prefix: str) -> Iterator[Key]:
        node = resolve(node)
        required = set(node.get("required", ()))
        for name, raw in node.get("properties", {}).items():
            resolved = resolve(raw)
            yield Key(
                prefix + name,
                resolved,
                raw.get("description") or resolved.get("description"),
                raw.get("default"),
                "default" in raw,
                name in required,
            )
            yield from walk(raw, f"{prefix}{name}.")
        extra = node.get("additionalProperties")
        if isinstance(extra, dict) and extra.get("properties"):
            path = prefix + "<name>"
            yield Key(path, extra, extra.get("description"), None, False, False)
            yield from walk(extra, path + ".")

    yield from walk(root, "")


def undescribed_keys(schema: dict | None = None) -> list[str]:
    """The keys of the schema without a description."""
    return [key.path for key in schema_keys(schema) if not key.description]


def format_value(value: Any) -> str:
    """A config value as YAML writes it in flow style: ``null``, ``true``, ``[1, 2]``."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k}: {format_value(v)}" for k, v in value.items()) + "}"
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(format_value(v) for v in value) + "]"
    return str(value)


def describe_type(node: dict) -> str:
    """The type of a schema node in words: ``integer >= 1``, ``one of sep, provided``."""
    if "enum" in node:
        return "one of " + ", ".join(f"`{format_value(v)}`" for v in node["enum"])
    if "oneOf" in node:
        return " or ".join(describe_type(option) for option in node["oneOf"])
    types = node.get("type", "any")
    types = types if isinstance(types, list) else [types]
    words = []
    for kind in types:
        if kind == "array":
            items = node.get("items", {}).get("type")
            kind = f"list of {items}s" if items else "list"
            if node.get("minItems") and node.get("minItems") == node.get("maxItems"):
                kind = f"list of {node['minItems']} {items}s"
        elif kind == "object":
            kind = "mapping"
        words.append(kind)
    text = " or ".join(words)
    bounds = [
        (">=", node.get("minimum")),
        (">", node.get("exclusiveMinimum")),
        ("<=", node.get("maximum")),
        ("<", node.get("exclusiveMaximum")),
    ]
    limits = [f"{op} {format_value(v)}" for op, v in bounds if v is not None]
    return text + (" " + ", ".join(limits) if limits else "")


def _cell(text: str, code: bool = False) -> str:
    """Text for a Markdown table cell (``code``: the cell holds code spans, whose ``<`` stays
    as it is)."""
    text = " ".join(str(text).split()).replace("|", "\\|")
    return text if code else text.replace("<", "&lt;").replace(">", "&gt;")


def _code(value: Any) -> str:
    return f"`{format_value(value)}`"


def _demo_value(demo: dict, path: str) -> str:
    """The demo config's value at ``path``: one per model for ``models.<name>...``."""
    keys = path.split(".")
    if "<name>" in keys:
        at = keys.index("<name>")
        parent = _value_at(demo, keys[:at])
        if not isinstance(parent, dict):
            return ""
        found = []
        for name, entry in parent.items():
            value = _value_at(entry, keys[at + 1 :])
            if value is not _MISSING and not (isinstance(value, dict) and keys[at + 1 :] == []):
                found.append(f"{name}: {_code(value)}")
        return "; ".join(found)
    value = _value_at(demo, keys)
    return "" if value is _MISSING else _code(value)


_MISSING = object()


def _value_at(node: Any, keys: Iterable[str]) -> Any:
    for key in keys:
        if isinstance(node, dict) and key in node:
            node = node[key]
        elif isinstance(node, dict) and key.isdigit() and int(key) in node:
            node = node[int(key)]
        else:
            return _MISSING
    return node


REFERENCE_INTRO = """\
# Configuration reference

<!-- Written by `python -m blendphot.docs config-reference` from
blendphot/config.schema.yaml and config/config.yaml: edit those, not this page.
tests/test_docs.py fails when this page is stale. -->

Every key the workflow reads, from the configuration schema (`blendphot/config.schema.yaml`,
which checks every config before any job runs: an unknown key or a wrong type stops the run
with one line naming the key and the file that set it). **Default** is what a key left out
gets; **demo** is its value in the demo's `config/config.yaml` (defaults filled in), which the
paper's overlays change in a few places (see [Configuration](user-guide/configuration.md)).
`<name>` stands for a model's name. A key without a default is required where its section is.
"""


def config_reference(schema: dict | None = None, demo_config: str | Path | None = None) -> str:
    """The configuration reference page (Markdown): a table per top-level section."""
    from blendphot.config import load_config, load_schema

    schema = schema or load_schema()
    demo = load_config(demo_config or ROOT / DEMO_CONFIG)
    keys = list(schema_keys(schema))
    objects = {k.path for k in keys if "." not in k.path and k.node.get("type") == "object"}
    sections: dict[str, list[Key]] = {"": []}
    for key in keys:
        top = key.path.split(".")[0]
        sections.setdefault(top if top in objects else "", []).append(key)
    parts = [REFERENCE_INTRO]
    for section, members in sections.items():
        if section:
            head, *members = members
            parts.append(f"## `{section}`\n\n{_cell(head.description or '')}\n")
        else:
            parts.append("## Top level\n")
        rows = ["| key | type | default | demo | meaning |", "|---|---|---|---|---|"]
        for key in members:
            if key.has_default:
                default = _code(key.default)
            else:
                default = "required" if key.required else ""
            has_keys = bool(key.node.get("properties"))
            demo_value = "" if has_keys else _demo_value(demo, key.path)
            rows.append(
                f"| `{key.path}` | {_cell(describe_type(key.node), code=True)} | "
                f"{_cell(default, code=True)} | {_cell(demo_value, code=True)} | "
                f"{_cell(key.description or '')} |"
            )
        parts.append("\n".join(rows) + "\n")
    return "\n".join(parts)


# --- the README's headline table ----------------------------------------------------------


def parse_markdown_table(text: str) -> list[dict[str, str]]:
    """The rows of the first Markdown table in ``text`` (header row as keys)."""
    lines: list[str] = []
    for line in (raw.strip() for raw in text.splitlines()):
        if line.startswith("|"):
            lines.append(line)
        elif lines:  # the first table ends here
            break
    if len(lines) < 2:
        raise ValueError("no Markdown table found")

    def cells(line: str) -> list[str]:
        return [cell.strip() for cell in line.strip("|").split("|")]

    header = cells(lines[0])
    return [dict(zip(header, cells(line), strict=False)) for line in lines[2:]]


PAPER_SOURCE = "paper (published table)"
PAPER_NAMES = {"sep isophotal": "sep"}
"""Our method -> the paper's name of the same method, where they differ."""


def headline_table(summary_text: str) -> tuple[str, str]:
    """(dataset, Markdown table) from a run's ``tables/summary.md``: one row per method of
    the run, the flux MAPE (per cent) of the centrals and the companions beside the paper's
    where the paper has the method."""
    rows = parse_markdown_table(summary_text)
    ours_source = next((r["source"] for r in rows if r["source"] != PAPER_SOURCE), None)
    if ours_source is None:
        raise ValueError("the summary holds no row of this project's run")
    match = re.fullmatch(r"blendphot \((.+)\)", ours_source)
    dataset = match.group(1) if match else ours_source
    values: dict[tuple[str, str, str], float] = {}
    methods: list[str] = []
    for row in rows:
        values[(row["source"], row["method"], row["role"])] = float(row["mape_flux"])
        if row["source"] == ours_source and row["method"] not in methods:
            methods.append(row["method"])

    def fmt(source: str, method: str, role: str) -> str:
        value = values.get((source, method, role))
        return "" if value is None else f"{value:.1f}"

    lines = [
        "| method | central | companion | the paper's central | the paper's companion |",
        "|---|---|---|---|---|",
    ]
    for method in methods:
        paper = PAPER_NAMES.get(method, method)
        lines.append(
            f"| {method} | {fmt(ours_source, method, 'central')} | "
            f"{fmt(ours_source, method, 'companion')} | {fmt(PAPER_SOURCE, paper, 'central')} | "
            f"{fmt(PAPER_SOURCE, paper, 'companion')} |"
        )
    return dataset, "\n".join(lines)


CLAIMS_TITLE = "The paper's claims, checked on this run"


def summary_claims(summary_text: str) -> str:
    """The claims section of a run's ``summary.md`` (its title and table); empty without
    one."""
    start = summary_text.find(CLAIMS_TITLE)
    return "" if start < 0 else summary_text[start:].strip() + "\n"


def recorded_commit(config_path: Path) -> str | None:
    """The commit a run recorded in the comment lines of its effective config; None when it
    recorded none (or an unknown one)."""
    if not config_path.exists():
        return None
    prefix = "# blendphot commit:"
    for line in config_path.read_text().splitlines()[:5]:
        if line.startswith(prefix):
            commit = line[len(prefix) :].strip()
            if not commit or commit == "unknown":
                return None
            return commit[:10] + ("-dirty" if commit.endswith("-dirty") else "")
    return None


def readme_block(summary: str | Path, date: str | None = None, commit: str | None = None) -> str:
    """The README's block between the summary markers, from a run's ``summary.md``: the date
    is the file's (when the run wrote it), the commit the one the run recorded in its
    effective config (``results/<dataset>/config.yaml``), else the one checked out now,
    unless given."""
    summary = Path(summary)
    dataset, table = headline_table(summary.read_text())
    if date is None:
        date = dt.datetime.fromtimestamp(summary.stat().st_mtime, dt.UTC).date().isoformat()
    commit = commit or recorded_commit(summary.parent.parent / "config.yaml") or git_commit()
    return (
        f"Flux MAPE in per cent, centrals and companions where sep found them (the paper's "
        f"Figure 5 selection), dataset `{dataset}`, run on {date} at commit `{commit}`; the "
        f"paper's numbers come from its published per-blend table:\n\n{table}\n"
    )


def replace_block(text: str, block: str, markers: tuple[str, str] = SUMMARY_MARKERS) -> str:
    """``text`` with what lies between the two markers replaced by ``block``."""
    start, end = markers
    if text.count(start) != 1 or text.count(end) != 1 or text.index(start) > text.index(end):
        raise ValueError(f"expected one {start} followed by one {end}")
    head, rest = text.split(start)
    _, tail = rest.split(end)
    return f"{head}{start}\n{block.strip()}\n{end}{tail}"


# --- the command line ---------------------------------------------------------------------


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m blendphot.docs", description=__doc__.splitlines()[0]
    )
    commands = parser.add_subparsers(dest="command", required=True)
    ref = commands.add_parser("config-reference", help="write the configuration reference")
    ref.add_argument("--out", type=Path, default=ROOT / REFERENCE_PAGE)
    ref.add_argument("--config", type=Path, default=ROOT / DEMO_CONFIG, help="the demo config")
    ref.add_argument("--check", action="store_true", help="fail if the page is stale")
    table = commands.add_parser("readme-table", help="rewrite the README's headline table")
    table.add_argument("summary", type=Path, help="results/<dataset>/tables/summary.md")
    table.add_argument("--readme", type=Path, default=ROOT / "README.md")
    table.add_argument("--date", default=None, help="default: the summary file's date")
    table.add_argument("--commit", default=None, help="default: the commit checked out")
    table.add_argument(
        "--study",
        type=Path,
        default=None,
        help="also write the block and the run's claims here (a study page's table)",
    )
    eff = commands.add_parser("effective-config", help="print the merged configuration")
    eff.add_argument("overlays", nargs="*", type=Path)
    eff.add_argument("--default", type=Path, default=ROOT / DEMO_CONFIG)
    args = parser.parse_args(argv)

    if args.command == "config-reference":
        text = config_reference(demo_config=args.config)
        if args.check:
            current = args.out.read_text() if args.out.exists() else ""
            if current != text:
                print(f"{args.out} is stale: python -m blendphot.docs config-reference")
                return 1
            return 0
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(text)
        print(f"wrote {args.out}")
    elif args.command == "readme-table":
        block = readme_block(args.summary, args.date, args.commit)
        args.readme.write_text(replace_block(args.readme.read_text(), block))
        print(f"rewrote the summary block of {args.readme}")
        if args.study is not None:
            claims = summary_claims(args.summary.read_text())
            given = list(sys.argv[1:] if argv is None else argv)
            command = shlex.join(["python", "-m", "blendphot.docs", *given])
            write_study_table(args.study, f"{block}\n{claims}", command=command)
            print(f"wrote {args.study}")
    else:
        print(effective_config_text(args.default, args.overlays), end="")
    return 0


if __name__ == "__main__":
    sys.exit(main())
