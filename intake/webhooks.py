"""Each source's webhook: how its sender proves who it is, and which leads a request announces.

Signatures are checked on the exact bytes received, with constant-time comparison, before the body
is parsed. A request is refused (`Rejected`, with the HTTP status and a reason that names no value
from the request) when its signature is missing or wrong, its signed timestamp is outside the replay
window, or its body is not the shape the source documents.

- Meta Lead Ads: `X-Hub-Signature-256: sha256=<hex HMAC-SHA256 of the body, keyed by the app
  secret>`; the body lists `leadgen` changes whose `leadgen_id` is fetched from Graph.
  https://developers.facebook.com/docs/graph-api/webhooks/getting-started
- Typeform: `Typeform-Signature: sha256=<base64 HMAC-SHA256 of the body>`; the response is fetched
  by its token. https://www.typeform.com/developers/webhooks/secure-your-webhooks/
- HubSpot (v3): `X-HubSpot-Signature-v3: <base64 HMAC-SHA256 of method + URI + body + timestamp,
  keyed by the app's client secret>`, `X-HubSpot-Request-Timestamp` (ms), refused when older than
  five minutes; the body is a list of events, each contact fetched by id.
  https://developers.hubspot.com/docs/api/webhooks/validating-requests
- Google Ads lead forms: the body carries the `google_key` configured on the form's webhook; the
  lead is in the body. https://developers.google.com/google-ads/webhook/docs/implementation
- LeadFlow's signed form POST (web forms posting from their backend):
  `X-LeadFlow-Timestamp: <unix seconds>`, `X-LeadFlow-Signature: v1=<hex HMAC-SHA256 of
  "<timestamp>.<body>">`; the submission is in the body (connectors/webform/README.md).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import re
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from intake.inbox import Arrival, utc_iso

HUBSPOT_CONTACT_EVENTS = frozenset(
    {"contact.creation", "contact.propertyChange", "contact.restore", "contact.merge"}
)


class Rejected(Exception):
    """A request refused; `status` is the HTTP answer, the message says why (no request values)."""

    def __init__(self, status: int, reason: str) -> None:
        super().__init__(reason)
        self.status = status
        self.reason = reason


@dataclass(frozen=True)
class Request:
    method: str
    url: str  # as the sender called it: scheme, host, path and query (HubSpot signs it)
    headers: Mapping[str, str]  # lower-case names
    body: bytes


def _hmac(secret: str, message: bytes) -> bytes:
    return hmac.new(secret.encode(), message, hashlib.sha256).digest()


def _require(request: Request, header: str) -> str:
    value = request.headers.get(header.lower(), "").strip()
    if not value:
        raise Rejected(401, f"missing {header} header")
    return value


def _same(expected: str, given: str, header: str) -> None:
    # surrogatepass: a key read from JSON may hold a lone surrogate; it must fail, not raise
    if not hmac.compare_digest(expected.encode(), given.encode("utf-8", "surrogatepass")):
        raise Rejected(401, f"{header} does not match the request")


def _fresh(stamp_s: float, now_s: float, window_s: int, header: str) -> None:
    if abs(now_s - stamp_s) > window_s:
        raise Rejected(401, f"{header} is outside the {window_s} s replay window")


def _json(body: bytes) -> Any:
    try:
        return json.loads(body)
    except (ValueError, UnicodeDecodeError):
        raise Rejected(400, "the body is not JSON") from None


def _key(value: Any) -> str | None:
    """An id as text; ids arrive as strings or numbers, anything else (or text that is not valid
    Unicode, such as a lone UTF-16 surrogate escaped in the JSON) is unusable."""
    if isinstance(value, bool) or not isinstance(value, int | str):
        return None
    text = str(value).strip()
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return None
    return text or None


# --------------------------------------------------------------------------- Meta


def meta_signature(secret: str, body: bytes) -> str:
    return "sha256=" + _hmac(secret, body).hex()


def meta_verify(request: Request, secret: str, now_s: float, window_s: int) -> None:
    header = "X-Hub-Signature-256"
    _same(meta_signature(secret, request.body), _require(request, header), header)


def meta_arrivals(body: Any) -> list[Arrival]:
    if not isinstance(body, dict) or not isinstance(body.get("entry"), list):
        raise Rejected(400, "a Meta webhook body has an `entry` list")
    found = []
    for entry in body["entry"]:
        changes = entry.get("changes") if isinstance(entry, dict) else None
        for change in changes if isinstance(changes, list) else []:
            if not isinstance(change, dict) or change.get("field") != "leadgen":
                continue
            value = change.get("value")
            value = value if isinstance(value, dict) else {}
            leadgen_id = _key(value.get("leadgen_id"))
            if leadgen_id is None or not leadgen_id.isdigit():
                raise Rejected(400, "a leadgen change has no numeric leadgen_id")
            found.append(
                Arrival(
                    "meta",
                    leadgen_id,
                    "leads",
                    partition=_key(value.get("form_id")),
                    record_ref=leadgen_id,
                )
            )
    return found


# --------------------------------------------------------------------------- Typeform


def typeform_signature(secret: str, body: bytes) -> str:
    return "sha256=" + base64.b64encode(_hmac(secret, body)).decode()


def typeform_verify(request: Request, secret: str, now_s: float, window_s: int) -> None:
    header = "Typeform-Signature"
    _same(typeform_signature(secret, request.body), _require(request, header), header)


def typeform_arrivals(body: Any) -> list[Arrival]:
    response = body.get("form_response") if isinstance(body, dict) else None
    if not isinstance(response, dict):
        raise Rejected(400, "a Typeform webhook body has a `form_response` object")
    token, form_id = _key(response.get("token")), _key(response.get("form_id"))
    if token is None or form_id is None:
        raise Rejected(400, "the form_response has no token or form_id")
    return [Arrival("typeform", token, "responses", partition=form_id, record_ref=token)]


# --------------------------------------------------------------------------- HubSpot (v3)


def hubspot_signature(secret: str, method: str, url: str, body: bytes, timestamp: str) -> str:
    """HubSpot's v3 scheme: base64 HMAC-SHA256 of method + URI + body + timestamp, where the URI
    has the percent-escapes HubSpot lists decoded (`_hubspot_uri`)."""
    message = method.upper().encode() + _hubspot_uri(url).encode() + body + timestamp.encode()
    return base64.b64encode(_hmac(secret, message)).decode()


# The escapes HubSpot decodes before signing (its "validating requests" page); others stay as sent.
_HUBSPOT_DECODED = {
    "%3A": ":", "%2F": "/", "%3F": "?", "%40": "@", "%21": "!", "%24": "$",
    "%27": "'", "%28": "(", "%29": ")", "%2A": "*", "%2C": ",", "%3B": ";",
}  # fmt: skip


def _hubspot_uri(url: str) -> str:
    return re.sub(
        "%[0-9A-Fa-f]{2}", lambda m: _HUBSPOT_DECODED.get(m.group(0).upper(), m.group(0)), url
    )


def hubspot_verify(request: Request, secret: str, now_s: float, window_s: int) -> None:
    stamp = _require(request, "X-HubSpot-Request-Timestamp")
    if not stamp.isdigit():
        raise Rejected(401, "X-HubSpot-Request-Timestamp is not a time in milliseconds")
    _fresh(int(stamp) / 1000, now_s, window_s, "X-HubSpot-Request-Timestamp")
    header = "X-HubSpot-Signature-v3"
    expected = hubspot_signature(secret, request.method, request.url, request.body, stamp)
    _same(expected, _require(request, header), header)


def hubspot_arrivals(body: Any) -> list[Arrival]:
    if not isinstance(body, list):
        raise Rejected(400, "a HubSpot webhook body is a list of events")
    found = []
    for event in body:
        if (
            not isinstance(event, dict)
            or event.get("subscriptionType") not in HUBSPOT_CONTACT_EVENTS
        ):
            continue  # deals, companies, ...: not leads; acknowledged, nothing to fetch
        changed = str(event.get("propertyName") or "")
        if event["subscriptionType"] == "contact.propertyChange" and changed.startswith(
            "leadflow_"
        ):
            continue  # the echo of LeadFlow's push (only LeadFlow writes leadflow_* properties)
        event_id, object_id = _key(event.get("eventId")), _key(event.get("objectId"))
        if event["subscriptionType"] == "contact.merge":
            # HubSpot merges contacts into a new record (newObjectId); the ids in objectId,
            # primaryObjectId and mergedObjectIds no longer exist as contacts of their own
            merged_into = _key(event.get("newObjectId")) or _key(event.get("primaryObjectId"))
            if merged_into is not None and merged_into.isdigit():
                object_id = merged_into
        if event_id is None or object_id is None or not object_id.isdigit():
            raise Rejected(400, "a contact event has no eventId or numeric objectId")
        # Keyed by event: a later change to the same contact is news and is fetched again.
        found.append(Arrival("hubspot", event_id, "contacts", record_ref=object_id))
    return found


# --------------------------------------------------------------------------- Google Ads


def google_ads_verify(request: Request, secret: str, now_s: float, window_s: int) -> None:
    body = _json(request.body)
    key = body.get("google_key") if isinstance(body, dict) else None
    if not isinstance(key, str) or not key:
        raise Rejected(401, "missing google_key")
    _same(secret, key, "google_key")


def google_ads_arrivals(body: Any) -> list[Arrival]:
    # The key authenticated this request; it is a secret and is not kept.
    return _sent_whole(body, "google_ads", "lead_form_submissions", "lead_id", drop="google_key")


def _sent_whole(
    body: Any, source: str, stream: str, id_field: str, drop: str | None = None
) -> list[Arrival]:
    """The one lead of a source that sends the record itself: stored as received (less `drop`),
    with `_received_at`, the time to use when the record names none."""
    key = _key(body.get(id_field)) if isinstance(body, dict) else None
    if key is None:
        raise Rejected(400, f"a {source} lead has no {id_field}")
    payload = {k: v for k, v in body.items() if k != drop}
    payload["_received_at"] = utc_iso()
    return [Arrival(source, key, stream, partition=_key(body.get("form_id")), payload=payload)]


# --------------------------------------------------------------------------- signed form POST


def webform_signature(secret: str, timestamp: str, body: bytes) -> str:
    return "v1=" + _hmac(secret, timestamp.encode() + b"." + body).hex()


def webform_verify(request: Request, secret: str, now_s: float, window_s: int) -> None:
    stamp = _require(request, "X-LeadFlow-Timestamp")
    if not stamp.isdigit():
        raise Rejected(401, "X-LeadFlow-Timestamp is not a time in seconds")
    _fresh(int(stamp), now_s, window_s, "X-LeadFlow-Timestamp")
    header = "X-LeadFlow-Signature"
    _same(webform_signature(secret, stamp, request.body), _require(request, header), header)


def webform_arrivals(body: Any) -> list[Arrival]:
    return _sent_whole(body, "webform", "submissions", "submission_id")


@dataclass(frozen=True)
class Webhook:
    verify: Callable[[Request, str, float, int], None]
    arrivals: Callable[[Any], list[Arrival]]


WEBHOOKS: dict[str, Webhook] = {
    "meta": Webhook(meta_verify, meta_arrivals),
    "typeform": Webhook(typeform_verify, typeform_arrivals),
    "hubspot": Webhook(hubspot_verify, hubspot_arrivals),
    "google_ads": Webhook(google_ads_verify, google_ads_arrivals),
    "webform": Webhook(webform_verify, webform_arrivals),
}


def accept(
    source: str, request: Request, secret: str, *, window_s: int, now_s: float | None = None
) -> list[Arrival]:
    """Verify a request to `source`'s webhook and return the leads it announces."""
    hook = WEBHOOKS[source]
    hook.verify(request, secret, time.time() if now_s is None else now_s, window_s)
    return hook.arrivals(_json(request.body))
