"""Realistic sample security events for the demo, the notebooks and the benchmarks.

sshd / sudo authentication events of a small fleet: brute-force bursts from a few addresses,
password sprays, accepted logins, sudo use. Addresses come from the documentation ranges
(RFC 5737) and private space, so nothing here points at a real host.
"""

from __future__ import annotations

import random
from datetime import datetime, timedelta, timezone
from typing import Any

__all__ = ["auth_events"]

_HOSTS = [f"{role}-{n:02d}" for role in ("web", "db", "bastion", "app") for n in range(1, 7)]
_USERS = ["alice", "bob", "carol", "dave", "erin", "frank", "grace", "heidi", "ivan", "judy",
          "mallory", "oscar", "peggy", "trent", "victor", "walter", "svc_backup", "deploy"]
_INVALID = ["admin", "root", "test", "oracle", "postgres", "ubuntu", "guest", "user", "pi",
            "ftpuser", "support", "git"]
_ATTACKERS = [f"203.0.113.{n}" for n in (7, 23, 45, 66, 99, 120, 201)] + [
    f"198.51.100.{n}" for n in (14, 38, 77, 150)]


def auth_events(n: int = 50_000, *, seed: int = 7,
                start: datetime | None = None) -> list[dict[str, Any]]:
    """``n`` authentication events as dicts, each with a unique ``event_id``.

    >>> evs = auth_events(3)
    >>> sorted(evs[0])[:4]
    ['action', 'app', 'auth_method', 'dest_host']
    """
    rng = random.Random(seed)
    t = start or datetime(2026, 11, 2, 8, 0, tzinfo=timezone.utc)
    out: list[dict[str, Any]] = []
    internal = [f"10.20.{rng.randrange(1, 40)}.{rng.randrange(2, 250)}" for _ in range(60)]
    for i in range(n):
        t += timedelta(milliseconds=rng.randrange(1, 400))
        host = rng.choice(_HOSTS)
        pid = rng.randrange(1000, 65000)
        roll = rng.random()
        if roll < 0.55:  # brute force / spray from outside
            src = rng.choice(_ATTACKERS)
            invalid = rng.random() < 0.5
            user = rng.choice(_INVALID if invalid else _USERS)
            port = rng.randrange(1024, 65535)
            action, outcome, method = "login", "failure", "password"
            prefix = "invalid user " if invalid else ""
            msg = f"Failed password for {prefix}{user} from {src} port {port} ssh2"
            app = "sshd"
        elif roll < 0.85:  # normal logins
            src = rng.choice(internal)
            user = rng.choice(_USERS)
            port = rng.randrange(1024, 65535)
            method = rng.choice(["publickey", "publickey", "password"])
            action, outcome, app = "login", "success", "sshd"
            msg = f"Accepted {method} for {user} from {src} port {port} ssh2"
        elif roll < 0.95:  # sudo
            src, port, method = None, None, None
            user = rng.choice(_USERS)
            cmd = rng.choice(["/usr/bin/systemctl restart nginx", "/usr/bin/apt-get update",
                              "/bin/cat /etc/shadow", "/usr/bin/journalctl -u sshd"])
            action, outcome, app = "sudo", "success", "sudo"
            msg = f"{user} : TTY=pts/{rng.randrange(0, 5)} ; PWD=/home/{user} ; USER=root ; " \
                  f"COMMAND={cmd}"
        else:  # session close
            src, port, method = None, None, None
            user = rng.choice(_USERS)
            action, outcome, app = "logout", "success", "sshd"
            msg = f"pam_unix(sshd:session): session closed for user {user}"
        out.append({
            "event_id": f"demo-{seed}-{i:08d}",
            "@timestamp": t.isoformat(timespec="milliseconds"),
            "dest_host": host,
            "app": app,
            "pid": pid,
            "action": action,
            "outcome": outcome,
            "user": user,
            "src_ip": src,
            "src_port": port,
            "auth_method": method,
            "message": msg,
        })
    return out
