"""Command line: ``python -m advsel train --dataset mnist --method ds --p-up 0.5 --profile cpu``.

Every field of :class:`advsel.config.Config` is a flag (``--p-up``, ``--eval-steps``,
``--cat-alpha`` ...), explained by ``python -m advsel train --help`` with its allowed
values and its default under each profile.  Flags not given take the profile's value.
``--config FILE`` starts from the config of a result file (or of a Config JSON) instead of a
profile, the flags given overriding it.
A line is printed per epoch; the result JSON (``config``, ``data_source``, ``epochs``
...) goes to ``--out`` and to the run cache, whose folder is printed first
(``--cache-dir``, else ``$ADVSEL_RUNS``, else the user's cache ``~/.cache/advsel/runs``:
:func:`advsel.runs.default_cache_dir`; never the book's ``results/runs``);
``--save-model PATH`` writes the trained weights.  ``python -m advsel eval MODEL``
reports clean, PGD and AutoAttack accuracy of such a file.  ``python -m advsel methods``
describes the methods (``--markdown``: the README's table).  Usage errors exit with
status 2 and name the flag as it was typed: ``--p-up 1.5: must be in (0, 1]``; so does a
file or folder that cannot be written, found before the work starts (:func:`main` lists
the statuses).

A flag for a parameter the run does not read is *rejected* (:func:`check_unused`): a
method flag the chosen method does not use (``--p-up 0.3 --method ds-adaptive``), and
``--milestones`` without ``--lr-schedule multistep``; so are the two names of b' with
different values (``--sampling-number 40 --batch-size 60``).  The Python API instead
*normalises* such parameters out of the cache key (:meth:`advsel.config.Config.key`).

One module (about 500 lines) because the three commands share the flag machinery that
remembers what was typed, so that every usage error can name the flag as it was written.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import re
import sys
import textwrap
import types
import typing
from collections.abc import Callable, Sequence
from fractions import Fraction
from pathlib import Path
from typing import Any, NamedTuple

from . import experiments
from .config import (
    CHOICES,
    DATASETS,
    FIELD_HELP,
    NONE_TEXT,
    PROFILES,
    Config,
    ConfigError,
    attack_size_problem,
    config_from_dict,
    evaluation_attack,
    make_config,
    profile_defaults,
)
from .data import DataError
from .device import resolve_device
from .distributed import is_main
from .evaluation import TEST_SUBSET_SEED, evaluate_model, test_subset
from .methods import BACKPROP_TEXT, BATCH_TEXT, METHOD_PARAMS, REGISTRY, markdown_table, users
from .models import load_model
from .runs import WriteError, atomic_write_json, default_cache_dir, unwritable_file
from .trainer import NonFiniteLossError

DEFAULT_PROFILE, DEFAULT_DATASET = "cpu", "mnist"
_ALIASES = {"batch_size": ("--sampling-number",)}  # CAT's name for b'

# the flags of ``train``, grouped in its help; every Config field is in exactly one group
GROUPS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("method", ("method", *METHOD_PARAMS)),
    ("data and model", ("profile", "dataset", "model", "width", "train_size", "validation_size", "test_size",
                        "augment")),
    ("optimization", ("epochs", "batch_size", "lr", "momentum", "weight_decay", "lr_warmup_epochs", "lr_schedule",
                      "milestones")),
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
        return NONE_TEXT.get(name, "none")
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
        lines.append(f"used by: {', '.join(users(name))} (an error with other methods)")
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
        typed = getattr(namespace, "_typed", None)
        if typed is None:
            typed = {}
            namespace._typed = typed
        option = option_string or flag(self.dest)
        before = typed.get(self.dest)
        if before is not None and before[0] != option and getattr(namespace, self.dest) != given.value:
            # two spellings of one parameter (--batch-size, --sampling-number) with different values
            raise argparse.ArgumentError(self, f"{_as_typed(*before)} and {_as_typed(option, given.text)} set the "
                                               "same parameter to different values; give one of them")
        setattr(namespace, self.dest, given.value)
        typed[self.dest] = (option, given.text)


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
    t.add_argument("--config", metavar="FILE",
                   help="start from the config of this result JSON (--out, the run cache) or Config JSON instead "
                        "of --profile's values; the flags given override it")
    for title, names in GROUPS:
        group = t.add_argument_group(title)
        for name in names:
            _add_flag(group, name)
    out = t.add_argument_group("output")
    out.add_argument("--out", help="also write the result JSON here")
    out.add_argument("--cache-dir", help="run cache folder (default: $ADVSEL_RUNS, else $XDG_CACHE_HOME/advsel/runs "
                                         "or ~/.cache/advsel/runs)")
    out.add_argument("--force", action="store_true", help="retrain even if the cache holds this run")
    out.add_argument("--download", action="store_true", help="let torchvision download missing data")
    out.add_argument("--quiet", action="store_true", help="no per-epoch lines")
    out.add_argument("--save-model", metavar="PATH",
                     help="also write the trained weights here (for `python -m advsel eval PATH` or "
                          "advsel.models.load_model); the run cache keeps a copy beside the result")
    _add_eval_parser(sub)
    m = sub.add_parser("methods", help="describe the training methods")
    m.add_argument("--markdown", action="store_true", help="print the README's method table")
    return parser


def _add_eval_parser(sub: Any) -> None:
    e = sub.add_parser("eval", help="evaluate a saved model: clean, PGD and AutoAttack accuracy",
                       usage="python -m advsel eval MODEL [--n N] [--attack pgd|autoattack|both] [--eps X] [flags]",
                       description="Load a model file (weights only: no code runs from it) and report its clean, "
                                   "PGD and AutoAttack accuracy on the fixed, seeded, class-balanced test subset "
                                   "(the first N of the subset every advsel evaluation uses), printed and as JSON.",
                       formatter_class=_Formatter)
    e.add_argument("model_file", metavar="MODEL", help="a model file written by `train --save-model` (or "
                                                       "advsel.models.save_model)")
    e.add_argument("--dataset", action=_Store, type=_keeping_text(None), metavar="NAME",
                   help=f"the test set, one of: {', '.join(DATASETS)}; default: the model file's")
    e.add_argument("--n", action=_Store, type=_keeping_text(int), default=1000, metavar="N",
                   help="test samples (capped by the test set); AutoAttack runs on the same N. default: 1000")
    e.add_argument("--attack", choices=("pgd", "autoattack", "both"), default="pgd",
                   help="pgd: clean + PGD; autoattack: clean + AutoAttack (standard version, needs torchattacks: "
                        "the eval extra; slow: minutes per hundred samples on a CPU); both. default: pgd")
    e.add_argument("--eps", action=_Store, type=_keeping_text(parse_number), metavar="X",
                   help="L-inf budget, inputs in [0, 1] (8/255 is read as such); default: the run's evaluation eps")
    e.add_argument("--alpha", action=_Store, type=_keeping_text(parse_number), metavar="X",
                   help="PGD step size; default: the run's evaluation alpha, or eps / 4 when --eps is given")
    e.add_argument("--steps", action=_Store, type=_keeping_text(int), default=20, metavar="N",
                   help="PGD steps. default: 20")
    e.add_argument("--restarts", action=_Store, type=_keeping_text(int), default=2, metavar="N",
                   help="PGD random restarts; a sample counts as robust only if it survives all. default: 2")
    e.add_argument("--seed", action=_Store, type=_keeping_text(int), default=0, metavar="N",
                   help="seed of the PGD random starts and of AutoAttack. default: 0")
    e.add_argument("--device", action=_Store, type=_keeping_text(None), default=None, metavar="NAME",
                   help="auto (cuda when available), cpu or cuda. default: auto")
    e.add_argument("--json", metavar="PATH", help="also write the numbers as JSON here")


# ------------------------------------------------------------------ errors


def _as_typed(option: str, text: str) -> str:
    """``--p-up 1.5``; ``--eps=-8/255`` where a value starting with '-' needs the '=' to parse."""
    if text.startswith("-") and not re.fullmatch(r"-\d+|-\d*\.\d+", text):
        return f"{option}={text}"
    return f"{option} {text}"


def usage_error(e: ConfigError, typed: dict[str, tuple[str, str]], profile: str, dataset: str,
                config_file: str | None = None) -> str:
    """The message of a ConfigError restated with the flag: as typed, or where its value came from
    (``config_file``: the ``--config`` file the values not typed come from)."""
    if e.param is None:
        return str(e)
    if e.param in typed:
        return f"{_as_typed(*typed[e.param])}: {e.reason}"
    source = "default"
    if config_file is not None:
        source = f"value in --config {config_file}"
    elif profile in PROFILES and dataset in DATASETS and e.param in profile_defaults(profile, dataset):
        source = f"{profile} profile's value"
    return f"{flag(e.param)} {show(e.param, e.value)} (the {source}): {e.reason}"


def read_config_file(path: str) -> dict[str, Any]:
    """The Config fields in the file ``path``: a result JSON's ``config``, or a Config JSON itself.

    ConfigError (a usage error, naming ``--config``) for a file that is missing, not JSON,
    holds no config or names unknown parameters; the values are checked when the Config
    is made.
    """
    where = f"--config {path}"
    file = Path(path)
    if not file.is_file():
        raise ConfigError(f"{where}: no such file" + (" (it is a folder)" if file.is_dir() else ""))
    try:
        d = json.loads(file.read_text())
    except (OSError, UnicodeDecodeError) as e:
        raise ConfigError(f"{where}: cannot be read ({e})") from None
    except json.JSONDecodeError as e:
        raise ConfigError(f"{where}: not a JSON file ({e.msg} at line {e.lineno})") from None
    if isinstance(d, dict) and isinstance(d.get("config"), dict):
        d = d["config"]  # a result file
    if not isinstance(d, dict) or not d:
        raise ConfigError(f"{where}: holds no config (a result JSON with a \"config\", or a JSON object of "
                          "Config fields)")
    known = {f.name for f in dataclasses.fields(Config)}
    unknown = sorted(set(d) - known)
    if unknown:
        raise ConfigError(f"{where}: unknown parameter(s) {', '.join(unknown)}; known: {', '.join(sorted(known))}")
    return d


def make_train_config(args: argparse.Namespace) -> Config:
    """The run's Config: from ``--profile`` for ``--dataset``, or from the ``--config`` file; the typed flags win."""
    typed = getattr(args, "_typed", {})
    given = vars(args)
    overrides = {f.name: given[f.name] for f in dataclasses.fields(Config)
                 if f.name not in ("dataset", "profile") and f.name in given}
    if args.config is None:
        return make_config(args.profile, args.dataset, **overrides)
    if "profile" in typed:
        raise ConfigError(f"{_as_typed(*typed['profile'])} and --config {args.config} both give every value; "
                          "give one of them (flags after --config override single values)")
    values = {**read_config_file(args.config), **overrides}
    if "dataset" in typed:
        values["dataset"] = args.dataset
    try:
        return config_from_dict(values)
    except TypeError as e:  # a value of the wrong kind where a list is read (milestones)
        raise ConfigError(f"--config {args.config}: {e}") from None


