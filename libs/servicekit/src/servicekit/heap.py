"""The process's heap, as its garbage collector sees it."""

from __future__ import annotations

import gc


def settle_the_heap() -> int:
    """Move what start-up made (modules, classes, schemas, statements: some 175,000 objects
    in a service) out of the cyclic garbage collector's sight. Each full collection walked
    them all and stopped the event loop for 150 to 250 ms, several times a run: a referral
    caught in one waited that long. Settled, a service spends about a third less CPU on a
    referral at 20/s (bench/ISSUE25.md, seventh round). They live as long as the process
    anyway; what is made afterwards is collected as before. Returns how many objects were
    moved."""
    gc.collect()
    gc.freeze()
    return gc.get_freeze_count()
