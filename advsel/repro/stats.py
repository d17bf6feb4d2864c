"""Every number the book's verdicts and tables use, computed in one place.

A verdict and the table printed above it call the same function here, so they cannot
disagree.  Inputs are result dictionaries (``epochs``, ``evals``, ``config`` ...) as the
run cache holds them; accuracies stay fractions (tables turn them into percent).
Nothing here imports pandas or plots (numpy only), nor scipy: the Student t distribution
is computed here (:func:`t_cdf`, :func:`t_quantile`).

The test behind every verdict (:mod:`advsel.repro.claims` turns its outcome into words):

- two run families: Welch's t interval (:data:`LEVEL` = 95 %) for the difference of their
  means, Welch-Satterthwaite degrees of freedom (:func:`welch_interval`);
- one run family measured twice (within each run, e.g. first against last epoch) or
  against a threshold: the one-sample t interval of the per-run values
  (:func:`one_sample_interval`; :func:`paired_interval` pairs two lists by position);
- :func:`classify`: the claimed side excludes zero (or the interval lies inside the
  claim's band) -> ``claimed``; the other side excludes it (or the interval lies wholly
  outside the band) -> ``opposite``; else ``undecided``, with :func:`seeds_needed`;
- bands: :data:`CLOSE_BAND` accuracy points for "close" / "does not hurt" / "no gain",
  :data:`COST_BAND` (relative) for "about as much" cost ratios;
- runs that collapsed (:func:`collapsed`: accuracy at chance with a training loss of
  about ln C over the last :data:`COLLAPSE_LAST` epochs) are left out of comparisons.
"""

from __future__ import annotations

import dataclasses
import math
import statistics
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..analysis import time_to_accuracy

Result = dict[str, Any]
Runs = Mapping[Any, Sequence[Result]]

# the epoch-record key eq. (9) reads, per ``adaptive_accuracy`` (clean/robust: the validation split's)
ADAPTIVE_DRIVER = {"train": "train_acc", "clean": "val_clean_acc", "robust": "val_robust_acc"}
PASS_KINDS = ("attack_forward", "attack_backward", "train_forward", "train_backward")
COSTS = {"train_time_s": "training time (s)", "f2b": "sample passes, forward + 2 x backward", "step": "iteration"}


# ---------------------------------------------------------------------------- the test's constants
LEVEL = 0.95  # confidence level of every interval
CLOSE_BAND = 0.02  # accuracy: "close", "does not hurt", "no gain" = within 2 points (fractions)
COST_BAND = 0.05  # cost ratios: "about as much" / "about twice" = within 5 % of the claimed ratio
SIMILAR_COSINE = 0.9  # CAT Fig. 1: "highly similar" predictions = mean cosine similarity above 0.9
SAMPLING_FRACTION = 0.8  # CAT Figs. 2-3: the level is this share of the lowest best robust accuracy
SPEEDUP_FRACTIONS = (0.5, 0.7, 0.9)  # CAT Tables 1-2: levels as shares of the lower best accuracy
MAX_SEEDS = 200  # seeds_needed looks no further
COLLAPSE_MARGIN = 0.02  # at chance: clean accuracy at most 1/C + this
COLLAPSE_LOSS_TOL = 0.05  # ... with a training loss within this of ln C
COLLAPSE_LAST = 2  # collapsed: the last this many epochs at chance
PLATEAU_EPOCHS = 3  # on a plateau at chance (reported, not left out): at least this many epochs at chance
NUM_CLASSES = {"mnist": 10, "cifar10": 10}
OUTCOMES = ("claimed", "opposite", "undecided")
KINDS = ("higher", "lower", "within", "at_least", "at_most")


# ---------------------------------------------------------------------------- Student t
def _betacf(a: float, b: float, x: float) -> float:
    """Continued fraction of the regularized incomplete beta function (modified Lentz)."""
    tiny, eps = 1e-300, 1e-16
    qab, qap, qam = a + b, a + 1.0, a - 1.0
    c, d = 1.0, 1.0 - qab * x / qap
    d = 1.0 / (d if abs(d) > tiny else tiny)
    h = d
    for m in range(1, 500):
        m2 = 2 * m
        for aa in (m * (b - m) * x / ((qam + m2) * (a + m2)), -(a + m) * (qab + m) * x / ((a + m2) * (qap + m2))):
            d = 1.0 + aa * d
            d = 1.0 / (d if abs(d) > tiny else tiny)
            c = 1.0 + aa / c
            c = c if abs(c) > tiny else tiny
            h *= d * c
        if abs(d * c - 1.0) < eps:
            break
    return h


