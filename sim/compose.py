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
        value = re.search(r"use \+\S+?=(.*)$", text, re.MULTILINE)
        return unknown_key(key, value.group(1) if value else "...")
    lines = text.splitlines()
    return lines[0] if lines else type(exc).__name__


def unknown_key(key: str, value: str = "...") -> str:
    """Why `key=value` could not be set, and how to set it if the schema knows the key."""
    import difflib

    from sim.config import schema_paths

    known = schema_paths()
    if key in known or any(key.startswith(p + ".") for p in known if known[p] == "table"):
        return (f"{key}: a real setting, but the composed YAML does not list it; "
                f"add it with ++{key}={value}")
    close = difflib.get_close_matches(key, list(known), n=1)
    hint = f"did you mean {close[0]}?" if close else "see python -m experiments.params"
    return f"{key}: unknown key ({hint})"


def compose_config(overrides: list[str] | tuple[str, ...] = (),
                   config_name: str = "config") -> DictConfig:
    """The config `python -m experiments.run <overrides>` would run, without Hydra's own node.

    An unknown group option, an unknown key or a malformed override raises ``ConfigError``
    with one line naming it.
    """
    from hydra import compose, initialize_config_dir
    from hydra.core.global_hydra import GlobalHydra
    from hydra.errors import HydraException
    from omegaconf.errors import OmegaConfBaseException

    import sim.config  # noqa: F401  (registers the schema's defaults with Hydra)

    if isinstance(overrides, str) or not all(isinstance(o, str) for o in overrides):
        raise ConfigError(f"overrides: must be a list of strings such as ['sim.days=2'], "
                          f"got {overrides!r}"[:200])
    if GlobalHydra.instance().is_initialized():
        GlobalHydra.instance().clear()
    try:
        with initialize_config_dir(config_dir=str(CONF_DIR), version_base="1.3"):
            return compose(config_name=config_name, overrides=list(overrides))
    except (HydraException, OmegaConfBaseException) as exc:
        raise ConfigError(explain(exc)) from None
