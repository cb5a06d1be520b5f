"""A real sweep folder made in-process: what ``experiments.run -m`` leaves for collect to read
(``.hydra/overrides.yaml``, the run's files, ``DONE``), without a Hydra multirun's start-up."""

from __future__ import annotations

from pathlib import Path

import yaml

from sim import Simulation


def make_real_sweep(root: Path, variants: list[list[str]], seeds=(0, 1),
                    common: tuple[str, ...] = ("scenario=small_district", "sim.days=3")) -> Path:
    """One job folder per (variant, seed), numbered in that order, as Hydra numbers them."""
    job = 0
    for variant in variants:
        for seed in seeds:
            overrides = [*common, *variant, f"seed={seed}"]
            folder = root / str(job)
            (folder / ".hydra").mkdir(parents=True)
            (folder / ".hydra" / "overrides.yaml").write_text(yaml.safe_dump(overrides))
            Simulation.from_overrides(["sim.progress=false", *overrides]).run().write(folder)
            job += 1
    return root
