"""Identity resolution: every source record -> one lead_id, with the rule that linked it.

Two stages. The deterministic rules first, strongest first:
- crm_merge: two records of one CRM stream that the CRM itself merged (a person chose to): a record
  whose id another lists in crm_merged_ids (HubSpot's hs_merged_object_ids) or names in
  crm_merged_into (Salesforce's MasterRecordId on a merge's loser), directly or through a chain
  of merges, whatever their emails, phones and names say. It comes first in the lineage
  too: the record a merge made names a record it was made of, so following matched_record_key
  from any of them reaches the others;
- email: the same normalized email address;
- crm_lead_id: a CRM record carrying a lead id LeadFlow wrote there (the echo of our own push);
- phone: the same E.164 number, only when the two sides' emails do not disagree, their seniority
  is not far apart and their first names can be one person's (a company switchboard shared by
  colleagues, or a home phone shared by a family, must not merge them); on a line people share
  (records of two people carry it, as their names tell) both sides must also carry a last name.

Then, for the records those rules left without a lead (new records only), the probabilistic stage
(dedupe/probabilistic.py, Splink on DuckDB) scores them against the existing records and each other
on names, email local part, phone, company, country and domain; a pair at or above
`identity.threshold` that the guards allow links the new record under the rule `probabilistic`,
with its match probability stored. It never joins two existing leads: merging leads stays the job
of the deterministic keys. A probabilistic link, once made, is kept on later runs as it was
recorded.

A CRM record that LeadFlow's own push created (its id came back from a batch upsert) joins its
lead under the rule `crm_echo`: it is the lead's copy in the CRM, not a duplicate person, and is
counted apart from merged duplicates. So does a record carrying the lead's id and email while that
lead's upsert was sent and never answered (a run killed in between: the id never came back).

Lead ids are stable: a group keeps the id it already had; a new group takes an id derived from its
anchor record (the one LeadFlow saw first), so a rebuild from scratch yields the same ids. Records
that share a lead keep sharing it: a run only adds the links its new records bring. When a new
record joins two existing leads, the lead seen first survives and the merge is recorded.

Lineage: every record's row in ops.lead_identity names the rule and the record it was linked to
(matched_record_key), so following matched_record_key explains every merge; for a probabilistic
link, the record it was matched to and the probability.
"""

from __future__ import annotations

import hashlib
import logging
import time
from collections import defaultdict, deque
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import duckdb
import numpy as np
import pandas as pd
import pyarrow as pa

from dedupe.names import canonical_first, names_compatible, shared_lines
from leadflow.config import IdentityConfig
from leadflow.faults import crash_point
from leadflow.warehouse import registered, stable_hash, transaction

log = logging.getLogger("leadflow.dedupe")

RECORDS_SQL = """
    select r.record_key, r.email, r.phone_e164, r.leadflow_lead_id, r.crm_contact_id,
           r.source, r.stream, r.crm_merged_ids, r.crm_merged_into,
           r.first_name, r.last_name, r.company, r.email_domain, r.is_free_email, r.country_code,
           r.seniority,
           i.lead_id as current_lead_id, i.rule as current_rule,
           i.matched_record_key as current_match, i.match_probability as current_probability,
           r.first_seen_at, r.record_created_at
    from ops.lead_records r left join ops.lead_identity i using (record_key)
    order by r.first_seen_at, r.record_created_at nulls last, r.record_key
"""

_LINKING_COLUMNS = (
    "record_key", "email", "phone_e164", "leadflow_lead_id", "crm_contact_id", "source", "stream",
    "crm_merged_ids", "crm_merged_into", "first_name", "last_name", "is_free_email", "seniority",
    "current_lead_id", "current_rule", "current_match", "current_probability",
)  # fmt: skip

# Bump when resolve() would make something else of the same input: every warehouse then resolves
# once more instead of trusting ops.identity_state.
_RESOLVE_SEMANTICS = 1


def lead_id_for(record_key: str) -> str:
    return "lf_" + hashlib.sha1(record_key.encode("utf-8")).hexdigest()[:16]


