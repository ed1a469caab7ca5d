"""Typeform response shape parsed to SourceRecord.

Answers are typed: the value sits under a key named by `type` (text, email, phone_number, choice,
number, boolean, date, url, ...). Unanswered optional questions are absent. The form id is not in a
response, so the caller passes the form it pulled.
"""

from __future__ import annotations

from typing import Any

from connectors.records import SourceRecord, text
from connectors.streams import parse_timestamp
from connectors.typeform.settings import REF_MAP


def response_id(payload: dict[str, Any]) -> str | None:
    return text(payload.get("response_id")) or text(payload.get("token"))


def response_cursor(payload: dict[str, Any]) -> Any:
    return parse_timestamp(payload.get("submitted_at"))


def answer_value(answer: dict[str, Any]) -> str | None:
    kind = answer.get("type")
    value = answer.get(kind) if isinstance(kind, str) else None
    if isinstance(value, dict):  # choice: {"label": ...}; choices: {"labels": [...]}
        labels = value.get("labels")
        value = value.get("label") or (
            ", ".join(map(str, labels)) if isinstance(labels, list) else None
        )
    return text(value)


def parse_response(payload: dict[str, Any], form_id: str | None = None) -> SourceRecord:
    record = SourceRecord(
        source="typeform",
        stream="responses",
        record_id=response_id(payload),
        created_at=response_cursor(payload),
        updated_at=response_cursor(payload),
        form_id=form_id,
    )
    answers = payload.get("answers")
    for answer in answers if isinstance(answers, list) else []:
        if not isinstance(answer, dict):
            continue
        field = answer.get("field")
        if not isinstance(field, dict):
            field = {}
        attr = REF_MAP.get(str(field.get("ref", "")))
        if attr is None:
            attr = {"email": "email", "phone_number": "phone"}.get(str(answer.get("type")))
        value = answer_value(answer)
        if attr is not None and value is not None and getattr(record, attr) is None:
            setattr(record, attr, value)
    return record
