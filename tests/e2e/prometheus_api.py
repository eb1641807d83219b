#!/usr/bin/env python3
"""What prometheus_test.cpp and exporter_queries_test.cpp read from JSON: Prometheus' HTTP API
and the Grafana dashboard.

  prometheus_api.py query URL FILE  for each line of FILE, a PromQL expression, one line
                                    "SERIES VALUE": how many series it returns now and the first
                                    one's value ("-" when none), or "error: WHY" when Prometheus
                                    refuses it
  prometheus_api.py series URL FILE for each line of FILE, a PromQL expression, one line
                                    "SERIES<TAB>NAN<TAB>LABELS": how many series it returns now,
                                    how many of them have the value NaN, and the names of the
                                    labels every one of them has (comma-separated, sorted), or
                                    "error: WHY"
  prometheus_api.py rules URL       one line per loaded rule: "TYPE<TAB>HEALTH<TAB>QUERY"
  prometheus_api.py exprs FILE      one line per PromQL expression of a Grafana dashboard: each
                                    panel target's expr, and for a query variable
                                    label_values(SELECTOR, LABEL) its SELECTOR
"""

import json
import re
import sys
import urllib.error
import urllib.parse
import urllib.request


def get(url):
    try:
        with urllib.request.urlopen(url, timeout=10) as answer:
            return json.load(answer)
    except urllib.error.HTTPError as error:
        # Prometheus answers a bad query with 400 and a JSON body that says why.
        return json.load(error)


def one_line(text):
    return " ".join(text.split())


def instant(base, expr):
    """The samples of an instant query (a scalar as one sample without labels), or its error."""
    answer = get(base + "/api/v1/query?" + urllib.parse.urlencode({"query": expr}))
    if answer.get("status") != "success":
        return None, "error: " + one_line(answer.get("errorType", "") + " " + answer.get("error", ""))
    result = answer["data"]["result"]
    if answer["data"]["resultType"] == "scalar":
        result = [{"metric": {}, "value": result}]
    return result, None


def query(base, expr):
    result, error = instant(base, expr)
    if error:
        return error
    return f"{len(result)} {result[0]['value'][1] if result else '-'}"


def queries(base, path, answer=query):
    with open(path) as file:
        for expr in file.read().splitlines():
            print(answer(base, expr))
    return 0


def series(base, expr):
    result, error = instant(base, expr)
    if error:
        return error
    nan = sum(1 for one in result if one["value"][1] == "NaN")
    common = set.intersection(*(set(one["metric"]) for one in result)) if result else set()
    return f"{len(result)}\t{nan}\t{','.join(sorted(common))}"


def rules(base):
    answer = get(base + "/api/v1/rules")
    for group in answer["data"]["groups"]:
        for rule in group["rules"]:
            print(rule["type"], rule["health"], one_line(rule["query"]), sep="\t")
    return 0


def panel_exprs(panels):
    for panel in panels:
        for target in panel.get("targets", []):
            yield target["expr"]
        # A collapsed row holds its panels.
        yield from panel_exprs(panel.get("panels", []))


def variable_exprs(variables):
    for variable in variables:
        if variable["type"] != "query":
            continue
        text = variable["query"]
        text = text["query"] if isinstance(text, dict) else text
        label_values = re.fullmatch(r"\s*label_values\((.*),\s*\w+\s*\)\s*", text, re.S)
        yield label_values.group(1) if label_values else text


def exprs(path):
    with open(path) as file:
        dashboard = json.load(file)
    for expr in panel_exprs(dashboard["panels"]):
        print(one_line(expr))
    for expr in variable_exprs(dashboard["templating"]["list"]):
        print(one_line(expr))
    return 0


if __name__ == "__main__":
    command, argument = sys.argv[1], sys.argv[2]
    if command == "query":
        sys.exit(queries(argument, sys.argv[3]))
    if command == "series":
        sys.exit(queries(argument, sys.argv[3], series))
    sys.exit({"rules": rules, "exprs": exprs}[command](argument))
