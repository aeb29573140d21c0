"""Ledgerbook's HTTP API, in process: bearer-token auth, batch creates of up to 100 documents whose
``number`` is unique per kind (a taken number is refused, as real targets refuse it), lookups by number."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

TOKEN = "ledgerbook-test-token"
BATCH_LIMIT = 100


def create_app() -> FastAPI:
    app = FastAPI()
    books: dict[str, dict[str, dict[str, Any]]] = {}
    app.state.books = books
    app.state.calls = 0

    @app.middleware("http")
    async def authenticate(request: Request, call_next: Any) -> Any:
        app.state.calls += 1
        if request.headers.get("Authorization") != f"Bearer {TOKEN}":
            return JSONResponse({"error": "invalid token"}, status_code=401)
        return await call_next(request)

    @app.post("/v1/{kind}/batch")
    async def create_batch(kind: str, request: Request) -> Any:
        items = (await request.json())["items"]
        if not 0 < len(items) <= BATCH_LIMIT:
            return JSONResponse({"error": f"1 to {BATCH_LIMIT} items per batch"}, status_code=422)
        shelf = books.setdefault(kind, {})
        results = []
        for item in items:
            if item["number"] in shelf:
                results.append({"ok": False, "error": f"number {item['number']} is taken"})
                continue
            shelf[item["number"]] = {**item, "id": sum(len(s) for s in books.values()) + 1}
            results.append({"ok": True, "record": shelf[item["number"]]})
        return {"results": results}

    @app.get("/v1/{kind}")
    async def find(kind: str, number: str) -> Any:
        found = books.get(kind, {}).get(number)
        return {"items": [found] if found else []}

    return app
