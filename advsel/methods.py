"""The training methods: one table saying, per method, how a batch is drawn and what is backpropagated.

Every part of advsel that depends on the method reads :data:`REGISTRY` (the trainer's
sampler, selection, P_up and stability tracking; the experiment runner's pre-training;
the CLI's help; the README's method table), so a new method that combines existing
parts is one :class:`Method` entry.  An entry has four parts:

- ``batch``: how the b' clean samples of a step are drawn: ``uniform`` (a shuffled
  epoch), ``cat`` (CAT's weighted, class-balanced sampler), ``balanced`` (CAT's sampler
  with its weights never updated: class-balanced, uniform within each class, the control
  that separates what CAT gains from exact class balance and its draw from what it gains
  from its weights), ``subset`` (a shuffled epoch over Dong et al.'s most stable share,
  chosen by a pre-training run; ``Config.dong_steps`` says how many steps an epoch takes).
- ``backprop``: which samples are backpropagated (:func:`advsel.selectors.select`):
  ``clean`` (the b' clean samples), ``adv`` (their b' PGD versions), ``top`` (the top
  P_up of the 2b' clean + adversarial samples by cross-entropy, DS), ``random`` (a
  random P_up share of the 2b'), ``screened`` (a no-gradient clean pass scores the b'
  samples before the attack; only the ``Config.attack_share`` with the highest clean loss
  are attacked and backpropagated as PGD versions, the others clean or not at all by
  ``Config.unattacked``: the attack is paid for the attacked share only).
- ``p_up``: how P_up evolves, one rule object of :mod:`advsel.p_up`: ``NONE`` (not
  used), ``FIXED`` (``Config.p_up``, after ``Config.p_up_warmup_epochs`` epochs at
  P_up = 1), ``EQ9`` (1 in the first epoch, then DS's eq. (9) after every epoch, down to
  ``p_up_floor``).
- ``pretrain``: the method of the run that must precede this one (Dong et al.'s
  ``robust`` run, whose per-sample learning stability chooses the subset), or None.

The Config parameters a method uses (:attr:`Method.params`) follow from these parts,
so they cannot disagree with what the trainer does.  This module imports nothing
heavy: the CLI reads it to explain itself.
"""

from __future__ import annotations

from dataclasses import dataclass

from .p_up import EQ9, FIXED, NONE, RULES, PUpRule

BATCHES = ("uniform", "cat", "balanced", "subset")
BACKPROPS = ("clean", "adv", "top", "random", "screened")

# the Config parameters each part brings with it
_BATCH_PARAMS = {"uniform": (), "cat": ("cat_alpha", "cat_temperature"), "balanced": (),
                 "subset": ("dong_keep", "dong_steps")}
_BACKPROP_PARAMS = {"top": ("ds_forward",), "screened": ("attack_share", "unattacked")}
# every method-specific parameter: p_up, p_up_warmup_epochs, p_up_floor, adaptive_accuracy, cat_alpha,
# cat_temperature, dong_keep, dong_steps, ds_forward, attack_share, unattacked
METHOD_PARAMS: tuple[str, ...] = tuple(dict.fromkeys(
    p for params in (*(rule.params for rule in RULES.values()), *_BATCH_PARAMS.values(),
                     *_BACKPROP_PARAMS.values()) for p in params))

# wording of the parts, for tables (README) and the CLI
BATCH_TEXT = {"uniform": "b' uniform", "cat": "b' by CAT's weighted sampler",
              "balanced": "b' by CAT's sampler with its weights never updated (class-balanced uniform)",
              "subset": "b' uniform over Dong et al.'s most stable share"}
BACKPROP_TEXT = {"clean": "the b' clean samples", "adv": "their b' PGD versions",
                 "top": "top P_up of the 2b' clean + adversarial by cross-entropy",
                 "random": "a random P_up share of the 2b'",
                 "screened": "PGD versions of the attacked share of the b' (highest clean loss, chosen before the "
                             "attack); the others clean or skipped"}


@dataclass(frozen=True)
class Method:
    """How one training method draws its batch, what it backpropagates and how P_up evolves."""

    name: str
    batch: str
    backprop: str
    p_up: PUpRule
    description: str  # one line, shown by ``python -m advsel train --help``
    pretrain: str | None = None  # method of the run whose result this one needs first

    def __post_init__(self) -> None:
        _check_entry(self)

    @property
    def params(self) -> tuple[str, ...]:
        """The method-specific Config parameters this method reads (the others are ignored)."""
        return self.p_up.params + _BATCH_PARAMS[self.batch] + _BACKPROP_PARAMS.get(self.backprop, ())

    @property
    def attacks(self) -> bool:
        """Whether a step runs the training attack (every method but natural training)."""
        return self.backprop != "clean"


