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
# # The 2D Ising model: ground truth for every tool
#
# Configurations at the critical temperature from rgdata's Wolff sampler, checked against
# Kaufman's exact finite-torus energy; block spins; Swendsen's Monte Carlo RG eigenvalues
# against the exact y_t = 1 and y_h = 15/8.

# %%
from rgdata.lattice import block_spins, exact, ising_observables, mcrg, sample_ising
from rgdata.viz import plot_block_snapshots, plot_mcrg_exponents

cfg = sample_ising(32, exact.TC_2D, 400, algorithm="wolff", random_state=0)
obs = ising_observables(cfg)
u_exact = exact.energy_per_site(exact.TC_2D, L=32)
print(
    f"energy per site {float(obs['energy']):.4f} +- {float(obs['energy_err']):.4f}; "
    f"Kaufman {u_exact:.4f}"
)

# %%
levels = [cfg]
for _ in range(3):
    levels.append(block_spins(levels[-1], b=2, rule="majority", random_state=0))
plot_block_snapshots(levels)

# %%
rg = mcrg(cfg, levels=2)
plot_mcrg_exponents(rg)
