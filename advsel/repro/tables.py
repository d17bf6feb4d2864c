"""The book's tables as pandas DataFrames: formatting only, every number from :mod:`advsel.repro.stats`.

Accuracies are shown in percent.

- :func:`final_table`, :func:`epoch_table` — final-epoch and per-epoch summaries (DS pages).
- :func:`cost_table` — DS Table I: total training cost per method.
- :func:`p_up_by_driver`, :func:`driver_cost_table` — DS Fig. 6: the three drivers of eq. (9).
- :func:`similarity_frame`, :func:`similarity_summary`, :func:`similarity_baseline_frame`,
  :func:`similarity_with_baseline`, :func:`gain_rank_frame` — CAT Fig. 1.
- :func:`level_table`, :func:`speedup_table`, :func:`cat_table`, :func:`cat_paper_tables`,
  :func:`control_table` — CAT Tables 1-2: time and passes to an accuracy level, AT vs CAT, the paper's
  numbers beside, CAT against its control.
- :func:`time_to_level_table`, :func:`time_to_level_by_method`, :func:`sampling_setup_table`,
  :func:`sampling_shape_table` — CAT Figs. 2-3: time to a level per sampling number.
- :func:`step_cost_table`, :func:`reference_levels`, :func:`level_ratio_table` — what a step costs and
  the time to a reference method's accuracy.
- :func:`budget_table`, :func:`end_table` — accuracy within equal training budgets, and at the end.
- :func:`ledger_table`, :func:`html_table`, :func:`verdict_counts` — the claims ledger.
"""

from __future__ import annotations

import html
import math
import statistics
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import pandas as pd

from ..analysis import QUANTILES
from ..runs import Result
from . import costs, equal_cost, inference, paper, speedup, stats
from .pages import badge, page_link
from .stats import Runs

GPU_COLUMN = "GPU track"  # the ledger's column of the GPU track's verdicts
QKEYS = tuple(f"q{int(q * 100)}" for q in QUANTILES)


def _pct(metric: str, v: float) -> float:
    return v * 100 if metric.endswith("_acc") else v


def _nan(v: float | None) -> float:
    return math.nan if v is None else v


# ---------------------------------------------------------------------------- DS pages
def final_table(runs: Runs, metrics: Sequence[str] | None = None) -> pd.DataFrame:
    """Final metrics per label: mean, sd (NaN with one seed) and number of seeds (accuracies in percent),
    and the evaluation they come from (:func:`~advsel.repro.stats.evaluation_short`: ``final_eval`` when the
    results have one, else the last epoch; attack, n).

    ``metrics`` defaults to clean and robust accuracy, plus ``autoattack_acc`` when every run has an
    AutoAttack final evaluation.  Collapsed runs (:func:`~advsel.repro.stats.collapsed`) are counted in
    ``collapsed``.
    """
    if metrics is None:
        metrics = ["clean_acc", "robust_acc"]
        if all(stats.has_autoattack(rs) for rs in runs.values()):
            metrics.append("autoattack_acc")
    rows = []
    for label, rs in runs.items():
        row: dict[tuple[str, str], Any] = {}
        for m in metrics:
            xs = stats.final(rs, m)
            mean, sd = inference.mean_sd(xs)
            row |= {(m, "mean"): _pct(m, mean), (m, "std"): _pct(m, sd) if len(xs) > 1 else math.nan,
                    (m, "count"): len(xs)}
        row[("collapsed", "")] = len(stats.collapsed_seeds(rs))
        ev = [stats.evaluation_short(rs, m) for m in ("robust_acc", "autoattack_acc") if m in metrics]
        row[("evaluation", "")] = "; ".join(ev) or stats.evaluation_short(rs, metrics[0])
        rows.append(pd.Series(row, name=label))
    df = pd.DataFrame(rows).rename_axis("method")
    df.columns = pd.MultiIndex.from_tuples(df.columns)
    df = df.astype({**{(m, "count"): "int64" for m in metrics}, ("collapsed", ""): "int64"})
    return df.round({c: 2 for c in df.columns if c[1] in ("mean", "std")})


