"""Apollo.io's organization enrichment as the sandbox serves it, over the world's companies.

- `GET /api/v1/organizations/enrich?domain=<domain>` (also under `/v1/`): 200
  `{"organization": {...}}` for a company Apollo knows: `id`, `name`, `website_url`,
  `primary_domain`, `industry` (LinkedIn's taxonomy, lower case: "computer software"),
  `industries`, `estimated_num_employees`, `annual_revenue` (USD) and `annual_revenue_printed`
  ("12.5M"), `technology_names` and `current_technologies` (`uid`, `name`, `category`),
  `founded_year`, `country`. A domain Apollo has no record of is 200 `{}`: every domain outside the
  world, free-mail domains included, and one world company in ten (`UNKNOWN_SHARE`, fixed per
  domain). `domain` is read as Apollo documents it (no `www.`, no `@`): lower-cased, a leading
  `www.` dropped; missing or blank is 422.
- Firmographics are derived from the world's company, deterministically per domain: the industry
  label from its industry (`INDUSTRY_LABELS`), the head count as it is, revenue from the head count
  and a revenue per employee fixed per domain, 3 to 9 technologies drawn per domain from `STACK`.
- Auth: the key in the `x-api-key` header; without it, or with another, 401 text
  "Invalid access credentials." (Apollo's documented answer).
- Limits per key: 200 a minute, 600 an hour, 2,000 a day (buckets `apollo`, `apollo_hourly`,
  `apollo_daily`; Apollo's depend on the plan). Every answer carries `x-rate-limit-minute/-hourly/
  -daily`, `x-minute/hourly/daily-requests-left` and `x-minute/hourly/daily-usage`; a refused one is
  429 `{"message": "The maximum number of api calls allowed for api/v1/organizations/enrich is 200
  times per minute. Please upgrade your plan from https://app.apollo.io/#/settings/plans/upgrade.",
  "error_details": {"code": "USAGE.RATE_LIMIT.API_RATE_LIMIT_EXCEEDED"}}` with Retry-After.
- Other errors: 403 `{"error": "api/v1/organizations/enrich is not accessible with this api_key",
  "error_code": "API_INACCESSIBLE"}`, 422 `{"error", "error_code": "INVALID_PARAMETERS"}`, 404 for
  any other path, 5xx `{"error", "error_code": "INTERNAL_SERVER_ERROR"}`.

Docs: https://docs.apollo.io/reference/organization-enrichment,
https://docs.apollo.io/reference/rate-limits
"""

from __future__ import annotations

import hashlib
from random import Random
from typing import Any

from sandbox.limits import Decision
from sandbox.server import Context, Request, Response, VendorApp
from sandbox.world import COUNTRIES_BY_CODE, Company

ENRICH_PATHS = ("/api/v1/organizations/enrich", "/v1/organizations/enrich")
ENDPOINT_NAME = "api/v1/organizations/enrich"  # as Apollo names it in its 429 messages
UPGRADE_URL = "https://app.apollo.io/#/settings/plans/upgrade"
# Apollo's windows, as the sandbox's rate-limit buckets: (bucket, header word, message word).
WINDOWS: tuple[tuple[str, str, str], ...] = (
    ("apollo", "minute", "minute"),
    ("apollo_hourly", "hourly", "hour"),
    ("apollo_daily", "daily", "day"),
)
BUCKETS = tuple(bucket for bucket, _, _ in WINDOWS)
# One world company in ten is not in Apollo's database.
UNKNOWN_SHARE = 10

# The world's industries as Apollo labels them (LinkedIn's industry taxonomy, lower case).
INDUSTRY_LABELS: dict[str, str] = {
    "Software": "computer software",
    "Fintech": "financial services",
    "Healthcare": "hospital & health care",
    "Retail": "retail",
    "Manufacturing": "machinery",
    "Education": "education management",
    "Logistics": "logistics & supply chain",
    "Media": "online media",
    "Consulting": "management consulting",
    "Real Estate": "real estate",
    "Energy": "oil & energy",
    "Telecommunications": "telecommunications",
}

# Technologies a company may run, with Apollo's category for each.
STACK: tuple[tuple[str, str], ...] = (
    ("Salesforce", "CRM"),
    ("HubSpot", "Marketing Automation"),
    ("Marketo", "Marketing Automation"),
    ("Google Analytics", "Analytics and Tracking"),
    ("Google Tag Manager", "Tag Management"),
    ("Segment", "Customer Data Platform"),
    ("Snowflake", "Data Warehouse"),
    ("Amazon AWS", "Hosting"),
    ("Cloudflare DNS", "Domain Name Services"),
    ("Zendesk", "Customer Support"),
    ("Intercom", "Customer Support"),
    ("Slack", "Communications"),
    ("Microsoft Office 365", "Email Providers"),
    ("Gmail", "Email Providers"),
    ("Stripe", "Payments"),
    ("Shopify", "Ecommerce Platforms"),
    ("WordPress.org", "CMS"),
    ("Outreach", "Sales Engagement"),
    ("Gong", "Sales Intelligence"),
    ("Zoom", "Video Conferencing"),
    ("Atlassian Jira", "Project Management"),
    ("Okta", "Identity Management"),
)


class ApolloError(Exception):
    def __init__(self, response: Response) -> None:
        super().__init__(response.status)
        self.response = response


def apollo_error(status: int, error: str, code: str) -> Response:
    return Response(status, {"error": error, "error_code": code})


