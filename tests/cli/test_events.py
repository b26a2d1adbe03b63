"""append, query, get and read through the CLI, on every backend the `cli` fixture provides."""

from __future__ import annotations

import json
import uuid
from pathlib import Path

import pytest

from pyevents.backends import available
from tests.cli.helpers import Cli, event, invoke


def test_append_one_event_from_options(cli: Cli) -> None:
    correlation = str(uuid.uuid4())
    result = cli.run(
        "append",
        "--type",
        "order.placed",
        "--actor-type",
        "user",
        "--actor-id",
        "u-1",
        "--payload",
        '{"total": 42}',
        "--metadata",
        '{"source": "test", "tags": ["a"]}',
        "--tag",
        "order:1",
        "--tag",
        "b",
        "--correlation-id",
        correlation,
        "--timestamp",
        "2024-05-01T12:00:00+02:00",
    )
    header, _rule, row, summary = result.stdout.splitlines()
    assert header.split() == ["position", "event_id", "type"]
    assert row.split()[2] == "order.placed"
    assert summary == "appended 1 event"
    [stored] = cli.json("query")["events"]
    assert stored["position"] == int(row.split()[0])
    assert stored["event_id"] == row.split()[1]
    assert stored["payload"] == {"total": 42}
    assert stored["metadata"] == {"source": "test", "tags": ["a", "b", "order:1"]}
    assert stored["correlation_id"] == correlation
    assert stored["timestamp"].startswith("2024-05-01T10:00:00")


def test_append_formats(cli: Cli) -> None:
    document = cli.json("append", input=json.dumps([event("a"), event("b")]))
    assert list(document) == ["positions"]
    first, second = document["positions"]
    assert second > first
    lines = cli.run("append", "--format", "jsonl", input=json.dumps(event("c"))).stdout.splitlines()
    [line] = [json.loads(text) for text in lines]
    assert line["position"] > second
    assert uuid.UUID(line["event_id"])


def test_append_from_a_file_and_from_stdin_dash(cli: Cli) -> None:
    path = "events.jsonl"
    with open(path, "w", encoding="utf-8") as handle:
        handle.write("\n".join(json.dumps(event(name)) for name in ("a", "b", "c")) + "\n")
    assert len(cli.json("append", "--file", path)["positions"]) == 3
    assert len(cli.json("append", "--file", "-", input=json.dumps(event("d")))["positions"]) == 1
    assert [e["event_type"] for e in cli.json("query")["events"]] == ["a", "b", "c", "d"]


def test_a_bad_line_stores_nothing(cli: Cli) -> None:
    lines = [json.dumps(event("a")), json.dumps(event("b")), '{"event_type": "c", "actor_type": "user"}']
    result = cli.run("append", input="\n".join(lines), code=2)
    assert result.stderr == "Error: stdin: line 3: actor_id is required\n"
    result = cli.run("append", input=lines[0] + "\n" + '{"event_type": \n', code=2)
    assert "line 2 is not valid JSON" in result.stderr
    assert cli.json("query")["events"] == []


def test_a_batch_the_store_rejects_stores_nothing(cli: Cli) -> None:
    stored = event("a", event_id=str(uuid.uuid4()), payload={"v": 1})
    cli.append_lines([stored])
    clash = {**stored, "payload": {"v": 2}}
    result = cli.run("append", input=json.dumps([event("new"), clash]), code=3)
    assert result.stderr.startswith("Error: ")
    assert [e["event_type"] for e in cli.json("query")["events"]] == ["a"]


def test_retrying_the_same_event_is_idempotent(cli: Cli) -> None:
    # a retry carries the whole event: defaults (timestamp, correlation_id) would differ
    same = event("a", event_id=str(uuid.uuid4()), correlation_id=str(uuid.uuid4()), timestamp="2024-05-01T12:00:00Z")
    [first] = cli.append_lines([same])
    [again] = cli.append_lines([same])
    assert again == first
    assert len(cli.json("query")["events"]) == 1


def test_bad_input_exits_2(cli: Cli) -> None:
    base = ["append", "--type", "a", "--actor-type", "user", "--actor-id", "u-1"]
    assert "--payload must be a JSON object" in cli.run(*base, "--payload", "[1]", code=2).stderr
    assert "--metadata is not valid JSON" in cli.run(*base, "--metadata", "{", code=2).stderr
    assert "event_id is not a valid UUID" in cli.run(*base, "--event-id", "nope", code=2).stderr
    assert "missing --actor-id" in cli.run("append", "--type", "a", "--actor-type", "user", code=2).stderr
    assert "not both" in cli.run(*base, "--file", "-", input="{}", code=2).stderr
    assert "--after needs --if-none-match" in cli.run(*base, "--after", "3", code=2).stderr
    assert "no events in stdin" in cli.run("append", input="", code=2).stderr
    assert "No such file" in cli.run("append", "--file", "missing.json", code=2).stderr
    with open("latin1.json", "wb") as handle:
        handle.write(b'{"event_type": "caf\xe9", "actor_type": "u", "actor_id": "1"}')
    assert "latin1.json is not UTF-8 text" in cli.run("append", "--file", "latin1.json", code=2).stderr
    assert cli.json("query")["events"] == []


