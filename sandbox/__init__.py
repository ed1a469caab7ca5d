"""Local stand-ins for HubSpot, Meta lead ads and Typeform, speaking their real wire formats.

A connector cannot tell the sandbox from the vendor: paths, payloads, pagination, limits, auth and
error bodies follow each vendor's documentation (see sandbox/README.md for what each server speaks
and where it is known to differ). The servers share one generated, deterministic world whose
ground truth (`Sandbox.world`) is what dedupe, enrichment and routing are tested against.

    with Sandbox(seed=7, leads=300) as sb:
        requests.post(sb.urls["hubspot"] + "/crm/v3/objects/contacts/search", ...)
"""

from __future__ import annotations

from sandbox.core import DEFAULT_PORTS, DEFAULT_TOKENS, VENDORS, Sandbox, check_loopback, serve
from sandbox.world import Company, Form, Owner, Person, World, WorldParams

__all__ = [
    "DEFAULT_PORTS",
    "DEFAULT_TOKENS",
    "VENDORS",
    "Company",
    "Form",
    "Owner",
    "Person",
    "Sandbox",
    "World",
    "WorldParams",
    "check_loopback",
    "serve",
]
