"""Integration tests against real local servers.

A package, so that its conftest is ``integration.conftest`` and does not replace the top-level
``conftest`` module that other tests import their ``../shared`` paths from.
"""
