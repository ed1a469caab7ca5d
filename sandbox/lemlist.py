"""Lemlist's campaign-leads and activities API as the sandbox serves it.

- `POST /api/campaigns/{campaignId}/leads/{email}`: create the lead in the campaign (JSON body of
  lead variables, optional). 404 "Campaign not found"; 400 "Lead already in the campaign" when the
  address is in it; 400 "Bad params" for an address that is not one.
- `DELETE /api/campaigns/{campaignId}/leads/{email}`: with `action=remove` the lead is deleted from
  the campaign; without it, it stays and is marked unsubscribed (Lemlist's documented fallback).
  404 "Lead not found" when the address is not in the campaign.
- `GET /api/activities?type=&campaignId=&minDate=&offset=&limit=`: a JSON array, newest first,
  offset-paged (`limit` at most 100, else 400 "Bad params"). `emailsReplied` and `emailReplied`
  name the same type.
- `GET /api/campaigns`: the campaigns (`CAMPAIGNS`), as `[{_id, name, status}]`.

Auth: basic auth with an empty user and the API key as password, or `?access_token=`; otherwise
401 "Unauthorized". Limit: 20 requests per 2 seconds per key, on every route; each answer carries
X-RateLimit-Limit / -Remaining / -Reset, a refused one a 429 "Too many requests" with Retry-After.
Errors are short text bodies, as Lemlist sends them.

State (leads in campaigns, activities) lives in the sandbox's SQLite store, so a sandbox restarted
over a kept state file still knows who is in which campaign. Tests mark a reply with the control
endpoint `POST /_sandbox/lemlist/replies {"campaign_id", "email"}` or `Sandbox.lemlist_reply()`.

Docs: https://developer.lemlist.com/api-reference/getting-started/rate-limits,
https://developer.lemlist.com/api-reference/endpoints/leads/delete-lead,
https://developer.lemlist.com/api-reference/endpoints/activities/get-many-activities
"""

from __future__ import annotations

import base64
import binascii
import json
import re
import secrets
from email.utils import format_datetime
from typing import Any
from urllib.parse import unquote

from sandbox.clock import from_ms, hubspot_time, parse_iso_ms
from sandbox.limits import Decision
from sandbox.server import Context, Request, Response, VendorApp

# The campaigns the sandbox account has; leadflow.yml's nurture tracks name them.
CAMPAIGNS: dict[str, str] = {
    "cam_sbxNurtureGeneral": "Nurture - general",
    "cam_sbxNurtureSmallBiz": "Nurture - small business",
    "cam_sbxNurtureRecycled": "Nurture - recycled",
}
MAX_LIMIT = 100
REPLY_TYPES = ("emailsReplied", "emailReplied")

_LEAD = re.compile(r"^/api/campaigns/([^/]+)/leads/([^/]+)/?$")
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")

SCHEMA = """
CREATE TABLE IF NOT EXISTS lemlist_leads (
    campaign_id TEXT NOT NULL, email TEXT NOT NULL, lead_id TEXT NOT NULL, added_ms INTEGER,
    unsubscribed INTEGER NOT NULL DEFAULT 0, variables TEXT, PRIMARY KEY (campaign_id, email)
);
CREATE TABLE IF NOT EXISTS lemlist_activities (
    seq INTEGER PRIMARY KEY, id TEXT UNIQUE, type TEXT, campaign_id TEXT, lead_id TEXT,
    email TEXT, created_ms INTEGER
);
"""


def text_error(status: int, message: str, headers: dict[str, str] | None = None) -> Response:
    return Response(
        status,
        message.encode("utf-8"),
        {"Content-Type": "text/plain; charset=utf-8", **(headers or {})},
    )


class LemlistError(Exception):
    def __init__(self, response: Response) -> None:
        super().__init__(response.status)
        self.response = response


