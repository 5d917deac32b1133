"""Service ClusterIPs (127.100.0.0/16) and the dns.json the rest of the sandbox resolves with.

Allocations live in the Service objects themselves, so they persist with the store.
"""

from __future__ import annotations

import ipaddress
import json
import os
import threading
from pathlib import Path
from typing import Any

from canary.sandbox.netinfo import listening_addresses, sandbox_offset

from . import errors

Obj = dict[str, Any]

_NET = ipaddress.ip_network("127.100.0.0/16")
_FIRST = int(_NET.network_address) + 1
_LAST = int(_NET.broadcast_address) - 1


class ServiceAddresses:
    def __init__(self, dns_file: Path) -> None:
        self.dns_file = dns_file
        self._lock = threading.Lock()
        self._used: set[int] = set()
        # start at a per-sandbox offset and skip addresses something listens on: two sandboxes
        # on one machine must not hand out the same ClusterIP (their meshes would clash)
        self._start = _FIRST + sandbox_offset(dns_file.parent, _LAST - _FIRST - 1024)
        self._next = self._start

    def load(self, services: list[Obj]) -> None:
        with self._lock:
            self._used = {int(ipaddress.ip_address(ip)) for ip in map(_ip_of, services) if ip}
            self._next = max(self._used, default=self._start - 1) + 1
        self._write_dns(services)

    def allocate(self, svc: Obj) -> None:
        spec = svc.setdefault("spec", {})
        if spec.get("type") == "ExternalName":
            return
        want = spec.get("clusterIP") or (spec.get("clusterIPs") or [None])[0]
        if want == "None":
            spec["clusterIP"] = "None"
            spec["clusterIPs"] = ["None"]
            return
        with self._lock:
            if want:
                try:
                    n = int(ipaddress.ip_address(want))
                except ValueError:
                    n = -1
                if n < _FIRST or n > _LAST:
                    raise errors.invalid("Service", "", svc["metadata"].get("name", ""), [
                        errors.invalid_value("spec.clusterIPs[0]", want,
                                             f"provided IP is not in the valid range. The range "
                                             f"of valid IPs is {_NET}")])
                if n in self._used:
                    raise errors.invalid("Service", "", svc["metadata"].get("name", ""), [
                        errors.invalid_value("spec.clusterIPs[0]", want,
                                             "provided IP is already allocated")])
            else:
                n = self._free()
            self._used.add(n)
        ip = str(ipaddress.ip_address(n))
        spec["clusterIP"] = ip
        spec["clusterIPs"] = [ip]

    def _free(self) -> int:
        busy = {int(ipaddress.ip_address(a)) for a in listening_addresses()
                if a.startswith("127.")}
        for _ in range(_LAST - _FIRST + 1):
            n = self._next
            self._next = n + 1 if n < _LAST else _FIRST
            if n not in self._used and n not in busy:
                return n
        raise errors.ApiException(500, "InternalError", "no free ClusterIP in " + str(_NET))

    def keep(self, cur: Obj, new: Obj) -> None:
        """ClusterIP is immutable: an update without one keeps the old one."""
        old_ip = _ip_of(cur)
        spec = new.setdefault("spec", {})
        if spec.get("clusterIP") in (None, "") and old_ip:
            spec["clusterIP"] = old_ip
            spec["clusterIPs"] = [old_ip]
        elif old_ip and spec.get("clusterIP") != old_ip:
            raise errors.invalid("Service", "", new["metadata"].get("name", ""), [
                errors.invalid_value("spec.clusterIPs[0]", spec.get("clusterIP"),
                                     "may not change once set")])
        elif cur.get("spec", {}).get("clusterIP") == "None":
            spec["clusterIPs"] = ["None"]

    def changed(self, services: list[Obj]) -> None:
        """Called after every Service change with all Services."""
        with self._lock:
            self._used = {int(ipaddress.ip_address(ip)) for ip in map(_ip_of, services) if ip}
        self._write_dns(services)

    def _write_dns(self, services: list[Obj]) -> None:
        entries: dict[str, str] = {}
        for svc in services:
            md = svc.get("metadata") or {}
            ip = (svc.get("spec") or {}).get("clusterIP")
            if not ip or ip == "None":
                continue
            base = f"{md.get('name')}.{md.get('namespace')}"
            for name in (f"{base}.svc.cluster.local", f"{base}.svc", base):
                entries[name] = ip
        self.dns_file.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.dns_file.with_suffix(f".{os.getpid()}.tmp")
        tmp.write_text(json.dumps(entries, indent=2, sort_keys=True))
        os.replace(tmp, self.dns_file)


def _ip_of(svc: Obj) -> str | None:
    ip = (svc.get("spec") or {}).get("clusterIP")
    if not ip or ip == "None":
        return None
    try:
        n = int(ipaddress.ip_address(ip))
    except ValueError:
        return None
    return ip if _FIRST <= n <= _LAST else None
