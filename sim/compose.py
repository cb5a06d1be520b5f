"""Compose the run config from ``conf/`` the way the CLI does, for use from Python."""

from __future__ import annotations

from pathlib import Path

from omegaconf import DictConfig

CONF_DIR = Path(__file__).resolve().parent.parent / "conf"


def compose_config(overrides: list[str] | tuple[str, ...] = ()) -> DictConfig:
    """The config `python -m experiments.run <overrides>` would run, without Hydra's own node.

    Raises Hydra's exceptions for unknown groups or keys; ``experiments.run`` turns them into
    one-line errors.
    """
    from hydra import compose, initialize_config_dir
    from hydra.core.global_hydra import GlobalHydra

    if GlobalHydra.instance().is_initialized():
        GlobalHydra.instance().clear()
    with initialize_config_dir(config_dir=str(CONF_DIR), version_base="1.3"):
        cfg = compose(config_name="config", overrides=list(overrides))
    return cfg
