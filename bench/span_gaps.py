"""Where a referral's time goes between services, from the spans the services exported in a
run of ``bench/referral_flow.py --keep-spans DIR``: for each referral's trace, the request
in intake, each hop's wait for its relay (commit to publish), each hop on the broker
(publish to the next service's processing), and each service's processing. Medians and
p99 over the referrals whose trace is whole.

    uv run python bench/span_gaps.py DIR [--skip N] [--first N]
"""

from __future__ import annotations

import argparse
import gzip
import statistics
from collections import defaultdict
from pathlib import Path
from typing import NamedTuple

from contracts import topics
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.proto.trace.v1.trace_pb2 import Span as ProtoSpan


class Span(NamedTuple):
    service: str
    name: str
    kind: int
    start_ns: int
    end_ns: int


# a referral's path, as its spans name it: (service, kind, a word of the span's name); the
# publishes by the topics' own names, which moved once (issue 25, fourteenth round)
PATH = [
    ("intake", ProtoSpan.SPAN_KIND_SERVER, "referrals"),
    ("intake", ProtoSpan.SPAN_KIND_PRODUCER, topics.SUBMISSIONS),
    ("matching", ProtoSpan.SPAN_KIND_CONSUMER, "referral.submitted"),
    ("matching", ProtoSpan.SPAN_KIND_PRODUCER, topics.PROPOSALS),
    ("oncall", ProtoSpan.SPAN_KIND_CONSUMER, "match.proposed"),
    ("oncall", ProtoSpan.SPAN_KIND_PRODUCER, topics.PAGES),
]
# what lies between two steps of PATH (from the end of one to the start of the next) and
# what each step itself takes (from its start to its end)
BETWEEN = [
    "intake: the request answered, to its relay's publish",
    "the broker: intake's publish, to matching's processing",
    "matching: its processing (one event's share of its transaction)",
    "matching: processed, to its relay's publish",
    "the broker: matching's publish, to oncall's processing",
    "oncall: its processing",
    "oncall: processed, to its relay's publish of the page",
]


def read(directory: Path) -> dict[bytes, list[Span]]:
    traces: dict[bytes, list[Span]] = defaultdict(list)
    for path in sorted(directory.glob("*.pb")):
        body = path.read_bytes()
        if body[:2] == b"\x1f\x8b":
            body = gzip.decompress(body)
        request = ExportTraceServiceRequest.FromString(body)
        for resource_spans in request.resource_spans:
            service = next(
                (a.value.string_value for a in resource_spans.resource.attributes if a.key == "service.name"),
                "?",
            )
            for scope_spans in resource_spans.scope_spans:
                for span in scope_spans.spans:
                    traces[span.trace_id].append(
                        Span(
                            service, span.name, span.kind, span.start_time_unix_nano, span.end_time_unix_nano
                        )
                    )
    return traces


def path_of(spans: list[Span]) -> list[Span] | None:
    """The trace's first span of each step of PATH, in order; None when one is missing."""
    found: list[Span] = []
    for service, kind, word in PATH:
        step = min(
            (s for s in spans if s.service == service and s.kind == kind and word in s.name),
            key=lambda s: s.start_ns,
            default=None,
        )
        if step is None:
            return None
        found.append(step)
    return found


def gaps(path: list[Span]) -> list[float]:
    """BETWEEN's figures for one referral, in ms."""
    request, intake_publish, matching, matching_publish, oncall, oncall_publish = path
    ms = 1e-6
    return [
        (intake_publish.start_ns - request.end_ns) * ms,
        (matching.start_ns - intake_publish.start_ns) * ms,
        (matching.end_ns - matching.start_ns) * ms,
        (matching_publish.start_ns - matching.end_ns) * ms,
        (oncall.start_ns - matching_publish.start_ns) * ms,
        (oncall.end_ns - oncall.start_ns) * ms,
        (oncall_publish.start_ns - oncall.end_ns) * ms,
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("directory", type=Path)
    parser.add_argument(
        "--first", type=int, help="only the first N referrals: a steady run's, when a burst followed it"
    )
    parser.add_argument("--skip", type=int, default=0, help="leave out the first N (the bench's warm-up)")
    args = parser.parse_args()
    traces = read(args.directory)
    paths = sorted(
        (p for p in (path_of(spans) for spans in traces.values()) if p is not None),
        key=lambda p: p[0].start_ns,
    )[args.skip :][: args.first]
    if not paths:
        names = sorted({(s.service, s.kind, s.name) for spans in traces.values() for s in spans})
        raise SystemExit(f"no whole referral among {len(traces)} traces; spans seen: {names[:40]}")
    rows = list(zip(*(gaps(p) for p in paths), strict=True))
    requests = sorted((p[0].end_ns - p[0].start_ns) * 1e-6 for p in paths)
    print(f"{len(paths)} referrals with a whole trace (of {len(traces)} traces)")
    print(f"{'':64}{'median ms':>10}{'p90 ms':>9}{'p99 ms':>9}")
    for label, values in [("intake: the request", requests), *zip(BETWEEN, rows, strict=True)]:
        ordered = sorted(values)
        p90 = ordered[int(0.9 * (len(ordered) - 1))]
        p99 = ordered[int(0.99 * (len(ordered) - 1))]
        print(f"{label:64}{statistics.median(ordered):10.1f}{p90:9.1f}{p99:9.1f}")


if __name__ == "__main__":
    main()