def _betainc(a: float, b: float, x: float) -> float:
    """The regularized incomplete beta function I_x(a, b)."""
    if x <= 0.0:
        return 0.0
    if x >= 1.0:
        return 1.0
    front = math.exp(math.lgamma(a + b) - math.lgamma(a) - math.lgamma(b) + a * math.log(x) + b * math.log1p(-x))
    if x < (a + 1.0) / (a + b + 2.0):
        return front * _betacf(a, b, x) / a
    return 1.0 - front * _betacf(b, a, 1.0 - x) / b


def t_cdf(t: float, df: float) -> float:
    """P(T <= t) for Student's t with ``df`` (> 0, real; ``math.inf``: the normal) degrees of freedom."""
    if not df > 0:
        raise ValueError(f"df={df!r} must be positive")
    if math.isinf(df):
        return 0.5 * math.erfc(-t / math.sqrt(2.0))
    tail = 0.5 * _betainc(df / 2.0, 0.5, df / (df + t * t))
    return 1.0 - tail if t >= 0 else tail


def t_quantile(p: float, df: float) -> float:
    """The ``p`` quantile of Student's t with ``df`` degrees of freedom (bisection on :func:`t_cdf`)."""
    if not 0.0 < p < 1.0:
        raise ValueError(f"p={p!r} must lie in (0, 1)")
    if p < 0.5:
        return -t_quantile(1.0 - p, df)
    if p == 0.5:
        return 0.0
    lo, hi = 0.0, 1.0
    while t_cdf(hi, df) < p:
        lo, hi = hi, 2.0 * hi
    for _ in range(200):
        mid = 0.5 * (lo + hi)
        if t_cdf(mid, df) < p:
            lo = mid
        else:
            hi = mid
        if hi - lo <= 1e-12 * max(1.0, hi):
            break
    return 0.5 * (lo + hi)


# ---------------------------------------------------------------------------- intervals
@dataclass(frozen=True)
class Interval:
    """A t interval (:data:`LEVEL`) for a difference of means (or one mean), on the values' own scale.

    ``method``: ``Welch`` (two families), ``paired`` (two lists paired by position) or
    ``one-sample``; ``n``: the number of values on each side.
    """

    estimate: float
    lo: float
    hi: float
    se: float
    df: float
    n: tuple[int, ...]
    method: str
    level: float = LEVEL


def _from_moments(d: float, se: float, df: float, n: tuple[int, ...], method: str, level: float) -> Interval:
    half = t_quantile(0.5 + level / 2.0, df) * se
    return Interval(d, d - half, d + half, se, df, n, method, level)


def _welch(ma: float, sa: float, na: int, mb: float, sb: float, nb: int, level: float = LEVEL) -> Interval:
    qa, qb = sa**2 / na, sb**2 / nb
    se = math.sqrt(qa + qb)
    den = qa**2 / (na - 1) + qb**2 / (nb - 1)
    df = (qa + qb) ** 2 / den if den > 0 else float(na + nb - 2)  # no spread at all: the pooled df
    return _from_moments(ma - mb, se, df, (na, nb), "Welch", level)


def welch_interval(a: Sequence[float], b: Sequence[float], level: float = LEVEL) -> Interval:
    """Welch's t interval for mean(a) - mean(b) (Welch-Satterthwaite df); needs two values per side."""
    if len(a) < 2 or len(b) < 2:
        raise ValueError(f"a Welch interval needs at least two values per side (got {len(a)} and {len(b)})")
    (ma, sa), (mb, sb) = mean_sd(a), mean_sd(b)
    return _welch(ma, sa, len(a), mb, sb, len(b), level)


def one_sample_interval(xs: Sequence[float], level: float = LEVEL) -> Interval:
    """The t interval for the mean of ``xs`` (n - 1 df); needs two values."""
    if len(xs) < 2:
        raise ValueError(f"a t interval needs at least two values (got {len(xs)})")
    m, s = mean_sd(xs)
    return _from_moments(m, s / math.sqrt(len(xs)), float(len(xs) - 1), (len(xs),), "one-sample", level)


def paired_interval(a: Sequence[float], b: Sequence[float], level: float = LEVEL) -> Interval:
    """The t interval for the mean of a[i] - b[i] (pairs by position, e.g. by seed); n - 1 df."""
    if len(a) != len(b):
        raise ValueError(f"paired values need equal lengths (got {len(a)} and {len(b)})")
    iv = one_sample_interval([x - y for x, y in zip(a, b, strict=True)], level)
    return dataclasses.replace(iv, method="paired")