# Seniority levels (enrichment.normalize.seniority) in order. Two records whose levels are this far
# apart are two people, whatever else they share: an intern and a VP of one name at one employer
# are namesakes, not one person promoted between two forms.
SENIORITY_RANK = {
    "student": 0,
    "intern": 0,
    "individual_contributor": 1,
    "manager": 2,
    "director": 3,
    "vp": 4,
    "c_level": 5,
}
SENIORITY_GAP = 3


class _Groups:
    """Union-find over record positions; each root knows the emails and the (first, last) names its
    group holds, for the guards (a set per merged group; a lone record's own values otherwise),
    and the lowest and highest seniority among them."""

    def __init__(
        self,
        emails: Sequence[str | None],
        names: Sequence[tuple[str | None, str | None]],
        seniorities: Sequence[str | None] | None = None,
    ) -> None:
        self.parent = list(range(len(emails)))
        self._emails = emails
        self._names = names
        self.merged_emails: dict[int, set[str]] = {}
        self.merged_names: dict[int, set[tuple[str | None, str | None]]] = {}
        ranks = [SENIORITY_RANK.get(x) if x else None for x in seniorities or ()]
        self.levels: dict[int, tuple[int, int]] = {
            i: (rank, rank) for i, rank in enumerate(ranks) if rank is not None
        }

    def emails(self, root: int) -> set[str]:
        if root in self.merged_emails:
            return self.merged_emails[root]
        email = self._emails[root]
        return {email} if email else set()

    def names(self, root: int) -> set[tuple[str | None, str | None]]:
        if root in self.merged_names:
            return self.merged_names[root]
        name = self._names[root]
        return {name} if name != (None, None) else set()

    def find(self, i: int) -> int:
        root = i
        while self.parent[root] != root:
            root = self.parent[root]
        while self.parent[i] != root:  # path compression
            self.parent[i], i = root, self.parent[i]
        return root

    def union(self, a: int, b: int, *, guarded: bool = False, full_names: bool = False) -> bool:
        """Join the groups of a and b (a's root survives). Guarded: not when both groups hold
        emails and share none, nor when their seniorities are far apart, nor when their names
        disagree (see names_agree, first_needed; with full_names, last_needed too)."""
        ra, rb = self.find(a), self.find(b)
        if ra == rb:
            return True
        if guarded and (
            self.emails_disagree(ra, rb)
            or self.seniorities_apart(ra, rb)
            or not self.names_agree(ra, rb, first_needed=True, last_needed=full_names)
        ):
            return False
        self.join(ra, rb)
        return True

    def join(self, ra: int, rb: int) -> None:
        self.parent[rb] = ra
        emails_b, names_b = self.emails(rb), self.names(rb)
        self.merged_emails.pop(rb, None)
        self.merged_names.pop(rb, None)
        if ra not in self.merged_emails:
            self.merged_emails[ra] = self.emails(ra)
        if ra not in self.merged_names:
            self.merged_names[ra] = self.names(ra)
        self.merged_emails[ra] |= emails_b
        self.merged_names[ra] |= names_b
        if rb in self.levels:
            low, high = self.levels.pop(rb)
            own_low, own_high = self.levels.get(ra, (low, high))
            self.levels[ra] = (min(low, own_low), max(high, own_high))

    def seniorities_apart(self, ra: int, rb: int) -> bool:
        """Whether the two groups hold seniority levels SENIORITY_GAP or more apart."""
        if ra not in self.levels or rb not in self.levels:
            return False
        (low_a, high_a), (low_b, high_b) = self.levels[ra], self.levels[rb]
        return max(high_a, high_b) - min(low_a, low_b) >= SENIORITY_GAP

    def emails_disagree(self, ra: int, rb: int) -> bool:
        ea, eb = self.emails(ra), self.emails(rb)
        return bool(ea and eb and not (ea & eb))

    def names_agree(
        self,
        ra: int,
        rb: int,
        *,
        first_needed: bool = False,
        last_needed: bool = False,
        every: bool = True,
    ) -> bool:
        """No name of one group contradicts a name of the other (a group without names agrees
        with anything, except with first_needed: see below); with every=False, some name of one
        is compatible with some of the other (for a pair the model scored, whose own names the
        pair guard checked). With first_needed, some first name must also be present on both
        sides: on a shared phone, "? Harris" could be any Harris of the household, and a record
        without names anyone on the phone (two records without names may still meet). With
        last_needed, some last name too: on a switchboard, "Adam ?" could be any Adam there."""
        na, nb = self.names(ra), self.names(rb)
        if not na or not nb:
            # A nameless record on a shared phone could be anyone on it, unless no side has names.
            return not (first_needed and (na or nb))
        pairs = (names_compatible(*x, *y) for x in na for y in nb)
        if not (all(pairs) if every else any(pairs)):
            return False
        if first_needed and not (any(first for first, _ in na) and any(first for first, _ in nb)):
            return False
        return not last_needed or (any(last for _, last in na) and any(last for _, last in nb))


