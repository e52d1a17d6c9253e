"""The backfill: decode a window of the raw archive in Cloud Storage, in chunks, fanned out.

- ``request``: the request and its validation (4xx with a one-line reason);
- ``listing`` and ``plan``: the objects of a window, cut into chunks on line boundaries;
- ``inputs`` and ``outputs``: a chunk's records in (plain, gzip, Avro) and its outputs out
  (registry sources or the decoded/error topics), committed at input-determined positions;
- ``runner``: one chunk task (claim, decode with ``DecoderService``, checkpoint, yield);
- ``dedup``: deduplication within a run; ``state`` and ``status``: chunk states and a run's
  status; ``estimate``: invocations, CPU and cost of a plan;
- ``service``: start / status / cancel / chunk; ``http``: the function's routes.

Guide: docs/backfill.md.
"""