def classify(iv: Interval, kind: str, low: float | None = None, high: float | None = None) -> str:
    """Where the interval lies for a claim of ``kind`` (one of :data:`KINDS`): one of :data:`OUTCOMES`.

    ``higher`` / ``lower``: the estimate (a - b) is claimed above / below zero.
    ``within``: claimed inside [low, high] ("close", "about as much").  ``at_least``:
    claimed at or above ``low`` ("does not hurt": low = -band).  ``at_most``: claimed at or
    below ``high`` ("no gain": high = +band).  ``claimed``: the interval lies on the
    claimed side (or inside the band); ``opposite``: it lies wholly on the other side (or
    wholly outside the band); ``undecided``: neither.
    """
    lo, hi = iv.lo, iv.hi
    if kind == "higher":
        return "claimed" if lo > 0 else "opposite" if hi < 0 else "undecided"
    if kind == "lower":
        return "claimed" if hi < 0 else "opposite" if lo > 0 else "undecided"
    if kind == "within":
        assert low is not None and high is not None
        return "claimed" if low <= lo and hi <= high else "opposite" if hi < low or lo > high else "undecided"
    if kind == "at_least":
        assert low is not None
        return "claimed" if lo >= low else "opposite" if hi < low else "undecided"
    if kind == "at_most":
        assert high is not None
        return "claimed" if hi <= high else "opposite" if lo > high else "undecided"
    raise ValueError(f"kind={kind!r} is not allowed; choose one of: {', '.join(KINDS)}")


def seeds_needed(iv: Interval, sds: Sequence[float], kind: str, low: float | None = None,
                 high: float | None = None) -> int | None:
    """Seeds (per side) that would decide an ``undecided`` claim if the means and standard deviations
    stayed as observed (``sds``: one per side of ``iv``); None if no number up to :data:`MAX_SEEDS` would."""
    start = max(iv.n) + 1
    for n in range(start, MAX_SEEDS + 1):
        if len(sds) == 2:
            trial = _welch(iv.estimate, sds[0], n, 0.0, sds[1], n, iv.level)
        else:
            trial = _from_moments(iv.estimate, sds[0] / math.sqrt(n), float(n - 1), (n,), iv.method, iv.level)
        if classify(trial, kind, low, high) != "undecided":
            return n
    return None


# ---------------------------------------------------------------------------- collapse
def num_classes(r: Result) -> int:
    """The number of classes C of a run's dataset."""
    return int(r.get("num_classes") or NUM_CLASSES.get(r.get("config", {}).get("dataset"), 10))


def at_chance(e: Mapping[str, Any], classes: int = 10, n: int | None = None) -> bool:
    """An epoch record at chance: training loss within :data:`COLLAPSE_LOSS_TOL` of ln C (the loss of a
    uniform prediction) and clean accuracy indistinguishable from 1/C: at most 1/C plus the larger of
    :data:`COLLAPSE_MARGIN` and two standard errors of a chance-level accuracy on ``n`` test samples
    (a constant predictor on a class-balanced subset scores 1/C, a near-constant one a little above)."""
    acc, loss = e.get("clean_acc"), e.get("train_loss")
    if acc is None or loss is None or _nan(acc) or _nan(loss):
        return False
    p = 1.0 / classes
    margin = COLLAPSE_MARGIN if not n else max(COLLAPSE_MARGIN, 2 * math.sqrt(p * (1 - p) / n))
    return acc <= p + margin and abs(loss - math.log(classes)) <= COLLAPSE_LOSS_TOL


def chance_epochs(r: Result) -> list[int]:
    """The epochs at which a run sat at chance (:func:`at_chance`)."""
    c, n = num_classes(r), _test_size(r)
    return [e["epoch"] for e in r["epochs"] if at_chance(e, c, n)]


def collapsed(r: Result) -> bool:
    """A run collapsed: its last :data:`COLLAPSE_LAST` epochs are all at chance (a shorter run never is)."""
    eps, c, n = r["epochs"], num_classes(r), _test_size(r)
    return len(eps) >= COLLAPSE_LAST and all(at_chance(e, c, n) for e in eps[-COLLAPSE_LAST:])


def _test_size(r: Result) -> int | None:
    """The size of the test subset a run's per-epoch accuracies were measured on (None: unknown)."""
    return r.get("test_size") or (r.get("config") or {}).get("test_size")


@dataclass(frozen=True)
class Collapse:
    """A run at chance: collapsed (its last epochs) or on a plateau (:data:`PLATEAU_EPOCHS` epochs anywhere)."""

    label: str
    seed: int
    collapsed: bool
    epochs: tuple[int, ...]
    clean_acc: float
    train_loss: float


def collapse_report(runs: Runs) -> list[Collapse]:
    """Every run of ``runs`` = {label: results} that collapsed or sat on a plateau at chance."""
    out = []
    for label, rs in runs.items():
        for r in rs:
            at = chance_epochs(r)
            if collapsed(r) or len(at) >= PLATEAU_EPOCHS:
                last = r["epochs"][-1]
                out.append(Collapse(str(label), r["config"]["seed"], collapsed(r), tuple(at), last.get("clean_acc"),
                                    last.get("train_loss", math.nan)))
    return out


