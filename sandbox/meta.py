"""Meta Graph API lead retrieval as the sandbox serves it.

`GET /{version}/{form_id}/leads` with `fields`, `filtering` on `time_created`, `limit` and
`after`/`before` cursors; newest leads first; `paging.next` a full URL on this server. Also the
form list of the Page (`/{page_id}/leadgen_forms`) and single nodes (a form, a lead) by id.

The Marketing API's Insights edge of the ad account, `GET /{version}/act_{ad_account_id}/insights`
with `level=campaign`, `fields`, `time_range={"since","until"}` (or `date_preset`), `time_increment`
(1 = one row per campaign per day, or all_days), `limit` and cursor paging (`paging.cursors.after`,
`paging.next`). Daily spend is drawn per campaign per day from the leads that campaign brought that
day, around the campaign's cost per lead (META_CAMPAIGN_CPL) with noise, plus spend that brought no
lead; numbers are strings, as Graph sends them. The account's day is UTC. Today's row grows as the
sandbox clock moves, and a row Graph has served may change later: a reader re-reads recent days.

Errors come in Graph's envelope `{"error": {message, type, code, error_subcode?, fbtrace_id}}`
with Graph's HTTP statuses: 400 for OAuth and parameter errors (codes 104, 190, 100), 403 for
throttling (code 4, `is_transient: true`), 500/503 for codes 1 and 2.

Docs: https://developers.facebook.com/docs/marketing-api/guides/lead-ads/retrieving,
https://developers.facebook.com/docs/graph-api/results,
https://developers.facebook.com/docs/graph-api/guides/error-handling,
https://developers.facebook.com/docs/marketing-api/insights/parameters
"""

from __future__ import annotations

import base64
import json
import re
import secrets
import sqlite3
from datetime import UTC, date, datetime, timedelta
from random import Random
from typing import Any
from urllib.parse import urlencode

from sandbox.clock import graph_time
from sandbox.limits import Decision
from sandbox.server import Request, Response, VendorApp
from sandbox.world import (
    DAY_MS,
    META_AD_ACCOUNT_ID,
    META_AD_ACCOUNT_NAME,
    META_AD_CURRENCY,
    META_CAMPAIGN_CPL,
    META_CAMPAIGNS,
    META_FORMS,
    META_PAGE_ID,
    META_QUESTIONS,
    WINDOW_DAYS,
)

DEFAULT_LIMIT = 25
DEFAULT_FIELDS = ("id", "created_time", "field_data")
# Lead node fields (facebook-business-sdk-codegen Lead spec). Those the sandbox has no data for are
# valid to ask for and simply absent from the result, as Graph omits empty fields.
LEAD_FIELDS = {
    "id",
    "created_time",
    "field_data",
    "ad_id",
    "ad_name",
    "adset_id",
    "adset_name",
    "campaign_id",
    "campaign_name",
    "form_id",
    "is_organic",
    "platform",
    "custom_disclaimer_responses",
    "home_listing",
    "partner_name",
    "post",
    "post_submission_check_result",
    "retailer_item_id",
    "vehicle",
}
FORM_FIELDS = {"id", "name", "status", "locale", "leads_count", "created_time", "questions", "page"}
FILTER_OPERATORS = {
    "GREATER_THAN": ">",
    "GREATER_THAN_OR_EQUAL": ">=",
    "LESS_THAN": "<",
    "LESS_THAN_OR_EQUAL": "<=",
}
_PATH = re.compile(r"^/(?:v\d+\.\d+/)?(\d+)(?:/(leads|leadgen_forms))?/?$")
_INSIGHTS_PATH = re.compile(r"^/(?:v\d+\.\d+/)?act_(\d+)/insights/?$")
# Insights fields the sandbox serves (a subset of the AdsInsights node); others are refused.
INSIGHTS_FIELDS = {
    "account_id",
    "account_name",
    "account_currency",
    "campaign_id",
    "campaign_name",
    "spend",
    "impressions",
    "clicks",
    "cpc",
    "cpm",
    "ctr",
    "date_start",
    "date_stop",
}
INSIGHTS_DEFAULT_FIELDS = ("spend", "impressions", "date_start", "date_stop")
INSIGHTS_LEVELS = ("account", "campaign", "adset", "ad")
DATE_PRESETS = {
    "today": 0,
    "yesterday": 1,
    "last_7d": 7,
    "last_14d": 14,
    "last_30d": 30,
    "last_90d": 90,
}
_FORMS = {form.id: form for form in META_FORMS}


