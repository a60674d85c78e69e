"""FalconPy's own HEC tests, run against hecnb: the drop-in claim, checked on every run.

At test time (nothing of FalconPy is stored in this repository) FalconPy's sdist is downloaded
from PyPI with pip; its ``tests/test_hec.py``, the data files that test reads and its
``src/falconpy`` (for the console helpers the test imports, ``random_string`` and ``Indicator``)
are extracted into a temporary directory, with ``falconpy_suite/shim_conftest.py`` as the
conftest that points FalconPy's HEC names at hecnb's. One subprocess then runs
``falconpy_suite/driver.py`` inside ``unshare -n``, a network namespace with only loopback
(FalconPy's tests build clients for real host names; nothing may leave the machine): it starts
hecnb's emulator as the tenant and runs the file with pytest.

FalconPy's four tests that need a tenant run too: the emulator's key is FalconPy's
``DEBUG_NGSIEM_API_KEY`` and ``NGSIEM_INGEST_URL`` points every client the file builds at it
(clients with FalconPy's made-up keys get the 403 a tenant gives them). So every test of the file
must pass, except the deliberate differences in ``DIFFERENCES``, which must fail, each for its
stated reason: a listed test that starts passing, or fails for another reason, or an unlisted
test that fails, fails here. README.md ("Migrating from FalconPy") lists the same differences.

Outside CI a machine without PyPI access or without ``unshare``/``ip`` skips with the reason;
with ``CI=true`` that is a failure.
"""

from __future__ import annotations

import gzip
import json
import os
import re
import shutil
import subprocess
import sys
import tarfile
from dataclasses import dataclass
from pathlib import Path
from xml.etree import ElementTree

import pytest
from conftest import in_ci

import hecnb

FALCONPY_VERSION = "1.6.6"
HERE = Path(__file__).resolve().parent
SUITE = HERE / "falconpy_suite"
REPO = HERE.parent
DATA_FILES = ("tests/5records.raw", "tests/100thousand.raw.gz")

# FalconPy test -> (what its failure message must match, why hecnb differs on purpose).
# Keep this list short: every entry is a difference the README's migration section names.
UNKNOWN_FORMAT = ("Unknown ingest_format: hecnb refuses a format it does not know with a "
                  "ConfigError (FalconPy silently sends json from the constructor, and the "
                  "unknown name itself as the Content-Type from the setter)")
NOT_A_HOST = ("URL key (or base URL) that cannot be a host name: refused with a ConfigError, "
              "because in a URL it would send the API key elsewhere ('7334$@' makes '7334$' a "
              "user name and '.ingest.us-1.crowdstrike.com' the host)")
MOCKS_REQUESTS = ("Mocks requests.Session.post: hecnb sends with httpx and never calls it, so "
                  "the request reaches the emulator, which refuses the made-up key 'k'")
DIFFERENCES: dict[str, tuple[str, str]] = {
    # (it goes on to set ingest_base_url to random_string(10, include_specials=True), which
    # hecnb refuses too unless it happens to be a host name: see NOT_A_HOST)
    "TestHTTPEventCollector::test_fail_connection": (
        r"ConfigError: Unknown ingest_format 'not_a_real_format'", UNKNOWN_FORMAT),
    "TestHTTPEventCollector::test_subclasses": (
        r"ConfigError: Unknown ingest_format 'banana'", UNKNOWN_FORMAT),
    "TestHTTPEventCollector::test_failures": (
        r"ConfigError: api_url_key '7334\$@' is not a URL key", NOT_A_HOST),
    "TestHECCoverage::test_hec_retry_ssl_error": (
        # a whole URL is accepted as api_url_key; this one's scheme is neither http nor https
        r"ConfigError: api_url_key 'bad://invalid_url' is a URL, but not an HEC API URL: "
        r"ingest_url must start with https:// \(got scheme 'bad'\)", NOT_A_HOST),
    "TestHECCoverage::test_hec_retry_timeout": (
        r"^assert (0|403) == 500$",
        "No answer is status 0, not 500: FalconPy reports a request that got no HTTP answer as "
        "500 (here: the made-up host never answers it); hecnb returns 0 (a real 500 stays "
        "500) with the reason in last_message. In this run hecnb's client reaches the emulator "
        "(NGSIEM_INGEST_URL), which may answer the made-up key within the test's 1 ms (403)"),
    "TestHECMockedCoverage::test_hec_send_event_success": (r"^assert 403 == 200$",
                                                           MOCKS_REQUESTS),
    "TestHECMockedCoverage::test_hec_test_connection_success": (r"^AssertionError: assert False "
                                                                r"is True", MOCKS_REQUESTS),
    "TestHECMockedCoverage::test_hec_process_list_success": (r"^assert 0 == 2$", MOCKS_REQUESTS),
    "TestHECMockedCoverage::test_hec_process_list_with_progress_success": (r"^assert 0 == 2$",
                                                                           MOCKS_REQUESTS),
    "TestHECMockedCoverage::test_hec_send_event_file_success": (r"^assert 403 == 200$",
                                                                MOCKS_REQUESTS),
}
# FalconPy's tests that need a tenant (skipped there without one); here the emulator is it.
TENANT_TESTS = ("TestHTTPEventCollector::test_connection",
                "TestHTTPEventCollector::test_simple_ingest",
                "TestHTTPEventCollector::test_list_ingest",
                "TestHTTPEventCollector::test_raw_ingest")


