"""Compose the run config from ``conf/`` the way the CLI does, for use from Python."""

from __future__ import annotations

import re
from pathlib import Path

from omegaconf import DictConfig

from sim.config import ConfigError

CONF_DIR = Path(__file__).resolve().parent.parent / "conf"
_OPTION = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]*$")
# A file name is at most 255 bytes on the usual file systems; leave room for Hydra's suffixes.
MAX_DIRNAME_BYTES = 200


def safe_dirname(text: str) -> str:
    """One folder name for a sweep job from its overrides (``hydra.job.override_dirname``).

    Override values may hold ``/``, ``..`` or control characters (a description, a path),
    which would nest the job folder or move it out of the sweep dir, where ``collect`` does
    not look.  Those characters are percent-encoded, so distinct overrides keep distinct
    folders; a name too long for the file system keeps its start and a hash of the whole.
    """
    import hashlib

    text = str(text)
    out = []
    for i, ch in enumerate(text):
        if (ch in "/\\%" or ord(ch) < 32 or ord(ch) == 127 or 0xD800 <= ord(ch) < 0xE000
                or (i == 0 and ch == ".")):
            # (lone surrogates: bytes of a command line that were not UTF-8)
            out.append("".join(f"%{b:02X}" for b in ch.encode("utf-8", "surrogateescape")))
        else:
            out.append(ch)
    name = "".join(out)
    if len(name.encode("utf-8")) > MAX_DIRNAME_BYTES:
        digest = hashlib.sha256(name.encode("utf-8")).hexdigest()[:16]
        head = name.encode("utf-8")[:MAX_DIRNAME_BYTES - 17].decode("utf-8", "ignore")
        name = f"{head}~{digest}"
    return name


def _register_resolvers() -> None:
    from omegaconf import OmegaConf

    # conf/config.yaml: hydra.sweep.subdir: ${safe_dirname:${hydra.job.override_dirname}}
    OmegaConf.register_new_resolver("safe_dirname", safe_dirname, replace=True)
    # conf/config.yaml: hydra.run.dir is output.dir when it is set (oc.select keeps a null).
    OmegaConf.register_new_resolver("set_or", lambda value, default: default if value is None
                                    else value, replace=True)


_register_resolvers()


def explain(exc: BaseException) -> str:
    """One line for a Hydra/OmegaConf composition error, naming the group or key at fault."""
    text = str(exc).strip()
    override = getattr(exc, "override", None)
    if isinstance(override, str):      # Hydra's parser could not read an override
        key = override.split("=", 1)[0].lstrip("+~").strip()[:100] or "override"
        problem = text.splitlines()[0] if text else "not a valid override"
        if problem.startswith("LexerNoViableAltException"):
            problem = "a character it cannot read there"
        return (f"{key}: cannot read the override {override[:100]!r} ({problem}); write "
                f"key=value, and quote a value with spaces or brackets: key='a b'")
    found = re.search(r"Could not (?:find|load) '([^']+)/([^'/]*)'", text)
    if found:
        group, option = found.groups()
        listed = re.search(rf"Available options in '{re.escape(group)}':\n((?:\t.*\n?)+)", text)
        options = ([o.strip() for o in listed.group(1).splitlines() if o.strip()] if listed
                   else sorted(p.stem for p in (CONF_DIR / group).glob("*.yaml")))
        options = [o for o in options if o != "schema"]
        return f"{group}: unknown option {option[:100]!r}; allowed: {', '.join(options)}"
    if text.startswith("Could not override '"):
        key = text.split("'")[1]
        value = re.search(r"use \+\S+?=(.*)$", text, re.MULTILINE)
        return unknown_key(key, value.group(1) if value else "...")
    found = re.match(r"Could not append to config\. An item is already at '([^']+)'", text)
    if found:
        key = found.group(1)
        return f"{key}: already set; drop the + ({key}=...) or write ++{key}=... to replace it"
    found = re.match(r"(?:Sweep parameters|Ambiguous value for argument) '([^=']+)=(.*)'", text)
    if found:
        key, value = found.groups()
        return f"{key}: {value[:100]} is a sweep over several values; run it with -m (--multirun)"
    found = re.match(r"Could not delete from config\. '([^']+)' does not exist", text)
    if found:
        return f"{found.group(1)}: not set (null), so there is nothing to delete"
    found = re.match(r"Could not delete from config\. The value of '([^']+)' is", text)
    if found:
        key = found.group(1)
        return (f"{key}: ~{key}=<value> deletes it only if it has that value; write ~{key} "
                f"to delete it whatever it holds")
    found = re.match(r"Error merging override ([^=]+)=(.*)", text)
    if found:
        key, value = found.groups()
        return (f"{key}: cannot be set to {value[:100]} (it holds several settings: set them "
                f"one by one, as {key}.<setting>=...)")
    lines = text.splitlines()
    return lines[0] if lines else type(exc).__name__


