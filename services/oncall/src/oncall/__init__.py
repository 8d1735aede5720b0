"""oncall: pages the primary, then the backup, then the coordinator, with durable timers."""
