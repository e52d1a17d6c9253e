"""Composition roots: one per runtime. The only place where settings meet adapters."""