class GraphError(Exception):
    def __init__(self, response: Response) -> None:
        super().__init__(response.status)
        self.response = response


def graph_error(
    status: int,
    message: str,
    code: int,
    *,
    type_: str = "OAuthException",
    subcode: int | None = None,
    transient: bool | None = None,
    headers: dict[str, str] | None = None,
) -> Response:
    body: dict[str, Any] = {"message": message, "type": type_, "code": code}
    if subcode is not None:
        body["error_subcode"] = subcode
    if transient is not None:
        body["is_transient"] = transient
    body["fbtrace_id"] = _trace_id()
    return Response(status, {"error": body}, dict(headers or {}))


def _trace_id() -> str:
    return base64.b64encode(secrets.token_bytes(8)).decode().rstrip("=")


def _param_error(message: str) -> GraphError:
    return GraphError(graph_error(400, f"(#100) {message}", 100))


def _missing_object(object_id: str) -> GraphError:
    return GraphError(
        graph_error(
            400,
            f"Unsupported get request. Object with ID '{object_id}' does not exist, cannot be "
            "loaded due to missing permissions, or does not support this operation. Please read "
            "the Graph API documentation at https://developers.facebook.com/docs/graph-api",
            100,
            type_="GraphMethodException",
            subcode=33,
        )
    )


def encode_cursor(lead_id: int) -> str:
    return base64.urlsafe_b64encode(f"lead:{lead_id}".encode()).decode()


def decode_cursor(cursor: str) -> int | None:
    try:
        text = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
    except (ValueError, UnicodeDecodeError):
        return None
    kind, _, value = text.partition(":")
    return int(value) if kind == "lead" and value.isdigit() else None