def ablation_table(runs: Runs) -> pd.DataFrame:
    """The DS stall ablation, one row per run: its change, seed, the epochs whose training loss sits within
    0.05 of ln C (the uniform predictor's loss), the first and last epoch's training loss, final clean and robust
    accuracy (%, :func:`~advsel.repro.stats.robust_value`) and whether it collapsed."""
    rows = []
    for label, rs in runs.items():
        for r in rs:
            ln_c = math.log(stats.num_classes(r))
            losses = [e["train_loss"] for e in r["epochs"]]
            stuck = [e["epoch"] for e in r["epochs"] if abs(e["train_loss"] - ln_c) < 0.05]
            rows.append({"run family": label, "seed": r["config"]["seed"],
                         "epochs at ln C": f"{len(stuck)} of {len(losses)}",
                         "first loss": round(losses[0], 3), "last loss": round(losses[-1], 3),
                         "clean (%)": round(100 * stats.final_value(r, "clean_acc"), 1),
                         "robust (%)": round(100 * stats.robust_value(r), 1),
                         "collapsed": "yes" if stats.collapsed(r) else "no"})
    return pd.DataFrame(rows)


def collapse_table(runs: Runs) -> pd.DataFrame:
    """Runs at chance (:func:`~advsel.repro.stats.collapse_report`): label, seed, collapsed or plateau, the
    epochs at chance, the last epoch's clean accuracy (%) and training loss."""
    rows = [{"run family": c.label, "seed": c.seed, "status": "collapsed" if c.collapsed else "plateau",
             "epochs at chance": ", ".join(map(str, c.epochs)), "last clean acc (%)": round(100 * c.clean_acc, 1),
             "last train loss": round(c.train_loss, 3)} for c in stats.collapse_report(runs)]
    return pd.DataFrame(rows, columns=["run family", "seed", "status", "epochs at chance", "last clean acc (%)",
                                       "last train loss"])


def p_up_by_driver(by_driver: Runs) -> pd.DataFrame:
    """Per epoch, the P_up of each DS eq. (9) driver (mean over its seeds); ``by_driver`` = {driver: runs}."""
    return pd.DataFrame({d: pd.Series({ep: m["p_up"] for ep, m in stats.epoch_means(rs, ["p_up"]).items()})
                         for d, rs in by_driver.items()}).rename_axis("epoch").round(3)


def driver_cost_table(by_driver: Runs, reference: Sequence[Result], paper_ratio: float) -> pd.DataFrame:
    """Per DS eq. (9) driver (``by_driver`` = {driver: runs}), against the ``reference`` runs (DS P_up = 1) of the
    same seeds (all of them when none match): seeds, training samples, steps, mean P_up, and the ratios of total
    training time, of sample passes F + 2B, of time and of passes per step, with the paper's ratio beside."""
    def mean(f: Callable[[Result], float], rs: Sequence[Result]) -> float:
        return inference.mean_sd([f(r) for r in rs])[0]

    def passes(r: Result) -> float:
        return costs.per_step(r)["f2b"] * costs.steps_of(r)

    rows = {}
    for d, rs in by_driver.items():
        seeds = {r["config"]["seed"] for r in rs}
        ref = [r for r in reference if r["config"]["seed"] in seeds] or list(reference)
        rows[d] = {
            "seeds": ", ".join(map(str, sorted(seeds))),
            "training samples": mean(lambda r: r["train_size"], rs),
            "steps": mean(costs.steps_of, rs), "DS P_up = 1 steps": mean(costs.steps_of, ref),
            "mean P_up": mean(lambda r: inference.mean_sd([e["p_up"] for e in r["epochs"]])[0], rs),
            "time ratio": inference.mean_sd(costs.total_costs(rs))[0] / inference.mean_sd(costs.total_costs(ref))[0],
            "F + 2B ratio": mean(passes, rs) / mean(passes, ref),
            "time per step ratio": mean(lambda r: costs.per_step(r)["time_s"], rs)
            / mean(lambda r: costs.per_step(r)["time_s"], ref),
            "F + 2B per step ratio": mean(lambda r: costs.per_step(r)["f2b"], rs)
            / mean(lambda r: costs.per_step(r)["f2b"], ref),
            "paper ratio (Table I)": paper_ratio,
        }
    return pd.DataFrame(rows).T.rename_axis("driver")


