"""The retention policy model: parsing, errors that name the rule, the policy in words."""

from __future__ import annotations

import fnmatch
import re
from typing import Any

import pytest

from pyevents import Config
from pyevents.errors import ConfigError
from pyevents.retention import RetentionPolicy, glob_regex, removed_in, removed_ranges, unlisted_in


def custom(*rules: dict[str, Any]) -> dict[str, Any]:
    return {"retention": {"default_policy": "custom", "custom_policy": {"rules": list(rules)}}}


@pytest.mark.parametrize(
    ("rules", "message"),
    [
        ([{"event_types": ["a"]}], r"rule 1 \(event_types a\) sets none of retain_days, retain_events, keep = true"),
        (
            [{"event_types": ["a"], "retain_days": 1, "retain_events": 5}],
            "rule 1 .* sets retain_days and retain_events",
        ),
        ([{"tags": ["x"], "retain_days": 3, "keep": True}], r"rule 1 \(tags x\) sets retain_days and keep"),
        ([{"keep": True}], "rule 1 .every event. holds every event"),
        (
            [
                {"event_types": ["debug.*"], "retain_days": 7},
                {"name": "late", "event_types": ["debug.sql"], "retain_days": 1},
            ],
            r"rule 2 'late' \(event_types debug.sql\) is unreachable: rule 1 \(event_types debug.\*\) comes first",
        ),
        (
            [
                {"actor_types": ["user", "svc"], "retain_days": 7},
                {"actor_types": ["svc"], "tags": ["t"], "retain_events": 3},
            ],
            r"rule 2 .* is unreachable: rule 1",
        ),
        (
            [{"tags": ["legal"], "keep": True}, {"event_types": ["a"], "tags": ["legal", "b"], "retain_days": 1}],
            r"rule 2 .* can never remove anything: every event it matches is held by rule 1 \(tags legal\)",
        ),
        (
            [{"tags": ["h"], "keep": True}, {"tags": ["h", "i"], "keep": True}],
            r"rule 2 .* is unreachable: rule 1 .* already holds",
        ),
        ([{"event_types": ["a"], "retain_days": 0}], r"rules\[0\].retain_days must be at least 1, got 0"),
        ([{"event_types": [], "retain_days": 1}], r"rules\[0\].event_types .rule 1. must be a non-empty list"),
        ([{"event_type": ["a"], "retain_days": 1}], r"rules\[0\] .rule 1. has unknown key event_type"),
        (["debug.*"], r"rules\[0\] .rule 1. must be a table of keys"),
    ],
)
def test_bad_rules_are_configuration_errors_naming_the_rule(rules: list[Any], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        _ = Config(custom(*rules)).retention


def test_rules_that_only_look_alike_are_fine() -> None:
    config = Config(
        custom(
            {"event_types": ["debug.sql"], "retain_days": 1},
            {"event_types": ["debug.*"], "retain_days": 7},
            {"tags": ["legal"], "event_types": ["a"], "keep": True},
            {"event_types": ["a"], "retain_events": 10},
        )
    )
    assert len(config.retention.rules) == 4


def test_policy_numbers_are_checked() -> None:
    with pytest.raises(ConfigError, match="retention.time_policy.retain_days must be at least 1"):
        Config({"retention": {"time_policy": {"retain_days": 0}}})
    with pytest.raises(ConfigError, match="retention.default_policy must be one of infinite, time, count, custom"):
        Config({"retention": {"default_policy": "forever"}})
    with pytest.raises(ConfigError, match="retention.rewrite_segments must be a bool"):
        Config({"retention": {"rewrite_segments": "yes"}})


def test_the_policy_in_words() -> None:
    assert Config().retention.describe() == ["Policy: infinite. No event is ever removed."]
    timed = Config({"retention": {"default_policy": "time", "time_policy": {"retain_days": 30}}}).retention
    assert timed.describe() == ["Policy: time. Events older than 30 days are removed."]
    held = Config(
        {
            "retention": {
                "default_policy": "count",
                "count_policy": {"retain_events": 5},
                "custom_policy": {"rules": [{"tags": ["h"], "keep": True}, {"event_types": ["x"], "retain_days": 1}]},
            }
        }
    ).retention
    assert held.describe() == [
        "Policy: count. Only the newest 5 events (by position) are kept.",
        "Legal holds, which no other rule overrides:",
        "  rule 1 (tags h): kept forever.",
        '1 custom rule(s) apply only with default_policy = "custom" and are ignored.',
    ]
    assert [rule["rule"] for rule in held.to_json()["rules"]] == [1]  # only the hold is compiled


@pytest.mark.parametrize("pattern", ["debug.*", "a?c", "*", "x.y", "order+(1)", "[x]*", "a\\b*"])
@pytest.mark.parametrize("name", ["debug.sql", "abc", "x.y", "xxy", "order+(1)", "[x]z", "a\\bq", ""])
def test_globs_compile_to_what_fnmatch_means_for_star_and_question_mark(pattern: str, name: str) -> None:
    literal = pattern.replace("[", "[[]")  # fnmatch's classes are not part of our globs
    assert bool(re.match(glob_regex(pattern), name)) == fnmatch.fnmatchcase(name, literal)


def test_removed_ranges_and_what_lies_between() -> None:
    runs = removed_ranges([1, 2, 3, 7, 9, 10])
    assert runs == [[1, 3, 3], [7, 7, 1], [9, 10, 2]]
    payload = {"removed_ranges": runs}
    assert removed_in(payload, 0, 11) == 6
    assert removed_in(payload, 3, 8) == 1
    assert removed_in(payload, 6, 9) == 1
    assert removed_ranges(list(range(0, 100, 2)), limit=3) == [[0, 0, 1], [2, 2, 1], [4, 4, 1]]


def test_default_config_builds_the_infinite_policy() -> None:
    assert Config().retention == RetentionPolicy()


def test_unlisted_removals_are_counted_past_the_listed_runs_and_within_the_gap() -> None:
    """A run that removed 10 positions but listed the runs of 4 (2-3 and 5-6) removed the other
    6 between its last listed run and its record at position 20."""
    payload = {"removed": 10, "removed_ranges": [[2, 3, 2], [5, 6, 2]]}
    assert unlisted_in(payload, 20, 0, 21) == 6
    assert unlisted_in(payload, 20, 8, 12) == 3  # the gap holds only 9-11
    assert unlisted_in(payload, 20, 0, 6) == 0  # before the last listed run
    assert unlisted_in({"removed": 2, "removed_ranges": [[2, 3, 2]]}, 20, 0, 21) == 0
