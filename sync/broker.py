"""Start and stop a real Mosquitto broker on a free port, for the tests, benchmarks and demo."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from pathlib import Path

BROKER_CONF = """\
listener {port} 127.0.0.1
{listener_options}
allow_anonymous true
persistence {persistence}
persistence_location {data_dir}/
autosave_interval 1
max_queued_messages 200000
max_inflight_messages 100
max_packet_size 16777216
log_dest file {data_dir}/mosquitto.log
log_type error
log_type warning
{user_line}
"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def mosquitto_binary() -> str | None:
    """``STORE_EDGE_MOSQUITTO`` names a broker installed elsewhere; else PATH and the usual places."""
    named = os.environ.get("STORE_EDGE_MOSQUITTO")
    if named is not None:
        return named if os.access(named, os.X_OK) else None
    return shutil.which("mosquitto") or next(
        (p for p in ("/usr/sbin/mosquitto", "/usr/local/sbin/mosquitto") if Path(p).exists()), None
    )


class Mosquitto:
    """One broker process; kill() and start() again keep the port and the persistence folder."""

    def __init__(self, port: int | None = None, *, data_dir: str | Path | None = None, persistence: bool = True,
                 listener_options: str = ""):
        """``listener_options``: extra lines for the listener, e.g. TLS files and require_certificate."""
        binary = mosquitto_binary()
        if binary is None:
            raise RuntimeError("mosquitto is not installed: apt-get install -y mosquitto mosquitto-clients")
        self.binary = binary
        self.port = port or free_port()
        self._tmp = None if data_dir else tempfile.TemporaryDirectory(prefix="se-broker-")
        self.data_dir = Path(data_dir or self._tmp.name)
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self.conf = self.data_dir / "mosquitto.conf"
        self.conf.write_text(BROKER_CONF.format(port=self.port, data_dir=self.data_dir,
                                                listener_options=listener_options,
                                                persistence="true" if persistence else "false",
                                                # As root, mosquitto would drop to the 'mosquitto' user and
                                                # then could not write its store in our folder.
                                                user_line="user root" if os.geteuid() == 0 else ""))
        self.proc: subprocess.Popen | None = None

    def start(self, timeout: float = 10.0) -> Mosquitto:
        self.proc = subprocess.Popen([self.binary, "-c", str(self.conf)], stdout=subprocess.DEVNULL,
                                     stderr=subprocess.PIPE)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"mosquitto exited: {self.proc.stderr.read().decode(errors='replace')}")
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.2).close()
                return self
            except OSError:
                time.sleep(0.05)
        raise RuntimeError(f"mosquitto did not listen on port {self.port} within {timeout}s")

    def kill(self, sig: int = signal.SIGKILL) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(sig)
            self.proc.wait(10)

    def stop(self) -> None:
        self.kill(signal.SIGTERM)
        if self._tmp:
            self._tmp.cleanup()

    def __enter__(self) -> Mosquitto:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
