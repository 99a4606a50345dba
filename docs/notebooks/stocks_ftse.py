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
# # Stock returns: 56 US large caps and 64 FTSE 100 stocks
#
# Daily log returns, shipped with rgdata (splits and one-day glitches corrected; what was
# corrected is in `attrs`). Dates stay dates all the way to the figures.

# %%
import rgdata

stocks = rgdata.datasets.load_stocks()
ftse = rgdata.datasets.load_ftse100()
stocks.sizes, ftse.sizes, str(stocks["time"].values[0])[:10]

# %%
rgdata.viz.plot_activity(stocks, max_time=250)

# %% [markdown]
# ## Exponents of the US panel with their nulls

# %%
res = stocks.rg.nulls(nulls=("shuffle", "circular_shift"), n_surrogates=3, random_state=0)
res[["exponent", "exponent_ci_low", "exponent_ci_high"]].sel(null="data").to_dataframe()

# %%
res.rg.plot("variance")

# %% [markdown]
# ## Momentum space: how Gaussian are the coarse-grained returns?

# %%
mom = ftse.rg.momentum(direction="both")
mom["fourth_moment_median"].to_dataframe()

# %%
mom.rg.plot()
