"""Who may call, how much, and what it cost: keys, limits, the usage ledger and metering over one table."""
