"""sd_notify speaks systemd's datagram protocol; a real socket plays systemd here."""

import socket

from sync.sdnotify import Notifier


def test_messages_reach_the_notify_socket(tmp_path):
    path = str(tmp_path / "notify")
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as server:
        server.bind(path)
        server.settimeout(2)
        n = Notifier(path)
        assert n.ready("cache open") and n.watchdog() and n.stopping()
        assert [server.recv(256) for _ in range(3)] == [b"READY=1\nSTATUS=cache open", b"WATCHDOG=1", b"STOPPING=1"]


def test_outside_systemd_every_call_is_a_no_op(monkeypatch):
    monkeypatch.delenv("NOTIFY_SOCKET", raising=False)
    n = Notifier()
    assert not n.enabled and not n.watchdog()


def test_watchdog_interval_is_half_of_watchdog_sec(monkeypatch):
    monkeypatch.setenv("WATCHDOG_USEC", "20000000")
    monkeypatch.delenv("WATCHDOG_PID", raising=False)
    assert Notifier("x").watchdog_interval_s() == 10.0
    monkeypatch.setenv("WATCHDOG_PID", "1")
    assert Notifier("x").watchdog_interval_s() is None


def test_a_full_notify_queue_drops_the_message_instead_of_blocking(tmp_path):
    """Nobody reads the socket (systemd busy, or a test that stopped draining): the UI loop's pings must not
    block on it. Before this, the sender blocked in sendto() once the receiver's queue was full."""
    path = tmp_path / "notify.sock"
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sock:
        sock.bind(str(path))
        notifier = Notifier(str(path))
        sent = [notifier.watchdog() for _ in range(5000)]  # far beyond any queue length; returns, never hangs
        assert sent[0] and not all(sent)
        sock.setblocking(False)
        assert sock.recv(64) == b"WATCHDOG=1"
