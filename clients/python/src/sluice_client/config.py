"""Where the daemon is and which token it wants, found the way the ``sluice`` CLI finds
them: ``SLUICE__API__LISTEN`` (default ``127.0.0.1:7878``); the token from
``SLUICE__API__TOKEN``, else the token file (``SLUICE__API__TOKEN_FILE``, else
``<state dir>/control.token`` where the state dir is ``$STATE_DIRECTORY``, else
``$XDG_STATE_HOME/sluice``, else ``~/.local/state/sluice``), which the daemon creates
on its first start.
"""

from __future__ import annotations

import os
import pathlib
from typing import Mapping, Optional

DEFAULT_LISTEN = "127.0.0.1:7878"


def default_base_url(env: Mapping[str, str] = os.environ) -> str:
    listen = env.get("SLUICE__API__LISTEN", "").strip() or DEFAULT_LISTEN
    return listen if "://" in listen else f"http://{listen}"


def default_token_file(env: Mapping[str, str] = os.environ) -> Optional[pathlib.Path]:
    """The daemon's default ``api.token_file``; None when no state directory is known."""

    def non_empty(key: str) -> Optional[str]:
        value = env.get(key, "")
        return value if value.strip() else None

    configured = non_empty("SLUICE__API__TOKEN_FILE")
    if configured:
        return pathlib.Path(configured)
    if non_empty("STATE_DIRECTORY"):
        directory = pathlib.Path(env["STATE_DIRECTORY"].split(":")[0])
    elif non_empty("XDG_STATE_HOME"):
        directory = pathlib.Path(env["XDG_STATE_HOME"]) / "sluice"
    elif non_empty("HOME"):
        directory = pathlib.Path(env["HOME"]) / ".local" / "state" / "sluice"
    else:
        return None
    return directory / "control.token"


def read_token(
    token_file: Optional[str | os.PathLike[str]] = None,
    env: Mapping[str, str] = os.environ,
) -> Optional[str]:
    """``SLUICE__API__TOKEN``, else the token file's content; None when neither exists."""
    if token_file is None:
        token = env.get("SLUICE__API__TOKEN", "").strip()
        if token:
            return token
        path = default_token_file(env)
    else:
        path = pathlib.Path(token_file)
    if path is None or not path.is_file():
        return None
    return path.read_text(encoding="utf-8").strip() or None
