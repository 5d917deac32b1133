"""Pod IP addresses from 127.1.0.0/16, persisted so a restarted agent never hands out a live IP.

Addresses are handed out round-robin (not lowest-free) so a just-freed address is not reused
at once: the mesh and Prometheus identify pods by IP.
"""

from __future__ import annotations

import ipaddress
import json
import os
import threading
from pathlib import Path

from canary.sandbox.netinfo import listening_addresses, sandbox_offset

NETWORK = ipaddress.ip_network("127.1.0.0/16")


class IPAM:
    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock = threading.Lock()
        self._by_uid: dict[str, str] = {}
        # Each sandbox starts at its own offset so two sandboxes on one machine rarely meet;
        # addresses something already listens on are skipped in any case.
        self._next = 1 + sandbox_offset(path)
        self._load()

    def _load(self) -> None:
        try:
            data = json.loads(self.path.read_text())
        except (OSError, ValueError):
            return
        self._by_uid = {str(k): str(v) for k, v in (data.get("allocations") or {}).items()}
        self._next = int(data.get("next") or 1)

    def _save(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_suffix(f".{os.getpid()}.tmp")
        tmp.write_text(json.dumps({"allocations": self._by_uid, "next": self._next}, indent=1))
        os.replace(tmp, self.path)

    def allocate(self, uid: str, preferred: str | None = None) -> str:
        """The pod's address: its existing one, ``preferred`` if free, else the next free one."""
        with self._lock:
            if uid in self._by_uid:
                return self._by_uid[uid]
            used = set(self._by_uid.values())
            if preferred and preferred not in used and _in_range(preferred):
                ip = preferred
            else:
                ip = self._next_free(used)
            self._by_uid[uid] = ip
            self._save()
            return ip

    def _next_free(self, used: set[str]) -> str:
        size = NETWORK.num_addresses
        busy: set[str] | None = None
        for _ in range(size):
            n = self._next
            self._next = self._next + 1 if self._next + 1 < size - 1 else 1
            if n % 256 in (0, 255):
                continue  # keep .0/.255 out: some tools treat them specially
            ip = str(NETWORK.network_address + n)
            if ip in used:
                continue
            if busy is None:
                busy = listening_addresses()
            if ip not in busy:
                return ip
        raise RuntimeError("pod network 127.1.0.0/16 exhausted")

    def release(self, uid: str) -> None:
        with self._lock:
            if self._by_uid.pop(uid, None) is not None:
                self._save()

    def retain_only(self, uids: set[str]) -> None:
        """Forget allocations of pods that no longer exist (after the first full list)."""
        with self._lock:
            gone = [u for u in self._by_uid if u not in uids]
            for u in gone:
                del self._by_uid[u]
            if gone:
                self._save()

    def allocations(self) -> dict[str, str]:
        with self._lock:
            return dict(self._by_uid)


def _in_range(ip: str) -> bool:
    try:
        return ipaddress.ip_address(ip) in NETWORK
    except ValueError:
        return False
