# ---
# jupyter:
#   jupytext:
#     formats: py:percent
#     text_representation:
#       extension: .py
#       format_name: percent
#   kernelspec:
#     display_name: Python 3
#     language: python
#     name: python3
# ---

# %% [markdown]
# # Outcome distributions of a policy sweep
#
# The summary metrics (`runs.parquet`) give one number per run; this notebook looks at the
# distributions behind them: response times by priority, days to settle a dispute, and how
# busy the district is hour by hour, for every variant of a sweep.
#
# Make a sweep first, e.g.
#
# ```sh
# python -m experiments.run -m scenario=small_district sim.days=30 \
#     policy=baseline,fewer_parttime 'seed=range(5)' hydra.sweep.dir=results/sweeps/parttime
# ```
#
# then open this file as a notebook (`jupytext --to notebook` or JupyterLab with jupytext),
# or run it as a script: `SWEEP=results/sweeps/parttime python notebooks/outcome_distributions.py`.
# Columns are described in `docs/data-dictionary.md`.

# %%
import os
from pathlib import Path

import matplotlib

try:
    get_ipython()  # noqa: F821 (defined in Jupyter and IPython only)
except NameError:
    matplotlib.use("Agg")   # run as a script: write the figures, open no window
import matplotlib.pyplot as plt
import pandas as pd
import seaborn as sns

from experiments.analysis.collect import load_long_table, load_runs

SWEEP = Path(os.environ.get("SWEEP", "results/sweeps/parttime"))
FIGURES = Path(os.environ.get("FIGURES", SWEEP / "figures" / "notebook"))
FIGURES.mkdir(parents=True, exist_ok=True)

# %% [markdown]
# ## The runs
# One row per run; `load_runs` collects the sweep first if it has never been collected, or if
# runs finished (or were removed) since. Swept settings come back typed, so numbers sort as
# numbers.

# %%
runs = load_runs(SWEEP)
variants = list(dict.fromkeys(runs["variant"]))
per_variant = runs.groupby("variant", sort=False)[
    ["response_p90_min_p1", "time_to_settle_p90_days", "mediation_success_rate"]].mean()
print(f"{len(runs)} runs, {len(variants)} variants, seeds {sorted(runs['seed'].unique())}")
print(per_variant)

# %% [markdown]
# ## Response times
# Report to arrival, in minutes, per priority. An incident handed to the backup force has no
# arrival (a null `t_arrived`) and is left out here; one still waiting at the end too (the
# summary metrics count it with its wait so far).

# %%
incidents = load_long_table(SWEEP, "incidents.parquet")
reported = incidents[incidents["source"] != "patrol"].copy()
reported["response_min"] = reported["t_arrived"] - reported["t_reported"]
reached = reported.dropna(subset=["response_min"])
grid = sns.displot(data=reached, x="response_min", hue="variant", col="priority",
                   kind="ecdf", height=3, aspect=1.1, hue_order=variants,
                   facet_kws={"sharex": False})
grid.set_axis_labels("minutes from report to arrival", "share of incidents")
grid.savefig(FIGURES / "response_ecdf.png", dpi=100)
print(reached.groupby(["variant", "priority"], observed=True)["response_min"].describe(
    percentiles=[0.5, 0.9]))

# %% [markdown]
# ## Days to settle
# Settled disputes only; `outcome` is a categorical with every possible outcome, so the shares
# below list outcomes no run reached as 0.

# %%
disputes = load_long_table(SWEEP, "disputes.parquet")
settled = disputes[disputes["outcome"] == "settled"].copy()
settled["days"] = (settled["t_closed"] - settled["t_raised"]) / 1440
fig, ax = plt.subplots(figsize=(6, 3))
sns.ecdfplot(data=settled, x="days", hue="variant", hue_order=variants, ax=ax)
ax.set_xlabel("days from raised to settled")
ax.set_ylabel("share of settled disputes")
fig.tight_layout()
fig.savefig(FIGURES / "days_to_settle.png", dpi=100)
print(pd.crosstab(disputes["variant"], disputes["outcome"], normalize="index", dropna=False))

# %% [markdown]
# ## The district hour by hour
# Open disputes and busy police units over time, mean over seeds.

# %%
ts = load_long_table(SWEEP, "timeseries.parquet")
hourly = ts.groupby(["variant", "day"], observed=True)[
    ["open_disputes", "busy_units_police"]].mean().reset_index()
fig, axes = plt.subplots(1, 2, figsize=(10, 3))
for ax, column in zip(axes, ["open_disputes", "busy_units_police"], strict=True):
    sns.lineplot(data=hourly, x="day", y=column, hue="variant", hue_order=variants, ax=ax)
fig.tight_layout()
fig.savefig(FIGURES / "timeseries.png", dpi=100)
print(f"figures in {FIGURES}")
