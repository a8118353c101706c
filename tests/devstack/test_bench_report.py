"""`make bench`'s report: the system table from a benchmark's RESULT line, and the hand-written part kept."""

import json
from datetime import UTC, datetime
from pathlib import Path

from devstack.bench import KEPT, Outcome, kept_part, report

RESULT = {"items": 10000, "answered_s": 2.0, "dunning_s": 9.0, "indicators_s": 12.0, "system_s": 12.0,
          "write_s": 1.0, "publish_s": 1.0, "floor_s": 2.0, "ratio": 6.0, "target_ratio": 3.0,
          "infrastructure": "local"}


def test_the_report_puts_the_system_figure_beside_its_floor_and_keeps_the_hand_written_part(tmp_path: Path) -> None:
    existing = tmp_path / "benchmarks.md"
    existing.write_text(f"# Old\n\ngenerated text\n\n{KEPT}\n## Two servers\n\n| a | b |\n")
    system = Outcome("system_qualify.py", ["benchmarks/system_qualify.py"], 40.0, 0,
                     "infrastructure: local (Kafka x; DB y)\nsystem: 12 s\nRESULT " + json.dumps(RESULT))
    failed = Outcome("mailer_throughput.py", ["benchmarks/mailer_throughput.py"], 1200.0, None,
                     "portfolio:\n  loaded 5,000 items (10/s)\n  loaded 10,000 items (9/s)\nmedian 3 ms")

    text = report([system, failed], kept_part(existing), datetime(2026, 12, 6, tzinfo=UTC))

    assert "| **both reflect it** | **12.00** | 2.00 (write 1.00 + publish 1.00) | **6.0×** |" in text
    assert "**not met** (6.0×)" in text and "10 000 items" in text
    assert "broker and database: local (Kafka x; DB y)" in text
    assert "`benchmarks/mailer_throughput.py` (1200 s, stopped after" in text
    assert "portfolio:\n  loaded 10,000 items (9/s)\nmedian 3 ms" in text  # progress: only its last line
    assert "generated text" not in text
    assert text.endswith(f"{KEPT}\n## Two servers\n\n| a | b |\n")
