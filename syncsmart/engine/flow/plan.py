"""Stage 3 — the plan, per field: transform, conflict, diff. Pure: values in, decisions out (no
database, no vendor; the value transform is handed in), so every rule is a unit test.

Per field, with the link's baseline (the values both sides had when the field was last in
sync): a field is written only when the source changed it since then; when both sides changed
it, the field's system of record wins and the losing value goes on the event — or, for a field
under conflict review, neither is written and the pair is held for a person (`Plan.held`); when
the value already equals the target's, nothing is written. What the target knows better flows back in
the reverse flow (`Plan.reverse`)."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from connectors.base import FieldType
from mappings import normalisers
from mappings.models import FieldMapping
from syncsmart.core.choices import Side
from syncsmart.engine.bodies import fit_body
from syncsmart.engine.flow.items import DeferParent, PartlyCarried
from syncsmart.engine.flow.setup import FieldPlan
from syncsmart.engine.transform import Unmatched
from syncsmart.engine.values import ConversionError, convert, is_empty, normal

MISSING = object()
PLAIN_TYPES = {FieldType.STRING, FieldType.TEXT, FieldType.EMAIL, FieldType.PHONE}


@dataclass
class Plan:
    writes: dict[str, Any] = field(default_factory=dict)  # target field -> value to write
    source_base: dict[str, Any] = field(default_factory=dict)  # baseline updates, source terms
    target_base: dict[str, Any] = field(default_factory=dict)  # baseline updates, target terms
    conflicts: dict[str, Any] = field(default_factory=dict)
    # Fields under conflict review both sides changed: {target field: both values}; nothing written.
    held: dict[str, dict[str, Any]] = field(default_factory=dict)
    # Fields under conflict review that are in sync or flowed one way: an open review of them is over.
    settled: list[int] = field(default_factory=list)
    unmatched: list[dict[str, Any]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    waiting_for: list[dict[str, str]] = field(default_factory=list)
    reverse: bool = False  # the counterpart has something to send back: look at it in this run


@dataclass(frozen=True)
class Sides:
    """What the plan knows of one record and its counterpart."""

    source: str  # the source side (a Side value)
    props: Mapping[str, Any]  # the source record's values
    target_props: Mapping[str, Any]  # the counterpart's current values ({} when creating)
    source_base: Mapping[str, Any]  # the link's baseline, source terms ({} without a link)
    target_base: Mapping[str, Any]  # the link's baseline, target terms
    creating: bool
    matched: bool  # linked in this page by match value


def plan_fields(fields: Sequence[FieldPlan], sides: Sides, transform: Callable[[FieldPlan, Any], Any]) -> Plan:
    """Decide, field by field, what to write to the counterpart and what the baseline becomes.
    `transform(field, value)` turns a source value into the target's terms (it may raise
    Unmatched, ConversionError or DeferParent: the field is then left out with a note)."""
    plan = Plan()
    for f in fields:
        if f.source_name not in sides.props:
            continue  # not read: never blank a field we did not see
        new = _target_value(f, sides.props[f.source_name], transform, plan)
        if new is not MISSING:
            _decide(f, new, sides, plan)
    if sides.matched:
        plan.reverse = True  # what the counterpart knows better flows back in this run
    return plan


def _target_value(f: FieldPlan, value: Any, transform: Callable[[FieldPlan, Any], Any], plan: Plan) -> Any:
    try:
        if isinstance(value, str) and (f.source_html or f.target_html or f.target_max):
            value, truncated = fit_body(value, source_html=f.source_html, target_html=f.target_html, limit=f.target_max)
            if truncated:
                plan.notes.append(f"{f.source_name}: truncated to the {f.target_max:,} characters {f.target_name} accepts.")
        if f.mapping.transform == FieldMapping.Transform.DOMAIN:
            return domain_value(value, to_hubspot=f.to_hubspot)
        mapped_by_hand = f.mapping.map_toward(Side.HUBSPOT if f.to_hubspot else Side.OTHER)
        if f.source_kind == f.target_kind and f.source_kind in PLAIN_TYPES and not mapped_by_hand:
            # text to text of the same kind: nothing to transform
            return value if value is None or isinstance(value, str) else convert(value, f.target_kind)
        result = transform(f, value)
        if isinstance(result, PartlyCarried):
            plan.notes.extend(result.notes)
            return result.value
        return result
    except Unmatched as exc:
        plan.unmatched.append(exc.detail)
        plan.notes.append(str(exc))
    except ConversionError as exc:
        plan.notes.append(f"{f.source_name}: {exc}")
    except DeferParent as exc:
        plan.waiting_for.append(exc.waiting_for)
        plan.notes.append(str(exc))
    return MISSING


def domain_value(value: Any, *, to_hubspot: bool) -> str | None:
    """A web address in the target's terms: HubSpot's bare domain ("acme.com", no scheme, www.
    or path), the other system's URL ("https://acme.com")."""
    host = normalisers.domain(value)
    if host is None:
        return None
    return host if to_hubspot else f"https://{host}"