def check_unused(config: Config, typed: dict[str, tuple[str, str]]) -> None:
    """Reject a flag typed for a parameter this run does not read (:meth:`Config.ignored`).

    ``--p-up 0.3 --method robust``: p_up is not used by robust; ``--milestones`` without
    ``--lr-schedule multistep``.  (The Python API accepts them and leaves them out of the
    cache key instead.)
    """
    for name in config.ignored():
        if name not in typed:
            continue
        if name == "milestones":
            reason = (f"only used with --lr-schedule multistep; this run's schedule is {config.lr_schedule} "
                      "(add --lr-schedule multistep or drop --milestones)")
        else:
            reason = (f"not used by --method {config.method}; only {', '.join(users(name))} use it "
                      f"(drop {flag(name)} or choose one of those methods)")
        raise ConfigError(f"{name}={getattr(config, name)!r} is {reason}", param=name, value=getattr(config, name),
                          reason=reason)


def cache_source(cache_dir: str | None) -> str:
    """What chose the run cache folder: ``--cache-dir``, ``$ADVSEL_RUNS`` or the default (the user's cache)."""
    if cache_dir is not None:
        return "--cache-dir"
    return "$ADVSEL_RUNS" if os.environ.get("ADVSEL_RUNS") else "the default, the user's cache"