class LemlistApp(VendorApp):
    vendor = "lemlist"

    def __init__(self, ctx: Context) -> None:
        super().__init__(ctx)
        with ctx.store.read() as conn:
            conn.executescript(SCHEMA)

    # ------------------------------------------------------------------ serving

    def handle(self, req: Request) -> Response:
        key = self._api_key(req)
        if key is None or key != self.ctx.tokens["lemlist"]:
            return text_error(401, "Unauthorized")
        decision = self.ctx.limiter.acquire(["lemlist"], key)
        if not decision.allowed:
            return self._limited(decision)
        try:
            resp = self._route(req)
        except LemlistError as exc:
            resp = exc.response
        resp.headers.update(self._limit_headers(decision))
        return resp

    def fault(self, status: int, req: Request) -> Response:
        if status == 429:
            return self._limited(
                Decision(False, "lemlist", *self.ctx.limiter.limit("lemlist"), 0, 1)
            )
        messages = {400: "Bad request", 401: "Unauthorized", 403: "Forbidden", 404: "Not found"}
        return text_error(status, messages.get(status, "Internal server error"))

    @staticmethod
    def _api_key(req: Request) -> str | None:
        auth = req.header("Authorization") or ""
        scheme, _, value = auth.partition(" ")
        if scheme.lower() == "basic":
            try:
                decoded = base64.b64decode(value.strip(), validate=True).decode("utf-8")
            except (binascii.Error, UnicodeDecodeError):
                return None
            return decoded.partition(":")[2] or None
        return req.param("access_token")

    def _limit_headers(self, decision: Decision) -> dict[str, str]:
        reset = from_ms(self.ctx.clock.now_ms() + int(decision.per_seconds * 1000))
        return {
            "X-RateLimit-Limit": str(decision.limit),
            "X-RateLimit-Remaining": str(decision.remaining),
            "X-RateLimit-Reset": format_datetime(reset, usegmt=True),
        }

    def _limited(self, decision: Decision) -> Response:
        headers = self._limit_headers(decision)
        headers["Retry-After"] = str(decision.retry_after)
        return text_error(429, "Too many requests", headers)

    def _route(self, req: Request) -> Response:
        path = req.path.rstrip("/")
        if path == "/api/activities":
            if req.method != "GET":
                raise LemlistError(text_error(405, "Method not allowed"))
            return self._activities(req)
        if path == "/api/campaigns":
            if req.method != "GET":
                raise LemlistError(text_error(405, "Method not allowed"))
            return Response(
                200,
                [
                    {"_id": cid, "name": name, "status": "running"}
                    for cid, name in CAMPAIGNS.items()
                ],
            )
        match = _LEAD.match(req.path)
        if match is None:
            raise LemlistError(text_error(404, "Not found"))
        campaign_id, email = unquote(match.group(1)), unquote(match.group(2)).strip().lower()
        if campaign_id not in CAMPAIGNS:
            raise LemlistError(text_error(404, "Campaign not found"))
        if req.method == "POST":
            return self._add(req, campaign_id, email)
        if req.method == "DELETE":
            return self._remove(req, campaign_id, email)
        raise LemlistError(text_error(405, "Method not allowed"))

    def _add(self, req: Request, campaign_id: str, email: str) -> Response:
        if not _EMAIL.match(email):
            raise LemlistError(text_error(400, "Bad params"))
        try:
            variables = req.json() or {}
        except (json.JSONDecodeError, UnicodeDecodeError):
            raise LemlistError(text_error(400, "Bad params")) from None
        if not isinstance(variables, dict):
            raise LemlistError(text_error(400, "Bad params"))
        with self.ctx.store.transaction() as conn:
            exists = conn.execute(
                "SELECT 1 FROM lemlist_leads WHERE campaign_id = ? AND email = ?",
                (campaign_id, email),
            ).fetchone()
            if exists:
                raise LemlistError(text_error(400, "Lead already in the campaign"))
            lead_id = "lea_" + secrets.token_hex(8)
            conn.execute(
                "INSERT INTO lemlist_leads (campaign_id, email, lead_id, added_ms, variables) "
                "VALUES (?, ?, ?, ?, ?)",
                (campaign_id, email, lead_id, self.ctx.clock.now_ms(), json.dumps(variables)),
            )
        return Response(200, _lead_object(campaign_id, email, lead_id, variables, False))

    def _remove(self, req: Request, campaign_id: str, email: str) -> Response:
        with self.ctx.store.transaction() as conn:
            row = conn.execute(
                "SELECT lead_id, variables FROM lemlist_leads WHERE campaign_id = ? AND email = ?",
                (campaign_id, email),
            ).fetchone()
            if row is None:
                raise LemlistError(text_error(404, "Lead not found"))
            if req.param("action") == "remove":
                conn.execute(
                    "DELETE FROM lemlist_leads WHERE campaign_id = ? AND email = ?",
                    (campaign_id, email),
                )
            else:
                conn.execute(
                    "UPDATE lemlist_leads SET unsubscribed = 1 WHERE campaign_id = ? AND email = ?",
                    (campaign_id, email),
                )
        variables = json.loads(row["variables"] or "{}")
        return Response(200, _lead_object(campaign_id, email, row["lead_id"], variables, True))

    def _activities(self, req: Request) -> Response:
        try:
            limit = int(req.param("limit") or MAX_LIMIT)
            offset = int(req.param("offset") or 0)
        except ValueError:
            raise LemlistError(text_error(400, "Bad params")) from None
        if not 1 <= limit <= MAX_LIMIT or offset < 0:
            raise LemlistError(text_error(400, "Bad params"))
        where: list[str] = ["1 = 1"]
        args: list[Any] = []
        kind = req.param("type")
        if kind:
            kinds = REPLY_TYPES if kind in REPLY_TYPES else (kind,)
            where.append(f"type IN ({', '.join('?' for _ in kinds)})")
            args.extend(kinds)
        if req.param("campaignId"):
            where.append("campaign_id = ?")
            args.append(req.param("campaignId"))
        if req.param("minDate"):
            min_ms = _date_param(req.param("minDate") or "")
            where.append("created_ms >= ?")
            args.append(min_ms)
        with self.ctx.store.read() as conn:
            rows = conn.execute(
                f"SELECT * FROM lemlist_activities WHERE {' AND '.join(where)} "
                "ORDER BY created_ms DESC, seq DESC LIMIT ? OFFSET ?",
                (*args, limit, offset),
            ).fetchall()
        return Response(200, [_activity_object(row) for row in rows])

    # ------------------------------------------------------------------ Python-side API

    def reply(self, campaign_id: str, email: str) -> str:
        """The lead answered the campaign's email: record an emailsReplied activity; its id."""
        email = email.strip().lower()
        with self.ctx.store.transaction() as conn:
            row = conn.execute(
                "SELECT lead_id FROM lemlist_leads WHERE campaign_id = ? AND email = ?",
                (campaign_id, email),
            ).fetchone()
            if row is None:
                raise ValueError("that address is not a lead of that campaign")
            activity_id = "act_" + secrets.token_hex(8)
            conn.execute(
                "INSERT INTO lemlist_activities (id, type, campaign_id, lead_id, email, created_ms) "
                "VALUES (?, 'emailsReplied', ?, ?, ?, ?)",
                (activity_id, campaign_id, row["lead_id"], email, self.ctx.clock.now_ms()),
            )
        return activity_id

    def leads(self) -> list[dict[str, Any]]:
        """Every lead in every campaign: {campaign_id, email, lead_id, unsubscribed}."""
        with self.ctx.store.read() as conn:
            rows = conn.execute(
                "SELECT campaign_id, email, lead_id, unsubscribed FROM lemlist_leads "
                "ORDER BY campaign_id, email"
            ).fetchall()
        return [
            {
                "campaign_id": r["campaign_id"],
                "email": r["email"],
                "lead_id": r["lead_id"],
                "unsubscribed": bool(r["unsubscribed"]),
            }
            for r in rows
        ]


def _date_param(value: str) -> int:
    if value.isdigit():
        return int(value) * 1000
    try:
        return parse_iso_ms(value)
    except ValueError:
        raise LemlistError(text_error(400, "Bad params")) from None


def _lead_object(
    campaign_id: str, email: str, lead_id: str, variables: dict[str, Any], unsubscribed: bool
) -> dict[str, Any]:
    return {
        **{k: v for k, v in variables.items() if isinstance(k, str)},
        "_id": lead_id,
        "email": email,
        "campaignId": campaign_id,
        "isPaused": False,
        "isUnsubscribed": unsubscribed,
    }


def _activity_object(row: Any) -> dict[str, Any]:
    return {
        "_id": row["id"],
        "type": row["type"],
        "createdAt": hubspot_time(row["created_ms"]),
        "leadId": row["lead_id"],
        "leadEmail": row["email"],
        "campaignId": row["campaign_id"],
        "campaignName": CAMPAIGNS.get(row["campaign_id"], ""),
        "bot": False,
    }