class _Clock:
    def __init__(self) -> None:
        self.laps: dict[str, float] = {}
        self._last = time.perf_counter()

    def lap(self, name: str) -> None:
        now = time.perf_counter()
        self.laps[name] = round(self.laps.get(name, 0.0) + now - self._last, 3)
        self._last = now


@dataclass
class ResolveResult:
    records: int
    leads: int
    new_leads: int
    linked_records: int  # records that joined another record's lead (duplicates)
    newly_linked: int  # ... of which in this run
    merges: int  # existing leads absorbed into another
    probabilistic: int = 0  # records newly linked by the probabilistic stage in this run
    seconds: dict[str, float] = field(default_factory=dict)  # where the time went, by step
    unchanged: bool = False  # the input was the last resolution's output: nothing read


def resolve(
    con: duckdb.DuckDBPyConnection,
    *,
    run_id: str,
    as_of: datetime,
    identity: IdentityConfig | None = None,
) -> ResolveResult:
    identity = identity or IdentityConfig()
    clock = _Clock()
    digest = input_digest(con, identity)
    if digest == _stored_digest(con):
        return _unchanged(con, clock)
    records = con.execute(RECORDS_SQL).fetch_arrow_table()
    if records.num_rows == 0:
        return ResolveResult(0, 0, 0, 0, 0, 0)
    # Only the columns the linking reads become Python lists (a million records are ~20 million
    # objects); the rest stay in Arrow for the probabilistic stage.
    col = {name: records.column(name).to_pylist() for name in _LINKING_COLUMNS}
    keys: list[str] = col["record_key"]
    n = len(keys)
    position = {key: i for i, key in enumerate(keys)}  # anchor order: seen first wins
    emails, phones = col["email"], col["phone_e164"]
    current_lead = col["current_lead_id"]
    created_by_push = {
        row[0]
        for row in con.execute(
            "select distinct destination_record_id from ops.push_log "
            "where operation = 'upsert' and status = 'ok' and destination_record_id is not null"
        ).fetchall()
    }
    unanswered_upserts = _unanswered_upserts(con)
    groups = _Groups(
        emails, list(zip(col["first_name"], col["last_name"], strict=True)), col["seniority"]
    )
    clock.lap("read")

    by_email: dict[str, int] = {}
    by_phone: dict[str, list[int]] = defaultdict(list)
    by_lead: dict[str, int] = {}
    for i in range(n):
        email = emails[i]
        if email:
            first = by_email.setdefault(email, i)
            if first != i:
                groups.union(first, i)
        if phones[i]:
            by_phone[phones[i]].append(i)
        if current_lead[i]:
            # An existing lead stays whole: its records were linked by an earlier run, and only a
            # new record can add to it or bridge it to another (a recorded merge).
            groups.union(by_lead.setdefault(current_lead[i], i), i)
    for i, echoed in enumerate(col["leadflow_lead_id"]):
        # The CRM echoes the lead id we pushed; link to any record already in that lead.
        if echoed and echoed in by_lead:
            groups.union(by_lead[echoed], i)
    # The CRM merged them: one person, unguarded (a person decided it, whatever the values say).
    merge_partners = _crm_merge_partners(col)
    for i, partners in merge_partners.items():
        for other in partners:
            groups.union(other, i)
    # A probabilistic link made by an earlier run stands as it was recorded.
    prob_links: dict[int, tuple[int, float | None]] = {}
    for i, rule in enumerate(col["current_rule"]):
        if rule == "probabilistic" and col["current_match"][i] in position:
            prob_links[i] = (position[col["current_match"][i]], col["current_probability"][i])
    if by_phone:
        initials = [(canonical_first(f) or "")[:1] for f in col["first_name"]]
        firsts, lasts = col["first_name"], col["last_name"]
        multi = {phone: sharing for phone, sharing in by_phone.items() if len(sharing) > 1}
        shared = set(
            shared_lines(
                (phone, list({(firsts[i], lasts[i]) for i in sharing}))
                for phone, sharing in multi.items()
            )
        )
        for phone, sharing in multi.items():
            _link_shared_phone(groups, sharing, initials, full_names=phone in shared)

    clock.lap("deterministic")
    newly_probabilistic: set[int] = set()
    if identity.probabilistic:
        found = _match_probabilistically(records, col, groups, identity, clock)
        prob_links.update(found)
        newly_probabilistic = set(found)

    members: dict[int, list[int]] = defaultdict(list)
    for i in range(n):
        members[groups.find(i)].append(i)

    identity_rows: list[tuple[Any, ...]] = []
    merge_rows = []
    new_leads = linked = newly_linked = probabilistic = 0
    crm_ids, echoed_ids = col["crm_contact_id"], col["leadflow_lead_id"]
    current = list(
        zip(
            current_lead,
            col["current_rule"],
            col["current_match"],
            col["current_probability"],
            strict=True,
        )
    )
    for group in members.values():  # members are in anchor order already
        anchor = group[0]
        existing = [current_lead[i] for i in group if current_lead[i]]
        lead_id = existing[0] if existing else lead_id_for(keys[anchor])
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
        for i in group:
            probability = None
            if i == anchor:
                rule, match = "new_lead", None
            elif crm_ids[i] in created_by_push or _echo_of_unanswered(
                i, group, emails, echoed_ids, crm_ids, lead_id, unanswered_upserts
            ):
                rule, match = "crm_echo", anchor
            else:
                rule, match, probability = _rule(
                    i, group, emails, phones, echoed_ids, lead_id, prob_links, merge_partners
                )
            if rule not in ("new_lead", "crm_echo"):
                linked += 1
            match_key = keys[match] if match is not None else None
            if current[i] != (lead_id, rule, match_key, probability):
                if rule not in ("new_lead", "crm_echo") and current[i][1] in (None, "new_lead"):
                    newly_linked += 1
                    probabilistic += i in newly_probabilistic and rule == "probabilistic"
                identity_rows.append(
                    (keys[i], lead_id, rule, match_key, as_of, run_id, probability)
                )

    clock.lap("lineage")
    with transaction(con):
        if identity_rows:
            rows = pd.DataFrame(
                identity_rows,
                columns=[
                    "record_key",
                    "lead_id",
                    "rule",
                    "matched_record_key",
                    "resolved_at",
                    "run_id",
                    "match_probability",
                ],
            ).astype({"match_probability": float})
            first_run = con.execute("select count(*) from ops.lead_identity").fetchone() == (0,)
            with registered(con, "identity_rows", rows):
                # Nothing to update on a first run (a backfill): a plain insert is much cheaper.
                con.execute(
                    "insert into ops.lead_identity by name select * from identity_rows"
                    if first_run
                    else """
                    insert into ops.lead_identity by name select * from identity_rows
                    on conflict (record_key) do update set lead_id = excluded.lead_id, rule = excluded.rule,
                        matched_record_key = excluded.matched_record_key, resolved_at = excluded.resolved_at,
                        run_id = excluded.run_id, match_probability = excluded.match_probability
                    """
                )
        if merge_rows:
            with registered(con, "merge_rows", pd.DataFrame(merge_rows)):
                con.execute(
                    "insert or ignore into ops.lead_merges by name select * from merge_rows"
                )
        crash_point("resolve:links-written")
        # What the next run will read, now that the links are written: resolving it again would
        # change nothing (resolve is a fixed point of its own output), so a run that finds the same
        # digest leaves it at that.
        _store_digest(con, input_digest(con, identity), run_id, as_of)
    clock.lap("write")
    return ResolveResult(
        records=n,
        leads=len(members),
        new_leads=new_leads,
        linked_records=linked,
        newly_linked=newly_linked,
        merges=len(merge_rows),
        probabilistic=probabilistic,
        seconds=clock.laps,
    )


