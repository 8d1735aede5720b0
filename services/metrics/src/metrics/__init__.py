"""metrics: de-identified per-site aggregates, with small cells suppressed."""