def epoch_table(rs: Sequence[Result], metrics: Sequence[str]) -> pd.DataFrame:
    """Per-epoch mean over seeds of ``metrics`` of one run family (accuracies in percent)."""
    means = stats.epoch_means(rs, metrics)
    df = pd.DataFrame([{"epoch": ep, **{m: _pct(m, v) for m, v in row.items()}} for ep, row in means.items()])
    return df.set_index("epoch").round(3)


def cost_table(runs: Runs, reference: str, paper_times: Mapping[str, float] | None = None) -> pd.DataFrame:
    """Total training cost per method (means over seeds), pre-training included (DS Table I).

    Columns: training time (attack + training passes, evaluation excluded), its sd and
    ratio to the ``reference`` label, the paper's time and ratio where ``paper_times``
    gives one; the time spent in the attack; sample passes (:func:`~advsel.repro.stats.total_cost`:
    forward, backward) and their split (:func:`~advsel.repro.stats.cost_split`: attack
    forward / backward, training forward / backward); forward-pass equivalents F + 2B (a
    backward pass costing about two forward passes) and their ratio to the reference.
    """
    rows = []
    for label, rs in runs.items():
        time_mean, time_sd = inference.mean_sd(costs.total_costs(rs))
        splits = [costs.cost_split(r) for r in rs]
        split = {k: inference.mean_sd([s[k] for s in splits])[0] for k in (*costs.PASS_KINDS, "time_attack_s")}
        rows.append({"method": label, "time (s)": time_mean, "sd (s)": time_sd,
                     "attack time (s)": split["time_attack_s"],
                     "forward passes": inference.mean_sd(costs.total_costs(rs, "forward_passes"))[0],
                     "backward passes": inference.mean_sd(costs.total_costs(rs, "backward_passes"))[0],
                     "attack fwd": split["attack_forward"], "attack bwd": split["attack_backward"],
                     "training fwd": split["train_forward"], "training bwd": split["train_backward"],
                     "seeds": len(rs)})
    df = pd.DataFrame(rows).set_index("method")
    df.insert(2, "time ratio", df["time (s)"] / df.loc[reference, "time (s)"])
    if paper_times:
        df.insert(3, "paper time (s)", pd.Series(dict(paper_times), dtype=float))
        df.insert(4, "paper ratio", df["paper time (s)"] / paper_times[reference])
    df["F + 2B"] = df["forward passes"] + 2 * df["backward passes"]
    df["F + 2B ratio"] = df["F + 2B"] / df.loc[reference, "F + 2B"]
    return df


# ---------------------------------------------------------------------------- CAT Fig. 1
def similarity_frame(runs: Runs, gap: str = "step") -> pd.DataFrame:
    """One row per (method, seed, epoch) of the similarity probe for ``gap`` (``step`` or ``epoch``).

    Columns: method, seed, epoch, cosine ``mean`` and quantiles ``q10`` ... ``q90``, and the
    attack success rate in percent at the earlier (``asr_before``) and later
    (``asr_after``) iteration.  Epochs without a measurement (``epoch``: the first one)
    have no row.
    """
    rows = [{**m, "asr_before": 100 * m["asr_before"], "asr_after": 100 * m["asr_after"]}
            for m in stats.similarity_records(runs, gap)]
    return pd.DataFrame(rows, columns=["method", "seed", "epoch", "mean", *QKEYS, "asr_before", "asr_after"])


def similarity_summary(df: pd.DataFrame) -> pd.DataFrame:
    """Per method and epoch, the seed-average of every column of :func:`similarity_frame`.

    Quantiles are averaged over seeds (each seed's quantile over its own probe), which
    is not the quantile of the pooled probes; with one probe per seed it is the
    typical band of a run.
    """
    return df.drop(columns="seed").groupby(["method", "epoch"], sort=False).mean()