def _digest(domain: str) -> int:
    return int(hashlib.md5(f"apollo:{domain}".encode()).hexdigest()[:12], 16)


def is_known(domain: str) -> bool:
    """Whether Apollo's database has this world company (nine in ten, fixed per domain)."""
    return _digest(domain) % UNKNOWN_SHARE != 0


def printed_amount(amount: float) -> str:
    """Apollo's short money form: 850K, 12.5M, 1.2B."""
    for size, suffix in ((1e9, "B"), (1e6, "M"), (1e3, "K")):
        if amount >= size:
            return f"{amount / size:.1f}".rstrip("0").rstrip(".") + suffix
    return f"{amount:.0f}"


def organization(company: Company) -> dict[str, Any]:
    """The organization object Apollo returns for a world company."""
    rng = Random(f"apollo:{company.domain}")
    revenue = float(round(company.employees * rng.randint(80, 250) * 1000, -3))
    stack = rng.sample(STACK, rng.randint(3, 9))
    label = INDUSTRY_LABELS.get(company.industry, company.industry.lower())
    country = COUNTRIES_BY_CODE.get(company.country)
    return {
        "id": hashlib.md5(f"apollo-org:{company.domain}".encode()).hexdigest()[:24],
        "name": company.name,
        "website_url": f"http://www.{company.domain}",
        "primary_domain": company.domain,
        "linkedin_url": f"http://www.linkedin.com/company/{company.domain.split('.')[0]}",
        "founded_year": rng.randint(1950, 2022),
        "industry": label,
        "industries": [label],
        "estimated_num_employees": company.employees,
        "annual_revenue": revenue,
        "annual_revenue_printed": printed_amount(revenue),
        "technology_names": sorted(name for name, _ in stack),
        "current_technologies": [
            {"uid": name.lower().replace(" ", "_").replace(".", "_"), "name": name, "category": cat}
            for name, cat in sorted(stack)
        ],
        "country": country.name if country else company.country,
    }


class ApolloApp(VendorApp):
    vendor = "apollo"

    def __init__(self, ctx: Context) -> None:
        super().__init__(ctx)
        self._by_domain: dict[str, Company] | None = None

    # ------------------------------------------------------------------ serving

    def handle(self, req: Request) -> Response:
        key = req.header("x-api-key")
        if key is None or key != self.ctx.tokens["apollo"]:
            return _text(401, "Invalid access credentials.")
        decision = self.ctx.limiter.acquire(BUCKETS, key)
        if not decision.allowed:
            return self._limited(decision, key)
        try:
            resp = self._route(req)
        except ApolloError as exc:
            resp = exc.response
        resp.headers.update(self._usage_headers(key))
        return resp

    def fault(self, status: int, req: Request) -> Response:
        if status == 429:
            limit, per = self.ctx.limiter.limit("apollo")
            return self._limited(Decision(False, "apollo", limit, per, 0, 1), None)
        if status == 401:
            return _text(401, "Invalid access credentials.")
        if status == 403:
            return apollo_error(
                403, f"{ENDPOINT_NAME} is not accessible with this api_key", "API_INACCESSIBLE"
            )
        if status == 404:
            return apollo_error(404, "Not found", "NOT_FOUND")
        if status < 500:
            return apollo_error(status, "Invalid parameters", "INVALID_PARAMETERS")
        return apollo_error(status, "Something went wrong", "INTERNAL_SERVER_ERROR")

    def _route(self, req: Request) -> Response:
        path = req.path.rstrip("/")
        if path not in ENRICH_PATHS or req.method != "GET":
            raise ApolloError(apollo_error(404, "Not found", "NOT_FOUND"))
        domain = (req.param("domain") or "").strip().lower().removeprefix("www.")
        if not domain:
            raise ApolloError(
                apollo_error(422, "domain is a required parameter", "INVALID_PARAMETERS")
            )
        company = self._companies().get(domain)
        if company is None or not is_known(domain):
            return Response(200, {})
        return Response(200, {"organization": organization(company)})

    def _companies(self) -> dict[str, Company]:
        if self._by_domain is None:
            self._by_domain = {c.domain: c for c in self.ctx.store.companies()}
        return self._by_domain

    def _usage_headers(self, key: str) -> dict[str, str]:
        headers: dict[str, str] = {}
        for bucket, word, _ in WINDOWS:
            status = self.ctx.limiter.status(bucket, key)
            headers[f"x-rate-limit-{word}"] = str(status.limit)
            headers[f"x-{word}-requests-left"] = str(status.remaining)
            headers[f"x-{word}-usage"] = str(max(0, status.limit - status.remaining))
        return headers

    def _limited(self, decision: Decision, key: str | None) -> Response:
        window = next(w for b, _, w in WINDOWS if b == decision.bucket)
        headers = self._usage_headers(key) if key is not None else {}
        headers["Retry-After"] = str(decision.retry_after)
        return Response(
            429,
            {
                "message": f"The maximum number of api calls allowed for {ENDPOINT_NAME} is "
                f"{decision.limit} times per {window}. Please upgrade your plan from {UPGRADE_URL}.",
                "error_details": {"code": "USAGE.RATE_LIMIT.API_RATE_LIMIT_EXCEEDED"},
            },
            headers,
        )


def _text(status: int, message: str) -> Response:
    return Response(status, message.encode("utf-8"), {"Content-Type": "text/plain; charset=utf-8"})
