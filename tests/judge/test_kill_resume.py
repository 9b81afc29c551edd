"""A judge run SIGKILLed half way resumes from the cache: every item judged, none answered twice."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

from judge_helpers import KEY_ENV

from harness.testing.loopback import LoopbackJudge

Start = Callable[..., LoopbackJudge]
HERE = Path(__file__).resolve().parent
ITEMS = 24

# The judge run as a user would start it, in its own process.
RUN = """
import sys
from pathlib import Path
sys.path.insert(0, sys.argv[3])
from judge_helpers import KEY_ENV, make_items
from harness.judge import JudgeConfig, run_judges
items = [it.model_copy(update={"outputs": {"ft": it.outputs["ft"]}}) for it in make_items(int(sys.argv[4]))]
config = JudgeConfig(name="j", backend="openai", model="judge-model", rubric="helpfulness",
                     base_url=sys.argv[1], api_key_env=KEY_ENV, concurrency=4)
print(run_judges([config], items, cache_path=Path(sys.argv[2]), progress=False).model_dump_json())
"""


def start_run(server: LoopbackJudge, cache: Path) -> subprocess.Popen[str]:
    return subprocess.Popen([sys.executable, "-c", RUN, server.openai_base_url, str(cache), str(HERE),
                             str(ITEMS)], env={**os.environ}, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)


def cached_rows(cache: Path) -> int:
    if not cache.exists():
        return 0
    with sqlite3.connect(cache) as db:
        try:
            return int(db.execute("SELECT COUNT(*) FROM verdicts").fetchone()[0])
        except sqlite3.OperationalError:  # table not created yet
            return 0


def wait_for(condition: Callable[[], bool], timeout_s: float = 60.0) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():
        assert time.monotonic() < deadline, "timed out waiting for the judge run"
        time.sleep(0.02)


def test_sigkill_half_way_then_rerun_pays_for_nothing_twice(loopback: Start, tmp_path: Path,
                                                            fake_key: str) -> None:
    assert os.environ[KEY_ENV] == fake_key
    server = loopback(latency_s=0.02)
    half = ITEMS // 2
    server.hold_after(half)  # answer half the items, then hold the rest unanswered
    cache = tmp_path / "verdicts.db"

    first = start_run(server, cache)
    # Killed once half the verdicts are persisted and more requests are in flight (held).
    wait_for(lambda: cached_rows(cache) == half and "held" in server.outcomes)
    first.send_signal(signal.SIGKILL)
    first.communicate(timeout=30)
    assert first.returncode == -signal.SIGKILL
    assert server.answered_count == half
    held_items = {seen.item for seen, outcome in server.exchanges() if outcome == "held"}

    server.hold_after(None)
    second = start_run(server, cache)
    out, err = second.communicate(timeout=120)
    assert second.returncode == 0, err
    run = json.loads(out.strip().splitlines()[-1])["runs"][0]

    assert len(run["verdicts"]) == ITEMS and all(v["status"] == "ok" for v in run["verdicts"])
    assert run["cache_hits"] == half and run["requests"] == ITEMS - half
    answered = server.answered_per_item()
    assert sorted(answered) == sorted(str(i) for i in range(ITEMS))
    assert set(answered.values()) == {1}  # no item answered (paid for) twice across both runs
    # Only the requests held unanswered at the kill were ever sent again.
    resent = {item for item, n in server.received_per_item().items() if n > 1}
    assert resent == held_items and len(held_items) <= 4
