"""Deterministic identity resolution: every source record -> one lead_id, with the rule that linked it.

Rules, strongest first:
- email: the same normalized email address;
- crm_lead_id: a CRM record carrying a lead id LeadFlow wrote there (the echo of our own push);
- phone: the same E.164 number, only when the two sides' emails do not disagree (a company
  switchboard shared by colleagues with different emails must not merge them).

A CRM record that LeadFlow's own push created (its id came back from a batch upsert) joins its
lead under the rule `crm_echo`: it is the lead's copy in the CRM, not a duplicate person, and is
counted apart from merged duplicates. So does a record carrying the lead's id and email while that
lead's upsert was sent and never answered (a run killed in between: the id never came back).

Lead ids are stable: a group keeps the id it already had; a new group takes an id derived from its
anchor record (the one LeadFlow saw first), so a rebuild from scratch yields the same ids. When a
new record joins two existing leads, the lead seen first survives and the merge is recorded.
"""

from __future__ import annotations

import hashlib
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

import duckdb
import pandas as pd

from leadflow.faults import crash_point
from leadflow.warehouse import nulls_to_none, registered, transaction


def lead_id_for(record_key: str) -> str:
    return "lf_" + hashlib.sha1(record_key.encode("utf-8")).hexdigest()[:16]


class _Groups:
    """Union-find over record keys; each root remembers the emails its group holds."""

    def __init__(self, keys: Iterable[str], emails: dict[str, str | None]) -> None:
        self.parent = {k: k for k in keys}
        self.emails: dict[str, set[str]] = {}
        for key in self.parent:
            email = emails.get(key)
            self.emails[key] = {email} if email else set()

    def find(self, key: str) -> str:
        root = key
        while self.parent[root] != root:
            root = self.parent[root]
        while self.parent[key] != root:  # path compression
            self.parent[key], key = root, self.parent[key]
        return root

    def union(self, a: str, b: str, *, unless_emails_differ: bool = False) -> bool:
        ra, rb = self.find(a), self.find(b)
        if ra == rb:
            return True
        if (
            unless_emails_differ
            and self.emails[ra]
            and self.emails[rb]
            and not (self.emails[ra] & self.emails[rb])
        ):
            return False
        self.parent[rb] = ra
        self.emails[ra] |= self.emails.pop(rb)
        return True


@dataclass
class ResolveResult:
    records: int
    leads: int
    new_leads: int
    linked_records: int  # records that joined another record's lead (duplicates)
    newly_linked: int  # ... of which in this run
    merges: int  # existing leads absorbed into another