# A record on a shared phone is tried against this many of the groups already seen on it whose
# first name starts like its own (nickname-folded): enough for a household or a team, bounded for a
# big company's switchboard. The probabilistic stage, which blocks on phone and name, finds the
# links this fast path leaves out.
PHONE_TRIES = 20


def _link_shared_phone(
    groups: _Groups, members: list[int], initials: list[str], *, full_names: bool = False
) -> None:
    """Link each record to an earlier group on the same phone that the guards allow, if any. On a
    line people share (`full_names`: a switchboard, a family's phone, see `shared_lines`) both
    sides must also carry a last name: "Adam ?" on a switchboard could be any Adam there."""
    by_initial: dict[str, list[int]] = defaultdict(list)
    for i in members:
        initial = initials[i]
        tries = by_initial[initial][-PHONE_TRIES:][::-1]
        if initial:
            tries += by_initial[""][-PHONE_TRIES:][::-1]
        for root in tries:
            if groups.union(root, i, guarded=True, full_names=full_names):
                break
        else:
            by_initial[initial].append(i)


def _match_probabilistically(
    records: pa.Table,
    col: dict[str, list[Any]],
    groups: _Groups,
    identity: IdentityConfig,
    clock: _Clock,
) -> dict[int, tuple[int, float | None]]:
    """The probabilistic stage: link the records the deterministic rules left without a lead.

    Returns, for each record that now names a probabilistic link, (the record it was matched to,
    the probability). Pairs are taken best first; a pair is skipped when the guards refuse it,
    when both sides already belong to existing leads, or when joining the two groups would put
    two conflicting addresses in one lead.
    """
    from dedupe import probabilistic as prob

    n = records.num_rows
    current_lead = col["current_lead_id"]
    det_root = [groups.find(i) for i in range(n)]
    has_lead: dict[int, bool] = {det_root[i]: True for i in range(n) if current_lead[i]}
    is_new = [root not in has_lead for root in det_root]
    if not any(is_new):
        return {}
    params = prob.Params.load(identity.model)
    pairs = prob.score(records, is_new, identity, params)
    clock.lap("splink")
    if pairs.empty:
        return {}
    position = {key: i for i, key in enumerate(col["record_key"])}
    a_idx = pairs["new_key"].map(position).to_numpy()
    b_idx = pairs["other_key"].map(position).to_numpy()
    probs = pairs["match_probability"].to_numpy()
    # Best first; ties in a fixed order, so a run is deterministic.
    order = np.lexsort((np.maximum(a_idx, b_idx), np.minimum(a_idx, b_idx), -probs))
    firsts, lasts = col["first_name"], col["last_name"]
    emails, free = col["email"], col["is_free_email"]
    free_by_email = {e: f for e, f in zip(emails, free, strict=True) if e}
    accepted: list[tuple[int, int, float]] = []
    for k in order.tolist():
        a, b = int(a_idx[k]), int(b_idx[k])
        if det_root[a] == det_root[b]:
            continue
        ra, rb = groups.find(a), groups.find(b)
        if ra == rb or (has_lead.get(ra) and has_lead.get(rb)):
            continue
        record_a = (firsts[a], lasts[a], emails[a], free[a])
        record_b = (firsts[b], lasts[b], emails[b], free[b])
        if not prob.guard(record_a, record_b):
            continue
        alike = not prob.typo_explained_by_names(record_a, record_b)
        alias_of = prob.shared_last_name(record_a, record_b)
        if (
            groups.seniorities_apart(ra, rb)
            or not groups.names_agree(ra, rb, every=False)
            or any(
                prob.emails_conflict(
                    x,
                    y,
                    free_by_email.get(x),
                    free_by_email.get(y),
                    same_name=alike,
                    alias_of=alias_of,
                )
                for x in groups.emails(ra)
                for y in groups.emails(rb)
            )
        ):
            continue
        survivor, absorbed = (ra, rb) if ra < rb else (rb, ra)
        groups.join(survivor, absorbed)
        has_lead[survivor] = bool(has_lead.get(ra) or has_lead.get(rb))
        accepted.append((a, b, float(probs[k])))
    links = _lineage(accepted, det_root, groups)
    clock.lap("accept")
    return links


