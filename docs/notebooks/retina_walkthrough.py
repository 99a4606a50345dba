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
# # The salamander retina, from spikes to exponents, nulls, maxent and flows
#
# 160 ganglion cells, 297 repeats of a natural movie, 20 ms bins (Marre et al. 2012,
# Tkacik et al. 2014), shipped with rgdata. This notebook uses the first 30 repeats so
# that it runs in about a minute; the canonical report (`make report`) uses all of them.

# %%
import rgdata

retina = rgdata.datasets.load_retina()
act = rgdata.stack_trials(retina.isel(trial=slice(0, 30)))
act.sizes

# %% [markdown]
# ## Real-space PRG with its nulls
#
# `act.rg.nulls()` is `rgdata.diagnostics.run_with_nulls`: PRG and the exponent fits on the
# data and on several draws of each null (here 3 draws of two nulls to keep it quick; the
# default is 10 draws of three). Every exponent comes with its 95% CI, every null with the
# 95% band where one more draw would fall.

# %%
res = act.rg.nulls(nulls=("shuffle", "circular_shift"), n_surrogates=3, random_state=0)
res[["exponent", "exponent_ci_low", "exponent_ci_high"]].sel(exponent_name="alpha").to_dataframe()

# %%
fig = res.rg.plot("variance")  # data and nulls, the stored fits and their intervals in the legend
fig

# %% [markdown]
# ## Momentum-space RG
#
# The fourth moment of the coarse-grained variables as fewer modes are kept (Gaussian: 3),
# with its 95% CI from time blocks.

# %%
mom = act.rg.momentum()
mom[["fourth_moment_median", "fourth_moment_median_ci_low", "fourth_moment_median_ci_high"]]

# %%
mom.rg.plot()

# %% [markdown]
# ## Pairwise maximum entropy on 12 cells
#
# Exact fit (enumeration of 2^12 states); the residuals are in data standard errors.

# %%
from rgdata.maxent import PairwiseMaxEnt

small = act.isel(unit=slice(0, 12))
model = PairwiseMaxEnt(method="exact").fit(small)
print(f"largest residual: {model.residual_:.2f} standard errors")
from rgdata.viz import plot_maxent_summary

plot_maxent_summary(model.to_dataset(), model.goodness_of_fit(small))

# %% [markdown]
# ## The coupling flow across PRG levels
#
# Mean pairwise coupling of random clusters at each level, with its null, and the fitted
# RG map with its fixed point.

# %%
from rgdata.flow import prg_coupling_flow, prg_couplings
from rgdata.viz import plot_flow_levels

couplings = prg_couplings(act, n_clusters=6, n_blocks=5, random_state=0)
flow = prg_coupling_flow(couplings, random_state=0)
plot_flow_levels(flow) if flow is not None else couplings