def similarity_baseline_frame(rs: Sequence[Result], gap: str = "step") -> pd.DataFrame:
    """Per (seed, epoch) of the runs ``rs``: the mean same-sample cosine (``same sample``) and the same-class
    baseline's mean (``same class``) and quantiles (``base_q10`` ...), with the number of same-class
    ``pairs``; read from the probe's ``similarity_{gap}`` records (NaN where no probe class had two samples)."""
    rows = []
    for r in rs:
        for e in r["epochs"]:
            m = e.get(f"similarity_{gap}")
            if m is None:
                continue
            base = m.get("cosine_same_class") or {}
            rows.append({"seed": r["config"]["seed"], "epoch": e["epoch"], "same sample": m["cosine"]["mean"],
                         "same class": base.get("mean", math.nan),
                         **{f"base_{q}": base.get(q, math.nan) for q in QKEYS},
                         "pairs": m.get("same_class_pairs", 0)})
    return pd.DataFrame(rows, columns=["seed", "epoch", "same sample", "same class",
                                       *[f"base_{q}" for q in QKEYS], "pairs"])


def similarity_run_means(base: pd.DataFrame) -> tuple[list[float], list[float]]:
    """Per seed with a baseline, the mean over epochs of the same-sample and of the same-class cosine
    (``base``: :func:`similarity_baseline_frame`)."""
    g = base.dropna(subset=["same class"]).groupby("seed")[["same sample", "same class"]].mean()
    return list(g["same sample"]), list(g["same class"])


def similarity_with_baseline(df: pd.DataFrame, base: pd.DataFrame) -> pd.DataFrame:
    """:func:`similarity_summary` of ``df`` with the same-class baseline's seed-averaged mean and pairs beside
    (``baseline mean``, ``baseline pairs``; ``base``: :func:`similarity_baseline_frame`)."""
    b = base.drop(columns="seed").groupby("epoch")[["same class", "pairs"]].mean()
    b = b.rename(columns={"same class": "baseline mean", "pairs": "baseline pairs"})
    return similarity_summary(df).join(b, on="epoch")


def gain_rank_frame(rs: Sequence[Result]) -> pd.DataFrame:
    """Per (seed, epoch) of the runs ``rs``: the Spearman correlation of CAT's eq. (3) gains between a sample's
    consecutive draws, the number of pairs, the mean gap between the draws and the iterations of an epoch."""
    rows = [{"seed": r["config"]["seed"], "epoch": e["epoch"], "spearman": e["gain_spearman"],
             "pairs": e.get("gain_spearman_pairs", 0), "gap (iterations)": e.get("gain_spearman_gap_steps", math.nan),
             "iterations per epoch": e["steps"]}
            for r in rs for e in r["epochs"] if "gain_spearman" in e]
    return pd.DataFrame(rows, columns=["seed", "epoch", "spearman", "pairs", "gap (iterations)",
                                       "iterations per epoch"])


def per_epoch_means(df: pd.DataFrame) -> pd.DataFrame:
    """The seed-average of every column of a per (seed, epoch) frame, per epoch."""
    return df.drop(columns="seed").groupby("epoch").mean()


# ---------------------------------------------------------------------------- CAT Tables 1-2, Figs. 2-3
def _level_columns(label: str, s: speedup.LevelStats) -> dict[str, Any]:
    return {f"{label} time (s)": _nan(s.mean("time_s")), f"{label} fwd passes": _nan(s.mean("forward_passes")),
            f"{label} bwd passes": _nan(s.mean("backward_passes")), f"{label} reached": f"{s.reached}/{s.runs}"}


def level_table(runs: Runs, levels: Sequence[float], metric: str) -> pd.DataFrame:
    """Time and sample passes until each run first reaches each level of ``metric``.

    One row per level (in percent), per method: mean training time (s; attack and
    training passes, evaluation excluded) over the runs that reached the level, mean
    forward and backward sample passes at that point, and ``reached`` = "k/n" runs.
    Levels some run never reaches are still listed, with means over those that did (or
    NaN when none did).
    """
    rows = []
    for lv in levels:
        row: dict[str, Any] = {"level (%)": round(100 * lv, 1)}
        for label, rs in runs.items():
            row |= _level_columns(label, speedup.level_stats(rs, lv, metric))
        rows.append(row)
    return pd.DataFrame(rows).set_index("level (%)")