def collapsed_seeds(rs: Sequence[Result]) -> list[int]:
    """The seeds of the collapsed runs among ``rs``."""
    return [r["config"]["seed"] for r in rs if collapsed(r)]


# ---------------------------------------------------------------------------- convergence
def convergence_gaps(r: Result) -> dict[str, float]:
    """The change of clean and robust accuracy between the last two epoch evaluations, in units of the
    test-set standard error sqrt(p (1 - p) / n) at the last value (``inf`` with fewer than two epochs)."""
    eps = r["epochs"]
    n = r.get("test_size") or r["config"]["test_size"]
    out = {}
    for metric in ("clean_acc", "robust_acc"):
        if eps and metric not in eps[-1]:  # a run that does not record it
            continue
        if len(eps) < 2:
            out[metric] = math.inf
            continue
        p, q = eps[-1][metric], eps[-2][metric]
        se = math.sqrt(max(p * (1 - p), 1e-12) / n)
        out[metric] = abs(p - q) / se
    return out


def converged(r: Result) -> bool:
    """The book's convergence criterion: the learning-rate schedule completed (every configured epoch
    ran) and the last two epoch evaluations differ by less than one test-set standard error, in clean
    and in robust accuracy."""
    done = len(r["epochs"]) == r["config"]["epochs"]
    return done and all(g < 1 for g in convergence_gaps(r).values())


def unconverged(runs: Runs) -> list[tuple[str, int]]:
    """(label, seed) of every run of ``runs`` = {label: results} that fails :func:`converged`."""
    return [(str(label), r["config"]["seed"]) for label, rs in runs.items() for r in rs if not converged(r)]


# ---------------------------------------------------------------------------- final accuracies
def final_value(r: Result, metric: str) -> float:
    """A run's final ``metric``: from ``final_eval`` when the result has one, else from the last epoch.

    ``autoattack_acc`` reads ``final_eval["autoattack"]["robust_acc"]`` (ValueError when absent).
    """
    fe = r.get("final_eval") or {}
    if metric == "autoattack_acc":
        if "autoattack" not in fe:
            raise ValueError("this result has no AutoAttack evaluation (final_eval['autoattack'])")
        return fe["autoattack"]["robust_acc"]
    if metric in fe:
        return fe[metric]
    return r["epochs"][-1][metric]


def final(rs: Sequence[Result], metric: str) -> list[float]:
    """Each run's final ``metric`` (:func:`final_value`: ``final_eval`` when present, else the last epoch)."""
    return [final_value(r, metric) for r in rs]


def has_autoattack(rs: Sequence[Result]) -> bool:
    """Whether every run has an AutoAttack final evaluation."""
    return bool(rs) and all("autoattack" in (r.get("final_eval") or {}) for r in rs)


def evaluation(r: Result, metric: str = "robust_acc") -> dict[str, Any]:
    """Which evaluation a run's final ``metric`` comes from: source (``final_eval`` or ``last epoch``),
    attack (name, eps, alpha, steps, restarts; None for clean accuracy) and n (test samples)."""
    fe, c = r.get("final_eval"), r.get("config", {})
    if metric == "autoattack_acc":
        aa = fe["autoattack"]
        return {"source": "final_eval", "attack": {"name": "autoattack", "version": aa.get("version", "standard"),
                                                   "eps": fe["attack"]["eps"]}, "n": aa["n"]}
    if fe and metric in fe:
        return {"source": "final_eval", "attack": dict(fe["attack"]) if metric == "robust_acc" else None,
                "n": fe["n"]}
    eps = c.get("eval_eps") if c.get("eval_eps") is not None else c.get("eps")
    attack = {"name": "pgd", "eps": eps, "alpha": c.get("eval_alpha"), "steps": c.get("eval_steps"),
              "restarts": c.get("eval_restarts", 1)}
    return {"source": "last epoch", "attack": attack if metric == "robust_acc" else None,
            "n": r.get("test_size") or c.get("test_size")}


def attack_label(attack: Mapping[str, Any] | None) -> str:
    """``PGD-10 (eps 0.3, alpha 0.075, 1 restart)``, ``AutoAttack standard (eps 0.0314)`` or ``clean``."""
    if attack is None:
        return "clean"
    if attack["name"] == "autoattack":
        return f"AutoAttack {attack.get('version', 'standard')} (eps {attack['eps']:.4g})"
    rs = attack.get("restarts") or 1
    num = (lambda x: "?" if x is None else f"{x:.4g}")  # noqa: E731
    return (f"{attack['name'].upper()}-{attack.get('steps') or '?'} (eps {num(attack.get('eps'))}, alpha "
            f"{num(attack.get('alpha'))}, {rs} restart{'s' if rs != 1 else ''})")


