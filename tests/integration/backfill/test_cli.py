"""``ingestion backfill plan | start | status | cancel`` against the function over HTTP (the
functions-framework instance of test_backfill_function's fixtures): what each prints, its exit
status, and ``--follow`` ending with the summary table of the finished run."""

from __future__ import annotations

import json
import re
import uuid

import pytest

from ingestion.cli import backfill as backfill_cli
from ingestion.cli import main
from ingestion.local.backfill_topology import RAW_SOURCE

from .conftest import HOUR_10, World
from .test_backfill_function import DESTINATION, function, status  # noqa: F401  (fixture)


@pytest.fixture(autouse=True)
def fast_polling(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(backfill_cli, "FOLLOW_SECONDS", 0.3)


def cli(function, *args: str) -> list[str]:  # noqa: F811
    return ["backfill", *args[:1], "--url", f"http://{function.host}", *args[1:]]


def start_args(function, action: str, run_id: str, *extra: str) -> list[str]:  # noqa: F811
    return cli(
        function, action,
        "--source", RAW_SOURCE.name, "--start", HOUR_10["start"], "--end", HOUR_10["end"],
        "--decoded", DESTINATION["decoded"], "--errors", DESTINATION["error"],
        "--chunk-bytes", str(256 << 10), "--run-id", run_id, *extra,
    )  # fmt: skip


def test_plan_prints_the_plan_and_the_estimate_and_starts_nothing(function, capsys) -> None:  # noqa: F811
    run_id = f"cli-plan-{uuid.uuid4().hex[:6]}"
    assert main(start_args(function, "plan", run_id)) == 0
    answer = json.loads(capsys.readouterr().out)
    assert answer["dry_run"] is True and answer["plan"]["objects"] == 2
    assert answer["estimate"]["invocations"] >= answer["plan"]["chunks"] > 2
    assert main(cli(function, "status", run_id)) == 2  # no such run: nothing was written
    assert "answered 404" in capsys.readouterr().err


def test_start_follow_ends_with_the_summary_of_the_finished_run(
    world: World,
    function,  # noqa: F811
    capsys,
) -> None:
    run_id = f"cli-start-{uuid.uuid4().hex[:6]}"
    assert main(start_args(function, "start", run_id, "--follow")) == 0
    out, err = capsys.readouterr()
    assert run_id in err and "chunks" in err  # the progress bar
    table = out.split("\n}\n", 1)[1].strip()  # after the start answer's JSON
    rows = dict(re.split(r"\s{2,}", line.strip(), maxsplit=1) for line in table.splitlines())
    records = sum(len(lines) for name, lines in world.objects.items() if "/10/" in name)
    decoded, errors = world.hour_10
    assert rows["state"] == "done"
    assert rows["records in"] == f"{records:,}"
    assert rows["decoded"] == f"{len(decoded):,}"
    assert rows["errors"] == f"{len(errors):,}"
    # status prints the same run as JSON; status --follow of a finished run just the table.
    assert main(cli(function, "status", run_id)) == 0
    assert json.loads(capsys.readouterr().out)["counts"]["records"] == records
    assert main(cli(function, "status", run_id, "--follow")) == 0
    assert capsys.readouterr().out.strip() == table.strip()


def test_cancel_stops_a_run_and_says_so(function, capsys) -> None:  # noqa: F811
    run_id = f"cli-cancel-{uuid.uuid4().hex[:6]}"
    assert main(start_args(function, "start", run_id)) == 0
    started = json.loads(capsys.readouterr().out)
    assert main(cli(function, "cancel", run_id)) == 0
    answer = json.loads(capsys.readouterr().out)
    assert answer["run_id"] == run_id and answer["state"] == "cancelled"
    assert answer["chunks"]["total"] == started["plan"]["chunks"]
    # Following a cancelled run ends at once, with a failing status and the table.
    assert main(cli(function, "status", run_id, "--follow")) == 1
    assert "cancelled" in capsys.readouterr().out


def test_a_refused_request_is_one_line_on_stderr(function, capsys) -> None:  # noqa: F811
    args = start_args(function, "plan", "Bad Id")
    assert main(args) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("ingestion backfill: backfill function answered 400: run_id")
    assert "\n" not in err
    assert main(["backfill", "status", "x", "--url", ""]) == 2
    assert "BACKFILL_URL" in capsys.readouterr().err
