"""The benchmark harness of pyevents (not part of the installed package): `python benchmarks/run.py`
or `make bench`. One module per scenario in `scenarios/`, over the shared run context of `context.py`."""