def speedup_table(at: Sequence[Result], cat: Sequence[Result], levels: Sequence[float], metric: str,
                  paper_rows: Mapping[float, tuple[float, float]] | None = None, paper_unit: str = "s") -> pd.DataFrame:
    """:func:`level_table` for AT and CAT with the speed-up AT/CAT and the paper's numbers beside.

    ``paper_rows``: {level: (AT time, CAT time)} in ``paper_unit``, shown where a level
    matches.  The speed-up (:attr:`~advsel.repro.stats.Speedup.ratio`, as the verdict
    uses it) is given only where every run of both methods reached the level.
    """
    rows = []
    for sp in speedup.speedup_rows(at, cat, levels, metric):
        rows.append({"level (%)": round(100 * sp.level, 1), **_level_columns("AT", sp.at),
                     **_level_columns("CAT", sp.cat), "speed-up AT/CAT": _nan(sp.ratio)})
    df = pd.DataFrame(rows).set_index("level (%)")
    if paper_rows is not None:
        p = {round(100 * lv, 1): v for lv, v in paper_rows.items()}
        df[f"paper AT ({paper_unit})"] = [p.get(lv, (math.nan, math.nan))[0] for lv in df.index]
        df[f"paper CAT ({paper_unit})"] = [p.get(lv, (math.nan, math.nan))[1] for lv in df.index]
        df["paper speed-up"] = df[f"paper AT ({paper_unit})"] / df[f"paper CAT ({paper_unit})"]
    cols = ["AT time (s)", "CAT time (s)", "speed-up AT/CAT", "AT reached", "CAT reached", "AT fwd passes",
            "CAT fwd passes", "AT bwd passes", "CAT bwd passes"]
    df = df[cols + [c for c in df.columns if c.startswith("paper")]]
    return df.round({c: (0 if "passes" in c else 2) for c in df.columns if c not in ("AT reached", "CAT reached")})


def cat_table(at: Sequence[Result], cat: Sequence[Result], dataset: str) -> pd.DataFrame:
    """CAT Table 1 (``mnist``) or 2 (``cifar10``) with ours beside: :func:`speedup_table` at the
    paper's levels and at the verdict's relative levels (:func:`~advsel.repro.stats.speedups`),
    clean and robust, indexed by (accuracy, levels, level (%))."""
    unit = paper.CAT_PAPER_UNITS[dataset]
    parts = []
    for metric in ("clean_acc", "robust_acc"):
        printed = paper.CAT_PAPER_TABLES[dataset][metric]
        levels, _ = speedup.speedups(at, cat, metric)
        for kind, lv in (("paper's", list(printed)), ("relative", levels)):
            t = speedup_table(at, cat, lv, metric, printed, unit)
            t.index = pd.MultiIndex.from_tuples([(metric.split("_")[0], kind, i) for i in t.index],
                                                names=["accuracy", "levels", "level (%)"])
            parts.append(t)
    return pd.concat(parts)


def cat_paper_tables(titles: Mapping[str, str]) -> pd.DataFrame:
    """CAT Tables 1-2 as printed (:data:`~advsel.repro.paper.CAT_PAPER_TABLES`): AT's and CAT's time and the
    speed-up per level, indexed by (table, accuracy, level (%)); ``titles``: {dataset: the table's name}."""
    return pd.DataFrame([{"table": titles[ds], "accuracy": m.split("_")[0], "level (%)": round(100 * lv),
                          "AT": at, "CAT": cat, "speed-up": at / cat}
                         for ds, t in paper.CAT_PAPER_TABLES.items() for m, rows in t.items()
                         for lv, (at, cat) in rows.items()]).set_index(["table", "accuracy", "level (%)"])


