"""Where a page's runs come from: a :class:`Scope` (profile, dataset, device, seeds) and run families.

A page creates one ``Scope`` from its papermill parameters and asks it for the results of
run :class:`Family` values (``scope.results(Family.ds(0.5))``); nothing is passed by
hand or parsed from strings.  Every page derives its configs from :meth:`Scope.configs`,
so pages share cached runs: the CIFAR-10 ``robust`` run of DS Figs. 4-5 is also Dong et
al.'s pre-training and CAT Table 2's AT, the DS P_up = 0.5 run serves Figs. 3, 4, 7, 8, 9
and Table I.

The book's tracks (:func:`book_families`): DS on CIFAR-10 (the paper's dataset), CAT's
Table 1 and Fig. 2 on MNIST, CAT's Table 2, DS-CAT and the attack-screening method on the
CIFAR-10 track.  Every result carries a ``final_eval`` (:func:`final_spec`): PGD-20 x 2 on
2,000 test samples, plus AutoAttack on 500 for the seed-0 runs of :data:`AUTOATTACK`.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..config import Config, make_config
from ..evaluation import FinalEval
from ..runs import Result, default_cache_dir

SEEDS = (0, 1, 2)
# MNIST's families (CAT Table 1, its control, CAT Fig. 1) run a fourth seed: with three, CAT's Table 1 speed-ups were
# undecided only by Holm's correction, and an MNIST run is cheap (about 80 s of training and 140 s in all here; the
# three cost under 4 minutes of the rerun's hour).  Every MNIST family gets it, so the comparisons stay paired.
MNIST_SEEDS = (0, 1, 2, 3)
BOOK_SEEDS: dict[str, tuple[int, ...]] = {"cifar10": SEEDS, "mnist": MNIST_SEEDS}  # the committed runs' seeds
P_UP_CORE = (0.5, 0.75, 1.0)  # DS P_up values run with every seed
P_UP_SWEEP = (0.25, 0.5, 0.75, 1.0)  # DS Fig. 3; the values outside P_UP_CORE run with the first seed only
# (P_up 0.1 is not run: no ledger row reads it); at the cpu profile P_up 0.25 is not run either: one seed gives its
# rows no interval, and the hour goes to the stall ablation (P_UP_NOT_RUN)
P_UP_NOT_RUN: dict[str, tuple[float, ...]] = {"cpu": (0.25,)}
WARMUP_P_UP = (0.5,)  # DS also runs at these P_up after WARMUP_EPOCHS epochs at P_up = 1 (every seed)
WARMUP_EPOCHS = 3  # on the CIFAR-10 track 3 epochs avoid the collapse at P_up 0.5 (pilots, seeds 0 and 1),
# not at 0.25 (seed 0: loss back at ln C after them); 1 epoch does not at 0.25
DRIVERS = ("train", "clean", "robust")  # eq. (9)'s driving accuracy; clean/robust on a validation split
VALIDATION_SIZE = 500  # held out of the training pool for the clean/robust drivers
SAMPLING_NUMBERS = (25, 100, 400)  # CAT Fig. 2 (MNIST), CAT and PGD-AT at each, lr scaled with b'
# CAT Figs. 2-3 are not run at the cpu profile (SAMPLING_PROFILES): three sampling numbers of two methods cost a
# quarter of the hour the rerun has, and with fewer than three no peak can be seen
SAMPLING_PROFILES = ("paper", "gpu")
# The DS stall ablation (DS Figs. 3-5 page): DS at P_up = 0.5 on the CIFAR-10 track with one thing changed, two seeds
# each.  Name -> the Config overrides.  The learning rate with and without its warm-up, one epoch at P_up = 1 first
# (three epochs: the warm-up family), and the literal reading of Algorithm 1 (one forward of all 2b').
ABLATIONS: dict[str, dict[str, Any]] = {
    "lr 0.1, no lr warm-up": {"lr": 0.1, "lr_warmup_epochs": 0},
    "no lr warm-up": {"lr_warmup_epochs": 0},
    "1 epoch at P_up = 1": {"p_up_warmup_epochs": 1},
    "joint forward": {"ds_forward": "joint"},
}
ABLATION_SEEDS = 2  # the first seeds of the scope
# methods run at the base settings (ds-cat with P_up = 0.5, prescreen with attack share 0.5)
PLAIN = ("standard", "robust", "ds-adaptive", "random", "dong", "cat", "cat-uniform", "ds-cat", "prescreen")
TIMED = ("robust", "ds", "cat", "cat-uniform", "ds-cat", "prescreen")  # methods of the time-to-accuracy families
MNIST_TIMED = ("robust", "cat", "cat-uniform")  # CAT Table 1 and its control
TIMED_LABELS = {"robust": "PGD-AT", "ds": "DS", "cat": "CAT", "cat-uniform": "CAT uniform", "ds-cat": "DS-CAT",
                "prescreen": "prescreen"}  # how the pages that compare timed families name them
CIFAR_METHODS = ("standard", "robust", "ds-adaptive", "random", "dong", "cat", "ds-cat", "prescreen")
# the families whose final evaluation includes AutoAttack on every seed: those a robust-accuracy verdict compares
# (CIFAR-10 and MNIST); AUTOATTACK_N test samples, the first of the PGD evaluation's
AUTOATTACK = ("robust", "ds:0.5", "ds:0.75", "ds:1.0", "warmup:0.5", "ds-adaptive", "random", "dong", "cat",
              "prescreen", "timed:robust", "timed:cat")
AUTOATTACK_N = 500
# AutoAttack's APGD-CE + APGD-T (advsel.attacks.autoattack_accuracy): 10.5 s per 500 CIFAR-10 samples on this machine
# against 156 s for the standard version with FAB-T and Square (README), so every seed gets it within the hour
AUTOATTACK_VERSION = "apgd"


@dataclass(frozen=True)
class Family:
    """A run family: one config per seed of the same settings.

    ``kind`` is a method of :data:`PLAIN` (at the base settings; ``arg`` None), ``ds`` (DS
    with P_up = ``arg``), ``warmup`` (DS with P_up = ``arg`` after :data:`WARMUP_EPOCHS` epochs at P_up = 1),
    ``driver`` (DS eq. (9) driven by the ``arg`` accuracy: train, clean or robust),
    ``timed`` (method ``arg`` for time to accuracy: on MNIST evaluated twice per epoch, on
    CIFAR-10 the method's own family) or ``sampling`` (``arg`` = (method, sampling number):
    CAT or PGD-AT with b' = that number and the learning rate scaled with it, MNIST) or
    ``ablation`` (DS P_up = 0.5 with the change named ``arg`` of :data:`ABLATIONS`).
    Build them with the class methods.
    """

    kind: str
    arg: float | int | str | tuple[str, int] | None = None

    def __post_init__(self) -> None:
        a = self.arg
        ok = (self.kind in PLAIN and a is None) or (self.kind in ("ds", "warmup") and isinstance(a, float)) \
            or (self.kind == "ablation" and a in ABLATIONS) \
            or (self.kind == "timed" and a in TIMED) or (self.kind == "driver" and a in DRIVERS) \
            or (self.kind == "sampling" and isinstance(a, tuple) and len(a) == 2 and a[0] in ("cat", "robust")
                and isinstance(a[1], int))
        if not ok:
            raise ValueError(f"run family {self.kind!r} with argument {a!r} is unknown; use Family.method("
                             f"one of {', '.join(PLAIN)}), Family.ds(P_up), Family.warmup(P_up), Family.driver("
                             f"one of {', '.join(DRIVERS)}), Family.timed(one of {', '.join(TIMED)}), "
                             f"Family.ablation(one of {', '.join(map(repr, ABLATIONS))}) or "
                             "Family.sampling(sampling number, 'cat' or 'robust')")

    @classmethod
    def method(cls, name: str) -> Family:
        """``name`` (one of :data:`PLAIN`) at the base settings."""
        return cls(name)

    @classmethod
    def ds(cls, p_up: float) -> Family:
        """DS with P_up = ``p_up`` (with the minimum-eps probe of DS Fig. 8)."""
        return cls("ds", float(p_up))

    @classmethod
    def warmup(cls, p_up: float) -> Family:
        """DS with P_up = ``p_up`` after :data:`WARMUP_EPOCHS` epoch(s) at P_up = 1 (against collapse)."""
        return cls("warmup", float(p_up))

    @classmethod
    def ablation(cls, change: str) -> Family:
        """DS with P_up = 0.5 and the one change ``change`` of :data:`ABLATIONS` (the DS stall ablation)."""
        return cls("ablation", change)

    @classmethod
    def driver(cls, accuracy: str) -> Family:
        """DS eq. (9) driven by the last epoch's ``accuracy`` (train; clean/robust on a validation split)."""
        return cls("driver", accuracy)

    @classmethod
    def timed(cls, method: str) -> Family:
        """``method`` for time to accuracy (MNIST: evaluated twice per epoch, with the similarity probe of
        CAT Fig. 1 on ``cat``)."""
        return cls("timed", method)

    @classmethod
    def sampling(cls, n: int, method: str = "cat") -> Family:
        """``method`` (cat or robust) with sampling number (b') ``n``, the learning rate scaled with b'."""
        return cls("sampling", (method, int(n)))

    @property
    def name(self) -> str:
        """A short name for logs: ``robust``, ``ds:0.5``, ``timed:cat``, ``sampling:cat@50``."""
        if self.kind == "sampling":
            return f"sampling:{self.arg[0]}@{self.arg[1]}"  # type: ignore[index]
        return self.kind if self.arg is None else f"{self.kind}:{self.arg}"

    def __str__(self) -> str:
        return self.name


def probe_sizes(profile: str) -> dict[str, int]:
    """Sizes of the per-epoch probes: minimum eps (DS Fig. 8) and prediction similarity (CAT Fig. 1).

    Each probe is switched on only in the families whose page reads it (``ds`` and the
    MNIST ``timed``/``sampling`` CAT families).
    """
    return {"min_eps_probe": 8, "similarity_probe": 20} if profile == "smoke" else \
        {"min_eps_probe": 32, "similarity_probe": 200}


def _eval_every(c: Config, per_epoch: int = 2) -> int:
    n = c.train_size or (50_000 if c.dataset == "cifar10" else 60_000)
    return max(1, n // c.batch_size // per_epoch)


def final_spec(profile: str, dataset: str, family: Family, seed: int) -> FinalEval:
    """The final evaluation of a book run: PGD-20 x 2 on 2,000 test samples (smoke: PGD-2 on 100), plus
    AutoAttack's APGD-CE + APGD-T (:data:`AUTOATTACK_VERSION`) on :data:`AUTOATTACK_N` of them for every seed of the
    families of :data:`AUTOATTACK` (those a robust-accuracy verdict reads)."""
    if profile == "smoke":
        return FinalEval(n=100, steps=2, restarts=1)
    aa = AUTOATTACK_N if family.name in AUTOATTACK else 0
    return FinalEval(n=2000, steps=20, restarts=2, autoattack_n=aa, autoattack_version=AUTOATTACK_VERSION)


# the book's committed results: results/runs of the repository this package sits in
REPOSITORY_RUNS = Path(__file__).resolve().parents[2] / "results" / "runs"


def book_runs() -> Path:
    """The run cache the book reads (and ``make book RERUN=1`` fills): ``$ADVSEL_RUNS`` when set (the
    tests, the smoke build), else the repository's ``results/runs`` whatever the working folder,
    else -- advsel installed without its repository -- the user's run cache
    (:func:`advsel.runs.default_cache_dir`, where ad-hoc runs go)."""
    if os.environ.get("ADVSEL_RUNS") or not REPOSITORY_RUNS.parent.is_dir():
        return default_cache_dir()
    return REPOSITORY_RUNS


def load(config: Config, final: FinalEval | None = None, progress: bool = False) -> Result:
    """The result of ``config`` with the ``final`` evaluation, from the book's run cache (:func:`book_runs`;
    trained when missing, unless ADVSEL_CACHED_ONLY=1); ``progress``: show the training and evaluation."""
    from ..experiments import run

    return run(config, book_runs(), progress=progress, final=final)


@dataclass(frozen=True)
class Scope:
    """The settings a page's runs share: profile, dataset, device and seeds.

    ``loader`` turns a config into its result (default :func:`load`, the run cache, with
    the :func:`final_spec` evaluation); tests pass one that builds results by hand, so
    nothing is trained.
    """

    profile: str = "cpu"
    dataset: str = "mnist"
    device: str = "auto"
    seeds: tuple[int, ...] = SEEDS
    loader: Callable[[Config], Result] | None = field(default=None, compare=False, repr=False)
    progress: bool = field(default=False, compare=False, repr=False)  # shown while a missing run is computed

    def __post_init__(self) -> None:
        object.__setattr__(self, "seeds", tuple(self.seeds))  # papermill passes a list

    def replace(self, **changes: Any) -> Scope:
        """A copy with ``changes`` (e.g. another dataset or fewer seeds), keeping the loader."""
        return dataclasses.replace(self, **changes)

    def base(self, **overrides: Any) -> Config:
        """The book's shared settings: the profile's, with the device and ``overrides``."""
        return make_config(self.profile, self.dataset, device=self.device, **overrides)

    def seeds_of(self, family: Family) -> tuple[int, ...]:
        """The seeds ``family`` runs with: all of the scope's, or the first only for the extra points
        (DS P_up outside :data:`P_UP_CORE`, the clean/robust drivers, sampling numbers other than the
        profile's b').  The warm-up variant runs with every seed: it is compared with PGD-AT."""
        first = self.seeds[:1]
        if family.kind == "ds" and family.arg not in P_UP_CORE:
            return first
        if family.kind == "driver" and family.arg != "train":
            return first
        if family.kind == "ablation":
            return self.seeds[:ABLATION_SEEDS]
        if family.kind == "sampling" and family.arg[1] != self.base().batch_size:  # type: ignore[index]
            return first
        return self.seeds

    def configs(self, family: Family) -> list[Config]:
        """The configs (one per seed of :meth:`seeds_of`) of ``family``."""
        return [c.replace(seed=s) for c in [self._config(family)] for s in self.seeds_of(family)]

    def _config(self, family: Family) -> Config:
        probes = probe_sizes(self.profile)
        k, a = family.kind, family.arg
        if k in ("ds", "warmup"):
            # a one-epoch (smoke) run has no room for a warm-up: its warm-up family is the plain one
            warm = min(WARMUP_EPOCHS, self.base().epochs - 1) if k == "warmup" else 0
            return self.base(method="ds", p_up=a, min_eps_probe=probes["min_eps_probe"], p_up_warmup_epochs=warm)
        if k == "ablation":
            change = dict(ABLATIONS[str(a)])
            if "p_up_warmup_epochs" in change:  # a one-epoch (smoke) run has no room for it
                change["p_up_warmup_epochs"] = min(change["p_up_warmup_epochs"], self.base().epochs - 1)
            return self.base(method="ds", p_up=0.5, **change)
        if k == "driver":
            return self.base(method="ds-adaptive") if a == "train" else \
                self.base(method="ds-adaptive", adaptive_accuracy=a, validation_size=self._validation_size())
        if k in PLAIN:
            return self.base(method=k, **({"dong_steps": "pgd-at"} if k == "dong" else {}))
        if k == "timed" and self.dataset == "cifar10":  # every CIFAR-10 run is evaluated once per epoch
            return self._config(Family.ds(0.5) if a == "ds" else Family.method(str(a)))
        if k == "sampling" and a[1] == self.base().batch_size:  # type: ignore[index]
            return self._config(Family.timed(a[0]))  # type: ignore[index]
        method, b = (a, None) if k == "timed" else a  # type: ignore[misc]
        over: dict[str, Any] = {"method": method}
        if method == "ds":
            over["p_up"] = 0.5
        if method == "cat":
            over["similarity_probe"] = probes["similarity_probe"]
        if b is not None:  # one learning-rate rule for every sampling number: linear in b'
            base = self.base()
            over.update(batch_size=b, lr=base.lr * b / base.batch_size)
        c0 = self.base(**over)
        return c0.replace(eval_every=_eval_every(c0))

    def _validation_size(self) -> int:
        return min(VALIDATION_SIZE, max(10, (self.base().train_size or 50_000) // 4))

    def canonical(self, family: Family) -> Family:
        """The family whose runs ``family`` reads: a CIFAR-10 ``timed`` family is the method's own family
        (``timed:ds`` is ``ds:0.5``); a ``sampling`` family at the profile's b' is ``timed``; the ``train``
        driver is ``ds-adaptive``; else itself."""
        if family.kind == "driver" and family.arg == "train":
            return Family.method("ds-adaptive")
        if family.kind == "timed" and self.dataset == "cifar10":
            return Family.ds(0.5) if family.arg == "ds" else Family.method(str(family.arg))
        if family.kind == "sampling" and family.arg[1] == self.base().batch_size:  # type: ignore[index]
            return self.canonical(Family.timed(family.arg[0]))  # type: ignore[index]
        return family

    def timed_results(self, methods: Sequence[str]) -> dict[str, list[Result]]:
        """{label: results} of the time-to-accuracy families of ``methods`` (:data:`TIMED`), labelled by
        :data:`TIMED_LABELS`: the runs the pages comparing cost against accuracy read."""
        return {TIMED_LABELS[m]: self.results(Family.timed(m)) for m in methods}

    def results(self, family: Family) -> list[Result]:
        """The results of ``family`` (cached; trained only when missing), each with its ``final_eval``."""
        if self.loader is not None:
            return [self.loader(c) for c in self.configs(family)]
        canonical = self.canonical(family)
        return [load(c, final_spec(self.profile, self.dataset, canonical, c.seed), progress=self.progress)
                for c in self.configs(family)]

    def p_up_sweep(self) -> tuple[float, ...]:
        """The P_up values of :data:`P_UP_SWEEP` run at this profile (:data:`P_UP_NOT_RUN`)."""
        return tuple(p for p in P_UP_SWEEP if p not in P_UP_NOT_RUN.get(self.profile, ()))

    def sampling_numbers(self) -> list[int]:
        """The sampling numbers of :data:`SAMPLING_NUMBERS` that give at least two iterations per epoch; at a
        profile outside :data:`SAMPLING_PROFILES` (Figs. 2-3 not run) the profile's b' only.

        CAT draws a class-balanced batch without replacement, so a sampling number cannot
        exceed the training set; the smoke profile (200 samples) keeps 100.
        """
        c = make_config(self.profile, self.dataset, device="auto")
        if self.profile not in SAMPLING_PROFILES:
            return [c.batch_size]
        n = c.train_size or (50_000 if self.dataset == "cifar10" else 60_000)
        return [s for s in SAMPLING_NUMBERS if 2 * s <= n]


def book_families(profile: str = "cpu", seeds: Sequence[int] = SEEDS,
                  mnist_seeds: Sequence[int] = MNIST_SEEDS) -> list[tuple[Scope, Family]]:
    """Every (scope, family) the book's pages use at ``profile``.

    CIFAR-10: DS's track (standard, PGD-AT, DS P_up 0.5, 0.75 and 1, eq. (9) with its three
    drivers, random, Dong et al., the rest of the P_up sweep run at this profile, a warm-up
    variant and the stall ablation), CAT Table 2, DS-CAT and prescreen.  MNIST: CAT Table 1
    with its class-balanced uniform control, and CAT Fig. 2 (CAT and PGD-AT at each sampling
    number) at the profiles that run it.  ``seeds``: CIFAR-10's; ``mnist_seeds``: MNIST's.
    """
    mnist, cifar = Scope(profile, "mnist", seeds=mnist_seeds), Scope(profile, "cifar10", seeds=seeds)
    fam = [(cifar, Family.method(m)) for m in CIFAR_METHODS]
    fam += [(cifar, Family.ds(p)) for p in cifar.p_up_sweep()]
    fam += [(cifar, Family.warmup(p)) for p in WARMUP_P_UP]
    fam += [(cifar, Family.driver(d)) for d in DRIVERS if d != "train"]
    fam += [(cifar, Family.ablation(a)) for a in ABLATIONS]
    fam += [(mnist, Family.timed(m)) for m in MNIST_TIMED]
    fam += [(mnist, Family.sampling(n, m)) for n in mnist.sampling_numbers() for m in ("cat", "robust")
            if n != mnist.base().batch_size]
    return fam


# ---------------------------------------------------------------------------- the GPU track
GPU_PROFILE = "gpu"  # the papers' model and data on a lent GPU's budget (advsel.config, profile gpu)
# the families of the GPU track in the order its queue trains them: each seed of GPU_CORE (seed 0 of every family
# first, then seed 1, then seed 2), then every run of GPU_LATER, then the AutoAttack evaluations (GPU_AUTOATTACK_N
# samples) of seed 0 of GPU_CORE
GPU_CORE = (Family.method("standard"), Family.method("robust"), Family.ds(0.5), Family.warmup(0.5), Family.ds(1.0),
            Family.method("cat"), Family.method("random"))
GPU_LATER = (Family.method("ds-adaptive"), Family.method("dong"), Family.method("cat-uniform"),
             Family.method("prescreen"), Family.ds(0.25), Family.ds(0.75))
GPU_FINAL = FinalEval(n=10_000, steps=20, restarts=2)  # every GPU-track run: PGD-20 x 2 on all 10,000 test images
GPU_AUTOATTACK_N = 1_000  # AutoAttack (standard) on this many of them, seed 0 of GPU_CORE


@dataclass(frozen=True)
class TrackRun:
    """One item of a track's queue: the run of ``family`` with ``seed``, or (``autoattack``) its evaluation with
    AutoAttack added, computed from the run's weights while they exist, else by training the run again."""

    family: Family
    seed: int
    autoattack: bool = False

    @property
    def name(self) -> str:
        """``ds:0.5 seed 1``, ``AutoAttack of robust seed 0``."""
        return f"{'AutoAttack of ' if self.autoattack else ''}{self.family} seed {self.seed}"


@dataclass(frozen=True)
class Track:
    """A queue of runs banked a session at a time: the ``scope`` they share, the ``core`` families (every seed,
    seed-major), the ``later`` ones (each with the seeds of :meth:`Scope.seeds_of`), the ``final`` evaluation of
    every run and the AutoAttack samples (``autoattack_n``) added for seed 0 of the core families."""

    scope: Scope
    core: tuple[Family, ...]
    later: tuple[Family, ...]
    final: FinalEval
    autoattack_n: int

    def runs(self) -> list[TrackRun]:
        """Every item in the queue's fixed order; a family whose config equals an earlier one's (a warm-up
        that a one-epoch profile cannot have) is listed once."""
        order = [TrackRun(f, s) for s in self.scope.seeds for f in self.core]
        order += [TrackRun(f, s) for f in self.later for s in self.scope.seeds_of(f)]
        if self.autoattack_n:
            order += [TrackRun(f, self.scope.seeds[0], autoattack=True) for f in self.core]
        seen: set[tuple[str, bool]] = set()
        unique = []
        for r in order:
            if (key := (self.config(r).key(), r.autoattack)) not in seen:
                seen.add(key)
                unique.append(r)
        return unique

    def config(self, run: TrackRun) -> Config:
        """The config of ``run``."""
        return self.scope.replace(seeds=(run.seed,)).configs(run.family)[0]

    def final_of(self, run: TrackRun) -> FinalEval:
        """The final evaluation ``run`` computes: :attr:`final`, with AutoAttack for an ``autoattack`` item."""
        return dataclasses.replace(self.final, autoattack_n=self.autoattack_n if run.autoattack else 0)


def gpu_track(seeds: Sequence[int] = SEEDS) -> Track:
    """The GPU track: :data:`GPU_CORE` and :data:`GPU_LATER` on CIFAR-10 at the ``gpu`` profile."""
    return Track(Scope(GPU_PROFILE, "cifar10", seeds=tuple(seeds)), GPU_CORE, GPU_LATER, GPU_FINAL, GPU_AUTOATTACK_N)


def stand_in_track() -> Track:
    """A smoke-sized stand-in for :func:`gpu_track` that runs on a CPU in seconds (tests of the queue): three core
    families and Dong et al. on 200 CIFAR-10 images, two seeds, AutoAttack on 10 test samples."""
    core = (Family.method("standard"), Family.method("robust"), Family.ds(0.5))
    return Track(Scope("smoke", "cifar10", device="cpu", seeds=(0, 1)), core, (Family.method("dong"),),
                 FinalEval(n=100, steps=2, restarts=1), 10)