def test_conditional_append(cli: Cli) -> None:
    cli.append_lines([event("order.placed", metadata={"tags": ["order:1"]})])
    head = cli.json("read", "--tag", "order:1")["head"]
    guarded = ["append", "--type", "order.shipped", "--actor-type", "service", "--actor-id", "shipping"]
    condition = ["--if-none-match", "type:order.cancelled,tag:order:1", "--if-none-match", "type:order.shipped"]
    cli.run(*guarded, "--tag", "order:1", *condition, "--after", str(head))
    result = cli.run(*guarded, *condition, "--after", str(head), code=3)
    assert result.stderr.startswith("Error: ") and "condition" in result.stderr
    assert cli.run(*guarded, "--if-none-match", "all", code=3).stderr.startswith("Error: ")
    assert "type:NAME or tag:NAME" in cli.run(*guarded, "--if-none-match", "order", code=2).stderr
    assert [e["event_type"] for e in cli.json("query")["events"]] == ["order.placed", "order.shipped"]


def _seed(cli: Cli) -> tuple[list[int], str]:
    correlation = str(uuid.uuid4())
    events = [
        event("order.placed", "u-1", timestamp="2024-05-01T10:00:00Z", metadata={"tags": ["order:1", "vip"]}),
        event("order.placed", "u-2", timestamp="2024-05-01T09:00:00Z", metadata={"tags": ["order:2"]}),
        event("order.shipped", "u-1", timestamp="2024-05-02T10:00:00Z", metadata={"tags": ["order:1"]}),
        event("order.cancelled", "u-2", timestamp="2024-05-03T10:00:00Z", correlation_id=correlation),
        event("user.deleted", "u-3", timestamp="2024-05-04T10:00:00Z", correlation_id=correlation),
    ]
    return cli.append_lines(events), correlation


def _types(cli: Cli, *args: str) -> list[str]:
    return [e["event_type"] for e in cli.json("query", *args)["events"]]


def test_query_filters(cli: Cli) -> None:
    positions, correlation = _seed(cli)
    assert _types(cli, "--type", "order.shipped", "--type", "user.deleted") == ["order.shipped", "user.deleted"]
    assert _types(cli, "--actor-id", "u-2") == ["order.placed", "order.cancelled"]
    assert _types(cli, "--correlation-id", correlation) == ["order.cancelled", "user.deleted"]
    assert _types(cli, "--tag", "order:1") == ["order.placed", "order.shipped"]
    assert _types(cli, "--tag", "order:1", "--tag", "vip") == ["order.placed"]
    assert _types(cli, "--since", "2024-05-02T00:00:00Z", "--until", "2024-05-04T00:00:00Z") == [
        "order.shipped",
        "order.cancelled",
    ]
    assert _types(cli, "--after", str(positions[2])) == ["order.cancelled", "user.deleted"]
    assert _types(cli, "--limit", "2", "--offset", "1") == ["order.placed", "order.shipped"]
    by_time = [e["actor_id"] for e in cli.json("query", "--order-by", "timestamp", "--limit", "2")["events"]]
    assert by_time == ["u-2", "u-1"]
    assert _types(cli, "--desc", "--limit", "1") == ["user.deleted"]
    ids = [e["event_id"] for e in cli.json("query", "--order-by", "event_id")["events"]]
    assert ids == sorted(ids)
    assert "since is not an ISO 8601 timestamp" in cli.run("query", "--since", "yesterday", code=2).stderr
    assert "correlation_id is not a valid UUID" in cli.run("query", "--correlation-id", "x", code=2).stderr
    assert "cursor" in cli.run("query", "--cursor", "garbage", code=2).stderr
    cli.run("query", "--order-by", "size", code=2)


def test_query_pages_by_cursor(cli: Cli) -> None:
    _seed(cli)
    first = cli.json("query", "--limit", "2")
    assert first["has_more"] is True and first["next_cursor"]
    second = cli.json("query", "--limit", "2", "--cursor", first["next_cursor"])
    third = cli.json("query", "--limit", "2", "--cursor", second["next_cursor"])
    assert third["has_more"] is False and third["next_cursor"] is None
    paged = [e["position"] for page in (first, second, third) for e in page["events"]]
    everything = [e["position"] for e in cli.json("query", "--all", "--limit", "2")["events"]]
    assert paged == everything and len(everything) == 5

    table = cli.run("query", "--limit", "2").stdout
    assert f"--cursor {first['next_cursor']}" in table
    assert "--cursor" not in cli.run("query", "--all", "--limit", "2").stdout

    lines = cli.run("query", "--all", "--limit", "2", "--format", "jsonl").stdout.splitlines()
    assert [json.loads(line)["position"] for line in lines] == everything
    assert set(json.loads(lines[0])) >= {"position", "event_id", "recorded_at", "payload", "metadata"}


