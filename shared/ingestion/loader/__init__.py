"""The live loader: decoded, error or raw messages into ``.ndjson.gz`` objects under their
source's partition keys, one object per flushed batch of concurrent messages.

- ``objects``: the object encoding, names and conditional write (reused by the backfill);
- ``batches``: batching by partition key, flush on count, bytes or age, bounded memory;
- ``targets``: the source's writer entry in the registry, re-checked by version;
- ``loader``: the three together, ``Loader.load(message)``;
- ``function``: the push function's request handling; ``pull``: the streaming-pull worker.
"""