class MetaApp(VendorApp):
    vendor = "meta"

    def handle(self, req: Request) -> Response:
        query_token = req.param("access_token")
        token = query_token or req.bearer_token()
        if not token:
            message = "An access token is required to request this resource."
            return graph_error(
                400,
                message,
                104,
                headers={
                    "WWW-Authenticate": f'OAuth "Facebook Platform" "invalid_request" "{message}"'
                },
            )
        if token != self.ctx.tokens["meta"]:
            message = "Invalid OAuth access token - Cannot parse access token"
            return graph_error(
                400,
                message,
                190,
                headers={
                    "WWW-Authenticate": f'OAuth "Facebook Platform" "invalid_token" "{message}"'
                },
            )
        decision = self.ctx.limiter.acquire(["meta"], token)
        if not decision.allowed:
            return self._throttled(decision)
        try:
            resp = self._route(req, from_query=query_token is not None)
        except GraphError as exc:
            resp = exc.response
        if decision.limit:
            resp.headers["X-App-Usage"] = _usage(decision)
        return resp

    def fault(self, status: int, req: Request) -> Response:
        if status in (403, 429):
            decision = Decision(False, "meta", *self.ctx.limiter.limit("meta"), 0, 1)
            resp = self._throttled(decision)
            resp.status = status
            if status == 429:
                resp.headers["Retry-After"] = "1"
            return resp
        if status == 401:
            return graph_error(401, "Error validating access token: Session has expired.", 190)
        if status == 404:
            object_id = req.path.strip("/").split("/")[-1] or "?"
            return _missing_object(object_id).response
        if status < 500:
            return graph_error(status, "(#100) Invalid parameter", 100)
        if status == 500:
            return graph_error(500, "An unknown error occurred", 1, transient=True)
        return graph_error(
            status,
            "An unexpected error has occurred. Please retry your request later.",
            2,
            transient=True,
        )

    def _throttled(self, decision: Decision) -> Response:
        return graph_error(
            403,
            "(#4) Application request limit reached",
            4,
            transient=True,
            headers={"X-App-Usage": _usage(decision, full=True)},
        )

    # ------------------------------------------------------------------ routing

    def _route(self, req: Request, *, from_query: bool) -> Response:
        if req.method != "GET":
            raise _param_error(f"Unsupported {req.method} request on {req.path}")
        match = _PATH.match(req.path)
        if match is None:
            insights = _INSIGHTS_PATH.match(req.path)
            if insights is None:
                return graph_error(400, f"Unknown path components: {req.path}", 2500)
            if insights.group(1) != META_AD_ACCOUNT_ID:
                raise _missing_object(f"act_{insights.group(1)}")
            return self._insights(req, from_query=from_query)
        object_id, edge = match.group(1), match.group(2)
        if edge == "leads":
            if object_id not in _FORMS:
                raise _missing_object(object_id)
            return self._leads(req, object_id, from_query=from_query)
        if edge == "leadgen_forms":
            if object_id != META_PAGE_ID:
                raise _missing_object(object_id)
            return self._forms(req)
        if object_id in _FORMS:
            return Response(
                200, self._form_node(object_id, _fields(req, FORM_FIELDS, ("id", "name")))
            )
        return self._lead_node(req, object_id)

    # ------------------------------------------------------------------ leads

    def _leads(self, req: Request, form_id: str, *, from_query: bool) -> Response:
        fields = _fields(req, LEAD_FIELDS, DEFAULT_FIELDS)
        limit = _limit(req.param("limit"), self.ctx.knobs.meta_max_limit)
        where: list[str] = ["form_id = ?"]
        params: list[Any] = [form_id]
        for sql, value in _filtering(req.param("filtering")):
            where.append(sql)
            params.append(value)
        after, before = req.param("after"), req.param("before")
        with self.ctx.store.read() as conn:
            page_where, page_params, order = list(where), list(params), "DESC"
            if after or before:
                # `after` pages towards older leads, `before` back towards newer ones.
                key = _cursor_key(conn, after or before or "", "after" if after else "before")
                page_where.append(
                    "(created_s, id) < (?, ?)" if after else "(created_s, id) > (?, ?)"
                )
                page_params.extend(key)
                order = "DESC" if after else "ASC"
            rows = conn.execute(
                f"SELECT * FROM meta_leads WHERE {' AND '.join(page_where)} "
                f"ORDER BY created_s {order}, id {order} LIMIT ?",
                [*page_params, limit + 1],
            ).fetchall()
            more = len(rows) > limit
            rows = rows[:limit]
            if order == "ASC":
                rows.reverse()
            newer = older = False
            if rows:
                first, last = rows[0], rows[-1]
                older = more if order == "DESC" else _exists(conn, where, params, "<", last)
                newer = more if order == "ASC" else _exists(conn, where, params, ">", first)
        out: dict[str, Any] = {"data": [_lead_json(r, fields) for r in rows]}
        if rows:
            before_cursor, after_cursor = (
                encode_cursor(rows[0]["id"]),
                encode_cursor(rows[-1]["id"]),
            )
            paging: dict[str, Any] = {"cursors": {"before": before_cursor, "after": after_cursor}}
            if older:
                paging["next"] = _page_url(req, "after", after_cursor, limit, from_query)
            if newer:
                paging["previous"] = _page_url(req, "before", before_cursor, limit, from_query)
            out["paging"] = paging
        return Response(200, out)

    def _lead_node(self, req: Request, object_id: str) -> Response:
        fields = _fields(req, LEAD_FIELDS, DEFAULT_FIELDS)
        with self.ctx.store.read() as conn:
            row = conn.execute(
                "SELECT * FROM meta_leads WHERE id = ?", (int(object_id),)
            ).fetchone()
        if row is None:
            raise _missing_object(object_id)
        return Response(200, _lead_json(row, fields))

    # ------------------------------------------------------------------ insights

    def _insights(self, req: Request, *, from_query: bool) -> Response:
        fields = _fields(req, INSIGHTS_FIELDS, INSIGHTS_DEFAULT_FIELDS)
        level = req.param("level") or "account"
        if level not in INSIGHTS_LEVELS:
            raise _param_error(
                f"level must be one of the following values: {', '.join(INSIGHTS_LEVELS)}"
            )
        if level not in ("account", "campaign"):
            raise _param_error(f"The sandbox serves level=account and level=campaign, not {level}")
        increment = req.param("time_increment") or "all_days"
        if increment not in ("1", "all_days"):
            raise _param_error("The sandbox serves time_increment=1 or all_days")
        today = datetime.fromtimestamp(self.ctx.clock.now_ms() / 1000, UTC).date()
        since, until = _time_range(req, today)
        limit = _limit(req.param("limit"), self.ctx.knobs.meta_max_limit)
        offset = 0
        cursor = req.param("after") or req.param("before")
        if cursor:
            # Both cursors name an absolute position in the result.
            decoded = _decode_offset(cursor)
            if decoded is None:
                raise _param_error("The paging cursor is not valid")
            offset = decoded
        rows = self._insight_rows(since, until, today, level, daily=increment == "1")
        page = rows[offset : offset + limit]
        out: dict[str, Any] = {
            "data": [{k: v for k, v in row.items() if k in fields} for row in page]
        }
        if page:
            after_cursor = _encode_offset(offset + len(page))
            paging: dict[str, Any] = {
                "cursors": {"before": _encode_offset(offset), "after": after_cursor}
            }
            if offset + len(page) < len(rows):
                paging["next"] = _page_url(req, "after", after_cursor, limit, from_query)
            if offset:
                paging["previous"] = _page_url(
                    req, "before", _encode_offset(max(0, offset - limit)), limit, from_query
                )
            out["paging"] = paging
        return Response(200, out)

    def _insight_rows(
        self, since: date, until: date, today: date, level: str, *, daily: bool
    ) -> list[dict[str, Any]]:
        """Rows sorted by day, then campaign; days before the world began or after today have none."""
        now_ms = self.ctx.clock.now_ms()
        with self.ctx.store.read() as conn:
            seed = self.ctx.store.meta_get(conn, "seed") or "0"
            made_ms = int(self.ctx.store.meta_get(conn, "generated_at_ms") or now_ms)
            first_day = _day(made_ms - WINDOW_DAYS * DAY_MS)
            start, stop = max(since, first_day), min(until, today)
            counts: dict[tuple[str, date], int] = {}
            totals: dict[str, int] = {}
            if start <= stop:
                lo = int(datetime(start.year, start.month, start.day, tzinfo=UTC).timestamp())
                hi = lo + ((stop - start).days + 1) * 86_400
                for campaign_id, created_s in conn.execute(
                    "SELECT json_extract(data, '$.campaign_id'), created_s FROM meta_leads "
                    "WHERE created_s >= ? AND created_s < ?",
                    (lo, hi),
                ):
                    if campaign_id:
                        key = (str(campaign_id), _day(int(created_s) * 1000))
                        counts[key] = counts.get(key, 0) + 1
                for campaign_id, n in conn.execute(
                    "SELECT json_extract(data, '$.campaign_id'), COUNT(*) FROM meta_leads "
                    "GROUP BY 1"
                ):
                    if campaign_id:
                        totals[str(campaign_id)] = int(n)
        days = (_day(now_ms) - first_day).days + 1
        rows: list[dict[str, Any]] = []
        day = start
        while day <= stop:
            # Today is still running: its spend so far.
            share = 1.0 if day < today else (now_ms % DAY_MS) / DAY_MS
            for campaign_id, name in META_CAMPAIGNS:
                rows.append(
                    _insight_day(
                        seed, campaign_id, name, day, counts.get((campaign_id, day), 0),
                        totals.get(campaign_id, 0) / days, share,
                    )
                )  # fmt: skip
            day += timedelta(days=1)
        if level == "account":
            rows = _roll_up(rows, ["date_start"] if daily else [])
        elif not daily:
            rows = _roll_up(rows, ["campaign_id", "campaign_name"])
        if not daily:
            for row in rows:
                row["date_start"], row["date_stop"] = since.isoformat(), until.isoformat()
        return [_with_rates(row) for row in rows]

    # ------------------------------------------------------------------ forms

    def _forms(self, req: Request) -> Response:
        fields = _fields(req, FORM_FIELDS, ("id", "locale", "name", "status"))
        data = [self._form_node(form.id, fields) for form in META_FORMS]
        cursors = {"before": encode_cursor(0), "after": encode_cursor(len(data))}
        return Response(200, {"data": data, "paging": {"cursors": cursors}})

    def _form_node(self, form_id: str, fields: list[str]) -> dict[str, Any]:
        form = _FORMS[form_id]
        node: dict[str, Any] = {
            "id": form.id,
            "name": form.name,
            "status": "ACTIVE",
            "locale": "en_US",
            "page": {"id": META_PAGE_ID, "name": "Quillstone"},
            "questions": [
                {
                    "key": key,
                    "label": key.replace("_", " ").rstrip("?").capitalize(),
                    "type": _qtype(key),
                }
                for key in META_QUESTIONS[form_id]
            ],
        }
        if "leads_count" in fields:
            with self.ctx.store.read() as conn:
                node["leads_count"] = conn.execute(
                    "SELECT COUNT(*) FROM meta_leads WHERE form_id = ?", (form_id,)
                ).fetchone()[0]
        return {k: v for k, v in node.items() if k in fields or k == "id"}


