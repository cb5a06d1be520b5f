"""Compose the run config from ``conf/`` the way the CLI does, for use from Python."""

from __future__ import annotations

import re
from pathlib import Path

from omegaconf import DictConfig

from sim.config import ConfigError

CONF_DIR = Path(__file__).resolve().parent.parent / "conf"


def explain(exc: BaseException) -> str:
    """One line for a Hydra/OmegaConf composition error, naming the group or key at fault."""
    text = str(exc).strip()
    found = re.search(r"Could not find '([^'/]+)/([^']+)'", text)
    if found:
        group, option = found.groups()
        options = sorted(p.stem for p in (CONF_DIR / group).glob("*.yaml"))
        return f"{group}: unknown option '{option}'; allowed: {', '.join(options)}"
    if text.startswith("Could not override '"):
        key = text.split("'")[1]
        return f"{key}: unknown key (check the spelling against conf/ or the README)"
    lines = text.splitlines()
    return lines[0] if lines else type(exc).__name__


def compose_config(overrides: list[str] | tuple[str, ...] = ()) -> DictConfig:
    """The config `python -m experiments.run <overrides>` would run, without Hydra's own node.

    An unknown group option, an unknown key or a malformed override raises ``ConfigError``
    with one line naming it.
    """
    from hydra import compose, initialize_config_dir
    from hydra.core.global_hydra import GlobalHydra
    from hydra.errors import HydraException
    from omegaconf.errors import OmegaConfBaseException

    if GlobalHydra.instance().is_initialized():
        GlobalHydra.instance().clear()
    try:
        with initialize_config_dir(config_dir=str(CONF_DIR), version_base="1.3"):
            return compose(config_name="config", overrides=list(overrides))
    except (HydraException, OmegaConfBaseException) as exc:
        raise ConfigError(explain(exc)) from None
