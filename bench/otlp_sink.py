"""An OTLP/HTTP trace sink for measuring tracing's cost: receives, decodes and counts spans.

    .venv/bin/python bench/otlp_sink.py --port 4318 &
    OTEL_EXPORTER_OTLP_ENDPOINT=http://127.0.0.1:4318 .venv/bin/python bench/transfers.py

It is the receiver the tracing tests use (tests/tracing/otlp.py); it prints the span count on
SIGTERM or SIGINT.
"""

from __future__ import annotations

import argparse
import asyncio
import signal
import sys
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tests.tracing.otlp import OtlpReceiver  # after the path is set


async def serve(port: int) -> None:
    receiver = OtlpReceiver(port=port)
    await receiver.start()
    print(f"receiving OTLP/HTTP on {receiver.endpoint}", flush=True)
    stop = asyncio.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        asyncio.get_running_loop().add_signal_handler(signum, stop.set)
    await stop.wait()
    await receiver.stop()
    by_name = Counter(span.name for span in receiver.spans)
    print(f"spans={len(receiver.spans)} export_requests={receiver.requests}", flush=True)
    print("spans_by_name=" + ",".join(f"{name}:{n}" for name, n in by_name.most_common()))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--port", type=int, default=4318)
    asyncio.run(serve(parser.parse_args().port))


if __name__ == "__main__":
    main()
