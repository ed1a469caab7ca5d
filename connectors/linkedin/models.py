"""LinkedIn lead form response (`leadFormResponses` element) parsed to SourceRecord.

A response holds `formResponse.answers: [{questionId, answerDetails: {textQuestionAnswer: {answer}}
| {multipleChoiceAnswer: {options}}}]`: answers name their question by id only. The pull asks
LinkedIn for the `form` decoration with each response (`form:(content)`), whose
`content.questions[]` give each `questionId` its `predefinedField` (FIRST_NAME, EMAIL, ...), so the
landed payload maps its own answers: the parser needs no second call and a re-parse of an old
payload uses the form as it was when the lead was pulled. A payload without the decoration parses
to a record with its ids and times and no person fields (never an exception).
"""

from __future__ import annotations

import re
from typing import Any

from connectors.linkedin.settings import PREDEFINED_FIELDS
from connectors.records import SourceRecord, flag, scalar_text, text
from connectors.streams import parse_timestamp

_FORM_URN = re.compile(r"urn:li:leadGenForm:(\d+)")


def response_id(payload: dict[str, Any]) -> str | None:
    return scalar_text(payload.get("id"))


def response_cursor(payload: dict[str, Any]) -> Any:
    """submittedAt, epoch milliseconds (a boolean is not a time)."""
    value = payload.get("submittedAt")
    return None if isinstance(value, bool) else parse_timestamp(value)


def form_id_of(value: Any, *, bare: bool = True) -> str | None:
    """The form's numeric id from `urn:li:versionedLeadGenForm:(urn:li:leadGenForm:<id>,<v>)`,
    `urn:li:leadGenForm:<id>` or (with `bare`) a bare id."""
    raw = scalar_text(value)
    if raw is None:
        return None
    match = _FORM_URN.search(raw)
    if match:
        return match.group(1)
    return raw.strip() if bare and raw.strip().isdigit() else None


def question_fields(payload: dict[str, Any]) -> dict[str, str]:
    """questionId -> predefinedField from the `form` decoration; custom questions have none."""
    form = payload.get("form")
    content = form.get("content") if isinstance(form, dict) else None
    questions = content.get("questions") if isinstance(content, dict) else None
    out: dict[str, str] = {}
    for question in questions if isinstance(questions, list) else []:
        if not isinstance(question, dict):
            continue
        qid = scalar_text(question.get("questionId"))
        field = scalar_text(question.get("predefinedField"))
        if qid is not None and field is not None:
            out[qid.strip()] = field.strip().upper()
    return out


def text_answers(payload: dict[str, Any]) -> dict[str, str]:
    """questionId -> the text answered; multiple-choice answers (option ids) are left to dbt."""
    form_response = payload.get("formResponse")
    answers = form_response.get("answers") if isinstance(form_response, dict) else None
    out: dict[str, str] = {}
    for answer in answers if isinstance(answers, list) else []:
        if not isinstance(answer, dict):
            continue
        qid = scalar_text(answer.get("questionId"))
        details = answer.get("answerDetails")
        given = details.get("textQuestionAnswer") if isinstance(details, dict) else None
        value = scalar_text(given.get("answer")) if isinstance(given, dict) else None
        if qid is not None and value is not None:
            out.setdefault(qid.strip(), value)
    return out


def parse_response(payload: dict[str, Any], partition: str | None = None) -> SourceRecord:
    submitted = response_cursor(payload)
    form = payload.get("form")
    record = SourceRecord(
        source="linkedin",
        stream="lead_form_responses",
        record_id=response_id(payload),
        created_at=submitted,
        updated_at=submitted,  # a response is never edited after submission
        form_id=form_id_of(payload.get("versionedLeadGenFormUrn"), bare=False)
        or form_id_of(form.get("id") if isinstance(form, dict) else None)
        or form_id_of(partition),
        is_test=flag(payload.get("testLead")),
    )
    fields = question_fields(payload)
    for qid, value in text_answers(payload).items():
        attr = PREDEFINED_FIELDS.get(fields.get(qid, ""))
        if attr is not None and getattr(record, attr) is None:
            setattr(record, attr, text(value))
    return record
