"""Where a page's runs come from: a :class:`Scope` (profile, dataset, device, seeds) and run families.

A page creates one ``Scope`` from its papermill parameters and asks it for the results of
run :class:`Family` values (``scope.results(Family.ds(0.5))``); nothing is passed by
hand or parsed from strings.  Every page derives its configs from :meth:`Scope.configs`,
so pages share cached runs: the ``robust`` run of DS Figs. 4-5 is also Dong et al.'s
pre-training, the DS P_up = 0.5 run serves Figs. 3, 4, 7, 8, 9 and Table I.

The configs built here decide the run cache's keys, so they must not change.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from ..config import Config, make_config

Result = dict[str, Any]
SEEDS = (0, 1, 2)
P_UP_SWEEP = (0.1, 0.25, 0.5, 0.75, 1.0)
SAMPLING_NUMBERS = (25, 50, 100, 200, 400)
PLAIN = ("standard", "robust", "ds-adaptive", "random", "dong")  # methods run at the base settings
TIMED = ("robust", "ds", "cat", "ds-cat")  # methods of the time-to-accuracy families


@dataclass(frozen=True)
class Family:
    """A run family: one config per seed of the same settings.

    ``kind`` is a method of :data:`PLAIN` (at the base settings, ``random`` with
    P_up = 0.5; ``arg`` None), ``ds`` (DS with P_up = ``arg``), ``timed`` (method ``arg``
    evaluated 4 times per epoch, for time to accuracy) or ``sampling`` (CAT with sampling
    number ``arg``, evaluated 4 times per epoch).  Build them with the class methods.
    """

    kind: str
    arg: float | int | str | None = None

    def __post_init__(self) -> None:
        ok = (self.kind in PLAIN and self.arg is None) or (self.kind == "ds" and isinstance(self.arg, float)) \
            or (self.kind == "timed" and isinstance(self.arg, str)) \
            or (self.kind == "sampling" and isinstance(self.arg, int))
        if not ok:
            raise ValueError(f"run family {self.kind!r} with argument {self.arg!r} is unknown; use Family.method("
                             f"one of {', '.join(PLAIN)}), Family.ds(P_up), Family.timed(method) or "
                             "Family.sampling(sampling number)")

    @classmethod
    def method(cls, name: str) -> Family:
        """``name`` (one of :data:`PLAIN`) at the base settings."""
        return cls(name)

    @classmethod
    def ds(cls, p_up: float) -> Family:
        """DS with P_up = ``p_up`` (with the minimum-eps probe of DS Fig. 8)."""
        return cls("ds", float(p_up))

    @classmethod
    def timed(cls, method: str) -> Family:
        """``method`` evaluated 4 times per epoch (with the similarity probe of CAT Fig. 1)."""
        return cls("timed", method)

    @classmethod
    def sampling(cls, n: int) -> Family:
        """CAT with sampling number (b') ``n``, evaluated 4 times per epoch."""
        return cls("sampling", int(n))

    @property
    def name(self) -> str:
        """A short name for logs: ``robust``, ``ds:0.5``, ``timed:cat``, ``sampling:50``."""
        return self.kind if self.arg is None else f"{self.kind}:{self.arg}"

    def __str__(self) -> str:
        return self.name


def probe_sizes(profile: str) -> dict[str, int]:
    """Sizes of the per-epoch probes: minimum eps (DS Fig. 8) and prediction similarity (CAT Fig. 1).

    Each probe is switched on only in the families whose page reads it (``ds`` and the
    ``timed``/``sampling`` families): together they cost some 15% of a run's compute.
    """
    return {"min_eps_probe": 8, "similarity_probe": 20} if profile == "smoke" else \
        {"min_eps_probe": 32, "similarity_probe": 200}


def _eval_every(c: Config, per_epoch: int = 4) -> int:
    n = c.train_size or (50_000 if c.dataset == "cifar10" else 60_000)
    return max(1, n // c.batch_size // per_epoch)


def load(config: Config) -> Result:
    """The result of ``config`` from the run cache (trained when missing, unless ADVSEL_CACHED_ONLY=1)."""
    from ..experiments import run

    return run(config, progress=False)


@dataclass(frozen=True)
class Scope:
    """The settings a page's runs share: profile, dataset, device and seeds.

    ``loader`` turns a config into its result (default :func:`load`, the run cache);
    tests pass one that builds results by hand, so nothing is trained.
    """

    profile: str = "cpu"
    dataset: str = "mnist"
    device: str = "auto"
    seeds: tuple[int, ...] = SEEDS
    loader: Callable[[Config], Result] | None = field(default=None, compare=False, repr=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "seeds", tuple(self.seeds))  # papermill passes a list

    def replace(self, **changes: Any) -> Scope:
        """A copy with ``changes`` (e.g. another dataset or fewer seeds), keeping the loader."""
        return dataclasses.replace(self, **changes)

    def base(self, **overrides: Any) -> Config:
        """The book's shared settings: the profile's, with the device and ``overrides``."""
        return make_config(self.profile, self.dataset, device=self.device, **overrides)

    def configs(self, family: Family) -> list[Config]:
        """The configs (one per seed) of ``family``."""
        probes = probe_sizes(self.profile)
        if family.kind == "ds":
            return [self.base(method="ds", p_up=family.arg, seed=s, min_eps_probe=probes["min_eps_probe"])
                    for s in self.seeds]
        if family.kind in PLAIN:
            return [self.base(method=family.kind, seed=s) for s in self.seeds]
        # sampling:b' with the profile's b' is timed:cat
        c0 = self.base(method=family.arg, similarity_probe=probes["similarity_probe"]) if family.kind == "timed" \
            else self.base(method="cat", batch_size=family.arg, similarity_probe=probes["similarity_probe"])
        return [c0.replace(seed=s, eval_every=_eval_every(c0)) for s in self.seeds]

    def results(self, family: Family) -> list[Result]:
        """The results of ``family`` (cached; trained only when missing)."""
        get = self.loader or load
        return [get(c) for c in self.configs(family)]

    def sampling_numbers(self) -> list[int]:
        """The sampling numbers of :data:`SAMPLING_NUMBERS` that give at least two iterations per epoch.

        CAT draws a class-balanced batch without replacement, so a sampling number cannot
        exceed the training set; the smoke profile (200 samples) keeps 25, 50 and 100.
        """
        c = make_config(self.profile, self.dataset, device="auto")
        n = c.train_size or (50_000 if self.dataset == "cifar10" else 60_000)
        return [s for s in SAMPLING_NUMBERS if 2 * s <= n]


def book_families(profile: str = "cpu", seeds: Sequence[int] = SEEDS) -> list[tuple[Scope, Family]]:
    """Every (scope, family) the book's pages use at ``profile``."""
    mnist, cifar = Scope(profile, "mnist", seeds=seeds), Scope(profile, "cifar10", seeds=seeds[:1])
    fam = [(mnist, Family.ds(p)) for p in P_UP_SWEEP]
    fam += [(mnist, Family.method(m)) for m in PLAIN]
    fam += [(mnist, Family.timed(m)) for m in TIMED]
    fam += [(mnist, Family.sampling(n)) for n in mnist.sampling_numbers()]
    fam += [(cifar, Family.timed(m)) for m in ("robust", "cat")]
    return fam