@dataclass
class SuiteRun:
    """What the run left: per-test ``(outcome, message)``, the driver's summary, its output."""

    outcomes: dict[str, tuple[str, str]]
    summary: dict[str, object]
    output: str
    run_dir: Path


def _unavailable(reason: str) -> None:
    """Skip outside CI; in CI the compatibility run must happen, so fail."""
    if in_ci():
        pytest.fail(f"FalconPy compatibility run impossible in CI: {reason}")
    pytest.skip(reason)


def _download(dest: Path) -> Path:
    cmd = [sys.executable, "-m", "pip", "download", "--no-binary", ":all:", "--no-deps",
           "--disable-pip-version-check", "--quiet", f"crowdstrike-falconpy=={FALCONPY_VERSION}",
           "-d", str(dest)]
    try:
        done = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
    except subprocess.TimeoutExpired:
        _unavailable("pip download of FalconPy's sdist timed out after 300 s")
    sdists = sorted(dest.glob("crowdstrike_falconpy-*.tar.gz"))
    if done.returncode != 0 or not sdists:
        tail = (done.stderr or done.stdout).strip().splitlines()[-3:]
        _unavailable(f"cannot download FalconPy {FALCONPY_VERSION}'s sdist from PyPI: "
                     f"{' / '.join(tail) or 'no sdist'}")
    return sdists[0]


def _extract(sdist: Path, run_dir: Path) -> None:
    """Only FalconPy's HEC test, its data files and ``src/falconpy``, as plain files."""
    top = f"crowdstrike_falconpy-{FALCONPY_VERSION}/"
    with tarfile.open(sdist) as tar:
        for member in tar.getmembers():
            name = member.name.removeprefix(top)
            wanted = name in ("tests/test_hec.py", *DATA_FILES) or name.startswith(
                "src/falconpy/")
            if not (wanted and member.isfile() and member.name.startswith(top)):
                continue
            parts = Path(name).parts
            if ".." in parts or Path(name).is_absolute():
                raise AssertionError(f"unexpected path in FalconPy's sdist: {member.name!r}")
            target = run_dir / name
            target.parent.mkdir(parents=True, exist_ok=True)
            source = tar.extractfile(member)
            assert source is not None
            target.write_bytes(source.read())
    if not (run_dir / "tests" / "test_hec.py").is_file():
        raise AssertionError(f"{sdist.name} has no tests/test_hec.py any more")
    shutil.copyfile(SUITE / "shim_conftest.py", run_dir / "tests" / "conftest.py")
    (run_dir / "pytest.ini").write_text("[pytest]\n")  # none of this repository's settings


def _namespace_prefix() -> list[str]:
    """The command that runs the rest in a new network namespace with loopback up."""
    unshare, ip = shutil.which("unshare"), shutil.which("ip")
    if unshare is None or ip is None:
        _unavailable("`unshare` (util-linux) and `ip` (iproute2) are needed to run FalconPy's "
                     "tests without network access; install them")
    assert unshare is not None and ip is not None
    errors = []
    for flags in (["-n"], ["-r", "-n"]):  # as root; else in a user namespace
        prefix = [unshare, *flags, "sh", "-c", f'"{ip}" link set lo up && exec "$@"', "sh"]
        probe = subprocess.run([*prefix, "true"], capture_output=True, text=True, timeout=60)
        if probe.returncode == 0:
            return prefix
        errors.append(probe.stderr.strip())
    _unavailable(f"cannot make a network namespace with `unshare -n`: {errors[-1]}")
    raise AssertionError  # unreachable


