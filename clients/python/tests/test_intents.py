"""Submit, follow, cancel, halt and resume through the client against the real daemon,
and the API's errors as typed exceptions."""

from __future__ import annotations

from decimal import Decimal

import pytest

from conftest import Daemon, run
from sluice_client import AlreadyEnded, Client, Halted, Invalid, NotFound, Unauthorized, models


def test_an_open_is_submitted_and_done_and_its_key_replays_the_first_intent(flat: Daemon) -> None:
    async def scenario() -> tuple[models.IntentResponse, models.IntentResponse, models.IntentResponse]:
        async with flat.client() as api:
            first = await api.open("SOLUSDT", "short", notional_usdt=Decimal("90"), idempotency_key="py-open-1")
            done = await api.wait(first.id, timeout=60)
            again = await api.open("SOLUSDT", "short", notional_usdt=Decimal("90"), idempotency_key="py-open-1")
        return first, done, again

    first, done, again = run(scenario())
    assert first.state == "accepted" and first.replayed is False
    assert done.state == "done" and done.filled_quantity == Decimal("0.5"), done
    assert done.fills and all(isinstance(f.price, Decimal) for f in done.fills)
    assert again.id == first.id and again.replayed is True


def test_a_working_close_is_cancelled_and_ends_cancelled_with_what_it_filled(flat: Daemon) -> None:
    async def scenario() -> tuple[models.CancelResponse, models.IntentResponse, object]:
        async with flat.client() as api:
            opened = await api.open("SOLUSDT", "short", quantity="1000", idempotency_key="py-cancel-open")
            assert (await api.wait(opened.id, timeout=60)).state == "done"
            # Each order answered 1.5 s late, and 1,000 is three chunks under the MARKET
            # cap of 400: the cancel finds the close accepted or working.
            flat.sim_admin("POST", "/sim/faults", {"latency_ms": 1500})
            try:
                close = await api.close_position(symbol="SOLUSDT", side="short", idempotency_key="py-cancel-close")
                asked = await api.cancel(close.id, actor="py-test")
                ended = await api.wait(close.id, timeout=60)
            finally:
                flat.sim_admin("DELETE", "/sim/faults", {})
            if ended.state == "cancelled":
                repeated: object = await api.cancel(close.id, actor="py-test")
            else:
                with pytest.raises(AlreadyEnded) as refused:
                    await api.cancel(close.id, actor="py-test")
                repeated = refused.value
        return asked, ended, repeated

    asked, ended, repeated = run(scenario())
    if asked.cancel == "cancelled":  # found accepted: nothing was sent
        assert asked.intent.state == "cancelled" and ended.state == "cancelled"
        assert ended.filled_quantity == 0 and not ended.chunks, ended
    else:  # found working: no new chunk; what was in flight is recorded
        assert asked.cancel == "requested" and asked.intent.state == "working", asked
        assert ended.state in ("cancelled", "done"), ended
        assert ended.filled_quantity == sum((f.applied_quantity for f in ended.fills), Decimal(0))
    if ended.state == "cancelled":
        assert repeated.cancel == "cancelled" and repeated.intent.id == ended.id
    else:  # everything was already in flight and filled: the cancel changed nothing
        assert ended.filled_quantity == Decimal("1000") and repeated.code == "already_ended"


def test_halt_refuses_opens_with_a_typed_exception_until_resume(flat: Daemon) -> None:
    async def scenario() -> None:
        async with flat.client() as api:
            halted = await api.halt(reason="py drill", actor="py-test")
            with pytest.raises(Halted) as refused:
                await api.open("SOLUSDT", "short", notional_usdt="50", idempotency_key="py-halted-open")
            resumed = await api.resume(actor="py-test")
            status = await api.halt_status()
        assert halted.halt.halted is True and halted.halt.reason == "py drill"
        assert refused.value.status == 409 and refused.value.intent_id is not None
        assert resumed.halt.halted is False and status.halt.halted is False

    run(scenario())


def test_api_errors_are_raised_as_typed_exceptions_with_code_and_field(flat: Daemon) -> None:
    async def scenario() -> None:
        async with flat.client() as api:
            with pytest.raises(Invalid) as invalid:
                await api.open("SOLUSDT", "short", quantity="-1")
            with pytest.raises(NotFound) as missing:
                await api.intent(987654321)
            done = next(i for i in (await api.intents()).intents if i.state == "done")
            with pytest.raises(AlreadyEnded) as ended:
                await api.cancel(done.id)
        async with Client(flat.url, token="not-the-token") as stranger:
            with pytest.raises(Unauthorized) as unauthorized:
                await stranger.budget()
        assert (invalid.value.status, invalid.value.code, invalid.value.field) == (422, "invalid", "quantity")
        assert (missing.value.status, missing.value.code) == (404, "not_found")
        assert (ended.value.code, ended.value.intent_id) == ("already_ended", done.id)
        assert (unauthorized.value.status, unauthorized.value.field) == (401, "authorization")

    run(scenario())


def test_the_token_is_read_from_the_file_the_daemon_wrote_like_the_cli_does(daemon: Daemon, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("STATE_DIRECTORY", str(daemon.state_dir))
    monkeypatch.delenv("SLUICE__API__TOKEN", raising=False)
    monkeypatch.setenv("SLUICE__API__LISTEN", daemon.api or "")

    async def scenario() -> tuple[models.Budget, models.PositionsResponse]:
        async with Client() as api:
            return await api.budget(), await api.positions()

    budget, positions = run(scenario())
    assert budget.allocation == Decimal("500000")
    assert all(isinstance(p.quantity, Decimal) for p in positions.positions)
