"""Customer care: work queues by tier, search, case files, plan links and approvals (under /care)."""