def _outcomes(junit: Path) -> dict[str, tuple[str, str]]:
    found: dict[str, tuple[str, str]] = {}
    for case in ElementTree.parse(junit).getroot().iter("testcase"):
        test_id = f"{case.get('classname', '').split('.')[-1]}::{case.get('name')}"
        outcome, message = "passed", ""
        for child in case:
            if child.tag in ("failure", "error", "skipped"):
                outcome = {"failure": "failed"}.get(child.tag, child.tag)
                message = child.get("message") or ""
        found[test_id] = (outcome, message)
    return found


@pytest.fixture(scope="module")
def suite(tmp_path_factory: pytest.TempPathFactory) -> SuiteRun:
    base = tmp_path_factory.mktemp("falconpy-suite")
    prefix = _namespace_prefix()
    run_dir = base / f"falconpy-{FALCONPY_VERSION}"
    _extract(_download(base / "download"), run_dir)
    junit, summary = base / "junit.xml", base / "summary.json"
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(REPO), *filter(None, [env.get("PYTHONPATH")])])
    done = subprocess.run([*prefix, sys.executable, str(SUITE / "driver.py"), str(run_dir),
                           str(junit), str(summary)], env=env, capture_output=True, text=True,
                          timeout=900)
    output = done.stdout + done.stderr
    assert done.returncode == 0 and junit.is_file() and summary.is_file(), output[-4000:]
    return SuiteRun(_outcomes(junit), json.loads(summary.read_text()), output, run_dir)


def test_the_run_was_offline_on_hecnb_with_the_pinned_falconpy(suite: SuiteRun) -> None:
    s = suite.summary
    assert s["interfaces"] == ["lo"]  # nothing could leave the machine
    assert Path(str(s["hecnb"])).resolve() == Path(hecnb.__file__).resolve()
    assert s["falconpy_version"] == FALCONPY_VERSION
    assert Path(str(s["falconpy"])).resolve().is_relative_to(suite.run_dir.resolve())
    # FalconPy's test module imported hecnb's HEC names, none of FalconPy's own
    assert s["hecnb_names"] == ["HTTPEventCollector", "IngestConfig", "IngestFormat",
                                "IngestPayload", "SessionManager", "TimeUnit"]


def test_the_tenant_tests_delivered_everything_to_the_emulator(suite: SuiteRun) -> None:
    """test_raw_ingest sends both data files through the raw endpoint: every line arrived."""
    lines = 0
    for name in DATA_FILES:
        path = suite.run_dir / name
        opener = gzip.open if name.endswith(".gz") else open
        with opener(path, "rt", encoding="utf-8") as handle:
            lines += sum(1 for line in handle if line.strip())
    assert lines > 100_000
    assert suite.summary["raw_events"] == lines
    for test_id in TENANT_TESTS:
        assert suite.outcomes.get(test_id, ("missing", ""))[0] == "passed", test_id


def test_every_unlisted_falconpy_test_passes(suite: SuiteRun) -> None:
    assert len(suite.outcomes) >= 30, sorted(suite.outcomes)  # the file was collected whole
    missing = [t for t in (*DIFFERENCES, *TENANT_TESTS) if t not in suite.outcomes]
    assert not missing, f"FalconPy's test file no longer has {missing}: update the lists"
    bad = {t: o for t, o in suite.outcomes.items() if t not in DIFFERENCES and o[0] != "passed"}
    assert not bad, f"FalconPy tests that fail on hecnb and are not a listed difference: {bad}"


@pytest.mark.parametrize("test_id", sorted(DIFFERENCES))
def test_listed_difference_still_fails_for_its_reason(suite: SuiteRun, test_id: str) -> None:
    pattern, why = DIFFERENCES[test_id]
    outcome, message = suite.outcomes[test_id]
    assert outcome == "failed", (
        f"{test_id} now {outcome}: it is listed as a deliberate difference ({why}); if hecnb "
        "changed on purpose, remove it from DIFFERENCES and from README.md")
    assert re.search(pattern, message), (
        f"{test_id} fails for another reason than the listed one ({why}):\n{message}")
