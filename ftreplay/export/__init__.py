"""Exports of stored runs to other tools' formats, and the way back.

- ``ftlog``: rebuild a run's portable ``.ftlog`` from its rows (byte for byte the log the
  recorder wrote, so its sha256 re-derives the run's ``hash``).
- ``parquet``: a folder of Parquet files partitioned by run (``runs``, ``events``,
  ``checkpoints`` and the derived tables), and its import.
- ``perfetto``: a Chrome JSON trace that Perfetto's UI and trace processor open.

Every export streams: rows come from DuckDB in batches, nothing holds a whole run.
"""