def cache_line(cache_dir: str | None) -> str:
    """Where the run cache is, what chose it, and how to change it."""
    cache = Path(cache_dir) if cache_dir is not None else default_cache_dir()
    new = "; a new folder" if not cache.is_dir() else ""
    return (f"run cache: {cache.resolve()} (from {cache_source(cache_dir)}{new}; --cache-dir or $ADVSEL_RUNS sets "
            "another)")


def write_target(e: WriteError, args: argparse.Namespace) -> str:
    """The flag (or the run cache's source) of a path the check before the work found unwritable."""
    if e.argument == "cache_dir":
        return f"--cache-dir {args.cache_dir}" if args.cache_dir is not None else \
            f"run cache {e.filename} (from {cache_source(None)}; --cache-dir or $ADVSEL_RUNS sets another)"
    return f"{flag(e.argument or '')} {e.filename}"


# ------------------------------------------------------------------ commands


def describe_methods() -> str:
    """One paragraph per method: its line, the batch, what is backpropagated, P_up, its flags."""
    out = []
    for m in REGISTRY.values():
        flags = ", ".join(flag(p) for p in m.params) or "none"
        pre = f"; needs a {m.pretrain} pre-training run" if m.pretrain else ""
        out.append(f"{m.name}: {m.description}\n  batch: {BATCH_TEXT[m.batch]}{pre}\n"
                   f"  backpropagated: {BACKPROP_TEXT[m.backprop]}\n  P_up: {m.p_up.text}\n"
                   f"  method flags: {flags}")
    return "\n".join(out)


