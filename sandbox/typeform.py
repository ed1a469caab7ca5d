"""Typeform's Responses API as the sandbox serves it.

`GET /forms/{form_id}/responses` with `page_size` (default 25, at most 1000), `since`/`until`
(inclusive; ISO-8601 or unix seconds), `before`/`after` (response tokens, exclusive), `completed`
or `response_type`, `sort`, `query`, `included_response_ids`, `excluded_response_ids`.

Ordering, as Typeform documents it: newest `submitted_at` first by default; `before` returns
responses older than that token's; `after` returns responses newer than it, oldest first (the
order Typeform processed them), so following the last token of each page walks forward through
the whole set without repeats. `before`/`after` cannot be combined with `sort`.
Also `GET /forms` and `GET /forms/{form_id}` (the form definition with its field ids and refs).

Errors: `{"code", "description"}` (+ `details` on validation errors); 401 AUTHENTICATION_FAILED,
404 FORM_NOT_FOUND, 400 VALIDATION_ERROR, 429 past 2 requests per second per token.

Docs: https://www.typeform.com/developers/responses/reference/retrieve-responses/,
https://www.typeform.com/developers/get-started/#rate-limits
"""

from __future__ import annotations

import json
import math
import re
from typing import Any

from sandbox.clock import parse_iso_ms, typeform_time
from sandbox.limits import Decision
from sandbox.server import Request, Response, VendorApp
from sandbox.world import COUNTRIES, TYPEFORM_FIELDS, TYPEFORM_FORMS, typeform_field_id

DEFAULT_PAGE_SIZE = 25
MAX_PAGE_SIZE = 1000
_FORMS = {form.id: form for form in TYPEFORM_FORMS}
_RESPONSES = re.compile(r"^/forms/([A-Za-z0-9]+)/responses/?$")
_FORM = re.compile(r"^/forms/([A-Za-z0-9]+)/?$")
_TITLES = {
    "first_name": "What's your first name?",
    "last_name": "And your last name?",
    "email": "Your work email?",
    "phone": "A phone number we can reach you on?",
    "company": "Which company are you with?",
    "job_title": "What's your role?",
    "country": "Where are you based?",
}


class TypeformError(Exception):
    def __init__(self, response: Response) -> None:
        super().__init__(response.status)
        self.response = response


def tf_error(
    status: int,
    code: str,
    description: str,
    *,
    details: list[dict[str, str]] | None = None,
    headers: dict[str, str] | None = None,
) -> Response:
    body: dict[str, Any] = {"code": code, "description": description}
    if details:
        body["details"] = details
    return Response(status, body, dict(headers or {}))


def _invalid(field: str, description: str) -> TypeformError:
    return TypeformError(
        tf_error(
            400,
            "VALIDATION_ERROR",
            "The request contains invalid parameters",
            details=[
                {
                    "code": "INVALID_PARAMETER",
                    "description": description,
                    "field": field,
                    "in": "query",
                }
            ],
        )
    )


