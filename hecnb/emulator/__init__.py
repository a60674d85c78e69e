"""A local emulator of the NG-SIEM HTTP Event Collector, for the demo, notebooks and tests.

It speaks the wire protocol of ``docs/hec-protocol.md`` on a loopback address: the event and raw
routes, Bearer/Splunk auth, gzip, the body limit, Splunk-style answers, and injectable faults
(503, 429 with Retry-After, dropped connections, delays). It keeps what it received so a test can
check that every event arrived exactly once, and it is fast enough never to be the bottleneck.

It needs only the standard library, orjson and PyYAML, and imports nothing else from hecnb, so it
can serve users' own tests too.

Example::

    from hecnb.emulator import Emulator, Faults

    with Emulator(api_key="secret", faults=Faults(error_503_rate=0.1, seed=1)) as emu:
        ...  # send to emu.url with "Authorization: Bearer secret"
        assert emu.wait_for(1000)
        print(emu.stats["status_counts"])

Inside: ``server`` (the emulator, its routes and answers), ``decode`` (bodies to events),
``faults`` (the knobs), ``http`` (the threading server under it).
"""

from .faults import Faults, parse_rate
from .server import EVENT_PATHS, HEALTH_PATH, RAW_PATHS, STATS_PATH, Emulator, serve

__all__ = ["EVENT_PATHS", "HEALTH_PATH", "RAW_PATHS", "STATS_PATH", "Emulator", "Faults",
           "parse_rate", "serve"]