def _group_values(overrides: list[str]) -> str | None:
    """A config group (scenario=, policy=, +experiment=) given something other than an option
    name; Hydra's own error for it names no key."""
    from hydra.core.override_parser.overrides_parser import OverridesParser
    from hydra.errors import HydraException

    try:
        parsed = OverridesParser.create().parse_overrides(list(overrides))
    except HydraException:
        return None         # compose() reports it, with the override
    for override in parsed:
        group = override.key_or_group
        if override.package is not None or not (CONF_DIR / group).is_dir():
            continue
        value = override.value()
        names = value if isinstance(value, list) else [value]
        if override.is_sweep_override():
            try:
                names = list(override.sweep_string_iterator())
            except Exception:   # glob() needs the config loader: leave it to Hydra
                continue
        # An option is a file name in its folder: '../x' or '/etc/x' would load any YAML.
        bad = [v for v in names if not isinstance(v, str) or not _OPTION.match(v)]
        if not bad:
            continue
        options = sorted(p.stem for p in (CONF_DIR / group).glob("*.yaml"))
        listed = "" if group.startswith("hydra") else f" ({', '.join(options)})"
        return f"{group}: must be the name of an option{listed}, got {repr(bad[0])[:100]}"
    return None


def unknown_key(key: str, value: str = "...") -> str:
    """Why `key=value` could not be set, and how to set it if the schema knows the key."""
    import difflib

    from sim.config import schema_paths

    known = schema_paths()
    spelled, kind, parent = _schema_spelling(key, known)
    if spelled is None:
        if known.get(parent) == "table":
            return f"{key}: unknown key ({parent} is a table of numbers: {parent}.<name>=...)"
        allowed = _children(parent, known)
        close = difflib.get_close_matches(key.rsplit(".", 1)[-1], allowed, n=1)
        if close:
            return f"{key}: unknown key (did you mean {close[0]}?)"
        return f"{key}: unknown key; allowed keys here: {', '.join(allowed) or '(none)'}"
    given = _parsed_value(key, value)
    if isinstance(given, dict) and kind in ("model", "entry"):
        allowed = _children(spelled, known)
        unknown = [k for k in given if str(k) not in allowed]
        if allowed and unknown:
            return f"{key}.{unknown[0]}: unknown key; allowed keys here: {', '.join(allowed)}"
    if kind == "table":
        return (f"{key}: a table; entries it does not have yet are added with ++, as in "
                f"++{key}={value} or ++{key}.<name>=...")
    if kind == "entry":
        return (f"{key}: a new entry of {key.rsplit('.', 1)[0]}; add it with ++{key}={value}")
    return (f"{key}: a real setting, but the composed config does not list it; "
            f"add it with ++{key}={value}")


def _schema_spelling(key: str, known: dict[str, str]) -> tuple[str | None, str, str]:
    """(the schema's path for `key`, with a table's entries written <name>; its kind: leaf,
    model, table or entry; the deepest known parent).  The path is None for an unknown key."""
    path, parts = "", key.lstrip("+~").split(".")
    for i, part in enumerate(parts):
        candidate = f"{path}.{part}" if path else part
        if candidate in known:
            path = candidate
            continue
        if known.get(path) == "table":
            entry = f"{path}.<name>"
            if any(p.startswith(entry + ".") for p in known):
                path = entry          # an entry of a table of models (scenario.units.police)
                continue
            if i == len(parts) - 1:
                return entry, "entry", path   # an entry of a table of numbers
        return None, "", path
    return path, "entry" if path.endswith("<name>") else known[path], path


def _children(path: str, known: dict[str, str]) -> list[str]:
    prefix = f"{path}." if path else ""
    return [p[len(prefix):] for p in known
            if p.startswith(prefix) and "." not in p[len(prefix):]]


def _parsed_value(key: str, value: str):
    """The value of an override as Hydra reads it, or None if it cannot be read."""
    from hydra.core.override_parser.overrides_parser import OverridesParser

    try:
        return OverridesParser.create().parse_override(f"{key}={value}").value()
    except Exception:   # a value Hydra itself rejected: the caller's message is enough
        return None


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

    if not isinstance(overrides, (list, tuple)) or not all(isinstance(o, str) for o in overrides):
        raise ConfigError(f"overrides: must be a list of strings such as ['sim.days=2'], "
                          f"got {overrides!r}"[:200])
    problem = _group_values(overrides)
    if problem is not None:
        raise ConfigError(problem)
    if GlobalHydra.instance().is_initialized():
        GlobalHydra.instance().clear()
    try:
        with initialize_config_dir(config_dir=str(CONF_DIR), version_base="1.3"):
            return compose(config_name=config_name, overrides=list(overrides))
    except (HydraException, OmegaConfBaseException) as exc:
        raise ConfigError(explain(exc)) from None
