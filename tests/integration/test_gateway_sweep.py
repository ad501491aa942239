"""The connection sweep (gateway/connections.c) keeps its 250 ms period
however many connections arrive.  Each new connection used to activate the
periodic timer itself, which libevent reschedules from its previous
deadline: a burst of N connections pushed the next sweep N x 250 ms away, so
read_timeout, the idle heap trim and the release of closed connections'
buffers (3.4 MiB DescribeInstances bodies each at 1,000 instances) waited
minutes."""
import socket
import time

from conftest import make_gateway


def test_read_timeout_holds_after_a_burst_of_connections():
    g = make_gateway(extra_gateway="read_timeout = 2\n")
    try:
        for _ in range(200):  # 200 x 250 ms = 50 s of drift before the fix
            socket.create_connection(("127.0.0.1", g.port), timeout=5).close()
        time.sleep(0.5)
        idle = socket.create_connection(("127.0.0.1", g.port), timeout=10)
        t0 = time.monotonic()
        try:
            got = idle.recv(1)  # b"" once the gateway closes it
        except ConnectionResetError:
            got = b""
        waited = time.monotonic() - t0
        idle.close()
        assert got == b"" and waited < 6.0, waited
        assert "no complete request within read_timeout" in g.log_text()
    finally:
        assert g.stop() == 0, g.log_text()
