"""The EventStoreDB / KurrentDB backend, through kurrentdbclient (the optional extra `eventstore`).

The package imports nothing heavy: `store` needs kurrentdbclient and says which extra to install
when it is missing, so pyevents itself works without it.
"""
