"""The ``pss`` command: run the platform locally, provision it, seed demo data."""