def _lineage(
    accepted: Iterable[tuple[int, int, float]], det_root: list[int], groups: _Groups
) -> dict[int, tuple[int, float | None]]:
    """Which record names each probabilistic link: the accepted pairs join deterministic units
    (records tied by email, phone or an earlier link) into trees; walking each tree from the unit
    holding its anchor (the earliest record), every other unit's earliest record names the record
    across the link that reached it, and the link's probability."""
    edges: dict[int, list[tuple[int, int, int, float]]] = defaultdict(list)
    trees: dict[int, set[int]] = defaultdict(set)
    for a, b, p in accepted:
        ua, ub = det_root[a], det_root[b]
        edges[ua].append((ub, a, b, p))
        edges[ub].append((ua, b, a, p))
        trees[groups.find(a)].update((ua, ub))
    earliest: dict[int, int] = {}
    for i, unit in enumerate(det_root):
        if unit in edges:
            earliest.setdefault(unit, i)  # positions are in anchor order
    links: dict[int, tuple[int, float | None]] = {}
    for units in trees.values():
        start = min(units, key=earliest.__getitem__)
        seen, queue = {start}, deque([start])
        while queue:
            unit = queue.popleft()
            for other, here, _there, p in edges[unit]:
                if other not in seen:
                    seen.add(other)
                    links[earliest[other]] = (here, p)
                    queue.append(other)
    return links