def control_table(runs: Runs, at: str, cat: str, control: str, metric: str) -> pd.DataFrame:
    """Time (s) and runs reached at the relative levels of CAT against its ``control`` (:func:`level_table` of
    every method of ``runs``), with the speed-ups control/CAT and AT/CAT (:attr:`~advsel.repro.stats.Speedup.ratio`,
    NaN where not every run reached the level)."""
    levels, rows = speedup.speedups(runs[control], runs[cat], metric)
    t = level_table(runs, levels, metric)
    t[f"speed-up {control}/CAT"] = [_nan(sp.ratio) for sp in rows]
    t[f"speed-up {at}/CAT"] = [_nan(sp.ratio) for sp in speedup.speedup_rows(runs[at], runs[cat], levels, metric)]
    cols = [c for c in t.columns if c.endswith("time (s)") or c.endswith("reached") or c.startswith("speed-up")]
    return t[cols].round(2)


def time_to_level_table(runs: Runs, level: float, metric: str = "robust_acc") -> pd.DataFrame:
    """Per key of ``runs`` (e.g. a sampling number): mean training time (s), iterations, epochs
    and sample passes (forward + 2 x backward) until ``metric`` first reaches ``level``, over the
    runs that reached it, and ``reached`` = "k/n"."""
    rows = []
    for key, rs in runs.items():
        s = speedup.level_stats(rs, level, metric)
        rows.append({"key": key, "time (s)": _nan(s.mean("time_s")), "iterations": _nan(s.mean("step")),
                     "epoch": _nan(s.mean("epoch")), "passes (F + 2B)": _nan(s.mean("f2b")),
                     "reached": f"{s.reached}/{s.runs}"})
    return pd.DataFrame(rows).set_index("key").round({"time (s)": 2, "iterations": 0, "epoch": 2,
                                                      "passes (F + 2B)": 0})


def sampling_setup_table(by_method: Mapping[str, Mapping[int, Sequence[Result]]]) -> pd.DataFrame:
    """Per method and sampling number N (``by_method`` = {method: {N: runs}}), from the runs' configs: learning
    rate, lr / N, iterations and evaluations per epoch, epochs and seeds."""
    rows = []
    for label, fam in by_method.items():
        for n, rs in fam.items():
            r0 = rs[0]
            rows.append({"method": label, "N": n, "learning rate": r0["config"]["lr"],
                         "lr / N": r0["config"]["lr"] / r0["config"]["batch_size"],
                         "iterations per epoch": r0["epochs"][0]["steps"],
                         "evaluations per epoch": len(r0["evals"]) / len(r0["epochs"]),
                         "epochs": r0["config"]["epochs"],
                         "seeds": ", ".join(str(s) for s in sorted(r["config"]["seed"] for r in rs))})
    return pd.DataFrame(rows).set_index(["method", "N"])


def time_to_level_by_method(by_method: Mapping[str, Runs], level: float, metric: str) -> pd.DataFrame:
    """:func:`time_to_level_table` of each method's runs by sampling number, indexed by (method, N)."""
    return pd.concat({label: time_to_level_table(fam, level, metric).rename_axis("N")
                      for label, fam in by_method.items()}, names=["method"])


def sampling_shape_table(by_method: Mapping[str, Mapping[int, Sequence[Result]]], level: float,
                         metric: str = "robust_acc") -> pd.DataFrame:
    """Per sampling number N: each method's mean time to ``level`` (only where every run reached it), CAT over
    PGD-AT at the same N, and each method's time relative to its own at the smallest N (``by_method`` =
    {method: {N: runs}} with the methods ``CAT`` and ``PGD-AT``)."""
    times = {label: {n: speedup.time_to_level(rs, level, metric) for n, rs in fam.items()}
             for label, fam in by_method.items()}
    numbers = list(next(iter(by_method.values())))
    rows = []
    for n in numbers:
        row = {"N": n, **{f"{label} time (s)": _nan(t[n]) for label, t in times.items()}}
        row["CAT / PGD-AT"] = row["CAT time (s)"] / row["PGD-AT time (s)"]
        for label, t in times.items():
            row[f"{label} / {label} at N = {numbers[0]}"] = _nan(t[n]) / _nan(t[numbers[0]])
        rows.append(row)
    return pd.DataFrame(rows).set_index("N").round(3)