SIGPIPE_STATUS = 128 + 13  # what a shell reports for a process killed by SIGPIPE (``yes | head -1``)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line on ``argv`` (default ``sys.argv[1:]``) and return the exit status.

    0: done; 1: the run stopped: a non-finite training loss, or a file that could not be
    written after the work started (disk full...), the message naming what is kept; 2: a
    usage error (a bad flag or value, missing data, a file or folder that cannot be
    written, found before the work), reported on stderr without a traceback, naming the
    flag as it was typed; 141: the reader of the output went away (``| head -1``; no
    traceback).  Returns the status instead of raising SystemExit, also for argparse's
    own errors and ``--help``.
    """
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as e:  # argparse has printed the usage error (status 2) or the help (0)
        return e.code if isinstance(e.code, int) else (0 if e.code is None else 2)
    try:
        if args.command == "methods":
            print(markdown_table() if args.markdown else describe_methods())
            status = 0
        elif args.command == "eval":
            status = _eval(args, f"{parser.prog} eval")
        else:
            status = _train(args, f"{parser.prog} train")
        sys.stdout.flush()  # a closed pipe shows here, not at exit where it would print a traceback
    except BrokenPipeError:
        _silence_stdout()
        return SIGPIPE_STATUS
    return status


def _silence_stdout() -> None:
    """Point stdout at /dev/null after its reader went away, so that Python's flush at exit raises
    nothing (the recipe of the Python documentation, ``signal``: "Note on SIGPIPE")."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError, AttributeError):  # stdout without a file descriptor (captured)
        pass


