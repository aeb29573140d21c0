"""Jurnal's error bodies.

Validation failures use the Rails shape from ruby-jurnal-client's fixtures (accounting_apis.md §1.7)::

    {"discount_unit": "(Value must be greater than 0.)", "transaction_lines": "is not valid",
     "id": null, "error_full_messages": ["Discount unit (Value must be greater than 0.)", ...]}

and a duplicate key carries the existing record's id (create_conflicted_response.json)::

    {"custom_id": "(Custom id attribute had already been used.)", "id": 1462189,
     "error_full_messages": ["Custom (Custom id attribute had already been used.)"]}
"""

from __future__ import annotations

from typing import Any

CUSTOM_ID_TAKEN = "(Custom id attribute had already been used.)"
TRANSACTION_NO_TAKEN = "(Transaction number had already been used)"


class ApiError(Exception):
    """An HTTP error answer: raised anywhere below a route, rendered as ``status`` + JSON ``body``."""

    def __init__(self, status: int, body: Any) -> None:
        super().__init__(f"{status}: {body!r}")
        self.status = status
        self.body = body


def humanize(attribute: str) -> str:
    """Rails ``String#humanize``: drops a trailing ``_id``, so ``custom_id`` becomes ``Custom`` as in the fixture."""
    text = attribute[:-3] if attribute.endswith("_id") else attribute
    text = text.replace("_", " ").strip()
    return text[:1].upper() + text[1:]


class Errors:
    """Collects every failing attribute of one document, like ActiveRecord validations do."""

    def __init__(self) -> None:
        self._messages: dict[str, str] = {}
        self._full: list[str] = []
        self.conflict_id: int | None = None

    def add(self, attribute: str, message: str) -> None:
        # Rails keeps every message in full_messages but the JSON fixture shows one string per key.
        self._messages.setdefault(attribute, message)
        self._full.append(f"{humanize(attribute)} {message}")

    def conflict(self, attribute: str, message: str, existing_id: int | None) -> None:
        self.add(attribute, message)
        if self.conflict_id is None:
            self.conflict_id = existing_id

    def __bool__(self) -> bool:
        return bool(self._full)

    def body(self) -> dict[str, Any]:
        return {**self._messages, "id": self.conflict_id, "error_full_messages": list(self._full)}

    def raise_if_any(self) -> None:
        if self:
            raise ApiError(422, self.body())


def unprocessable(attribute: str, message: str) -> ApiError:
    errors = Errors()
    errors.add(attribute, message)
    return ApiError(422, errors.body())


def parameter_missing(name: str) -> ApiError:
    # Rails' ActionController::ParameterMissing, rendered as 400 by Rails API apps.
    return ApiError(400, {"error": f"param is missing or the value is empty: {name}"})


def whole_batch_refusal(plural: str, count: int, refused: list[tuple[int, ApiError]]) -> ApiError:
    """A ``batch_create`` refused as a whole (``batch_failure='whole'``): 422 in the Rails shape, the batch's
    attribute saying how many items were invalid, ``errors`` holding each refused item's index (0-based, in
    sending order), status and the body a single POST would have got, and ``error_full_messages`` one line per
    refused item ("Item 2: Product (Product with product_code 'X' was not found (line 1).)")."""
    label = humanize(plural)
    lines = []
    for index, error in refused:
        body = error.body if isinstance(error.body, dict) else {}
        detail = "; ".join(map(str, body.get("error_full_messages") or [])) or str(body.get("error") or body)
        lines.append(f"Item {index + 1}: {detail}")
    summary = f"({len(refused)} of {count} {plural} are not valid; none was created.)"
    return ApiError(422, {
        plural: summary,
        "id": None,
        "errors": [{"index": index, "status": error.status, "content": error.body} for index, error in refused],
        "error_full_messages": [f"{label} {summary}", *lines],
    })
