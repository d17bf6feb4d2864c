"""Command line: ``python -m advsel train --dataset mnist --method ds --p-up 0.5 --profile cpu``.

Every field of :class:`advsel.config.Config` is a flag (``--p-up``, ``--eval-steps``,
``--cat-alpha`` ...), explained by ``python -m advsel train --help`` with its allowed
values and its default under each profile.  Flags not given take the profile's value.
A line is printed per epoch; the result JSON (``config``, ``data_source``, ``epochs``
...) goes to ``--out`` and to the run cache.  ``python -m advsel methods`` describes
the methods (``--markdown``: the README's table).  Usage errors exit with status 2 and
name the flag as it was typed: ``--p-up 1.5: must be in (0, 1]``.
"""

from __future__ import annotations

import argparse
import dataclasses
import re
import sys
import textwrap
import types
import typing
from collections.abc import Callable, Sequence
from fractions import Fraction
from typing import Any, NamedTuple

from .config import CHOICES, DATASETS, FIELD_HELP, PROFILES, Config, ConfigError, make_config, profile_defaults
from .data import DataError
from .methods import METHOD_PARAMS, REGISTRY, markdown_table, users

DEFAULT_PROFILE, DEFAULT_DATASET = "cpu", "mnist"
_ALIASES = {"batch_size": ("--sampling-number",)}  # CAT's name for b'
_NONE_TEXT = {"train_size": "all", "eval_eps": "the training eps", "eval_alpha": "evaluation eps / 4"}

# the flags of ``train``, grouped in its help; every Config field is in exactly one group
GROUPS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("method", ("method", *METHOD_PARAMS)),
    ("data and model", ("profile", "dataset", "model", "width", "train_size", "test_size", "augment")),
    ("optimization", ("epochs", "batch_size", "lr", "momentum", "weight_decay", "lr_schedule", "milestones")),
    ("training attack (PGD, L-inf, inputs in [0, 1])", ("eps", "alpha", "steps")),
    ("evaluation (PGD on a fixed test subset after every epoch)",
     ("eval_eps", "eval_alpha", "eval_steps", "eval_restarts", "eval_every")),
    ("analyses recorded per epoch", ("min_eps_probe", "similarity_probe")),
    ("execution", ("seed", "device", "amp", "channels_last", "data_on_device")),
)


# ------------------------------------------------------------------ values


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


def _converter(name: str) -> Callable[[str], Any] | None:
    """How the flag of Config field ``name`` reads its text (None: as a string)."""
    t = typing.get_type_hints(Config)[name]
    args = typing.get_args(t) if isinstance(t, types.UnionType) else ()
    base = next((a for a in args if a is not type(None)), t)
    if name == "milestones":
        return _float_list
    if base is int:
        return _optional_int if args else int
    return parse_number if base is float else None


def show(name: str, value: Any) -> str:
    """A parameter value as a user would type it (8/255 for eps-like fractions, 'all' for no subset)."""
    if value is None:
        return _NONE_TEXT.get(name, "none")
    if isinstance(value, bool):
        return "on" if value else "off"
    if isinstance(value, float):
        k = round(value * 255)
        if 0 < k < 255 and k / 255 == value and round(value, 4) != value:  # 8/255, not 51/255 for 0.2
            return f"{k}/255"
        return f"{value:g}"
    if isinstance(value, tuple):
        return ",".join(show(name, v) for v in value)
    return str(value)


def profile_default_text(name: str) -> str:
    """Where the default of ``name`` comes from: ``default: 10``, or its value under each profile."""
    base = next(f.default for f in dataclasses.fields(Config) if f.name == name)
    if name == "profile":
        return f"default: {DEFAULT_PROFILE}"
    if name == "dataset":
        return f"default: {DEFAULT_DATASET}"
    per_profile = {p: {d: profile_defaults(p, d).get(name, base) for d in DATASETS} for p in PROFILES}
    if all(v == base for by_dataset in per_profile.values() for v in by_dataset.values()):
        return f"default: {show(name, base)}"
    texts: dict[str, list[str]] = {}  # the value text -> the profiles giving it
    for p, by_dataset in per_profile.items():
        values = set(by_dataset.values())
        text = show(name, values.pop()) if len(values) == 1 else \
            ", ".join(f"{show(name, v)} ({d})" for d, v in by_dataset.items())
        texts.setdefault(text, []).append(p)
    parts = [f"{', '.join(ps)} profile{'s' if len(ps) > 1 else ''}: {text}" for text, ps in texts.items()]
    if len(texts) == 1:
        parts = [f"every profile: {next(iter(texts))}"]
    return "default: " + "; ".join(parts) + f"; else {show(name, base)}"