def _crm_merge_partners(col: dict[str, list[Any]]) -> dict[int, set[int]]:
    """Record position -> the positions of the records its CRM merged with it, both ways: each id
    a record lists in crm_merged_ids (merged into it) or names in crm_merged_into (it was merged
    into that one), looked up among the CRM ids of its own source and stream. An id LeadFlow never
    saw (merged away before any pull) links nothing."""
    merged_ids, merged_into = col["crm_merged_ids"], col["crm_merged_into"]
    if not any(merged_ids) and not any(merged_into):
        return {}
    sources, streams = col["source"], col["stream"]
    by_crm_id: dict[tuple[str, str, str], int] = {}
    for i, crm_id in enumerate(col["crm_contact_id"]):
        if crm_id:
            by_crm_id.setdefault((sources[i], streams[i], crm_id), i)
    partners: dict[int, set[int]] = defaultdict(set)
    for i, (ids, into) in enumerate(zip(merged_ids, merged_into, strict=True)):
        for merged in [*(ids or "").split(";"), into or ""]:
            other = by_crm_id.get((sources[i], streams[i], merged.strip()))
            if other is not None and other != i:
                partners[i].add(other)
                partners[other].add(i)
    return dict(partners)


def input_digest(con: duckdb.DuckDBPyConnection, identity: IdentityConfig) -> str:
    """Everything resolve() reads, as one digest: every row RECORDS_SQL returns (the records'
    identity fields and order, with their current links), the push log's upserts (LeadFlow's own
    CRM copies, answered or not), the identity settings and the model file. Sums of DuckDB row
    hashes: one scan of each table, no row leaves the database."""
    from dedupe.probabilistic import PARAMS_PATH

    records = con.execute(
        f"select count(*), coalesce(sum(hash(q)::hugeint), 0) from ({RECORDS_SQL}) as q"
    ).fetchone()
    upserts = con.execute(
        """
        select count(*), coalesce(sum(hash(run_id, destination, lead_id, status,
            destination_record_id)::hugeint), 0)
        from ops.push_log where operation = 'upsert'
        """
    ).fetchone()
    model = Path(identity.model) if identity.model is not None else PARAMS_PATH
    model_text = model.read_text(encoding="utf-8") if model.is_file() else None
    return stable_hash(
        [
            _RESOLVE_SEMANTICS,
            [str(v) for v in records or ()],
            [str(v) for v in upserts or ()],
            identity.model_dump(mode="json"),
            model_text,
        ]
    )