# --------------------------------------------------------------------------- helpers


def _day(ms: int) -> date:
    return datetime.fromtimestamp(ms / 1000, UTC).date()


def _insight_day(
    seed: str,
    campaign_id: str,
    name: str,
    day: date,
    leads: int,
    mean_leads: float,
    share: float,
) -> dict[str, Any]:
    """One campaign's day: the leads it brought at its cost per lead, plus spend that brought none.

    Its own generator per (seed, campaign, day): the same day always gives the same numbers.
    """
    rng = Random(f"{seed}:meta-insights:{campaign_id}:{day.isoformat()}")
    cpl = META_CAMPAIGN_CPL[campaign_id] * rng.uniform(0.7, 1.3)
    idle = cpl * mean_leads * rng.uniform(0.2, 0.6)
    spend = round((leads * cpl + idle) * share, 2)
    cpm = rng.uniform(6.0, 14.0)
    impressions = int(spend / cpm * 1000)
    clicks = max(leads, int(impressions * rng.uniform(0.008, 0.016)))
    return {
        "account_id": META_AD_ACCOUNT_ID,
        "account_name": META_AD_ACCOUNT_NAME,
        "account_currency": META_AD_CURRENCY,
        "campaign_id": campaign_id,
        "campaign_name": name,
        "spend": f"{spend:.2f}",
        "impressions": str(impressions),
        "clicks": str(clicks),
        "date_start": day.isoformat(),
        "date_stop": day.isoformat(),
    }


