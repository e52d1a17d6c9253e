"""``ingestion backfill plan | start | status | cancel``: the backfill function's client.

The commands talk to the deployed (or local) ``backfill`` function over HTTP: ``--url`` (or
``BACKFILL_URL``). A private function needs an identity token: ``--token``, or one fetched for
the URL from the caller's Google credentials (``gcloud auth application-default login`` or a
service account). ``plan`` is a dry run: the plan, object and byte counts, and the estimate,
nothing written. ``--follow`` polls the status with a live progress bar (chunks, records,
bytes, rate, ETA) and ends with a summary table.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from typing import Any

from ..adapters.backfill_client import BackfillClient, BackfillRefused, identity_token

FOLLOW_SECONDS = 3.0


def add_commands(commands: Any) -> None:
    backfill = commands.add_parser("backfill", help="plan, start, watch and cancel backfills")
    actions = backfill.add_subparsers(dest="action", required=True)
    for name, helptext in (("plan", "dry run: the plan and its estimate"), ("start", "start")):
        action = actions.add_parser(name, help=helptext)
        _connection(action)
        action.add_argument("--source", required=True, help="registry source or gs://bucket/prefix")
        action.add_argument("--start", help="window start, YYYY-MM-DD[THH] (inclusive)")
        action.add_argument("--end", help="window end, YYYY-MM-DD[THH] (exclusive)")
        action.add_argument("--format", choices=("json", "raw", "avro"), default="json")
        action.add_argument("--decoded", help="destination source of decoded messages")
        action.add_argument("--errors", help="destination source of error messages")
        action.add_argument("--topics", action="store_true", help="replay to the topics instead")
        action.add_argument("--chunk-bytes", type=int)
        action.add_argument("--dedup", choices=("off", "run"), default="off")
        action.add_argument("--max-chunks", type=int)
        action.add_argument("--max-bytes", type=int)
        action.add_argument("--run-id", help="idempotency key: the same id resumes the run")
        if name == "start":
            action.add_argument("--follow", action="store_true")
        action.set_defaults(run=_run_start, dry_run=name == "plan")
    for name in ("status", "cancel"):
        action = actions.add_parser(name, help=f"{name} of a run")
        _connection(action)
        action.add_argument("run_id")
        if name == "status":
            action.add_argument("--follow", action="store_true")
        action.set_defaults(run=_run_status if name == "status" else _run_cancel)


def _connection(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--url", default=os.environ.get("BACKFILL_URL"), help="function URL")
    parser.add_argument("--token", help="identity token (default: from Google credentials)")


class _Failed(Exception):
    pass


def _client(args: argparse.Namespace) -> BackfillClient:
    if not args.url:
        raise _Failed("no function URL: pass --url or set BACKFILL_URL")
    token = args.token
    return BackfillClient(
        args.url, token=(lambda url: token) if token else identity_token, timeout=300
    )


def _call(args: argparse.Namespace, action: str, *arguments: Any) -> dict[str, Any]:
    """``BackfillClient.<action>(*arguments)``, its failures as one-line ``_Failed``."""
    try:
        answer: dict[str, Any] = getattr(_client(args), action)(*arguments)
    except BackfillRefused as exc:
        raise _Failed(str(exc)) from None
    except OSError as exc:
        raise _Failed(f"cannot reach {args.url}: {type(exc).__name__}") from None
    return answer


def _request(args: argparse.Namespace) -> dict[str, Any]:
    body: dict[str, Any] = {"source": args.source, "format": args.format, "dedup": args.dedup}
    if args.start or args.end:
        body["window"] = {"start": args.start, "end": args.end}
    body["destination"] = (
        "topics" if args.topics else {"decoded": args.decoded, "error": args.errors}
    )
    optional = {
        "chunk_bytes": args.chunk_bytes,
        "max_chunks": args.max_chunks,
        "max_bytes": args.max_bytes,
        "run_id": args.run_id,
    }
    body.update({key: value for key, value in optional.items() if value is not None})
    body["dry_run"] = args.dry_run
    return body


def _guarded(action: Any) -> Any:
    def run(args: argparse.Namespace) -> int:
        try:
            return int(action(args))
        except _Failed as exc:
            print(f"ingestion backfill: {exc}", file=sys.stderr)
            return 2

    return run


@_guarded
def _run_start(args: argparse.Namespace) -> int:
    answer = _call(args, "start", _request(args))
    print(json.dumps(answer, indent=2))
    if getattr(args, "follow", False) and not args.dry_run:
        return _follow(args, answer["run_id"])
    return 0


@_guarded
def _run_status(args: argparse.Namespace) -> int:
    if args.follow:
        return _follow(args, args.run_id)
    print(json.dumps(_call(args, "status", args.run_id), indent=2))
    return 0


@_guarded
def _run_cancel(args: argparse.Namespace) -> int:
    print(json.dumps(_call(args, "cancel", args.run_id), indent=2))
    return 0


def _follow(args: argparse.Namespace, run_id: str) -> int:
    from tqdm import tqdm

    status = _call(args, "status", run_id)
    total = int((status.get("plan") or {}).get("bytes") or 0)
    with tqdm(total=total, unit="B", unit_scale=True, file=sys.stderr, desc=run_id) as bar:
        while True:
            bar.n = min(total, status["counts"]["bytes"])
            chunks = status["chunks"]
            bar.set_postfix_str(
                f"chunks {chunks['done']}/{chunks['total']} records {status['counts']['records']:,}"
                f" {status['records_per_second']:,}/s eta {status['eta_seconds'] or '-'}s",
                refresh=False,
            )
            bar.refresh()
            if status["state"] != "running":
                break
            time.sleep(FOLLOW_SECONDS)
            status = _call(args, "status", run_id)
    print(summary_table(status))
    return 0 if status["state"] == "done" else 1


def summary_table(status: dict[str, Any]) -> str:
    counts, chunks = status["counts"], status["chunks"]
    rows = [
        ("run", status["run_id"]),
        ("state", status["state"]),
        (
            "chunks done / failed / cancelled",
            f"{chunks['done']} / {chunks['failed']} / {chunks['cancelled']} of {chunks['total']}",
        ),
        ("records in", f"{counts['records']:,}"),
        ("decoded", f"{counts['decoded']:,}"),
        ("errors", f"{counts['error']:,}"),
        ("dropped", f"{counts['dropped']:,}"),
        ("bytes", f"{counts['bytes']:,}"),
        ("elapsed", f"{status['elapsed_seconds']} s"),
        ("rate", f"{status['records_per_second']:,} records/s"),
    ]
    rows += [(f"  {kind}", f"{value:,}") for kind, value in counts["error_types"].items()]
    width = max(len(name) for name, _ in rows)
    return "\n".join(f"{name.ljust(width)}  {value}" for name, value in rows)