def _stored_digest(con: duckdb.DuckDBPyConnection) -> str | None:
    row = con.execute("select input_digest from ops.identity_state where id = 1").fetchone()
    return str(row[0]) if row else None


def _store_digest(
    con: duckdb.DuckDBPyConnection, digest: str, run_id: str, as_of: datetime
) -> None:
    con.execute(
        """
        insert or replace into ops.identity_state (id, input_digest, resolved_at, run_id)
        values (1, ?, ?, ?)
        """,
        [digest, as_of, run_id],
    )


def _unchanged(con: duckdb.DuckDBPyConnection, clock: _Clock) -> ResolveResult:
    """The result of a resolve whose input is the last one's output: the counts as they stand,
    nothing new."""
    row = con.execute(
        """
        select count(*), count(distinct lead_id),
            count(*) filter (where rule not in ('new_lead', 'crm_echo'))
        from ops.lead_identity
        where record_key in (select record_key from ops.lead_records)
        """
    ).fetchone()
    records, leads, linked = row if row else (0, 0, 0)
    clock.lap("unchanged")
    return ResolveResult(
        records=records,
        leads=leads,
        new_leads=0,
        linked_records=linked,
        newly_linked=0,
        merges=0,
        seconds=clock.laps,
        unchanged=True,
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
    i: int,
    group: list[int],
    emails: list[Any],
    echoed_ids: list[Any],
    crm_ids: list[Any],
    lead_id: str,
    unanswered: set[str],
) -> bool:
    """A CRM contact carrying this lead's id, with the email of another of its records, while an
    upsert of this lead (by that email) went unanswered: the contact that upsert created."""
    if lead_id not in unanswered or echoed_ids[i] != lead_id or crm_ids[i] is None:
        return False
    email = emails[i]
    return bool(email) and any(emails[k] == email for k in group if k != i)


def _rule(
    i: int,
    group: list[int],
    emails: list[Any],
    phones: list[Any],
    echoed_ids: list[Any],
    lead_id: str,
    prob_links: dict[int, tuple[int, float | None]],
    merge_partners: dict[int, set[int]],
) -> tuple[str, int | None, float | None]:
    """Why record i belongs with the others: a probabilistic link it names, else the strongest key
    it shares with an earlier record."""
    if i in prob_links:
        other, probability = prob_links[i]
        return "probabilistic", other, probability
    earlier = group[: group.index(i)] or group
    email, phone = emails[i], phones[i]
    partners = merge_partners.get(i, set())
    for other in earlier:
        if other in partners:
            return "crm_merge", other, None
    for other in earlier:
        if email and emails[other] == email:
            return "email", other, None
    if echoed_ids[i] == lead_id:
        return "crm_lead_id", group[0], None
    for other in earlier:
        if phone and phones[other] == phone:
            return "phone", other, None
    # Joined through a chain (A-email-B-phone-C): name the rule of the closest link in the chain.
    for other in group:
        if other != i and other in partners:
            return "crm_merge", other, None
    for other in group:
        if other != i and email and emails[other] == email:
            return "email", other, None
    for other in group:
        if other != i and phone and phones[other] == phone:
            return "phone", other, None
    return "crm_lead_id", group[0], None
