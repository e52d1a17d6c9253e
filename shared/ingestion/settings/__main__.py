"""``python -m ingestion.settings``: the decoder's configuration table, as in the README."""

from . import environment_table

print(environment_table())
