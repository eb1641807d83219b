#!/usr/bin/env python3
"""Reads a log file as a log shipper would and checks that every line is one JSON object:
strict UTF-8, no duplicate keys, no NaN, every key the caller names present, "time" an RFC 3339
time with its offset. Prints each object again, canonical (sorted keys, ASCII escapes), one a
line; exits 1 naming the first line that is not."""
import datetime
import json
import sys


def no_duplicates(pairs):
    keys = [key for key, _ in pairs]
    if len(keys) != len(set(keys)):
        raise ValueError("duplicate keys: %r" % keys)
    return dict(pairs)


def refuse_constant(name):
    raise ValueError("not JSON: " + name)


def check(path, required):
    data = open(path, "rb").read()
    if data and not data.endswith(b"\n"):
        raise ValueError("the last line has no newline")
    for number, raw in enumerate(data.split(b"\n")[:-1], 1):
        try:
            text = raw.decode("utf-8", errors="strict")
            value = json.loads(text, object_pairs_hook=no_duplicates,
                               parse_constant=refuse_constant)
            if not isinstance(value, dict):
                raise ValueError("not an object")
            missing = [key for key in required if key not in value]
            if missing:
                raise ValueError("missing %s" % ", ".join(missing))
            if "time" in value and datetime.datetime.fromisoformat(value["time"]).utcoffset() is None:
                raise ValueError("time without an offset")
        except ValueError as error:
            sys.exit("%s:%d: %s: %r" % (path, number, error, raw[:200]))
        print(json.dumps(value, sort_keys=True, ensure_ascii=True))


if __name__ == "__main__":
    check(sys.argv[1], sys.argv[2].split(",") if len(sys.argv) > 2 else [])
