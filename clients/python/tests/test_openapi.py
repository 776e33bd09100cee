"""The checked-in document and models are what the daemon serves, and the daemon's real
answers match the document's schemas."""

from __future__ import annotations

import asyncio
import json
import os
import pathlib
import sys

import jsonschema

from conftest import Daemon, run

HERE = pathlib.Path(__file__).resolve().parent.parent
sys.path.insert(0, str(HERE / "scripts"))
import generate_models  # noqa: E402


def served(daemon: Daemon) -> dict:
    async def fetch() -> dict:
        async with daemon.client() as api:
            return await api.openapi()

    return run(fetch())


def test_the_checked_in_document_and_models_are_generated_from_what_the_daemon_serves(daemon: Daemon) -> None:
    document = served(daemon)
    if os.environ.get("SLUICE_REGENERATE") == "1":  # rewrite both from the served document
        generate_models.DOCUMENT.write_text(generate_models.canonical(document), encoding="utf-8")
        generate_models.MODELS.write_text(generate_models.generate(document), encoding="utf-8")
    checked_in = (HERE / "openapi.json").read_text(encoding="utf-8")
    models = (HERE / "src" / "sluice_client" / "models.py").read_text(encoding="utf-8")
    hint = "regenerate: SLUICE_REGENERATE=1 clients/python/run_tests.sh -k checked_in"
    assert generate_models.canonical(document) == checked_in, hint
    assert generate_models.generate(document) == models, hint


def validator(document: dict, schema: str) -> jsonschema.Draft202012Validator:
    root = {"$ref": f"#/components/schemas/{schema}", "components": document["components"]}
    return jsonschema.Draft202012Validator(root, format_checker=jsonschema.FormatChecker())


def test_real_answers_of_the_daemon_match_the_documents_schemas(flat: Daemon) -> None:
    daemon = flat
    document = served(daemon)

    async def answers() -> dict[str, object]:
        async with daemon.client() as api:
            stream = await api.events().connect()
            opened = await api.open("SOLUSDT", "short", notional_usdt="45", idempotency_key="py-schema-open")
            await api.wait(opened.id, timeout=60)
            intent = await api.request("GET", f"/v1/intents/{opened.id}")
            event = await asyncio.wait_for(anext(aiter(stream)), 30)
            await stream.aclose()
            try:
                await api.request("POST", "/v1/intents", {"kind": "open", "quantiy": "1"})
            except Exception as e:  # noqa: BLE001 - the body is what is checked
                error = {"error": {"code": e.code, "field": e.field, "reason": e.reason}}
            return {
                "IntentResponse": intent,
                "IntentList": await api.request("GET", "/v1/intents"),
                "PositionsResponse": await api.request("GET", "/v1/positions"),
                "Budget": await api.request("GET", "/v1/budget"),
                "HaltResponse": await api.request("GET", "/v1/halt"),
                "ReconcileResponse": await api.request("GET", "/v1/reconcile"),
                "StreamEvent": event.to_json(),
                "ErrorResponse": error,
            }

    got = run(answers())
    intent = got["IntentResponse"]
    assert intent["state"] == "done" and intent["chunks"] and intent["fills"], intent
    for schema, value in got.items():
        errors = [f"{'/'.join(map(str, e.path))}: {e.message}" for e in validator(document, schema).iter_errors(value)]
        assert not errors, f"{schema}: {errors}"
    assert not validator(document, "IntentResponse").is_valid({**intent, "chunks": "none"}), "the schema does constrain"
    assert json.dumps(got["ErrorResponse"])
