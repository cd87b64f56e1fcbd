"""Listening ports for instances started beside the product (tests, benchmarks).

Ports are drawn below the kernel's ephemeral range (32768 and up here): a port
the kernel hands out for outgoing connections may be taken again by the time a
server binds it, which once made a Rasa server fail to start.
"""

from __future__ import annotations

import random
import socket

LISTEN_PORTS = range(20000, 32000)


class PortPicker:
    def __init__(self, ports: range = LISTEN_PORTS, draw: random.Random | None = None):
        self._ports = ports
        self._draw = draw or random.Random()
        self._handed_out: set[int] = set()  # not bound until the instance starts: never hand one out twice

    def free_port(self, consecutive: int = 1) -> int:
        """A port (the first of ``consecutive`` ones: replica i listens on base + i) that nothing listens on."""
        for _ in range(200):
            base = self._draw.randrange(self._ports.start, self._ports.stop - consecutive)
            ports = range(base, base + consecutive)
            if self._handed_out.isdisjoint(ports) and all(_bindable(port) for port in ports):
                self._handed_out.update(ports)
                return base
        raise RuntimeError(f"no {consecutive} free consecutive port(s) in {self._ports}")


def _bindable(port: int) -> bool:
    with socket.socket() as probe:
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True