# ---------------------------------------------------------------------------- which selection saves time
def step_cost_table(runs: Runs, reference: str) -> pd.DataFrame:
    """Per method, means over seeds: time per step (ms) and its ratio to ``reference``, sample passes F + 2B per
    drawn sample and their ratio, and the attack's share of the time and of the passes (in %)."""
    rows = []
    for label, rs in runs.items():
        per = [costs.per_step(r) for r in rs]
        split = [costs.cost_split(r) for r in rs]
        b = rs[0]["config"]["batch_size"]
        att = [(s["attack_forward"] + 2 * s["attack_backward"])
               / sum(s[k] * (2 if k.endswith("backward") else 1) for k in costs.PASS_KINDS) for s in split]
        rows.append({"method": label, "time per step (ms)": 1000 * statistics.fmean(p["time_s"] for p in per),
                     "F + 2B per drawn sample": statistics.fmean(p["f2b"] for p in per) / b,
                     "attack share of time (%)": 100 * statistics.fmean(
                         s["time_attack_s"] / (s["time_attack_s"] + s["time_train_s"]) for s in split),
                     "attack share of F + 2B (%)": 100 * statistics.fmean(att), "seeds": len(rs)})
    df = pd.DataFrame(rows).set_index("method")
    df.insert(1, "time ratio", df["time per step (ms)"] / df.loc[reference, "time per step (ms)"])
    df.insert(3, "F + 2B ratio", df["F + 2B per drawn sample"] / df.loc[reference, "F + 2B per drawn sample"])
    return df.round(3)


def reference_levels(runs: Runs, reference: str, metric: str, fractions: Sequence[float]) -> dict[str, float]:
    """{description: level}, lowest first: the ``fractions`` of the ``reference`` method's lowest final
    ``metric`` over its runs that did not collapse (all of them when every one did) and its final mean."""
    ref = runs[reference]
    finals = [r["epochs"][-1][metric] for r in ref if not stats.collapsed(r)] or [r["epochs"][-1][metric] for r in ref]
    out = {(f"{f:.0%} of " if f != 1 else "") + f"{reference}'s lowest final": f * min(finals) for f in fractions}
    out[f"{reference}'s final mean"] = costs.end_summary(ref)[metric]
    return dict(sorted(out.items(), key=lambda kv: kv[1]))


def level_ratio_table(runs: Runs, level: float, metric: str, reference: str) -> pd.DataFrame:
    """:func:`time_to_level_table` per method, with its time and passes over the ``reference`` method's, given
    only where every run of both reached ``level``."""
    t = time_to_level_table(runs, level, metric).rename_axis("method")
    full = {k: speedup.level_stats(rs, level, metric).all_reached for k, rs in runs.items()}
    for col, name in (("time (s)", f"time / {reference}"), ("passes (F + 2B)", f"passes / {reference}")):
        ref = t.loc[reference, col]
        t[name] = [round(t.loc[k, col] / ref, 3) if full[k] and full[reference] else math.nan for k in t.index]
    return t


def level_ratio_tables(runs: Runs, levels: Mapping[str, float], metric: str, reference: str) -> pd.DataFrame:
    """:func:`level_ratio_table` at each of ``levels`` = {description: level}, indexed by (level, method)."""
    return pd.concat({f"{100 * lv:.1f}% ({what})": level_ratio_table(runs, lv, metric, reference)
                      for what, lv in levels.items()}, names=["level", "method"])


# ---------------------------------------------------------------------------- equal budgets
def budget_table(runs: Runs, budgets: Sequence[float], metrics: Sequence[str] = ("clean_acc", "robust_acc"),
                 interpolate: bool = False, x: str = "train_time_s") -> pd.DataFrame:
    """Accuracy (percent) within each budget of cost ``x`` per method: mean, sd and the seeds behind them
    (:func:`~advsel.repro.stats.at_budget`, as the budget verdict uses it: collapsed runs left out)."""
    if x not in costs.COSTS:
        raise ValueError(f"x={x!r} is not allowed; choose one of: {', '.join(costs.COSTS)}")
    name = {"train_time_s": "budget (s)", "f2b": "budget (passes)", "step": "budget (iterations)"}[x]
    rows = []
    for b in budgets:
        within = {m: equal_cost.at_budget(runs, b, m, interpolate, x) for m in metrics}
        for label, rs in runs.items():
            row: dict[str, Any] = {name: round(b, 1) if x == "train_time_s" else int(b), "method": label}
            for m in metrics:
                mean, sd = inference.mean_sd(within[m][label]) if within[m][label] else (math.nan, 0.0)
                row[f"{m} mean"], row[f"{m} sd"] = 100 * mean, 100 * sd
            row["seeds"] = sum(not stats.collapsed(r) for r in rs)  # the runs behind the numbers
            rows.append(row)
    return pd.DataFrame(rows).set_index([name, "method"]).round(2)