class TypeformApp(VendorApp):
    vendor = "typeform"

    def handle(self, req: Request) -> Response:
        token = req.bearer_token()
        if token is None or token != self.ctx.tokens["typeform"]:
            return tf_error(
                401,
                "AUTHENTICATION_FAILED",
                "Authentication credentials not found on the Request Headers",
            )
        decision = self.ctx.limiter.acquire(["typeform"], token)
        if not decision.allowed:
            return self._limited(decision)
        try:
            return self._route(req)
        except TypeformError as exc:
            return exc.response

    def fault(self, status: int, req: Request) -> Response:
        if status == 429:
            return self._limited(
                Decision(False, "typeform", *self.ctx.limiter.limit("typeform"), 0, 1)
            )
        if status == 401:
            return tf_error(
                401,
                "AUTHENTICATION_FAILED",
                "Authentication credentials not found on the Request Headers",
            )
        if status == 403:
            return tf_error(403, "FORBIDDEN", "The token does not have the required scope")
        if status == 404:
            return tf_error(404, "NOT_FOUND", "Endpoint not found")
        if status < 500:
            return tf_error(status, "VALIDATION_ERROR", "The request contains invalid parameters")
        return tf_error(
            status, "INTERNAL_SERVER_ERROR", "An unexpected error occurred, please try again"
        )

    @staticmethod
    def _limited(decision: Decision) -> Response:
        return tf_error(
            429,
            "TOO_MANY_REQUESTS",
            "You have exceeded the rate limit of requests per second",
            headers={"Retry-After": str(decision.retry_after)},
        )

    def _route(self, req: Request) -> Response:
        if req.method != "GET":
            return tf_error(405, "METHOD_NOT_ALLOWED", f"{req.method} is not allowed on {req.path}")
        if req.path.rstrip("/") == "/forms":
            items = [_form_summary(req, f.id) for f in TYPEFORM_FORMS]
            return Response(200, {"total_items": len(items), "page_count": 1, "items": items})
        match = _RESPONSES.match(req.path)
        if match:
            return self._responses(req, _known_form(match.group(1)))
        match = _FORM.match(req.path)
        if match:
            return Response(200, _form_definition(req, _known_form(match.group(1))))
        return tf_error(404, "NOT_FOUND", "Endpoint not found")

    def _responses(self, req: Request, form_id: str) -> Response:
        page_size = _page_size(req.param("page_size"))
        where: list[str] = ["form_id = ?"]
        params: list[Any] = [form_id]
        since, until = req.param("since"), req.param("until")
        if since:
            where.append("submitted_ms >= ?")
            params.append(_time_param("since", since))
        if until:
            where.append("submitted_ms <= ?")
            params.append(_time_param("until", until))
        if not _completed_wanted(req):
            where.append("0")
        query = req.param("query")
        if query:
            where.append("lower(data) LIKE ?")
            params.append(f"%{query.lower()}%")
        for name, negate in (("included_response_ids", False), ("excluded_response_ids", True)):
            raw = req.param(name)
            ids = [i for i in (raw or "").split(",") if i]
            if ids:
                marks = ", ".join("?" for _ in ids)
                where.append(f"token {'NOT IN' if negate else 'IN'} ({marks})")
                params.extend(ids)
        after, before, sort = req.param("after"), req.param("before"), req.param("sort")
        if (after or before) and sort:
            raise _invalid("sort", "sort cannot be used together with before or after")
        field, direction = _sort(sort)
        with self.ctx.store.read() as conn:
            if after:
                where.append("(submitted_ms, seq) > (?, ?)")
                params.extend(_token_key(conn, form_id, after, "after"))
            if before:
                where.append("(submitted_ms, seq) < (?, ?)")
                params.extend(_token_key(conn, form_id, before, "before"))
            if after:
                # Walking forward from a token: the order responses were processed in.
                field, direction = "submitted_ms", "ASC"
            sql_where = " AND ".join(where)
            total = conn.execute(
                f"SELECT COUNT(*) FROM tf_responses WHERE {sql_where}", params
            ).fetchone()[0]
            rows = conn.execute(
                f"SELECT data FROM tf_responses WHERE {sql_where} "
                f"ORDER BY {field} {direction}, seq {direction} LIMIT ?",
                [*params, page_size],
            ).fetchall()
        items = [_item(json.loads(r["data"])) for r in rows]
        return Response(
            200,
            {"total_items": total, "page_count": math.ceil(total / page_size), "items": items},
        )


# --------------------------------------------------------------------------- helpers


def _known_form(form_id: str) -> str:
    if form_id not in _FORMS:
        raise TypeformError(
            tf_error(404, "FORM_NOT_FOUND", f"Non existing form with uid {form_id}")
        )
    return form_id


