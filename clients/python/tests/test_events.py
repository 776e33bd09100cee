"""The event stream through the client: a strategy away for a whole seed-000 close
reconnects and gets every event once, in order; a ``since`` older than the retention
is a clear exception."""

from __future__ import annotations

import asyncio
from decimal import Decimal

import pytest

from conftest import Daemon, run
from sluice_client import SinceTooOld, models

TERMINAL = {"done", "failed", "cancelled"}


async def read_until(stream, stop, within: float = 60.0) -> list[models.StreamEvent]:
    got: list[models.StreamEvent] = []

    async def read() -> list[models.StreamEvent]:
        async for event in stream:
            got.append(event)
            if stop(event):
                return got
        raise AssertionError("the stream ended")

    try:
        return await asyncio.wait_for(read(), within)
    except asyncio.TimeoutError:
        raise AssertionError(f"the awaited event did not come within {within}s; got {got}") from None


def ends(intent_id: int):
    return lambda e: e.kind == "intent" and e.payload["intent_id"] == intent_id and e.payload["state"] in TERMINAL


def test_a_client_away_for_a_whole_seed_000_close_resumes_and_gets_every_event_once_in_order(daemon: Daemon) -> None:
    async def scenario() -> None:
        async with daemon.client() as api:
            short = next(p for p in (await api.positions()).positions if p.symbol == "SOLUSDT" and p.side == "short")
            stream = await api.events().connect()
            await api.halt(reason="marker")
            await api.resume()
            before = await read_until(stream, lambda e: e.kind == "halt" and e.payload["halted"] is False)
            away_from = stream.last_seq
            stream.disconnect()  # away for the whole close

            close = await api.close_position(symbol="SOLUSDT", side="short", idempotency_key="py-seed-000-close")
            finished = await api.wait(close.id, timeout=120)
            resumed = await read_until(stream, ends(close.id))
            reference = await read_until(api.events(since=away_from), ends(close.id))
            await stream.aclose()

        assert finished.state == "done", finished
        assert before and stream.connects == 2
        seqs = [e.seq for e in resumed]
        assert seqs == sorted(set(seqs)) and seqs[0] > away_from, "once, in order, nothing from before"
        assert [(e.seq, e.kind, e.payload) for e in resumed] == [(e.seq, e.kind, e.payload) for e in reference]
        states = [e.payload["state"] for e in resumed if e.kind == "intent" and e.payload["intent_id"] == close.id]
        assert states[0] == "accepted" and states[-1] == "done" and "working" in states, states
        fills = [Decimal(e.payload["applied_quantity"]) for e in resumed if e.kind == "fill" and e.payload["intent_id"] == close.id]
        assert sum(fills) == short.quantity == finished.filled_quantity
        rejected = [e for e in resumed if e.kind == "order" and e.payload["error_code"] == -4005]
        assert rejected, "the hidden MARKET cap was met and learned, as in seed 000"

    run(scenario())


def test_a_since_older_than_the_retention_raises_since_too_old(daemon: Daemon) -> None:
    async def scenario() -> None:
        async with daemon.client() as api:
            await api.halt(reason="an event to prune")
            await api.resume()
            # What the daemon's retention does (`Ledger::prune_events`), with a zero retention.
            daemon.psql(
                daemon.ledger_url,
                "WITH cut AS (SELECT max(seq) AS s FROM events WHERE at < now()),"
                " d AS (DELETE FROM events WHERE seq <= (SELECT s FROM cut) RETURNING seq),"
                " f AS (UPDATE events_floor SET floor = GREATEST(floor, (SELECT max(seq) FROM d))"
                "       WHERE EXISTS (SELECT 1 FROM d) RETURNING floor)"
                " SELECT count(*) FROM d",
            )
            with pytest.raises(SinceTooOld) as raised:
                await anext(aiter(api.events(since=0)))
        assert raised.value.status == 410 and raised.value.field == "since"
        assert "too old" in raised.value.reason

    run(scenario())


def test_a_stream_across_a_sigkill_and_restart_of_the_daemon_gets_every_event_once_in_order(flat: Daemon) -> None:
    async def scenario() -> None:
        async with flat.client() as api:
            opened = await api.open("SOLUSDT", "short", quantity="1200", idempotency_key="py-kill-open")
            assert (await api.wait(opened.id, timeout=60)).state == "done"
            stream = await api.events().connect()
            await api.halt(reason="marker")
            await api.resume()
            await read_until(stream, lambda e: e.kind == "halt" and e.payload["halted"] is False)
            start = stream.last_seq
            # Orders answered 0.4 s late: the daemon dies with the close under way.
            flat.sim_admin("POST", "/sim/faults", {"latency_ms": 400})
            close = await api.close_position(symbol="SOLUSDT", side="short", idempotency_key="py-kill-close")
            before = await read_until(stream, lambda e: e.kind == "order" and e.payload["intent_id"] == close.id)
            flat.stop(kill=True)
            flat.sim_admin("DELETE", "/sim/faults", {})
            flat.start()  # same port, same ledger: the stream reconnects by itself
            resumed = before + await read_until(stream, ends(close.id), within=120)
            reference = await read_until(api.events(since=start), ends(close.id))
            finished = await api.intent(close.id)
            await stream.aclose()

        assert stream.connects >= 2, "the stream reconnected after the kill"
        assert [(e.seq, e.kind, e.payload) for e in resumed] == [(e.seq, e.kind, e.payload) for e in reference]
        seqs = [e.seq for e in resumed]
        assert seqs == sorted(set(seqs)) and seqs[0] > start, "once, in order"
        assert finished.state == "done" and finished.filled_quantity == Decimal("1200"), finished

    run(scenario())