def _roll_up(rows: list[dict[str, Any]], keys: list[str]) -> list[dict[str, Any]]:
    """Sum spend, impressions and clicks over rows sharing `keys` (in first-seen order)."""
    merged: dict[tuple[Any, ...], dict[str, Any]] = {}
    for row in rows:
        key = tuple(row[k] for k in keys)
        into = merged.get(key)
        if into is None:
            into = merged[key] = {
                k: v for k, v in row.items() if not k.startswith("campaign_") or k in keys
            }
            into.update(spend="0.00", impressions="0", clicks="0")
        into["spend"] = f"{float(into['spend']) + float(row['spend']):.2f}"
        into["impressions"] = str(int(into["impressions"]) + int(row["impressions"]))
        into["clicks"] = str(int(into["clicks"]) + int(row["clicks"]))
        into["date_stop"] = row["date_stop"]
    return list(merged.values())


def _with_rates(row: dict[str, Any]) -> dict[str, Any]:
    spend, impressions, clicks = float(row["spend"]), int(row["impressions"]), int(row["clicks"])
    if clicks:
        row["cpc"] = f"{spend / clicks:.6f}"
    if impressions:
        row["cpm"] = f"{spend / impressions * 1000:.6f}"
        row["ctr"] = f"{clicks / impressions * 100:.6f}"
    return row


def _time_range(req: Request, today: date) -> tuple[date, date]:
    """`time_range={"since": "YYYY-MM-DD", "until": "YYYY-MM-DD"}`, else `date_preset` (last_30d)."""
    raw = req.param("time_range")
    if raw:
        try:
            value = json.loads(raw)
            since = date.fromisoformat(str(value["since"]))
            until = date.fromisoformat(str(value["until"]))
        except (json.JSONDecodeError, KeyError, TypeError, ValueError):
            raise _param_error(
                "param time_range must be an object with since and until dates (YYYY-MM-DD)"
            ) from None
        if since > until:
            raise _param_error("time_range: since must not be after until")
        return since, until
    preset = req.param("date_preset") or "last_30d"
    if preset not in DATE_PRESETS:
        raise _param_error(
            f"date_preset must be one of the following values: {', '.join(DATE_PRESETS)}"
        )
    back = DATE_PRESETS[preset]
    if back == 0:
        return today, today
    # Graph's last_Nd presets end yesterday.
    return today - timedelta(days=back), today - timedelta(days=1)


def _encode_offset(offset: int) -> str:
    return base64.urlsafe_b64encode(f"insights:{offset}".encode()).decode().rstrip("=")


def _decode_offset(cursor: str) -> int | None:
    try:
        text = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
    except (ValueError, UnicodeDecodeError):
        return None
    kind, _, value = text.partition(":")
    return int(value) if kind == "insights" and value.isdigit() else None


