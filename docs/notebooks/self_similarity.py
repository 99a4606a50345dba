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
# # Self-similarity: scaling collapse, multi-scale self-dissimilarity, dynamics across levels
#
# With which exponents does the data collapse, how self-similar is it across scales, and do
# its coarse-grained dynamics follow one rescaled law? Ground truth first (finite-size
# scaling of Ising curves), then a planted hierarchy and the retina.

# %%
import numpy as np
import rgdata
from rgdata.diagnostics import ms3d, ms3d_tree, prg_collapse, prg_dynamics, scaling_collapse
from rgdata.viz import plot_collapse, plot_dynamic_scaling, plot_ms3d

L = np.array([8.0, 16.0, 32.0, 64.0])
x = np.linspace(2.2, 2.34, 30)
u = (x[None, :] - 2.269) * L[:, None]  # planted x_c = 2.269, 1/nu = 1
y = L[:, None] ** 1.75 * (np.exp(-(u**2) / 4) + 0.3 / (1 + np.exp(-u)))  # gamma/nu = 1.75
dy = 0.02 * y
y = y + dy * np.random.default_rng(0).standard_normal(y.shape)
res = scaling_collapse(
    x,
    y,
    dy,
    L,
    initial={"x_c": 2.26, "b": 0.9, "a": 1.7},
    step={"x_c": 0.01},
    n_boot=60,
    random_state=0,
)
print(res[["value", "ci_low", "ci_high"]].to_dataframe())
plot_collapse(res)

# %% [markdown]
# ## MS3D of critical Ising configurations, against their null

# %%
cfg = rgdata.lattice.sample_ising(
    32, rgdata.lattice.exact.TC_2D, 100, algorithm="wolff", random_state=0
)
field = ms3d(cfg, n_null=3, random_state=0)
plot_ms3d(field)

# %% [markdown]
# ## The retina: collapse of the PRG spectra, MS3D along the PRG tree, dynamics across levels

# %%
retina = rgdata.stack_trials(rgdata.datasets.load_retina().isel(trial=slice(0, 10)))
prg_res = retina.rg.prg(random_state=0)
mu = prg_collapse(prg_res, "eigenvalues", n_boot=30, random_state=0)
print(mu[["value", "ci_low", "ci_high", "quality"]])
tree = ms3d_tree(retina, prg_res, n_null=3, random_state=0)
dyn = prg_dynamics(retina, prg_res, n_null=3, n_boot=50, random_state=0)
print(f"z = {float(dyn['z']):.2f} [{float(dyn['z_ci_low']):.2f}, {float(dyn['z_ci_high']):.2f}]")
plot_dynamic_scaling(dyn)
