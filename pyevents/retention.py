"""Retention: the one way events leave a store. The policy model every backend shares.

`[retention]` is parsed and validated here (errors name the rule), explained in words, and
evaluated: either in Python over the facts of each event (the file backend), or compiled to JSON
for the stored functions of the PostgreSQL backend, which apply the same rules in SQL.

How an event is judged, in this order:
1. `default_policy = "infinite"`: nothing is ever removed.
2. Legal holds: an event matching any rule with `keep = true` stays, whatever else applies.
3. `time`: events older than `time_policy.retain_days` go. `count`: all but the newest
   `count_policy.retain_events` events (by position, holds not counted) go.
   `custom`: the first rule in the listed order that matches the event decides, by its own
   `retain_days` (age) or `retain_events` (newest N of the events it decides); an event that
   no rule matches stays.
A rule matches an event when every criterion it names matches: `event_types` (exact names or
globs with `*` and `?`; any of them), `tags` (the event carries all of them), `actor_types`
(any of them). An event's age is its `timestamp`, measured from the moment the run starts.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Literal, TypeAlias

from pyevents.errors import ConfigError

PolicyKind: TypeAlias = Literal["infinite", "time", "count", "custom"]
Progress: TypeAlias = Callable[[int, int], None]  # (units done, units in the plan)
UnitAction: TypeAlias = Literal["drop", "delete", "rewrite", "deferred"]

POLICIES: tuple[PolicyKind, ...] = ("infinite", "time", "count", "custom")
APPLIED_EVENT_TYPE = "pyevents.retention.applied"
ACTOR_TYPE = "system"
ACTOR_ID = "pyevents-retention"
RULE_KEYS = frozenset({"name", "event_types", "tags", "actor_types", "retain_days", "retain_events", "keep"})


def glob_regex(pattern: str) -> str:
    """An anchored regular expression for a glob (`*` any run, `?` one character), written so
    that Python's `re` and PostgreSQL's `~` read it alike."""
    parts = []
    for char in pattern:
        if char == "*":
            parts.append(".*")
        elif char == "?":
            parts.append(".")
        elif char.isalnum() or char in "_- ":
            parts.append(char)
        else:
            parts.append("\\" + char)
    return "^" + "".join(parts) + "$"


@dataclass(frozen=True)
class EventFacts:
    """What a policy looks at in an event."""

    position: int
    timestamp: datetime
    event_type: str
    actor_type: str
    tags: frozenset[str]


@dataclass(frozen=True)
class Rule:
    """One entry of `custom_policy.rules`; `number` counts from 1 in the order written."""

    number: int
    name: str | None
    event_types: tuple[str, ...]
    tags: tuple[str, ...]
    actor_types: tuple[str, ...]
    retain_days: int | None
    retain_events: int | None
    keep: bool

    @property
    def label(self) -> str:
        """How errors and explanations name the rule."""
        criteria = self.criteria() or "every event"
        named = f" {self.name!r}" if self.name else ""
        return f"rule {self.number}{named} ({criteria})"

    def criteria(self) -> str:
        parts = []
        if self.event_types:
            parts.append("event_types " + ", ".join(self.event_types))
        if self.tags:
            parts.append("tags " + " and ".join(self.tags))
        if self.actor_types:
            parts.append("actor_types " + ", ".join(self.actor_types))
        return "; ".join(parts)

    def matches(self, facts: EventFacts) -> bool:
        if self.event_types and not any(re.match(glob_regex(p), facts.event_type) for p in self.event_types):
            return False
        if self.tags and not facts.tags.issuperset(self.tags):
            return False
        return not self.actor_types or facts.actor_type in self.actor_types

    def covers(self, other: Rule) -> bool:
        """Whether every event `other` matches is matched by this rule too."""
        if self.event_types and not (
            other.event_types
            and all(
                any(re.match(glob_regex(mine), theirs) for mine in self.event_types) for theirs in other.event_types
            )
        ):
            return False
        if not set(self.tags).issubset(other.tags):
            return False
        return not self.actor_types or bool(other.actor_types and set(other.actor_types) <= set(self.actor_types))

    def effect(self) -> str:
        if self.keep:
            return "kept forever (legal hold)"
        if self.retain_days is not None:
            return f"kept for {self.retain_days} days"
        return f"only the newest {self.retain_events} kept"

    def to_json(self) -> dict[str, Any]:
        return {
            "rule": self.number,
            "label": self.label,
            "type_patterns": [glob_regex(p) for p in self.event_types],
            "tags": list(self.tags),
            "actor_types": list(self.actor_types),
            "retain_days": self.retain_days,
            "retain_events": self.retain_events,
            "keep": self.keep,
        }


def _positive_int(value: object, where: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise ConfigError(f"{where} must be an integer, got {type(value).__name__}")
    if value < 1:
        raise ConfigError(f"{where} must be at least 1, got {value}")
    return value


def _names(value: object, where: str) -> tuple[str, ...]:
    if value is None:
        return ()
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not value:
        raise ConfigError(f"{where} must be a non-empty list of strings")
    for item in value:
        if not isinstance(item, str) or not item.strip():
            raise ConfigError(f"{where} must hold non-empty strings, got {item!r}")
    return tuple(dict.fromkeys(value))


def parse_rule(number: int, raw: object) -> Rule:
    where = f"retention.custom_policy.rules[{number - 1}]"
    if not isinstance(raw, Mapping):
        raise ConfigError(f"{where} (rule {number}) must be a table of keys")
    unknown = sorted(set(raw) - RULE_KEYS)
    if unknown:
        raise ConfigError(
            f"{where} (rule {number}) has unknown key {unknown[0]} (known: {', '.join(sorted(RULE_KEYS))})"
        )
    name = raw.get("name")
    if name is not None and (not isinstance(name, str) or not name.strip()):
        raise ConfigError(f"{where}.name (rule {number}) must be a non-empty string")
    keep = raw.get("keep", False)
    if not isinstance(keep, bool):
        raise ConfigError(f"{where}.keep (rule {number}) must be true or false")
    rule = Rule(
        number=number,
        name=name,
        event_types=_names(raw.get("event_types"), f"{where}.event_types (rule {number})"),
        tags=tuple(sorted(_names(raw.get("tags"), f"{where}.tags (rule {number})"))),
        actor_types=_names(raw.get("actor_types"), f"{where}.actor_types (rule {number})"),
        retain_days=None
        if raw.get("retain_days") is None
        else _positive_int(raw["retain_days"], f"{where}.retain_days"),
        retain_events=None
        if raw.get("retain_events") is None
        else _positive_int(raw["retain_events"], f"{where}.retain_events"),
        keep=keep,
    )
    effects = [key for key in ("retain_days", "retain_events") if raw.get(key) is not None] + (["keep"] if keep else [])
    if len(effects) != 1:
        problem = "sets " + " and ".join(effects) if effects else "sets none of retain_days, retain_events, keep = true"
        raise ConfigError(f"{where}: {rule.label} {problem}; a rule needs exactly one of them")
    if keep and not rule.criteria():
        raise ConfigError(f"{where}: {rule.label} holds every event, which makes every other setting pointless")
    return rule


@dataclass(frozen=True)
class RetentionPolicy:
    """A validated `[retention]` section."""

    default_policy: PolicyKind = "infinite"
    retain_days: int = 90
    retain_events: int = 1_000_000
    rules: tuple[Rule, ...] = ()
    rewrite_segments: bool = False

    @classmethod
    def from_section(cls, section: Mapping[str, Any]) -> RetentionPolicy:
        """From `[retention]` (as validated by the configuration schema)."""
        kind = section.get("default_policy", "infinite")
        if kind not in POLICIES:
            raise ConfigError(f"retention.default_policy must be one of {', '.join(POLICIES)}, got {kind!r}")
        rules_raw = section.get("custom_policy", {}).get("rules", [])
        if not isinstance(rules_raw, list):
            raise ConfigError("retention.custom_policy.rules must be a list of rules")
        rules = tuple(parse_rule(number, raw) for number, raw in enumerate(rules_raw, start=1))
        policy = cls(
            default_policy=kind,
            retain_days=_positive_int(
                section.get("time_policy", {}).get("retain_days", 90), "retention.time_policy.retain_days"
            ),
            retain_events=_positive_int(
                section.get("count_policy", {}).get("retain_events", 1_000_000), "retention.count_policy.retain_events"
            ),
            rules=rules,
            rewrite_segments=bool(section.get("rewrite_segments", False)),
        )
        policy._check_reachable()
        return policy

    def _check_reachable(self) -> None:
        """A rule that an earlier rule (or a hold) always pre-empts is a configuration error."""
        for later in self.rules:
            for earlier in self.rules:
                if earlier.number == later.number or not earlier.covers(later):
                    continue
                if earlier.keep and not later.keep:
                    raise ConfigError(
                        f"retention: {later.label} can never remove anything: every event it matches is held by "
                        f"{earlier.label}"
                    )
                if earlier.keep and later.keep and earlier.number < later.number:
                    raise ConfigError(
                        f"retention: {later.label} is unreachable: {earlier.label} already holds its events"
                    )
                if not earlier.keep and not later.keep and earlier.number < later.number:
                    raise ConfigError(
                        f"retention: {later.label} is unreachable: {earlier.label} comes first and matches every "
                        "event it matches"
                    )

    @property
    def holds(self) -> tuple[Rule, ...]:
        return tuple(rule for rule in self.rules if rule.keep)

    @property
    def deciding_rules(self) -> tuple[Rule, ...]:
        return tuple(rule for rule in self.rules if not rule.keep)

    def cutoff(self, now: datetime) -> datetime | None:
        """Events older than this go under a `time` default (None for other policies)."""
        return now - timedelta(days=self.retain_days) if self.default_policy == "time" else None

    def describe(self) -> list[str]:
        """The policy in words, one sentence a line."""
        lines: list[str]
        if self.default_policy == "infinite":
            return ["Policy: infinite. No event is ever removed."]
        if self.default_policy == "time":
            lines = [f"Policy: time. Events older than {self.retain_days} days are removed."]
        elif self.default_policy == "count":
            lines = [f"Policy: count. Only the newest {self.retain_events} events (by position) are kept."]
        else:
            lines = ["Policy: custom. The first matching rule below decides; events no rule matches are kept."]
            lines += [f"  {rule.label}: {rule.effect()}." for rule in self.deciding_rules]
        if self.holds:
            lines.append("Legal holds, which no other rule overrides:")
            lines += [f"  {rule.label}: kept forever." for rule in self.holds]
        elif self.default_policy == "custom" and not self.deciding_rules:
            lines.append("There are no rules, so nothing is removed.")
        if self.default_policy != "custom" and self.deciding_rules:
            lines.append(
                f'{len(self.deciding_rules)} custom rule(s) apply only with default_policy = "custom" and are ignored.'
            )
        return lines

    def to_json(self) -> dict[str, Any]:
        """The compiled policy: what the applied event records and what the SQL evaluates."""
        return {
            "default_policy": self.default_policy,
            "retain_days": self.retain_days if self.default_policy == "time" else None,
            "retain_events": self.retain_events if self.default_policy == "count" else None,
            "rules": [rule.to_json() for rule in self.rules if self.default_policy == "custom" or rule.keep],
        }

    # -- evaluation (the file backend, and the reference for the SQL) -----------------------
    def select(self, events: Iterable[EventFacts], now: datetime) -> list[EventFacts]:
        """The events a run at `now` removes, in position order."""
        if self.default_policy == "infinite":
            return []
        candidates = sorted(
            (facts for facts in events if not any(rule.matches(facts) for rule in self.holds)),
            key=lambda facts: facts.position,
        )
        if self.default_policy == "time":
            cutoff = now - timedelta(days=self.retain_days)
            return [facts for facts in candidates if facts.timestamp < cutoff]
        if self.default_policy == "count":
            return candidates[: max(0, len(candidates) - self.retain_events)]
        decided: dict[int, list[EventFacts]] = {rule.number: [] for rule in self.deciding_rules}
        for facts in candidates:
            rule = next((rule for rule in self.deciding_rules if rule.matches(facts)), None)
            if rule is not None:
                decided[rule.number].append(facts)
        removed: list[EventFacts] = []
        for rule in self.deciding_rules:
            group = decided[rule.number]
            if rule.retain_days is not None:
                cutoff = now - timedelta(days=rule.retain_days)
                removed += [facts for facts in group if facts.timestamp < cutoff]
            else:
                assert rule.retain_events is not None
                removed += group[: max(0, len(group) - rule.retain_events)]
        return sorted(removed, key=lambda facts: facts.position)


@dataclass
class RetentionUnit:
    """What a run does to one partition (PostgreSQL) or segment (files)."""

    name: str
    action: UnitAction
    events: int
    oldest: datetime | None
    newest: datetime | None
    by_type: dict[str, int] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "action": self.action,
            "events": self.events,
            "oldest": None if self.oldest is None else self.oldest.isoformat(),
            "newest": None if self.newest is None else self.newest.isoformat(),
            "by_type": dict(self.by_type),
        }


@dataclass
class RetentionReport:
    """The plan of a run (dry run) or what it did. `deferred` units hold expired events that
    stay because their segment is only partly expired (see `rewrite_segments`)."""

    policy: dict[str, Any]
    started_at: datetime
    cutoff: datetime | None
    dry_run: bool
    units: list[RetentionUnit] = field(default_factory=list)
    removed_ranges: list[list[int]] = field(default_factory=list)  # [first, last, count] runs
    dropped_by_partman: int = 0  # PostgreSQL: partitions dropped through pg_partman
    applied_position: int | None = None  # of the pyevents.retention.applied event

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> RetentionReport:
        """From the JSON of `to_json` (what the PostgreSQL function returns)."""

        def moment(value: str | None) -> datetime | None:
            return None if value is None else datetime.fromisoformat(value)

        started = moment(data["started_at"])
        assert started is not None
        return cls(
            policy=dict(data["policy"]),
            started_at=started,
            cutoff=moment(data.get("cutoff")),
            dry_run=bool(data["dry_run"]),
            units=[
                RetentionUnit(
                    u["name"], u["action"], u["events"], moment(u["oldest"]), moment(u["newest"]), dict(u["by_type"])
                )
                for u in data.get("units", [])
            ],
            removed_ranges=[list(run) for run in data.get("removed_ranges", [])],
            dropped_by_partman=int(data.get("dropped_by_partman", 0)),
            applied_position=data.get("applied_position"),
        )

    @property
    def removed(self) -> int:
        return sum(unit.events for unit in self.units if unit.action != "deferred")

    @property
    def removed_by_type(self) -> dict[str, int]:
        totals: Counter[str] = Counter()
        for unit in self.units:
            if unit.action != "deferred":
                totals.update(unit.by_type)
        return dict(sorted(totals.items()))

    @property
    def deferred(self) -> int:
        return sum(unit.events for unit in self.units if unit.action == "deferred")

    def to_json(self) -> dict[str, Any]:
        return {
            "policy": self.policy,
            "started_at": self.started_at.isoformat(),
            "cutoff": None if self.cutoff is None else self.cutoff.isoformat(),
            "dry_run": self.dry_run,
            "removed": self.removed,
            "removed_by_type": self.removed_by_type,
            "deferred": self.deferred,
            "units": [unit.to_json() for unit in self.units],
            "removed_ranges": self.removed_ranges,
            "dropped_by_partman": self.dropped_by_partman,
            "applied_position": self.applied_position,
        }

    def applied_payload(self) -> dict[str, Any]:
        """The payload of the pyevents.retention.applied event that records the run."""
        data = self.to_json()
        del data["applied_position"], data["dry_run"]
        return data


def units_of(removed: Sequence[tuple[str, EventFacts]], action_of: Mapping[str, UnitAction]) -> list[RetentionUnit]:
    """Group removed events by their partition or segment, in order of first appearance."""
    units: dict[str, RetentionUnit] = {}
    for name, facts in removed:
        unit = units.get(name)
        if unit is None:
            unit = units[name] = RetentionUnit(name, action_of[name], 0, None, None)
        unit.events += 1
        unit.by_type[facts.event_type] = unit.by_type.get(facts.event_type, 0) + 1
        unit.oldest = facts.timestamp if unit.oldest is None else min(unit.oldest, facts.timestamp)
        unit.newest = facts.timestamp if unit.newest is None else max(unit.newest, facts.timestamp)
    return list(units.values())


def removed_ranges(positions: Sequence[int], limit: int = 1000) -> list[list[int]]:
    """Runs of consecutive positions as [first, last, count], at most `limit` of them."""
    runs: list[list[int]] = []
    for position in sorted(positions):
        if runs and runs[-1][1] == position - 1:
            runs[-1][1] = position
            runs[-1][2] += 1
        elif len(runs) == limit:
            break
        else:
            runs.append([position, position, 1])
    return runs


def removed_in(payload: Mapping[str, Any], after: int, before: int) -> int:
    """Positions strictly between `after` and `before` that the run recorded in `payload` listed
    as removed."""
    total = 0
    for first, last, count in payload.get("removed_ranges", []):
        if first > after and last < before:
            total += count
    return total


def unlisted_removals(payload: Mapping[str, Any], recorded_at: int) -> tuple[int, int, int] | None:
    """(first, last, count): a run lists its first runs of positions only; the `count` others it
    removed lie from `first` to `last`, after the listed runs and before its record (at position
    `recorded_at`). None when the run listed every position it removed."""
    ranges = payload.get("removed_ranges", [])
    unlisted = int(payload.get("removed", 0)) - sum(int(count) for _first, _last, count in ranges)
    if unlisted <= 0:
        return None
    return (int(ranges[-1][1]) + 1 if ranges else 1), recorded_at - 1, unlisted


def unlisted_in(payload: Mapping[str, Any], recorded_at: int, after: int, before: int) -> int:
    """At most how many positions strictly between `after` and `before` the run recorded in
    `payload` (at position `recorded_at`) removed without listing them."""
    region = unlisted_removals(payload, recorded_at)
    if region is None:
        return 0
    first, last, count = region
    return min(count, max(0, min(before - 1, last) - max(after + 1, first) + 1))