def _n(n: int | None) -> str:
    return f"n = {n:,}" if n else "n unknown"


def evaluation_short(rs: Sequence[Result], metric: str = "robust_acc") -> str:
    """The short form of :func:`evaluation_label` for a verdict: ``last epoch, PGD-10, n = 500``."""
    seen: list[str] = []
    for r in rs:
        ev = evaluation(r, metric)
        a = ev["attack"]
        att = "clean" if a is None else "AutoAttack" if a["name"] == "autoattack" else \
            f"{a['name'].upper()}-{a.get('steps') or '?'}" + (f" x{a['restarts']} restarts"
                                                             if (a.get("restarts") or 1) > 1 else "")
        label = f"{'final evaluation' if ev['source'] == 'final_eval' else 'last epoch'}, {att}, {_n(ev['n'])}"
        if label not in seen:
            seen.append(label)
    return "; ".join(seen)


def evaluation_label(rs: Sequence[Result], metric: str = "robust_acc") -> str:
    """Where ``rs``' final ``metric`` comes from, e.g. ``last epoch's evaluation, PGD-10 (eps 0.3, alpha
    0.075, 1 restart), n = 500 test samples`` (the distinct evaluations joined by "; ")."""
    seen: list[str] = []
    for r in rs:
        ev = evaluation(r, metric)
        where = "final evaluation" if ev["source"] == "final_eval" else "last epoch's evaluation"
        label = f"{where}, {attack_label(ev['attack'])}, {_n(ev['n'])} test samples"
        if label not in seen:
            seen.append(label)
    return "; ".join(seen)


def mean_sd(xs: Sequence[float]) -> tuple[float, float]:
    """Mean and sample standard deviation (0 for one value)."""
    return statistics.fmean(xs), (statistics.stdev(xs) if len(xs) > 1 else 0.0)


def difference(a: Sequence[float], b: Sequence[float]) -> tuple[float, float]:
    """Mean of a minus mean of b, and its standard error (Welch; 0 with one seed each)."""
    ma, sa = mean_sd(a)
    mb, sb = mean_sd(b)
    se = math.sqrt(sa**2 / len(a) + sb**2 / len(b))
    return ma - mb, se


def per_epoch(rs: Sequence[Result], key: str) -> list[list[Any]]:
    """Each run's per-epoch record ``key`` (e.g. ``p_up``), one list per run."""
    return [[e[key] for e in r["epochs"]] for r in rs]


def epoch_means(rs: Sequence[Result], metrics: Sequence[str]) -> dict[int, dict[str, float]]:
    """Per epoch, the mean over runs of each of ``metrics`` (accuracies as fractions).

    A record without a metric, or with NaN (e.g. an epoch without a probed sample), is
    left out of that metric's mean; a metric no epoch records is left out altogether.
    """
    present = [m for m in metrics if any(m in e for r in rs for e in r["epochs"])]
    out: dict[int, dict[str, float]] = {}
    for ep in sorted({e["epoch"] for r in rs for e in r["epochs"]}):
        recs = [e for r in rs for e in r["epochs"] if e["epoch"] == ep]
        out[ep] = {}
        for m in present:
            vals = [e[m] for e in recs if m in e and not _nan(e[m])]
            out[ep][m] = statistics.fmean(vals) if vals else math.nan
    return out


def _nan(x: Any) -> bool:
    return isinstance(x, float) and math.isnan(x)


def adaptive_driver(config: Mapping[str, Any]) -> str:
    """The per-epoch record key of the accuracy that drives DS eq. (9) in a run of ``config``."""
    return ADAPTIVE_DRIVER[config["adaptive_accuracy"]]


def selected_counts(rs: Sequence[Result], epoch_index: int) -> list[tuple[float, float]]:
    """(selected clean, selected adversarial) per batch of each run at one epoch (0 first, -1 last)."""
    return [(r["epochs"][epoch_index]["selected_clean"], r["epochs"][epoch_index]["selected_adv"]) for r in rs]


