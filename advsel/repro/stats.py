"""What a run's result says: final accuracies and where they come from, per-epoch series, collapse, convergence.

Every table and verdict of the book reads results through these functions, so a page and
the ledger read the same number the same way.  A result is the dictionary the run cache
holds (``config``, ``epochs``, ``evals``, ``final_eval`` ...; :data:`Result`); accuracies
stay fractions (tables turn them into percent).  A run that collapsed (:func:`collapsed`:
accuracy at chance with a training loss of about ln C over the last :data:`COLLAPSE_LAST`
epochs) is reported here and left out of comparisons by the verdicts and budgets.  Costs
are in :mod:`~advsel.repro.costs`, times to a level in :mod:`~advsel.repro.speedup`, the
intervals in :mod:`~advsel.repro.inference`.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from ..runs import Result

Runs = Mapping[Any, Sequence[Result]]  # {label: results}, one entry per method or run family

# the epoch-record key eq. (9) reads, per ``adaptive_accuracy`` (clean/robust: the validation split's)
ADAPTIVE_DRIVER = {"train": "train_acc", "clean": "val_clean_acc", "robust": "val_robust_acc"}
NUM_CLASSES = {"mnist": 10, "cifar10": 10}
COLLAPSE_MARGIN = 0.02  # at chance: clean accuracy at most 1/C + this
COLLAPSE_LOSS_TOL = 0.05  # ... with a training loss within this of ln C
COLLAPSE_LAST = 2  # collapsed: the last this many epochs at chance
PLATEAU_EPOCHS = 3  # on a plateau at chance (reported, not left out): at least this many epochs at chance


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
LAST_EPOCHS = 3  # the convergence check reads the training loss over this many last epochs
FALLING = 0.02  # still falling: the loss's least-squares slope over them is below -FALLING nats per epoch
DRIFT = 0.05  # drifting back: the last epoch's loss lies this far above the run's lowest epoch loss


def loss_slope(r: Result, last: int = LAST_EPOCHS) -> float | None:
    """Least-squares slope (nats per epoch) of the training loss over the ``last`` epochs; None with fewer."""
    ys = [e["train_loss"] for e in r["epochs"][-last:]]
    if len(ys) < last or len(ys) < 2:
        return None
    mx = (len(ys) - 1) / 2
    return sum((i - mx) * (y - statistics.fmean(ys)) for i, y in enumerate(ys)) / sum((i - mx) ** 2
                                                                                     for i in range(len(ys)))


def convergence_problems(r: Result) -> list[str]:
    """Why a run has not converged, in words (empty: it has): the schedule did not complete, the training loss
    still falls (:data:`FALLING` over the :data:`LAST_EPOCHS` last epochs) or it drifts back up towards ln C
    (:data:`DRIFT` above its lowest).  Unlike accuracy between the last two epochs under a cosine schedule, whose
    learning rate is nearly 0 at the end, the loss's slope over several epochs can fail."""
    out = []
    if len(r["epochs"]) != r["config"]["epochs"]:
        out.append(f"{len(r['epochs'])} of {r['config']['epochs']} epochs ran")
    slope = loss_slope(r)
    if slope is not None and slope < -FALLING:
        out.append(f"training loss still falling ({slope:+.3f} per epoch over the last {LAST_EPOCHS})")
    losses = [e["train_loss"] for e in r["epochs"]]
    if losses and losses[-1] - min(losses) > DRIFT:
        out.append(f"training loss drifting back towards ln {num_classes(r)} = {math.log(num_classes(r)):.2f} "
                   f"({min(losses):.2f} at its lowest, {losses[-1]:.2f} at the end)")
    return out


def converged(r: Result) -> bool:
    """The book's convergence criterion: no :func:`convergence_problems`."""
    return not convergence_problems(r)


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


def robust_value(r: Result) -> float:
    """A run's final robust accuracy as the verdicts read it: the lower of its PGD evaluation and, when the run
    has one, its AutoAttack evaluation (on the first of the same test samples)."""
    pgd = final_value(r, "robust_acc")
    aa = (r.get("final_eval") or {}).get("autoattack")
    return min(pgd, aa["robust_acc"]) if aa else pgd


def robust_source(rs: Sequence[Result]) -> str:
    """Which attacks :func:`robust_value` read for ``rs``, in words: whether AutoAttack was used, on how many runs
    and samples, beside the PGD evaluation."""
    with_aa = [r for r in rs if "autoattack" in (r.get("final_eval") or {})]
    pgd = evaluation_short(rs, "robust_acc")
    if not with_aa:
        return f"{pgd}; AutoAttack not used"
    n = sorted({r["final_eval"]["autoattack"]["n"] for r in with_aa})
    versions = sorted({AUTOATTACK_NAMES[r["final_eval"]["autoattack"].get("version", "standard")] for r in with_aa})
    lower = sum(r["final_eval"]["autoattack"]["robust_acc"] < final_value(r, "robust_acc") for r in with_aa)
    return (f"the lower of {pgd} and {' / '.join(versions)} (n = {'/'.join(f'{k:,}' for k in n)}) per run; "
            f"AutoAttack used on {len(with_aa)} of {len(rs)} runs, lower than PGD on {lower}")


# how the final evaluation's AutoAttack versions are named (advsel.attacks.AUTOATTACK_VERSIONS)
AUTOATTACK_NAMES = {"standard": "AutoAttack (standard)", "apgd": "AutoAttack's APGD-CE + APGD-T"}


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


# ---------------------------------------------------------------------------- per-epoch series
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
