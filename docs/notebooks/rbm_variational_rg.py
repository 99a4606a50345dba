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
# # RBMs as variational RG: did the machine learn block spins?
#
# Mehta & Schwab (2014) map a stack of restricted Boltzmann machines onto variational
# renormalization. Here an RBM with 16 hidden units learns 8x8 critical Ising configurations
# (a 4:1 reduction, the size of 2x2 blocking), and we measure, with error bars and nulls,
# whether its hidden units are local, whether they copy majority-rule block spins, and where
# the "RBM flow" of Iso, Shiba & Yokoo (2018) goes.

# %%
from rgdata.lattice import exact, sample_ising
from rgdata.models import RBM
from rgdata.models.rbm_measures import (
    block_copy_rbm,
    block_overlap,
    rbm_flow,
    receptive_fields,
)

cfg = sample_ising(8, exact.TC_2D, 1000, algorithm="wolff", random_state=0)
rbm = RBM(n_hidden=16, l1=1e-3, n_epochs=20, random_state=0).fit(cfg)
print("reconstruction error per epoch:", rbm.reconstruction_error_.round(3))

# %% [markdown]
# **Receptive fields.** `locality` is the largest fraction of a hidden unit's |W| inside any
# 2x2 block; uniform weights give 4/64.

# %%
rf = receptive_fields(rbm, b=2)
print(
    f"locality {float(rf.locality_mean):.3f} +- {float(rf.locality_err):.3f} "
    f"(uniform null {float(rf.locality_null):.4f}); spread {float(rf.spread_mean):.2f} "
    f"+- {float(rf.spread_err):.2f} lattice spacings (uniform {float(rf.spread_null):.2f})"
)

# %% [markdown]
# **Block spins.** Hidden units are placed one-to-one on the 4x4 block lattice by their
# receptive fields and sign-aligned; the overlap of their samples with the majority-rule
# block spins is compared with the overlap with blocks half a lattice away. An RBM built to
# copy blocks (`block_copy_rbm`) is the reference: its overlap is 1 up to the majority rule's
# coin flips on tied 2x2 blocks.

# %%
for name, model in (("trained", rbm), ("block copy", block_copy_rbm(rbm, 2))):
    ov = block_overlap(model, cfg, b=2, random_state=1)
    print(
        f"{name:10s} overlap {float(ov.overlap_mean):.3f} +- {float(ov.overlap_err):.3f}; "
        f"null {float(ov.overlap_null):.3f} +- {float(ov.overlap_null_err):.3f}"
    )

# %% [markdown]
# **The RBM flow.** Start from configurations far from T_c and reconstruct repeatedly; the
# temperature is read from the exact energy of the 8x8 torus.

# %%
for t0 in (1.8, 3.5):
    start = sample_ising(8, t0, 200, algorithm="wolff", random_state=2)
    flow = rbm_flow(rbm, start, n_steps=10, random_state=3)
    path = ", ".join(f"{t:.2f}" for t in flow.temperature.values)
    print(f"from T = {t0}: {path}  (T_c = {exact.TC_2D:.3f})")

# %% [markdown]
# The learned weights themselves (each panel one hidden unit's W on the 8x8 lattice; red
# positive, blue negative): most units see the whole lattice (the magnetisation) with a
# local bump, which is what the locality numbers above say.

# %%
import matplotlib.pyplot as plt

fig, axes = plt.subplots(4, 4, figsize=(6, 6))
limit = abs(rbm.weights_).max()
for j, ax in enumerate(axes.flat):
    ax.imshow(rbm.weights_[:, j].reshape(8, 8), cmap="RdBu_r", vmin=-limit, vmax=limit)
    ax.set_axis_off()
fig
