"""The readable record of a migration (``migrations/{id}.md``) and the lines of ``status``."""

from __future__ import annotations

from typing import Any

from .machine import ORDER
from .records import Document

STEPS = (*ORDER, "rollback")


def _url(place: dict[str, Any]) -> str:
    return f"gs://{place['bucket']}/{place['prefix']}"


def _fields(schema: dict[str, Any]) -> str:
    return "/".join(d["field_name"] for d in schema.get("dimensions", [])) or "(none)"


def next_step(document: Document) -> str:
    if document.get("status") != "active":
        return "-"
    for name in ORDER:
        if (document.get("steps", {}).get(name) or {}).get("state") != "done":
            return name
    return "-"


def step_line(name: str, step: dict[str, Any]) -> str:
    """One line per step: its state, times, run ids and counts."""
    if not step:
        return f"{name}: not started"
    parts = [f"{name}: {step.get('state')}"]
    for key in ("at", "started_at", "finished_at"):
        if step.get(key):
            parts.append(f"{key.replace('_', ' ')} {step[key]}")
    for run in step.get("runs") or []:
        counts = run.get("counts") or {}
        parts.append(
            f"run {run['run_id']} [{run['window']['start']}, {run['window']['end']}) "
            f"{run.get('state')}: records {counts.get('records', 0)}, decoded "
            f"{counts.get('decoded', 0)}, errors {counts.get('error', 0)}"
        )
    if step.get("state") == "running" and step.get("run_id"):
        progress = (step.get("progress") or {}).get("counts") or {}
        parts.append(f"run {step['run_id']} records so far {progress.get('records', 0)}")
    if "revision" in step:
        parts.append(f"registry revision {step['revision']}")
    if "writer_revision" in step:
        parts.append(f"writer revision {step['writer_revision']}")
    if "totals" in step:
        totals = step["totals"]
        parts.append(
            f"old {totals['old_records']} records / new {totals['new_records']}, missing "
            f"{totals['missing']} ({'passed' if step.get('passed') else 'FAILED'})"
        )
    if step.get("restored"):
        parts.append("restored " + "; ".join(step["restored"]))
    return " | ".join(parts)


def status_lines(document: Document) -> list[str]:
    lines = [
        f"{document['id']}: {document['source']} {_url(document['from'])} -> "
        f"{_url(document['to'])} [{document['status']}], next: {next_step(document)}",
    ]
    for name in STEPS:
        step = document.get("steps", {}).get(name) or {}
        if step or name != "rollback":
            lines.append("  " + step_line(name, step))
    return lines


def summary_markdown(document: Document) -> str:
    old, new = document["from"], document["to"]
    lines = [
        f"# Migration {document['id']}: {document['source']}",
        "",
        f"- created {document['created_at']} by {document['created_by']}; status "
        f"**{document['status']}**; next step: {next_step(document)}",
        f"- from {_url(old)} (layout {_fields(old['schema'])}, schema "
        f"{old['metadata_prefix']}/schema.json)",
        f"- to {_url(new)} (layout {_fields(new['schema'])}, schema "
        f"{new['metadata_prefix']}/schema.json)",
        f"- history from {document['since']} out of raw source {document['raw_source']}; "
        f"backfill errors in {_url(document['errors_to'])}",
        "",
        "## Steps",
        "",
    ]
    lines += [f"- {step_line(name, document.get('steps', {}).get(name) or {})}" for name in STEPS]
    verify = document.get("steps", {}).get("verify") or {}
    if verify.get("partitions"):
        lines += [
            "",
            f"## Verification, grouped by {'/'.join(verify.get('grouped_by') or []) or 'all'}",
            "",
            "| partition | old records | old documents | new records | new documents | missing |",
            "| --- | ---: | ---: | ---: | ---: | ---: |",
        ]
        lines += [
            f"| {r['partition']} | {r['old_records']} | {r['old_documents']} | "
            f"{r['new_records']} | {r['new_documents']} | {r['missing']} |"
            for r in verify["partitions"]
        ]
        errors = verify.get("errors") or {}
        lines += ["", f"Backfill errors by type: {errors.get('backfill_error_types') or 'none'}"]
    lines += ["", "## Log", ""]
    lines += [
        f"- {entry['time']} {entry['step']}: {entry['event']} ({entry['by']})"
        for entry in document.get("log", [])
    ]
    return "\n".join(lines) + "\n"