def first_last_thirds(rs: Sequence[Result], key: str) -> tuple[list[float], list[float]]:
    """Per run, the mean of per-epoch ``key`` over the first and over the last third of the epochs.

    NaN epochs (no probed sample) are skipped; a run without a value in either third is
    left out of both lists.
    """
    firsts, lasts = [], []
    for r in rs:
        v = [e.get(key, math.nan) for e in r["epochs"]]
        k = max(1, len(v) // 3)
        head, tail = [x for x in v[:k] if math.isfinite(x)], [x for x in v[-k:] if math.isfinite(x)]
        if head and tail:
            firsts.append(statistics.fmean(head))
            lasts.append(statistics.fmean(tail))
    return firsts, lasts


def selection_lead(rs: Sequence[Result], epoch_index: int) -> list[float]:
    """Per run, selected adversarial minus selected clean samples per batch at one epoch (DS Fig. 7)."""
    return [a - c for c, a in selected_counts(rs, epoch_index)]


def thirds_growth(rs: Sequence[Result], key: str) -> list[float]:
    """Per run, the last third's mean of ``key`` minus the first third's (:func:`first_last_thirds`)."""
    firsts, lasts = first_last_thirds(rs, key)
    return [b - a for a, b in zip(firsts, lasts, strict=True)]


def similarity_per_run(rs: Sequence[Result], gap: str = "step") -> list[float]:
    """Per run with a measurement, the mean over its epochs of the mean cosine similarity for ``gap``."""
    out = []
    for r in rs:
        vals = [m["mean"] for m in similarity_records({"": [r]}, gap)]
        if vals:
            out.append(statistics.fmean(vals))
    return out


def similarity_records(runs: Runs, gap: str = "step") -> list[dict[str, Any]]:
    """One record per (label, seed, epoch) of the similarity probe for ``gap`` (``step`` or ``epoch``).

    Fields: method (the label), seed, epoch, the cosine summary (``mean``, ``q10`` ...
    ``q90``) and the attack success rates ``asr_before`` / ``asr_after`` (fractions) at the
    earlier and the later iteration.  Epochs without a measurement have no record.
    """
    if gap not in ("step", "epoch"):
        raise ValueError(f"gap={gap!r} is not allowed; choose one of: step, epoch")
    return [{"method": label, "seed": r["config"]["seed"], "epoch": e["epoch"], **m["cosine"],
             "asr_before": m["asr_before"], "asr_after": m["asr_after"]}
            for label, rs in runs.items() for r in rs for e in r["epochs"]
            if (m := e.get(f"similarity_{gap}")) is not None]


# ---------------------------------------------------------------------------- cost
def cost(e: Mapping[str, Any], x: str = "train_time_s") -> float:
    """The cost of an evaluation record: ``train_time_s`` (seconds of attack + training, evaluation
    excluded), ``f2b`` (forward + 2 x backward sample passes, a backward pass costing about
    two forward passes; machine-independent and free of timing noise) or ``step`` (iterations)."""
    if x in ("train_time_s", "step"):
        return e[x]
    if x == "f2b":
        return e["forward_passes"] + 2 * e["backward_passes"]
    raise ValueError(f"x={x!r} is not allowed; choose one of: {', '.join(COSTS)}")


def total_cost(r: Result) -> dict[str, float]:
    """Training time (attack + training passes, evaluation excluded) and sample passes, pre-training included."""
    pre = r.get("pretrain") or {}
    return {"train_time_s": r["train_time_s"] + pre.get("train_time_s", 0.0),
            "forward_passes": sum(e["forward_passes"] for e in r["epochs"]) + pre.get("forward_passes", 0),
            "backward_passes": sum(e["backward_passes"] for e in r["epochs"]) + pre.get("backward_passes", 0),
            "train_backward": sum(e["train_backward"] for e in r["epochs"])}


def total_costs(rs: Sequence[Result], key: str = "train_time_s") -> list[float]:
    """:func:`total_cost`'s ``key`` of each run."""
    return [total_cost(r)[key] for r in rs]


def cost_split(r: Result) -> dict[str, float]:
    """Sample passes by kind (:data:`PASS_KINDS`) and training time by phase, pre-training included.

    ``time_attack_s`` + ``time_train_s`` is :func:`total_cost`'s ``train_time_s``.  A Dong
    et al. result records only its pre-training's totals, so the split of the pre-training
    is read from that run's own cached result (the PGD-AT run of the same settings).
    """
    from ..config import config_from_dict
    from ..experiments import pretrain_config
    from ..runs import load_result, result_path

    parts = [r]
    if r.get("pretrain"):
        cfg = pretrain_config(config_from_dict(r["config"]))
        pre = load_result(result_path(cfg), cfg)
        if pre is None or pre["key"] != r["pretrain"]["key"]:
            raise FileNotFoundError(f"the pre-training run {r['pretrain']['key']} of this Dong et al. result is not "
                                    f"in the run cache ({result_path(cfg)}); compute it with Scope.results")
        parts.append(pre)
    keys = (*PASS_KINDS, "time_attack_s", "time_train_s")
    return {k: sum(e[k] for p in parts for e in p["epochs"]) for k in keys}


def ds_step_units(steps: int, p_up: float, scoring_pass: bool = True) -> float:
    """Forward-pass equivalents F + 2B of one DS step per clean sample (b' = 1), by the pass model:
    the attack's ``steps`` forward and backward passes, a scoring forward pass over the 2b' samples
    (``scoring_pass``: ours, followed by a training forward and backward pass of the 2 P_up b'
    selected ones; without it, the paper's Algorithm 1: the one forward pass over the 2b' serves both,
    and only the selected are backpropagated)."""
    selected = 2 * p_up
    attack = 3 * steps
    return attack + 2 + (3 * selected if scoring_pass else 2 * selected)


def steps_of(r: Result) -> int:
    """Optimizer steps of a run (pre-training excluded)."""
    n = sum(e.get("steps", 0) for e in r["epochs"])
    return n or (r["evals"][-1]["step"] if r.get("evals") else 0)


def per_step(r: Result) -> dict[str, float]:
    """A run's own training time (s) and sample passes F + 2B per optimizer step (pre-training excluded)."""
    n = steps_of(r)
    f = sum(e["forward_passes"] for e in r["epochs"])
    b = sum(e["backward_passes"] for e in r["epochs"])
    return {"time_s": r["train_time_s"] / n, "f2b": (f + 2 * b) / n, "steps": n}


def log_per_step(rs: Sequence[Result], key: str = "time_s") -> list[float]:
    """The log of :func:`per_step`'s ``key`` of each run (so that a difference of means is a log ratio)."""
    return [math.log(per_step(r)[key]) for r in rs]


def log_total_costs(rs: Sequence[Result], key: str = "train_time_s") -> list[float]:
    """The log of :func:`total_cost`'s ``key`` of each run."""
    return [math.log(x) for x in total_costs(rs, key)]


def end_summary(rs: Sequence[Result]) -> dict[str, float]:
    """Means over runs at the last evaluation: clean / robust accuracy, training time, passes F + 2B."""
    last = [r["evals"][-1] for r in rs]
    return {"clean_acc": statistics.fmean(e["clean_acc"] for e in last),
            "robust_acc": statistics.fmean(e["robust_acc"] for e in last),
            "train_time_s": statistics.fmean(e["train_time_s"] for e in last),
            "f2b": statistics.fmean(cost(e, "f2b") for e in last)}


# ---------------------------------------------------------------------------- time to a level
@dataclass(frozen=True)
class LevelStats:
    """How the runs of one method reached an accuracy level: each hit (see ``time_to_accuracy``)."""

    level: float
    runs: int
    hits: tuple[dict[str, float], ...]

    @property
    def reached(self) -> int:
        """How many runs reached the level."""
        return len(self.hits)

    @property
    def all_reached(self) -> bool:
        return self.reached == self.runs

    def mean(self, key: str = "time_s") -> float | None:
        """Mean of ``key`` (``time_s``, ``step``, ``epoch``, ``forward_passes``, ``backward_passes`` or
        ``f2b``) over the runs that reached the level; None when none did."""
        vals = [cost(h, "f2b") if key == "f2b" else h[key] for h in self.hits]
        return statistics.fmean(vals) if vals else None


def level_stats(rs: Sequence[Result], level: float, metric: str = "robust_acc") -> LevelStats:
    """When each run first reached ``level`` of ``metric`` (training time, passes, step, epoch)."""
    hits = (time_to_accuracy(r, [level], metric)[level] for r in rs)
    return LevelStats(level, len(rs), tuple(h for h in hits if h is not None))


def time_to_level(rs: Sequence[Result], level: float, metric: str = "robust_acc") -> float | None:
    """Mean training time until ``metric`` reaches ``level`` (None if some run never does)."""
    s = level_stats(rs, level, metric)
    return s.mean() if s.all_reached else None


def run_times_to_level(rs: Sequence[Result], level: float, metric: str = "robust_acc") -> list[float | None]:
    """Each run's training time until ``metric`` first reaches ``level`` (None: never)."""
    return [None if (h := time_to_accuracy(r, [level], metric)[level]) is None else h["time_s"] for r in rs]


def mean_log_times(rs: Sequence[Result], levels: Sequence[float], metric: str) -> list[float | None]:
    """Per run, the mean over ``levels`` of the log training time to each level (None if a level is never
    reached).  The difference of two methods' means is the log of their geometric-mean speed-up."""
    out: list[float | None] = []
    for r in rs:
        hits = time_to_accuracy(r, list(levels), metric)
        ts = [h["time_s"] for h in hits.values() if h is not None]
        out.append(statistics.fmean(math.log(t) for t in ts) if len(ts) == len(levels) and all(t > 0 for t in ts)
                   else None)
    return out


def common_levels(groups: Iterable[Sequence[Result]], levels: Sequence[float], metric: str) -> list[float]:
    """The ``levels`` that every run of every group reaches."""
    groups = list(groups)
    return [lv for lv in levels if all(level_stats(rs, lv, metric).all_reached for rs in groups)]


def best_mean(rs: Sequence[Result], metric: str) -> float:
    """The mean over runs of each run's best evaluation of ``metric``."""
    return statistics.fmean(max(e[metric] for e in r["evals"]) for r in rs)


def relative_levels(groups: Iterable[Sequence[Result]], metric: str, fractions: Sequence[float]) -> list[float]:
    """``fractions`` of the lowest :func:`best_mean` over ``groups``, rounded to 0.001, so every group
    reaches them on average."""
    best = min(best_mean(rs, metric) for rs in groups)
    return [round(f * best, 3) for f in fractions]


def sampling_level(runs: Runs, metric: str = "robust_acc", fraction: float = SAMPLING_FRACTION) -> float:
    """The level of CAT Figs. 2-3's verdict: ``fraction`` of the lowest best ``metric`` (mean over seeds)
    over the sampling numbers."""
    return relative_levels(runs.values(), metric, [fraction])[0]


@dataclass(frozen=True)
class Speedup:
    """AT and CAT at one accuracy level."""

    level: float
    at: LevelStats
    cat: LevelStats

    @property
    def ratio(self) -> float | None:
        """AT time / CAT time, given only where every run of both methods reached the level."""
        if not (self.at.all_reached and self.cat.all_reached):
            return None
        return self.at.mean() / self.cat.mean()


def speedup_rows(at: Sequence[Result], cat: Sequence[Result], levels: Sequence[float],
                 metric: str) -> list[Speedup]:
    """:class:`Speedup` of CAT over AT at each level."""
    return [Speedup(lv, level_stats(at, lv, metric), level_stats(cat, lv, metric)) for lv in levels]


def speedups(at: Sequence[Result], cat: Sequence[Result], metric: str,
             fractions: Sequence[float] = SPEEDUP_FRACTIONS) -> tuple[list[float], list[Speedup]]:
    """Levels both methods reach (fractions of the lower of their best mean accuracies) and AT/CAT at each."""
    levels = relative_levels((at, cat), metric, fractions)
    return levels, speedup_rows(at, cat, levels, metric)


# ---------------------------------------------------------------------------- equal budgets
def accuracy_at_time(result: Result, budget: float, metric: str = "robust_acc", interpolate: bool = False,
                     x: str = "train_time_s") -> float:
    """``metric`` a run had reached within a budget of training cost ``x`` (default seconds, see :func:`cost`).

    ``interpolate=False``: the last evaluation at or before the budget (what one would
    have in hand when stopping there).  ``interpolate=True``: linear between the
    evaluations around the budget.  A budget beyond the end of the run gives the final
    evaluation (training is over); a budget before the first evaluation gives NaN.
    """
    if metric not in ("clean_acc", "robust_acc"):
        raise ValueError(f"metric={metric!r} is not allowed; choose one of: clean_acc, robust_acc")
    ev = result["evals"]
    if not ev:
        return math.nan
    t = [cost(e, x) for e in ev]
    if budget < t[0]:
        return math.nan
    if budget >= t[-1]:
        return ev[-1][metric]
    if interpolate:
        return float(np.interp(budget, t, [e[metric] for e in ev]))
    return next(e for e, te in zip(reversed(ev), reversed(t), strict=True) if te <= budget)[metric]


def common_budget(runs: Runs, x: str = "train_time_s") -> float:
    """The cost ``x`` at which the fastest-finishing method ended (mean over its seeds).

    Every method has trained at least that long on average, so accuracies within this
    budget compare methods on equal training cost.
    """
    return min(statistics.fmean(cost(r["evals"][-1], x) for r in rs) for rs in runs.values())


BUDGET_FRACTIONS = (0.25, 0.5, 1.0)  # budgets: shares of the cost at which the fastest-finishing method ended


def at_budget(runs: Runs, budget: float, metric: str = "robust_acc", interpolate: bool = False,
              x: str = "train_time_s") -> dict[Any, list[float]]:
    """Per method, each run's ``metric`` (fraction) within ``budget`` (:func:`accuracy_at_time`; NaN dropped).
    Collapsed runs (:func:`collapsed`) are left out: a run that learned nothing is no result."""
    out = {}
    for label, rs in runs.items():
        vals = [accuracy_at_time(r, budget, metric, interpolate, x) for r in rs if not collapsed(r)]
        out[label] = [v for v in vals if not math.isnan(v)]
    return out