def test_query_table(cli: Cli) -> None:
    _seed(cli)
    lines = cli.run("query").stdout.splitlines()
    headers = ["position", "timestamp", "type", "actor", "appended_by", "correlation", "tags", "payload"]
    assert lines[0].split() == headers
    assert set(lines[1]) == {"-", " "}
    assert "2024-05-01T10:00:00.000Z" in lines[2] and "user:u-1" in lines[2] and "order:1,vip" in lines[2]
    login = cli.json("query")["events"][0]["appended_by"]
    assert login and f"user:u-1  {login}" in lines[2]
    assert len(lines) == 7
    assert cli.run("query", "--type", "nothing").stdout == "(no events)\n"


def test_get(cli: Cli) -> None:
    event_id = str(uuid.uuid4())
    [position] = cli.append_lines([event("a", event_id=event_id, payload={"k": "v"}, metadata={"tags": ["t"]})])
    table = cli.run("get", event_id).stdout
    assert f"position        {position}" in table
    assert "event_type      a" in table and "tags            t" in table and '"k": "v"' in table
    document = cli.json("get", event_id)
    assert document["event_id"] == event_id and document["position"] == position
    assert json.loads(cli.run("get", event_id, "--format", "jsonl").stdout) == document
    missing = str(uuid.uuid4())
    assert cli.run("get", missing, code=1).stderr == f"Error: event {missing} not found\n"
    assert "not a valid UUID" in cli.run("get", "nope", code=2).stderr


def test_read(cli: Cli) -> None:
    positions, _ = _seed(cli)
    result = cli.json("read", "--tag", "order:1")
    assert [e["event_type"] for e in result["events"]] == ["order.placed", "order.shipped"]
    assert result["head"] == positions[2]
    both = cli.json("read", "--type", "order.placed", "--type", "order.cancelled", "--tag", "order:2")
    assert [e["position"] for e in both["events"]] == [positions[1]]
    items = '{"items": [{"types": ["user.deleted"]}, {"tags": ["vip"]}]}'
    assert [e["position"] for e in cli.json("read", "--query", items)["events"]] == [positions[0], positions[4]]
    assert len(cli.json("read", "--query", '{"all": true}')["events"]) == 5
    assert len(cli.json("read")["events"]) == 5
    limited = cli.json("read", "--after", str(positions[0]), "--limit", "2")
    assert [e["position"] for e in limited["events"]] == positions[1:3] and limited["head"] == positions[2]
    empty = cli.json("read", "--type", "nothing", "--after", str(positions[0]))
    assert empty == {"events": [], "head": positions[0]}

    table = cli.run("read", "--tag", "order:1").stdout
    assert table.splitlines()[-1] == f"head: {positions[2]}"
    assert cli.run("read", "--type", "nothing").stdout.splitlines() == ["(no events)", "head: none (no events)"]
    jsonl = cli.run("read", "--tag", "vip", "--format", "jsonl")
    assert [json.loads(line)["position"] for line in jsonl.stdout.splitlines()] == [positions[0]]
    assert jsonl.stderr == f"head: {positions[0]}\n"

    assert "not both" in cli.run("read", "--query", '{"all": true}', "--tag", "x", code=2).stderr
    assert "--query is not valid JSON" in cli.run("read", "--query", "{", code=2).stderr


def test_health(cli: Cli) -> None:
    table = cli.run("health").stdout
    assert table.splitlines()[0].split() == ["healthy", "yes"]
    assert table.splitlines()[1].split() == ["backend", cli.backend]
    document = cli.json("health")
    assert document["healthy"] is True and document["backend"] == cli.backend


def test_demo(cli: Cli) -> None:
    for _ in range(2):  # a second run tells its own story next to the first
        text = cli.run("demo").stdout
        assert "appended a batch of 8 events" in text
        assert "conditional append accepted" in text
        assert "order.cancelled refused, nothing written: AppendConditionViolated" in text
        for heading in ("query by type", "query by tag", "by correlation"):
            assert heading in text
        assert text.count("order.shipped") >= 3
    correlation = text.splitlines()[0].rsplit("correlation ", 1)[1]
    assert len(cli.json("query", "--correlation-id", correlation)["events"]) == 9
    assert len(cli.json("query", "--type", "order.placed")["events"]) == 2
    assert cli.json("query", "--type", "order.cancelled")["events"] == []


def test_verify(cli: Cli) -> None:
    cli.append_lines([event("a"), event("b")])
    assert cli.run("verify").stdout == f"ok: no problems found in the {cli.backend} store\n"
    assert cli.json("verify") == {"backend": cli.backend, "ok": True, "problems": []}


def test_without_configuration_the_file_backend_in_dot_pyevents_is_used(tmp_path: Path) -> None:
    pytest.importorskip("pyevents.backends.file")
    if "file" not in available():
        pytest.skip("the file backend is not registered yet")
    text = invoke(["demo"]).stdout
    assert text.startswith("pyevents demo on the file store")
    assert (tmp_path / ".pyevents").is_dir()
    assert len(json.loads(invoke(["query", "--format", "json"]).stdout)["events"]) == 9
    assert [line.split() for line in invoke(["health"]).stdout.splitlines()[:2]] == [
        ["healthy", "yes"],
        ["backend", "file"],
    ]