def end_table(runs: Runs) -> pd.DataFrame:
    """Per method at the end of training: final clean / robust accuracy (%), training time (s) and
    sample passes (forward + 2 x backward), means over seeds, with the time ratio to the first method."""
    rows = []
    for label, rs in runs.items():
        s = costs.end_summary(rs)
        rows.append({"method": label, "clean_acc": 100 * s["clean_acc"], "robust_acc": 100 * s["robust_acc"],
                     "training time (s)": s["train_time_s"], "passes (F + 2B)": s["f2b"], "seeds": len(rs)})
    df = pd.DataFrame(rows).set_index("method")
    df.insert(3, "time ratio", df["training time (s)"] / df["training time (s)"].iloc[0])
    return df.round({"clean_acc": 2, "robust_acc": 2, "training time (s)": 1, "time ratio": 3, "passes (F + 2B)": 0})


# ---------------------------------------------------------------------------- claims ledger
def ledger_table(evaluated: Sequence[tuple[Any, Any]], link: Callable[[str], str] = page_link,
                 title: Callable[[str], str] = str, gpu: Sequence[Any] | None = None) -> pd.DataFrame:
    """One row per sub-claim: paper, item, claim, page (an HTML link), verdict (a coloured badge), numbers
    (the headline, the full sentence in a ``<details>`` fold) and, given ``gpu`` (one cell per row:
    :func:`~advsel.repro.track.ledger_column`), the GPU track's column: a verdict's badge or a text.

    ``evaluated``: the output of :func:`~advsel.repro.claims.evaluate_claims`; ``link``/``title``:
    a page's address and link text (default: the page name; :func:`~advsel.repro.pages.titles`
    reads the pages' headings).  Cells are HTML-escaped except the link, so the table
    is meant for :func:`html_table`.  An HTML table renders the same in Jupyter and in the
    built book, whatever Markdown flavour myst-nb uses for outputs (its default,
    CommonMark, has no pipe tables).
    """
    rows = []
    for claim, v in evaluated:
        a = f'<a href="{html.escape(link(claim.page))}">{html.escape(title(claim.page))}</a>'
        numbers = (f"{html.escape(v.headline)}<details><summary>details</summary>{html.escape(v.summary)}</details>"
                   if v.headline else html.escape(v.summary))
        rows.append({"paper": html.escape(claim.paper), "item": html.escape(claim.item),
                     "claim": html.escape(claim.text), "page": a, "verdict": badge(v), "numbers": numbers})
    columns = ["paper", "item", "claim", "page", "verdict", "numbers"]
    if gpu is not None:
        for row, cell in zip(rows, gpu, strict=True):
            row[GPU_COLUMN] = html.escape(cell) if isinstance(cell, str) else badge(cell)
        columns.insert(5, GPU_COLUMN)
    return pd.DataFrame(rows, columns=columns)


def html_table(df: pd.DataFrame) -> str:
    """``df`` as an HTML table whose cells are inserted as they are (escape them beforehand)."""
    return df.to_html(index=False, escape=False, border=0, classes="dataframe ledger")


def verdict_counts(evaluated: Sequence[tuple[Any, Any]], kinds: Sequence[str]) -> pd.DataFrame:
    """Sub-claims per verdict kind (every kind listed, zeros included), per paper and in total."""
    df = pd.DataFrame([{"paper": c.paper, "verdict": v.verdict} for c, v in evaluated])
    counts = pd.crosstab(df["verdict"], df["paper"]).reindex(index=list(kinds), columns=list(df["paper"].unique()),
                                                              fill_value=0)
    counts["total"] = counts.sum(axis=1)
    counts.loc["all claims"] = counts.sum()
    return counts
