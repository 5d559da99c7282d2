"""Named SQL about the cycle collector and the GIL of one stored run, for the front ends.

Each statement binds ``$run`` (and ``$seq`` where it asks about one point of the run) and
reads the derived ``gc_collections`` table or one kind's view; none reads more than one
run's rows of them.
"""

from __future__ import annotations

# How many collections a run has (the TUI looks the current one up only when there are any).
GC_COLLECTION_COUNT = "SELECT count(*) FROM gc_collections WHERE run_id = $run"

# The collections in progress in the state after event $seq: started at or before it and
# not yet ended (the state after gc.end has none), in start order (one per interpreter at
# most).  ``number`` counts the run's collections up to this one; ``first_phase_seq`` is the
# collector's first gc.phase (before it the collection is stopping the world; after its
# last phase, '' again, it is finishing); ``total`` is how many collections the run has.
GC_COLLECTIONS_AT = """
SELECT c.start_seq, c.reason, c.requester, c.end_seq, c.collected, c.objects_visited, c.unreachable,
    (SELECT count(*) FROM gc_collections n WHERE n.run_id = $run AND n.start_seq <= c.start_seq) AS number,
    (SELECT count(*) FROM gc_collections n WHERE n.run_id = $run) AS total,
    (SELECT min(p.seq) FROM gc_phase p WHERE p.run_id = $run AND p.tid = c.requester AND p.seq > c.start_seq
        AND p.seq < coalesce(c.end_seq, 9223372036854775807)) AS first_phase_seq
FROM gc_collections c
WHERE c.run_id = $run AND c.start_seq <= $seq AND (c.end_seq IS NULL OR c.end_seq > $seq)
ORDER BY c.start_seq
"""

# Whether a run takes a GIL at all (the GIL build, or PYTHON_GIL=1): 1 or 0.
GIL_USED = "SELECT count(*) FROM (SELECT 1 FROM ceval_gil_take WHERE run_id = $run LIMIT 1)"

__all__ = ["GC_COLLECTION_COUNT", "GC_COLLECTIONS_AT", "GIL_USED"]
