# ---
# jupyter:
#   jupytext:
#     formats: py:percent
#   kernelspec:
#     display_name: Python 3
#     language: python
#     name: python3
#   language_info:
#     name: python
#     pygments_lexer: ipython3
# ---

# %% [markdown]
# # Tensor networks: an MPS classifier on digits, a tree as a learned coarse-graining
#
# `MPSClassifier` is the Stoudenmire-Schwab matrix product state classifier; `chi` is its
# bond dimension. `TreeTensorNetwork` merges neighbouring features level by level,
# keeping the top `bond_dim` eigenvectors of each pair's density matrix. See
# docs/tensor_networks.md for the validation and the full-size numbers.

# %%
import numpy as np
from sklearn.datasets import load_digits
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import train_test_split

from rgdata.models.mps import MPSClassifier
from rgdata.models.ttn import TreeTensorNetwork
from rgdata.viz._axes import new_figure

digits = load_digits()
X, y = digits.data / 16.0, digits.target  # 8x8 images rescaled to [0, 1]
Xtr, Xte, ytr, yte = train_test_split(X, y, test_size=0.25, random_state=0, stratify=y)
n_test = len(yte)

# %% [markdown]
# Test error against chi (two sweeps to stay quick), next to logistic regression; the error
# bars are binomial standard errors over the 450 test images.

# %%
chis = [2, 4, 8]
errors = []
for chi in chis:
    clf = MPSClassifier(chi=chi, n_sweeps=2, random_state=0).fit(Xtr, ytr)
    errors.append(1 - clf.score(Xte, yte))
logreg = 1 - LogisticRegression(max_iter=2000).fit(Xtr, ytr).score(Xte, yte)
errors = np.array(errors)
bars = np.sqrt(errors * (1 - errors) / n_test)
for chi, e, b in zip(chis, errors, bars, strict=True):
    print(f"chi = {chi}: test error {e:.3f} +- {b:.3f}")
print(f"logistic regression: {logreg:.3f}")

# %% [markdown]
# The tree: the fraction of each pair's fidelity kept at every level, with bond
# dimension 2 (the level-1 pairs are horizontal neighbours in the raster order).

# %%
ttn = TreeTensorNetwork(bond_dim=2).fit(X)
retained = ttn.to_dataset().retained_mean.values
for level, r in enumerate(retained, start=1):
    print(f"level {level}: retained fraction {r:.4f}")

# %%
fig = new_figure(figsize=(9, 3.5))
ax1, ax2 = fig.subplots(1, 2)
ax1.errorbar(chis, errors, yerr=bars, marker="o", label="MPS")
ax1.axhline(logreg, color="k", ls="--", label="logistic regression")
ax1.set(xlabel="bond dimension chi", ylabel="test error", xscale="log", title="digits")
ax1.legend()
ax2.plot(np.arange(1, len(retained) + 1), retained, marker="o")
ax2.set(xlabel="tree level", ylabel="retained fraction", title="tree tensor network")
fig
