#!/usr/bin/env python3
"""Reads exposition text from a file with prometheus_client's own parser (the client on
PYTHONPATH) and prints each sample as "FAMILY TYPE SAMPLE {NAME=VALUE,...} VALUE", labels
sorted, one a line. Exits 1 when the parser refuses the text."""
import sys

from prometheus_client.parser import text_string_to_metric_families

with open(sys.argv[1], encoding="utf-8") as exposition:
    text = exposition.read()
for family in text_string_to_metric_families(text):
    for sample in family.samples:
        labels = ",".join("%s=%s" % item for item in sorted(sample.labels.items()))
        print(family.name, family.type, sample.name, "{" + labels + "}", repr(sample.value))
