"""Matrix product state classifier (Stoudenmire & Schwab 2016), trained by two-site sweeps.

The sweep is plain numpy (:mod:`rgdata.models._mps_kernels`): at each bond the
two-site tensor ``B`` is updated by gradient descent on the squared loss
``(1/2n) sum_n ||f(x_n) - y_n||^2`` (one-hot ``y``) with the left and right
environments of the training set cached, then split by an SVD truncated to
``chi`` singular values (and a relative-weight ``cutoff``); the label index
moves with the sweep. quimb (extra ``tn``) is used only by :meth:`MPSClassifier.to_quimb`,
an independent contraction of the trained network.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import xarray as xr

from .._progress import progress_bar
from .._validation import check_array, check_int, check_real, describe
from ._mps_kernels import contract, feature_map, merge_bond, split_bond
from ._protocol import RGModel

__all__ = ["MPSClassifier", "require_tn"]

TN_INSTALL_HINT = "pip install rgdata[tn]"


def require_tn(feature: str = "this feature") -> Any:
    """Import and return :mod:`quimb.tensor`, or raise an ImportError naming ``rgdata[tn]``.

    Examples
    --------
    >>> try:
    ...     qtn = require_tn("the example")
    ... except ImportError as err:
    ...     print("rgdata[tn]" in str(err))
    ... else:
    ...     print(True)
    True
    """
    try:
        import quimb.tensor as qtn
    except ImportError as err:
        raise ImportError(
            f"{feature} needs quimb, which is not installed; install the tensor-network "
            f"extra with `{TN_INSTALL_HINT}`"
        ) from err
    return qtn


def _check_inputs(X: Any, name: str = "X") -> tuple[np.ndarray, tuple[int, ...]]:
    """``(n, N)`` or ``(n, h, w)`` values in [0, 1] -> ``(n, N)`` floats and the image shape."""
    if isinstance(X, xr.DataArray):
        X = X.values
    arr = check_array(X, name, ndim=(2, 3)).astype(np.float64)
    if arr.shape[0] < 1 or arr[0].size < 2:
        raise ValueError(
            f"{name} must hold at least one sample of >= 2 features, got shape {arr.shape}"
        )
    lo, hi = float(arr.min()), float(arr.max())
    if lo < 0.0 or hi > 1.0:
        raise ValueError(
            f"{name} must lie in [0, 1] (the feature map [cos(pi x/2), sin(pi x/2)]), "
            f"got values in [{lo:g}, {hi:g}]; rescale it, e.g. X / X.max()"
        )
    return arr.reshape(arr.shape[0], -1), tuple(arr.shape[1:])


class MPSClassifier(RGModel):
    """Matrix product state classifier with the feature map ``[cos(pi x/2), sin(pi x/2)]``.

    Parameters
    ----------
    chi : int
        Maximum bond dimension (>= 1).
    cutoff : float
        Relative weight of singular values that may be discarded below ``chi``.
    n_sweeps : int
        Number of sweeps (each: left to right, then right to left).
    n_steps : int
        Conjugate-gradient steps on each two-site tensor per visit (few steps
        plus ``alpha`` regularise: the exact local minimum overfits and is
        then destroyed by the truncation).
    learning_rate : float
        Factor on each conjugate-gradient step (1 is the exact line minimum).
    alpha : float
        L2 penalty on the two-site tensor.
    random_state : int, Generator or None
        Seeds the initial label tensor.
    progress : bool
        Progress bar over sweeps.

    Attributes
    ----------
    tensors_ : list of ndarray
        Site tensors ``(D_left, 2, D_right)``; the one at ``label_site_``
        has a fourth (label) index.
    classes_ : ndarray
        The labels, in the order of the label index.
    truncation_error_ : ndarray
        ``(2 * n_sweeps, N - 1)`` discarded relative weight at each bond, per half sweep.
    singular_values_ : list of ndarray
        All singular values at each bond at its last SVD (before truncation).
    train_loss_ : ndarray
        Mean squared loss on the training set after each half sweep.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> X = rng.uniform(size=(200, 6))
    >>> y = (X[:, 2] > 0.5).astype(int)
    >>> clf = MPSClassifier(chi=4, n_sweeps=2, random_state=0).fit(X, y)
    >>> clf.score(X, y) > 0.95
    True
    """

    _fitted_attribute = "tensors_"
    _fit_call = "fit(X, y)"
    has_log_prob = False

    def __init__(
        self,
        chi: int = 10,
        *,
        cutoff: float = 1e-12,
        n_sweeps: int = 3,
        n_steps: int = 3,
        learning_rate: float = 1.0,
        alpha: float = 1e-3,
        random_state: Any = None,
        progress: bool = False,
    ) -> None:
        self.chi = chi
        self.cutoff = cutoff
        self.n_sweeps = n_sweeps
        self.n_steps = n_steps
        self.learning_rate = learning_rate
        self.alpha = alpha
        self.random_state = random_state
        self.progress = progress

    # ------------------------------------------------------------------ fit
    def _check_params(self) -> None:
        check_int(self.chi, "chi", min_value=1)
        check_real(self.cutoff, "cutoff", min_value=0.0, max_value=1.0)
        check_int(self.n_sweeps, "n_sweeps", min_value=1)
        check_int(self.n_steps, "n_steps", min_value=1)
        check_real(self.learning_rate, "learning_rate", min_value=0.0, strict_min=True)
        check_real(self.alpha, "alpha", min_value=0.0)

    def fit(self, X: Any, y: Any) -> MPSClassifier:
        """Train on inputs *X* ``(n, N)`` or images ``(n, h, w)`` in [0, 1] and labels *y*.

        Returns
        -------
        MPSClassifier
            ``self``.
        """
        self._reset_fit_state()
        self._check_params()
        Xf, shape = _check_inputs(X)
        y = np.asarray(y)
        if y.ndim != 1 or len(y) != len(Xf):
            raise ValueError(
                f"y must be 1-d with one label per sample of X ({len(Xf)}), got shape {y.shape}"
            )
        classes, yi = np.unique(y, return_inverse=True)
        if len(classes) < 2:
            raise ValueError(f"y must hold at least 2 classes, got {classes.tolist()}")
        rng, seed = self._seeded_rng(self.random_state)
        n, N = Xf.shape
        L = len(classes)
        Y = np.eye(L)[yi]
        phi = feature_map(Xf)

        # each site starts as the product-state weight w_j with w_j . phi(x_nj) ~ 1 (least
        # squares over the data), so every sample's environments start near 1; the label
        # tensor starts small and random (seeded)
        tensors = [
            np.linalg.lstsq(phi[:, j], np.ones(n), rcond=None)[0].reshape(1, 2, 1) for j in range(N)
        ]
        tensors[0] = 0.01 * rng.standard_normal((1, 2, 1, L))
        left = [np.ones((n, 1))] + [None] * N  # left[j]: sites < j
        right: list[Any] = [None] * (N + 1)  # right[j]: sites >= j
        right[N] = np.ones((n, 1))
        for j in range(N - 1, 0, -1):
            right[j] = np.einsum("ns,asb,nb->na", phi[:, j], tensors[j], right[j + 1])

        trunc = np.zeros((2 * self.n_sweeps, N - 1))
        svals: list[np.ndarray] = [np.zeros(1)] * (N - 1)
        losses = []
        bar = progress_bar(range(self.n_sweeps), enable=self.progress, desc="MPS sweeps")
        for sweep in bar:
            for half, order in enumerate((range(N - 1), range(N - 2, -1, -1))):
                to_right = half == 0
                for j in order:
                    B = merge_bond(tensors[j], tensors[j + 1], label_on_left=to_right)
                    B, loss = self._update(B, left[j], phi[:, j], phi[:, j + 1], right[j + 2], Y)
                    a, b, s, err = split_bond(B, int(self.chi), float(self.cutoff), to_right)
                    tensors[j], tensors[j + 1] = a, b
                    trunc[2 * sweep + half, j] = err
                    svals[j] = s
                    if to_right:
                        left[j + 1] = np.einsum("na,ns,asb->nb", left[j], phi[:, j], a)
                    else:
                        right[j + 1] = np.einsum("ns,asb,nb->na", phi[:, j + 1], b, right[j + 2])
                losses.append(loss)
        self.tensors_ = tensors
        self.label_site_ = 0
        self.classes_ = classes
        self.n_features_in_ = N
        self.image_shape_ = shape
        self.truncation_error_ = trunc
        self.singular_values_ = svals
        self.train_loss_ = np.asarray(losses)
        self.seed_ = seed
        self.n_samples_ = n
        return self

    def _update(
        self,
        B: np.ndarray,
        Le: np.ndarray,
        p1: np.ndarray,
        p2: np.ndarray,
        Re: np.ndarray,
        Y: np.ndarray,
    ) -> tuple[np.ndarray, float]:
        """Conjugate-gradient steps on the local squared loss; returns B and the loss before them.

        The loss restricted to one bond is quadratic in ``B``,
        ``(1/2n) ||Y - F W||^2 + (alpha/2) ||W||^2``; conjugate gradient (warm
        started at the current ``B``, one independent run per label column)
        reaches its minimum far faster than plain gradient descent when the
        environments are ill-conditioned, as they are after a few sweeps.
        """
        n = Le.shape[0]
        shape = B.shape
        pair = (p1[:, :, None] * p2[:, None, :]).reshape(n, 4)
        feats = (Le[:, :, None, None] * pair[:, None, :, None] * Re[:, None, None, :]).reshape(
            n, -1
        )
        alpha = float(self.alpha)
        W = B.reshape(-1, shape[-1])
        resid = Y - feats @ W
        loss = 0.5 * float(np.mean((resid**2).sum(1)))
        g = feats.T @ resid / n - alpha * W  # minus the gradient
        d = g.copy()
        gg = (g**2).sum(0)
        for _ in range(int(self.n_steps)):
            Fd = feats @ d
            curv = (Fd**2).sum(0) / n + alpha * (d**2).sum(0)
            a = np.where(curv > 0, gg / np.where(curv > 0, curv, 1.0), 0.0)
            W = W + float(self.learning_rate) * a * d
            g = g - float(self.learning_rate) * a * (feats.T @ Fd / n + alpha * d)
            gg_new = (g**2).sum(0)
            beta = np.where(gg > 0, gg_new / np.where(gg > 0, gg, 1.0), 0.0)
            d = g + beta * d
            gg = gg_new
        return W.reshape(shape), loss

    # ------------------------------------------------------------- predict
    def _features(self, X: Any) -> np.ndarray:
        self._check_fitted()
        Xf, _ = _check_inputs(X)
        if Xf.shape[1] != self.n_features_in_:
            raise ValueError(
                f"X has {Xf.shape[1]} features per sample but the MPS has "
                f"{self.n_features_in_} sites (image shape {self.image_shape_})"
            )
        return feature_map(Xf)

    def decision_function(self, X: Any) -> np.ndarray:
        """The MPS output ``f_l(x)`` for each sample and label, ``(n, n_classes)``."""
        return contract(self.tensors_, self.label_site_, self._features(X))

    def predict(self, X: Any) -> np.ndarray:
        """The label with the largest decision function."""
        return self.classes_[np.argmax(self.decision_function(X), axis=1)]

    def score(self, X: Any, y: Any) -> float:
        """Accuracy (fraction of correct predictions) on *X*, *y*."""
        return float(np.mean(self.predict(X) == np.asarray(y)))

    # -------------------------------------------------------------- protocol
    def sample(self, n: int, random_state: Any = None, *, label: Any = None) -> xr.DataArray:
        """Born-rule draws of binary inputs: ``p(x, l) ∝ f_l(x)^2`` on ``x ∈ {0, 1}^N``.

        The MPS read as an (unnormalised) wavefunction of binary pixels: each
        draw picks a label with probability ``Z_l / sum Z`` (or the given
        *label*) and then the pixels one by one from their exact conditional
        probabilities. A generative reading of a discriminatively trained
        network: useful as a picture of what each label's amplitude favours,
        not as a density model of the data.

        Returns
        -------
        xarray.DataArray
            ``(sample, site)`` int8 0/1 with coordinate ``label`` and attrs ``seed``.
        """
        self._check_fitted()
        n = check_int(n, "n", min_value=1)
        rng, seed = self._seeded_rng(random_state)
        classes = list(self.classes_)
        if label is not None and label not in classes:
            raise ValueError(f"label must be one of {classes}, got {describe(label)}")
        per_label = [self._label_mps(i) for i in range(len(classes))]
        envs = [self._norm_envs(t) for t in per_label]
        Z = np.array([e[0][0, 0] for e in envs])
        if label is None:
            labels = rng.choice(len(classes), size=n, p=Z / Z.sum())
        else:
            labels = np.full(n, classes.index(label))
        out = np.zeros((n, self.n_features_in_), dtype=np.int8)
        for li in np.unique(labels):
            rows = np.flatnonzero(labels == li)
            out[rows] = self._born_draw(per_label[li], envs[li], len(rows), rng)
        return xr.DataArray(
            out,
            dims=("sample", "site"),
            coords={"label": ("sample", np.asarray(self.classes_)[labels])},
            attrs={"seed": seed, "model": "MPSClassifier", "rule": "Born, p(x, l) ~ f_l(x)^2"},
        )

    def _label_mps(self, i: int) -> list[np.ndarray]:
        out = list(self.tensors_)
        out[self.label_site_] = out[self.label_site_][..., i]
        return out

    @staticmethod
    def _norm_envs(tensors: list[np.ndarray]) -> list[np.ndarray]:
        """``E[j] = sum_s A_j[:, s] E[j+1] A_j[:, s]^T``: right norm environments."""
        N = len(tensors)
        envs: list[Any] = [None] * (N + 1)
        envs[N] = np.ones((1, 1))
        for j in range(N - 1, -1, -1):
            A = tensors[j]
            envs[j] = np.einsum("asb,bc,dsc->ad", A, envs[j + 1], A)
        return envs

    @staticmethod
    def _born_draw(
        tensors: list[np.ndarray], envs: list[np.ndarray], n: int, rng: np.random.Generator
    ) -> np.ndarray:
        v = np.ones((n, 1))
        out = np.zeros((n, len(tensors)), dtype=np.int8)
        for j, A in enumerate(tensors):
            w = np.einsum("na,asb->nsb", v, A)
            p = np.einsum("nsb,bc,nsc->ns", w, envs[j + 1], w)
            p = np.clip(p, 0.0, None)
            p1 = p[:, 1] / p.sum(1)
            s = (rng.random(n) < p1).astype(np.int8)
            out[:, j] = s
            v = w[np.arange(n), s]
            v = v / np.linalg.norm(v, axis=1, keepdims=True)
        return out

    def to_dataset(self) -> xr.Dataset:
        """Tensors (zero-padded to ``chi``), bond dimensions, singular values, truncation errors."""
        self._check_fitted()
        N = self.n_features_in_
        D = max(max(t.shape[0], t.shape[2]) for t in self.tensors_)
        padded = np.zeros((N, D, 2, D))
        for j, t in enumerate(self.tensors_):
            if j != self.label_site_:
                padded[j, : t.shape[0], :, : t.shape[2]] = t
        lab = self.tensors_[self.label_site_]
        kmax = max(len(s) for s in self.singular_values_)
        sv = np.zeros((N - 1, kmax))
        for j, s in enumerate(self.singular_values_):
            sv[j, : len(s)] = s
        bond_dim = np.array([t.shape[2] for t in self.tensors_[:-1]], dtype=np.int64)

        def var(dims: tuple[str, ...], data: Any, units: str, description: str) -> xr.Variable:
            return xr.Variable(dims, data, attrs={"units": units, "description": description})

        return xr.Dataset(
            {
                "tensors": var(
                    ("site", "bond_left", "phys", "bond_right"),
                    padded,
                    "1",
                    "site tensors A[j] (zero-padded; the label site's is in label_tensor)",
                ),
                "label_tensor": var(
                    ("label_bond_left", "phys", "label_bond_right", "label"),
                    lab,
                    "1",
                    "tensor of the label site, with the label index",
                ),
                "bond_dim": var(("bond",), bond_dim, "1", "bond dimension between site j, j+1"),
                "singular_values": var(
                    ("bond", "sv"),
                    sv,
                    "1",
                    "all singular values at each bond's last SVD, before truncation (zero-padded)",
                ),
                "truncation_error": var(
                    ("half_sweep", "bond"),
                    self.truncation_error_,
                    "1",
                    "discarded relative weight sum s_dropped^2 / sum s^2 at each SVD",
                ),
                "train_loss": var(
                    ("half_sweep",),
                    self.train_loss_,
                    "1",
                    "mean squared loss (1/2n) sum ||f - y||^2 at the last bond of each half sweep",
                ),
            },
            coords={"label": np.asarray(self.classes_)},
            attrs={
                "model": "MPSClassifier",
                "feature_map": "[cos(pi x/2), sin(pi x/2)]",
                "chi": int(self.chi),
                "cutoff": float(self.cutoff),
                "n_sweeps": int(self.n_sweeps),
                "n_steps": int(self.n_steps),
                "learning_rate": float(self.learning_rate),
                "alpha": float(self.alpha),
                "label_site": int(self.label_site_),
                "n_samples": int(self.n_samples_),
                "n_features": int(N),
                "seed": int(self.seed_),
            },
        )

    def to_quimb(self) -> Any:
        """The trained network as a :class:`quimb.tensor.TensorNetwork` (needs ``rgdata[tn]``).

        Site tensor ``j`` has indices ``b{j}`` (left bond), ``k{j}`` (physical)
        and ``b{j+1}`` (right bond); the label site also has ``label``.
        Contract it with product-state feature vectors on ``k{j}`` to get
        ``f_l(x)`` independently of :meth:`decision_function`.
        """
        self._check_fitted()
        qtn = require_tn("MPSClassifier.to_quimb")
        ts = []
        for j, t in enumerate(self.tensors_):
            inds = (f"b{j}", f"k{j}", f"b{j + 1}") + (("label",) if t.ndim == 4 else ())
            ts.append(qtn.Tensor(t, inds=inds, tags={f"I{j}"}))
        return qtn.TensorNetwork(ts)