def _help(name: str) -> str:
    """The help of Config field ``name``: meaning, allowed values, who uses it, its default."""
    lines = [FIELD_HELP[name]]
    if name == "method":
        width = max(map(len, REGISTRY))
        lines += [f"  {m.name:<{width}}  {m.description}" for m in REGISTRY.values()]
    elif name in CHOICES:
        lines.append(f"one of: {', '.join(CHOICES[name])}")
    if name in METHOD_PARAMS:
        lines.append(f"used by: {', '.join(users(name))}")
    lines.append(profile_default_text(name))
    return "\n".join(lines).replace("%", "%%")


# ------------------------------------------------------------------ flags


class _Given(NamedTuple):
    """A flag's value with the text it was read from (for error messages)."""

    text: str
    value: Any


def _keeping_text(convert: Callable[[str], Any] | None) -> Callable[[str], _Given]:
    def read(text: str) -> _Given:
        return _Given(text, convert(text) if convert is not None else text)

    read.__name__ = getattr(convert, "__name__", "str")  # argparse names it in "invalid int value"
    return read


class _Store(argparse.Action):
    """Store a flag's value and remember the spelling and text the user typed, under ``namespace._typed``."""

    def __call__(self, parser: argparse.ArgumentParser, namespace: argparse.Namespace, values: Any,
                 option_string: str | None = None) -> None:
        given = values if isinstance(values, _Given) else _Given(str(values), values)
        setattr(namespace, self.dest, given.value)
        typed = getattr(namespace, "_typed", None)
        if typed is None:
            typed = {}
            namespace._typed = typed
        typed[self.dest] = (option_string or flag(self.dest), given.text)


def flag(name: str) -> str:
    """The flag of Config field ``name`` (``p_up`` -> ``--p-up``)."""
    return "--" + name.replace("_", "-")


def _add_flag(group: argparse._ArgumentGroup, name: str) -> None:
    t = typing.get_type_hints(Config)[name]
    kw: dict[str, Any] = {"dest": name, "help": _help(name)}
    if t is bool:
        group.add_argument(flag(name), action=argparse.BooleanOptionalAction, default=argparse.SUPPRESS, **kw)
        return
    if name in ("profile", "dataset"):  # not Config overrides: they choose the defaults
        kw["default"] = DEFAULT_PROFILE if name == "profile" else DEFAULT_DATASET
    else:
        kw["default"] = argparse.SUPPRESS
        kw["type"] = _keeping_text(_converter(name))
    kw["metavar"] = "NAME" if name in CHOICES else ("N" if _converter(name) in (int, _optional_int) else "X")
    group.add_argument(flag(name), *_ALIASES.get(name, ()), action=_Store, **kw)


class _Formatter(argparse.HelpFormatter):
    """Help text keeps its line breaks (one line per method); each line is wrapped on its own."""

    def __init__(self, prog: str) -> None:
        super().__init__(prog, max_help_position=30)

    def _split_lines(self, text: str, width: int) -> list[str]:
        lines: list[str] = []
        for line in text.splitlines():
            hanging = re.match(r"\s+\S+\s\s+", line)  # "  name  description": align under the description
            indent = " " * (hanging.end() if hanging else 2)
            lines += textwrap.wrap(line, width, subsequent_indent=indent, break_on_hyphens=False) or [""]
        return lines


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m advsel", description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    t = sub.add_parser("train", help="train one configured run and write its result JSON",
                       usage="python -m advsel train [--method NAME] [--profile NAME] [--dataset NAME] [flags]",
                       description="Train one run. Flags not given take the --profile's value for the --dataset; "
                                   "numbers may be fractions (--eps 8/255).",
                       formatter_class=_Formatter)
    for title, names in GROUPS:
        group = t.add_argument_group(title)
        for name in names:
            _add_flag(group, name)
    out = t.add_argument_group("output")
    out.add_argument("--out", help="also write the result JSON here")
    out.add_argument("--cache-dir", help="run cache folder (default: $ADVSEL_RUNS or results/runs)")
    out.add_argument("--force", action="store_true", help="retrain even if the cache holds this run")
    out.add_argument("--download", action="store_true", help="let torchvision download missing data")
    out.add_argument("--quiet", action="store_true", help="no per-epoch lines")
    m = sub.add_parser("methods", help="describe the training methods")
    m.add_argument("--markdown", action="store_true", help="print the README's method table")
    return parser