def _normal(f: FieldPlan, value: Any, kind: str) -> Any:
    """The comparable form; a domain ↔ URL mapping compares domains, so "https://www.acme.com/about"
    and "acme.com" are in sync and neither side is rewritten (no flip-flop)."""
    if f.mapping.transform == FieldMapping.Transform.DOMAIN:
        return normalisers.domain(value) if not is_empty(value) else None
    return normal(value, kind)


def _decide(f: FieldPlan, new: Any, sides: Sides, plan: Plan) -> None:
    s_name, t_name = f.source_name, f.target_name
    s_norm, new_norm = _normal(f, sides.props[s_name], f.source_kind), _normal(f, new, f.target_kind)
    if sides.creating:
        if new_norm is not None:
            plan.writes[t_name] = new
        plan.source_base[s_name], plan.target_base[t_name] = s_norm, new_norm
        return
    t_norm = _normal(f, sides.target_props.get(t_name), f.target_kind)
    if new_norm == t_norm or (f.mapping.only_if_target_empty and t_norm is not None):
        plan.source_base[s_name], plan.target_base[t_name] = s_norm, t_norm  # in sync (or not ours to fill)
        _settle(f, plan)
        return
    s_changed, t_changed = _changes(f, s_norm, t_norm, sides)
    source_wins = f.mapping.winner == sides.source
    if s_changed and t_changed and f.mapping.conflict_review:
        plan.held[t_name] = {
            "field_mapping": f.mapping.pk,
            "source_field": s_name,
            "target_field": t_name,
            "source_value": sides.props[s_name],
            "target_value": sides.target_props.get(t_name),
        }
        return  # neither side's value is written, the baseline stays: a person decides
    _settle(f, plan)
    if s_changed and t_changed:
        kept, lost = (
            (new, sides.target_props.get(t_name)) if source_wins else (sides.target_props.get(t_name), sides.props[s_name])
        )
        plan.conflicts[t_name] = {
            "winner": f.mapping.winner,
            "kept": kept,
            "lost": lost,
            "source_field": s_name,
            "target_field": t_name,
        }
        if not source_wins:
            plan.reverse = True
            return
    elif not s_changed and (t_changed or not source_wins):
        if not t_changed:
            plan.reverse = True
        return  # the target's change (or the winner's value) flows the other way
    plan.writes[t_name] = new
    plan.source_base[s_name], plan.target_base[t_name] = s_norm, new_norm


def _settle(f: FieldPlan, plan: Plan) -> None:
    if f.mapping.conflict_review:
        plan.settled.append(f.mapping.pk)


def _changes(f: FieldPlan, s_norm: Any, t_norm: Any, sides: Sides) -> tuple[bool, bool]:
    """Did the source, and did the target, change the field since the baseline?"""
    s_name, t_name = f.source_name, f.target_name
    s_changed = sides.source_base.get(s_name, MISSING) != s_norm
    t_changed = sides.target_base.get(t_name, MISSING) != t_norm
    if t_name not in sides.target_props and not sides.matched:
        t_changed = False  # the target did not report the field: treat as unchanged
    if t_norm is None and t_name not in sides.target_base:
        t_changed = False  # filling an empty field of a newly matched record is no conflict
    if s_norm is None and s_name not in sides.source_base:
        s_changed = False  # an empty field never blanks the counterpart of a newly matched record
    return s_changed, t_changed


SINGULAR = {
    "contacts": "contact",
    "companies": "company",
    "deals": "deal",
    "accounts": "account",
    "opportunities": "opportunity",
    "leads": "lead",
}


def waiting_message(blocking: list[dict[str, str]]) -> str:
    """ "Waiting for its contact 12 to be synced first." — what the record log shows."""
    names = ", ".join(f"{SINGULAR.get(w['object'], w['object'])} {w['id']}" for w in blocking)
    return f"Waiting for its {names} to be synced first."


def parents_blocking(waiting_for: list[dict[str, str]], parents_needed: set[str], creating: bool) -> list[dict[str, str]]:
    """Never create an orphan: the missing parents a record must wait for — every one for a new
    record, those of a type the target needs for an update."""
    return [w for w in waiting_for if w.get("target_object") in parents_needed or creating]