def _check_entry(m: Method) -> None:
    """Reject an entry whose parts are unknown or do not fit together (a table typo fails at import)."""
    for part, value, allowed in (("batch", m.batch, BATCHES), ("backprop", m.backprop, BACKPROPS)):
        if value not in allowed:
            raise ValueError(f"method {m.name!r}: {part}={value!r} is not one of {', '.join(allowed)}")
    if not isinstance(m.p_up, PUpRule):
        raise ValueError(f"method {m.name!r}: p_up={m.p_up!r} is not a P_up rule; choose one of advsel.p_up's "
                         f"{', '.join(r.upper() for r in RULES)}")
    if (m.p_up is not NONE) != (m.backprop in ("top", "random")):
        raise ValueError(f"method {m.name!r}: p_up={m.p_up.name!r} does not fit backprop={m.backprop!r}; "
                         "a P_up rule goes with backprop 'top' or 'random' and only with them")
    if (m.pretrain is not None) != (m.batch == "subset"):
        raise ValueError(f"method {m.name!r}: batch='subset' needs a pre-training method and only it has one "
                         f"(pretrain={m.pretrain!r})")
    if not m.description or "\n" in m.description:
        raise ValueError(f"method {m.name!r}: the description must be one non-empty line")


_TABLE = (
    Method("standard", "uniform", "clean", NONE, "natural training on the b' clean samples (no attack)"),
    Method("robust", "uniform", "adv", NONE,
           "PGD-AT (Madry et al.): train on the b' PGD versions; also Dong et al.'s pre-training"),
    Method("ds", "uniform", "top", FIXED,
           "DS: backpropagate the top P_up of the 2b' clean + adversarial samples by cross-entropy"),
    Method("ds-adaptive", "uniform", "top", EQ9,
           "DS with P_up set after every epoch by eq. (9), from 1 down to --p-up-floor"),
    Method("random", "uniform", "random", FIXED, "DS's 'random robust' baseline: a random P_up share of the 2b'"),
    Method("cat", "cat", "adv", NONE,
           "CAT: b' drawn by CAT's weighted class-balanced sampler (eq. (4)), train on their PGD versions"),
    Method("cat-uniform", "balanced", "adv", NONE,
           "control for CAT: CAT's sampler with its weights never updated (class-balanced, uniform within a "
           "class), train on the PGD versions"),
    Method("ds-cat", "cat", "top", FIXED,
           "new: DS's top-P_up selection inside CAT's batches (CAT weights from DS's scoring pass)"),
    Method("prescreen", "uniform", "screened", NONE,
           "new: attack only the --attack-share of the b' with the highest clean loss (a no-gradient screening "
           "pass before PGD); the others train clean or are skipped (--unattacked)"),
    Method("dong", "subset", "adv", NONE,
           "Dong et al.: PGD-AT on each class's most stable share of a robust pre-training run", pretrain="robust"),
)

REGISTRY: dict[str, Method] = {m.name: m for m in _TABLE}
METHODS: tuple[str, ...] = tuple(REGISTRY)


def _check_table() -> None:
    if len(REGISTRY) != len(_TABLE):
        raise ValueError("two methods share a name")
    for m in _TABLE:
        if m.pretrain is not None and (m.pretrain not in REGISTRY or REGISTRY[m.pretrain].pretrain is not None):
            raise ValueError(f"method {m.name!r}: pretrain={m.pretrain!r} must be a method without a pre-training")


_check_table()


def pretraining_methods() -> frozenset[str]:
    """Methods whose runs serve as another method's pre-training (they record learning stability)."""
    return frozenset(m.pretrain for m in REGISTRY.values() if m.pretrain is not None)


def users(param: str) -> tuple[str, ...]:
    """The methods that read the method-specific Config parameter ``param``."""
    return tuple(m.name for m in REGISTRY.values() if param in m.params)


def _flags(params: tuple[str, ...]) -> str:
    return ", ".join(f"`--{p.replace('_', '-')}`" for p in params) or "—"


def markdown_table() -> str:
    """The README's method table (``python -m advsel methods --markdown`` prints it)."""
    rows = ["| method | batch | backpropagated | P_up | flags |", "| --- | --- | --- | --- | --- |"]
    for m in REGISTRY.values():
        batch = BATCH_TEXT[m.batch] + (f", after a `{m.pretrain}` pre-training run" if m.pretrain else "")
        rows.append(f"| `{m.name}` | {batch} | {BACKPROP_TEXT[m.backprop]} | {m.p_up.text} | "
                    f"{_flags(m.params)} |")
    return "\n".join(rows)
