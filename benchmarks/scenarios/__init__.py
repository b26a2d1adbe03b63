"""One module per scenario; each runs on a shared RunContext (cluster, scale, report)."""
