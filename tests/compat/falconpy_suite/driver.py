"""Inside ``unshare -n``: start the emulator, run FalconPy's HEC tests on hecnb, write a summary.

Started by ``tests/compat/test_falconpy_suite.py`` as ``python driver.py RUN_DIR JUNIT SUMMARY`` in
a network namespace with only loopback, so nothing the tests do can leave the machine (they build
clients for real host names). The emulator stands in for the tenant: its key is FalconPy's
``DEBUG_NGSIEM_API_KEY``, so the tests that need a tenant run too, and ``NGSIEM_INGEST_URL`` sends
every client the file builds to it (hecnb's documented rule: the environment URL wins over URL key
and region). Clients with FalconPy's made-up keys (``fake_key``) get its 403, as a real tenant would
answer them."""

from __future__ import annotations

import json
import os
import secrets
import socket
import sys


def main(run_dir: str, junit: str, summary: str) -> int:
    interfaces = sorted(name for _, name in socket.if_nameindex())  # of this namespace
    sys.path.insert(0, os.path.join(run_dir, "src"))  # the pinned sdist's falconpy, not any other
    import falconpy
    import pytest

    import hecnb
    from hecnb.emulator import Emulator

    key = secrets.token_hex(16)
    for var in [v for v in os.environ if v.startswith(("NGSIEM_", "DEBUG_"))]:
        del os.environ[var]
    with Emulator(api_key=key) as emu:
        os.environ.update(DEBUG_NGSIEM_API_KEY=key, DEBUG_NGSIEM_URL_KEY="hecnbemulator",
                          NGSIEM_INGEST_URL=emu.url)
        os.chdir(run_dir)  # FalconPy's tests open tests/5records.raw relative to the sdist root
        code = pytest.main(["-q", "-rA", "-p", "no:cacheprovider", "--timeout=120",
                            f"--junitxml={junit}", "-o", "junit_family=xunit2",
                            "tests/test_hec.py"])
        stats = emu.stats
        events = emu.events
    module = sys.modules.get("test_hec")  # FalconPy's test module, as pytest imported it
    names = ("HTTPEventCollector", "IngestConfig", "IngestFormat", "IngestPayload",
             "SessionManager", "TimeUnit")
    hecnb_names = sorted(n for n in names if getattr(module, n, None) is getattr(hecnb, n))
    with open(summary, "w", encoding="utf-8") as out:
        json.dump({"exit_code": int(code), "interfaces": interfaces,
                   "hecnb": hecnb.__file__, "falconpy": falconpy.__file__,
                   "hecnb_names": hecnb_names,
                   "falconpy_version": falconpy.__version__,
                   "emulator": {"requests": stats["requests"], "events": stats["events"],
                                "status_counts": {str(k): v for k, v in
                                                  stats["status_counts"].items()}},
                   "raw_events": sum(1 for e in events if "raw" in e)}, out)
    return 0


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:4]))