def _train(args: argparse.Namespace, prog: str) -> int:
    config: Config | None = None
    try:
        config = make_train_config(args)
        check_unused(config, getattr(args, "_typed", {}))
        if args.download:
            experiments.dataset(config.dataset, download=True)
        if not is_main():  # under torchrun every rank trains and only rank 0 prints (advsel.distributed)
            sys.stdout = open(os.devnull, "w")  # noqa: SIM115 - for the rest of this process
        print(cache_line(args.cache_dir), flush=True)
        log = None if args.quiet else (lambda s: print(s, flush=True))
        result = experiments.run(config, args.cache_dir, force=args.force, log=log, out=args.out,
                                 save_model=args.save_model, progress=not args.quiet)
    except ConfigError as e:
        print(f"{prog}: error: {usage_error(e, getattr(args, '_typed', {}), args.profile, args.dataset, args.config)}",
              file=sys.stderr)
        return 2
    except DataError as e:
        print(f"{prog}: error: {e}", file=sys.stderr)
        return 2
    except NonFiniteLossError as e:
        print(f"{prog}: stopped: {e}", file=sys.stderr)
        return 1
    except WriteError as e:
        if e.argument is not None:  # found before the work
            print(f"{prog}: error: {write_target(e, args)}: {e.strerror}", file=sys.stderr)
            return 2
        print(f"{prog}: stopped: {e}; {experiments.kept(config, args.cache_dir)}" if config is not None else
              f"{prog}: stopped: {e}", file=sys.stderr)
        return 1
    last = result["epochs"][-1]
    print(f"done: clean {last['clean_acc']:.4f}, robust {last['robust_acc']:.4f} "
          f"({config.method}, {config.dataset}, data: {result['data_source']})")
    if args.save_model is not None:
        print(f"model: {args.save_model} (evaluate: python -m advsel eval {args.save_model})")
    return 0


# ------------------------------------------------------------------ eval


class _EvalError(Exception):
    """A usage error of ``eval``; the message names the flag or the file."""


def _shown(args: argparse.Namespace, name: str) -> str:
    """Flag ``--name`` with its value: as typed, else its default."""
    typed = getattr(args, "_typed", {})
    return _as_typed(*typed[name]) if name in typed else f"--{name} {getattr(args, name)}"


def _eval_settings(args: argparse.Namespace, cfg: Config | None) -> tuple[float, float]:
    """Check eval's numeric flags (as typed in the message); the attack's eps and alpha."""

    def bad(name: str, reason: str) -> _EvalError:
        return _EvalError(f"{_shown(args, name)}: {reason}")

    for name, low in (("n", 1), ("steps", 0), ("restarts", 1)):
        if getattr(args, name) < low:
            raise bad(name, f"must be an integer >= {low}")
    for name in ("eps", "alpha"):
        reason = None if getattr(args, name) is None else attack_size_problem(getattr(args, name),
                                                                              zero_allowed=name == "eps")
        if reason is not None:
            raise bad(name, reason)
    if cfg is None and args.eps is None:
        raise _EvalError("--eps is needed: the model file has no advsel config to take it from")
    if cfg is None or args.eps is not None:  # no run's alpha for another eps: eps / 4
        return evaluation_attack(args.eps, args.alpha, base_eps=args.eps)
    return evaluation_attack(None, args.alpha, base_eps=cfg.effective_eval_eps, base_alpha=cfg.effective_eval_alpha)


def _eval(args: argparse.Namespace, prog: str) -> int:
    """``python -m advsel eval MODEL``: clean, PGD and AutoAttack accuracy of a saved model."""
    try:
        record = evaluate_file(args)
    except _EvalError as e:
        print(f"{prog}: error: {e}", file=sys.stderr)
        return 2
    except DataError as e:
        print(f"{prog}: error: {e}", file=sys.stderr)
        return 2
    n = record["n"]
    print(f"model: {record['model_file']} ({record['model']} trained by method {record['method']} on "
          f"{record['config']['dataset']}, {record['epochs_trained']} epoch"
          f"{'s' if record['epochs_trained'] != 1 else ''})")
    print(f"test subset: {n} class-balanced {record['dataset']} test samples (data: {record['data_source']}), "
          f"device {record['device']}")
    print(f"clean accuracy      {record['clean_acc']:.4f}")
    if "robust_acc" in record:
        a = record["attack"]
        print(f"PGD accuracy        {record['robust_acc']:.4f}  (PGD-{a['steps']}, {a['restarts']} restart"
              f"{'s' if a['restarts'] != 1 else ''}, eps {show('eps', a['eps'])}, alpha {show('alpha', a['alpha'])}, "
              f"random start, seed {record['seed']})")
    if "autoattack" in record:
        aa = record["autoattack"]
        print(f"AutoAttack accuracy {aa['robust_acc']:.4f}  ({aa['version']}, eps {show('eps', aa['eps'])}, "
              f"n {aa['n']})")
    if args.json:
        try:
            atomic_write_json(record, args.json)
        except WriteError as e:
            print(f"{prog}: stopped: {e} (the numbers are printed above)", file=sys.stderr)
            return 1
        print(f"json: {args.json}")
    return 0


