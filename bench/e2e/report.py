#!/usr/bin/env python3
"""Formats the end-to-end benchmark results (results.jsonl) as Markdown.

Usage: report.py OUTDIR [--write-docs docs/benchmarks.md]
With --write-docs, replaces the text between the markers
<!-- e2e-results:begin --> and <!-- e2e-results:end --> in that file.
"""
import json
import os
import platform
import statistics
import subprocess
import sys


def median(v):
    return statistics.median(v) if v else float("nan")


def machine():
    cpu = "?"
    try:
        for line in open("/proc/cpuinfo"):
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem = "?"
    try:
        for line in open("/proc/meminfo"):
            if line.startswith("MemTotal"):
                mem = "%.1f GiB" % (int(line.split()[1]) / 1024 / 1024)
    except OSError:
        pass
    return "%s, %d cores visible, %s RAM, Linux %s" % (
        cpu, os.cpu_count() or 0, mem, platform.release())


def fmt_ms(x):
    if x != x:
        return "–"
    return "%.0f" % x if x >= 100 else "%.1f" % x


def main():
    out = sys.argv[1]
    docs = None
    if "--write-docs" in sys.argv:
        docs = sys.argv[sys.argv.index("--write-docs") + 1]
    rows = [json.loads(l) for l in open(os.path.join(out, "results.jsonl"))]
    server = open(os.path.join(out, "server.txt")).read().strip().split("\t")
    by = {}
    gen = {}
    for r in rows:
        if "what" in r:
            by[(r["what"], r["scale"])] = r
        else:
            gen[r["scale"]] = r
    scales = sorted(gen)
    w = lambda what, s: median(by.get((what, s), {}).get("wall_ms", []))
    c = lambda what, s: median(by.get((what, s), {}).get("cpu_ms", []))
    md = []
    def load(name):
        try:
            return open(os.path.join(out, name)).read().strip()
        except OSError:
            return "?"
    md.append("Machine: %s; load average (1, 5, 15 min) %s before the run, "
              "%s after. PostgreSQL: %s; fsync=%s, synchronous_commit=%s, "
              "shared_buffers=%s (default durability). Client and server "
              "share the machine; CPU is the benchmark process's own "
              "(user + system), the server's is not included." % (
                  machine(), load("load_before.txt"), load("load_after.txt"),
                  server[1].split(" on ")[0], server[2], server[3],
                  server[4]))
    md.append("")
    md.append("### End to end over PostgreSQL (load, check, write back; "
              "median wall ms)")
    md.append("")
    md.append("| orders (lines) | rftgate | rftgate CPU | rftgate, wave whole "
              "| (a) set-based SQL "
              "| (b) query per line | (c) floor | rftgate ÷ (c) "
              "| (a) ÷ rftgate | (b) ÷ rftgate | lines/s |")
    md.append("|---|---|---|---|---|---|---|---|---|---|---|")
    for s in scales:
        rf, a, b, fl = (w("rftgate-pg", s), w("sql", s), w("orm", s),
                        w("floor", s))
        md.append("| %s (%s) | %s | %s | %s | %s | %s | %s | %.2f× | %.2f× "
                  "| %s | %s |" % (
                      f"{s:,}", f"{gen[s]['lines']:,}", fmt_ms(rf),
                      fmt_ms(c("rftgate-pg", s)),
                      fmt_ms(w("rftgate-pg-whole", s)), fmt_ms(a), fmt_ms(b),
                      fmt_ms(fl), rf / fl, a / rf,
                      "%.0f×" % (b / rf) if b == b else "not run",
                      f"{gen[s]['lines'] / rf * 1000:,.0f}"))
    md.append("")
    md.append("### Stages of the rftgate call (median wall ms)")
    md.append("")
    md.append("| orders | backend | load | check | write back | total "
              "| held orders | findings |")
    md.append("|---|---|---|---|---|---|---|---|")
    for s in scales:
        for what, name in (("rftgate-pg", "PostgreSQL"),
                           ("rftgate-sqlite", "SQLite")):
            r = by.get((what, s))
            if not r:
                continue
            md.append("| %s | %s | %s | %s | %s | %s | %s | %s |" % (
                f"{s:,}", name, fmt_ms(median(r["load_ms"])),
                fmt_ms(median(r["check_ms"])), fmt_ms(median(r["write_ms"])),
                fmt_ms(median(r["wall_ms"])), f"{r['held']:,}",
                f"{r['findings']:,}"))
    md.append("")
    md.append("### Single-order release call through the C ABI (written "
              "back; ms)")
    md.append("")
    md.append("| orders in the database | who | calls | p50 | p99 | max |")
    md.append("|---|---|---|---|---|---|")
    for s in scales:
        for what, name in (("rftgate-pg", "rftgate, PostgreSQL"),
                           ("floor", "(c) floor, PostgreSQL"),
                           ("rftgate-sqlite", "rftgate, SQLite")):
            r = by.get((what, s))
            if not r or not r.get("single_n"):
                continue
            md.append("| %s | %s | %d | %.1f | %.1f | %.1f |" % (
                f"{s:,}", name, r["single_n"], r["single_p50_ms"],
                r["single_p99_ms"], r["single_max_ms"]))
    md.append("")
    md.append("### Peak memory of the rftgate process (one process per "
              "scale, MiB)")
    md.append("")
    md.append("| orders | PostgreSQL | PostgreSQL, wave whole "
              "| PostgreSQL, pages of 2,000 | SQLite "
              "| (a) client | (c) client |")
    md.append("|---|---|---|---|---|---|---|")
    for s in scales:
        m = lambda what: ("%.0f" % (by[(what, s)]["maxrss_kb"] / 1024)
                          if (what, s) in by else "–")
        md.append("| %s | %s | %s | %s | %s | %s | %s |" % (
            f"{s:,}", m("rftgate-pg"), m("rftgate-pg-whole"),
            m("rftgate-pg-small-pages"), m("rftgate-sqlite"), m("sql"),
            m("floor")))
    if len(scales) > 1:
        lo, hi = scales[0], scales[-1]
        md.append("")
        md.append("### Growth from %s to %s orders (×%d orders)" % (
            f"{lo:,}", f"{hi:,}", hi // lo))
        md.append("")
        md.append("| | time ×| time per order, ratio |")
        md.append("|---|---|---|")
        for what, name in (("rftgate-pg", "rftgate, PostgreSQL"),
                           ("rftgate-sqlite", "rftgate, SQLite"),
                           ("sql", "(a) set-based SQL"),
                           ("floor", "(c) floor")):
            a, b = w(what, lo), w(what, hi)
            if a == a and b == b:
                md.append("| %s | %.1f× | %.2f |" % (
                    name, b / a, (b / a) / (hi / lo)))
    text = "\n".join(md) + "\n"
    print(text)
    if docs:
        doc = open(docs).read()
        begin, end = "<!-- e2e-results:begin -->", "<!-- e2e-results:end -->"
        i, j = doc.index(begin) + len(begin), doc.index(end)
        open(docs, "w").write(doc[:i] + "\n" + text + doc[j:])
        print("written to %s" % docs, file=sys.stderr)


if __name__ == "__main__":
    main()
