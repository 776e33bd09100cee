import asyncio
from sluice_client import Client

TERMINAL = {"done", "failed", "cancelled"}
async def main() -> None:
    async with Client() as api:  # SLUICE__API__LISTEN or 127.0.0.1:7878; the CLI's token file
        events = await api.events().connect()  # resumes after its last seq if the link drops
        short = next(p for p in (await api.positions()).positions if p.side == "short")
        close = await api.close_position(position_id=short.id, idempotency_key=f"close-{short.id}")
        async for e in events:
            mine = e.payload.get("intent_id") == close.id
            if e.kind == "fill" and mine:
                print("filled", e.payload["applied_quantity"], "@", e.payload["price"])
            if e.kind == "intent" and mine and e.payload["state"] in TERMINAL:
                break
        done = await api.intent(close.id)
        print(done.state, done.filled_quantity, "in", len(done.chunks), "chunks")
        opened = await api.open("SOLUSDT", "long", notional_usdt="500", stop_loss={"pct": "2"})
        print("open", (await api.wait(opened.id)).state, (await api.budget()).available, "USDT left")
asyncio.run(main())
