"""The async client of the sluice control API (aiohttp).

One :class:`Client` per daemon; use it as ``async with Client() as api:``. Every call
returns a generated model (``models.py``) or raises an :mod:`~sluice_client.errors`
exception. Writes carry an idempotency key: pass your own to retry a submission safely
(the same key twice returns the FIRST intent, ``replayed`` true); without one a fresh
key is made per call.
"""

from __future__ import annotations

import asyncio
import uuid
from typing import Any, Optional

import aiohttp

from . import models
from .config import default_base_url, read_token
from .errors import ConnectionFailed, error_from
from .events import EventStream

TERMINAL = frozenset({"done", "failed", "cancelled"})


class Client:
    """``base_url`` defaults to ``SLUICE__API__LISTEN`` (else 127.0.0.1:7878); ``token``
    to ``SLUICE__API__TOKEN``, else the CLI's token file (``token_file`` overrides)."""

    def __init__(
        self,
        base_url: Optional[str] = None,
        token: Optional[str] = None,
        *,
        token_file: Optional[str] = None,
        timeout: float = 30.0,
    ) -> None:
        self.base_url = (base_url or default_base_url()).rstrip("/")
        self._token = token if token is not None else read_token(token_file)
        self._timeout = aiohttp.ClientTimeout(total=timeout)
        self._session: Optional[aiohttp.ClientSession] = None

    def __repr__(self) -> str:  # never show the token
        return f"Client({self.base_url!r})"

    async def __aenter__(self) -> "Client":
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    def session(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession()
        return self._session

    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self._token}"} if self._token else {}

    async def request(
        self,
        method: str,
        path: str,
        body: Optional[dict[str, Any]] = None,
        params: Optional[dict[str, Any]] = None,
    ) -> Any:
        """One call; the parsed JSON of a 2xx answer, else the mapped exception."""
        if body is None and method != "GET":
            body = {}
        try:
            async with self.session().request(
                method,
                self.base_url + path,
                json=body,
                params=params,
                headers=self.headers(),
                timeout=self._timeout,
            ) as response:
                try:
                    data = await response.json(content_type=None)
                except ValueError:
                    data = await response.text()
                if response.status >= 400:
                    raise error_from(response.status, data)
                return data
        except (aiohttp.ClientError, asyncio.TimeoutError, OSError) as e:
            raise ConnectionFailed(f"{method} {self.base_url}{path}: {e!r}") from e

    # --- intents -------------------------------------------------------------------

    async def submit(self, body: models.IntentBody | dict[str, Any]) -> models.IntentResponse:
        """``POST /v1/intents`` with a body as the API reads it (``kind`` and the rest)."""
        data = body.to_json() if isinstance(body, models.Model) else dict(body)
        data = {k: v for k, v in data.items() if v is not None}
        data.setdefault("idempotency_key", f"py-{uuid.uuid4()}")
        return models.IntentResponse.from_json(await self.request("POST", "/v1/intents", data))

    async def open(
        self, symbol: str, side: str, *, quantity: Any = None, notional_usdt: Any = None,
        idempotency_key: Optional[str] = None, reason: Optional[str] = None, **fields: Any,
    ) -> models.IntentResponse:
        """Open (or add to) a ``long``/``short`` position by ``quantity`` or ``notional_usdt``;
        further body fields (``stop_loss``, ``take_profit``...) pass through."""
        return await self.submit(_body("open", symbol=symbol, side=side, quantity=quantity,
                                       notional_usdt=notional_usdt, idempotency_key=idempotency_key,
                                       reason=reason, **fields))

    async def close_position(
        self, *, position_id: Optional[int] = None, symbol: Optional[str] = None,
        side: Optional[str] = None, quantity: Any = None,
        idempotency_key: Optional[str] = None, reason: Optional[str] = None, **fields: Any,
    ) -> models.IntentResponse:
        """Close a position (all of it, or ``quantity``), named by id or symbol and side."""
        return await self.submit(_body("close", position_id=position_id, symbol=symbol, side=side,
                                       quantity=quantity, idempotency_key=idempotency_key,
                                       reason=reason, **fields))

    async def intent(self, intent_id: int) -> models.IntentResponse:
        return models.IntentResponse.from_json(await self.request("GET", f"/v1/intents/{intent_id}"))

    async def intents(self, limit: int = 50) -> models.IntentList:
        return models.IntentList.from_json(await self.request("GET", "/v1/intents", params={"limit": limit}))

    async def cancel(self, intent_id: int, actor: Optional[str] = None) -> models.CancelResponse:
        """Cancel (idempotent): ``cancel`` is ``cancelled`` or ``requested`` (working)."""
        body = {"actor": actor} if actor else {}
        data = await self.request("POST", f"/v1/intents/{intent_id}/cancel", body)
        return models.CancelResponse.from_json(data)

    async def wait(self, intent_id: int, timeout: float = 60.0, every: float = 0.2) -> models.IntentResponse:
        """Poll until the intent ends; TimeoutError after ``timeout`` seconds."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            intent = await self.intent(intent_id)
            if intent.state in TERMINAL:
                return intent
            if loop.time() >= deadline:
                raise TimeoutError(f"intent #{intent_id} is still {intent.state} after {timeout}s")
            await asyncio.sleep(every)

    # --- account and control ---------------------------------------------------------

    async def positions(self, all: bool = False) -> models.PositionsResponse:
        params = {"all": "true"} if all else None
        return models.PositionsResponse.from_json(await self.request("GET", "/v1/positions", params=params))

    async def budget(self) -> models.Budget:
        return models.Budget.from_json(await self.request("GET", "/v1/budget"))

    async def halt_status(self) -> models.HaltResponse:
        return models.HaltResponse.from_json(await self.request("GET", "/v1/halt"))

    async def halt(self, reason: Optional[str] = None, actor: Optional[str] = None) -> models.HaltResponse:
        body = _drop_none(reason=reason, actor=actor)
        return models.HaltResponse.from_json(await self.request("POST", "/v1/halt", body))

    async def resume(self, actor: Optional[str] = None, force: bool = False) -> models.HaltResponse:
        body = _drop_none(actor=actor, force=force or None)
        return models.HaltResponse.from_json(await self.request("POST", "/v1/resume", body))

    async def flatten(
        self, symbol: Optional[str] = None, reason: Optional[str] = None,
        idempotency_key: Optional[str] = None, actor: Optional[str] = None,
    ) -> models.HaltResponse:
        """The kill switch: halt and close everything (or one symbol)."""
        body = _drop_none(symbol=symbol, reason=reason, idempotency_key=idempotency_key, actor=actor)
        return models.HaltResponse.from_json(await self.request("POST", "/v1/flatten", body))

    async def openapi(self) -> dict[str, Any]:
        """The daemon's OpenAPI document (``GET /v1/openapi.json``)."""
        return await self.request("GET", "/v1/openapi.json")

    def events(self, since: Optional[int] = None, **options: Any) -> EventStream:
        """An async iterator over ``GET /v1/events`` that resumes after the last ``seq``
        it delivered when the connection drops (see :class:`EventStream`)."""
        return EventStream(self, since, **options)


def _drop_none(**fields: Any) -> dict[str, Any]:
    return {k: v for k, v in fields.items() if v is not None}


def _body(kind: str, **fields: Any) -> dict[str, Any]:
    body = _drop_none(kind=kind, **fields)
    for k in ("quantity", "notional_usdt"):
        if k in body:
            body[k] = str(body[k])
    return body
