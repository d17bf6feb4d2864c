"""Command line: ``python -m advsel train --dataset mnist --method ds --p-up 0.5 --profile cpu``.

Every field of :class:`advsel.config.Config` is a flag (``--p-up``, ``--eval-steps``,
``--cat-alpha`` ...).  Flags not given take the profile's value.  A line is printed per
epoch; the result JSON (``config``, ``data_source``, ``epochs`` ...) goes to ``--out``
and to the run cache.  Usage errors exit with status 2.
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
import types
import typing
from fractions import Fraction
from typing import Any

from .config import DATASETS, PROFILES, Config, ConfigError, make_config
from .data import DataError

_SKIP = {"dataset", "profile"}


def parse_number(text: str) -> float:
    """A float or a fraction such as ``8/255``; eps-like values are never rescaled silently."""
    try:
        return float(Fraction(text)) if "/" in text else float(text)
    except (ValueError, ZeroDivisionError):
        raise argparse.ArgumentTypeError(f"{text!r} is not a number (write 0.031 or 8/255)") from None


def _optional_int(text: str) -> int | None:
    if text.lower() in ("all", "none", "full"):
        return None
    try:
        return int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not an integer or 'all'") from None


def _float_list(text: str) -> tuple[float, ...]:
    return tuple(parse_number(t) for t in text.split(",") if t)


def _add_config_flags(p: argparse.ArgumentParser) -> None:
    hints = typing.get_type_hints(Config)
    for f in dataclasses.fields(Config):
        if f.name in _SKIP:
            continue
        flag = "--" + f.name.replace("_", "-")
        t = hints[f.name]
        kw: dict[str, Any] = {"dest": f.name, "default": argparse.SUPPRESS,
                              "help": f"default: profile value, else {f.default!r}"}
        if t is bool:
            p.add_argument(flag, action=argparse.BooleanOptionalAction, **kw)
            continue
        args = typing.get_args(t) if isinstance(t, types.UnionType) else ()
        base = next((a for a in args if a is not type(None)), t)
        if f.name == "milestones":
            kw["type"] = _float_list
        elif base is int and args:
            kw["type"] = _optional_int
        elif base is int:
            kw["type"] = int
        elif base is float:
            kw["type"] = parse_number
        p.add_argument(flag, **kw)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m advsel", description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    t = sub.add_parser("train", help="train one configured run and write its result JSON")
    t.add_argument("--profile", default="cpu", help=f"one of {', '.join(PROFILES)} (default: cpu)")
    t.add_argument("--dataset", default="mnist", help=f"one of {', '.join(DATASETS)} (default: mnist)")
    t.add_argument("--out", help="also write the result JSON here")
    t.add_argument("--cache-dir", help="run cache folder (default: $ADVSEL_RUNS or results/runs)")
    t.add_argument("--force", action="store_true", help="retrain even if the cache holds this run")
    t.add_argument("--download", action="store_true", help="let torchvision download missing data")
    t.add_argument("--quiet", action="store_true", help="no per-epoch lines")
    t.add_argument("--sampling-number", dest="batch_size", type=int, default=argparse.SUPPRESS,
                   help="CAT's name for b', the samples drawn per iteration (same as --batch-size)")
    _add_config_flags(t)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run the command line on ``argv`` (default ``sys.argv[1:]``) and return the exit status.

    0: done; 1: training stopped on a non-finite loss; 2: a usage error (a bad flag or
    value, missing data), reported on stderr without a traceback.  Returns the status
    instead of raising SystemExit, also for argparse's own errors and ``--help``.
    """
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as e:  # argparse has printed the usage error (status 2) or the help (0)
        return e.code if isinstance(e.code, int) else (0 if e.code is None else 2)
    given = vars(args)
    overrides = {f.name: given[f.name] for f in dataclasses.fields(Config) if f.name not in _SKIP and f.name in given}
    try:
        config = make_config(args.profile, args.dataset, **overrides)
        from . import experiments

        if args.download:
            from .data import load

            experiments._DATA[config.dataset] = load(config.dataset, download=True)
        log = None if args.quiet else (lambda s: print(s, flush=True))
        result = experiments.run(config, args.cache_dir, force=args.force, log=log, out=args.out)
    except (ConfigError, DataError) as e:
        print(f"{parser.prog} train: error: {e}", file=sys.stderr)
        return 2
    except RuntimeError as e:
        from .trainer import NonFiniteLossError

        if isinstance(e, NonFiniteLossError):
            print(f"{parser.prog} train: stopped: {e}", file=sys.stderr)
            return 1
        raise
    last = result["epochs"][-1]
    print(f"done: clean {last['clean_acc']:.4f}, robust {last['robust_acc']:.4f} "
          f"({config.method}, {config.dataset}, data: {result['data_source']})")
    return 0
