#!/usr/bin/env python3
"""Decodes the committed qatd event files with the real TensorBoard reader and saves what it saw.

tests/fixtures/train/events.qatd.tfevents (a fresh run, steps 1-4) and events.qatd.tfevents.resumed
(a run resumed after step 2) are written by qatd's TensorBoardWriter: run
`qatd_tests "[regenerate_tensorboard_fixture]"` first. This script reads them with TensorBoard's own
record reader (which checks both CRCs of every record) and its EventAccumulator (which applies the
restart rules that merge the two files), and writes tests/fixtures/train/events_decoded.json for
tests/train/test_tensorboard.cpp to compare against.

Usage: .venv-torch/bin/python tools/make_tensorboard_fixture.py
"""
import json
import pathlib

import tensorboard
from tensorboard.backend.event_processing import event_accumulator, event_file_loader

FIXTURES = pathlib.Path(__file__).resolve().parent.parent / "tests" / "fixtures" / "train"
FILES = ["events.qatd.tfevents", "events.qatd.tfevents.resumed"]


def histogram_fields(histo):
    return {
        "min": histo.min,
        "max": histo.max,
        "num": histo.num,
        "sum": histo.sum,
        "sum_squares": histo.sum_squares,
        "bucket_limit": list(histo.bucket_limit),
        "bucket": list(histo.bucket),
    }


def raw_events(path):
    """Every record as an Event proto, without TensorBoard's compat rewrites."""
    events = []
    for event in event_file_loader.LegacyEventFileLoader(str(path)).Load():
        decoded = {"wall_time": event.wall_time, "step": event.step, "values": []}
        if event.HasField("file_version"):
            decoded["file_version"] = event.file_version
        if event.HasField("session_log"):
            decoded["session_log_status"] = event.session_log.status
        for value in event.summary.value:
            kind = value.WhichOneof("value")
            entry = {"tag": value.tag}
            if kind == "simple_value":
                entry["simple_value"] = value.simple_value
            elif kind == "histo":
                entry["histo"] = histogram_fields(value.histo)
            else:
                raise ValueError(f"{path}: unexpected value kind {kind} for tag {value.tag}")
            decoded["values"].append(entry)
        events.append(decoded)
    return events


def accumulated(directory):
    """What TensorBoard shows for the run directory holding both files."""
    accumulator = event_accumulator.EventAccumulator(
        str(directory), size_guidance={event_accumulator.SCALARS: 0, event_accumulator.HISTOGRAMS: 0}
    )
    accumulator.Reload()
    tags = accumulator.Tags()
    return {
        "scalars": {
            tag: [{"step": e.step, "wall_time": e.wall_time, "value": e.value} for e in accumulator.Scalars(tag)]
            for tag in tags["scalars"]
        },
        "histograms": {
            tag: [
                {"step": e.step, "wall_time": e.wall_time, **histogram_fields(e.histogram_value)}
                for e in accumulator.Histograms(tag)
            ]
            for tag in tags["histograms"]
        },
    }


def main():
    result = {
        "generator": f"tensorboard {tensorboard.__version__}",
        "files": {name: raw_events(FIXTURES / name) for name in FILES},
        "accumulator": accumulated(FIXTURES),
    }
    out = FIXTURES / "events_decoded.json"
    # allow_nan=False: the C++ JSON reader rejects NaN/Infinity, so fail here rather than there.
    out.write_text(json.dumps(result, indent=1, allow_nan=False) + "\n")
    counts = {tag: len(series) for tag, series in result["accumulator"]["scalars"].items()}
    print(f"wrote {out} ({result['generator']}; accumulated scalars {counts})")


if __name__ == "__main__":
    main()
