"""A stand-in box process: a reporter publishing a stream of events, for crash tests.

    python -m tests.edge.mqtt.box_process SITE_JSON DATA_DIR START COUNT INTERVAL_S

Prints ``committed <event id>`` after each event is durably queued, then ``drained`` once the
outbox is empty; then waits until killed or stdin closes.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

from edge.config.site import SiteConfig
from edge.mqtt.reporter import Reporter
from tests.edge.mqtt.builders import make_event


def main(argv: list[str]) -> int:
    site_json, data_dir, start, count, interval = argv
    site = SiteConfig.model_validate(json.loads(Path(site_json).read_text()))
    reporter = Reporter.from_config(site, Path(data_dir))
    reporter.start()
    for n in range(int(start), int(start) + int(count)):
        event = make_event(n)
        if reporter.report_event(event):
            print(f"committed {event.event_id}", flush=True)
        time.sleep(float(interval))
    while reporter.outbox_depth:
        time.sleep(0.05)
    print("drained", flush=True)
    sys.stdin.read()  # until the test closes our stdin (or kills us)
    reporter.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