def _page_size(raw: str | None) -> int:
    if raw is None or raw == "":
        return DEFAULT_PAGE_SIZE
    if not raw.isdigit() or not 1 <= int(raw) <= MAX_PAGE_SIZE:
        raise _invalid("page_size", f"page_size must be an integer between 1 and {MAX_PAGE_SIZE}")
    return int(raw)


def _time_param(name: str, raw: str) -> int:
    text = raw.strip()
    try:
        if text.isdigit():
            return int(text) * 1000
        return parse_iso_ms(text)
    except ValueError:
        raise _invalid(
            name, f"{name} must be a unix timestamp in seconds or an ISO 8601 date"
        ) from None


def _completed_wanted(req: Request) -> bool:
    """All sandbox responses are completed; say whether the request asks for those."""
    completed = req.param("completed")
    if completed is not None:
        if completed not in ("true", "false"):
            raise _invalid("completed", "completed must be true or false")
        return completed == "true"
    kinds = req.param("response_type")
    if kinds:
        wanted = {k.strip() for k in kinds.split(",") if k.strip()}
        if not wanted <= {"started", "partial", "completed"}:
            raise _invalid("response_type", "response_type takes started, partial, completed")
        return "completed" in wanted
    return True


def _sort(raw: str | None) -> tuple[str, str]:
    if not raw:
        return "submitted_ms", "DESC"
    field, _, direction = raw.partition(",")
    columns = {"submitted_at": "submitted_ms", "landed_at": "landed_ms"}
    if field not in columns or direction.lower() not in ("asc", "desc", ""):
        raise _invalid("sort", "sort must be {submitted_at|landed_at},{asc|desc}")
    return columns[field], (direction or "desc").upper()


def _token_key(conn: Any, form_id: str, token: str, name: str) -> tuple[int, int]:
    row = conn.execute(
        "SELECT submitted_ms, seq FROM tf_responses WHERE token = ? AND form_id = ?",
        (token, form_id),
    ).fetchone()
    if row is None:
        raise _invalid(name, f"{name} must be the token of a response to this form")
    return int(row[0]), int(row[1])


def _item(data: dict[str, Any]) -> dict[str, Any]:
    return {
        "landing_id": data["landing_id"],
        "token": data["token"],
        "response_id": data["response_id"],
        "response_type": data["response_type"],
        "landed_at": typeform_time(data["landed_at_ms"]),
        "submitted_at": typeform_time(data["submitted_at_ms"]),
        "metadata": data["metadata"],
        "hidden": data["hidden"],
        "calculated": data["calculated"],
        "answers": data["answers"],
    }


def _form_summary(req: Request, form_id: str) -> dict[str, Any]:
    return {
        "id": form_id,
        "type": "form",
        "title": _FORMS[form_id].name,
        "last_updated_at": "2026-01-05T09:00:00.000Z",
        "settings": {"is_public": True},
        "self": {"href": f"{req.base_url}/forms/{form_id}"},
        "_links": {"display": f"https://quillstone.typeform.com/to/{form_id}"},
    }


def _form_definition(req: Request, form_id: str) -> dict[str, Any]:
    fields = []
    for ref, field_type in TYPEFORM_FIELDS[form_id]:
        fld: dict[str, Any] = {
            "id": typeform_field_id(form_id, ref),
            "title": _TITLES[ref],
            "ref": ref,
            "type": field_type,
            "validations": {"required": ref in ("first_name", "email")},
        }
        if field_type == "dropdown":
            fld["properties"] = {"choices": [{"label": c.name} for c in COUNTRIES]}
        fields.append(fld)
    return {
        "id": form_id,
        "type": "form",
        "title": _FORMS[form_id].name,
        "hidden": ["utm_source", "utm_campaign"],
        "fields": fields,
        "self": {"href": f"{req.base_url}/forms/{form_id}"},
        "_links": {"display": f"https://quillstone.typeform.com/to/{form_id}"},
    }