# ------------------------------------------------------------------ errors


def _as_typed(option: str, text: str) -> str:
    """``--p-up 1.5``; ``--eps=-8/255`` where a value starting with '-' needs the '=' to parse."""
    if text.startswith("-") and not re.fullmatch(r"-\d+|-\d*\.\d+", text):
        return f"{option}={text}"
    return f"{option} {text}"


def usage_error(e: ConfigError, typed: dict[str, tuple[str, str]], profile: str, dataset: str) -> str:
    """The message of a ConfigError restated with the flag: as typed, or where its value came from."""
    if e.param is None:
        return str(e)
    if e.param in typed:
        return f"{_as_typed(*typed[e.param])}: {e.reason}"
    source = "default"
    if profile in PROFILES and dataset in DATASETS and e.param in profile_defaults(profile, dataset):
        source = f"{profile} profile's value"
    return f"{flag(e.param)} {show(e.param, e.value)} (the {source}): {e.reason}"


# ------------------------------------------------------------------ commands


def describe_methods() -> str:
    """One paragraph per method: its line, the batch, what is backpropagated, P_up, its flags."""
    from .methods import BACKPROP_TEXT, BATCH_TEXT, P_UP_TEXT

    out = []
    for m in REGISTRY.values():
        flags = ", ".join(flag(p) for p in m.params) or "none"
        pre = f"; needs a {m.pretrain} pre-training run" if m.pretrain else ""
        out.append(f"{m.name}: {m.description}\n  batch: {BATCH_TEXT[m.batch]}{pre}\n"
                   f"  backpropagated: {BACKPROP_TEXT[m.backprop]}\n  P_up: {P_UP_TEXT[m.p_up]}\n"
                   f"  method flags: {flags}")
    return "\n".join(out)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line on ``argv`` (default ``sys.argv[1:]``) and return the exit status.

    0: done; 1: training stopped on a non-finite loss; 2: a usage error (a bad flag or
    value, missing data), reported on stderr without a traceback, naming the flag as it
    was typed.  Returns the status instead of raising SystemExit, also for argparse's
    own errors and ``--help``.
    """
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as e:  # argparse has printed the usage error (status 2) or the help (0)
        return e.code if isinstance(e.code, int) else (0 if e.code is None else 2)
    if args.command == "methods":
        print(markdown_table() if args.markdown else describe_methods())
        return 0
    return _train(args, f"{parser.prog} train")


def _train(args: argparse.Namespace, prog: str) -> int:
    given = vars(args)
    overrides = {f.name: given[f.name] for f in dataclasses.fields(Config)
                 if f.name not in ("dataset", "profile") and f.name in given}
    try:
        config = make_config(args.profile, args.dataset, **overrides)
        from . import experiments

        if args.download:
            from .data import load

            experiments._DATA[config.dataset] = load(config.dataset, download=True)
        log = None if args.quiet else (lambda s: print(s, flush=True))
        result = experiments.run(config, args.cache_dir, force=args.force, log=log, out=args.out)
    except ConfigError as e:
        print(f"{prog}: error: {usage_error(e, getattr(args, '_typed', {}), args.profile, args.dataset)}",
              file=sys.stderr)
        return 2
    except DataError as e:
        print(f"{prog}: error: {e}", file=sys.stderr)
        return 2
    except RuntimeError as e:
        from .trainer import NonFiniteLossError

        if isinstance(e, NonFiniteLossError):
            print(f"{prog}: stopped: {e}", file=sys.stderr)
            return 1
        raise
    last = result["epochs"][-1]
    print(f"done: clean {last['clean_acc']:.4f}, robust {last['robust_acc']:.4f} "
          f"({config.method}, {config.dataset}, data: {result['data_source']})")
    return 0