def resolve(con: duckdb.DuckDBPyConnection, *, run_id: str, as_of: datetime) -> ResolveResult:
    records = con.execute(
        """
        select r.record_key, r.email, r.phone_e164, r.leadflow_lead_id, r.crm_contact_id, r.first_seen_at,
               r.record_created_at, i.lead_id as current_lead_id, i.rule as current_rule,
               i.matched_record_key as current_match
        from ops.lead_records r left join ops.lead_identity i using (record_key)
        order by r.first_seen_at, r.record_created_at nulls last, r.record_key
        """
    ).df()
    if records.empty:
        return ResolveResult(0, 0, 0, 0, 0, 0)
    records = nulls_to_none(records)
    created_by_push = {
        row[0]
        for row in con.execute(
            "select distinct destination_record_id from ops.push_log "
            "where operation = 'upsert' and status = 'ok' and destination_record_id is not null"
        ).fetchall()
    }
    unanswered_upserts = _unanswered_upserts(con)
    order = {key: n for n, key in enumerate(records["record_key"])}  # anchor order: seen first wins
    emails = dict(zip(records["record_key"], records["email"], strict=True))
    groups = _Groups(records["record_key"], emails)

    by_email: dict[str, list[str]] = defaultdict(list)
    by_phone: dict[str, list[str]] = defaultdict(list)
    by_lead: dict[str, list[str]] = defaultdict(list)
    for row in records.itertuples(index=False):
        if row.email:
            by_email[row.email].append(row.record_key)
        if row.phone_e164:
            by_phone[row.phone_e164].append(row.record_key)
        if row.current_lead_id:
            by_lead[row.current_lead_id].append(row.record_key)
    for keys in by_email.values():
        for other in keys[1:]:
            groups.union(keys[0], other)
    for row in records.itertuples(index=False):
        # The CRM echoes the lead id we pushed; link to any record already in that lead.
        if row.leadflow_lead_id and row.leadflow_lead_id in by_lead:
            groups.union(by_lead[row.leadflow_lead_id][0], row.record_key)
    for keys in by_phone.values():
        for other in keys[1:]:
            groups.union(keys[0], other, unless_emails_differ=True)

    members: dict[str, list[str]] = defaultdict(list)
    for key in records["record_key"]:
        members[groups.find(key)].append(key)
    info = records.set_index("record_key")

    identity_rows, merge_rows = [], []
    new_leads = linked = newly_linked = 0
    for keys in members.values():
        keys.sort(key=order.__getitem__)
        anchor = keys[0]
        existing = [info.at[k, "current_lead_id"] for k in keys if info.at[k, "current_lead_id"]]
        lead_id = existing[0] if existing else lead_id_for(anchor)
        if not existing:
            new_leads += 1
        for absorbed in dict.fromkeys(existing[1:]):
            if absorbed != lead_id:
                merge_rows.append(
                    {
                        "from_lead_id": absorbed,
                        "into_lead_id": lead_id,
                        "rule": "identity",
                        "merged_at": as_of,
                        "run_id": run_id,
                    }
                )
        for key in keys:
            if key == anchor:
                rule, match = "new_lead", None
            elif info.at[key, "crm_contact_id"] in created_by_push or _echo_of_unanswered(
                key, keys, info, lead_id, unanswered_upserts
            ):
                rule, match = "crm_echo", anchor
            else:
                rule, match = _rule(key, keys, info, lead_id)
            if rule not in ("new_lead", "crm_echo"):
                linked += 1
            current = (
                info.at[key, "current_lead_id"],
                info.at[key, "current_rule"],
                info.at[key, "current_match"],
            )
            if current != (lead_id, rule, match):
                if rule not in ("new_lead", "crm_echo") and current[1] in (None, "new_lead"):
                    newly_linked += 1
                identity_rows.append(
                    {
                        "record_key": key,
                        "lead_id": lead_id,
                        "rule": rule,
                        "matched_record_key": match,
                        "resolved_at": as_of,
                        "run_id": run_id,
                    }
                )

    with transaction(con):
        if identity_rows:
            with registered(con, "identity_rows", pd.DataFrame(identity_rows)):
                con.execute(
                    """
                    insert into ops.lead_identity by name select * from identity_rows
                    on conflict (record_key) do update set lead_id = excluded.lead_id, rule = excluded.rule,
                        matched_record_key = excluded.matched_record_key, resolved_at = excluded.resolved_at,
                        run_id = excluded.run_id
                    """
                )
        if merge_rows:
            with registered(con, "merge_rows", pd.DataFrame(merge_rows)):
                con.execute(
                    "insert or ignore into ops.lead_merges by name select * from merge_rows"
                )
        crash_point("resolve:links-written")
    return ResolveResult(
        records=len(records),
        leads=len(members),
        new_leads=new_leads,
        linked_records=linked,
        newly_linked=newly_linked,
        merges=len(merge_rows),
    )


def _unanswered_upserts(con: duckdb.DuckDBPyConnection) -> set[str]:
    """Leads whose upsert was sent and never answered (the run ended in between): the contact it
    created has an id LeadFlow never saw."""
    rows = con.execute(
        """
        select s.lead_id from ops.push_log s
        where s.operation = 'upsert' and s.status = 'sent'
          and not exists (
              select 1 from ops.push_log a
              where a.run_id = s.run_id and a.destination = s.destination
                and a.lead_id = s.lead_id and a.status <> 'sent'
          )
        """
    ).fetchall()
    return {row[0] for row in rows}


def _echo_of_unanswered(
    key: str, keys: list[str], info: pd.DataFrame, lead_id: str, unanswered: set[str]
) -> bool:
    """A CRM contact carrying this lead's id, with the email of another of its records, while an
    upsert of this lead (by that email) went unanswered: the contact that upsert created."""
    if (
        lead_id not in unanswered
        or info.at[key, "leadflow_lead_id"] != lead_id
        or info.at[key, "crm_contact_id"] is None
    ):
        return False
    email = info.at[key, "email"]
    return bool(email) and any(info.at[k, "email"] == email for k in keys if k != key)


def _rule(key: str, keys: list[str], info: pd.DataFrame, lead_id: str) -> tuple[str, str | None]:
    """Why `key` belongs with the others: the strongest key it shares with an earlier record."""
    earlier = keys[: keys.index(key)] or keys
    email, phone = info.at[key, "email"], info.at[key, "phone_e164"]
    for other in earlier:
        if email and info.at[other, "email"] == email:
            return "email", other
    if info.at[key, "leadflow_lead_id"] == lead_id:
        return "crm_lead_id", keys[0]
    for other in earlier:
        if phone and info.at[other, "phone_e164"] == phone:
            return "phone", other
    # Joined through a chain (A-email-B-phone-C): name the rule of the closest link in the chain.
    for other in keys:
        if other != key and email and info.at[other, "email"] == email:
            return "email", other
    for other in keys:
        if other != key and phone and info.at[other, "phone_e164"] == phone:
            return "phone", other
    return "crm_lead_id", keys[0]
