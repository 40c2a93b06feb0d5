"""Command line: every workflow stage outside Snakemake, ``blendphot <stage> --help``.

A stage's command has the rule's name; it reads the stage's settings from ``--config``.
"""

from __future__ import annotations

import argparse
import sys

from blendphot.config import load_config
from blendphot.errors import InputError, user_error
from blendphot.logs import redirect_to_log
from blendphot.stages import all_stages, run_stage
from blendphot.version import software_version


class PrintVersion(argparse.Action):
    """``--version``: print the version line as it is (argparse's own action wraps it at the
    terminal's width) and exit."""

    def __init__(self, option_strings, version: str, dest=argparse.SUPPRESS, **kwargs):
        super().__init__(option_strings, dest, nargs=0, help="show the version and exit")
        self.version = version

    def __call__(self, parser, namespace, values, option_string=None):
        print(self.version)
        parser.exit()


def build_parser() -> argparse.ArgumentParser:
    """The argument parser: one sub-command per stage, its files as options."""
    parser = argparse.ArgumentParser(
        prog="blendphot",
        description="Photometry of blended galaxies with deep learning: each workflow stage "
        "as a command. Parameters come from a config file (see docs/configuration-reference.md).",
    )
    found = software_version()
    shown = f"blendphot {found['version']} (commit {found['commit']})"
    parser.add_argument("--version", action=PrintVersion, version=shown)
    sub = parser.add_subparsers(dest="stage", required=True, metavar="STAGE")
    for name, stage in all_stages().items():
        p = sub.add_parser(name, help=stage.help.splitlines()[0], description=stage.help)
        p.add_argument("--config", required=True, help="YAML config (validated against schema)")
        for key in stage.inputs:
            nargs = "+" if key in stage.list_inputs else None
            p.add_argument(
                f"--{key.replace('_', '-')}",
                dest=f"in_{key}",
                required=key not in stage.optional_inputs,
                nargs=nargs,
                metavar="PATH",
                help=f"input: {key}",
            )
        for key in stage.outputs:
            p.add_argument(
                f"--out-{key.replace('_', '-')}",
                dest=f"out_{key}",
                required=True,
                metavar="PATH",
                help=f"output: {key}",
            )
        for key in stage.params:
            p.add_argument(
                f"--{key.replace('_', '-')}",
                dest=f"par_{key}",
                required=True,
                help=f"parameter: {key}",
            )
        p.add_argument("--threads", type=int, default=1, help="threads to use (default 1)")
        p.add_argument("--log", default=None, help="write the log to this file")
    return parser


def main(argv: list[str] | None = None) -> int:
    """Parse arguments and run one stage. Bad input exits with status 2 and one message."""
    args = build_parser().parse_args(argv)
    stage = all_stages()[args.stage]
    values = vars(args)
    try:
        config = load_config(args.config)
        with redirect_to_log(args.log):
            run_stage(
                args.stage,
                config,
                {k: values[f"in_{k}"] for k in stage.inputs if values[f"in_{k}"] is not None},
                {k: values[f"out_{k}"] for k in stage.outputs},
                {k: values[f"par_{k}"] for k in stage.params},
                args.threads,
            )
    except (InputError, OSError) as exc:
        message = user_error(exc)
        if message is None:
            raise
        print(f"blendphot {args.stage}: error: {message}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
