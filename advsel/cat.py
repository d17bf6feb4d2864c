"""CAT (Fan et al.): sampling by a smoothed information gain, without replacement, class-balanced.

Information gain of a sample from the logits on its adversarial example (eq. 3)::

    w = max_{k != y} log p_k(x + d) - log p_y(x + d)  =  max_{k != y} z_k - z_y

(the log-softmax normaliser cancels, so it is a difference of logits) smoothed over time
for the samples drawn in an iteration only (eq. 4), all weights starting at 1::

    w_t = alpha * w_{t-1} + (1 - alpha) * w

From weights to probabilities.  Eq. (3) is a difference of log-probabilities, i.e. the
log of the odds ``max_k p_k / p_y``, and can be negative.  We sample with probability
proportional to ``exp(w / T)`` (a softmax with temperature T, default 1): positive for
every real weight, monotone in w, unchanged by a common shift, and at T = 1 exactly
proportional to the smoothed odds that the model prefers a wrong class.  Larger T
flattens the distribution towards uniform sampling.

Class balance.  Each class gets ``b' // C`` samples of every batch; when b' is not a
multiple of C, the ``b' mod C`` remaining places go to as many distinct classes drawn
uniformly at random for that batch, so shares are exact when b' is divisible by C and
equal in expectation otherwise.

What "without replacement" covers: one batch only.  Within a class, the batch's k
samples are k successive weighted draws, each from the samples not yet drawn for this
batch, so no index repeats within a batch.  Across the batches of an epoch samples do
recur: every batch is drawn afresh from the whole set.  An epoch of CAT is
``len(indices) // b'`` iterations (as many samples attacked and trained on as in a
uniform epoch, so methods are compared on equal work), yet with equal weights it
touches only about ``1 - (1 - b'/n) ** (n / b') ~ 1 - 1/e ~ 63 %`` of the n samples
(65 % for n = 1,000, b' = 100); weighted draws concentrate on high-gain samples and
touch fewer.

Two draws give the same distribution:

- ``draw="tree"`` (default): one sum-tree per class over ``exp((w - s_c) / T)`` (float64,
  ``s_c`` a per-class shift).  A batch is drawn in rounds: each class that still needs
  k samples draws a few more than k leaves *with* replacement by a vectorised descent of
  its tree, keeps, in draw order, the first k that are new (rejecting repeats of a drawn
  sample is exactly a successive draw from the rest), and only when a class is still
  short are the accepted leaves set to 0 for the next round; zeroed leaves are restored
  after the batch.  Eq. (4) rewrites only the drawn leaves and their paths to the root.
  The cost per batch is O(b' log n), independent of n (vs O(n) for Gumbel keys).
- ``draw="gumbel"``: the Gumbel-top-k trick over all n weights for every batch (keys
  ``w / T + Gumbel noise``; the k largest keys per class), O(n) per batch.  Kept as the
  reference the tree is tested against.

Numerics of the tree.  Leaves are ``exp((w - s_c) / T)`` with ``s_c`` the class's largest
weight when its tree was (re)built.  A class is rebuilt, never clamped, when an update
would lift a leaf above ``exp(500)`` (overflow) or its total falls below ``1e-250``
(underflow); during a draw, a class whose remaining samples underflow once its heavy
samples are drawn is re-shifted to the largest remaining weight.  Leaves more than
about ``700 T`` below their class's largest weight are 0 (relative probability below
1e-300).  The shifts are part of the state so a resumed run draws the identical sequence.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, Literal

import numpy as np
import torch

from .samplers import AllGather, EpochBatchSampler, as_index_tensor, check_shard, identity

Draw = Literal["tree", "gumbel"]
MAX_EXPONENT = 500.0  # a leaf above exp(500) triggers a rebuild of its class (float64 overflows at exp(709))
MIN_TOTAL = 1e-250  # a class total below this triggers a rebuild (float64 subnormals start near 1e-308)


def information_gain(logits_adv: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """Eq. (3): max over wrong classes of log p_k minus log p_y, per sample (float32, no gradient).

    Computed as ``max_{k != y} z_k - z_y`` on the logits z: the log-softmax normaliser
    cancels, which is cheaper and loses no precision.  CPU logits go through numpy (one
    thread, no parallel-region start-up for a small b' x C matrix), others stay on their device.
    """
    z = logits_adv.detach().float()
    if z.device.type == "cpu":
        return torch.from_numpy(_gain_numpy(z.numpy(), y.cpu().numpy()))
    return _gain_torch(z, y)


def _gain_torch(z: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    true = z.gather(1, y[:, None]).squeeze(1)
    wrong = z.scatter(1, y[:, None], float("-inf")).amax(1)
    return wrong - true


def _gain_numpy(z: np.ndarray, y: np.ndarray) -> np.ndarray:
    rows = np.arange(len(y))
    true = z[rows, y]
    masked = z.copy()
    masked[rows, y] = -np.inf
    return masked.max(1) - true


class _SumForest:
    """One sum-tree per class over ``exp((w - shift_c) / T)``, all in one flat float64 array.

    Class c owns ``tree[offset_c : offset_c + 2 P_c]`` with P_c >= 2 a power of two: node 1
    is the root, node l has children 2l and 2l + 1, leaves P_c .. P_c + n_c - 1 hold the
    class's samples (positions into the sampler's ``indices``), the rest are 0.  A parent
    is always recomputed as the float sum of its two children, so the tree is a pure
    function of (weights, shifts): rebuilding it from them reproduces it bit for bit.
    """

    def __init__(self, cls_of_pos: np.ndarray, members: np.ndarray, num_classes: int, temperature: float) -> None:
        self.temperature = temperature
        self.cls_of_pos = cls_of_pos
        sizes = np.bincount(cls_of_pos, minlength=num_classes)
        self.width = np.array([max(2, 1 << (int(s) - 1).bit_length()) for s in sizes], dtype=np.int64)
        self.offset = np.concatenate([[0], np.cumsum(2 * self.width)[:-1]]).astype(np.int64)
        self.depth = int(self.width.max()).bit_length() - 1
        self.tree = np.zeros(int(2 * self.width.sum()) + 1)  # + 1: a finished descent may peek one past its segment
        self.members = members  # positions grouped by class, ascending within a class
        self.start = np.concatenate([[0], np.cumsum(sizes)[:-1]]).astype(np.int64)
        self.sizes = sizes
        rank = np.empty_like(self.members)
        rank[self.members] = np.arange(len(self.members)) - self.start[cls_of_pos[self.members]]
        self.leaf = self.offset[cls_of_pos] + self.width[cls_of_pos] + rank  # tree node of each position
        self.leaf_base = self.offset + self.width - self.start  # position = members[node - leaf_base[c]]
        self.shift = np.zeros(num_classes)

    def root(self, classes: np.ndarray) -> np.ndarray:
        return self.tree[self.offset[classes] + 1]

    def build(self, w: np.ndarray, classes: np.ndarray, shift: np.ndarray | None = None,
              exclude: np.ndarray | None = None) -> None:
        """(Re)build the trees of ``classes`` from the weights: shift = given, else the largest
        weight not in ``exclude`` (positions whose leaves stay 0 for the rest of a batch)."""
        for c in classes.tolist():
            pos = self.members[self.start[c]:self.start[c] + self.sizes[c]]
            wc = w[pos]
            keep = np.ones(len(pos), dtype=bool) if exclude is None else ~np.isin(pos, exclude)
            self.shift[c] = shift[c] if shift is not None else wc[keep].max()
            o, p = int(self.offset[c]), int(self.width[c])
            seg = self.tree[o:o + 2 * p]
            seg[p:] = 0.0
            seg[p:p + len(pos)] = np.exp(np.where(keep, (wc - self.shift[c]) / self.temperature, -np.inf))
            h = p
            while h > 1:
                h //= 2
                seg[h:2 * h] = seg[2 * h:4 * h:2] + seg[2 * h + 1:4 * h:2]

    def propagate(self, pos: np.ndarray) -> None:
        """Recompute the sums on the paths from the leaves of ``pos`` to their roots."""
        off = self.offset[self.cls_of_pos[pos]]
        node = self.leaf[pos] - off
        for _ in range(self.depth):
            node = np.maximum(node >> 1, 1)  # a root reached early is recomputed again: idempotent
            g = off + node
            self.tree[g] = self.tree[g + node] + self.tree[g + node + 1]

    def set_leaves(self, pos: np.ndarray, values: np.ndarray) -> None:
        self.tree[self.leaf[pos]] = values
        self.propagate(pos)

    def leaf_values(self, w: np.ndarray, pos: np.ndarray) -> np.ndarray:
        return np.exp((w[pos] - self.shift[self.cls_of_pos[pos]]) / self.temperature)

    def update(self, w: np.ndarray, pos: np.ndarray) -> None:
        """New weights at ``pos``: rewrite their leaves, rebuilding classes that would over- or underflow."""
        cls = self.cls_of_pos[pos]
        exponent = (w[pos] - self.shift[cls]) / self.temperature
        high = exponent > MAX_EXPONENT
        self.set_leaves(pos, np.exp(np.minimum(exponent, MAX_EXPONENT)))  # clipped leaves are rebuilt below
        stale = np.unique(np.concatenate([cls[high], cls[self.root(cls) < MIN_TOTAL]]))
        if len(stale):
            self.build(w, stale)

    def sample(self, cls: np.ndarray, u: np.ndarray) -> np.ndarray:
        """One draw with replacement per entry of ``cls`` (classes with a positive total), from
        uniforms ``u`` in [0, 1); returns positions.  A descent never enters a zero subtree."""
        off, width = self.offset[cls], self.width[cls]
        target = u * self.tree[off + 1]
        node = np.ones(len(cls), dtype=np.int64)
        for _ in range(self.depth):
            inner = node < width
            child = node << inner  # 2 * node, or node itself once a leaf is reached (smaller trees)
            left = self.tree[off + child]
            go_right = inner & (target >= left) & (self.tree[off + child + 1] > 0)
            target = np.where(go_right, target - left, target)
            node = child + go_right
        return self.members[off + node - self.leaf_base[cls]]


def _first_new(pos: np.ndarray, counts: np.ndarray, need: np.ndarray) -> np.ndarray:
    """Which candidates to accept: per class (``counts[j]`` consecutive candidates, class j
    needing ``need[j]``), the first ``need[j]`` distinct positions in draw order."""
    if int(counts.max()) == 1:
        return np.ones(len(pos), dtype=bool)  # one candidate per class: nothing can repeat
    _, first = np.unique(pos, return_index=True)  # positions are unique across classes
    fresh = np.zeros(len(pos), dtype=bool)
    fresh[first] = True
    seen = np.cumsum(fresh)
    ends = np.cumsum(counts)
    before = np.concatenate([[0], seen[ends[:-1] - 1]])  # fresh candidates of the earlier classes
    return fresh & (seen - np.repeat(before, counts) <= np.repeat(need, counts))


def _gumbel_draw(weights: np.ndarray, by_class: list[torch.Tensor], counts: torch.Tensor, temperature: float,
                 generator: torch.Generator) -> torch.Tensor:
    """Positions of one batch by Gumbel-top-k over all n weights (the O(n) reference draw)."""
    u = torch.rand(len(weights), generator=generator).clamp_(1e-12, 1 - 1e-7)
    keys = torch.from_numpy(weights) / temperature - torch.log(-torch.log(u))
    chosen = [pos[keys[pos].topk(int(k)).indices] for pos, k in zip(by_class, counts, strict=True) if k > 0]
    return torch.cat(chosen)


class CATSampler(EpochBatchSampler):
    """Weighted, class-balanced sampling without replacement (within a batch) over ``indices``.

    ``indices``: data-set indices to draw from (unique, >= 0).  ``labels``: labels of the
    *whole* data set, indexed by data-set index (``labels[i]`` for every i in ``indices``),
    in [0, num_classes).  ``alpha``: eq. (4) smoothing.  ``temperature``: the softmax
    temperature T.  ``draw``: ``"tree"`` or ``"gumbel"`` (see the module docstring).
    ``rank``/``world_size``/``all_gather``: see :mod:`advsel.samplers`.

    ``update=False``: the weights are never updated (:meth:`observe` does nothing, nothing is
    gathered), so every batch is drawn from the all-ones start: class-balanced, without
    replacement within the batch, uniform within each class, by the same draw and the same
    random numbers as CAT's.  This is the ``cat-uniform`` method, the control that tells how
    much of CAT's speed-up comes from exact class balance and its draw rather than from its
    weights (eq. (3)-(4)).

    As a ``DataLoader(dataset, batch_sampler=sampler)``: feed back each step's adversarial
    logits with :meth:`observe` (the data set should return each item's index, e.g. via
    :class:`advsel.samplers.WithIndex`).  With ``num_workers > 0`` the loader draws up to
    ``num_workers * prefetch_factor`` batches ahead, so those are drawn from weights that
    many steps old (still deterministic).
    """

    def __init__(self, indices: torch.Tensor, labels: torch.Tensor, batch_size: int, seed: int, *,
                 alpha: float = 0.5, temperature: float = 1.0, num_classes: int = 10, rank: int = 0,
                 world_size: int = 1, all_gather: AllGather = identity, draw: Draw = "tree",
                 update: bool = True) -> None:
        check_shard(batch_size, rank, world_size)
        _check_params(alpha, temperature, num_classes, draw)
        if not isinstance(update, bool):
            raise TypeError(f"update={update!r} is not allowed; it must be True or False")
        self.update = update
        self.indices = as_index_tensor(indices, "indices")
        self.labels = _labels_of(labels, self.indices, num_classes)
        self.batch_size, self.rank, self.world_size = batch_size, rank, world_size
        self.alpha, self.temperature, self.num_classes, self.draw_method = alpha, temperature, num_classes, draw
        self.all_gather = all_gather
        members = torch.argsort(self.labels, stable=True)  # positions grouped by class
        self.by_class = list(members.split(torch.bincount(self.labels, minlength=num_classes).tolist()))
        _check_batch_fits(batch_size, world_size, len(self.indices), min(len(p) for p in self.by_class), num_classes)
        self.steps_per_epoch = len(self.indices) // (batch_size * world_size)
        self.position = torch.full((int(self.indices.max()) + 1,), -1, dtype=torch.long)
        self.position[self.indices] = torch.arange(len(self.indices))
        self.generator = torch.Generator().manual_seed(seed * 100_003 + 7)
        self.forest = _SumForest(self.labels.numpy(), members.numpy(), num_classes, temperature) \
            if draw == "tree" else None
        self._set_weights(np.ones(len(self.indices)))

    # ------------------------------------------------------------------ weights
    @property
    def weights(self) -> torch.Tensor:
        """A float64 copy of the weights, by position in ``indices``; assign to set them."""
        return torch.from_numpy(self._w.copy())

    @weights.setter
    def weights(self, value: torch.Tensor) -> None:
        self._set_weights(_weights_array(value, len(self.indices)))

    def _set_weights(self, w: np.ndarray, shift: np.ndarray | None = None) -> None:
        self._w = w
        if self.forest is not None:
            self.forest.build(w, np.arange(self.num_classes), shift)

    # ------------------------------------------------------------------ drawing
    def class_counts(self) -> torch.Tensor:
        """Samples per class in the next global batch (b' // C each, remainder to random classes)."""
        gb = self.batch_size * self.world_size
        per, extra = divmod(gb, self.num_classes)
        counts = torch.full((self.num_classes,), per, dtype=torch.long)
        if extra:
            counts[torch.randperm(self.num_classes, generator=self.generator)[:extra]] += 1
        return counts

    def draw(self) -> torch.Tensor:
        """One global batch of data-set indices, weighted without replacement, class-balanced."""
        counts = self.class_counts()
        if self.forest is None:
            pos = _gumbel_draw(self._w, self.by_class, counts, self.temperature, self.generator)
        else:
            pos = torch.from_numpy(self._tree_draw(counts.numpy()))
        return self.indices[pos[torch.randperm(len(pos), generator=self.generator)]]

    def _tree_draw(self, need: np.ndarray) -> np.ndarray:
        """Positions of one batch, ``need[c]`` from class c: rounds of draws with replacement,
        keeping the first new ones, zeroing accepted leaves only while a class is short."""
        forest, need = self.forest, need.copy()
        chosen: list[np.ndarray] = []
        reshifted: list[np.ndarray] = []
        active = np.flatnonzero(need)
        while len(active):
            reshifted.append(self._reshift_empty(active, chosen))
            k = need[active]
            counts = np.where(k > 1, k + (k + 3) // 4, k)  # a little extra against repeats
            cls = np.repeat(active, counts)
            u = torch.rand(len(cls), generator=self.generator, dtype=torch.float64).numpy()
            pos = forest.sample(cls, u)
            keep = _first_new(pos, counts, k)
            chosen.append(pos[keep])
            need -= np.bincount(cls[keep], minlength=self.num_classes)
            active = np.flatnonzero(need)
            if len(active):
                forest.set_leaves(pos[keep], np.zeros(int(keep.sum())))
        self._restore(chosen, reshifted)
        return np.concatenate(chosen)

    def _reshift_empty(self, active: np.ndarray, chosen: list[np.ndarray]) -> np.ndarray:
        """Classes whose remaining total underflowed once their heavy samples were drawn: rebuild
        them shifted to the largest remaining weight (rare; exact)."""
        empty = active[self.forest.root(active) < MIN_TOTAL]
        if len(empty):
            self.forest.build(self._w, empty, exclude=np.concatenate(chosen) if chosen else None)
        return empty

    def _restore(self, chosen: list[np.ndarray], reshifted: list[np.ndarray]) -> None:
        """Put back the leaves zeroed during the batch (all but the last round's)."""
        again = np.unique(np.concatenate(reshifted))
        zeroed = np.concatenate(chosen[:-1]) if len(chosen) > 1 else np.zeros(0, dtype=np.int64)
        zeroed = zeroed[~np.isin(self.forest.cls_of_pos[zeroed], again)] if len(again) else zeroed
        if len(zeroed):
            self.forest.set_leaves(zeroed, self.forest.leaf_values(self._w, zeroed))
        if len(again):
            self.forest.build(self._w, again)  # back to the shift of a fresh build

    def batches(self, epoch: int) -> Iterator[torch.Tensor]:
        """This rank's share of ``steps_per_epoch`` freshly drawn batches (``epoch`` plays no role:
        the weights and the generator carry the state)."""
        for _ in range(self.steps_per_epoch):
            yield self.draw()[self.rank::self.world_size]

    # ------------------------------------------------------------------ feedback
    def observe(self, idx: torch.Tensor, logits_adv: torch.Tensor | None, y: torch.Tensor) -> None:
        """Eq. (4) for the drawn samples ``idx`` (data-set indices), from the logits on their
        adversarial examples (rows) over ``num_classes`` columns, and their labels ``y``.

        Raises ValueError for shapes that disagree, labels outside [0, num_classes), non-finite
        logits or an index that is not one of the sampler's ``indices``; weights are then unchanged.
        With ``update=False`` nothing is checked or changed (the ``cat-uniform`` control).
        """
        if not self.update:
            return
        _check_feedback(idx, logits_adv, y, self.num_classes)
        gain = information_gain(logits_adv, y).cpu()
        if not bool(torch.isfinite(gain).all()):
            raise ValueError("logits_adv holds non-finite values; CAT's weights need finite logits")
        # several ranks: every rank applies eq. (4) to the (index, gain) pairs of the whole global batch,
        # an overwrite keyed by index (each index occurs once per batch, never a sum): identical weights
        idx = self.all_gather(idx.cpu().long())
        gain = self.all_gather(gain).double().numpy()
        pos = self._positions(idx)
        self._w[pos] = self.alpha * self._w[pos] + (1 - self.alpha) * gain
        if self.forest is not None:
            self.forest.update(self._w, pos)

    def _positions(self, idx: torch.Tensor) -> np.ndarray:
        known = (idx >= 0) & (idx < len(self.position))
        pos = torch.where(known, self.position[idx.clamp(0, len(self.position) - 1)], -1)
        if bool((pos < 0).any()):
            raise ValueError(f"idx holds data-set indices that the sampler does not draw from: "
                             f"{idx[pos < 0][:5].tolist()}")
        return pos.numpy()

    def probabilities(self) -> torch.Tensor:
        """Within-class sampling probabilities softmax(w / T) (float64; for plots and tests)."""
        w = torch.from_numpy(self._w)
        p = torch.empty_like(w)
        for pos in self.by_class:
            p[pos] = torch.softmax(w[pos] / self.temperature, 0)
        return p

    # ------------------------------------------------------------------ resuming
    def state_dict(self) -> dict[str, Any]:
        state = {"weights": self.weights, "generator": self.generator.get_state()}
        if self.forest is not None:
            state["shift"] = torch.from_numpy(self.forest.shift.copy())  # for a bit-identical tree
        return state

    def load_state_dict(self, state: dict[str, Any]) -> None:
        w = _weights_array(state["weights"], len(self.indices))
        shift = state.get("shift")
        self._set_weights(w, None if shift is None else shift.double().numpy())
        self.generator.set_state(state["generator"])


# ---------------------------------------------------------------------- argument checks
def _check_params(alpha: float, temperature: float, num_classes: int, draw: str) -> None:
    if not 0 <= alpha < 1:
        raise ValueError(f"cat_alpha={alpha!r} is not allowed; it must be in [0, 1)")
    if not temperature > 0 or not np.isfinite(temperature):
        raise ValueError(f"cat_temperature={temperature!r} is not allowed; it must be > 0 and finite")
    if not isinstance(num_classes, int) or num_classes < 1:
        raise ValueError(f"num_classes={num_classes!r} is not allowed; it must be an int >= 1")
    if draw not in ("tree", "gumbel"):
        raise ValueError(f"draw={draw!r} is not allowed; it must be 'tree' or 'gumbel'")


def _labels_of(labels: torch.Tensor, indices: torch.Tensor, num_classes: int) -> torch.Tensor:
    """``labels[indices]``, after checking that labels is indexed by data-set index and in range."""
    labels = as_index_tensor(labels, "labels", indices=False)
    top = int(indices.max())
    if top >= len(labels):
        raise ValueError(f"labels has {len(labels)} entries but indices go up to {top}: labels must be the labels "
                         f"of the whole data set, indexed by data-set index (labels[i] for every i in indices), "
                         f"not only those of the subset")
    picked = labels[indices]
    bad = (picked < 0) | (picked >= num_classes)
    if bool(bad.any()):
        raise ValueError(f"labels[indices] holds values outside [0, num_classes={num_classes}): "
                         f"{picked[bad][:5].tolist()}")
    return picked


def _check_batch_fits(batch_size: int, world_size: int, n: int, smallest: int, num_classes: int) -> None:
    gb = batch_size * world_size
    if gb > n or -(-gb // num_classes) > smallest:
        raise ValueError(f"batch_size={batch_size} (sampling number, x world_size {world_size}) is larger than "
                         f"the data allow: {n} samples, smallest class {smallest}; "
                         f"choose batch_size <= {min(n, smallest * num_classes) // world_size}")


def _check_feedback(idx: torch.Tensor, logits_adv: torch.Tensor | None, y: torch.Tensor, num_classes: int) -> None:
    """Shapes of ``observe``'s arguments: idx (b,), logits_adv (b, num_classes), y (b,) in range."""
    if logits_adv is None:
        raise ValueError("CAT needs the logits on the adversarial examples of the drawn samples (logits_adv is None)")
    for name, t in (("idx", idx), ("logits_adv", logits_adv), ("y", y)):
        if not isinstance(t, torch.Tensor):
            raise TypeError(f"{name} must be a torch.Tensor, got {type(t).__name__}")
    if idx.dim() != 1 or y.dim() != 1:
        raise ValueError(f"idx and y must be 1-D, got shapes {tuple(idx.shape)} and {tuple(y.shape)}")
    if len(y) != len(idx):
        raise ValueError(f"y has {len(y)} labels but idx has {len(idx)} indices; they must match")
    if logits_adv.dim() != 2 or logits_adv.shape[0] != len(idx):
        raise ValueError(f"logits_adv has shape {tuple(logits_adv.shape)}; it must be (len(idx)={len(idx)}, "
                         f"num_classes={num_classes})")
    if logits_adv.shape[1] != num_classes:
        raise ValueError(f"logits_adv has {logits_adv.shape[1]} columns; it must have num_classes={num_classes}")
    if y.dtype.is_floating_point or y.dtype == torch.bool:
        raise TypeError(f"y must hold integer class labels, got dtype {y.dtype}")
    if len(y) and (int(y.min()) < 0 or int(y.max()) >= num_classes):
        raise ValueError(f"y holds labels outside [0, num_classes={num_classes}): min {int(y.min())}, "
                         f"max {int(y.max())}")


def _weights_array(value: torch.Tensor, n: int) -> np.ndarray:
    """Weights as a fresh float64 array of length n, all finite."""
    w = torch.as_tensor(value).detach().cpu().double().numpy().copy()
    if w.shape != (n,):
        raise ValueError(f"weights has shape {w.shape}; it must be ({n},), one weight per index")
    if not np.isfinite(w).all():
        raise ValueError("weights holds non-finite values; they must all be finite")
    return w