def evaluate_file(args: argparse.Namespace) -> dict[str, Any]:
    """Load ``args.model_file`` and evaluate it as ``eval``'s flags say; the JSON record.

    Raises :class:`_EvalError` naming the flag or file for every usage error.
    """
    path = Path(args.model_file)
    if args.json is not None and (reason := unwritable_file(args.json, "eval.json")) is not None:
        raise _EvalError(f"--json {args.json}: {reason}")
    if not path.is_file():
        raise _EvalError(f"MODEL {args.model_file}: no such file" + (" (it is a folder)" if path.is_dir() else ""))
    try:
        device = resolve_device(args.device or "auto")
    except ConfigError as e:
        raise _EvalError(f"{_shown(args, 'device')}: {e.reason}") from None
    try:
        model, meta = load_model(path, map_location=device)
    except ValueError as e:
        if "user's own model" in str(e):
            raise _EvalError(f"MODEL {args.model_file}: holds a user's own model (saved without an advsel config), "
                             "which the command line cannot rebuild; evaluate it in Python: "
                             "advsel.models.load_model(path, model=<your nn.Module>), then "
                             "advsel.evaluation.evaluate_model") from None
        raise _EvalError(f"MODEL {e}") from None
    cfg = config_from_dict(meta["config"])
    dataset_name = args.dataset if args.dataset is not None else cfg.dataset
    if dataset_name not in DATASETS:
        raise _EvalError(f"{_shown(args, 'dataset')}: not allowed; choose one of: {', '.join(DATASETS)}")
    eps, alpha = _eval_settings(args, cfg)
    pgd_on, aa_on = args.attack in ("pgd", "both"), args.attack in ("autoattack", "both")
    if aa_on:
        try:  # an optional dependency (the eval extra): only its presence is checked here
            import torchattacks  # noqa: F401
        except ImportError:
            raise _EvalError(f"--attack {args.attack}: AutoAttack needs torchattacks; pip install 'advsel[eval]' "
                             "(or use --attack pgd)") from None
    data = experiments.dataset(dataset_name)
    if tuple(data.image_shape) != tuple(meta["image_shape"]) or data.num_classes != meta["num_classes"]:
        raise _EvalError(f"--dataset {dataset_name}: the model takes {'x'.join(map(str, meta['image_shape']))} "
                         f"images and {meta['num_classes']} classes, {dataset_name} has "
                         f"{'x'.join(map(str, data.image_shape))} images and {data.num_classes} classes")
    x, y = test_subset(data, args.n)
    record = evaluate_model(model, x.to(device), y.to(device), eps=eps, alpha=alpha, steps=args.steps,
                            restarts=args.restarts, seed=args.seed, autoattack_n=args.n if aa_on else 0,
                            num_classes=data.num_classes, n_asked=args.n, pgd=pgd_on, progress=True)
    return {"model_file": str(path), "model": cfg.model, "dataset": dataset_name, "method": cfg.method,
            "key": meta.get("key"), "epochs_trained": meta.get("epochs_trained"), "data_source": data.source,
            "test_subset_seed": TEST_SUBSET_SEED, "device": str(device), "config": meta["config"], **record}