def _exists(
    conn: sqlite3.Connection, where: list[str], params: list[Any], op: str, row: sqlite3.Row
) -> bool:
    """Whether a lead lies beyond `row` in direction `op` under the same filters."""
    sql = " AND ".join([*where, f"(created_s, id) {op} (?, ?)"])
    found = conn.execute(
        f"SELECT 1 FROM meta_leads WHERE {sql} LIMIT 1", [*params, row["created_s"], row["id"]]
    ).fetchone()
    return found is not None


def _cursor_key(conn: sqlite3.Connection, cursor: str, name: str) -> tuple[int, int]:
    lead_id = decode_cursor(cursor)
    row = None
    if lead_id is not None:
        row = conn.execute(
            "SELECT created_s, id FROM meta_leads WHERE id = ?", (lead_id,)
        ).fetchone()
    if row is None:
        raise _param_error(f"The {name} cursor is not valid")
    return int(row[0]), int(row[1])


def _fields(req: Request, allowed: set[str], default: tuple[str, ...]) -> list[str]:
    raw = req.param("fields")
    if not raw:
        return list(default)
    fields = [f.strip() for f in raw.split(",") if f.strip()]
    for name in fields:
        if name not in allowed:
            node = (
                "Lead"
                if "field_data" in allowed
                else "AdsInsights"
                if "spend" in allowed
                else "LeadgenForm"
            )
            raise _param_error(f"Tried accessing nonexisting field ({name}) on node type ({node})")
    return fields


def _limit(raw: str | None, cap: int) -> int:
    if raw is None or raw == "":
        return DEFAULT_LIMIT
    try:
        value = int(raw)
    except ValueError:
        raise _param_error("Param limit must be a number") from None
    if value < 1:
        return DEFAULT_LIMIT
    # Graph silently lowers a limit above an edge's maximum; the paging links stay correct.
    return min(value, cap)


def _filtering(raw: str | None) -> list[tuple[str, int]]:
    if not raw:
        return []
    try:
        filters = json.loads(raw)
    except json.JSONDecodeError:
        raise _param_error("param filtering must be an array.") from None
    if not isinstance(filters, list):
        raise _param_error("param filtering must be an array.")
    out = []
    for flt in filters:
        if not isinstance(flt, dict) or not {"field", "operator", "value"} <= set(flt):
            raise _param_error(
                "param filtering[0] must be an object with field, operator and value."
            )
        if flt["field"] != "time_created":
            raise _param_error(f"Filtering field {flt['field']} is not supported")
        op = str(flt["operator"])
        if op not in FILTER_OPERATORS:
            raise _param_error(f"Filtering field time_created with operation {op} is not supported")
        try:
            value = int(flt["value"])
        except (TypeError, ValueError):
            raise _param_error(
                "Filtering value for time_created must be a unix timestamp"
            ) from None
        out.append((f"created_s {FILTER_OPERATORS[op]} ?", value))
    return out


def _lead_json(row: sqlite3.Row, fields: list[str]) -> dict[str, Any]:
    data = json.loads(row["data"])
    full: dict[str, Any] = {
        "id": str(row["id"]),
        "created_time": graph_time(int(row["created_s"]) * 1000),
        **data,
    }
    out = {name: full[name] for name in fields if name in full}
    out.setdefault("id", full["id"])  # Graph always returns the node id
    return out


def _page_url(req: Request, name: str, cursor: str, limit: int, from_query: bool) -> str:
    params = [
        (k, v)
        for k, values in req.query.items()
        for v in values
        if k not in ("after", "before", "limit")
    ]
    if not from_query:
        # A token that came in a header is never written into a URL.
        params = [(k, v) for k, v in params if k != "access_token"]
    params += [("limit", str(limit)), (name, cursor)]
    return f"{req.base_url}{req.path}?{urlencode(params)}"


def _usage(decision: Decision, *, full: bool = False) -> str:
    used = (
        100
        if full or not decision.limit
        else round(100 * (decision.limit - decision.remaining) / decision.limit)
    )
    return json.dumps({"call_count": used, "total_cputime": used // 2, "total_time": used // 2})


def _qtype(key: str) -> str:
    standard = {
        "full_name": "FULL_NAME",
        "first_name": "FIRST_NAME",
        "last_name": "LAST_NAME",
        "email": "EMAIL",
        "phone_number": "PHONE",
        "company_name": "COMPANY_NAME",
        "job_title": "JOB_TITLE",
        "country": "COUNTRY",
        "city": "CITY",
    }
    return standard.get(key, "CUSTOM")
