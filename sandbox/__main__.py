"""`python -m sandbox`: serve the three vendor stand-ins in the foreground until Ctrl-C.

Tokens come from the same environment variables the connectors read (HUBSPOT_ACCESS_TOKEN,
META_ACCESS_TOKEN, TYPEFORM_ACCESS_TOKEN), falling back to the sandbox defaults, so a connector
configured for the sandbox authenticates without extra setup.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
from pathlib import Path

from sandbox.chaos import settings_from_flags
from sandbox.core import DEFAULT_HOST, DEFAULT_PORTS, DEFAULT_TOKENS, serve

TOKEN_ENV = {
    "hubspot": "HUBSPOT_ACCESS_TOKEN",
    "meta": "META_ACCESS_TOKEN",
    "typeform": "TYPEFORM_ACCESS_TOKEN",
    "apollo": "APOLLO_API_KEY",
    "salesforce": "SALESFORCE_ACCESS_TOKEN",
    "linkedin": "LINKEDIN_ACCESS_TOKEN",
    "pipedrive": "PIPEDRIVE_API_TOKEN",
    "google_ads": "GOOGLE_ADS_ACCESS_TOKEN",
}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m sandbox", description=__doc__.splitlines()[0])
    parser.add_argument("--host", default=DEFAULT_HOST, help="loopback address to bind")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--leads", type=int, default=300, help="number of people in the world")
    parser.add_argument("--state", type=Path, default=None, help="SQLite file to keep the world in")
    for vendor, port in DEFAULT_PORTS.items():
        parser.add_argument(f"--{vendor}-port", type=int, default=port)
    parser.add_argument("--chaos-rate", type=float, default=0.0, help="share of requests failing")
    parser.add_argument("--chaos-kinds", default=None, help="comma-separated faults (default: all)")
    parser.add_argument("--chaos-seed", type=int, default=0)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    tokens = {v: os.environ.get(env) or DEFAULT_TOKENS[v] for v, env in TOKEN_ENV.items()}
    ports = {vendor: getattr(args, f"{vendor}_port") for vendor in DEFAULT_PORTS}
    try:
        chaos = settings_from_flags(args.chaos_rate, args.chaos_kinds)
        serve(args.host, ports, args.seed, args.leads, args.state, tokens, chaos, args.chaos_seed)
    except (ValueError, OSError) as exc:
        print(f"sandbox: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
