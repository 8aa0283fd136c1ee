#!/usr/bin/env python3
"""Summary of CI test runs: wall time per suite, then one line
"N passed, N failed, N skipped" counting GoogleTest cases.

Usage: summary.py LABEL=DIR...   (DIR holds meson-logs/testlog.json and
meson-logs/testlog.junit.xml, as `meson test` or .ci/root-suite writes them)

Cases come from the GoogleTest XML reports (protocol 'gtest'); a test binary
that left none (it crashed or timed out) counts as one case with meson's
result, and a binary that failed although all its cases passed (a sanitizer
report at exit) counts one failed case more.

Exits 1 when anything failed, or when a test of the 'image' or 'live' suites
skipped although this machine's apt sources list bookworm (those suites
skip only without a bookworm source). $OIC_CI_APT_DIR replaces /etc/apt for
that check.
"""
import json
import os
import sys
import xml.etree.ElementTree as et
from collections import defaultdict

MIRROR_SUITES = ("image", "live")
FAILED_RESULTS = {"FAIL", "TIMEOUT", "ERROR", "UNEXPECTEDPASS", "INTERRUPT"}


def one_line_entries(text):
    """(suite, components) of each 'deb' line of a sources.list file."""
    for line in text.splitlines():
        words = line.split("#", 1)[0].split()
        if not words or words[0] != "deb":
            continue
        words = words[1:]
        if words and words[0].startswith("["):  # [opt=val ...], maybe with spaces
            while words and not words[0].endswith("]"):
                words = words[1:]
            words = words[1:]
        if len(words) >= 2:
            yield words[1], words[2:]


def deb822_entries(text):
    """(suite, components) of each enabled 'deb' stanza of a .sources file."""
    stanzas, fields, key = [], {}, None
    for line in text.splitlines() + [""]:
        if line.startswith("#"):
            continue
        if not line.strip():
            if fields:
                stanzas.append(fields)
            fields, key = {}, None
        elif line[0] in " \t" and key:
            fields[key] += " " + line.strip()
        elif ":" in line:
            key, value = line.split(":", 1)
            key = key.strip().lower()
            fields[key] = value.strip()
    for s in stanzas:
        if "deb" not in s.get("types", "").split() or s.get("enabled", "yes").lower() == "no":
            continue
        for suite in s.get("suites", "").split():
            yield suite, s.get("components", "").split()


def lists_bookworm(apt_dir):
    """True when apt reads a 'deb' source of suite bookworm, component main."""
    files = [os.path.join(apt_dir, "sources.list")]
    parts = os.path.join(apt_dir, "sources.list.d")
    if os.path.isdir(parts):
        files += [os.path.join(parts, f) for f in sorted(os.listdir(parts))]
    for path in files:
        if not os.path.isfile(path):
            continue
        text = open(path, encoding="utf-8", errors="replace").read()
        if path.endswith(".sources"):
            entries = deb822_entries(text)
        elif path.endswith(".list"):
            entries = one_line_entries(text)
        else:
            continue  # apt ignores other names (e.g. *.disabled)
        if any(suite == "bookworm" and "main" in comps for suite, comps in entries):
            return True
    return False


def suites_of(name):
    """'project:unit+config / config_size' -> ['unit', 'config']."""
    head = name.split(" / ", 1)[0]
    return head.split(":", 1)[1].split("+") if ":" in head else []


def case_counts(junit_root, name):
    """passed, failed, skipped GoogleTest cases of test `name`, or None."""
    prefix = "os-image-composer." + name + "."
    counts, seen = [0, 0, 0], False
    for suite in junit_root.iter("testsuite"):
        if not suite.get("name", "").startswith(prefix):
            continue
        for case in suite.iter("testcase"):
            seen = True
            if case.find("failure") is not None or case.find("error") is not None:
                counts[1] += 1
            elif case.find("skipped") is not None:
                counts[2] += 1
            else:
                counts[0] += 1
    return counts if seen else None


def read_run(directory):
    logs = os.path.join(directory, "meson-logs")
    results = []
    path = os.path.join(logs, "testlog.json")
    if os.path.exists(path):
        results = [json.loads(line) for line in open(path) if line.strip()]
    junit = os.path.join(logs, "testlog.junit.xml")
    root = et.parse(junit).getroot() if os.path.exists(junit) else et.Element("testsuites")
    return results, root


def fmt(seconds):
    seconds = int(round(seconds))
    return f"{seconds // 60}:{seconds % 60:02d}"


def main(args):
    totals = [0, 0, 0]
    problems = []
    bookworm = lists_bookworm(os.environ.get("OIC_CI_APT_DIR", "/etc/apt"))
    print("== wall time per suite (first start to last end; suites run together and overlap)")
    for arg in args:
        label, _, directory = arg.partition("=")
        results, junit = read_run(directory)
        if not results:
            print(f"  {label}: no test results in {directory}")
            problems.append(f"{label}: no test results")
            totals[1] += 1
            continue
        spans = defaultdict(lambda: [float("inf"), 0.0, 0, 0.0])
        for r in results:
            name, result = r["name"], r.get("result", "ERROR")
            counts = case_counts(junit, name)
            if counts is None:
                counts = [int(result in ("OK", "EXPECTEDFAIL")), int(result in FAILED_RESULTS),
                          int(result == "SKIP")]
            elif result in FAILED_RESULTS and counts[1] == 0:
                counts[1] += 1  # the binary failed outside its cases
            suites = suites_of(name)
            if bookworm and counts[2] and any(s in MIRROR_SUITES for s in suites):
                # They skip only without a bookworm source: here a skip is a failure.
                problems.append(f"{label}: {name} skipped {counts[2]} case(s) although the apt sources "
                                "list bookworm: the image and live suites must run here")
                counts = [counts[0], counts[1] + counts[2], 0]
            for i in range(3):
                totals[i] += counts[i]
            if result in FAILED_RESULTS or (counts[1] and result != "SKIP"):
                problems.append(f"{label}: {name}: {result}")
            start, duration = r.get("starttime", 0.0), r.get("duration", 0.0)
            for s in suites:
                span = spans[s]
                span[0], span[1] = min(span[0], start), max(span[1], start + duration)
                span[2] += 1
                span[3] += duration
        for suite, (first, last, count, busy) in sorted(spans.items(), key=lambda kv: kv[0]):
            print(f"  {label:6} {suite:14} {count:3} tests  wall {fmt(last - first):>6}  (test time {fmt(busy)})")
    for p in problems:
        print("  problem: " + p)
    print(f"{totals[0]} passed, {totals[1]} failed, {totals[2]} skipped")
    return 1 if totals[1] else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
