"""Helper processes for the file backend tests: `python -m tests.file.processes COMMAND DIR ...`.

- write DIR SEED: append batches forever, printing each event id once its append returned.
- hold DIR: append one event, print "ready", then keep the writer lock until stdin closes.
- append DIR N: append N events, each in a new (compressed) segment, print their ids, exit.
"""

from __future__ import annotations

import random
import sys
import uuid

from pyevents import Event
from pyevents.backends.file import FileEventStore


def new_event(number: int) -> Event:
    return Event(
        event_type=f"Type{number % 3}",
        actor_type="process",
        actor_id="helper",
        payload={"number": number, "pad": "x" * (number % 200)},
        metadata={"tags": [f"tag{number % 4}"]},
        event_id=uuid.uuid4(),
    )


def main() -> None:
    command, directory = sys.argv[1], sys.argv[2]
    if command == "write":
        rng = random.Random(int(sys.argv[3]))
        with FileEventStore(directory, max_size=4096, compression="gzip") as store:
            number = 0
            while True:
                batch = [new_event(number + i) for i in range(rng.randint(1, 8))]
                number += len(batch)
                store.append_batch(batch)
                print("\n".join(str(e.event_id) for e in batch), flush=True)
    elif command == "hold":
        with FileEventStore(directory) as store:
            store.append(new_event(0))
            print("ready", flush=True)
            sys.stdin.read()
    elif command == "append":
        with FileEventStore(directory, max_size=1, compression="gzip") as store:
            for number in range(int(sys.argv[3])):
                event = new_event(number)
                store.append(event)
                print(event.event_id, flush=True)
    else:
        raise SystemExit(f"unknown command {command}")


if __name__ == "__main__":
    main()
