"""Async Python client of the sluice control API.

>>> async with Client() as api:          # address and token found like the CLI's
...     intent = await api.open("SOLUSDT", "long", notional_usdt="100")
...     async for event in api.events(since=0):
...         ...
"""

from . import models
from .client import Client
from .errors import (
    AlreadyEnded,
    ApiError,
    BadRequest,
    Conflict,
    ConnectionFailed,
    FlattenPending,
    Forbidden,
    Halted,
    IdempotencyKeyReused,
    Invalid,
    NotEnoughBudget,
    NotFound,
    SinceTooOld,
    SluiceError,
    Unauthorized,
    Unavailable,
)
from .events import EventStream

__all__ = [
    "AlreadyEnded", "ApiError", "BadRequest", "Client", "Conflict", "ConnectionFailed",
    "EventStream", "FlattenPending", "Forbidden", "Halted", "IdempotencyKeyReused", "Invalid",
    "NotEnoughBudget", "NotFound", "SinceTooOld", "SluiceError", "Unauthorized", "Unavailable",
    "models",
]
__version__ = "0.1.0"
