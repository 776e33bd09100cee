"""``GET /v1/events`` as an async iterator that loses nothing across reconnects.

Each event's ``seq`` is durable and increasing in commit order. The stream remembers
the last ``seq`` it delivered; when the connection drops (network, daemon restart,
standby takeover) it reconnects with ``since=<last seq>`` (and ``Last-Event-ID``) and
the daemon sends exactly what came after, so every event arrives once, in order.

- Started without ``since``, the daemon begins at its newest event; ``since=0`` starts
  from the oldest retained one.
- ``since`` older than the retention raises :class:`~sluice_client.errors.SinceTooOld`
  (also when the daemon ends the stream with an ``error`` event for that reason): read
  the current state from the API, then open a new stream without ``since``.
- Connection failures and 5xx answers are retried with a growing pause (at most
  ``retry_max`` seconds apart); after ``max_attempts`` consecutive failures
  :class:`~sluice_client.errors.ConnectionFailed` is raised (None: retry forever).
"""

from __future__ import annotations

import asyncio
import json
from typing import TYPE_CHECKING, Any, Optional

import aiohttp

from .errors import ApiError, ConnectionFailed, error_from
from .models import StreamEvent

if TYPE_CHECKING:
    from .client import Client


class EventStream:
    def __init__(
        self,
        client: "Client",
        since: Optional[int] = None,
        *,
        retry_initial: float = 0.1,
        retry_max: float = 5.0,
        max_attempts: Optional[int] = 50,
        read_timeout: float = 45.0,
    ) -> None:
        self._client = client
        #: The ``seq`` of the last event delivered (or the ``since`` it started from).
        self.last_seq: Optional[int] = since
        #: How many times the stream (re)connected.
        self.connects = 0
        self._retry_initial = retry_initial
        self._retry_max = retry_max
        self._max_attempts = max_attempts
        self._read_timeout = read_timeout
        self._response: Optional[aiohttp.ClientResponse] = None
        self._buffer = bytearray()
        self._closed = False

    def __aiter__(self) -> "EventStream":
        return self

    async def __anext__(self) -> StreamEvent:
        while True:
            if self._closed:
                raise StopAsyncIteration
            if self._response is None:
                await self._connect()
            frame = await self._read_frame()
            if frame is None:  # the connection ended: resume after last_seq
                self.disconnect()
                continue
            name, data = frame
            if name == "error":
                self._closed = True
                self.disconnect()
                raise error_from(410, _json(data))
            event = StreamEvent.from_json(_json(data))
            if self.last_seq is not None and event.seq <= self.last_seq:
                continue  # already delivered before a reconnect
            self.last_seq = event.seq
            return event

    async def connect(self) -> "EventStream":
        """Connect now (iterating connects too). Without ``since`` the daemon starts at
        its newest event: connect before acting to see every event the action causes."""
        if self._response is None:
            await self._connect()
        return self

    def disconnect(self) -> None:
        """Drop the current connection; the next iteration reconnects from ``last_seq``."""
        if self._response is not None:
            self._response.close()
            self._response = None
        self._buffer.clear()

    async def aclose(self) -> None:
        self._closed = True
        self.disconnect()

    async def __aenter__(self) -> "EventStream":
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    async def _connect(self) -> None:
        pause = self._retry_initial
        failures = 0
        while True:
            try:
                self._response = await self._open()
                self.connects += 1
                return
            except ApiError as e:
                if e.status < 500:
                    raise
                error: Exception = e
            except (aiohttp.ClientError, asyncio.TimeoutError, OSError) as e:
                error = e
            failures += 1
            if self._max_attempts is not None and failures >= self._max_attempts:
                raise ConnectionFailed(f"event stream: {failures} attempts failed, last: {error!r}") from error
            await asyncio.sleep(pause)
            pause = min(pause * 2, self._retry_max)

    async def _open(self) -> aiohttp.ClientResponse:
        headers = self._client.headers()
        headers["Accept"] = "text/event-stream"
        params = {}
        if self.last_seq is not None:
            params["since"] = str(self.last_seq)
            headers["Last-Event-ID"] = str(self.last_seq)
        timeout = aiohttp.ClientTimeout(total=None, sock_connect=10, sock_read=self._read_timeout)
        response = await self._client.session().get(
            self._client.base_url + "/v1/events", params=params, headers=headers, timeout=timeout
        )
        if response.status != 200:
            try:
                body = await response.json(content_type=None)
            except (ValueError, aiohttp.ClientError):
                body = None
            response.close()
            raise error_from(response.status, body)
        return response

    async def _read_frame(self) -> Optional[tuple[str, str]]:
        """The next ``(event name, data)``; None when the connection ended."""
        name, data = "message", []
        while True:
            line = await self._read_line()
            if line is None:
                return None
            if not line:
                if data:
                    return name, "\n".join(data)
                name = "message"
                continue
            if line.startswith(":"):
                continue
            key, _, value = line.partition(":")
            value = value[1:] if value.startswith(" ") else value
            if key == "event":
                name = value
            elif key == "data":
                data.append(value)

    async def _read_line(self) -> Optional[str]:
        """One line of the stream, of any length; None when the connection ended."""
        assert self._response is not None
        while b"\n" not in self._buffer:
            try:
                chunk = await self._response.content.readany()
            except (aiohttp.ClientError, asyncio.TimeoutError, OSError, ConnectionError):
                return None
            if not chunk:
                return None
            self._buffer.extend(chunk)
        end = self._buffer.index(b"\n")
        line = bytes(self._buffer[:end]).decode("utf-8").rstrip("\r")
        del self._buffer[: end + 1]
        return line


def _json(data: str) -> Any:
    try:
        return json.loads(data)
    except ValueError:
        return {"error": {"code": "bad_event", "reason": data[:200]}}
