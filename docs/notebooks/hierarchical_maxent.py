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
# # Hierarchical maximum entropy on the retina, and the parameter flow it implies
#
# The multilevel objective (Asadi 2025) fitted to data: the coarse-graining tree comes from
# PRG's clusters, the multipliers beta are found by minimising the convex dual, with
# jackknife errors and residuals in data standard errors; the per-level couplings then feed
# `rgdata.flow.estimate_flow`. Ten repeats of the movie keep this quick.

# %%
import numpy as np
import rgdata
from rgdata.maxent import HierarchicalMaxEntFit, hierarchical_flow, prg_tree
from rgdata.viz import plot_hierarchical_statistics

act = rgdata.stack_trials(rgdata.datasets.load_retina().isel(trial=slice(0, 10)))
res = act.rg.prg(random_state=0)
tree = prg_tree(res, max_level=4)
fit = HierarchicalMaxEntFit(np.ones(5), statistics="tree", n_blocks=10).fit(act, tree=tree)
print(f"converged: {fit.converged_}; largest residual {fit.residual_:.2f} data SE")
fit.to_dataset()

# %%
flow = hierarchical_flow(fit, parameters=["sibling"])
flow

# %%
plot_hierarchical_statistics(fit.to_dataset())  # fitted model per level against the data
