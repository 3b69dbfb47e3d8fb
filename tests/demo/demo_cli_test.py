#!/usr/bin/env python3
"""The rftgate command on the demo warehouse.

usage: demo_cli_test.py RFTGATE GENERATOR ADAPTER_DIR MAPPING

- `rftgate check` prints a summary that names where the records went: the
  tables and the database file.
- `rftgate dry-run --from/--to` checks past orders, writes nothing, and says
  which checks it skipped and why, in text and in --json.
- On a terminal a progress bar is drawn, unless --quiet or --json; without
  a terminal, none.
- The complete example of docs/adapters/sql.md is demo/mapping.yaml and is
  valid against the demo database.
"""
import datetime
import json
import os
import pty
import sqlite3
import subprocess
import sys
import tempfile

STOCK_CHECKS = {"stock.short", "location.mismatch", "lot.missing",
                "lot.expired", "lot.shelf_life", "lot.fefo", "lot.quarantine"}

failures = []


def expect(cond, what):
    if not cond:
        failures.append(what)
        print("FAIL:", what)


def run(args, cwd):
    p = subprocess.run(args, cwd=cwd, capture_output=True, text=True)
    if p.returncode != 0:
        print(p.stdout, p.stderr)
        sys.exit(f"{' '.join(args)} exited {p.returncode}")
    return p.stdout


def run_on_terminal(args, cwd):
    """Runs `args` with stdout on a pseudo-terminal; returns what it wrote."""
    primary, secondary = pty.openpty()
    p = subprocess.Popen(args, cwd=cwd, stdout=secondary,
                         stderr=subprocess.DEVNULL)
    os.close(secondary)
    out = b""
    while True:
        try:
            chunk = os.read(primary, 65536)
        except OSError:  # EIO: the child closed the terminal
            break
        if not chunk:
            break
        out += chunk
    os.close(primary)
    if p.wait() != 0:
        sys.exit(f"{' '.join(args)} exited {p.returncode}")
    return out.decode("utf-8", "replace")


def main():
    rftgate, generator, adapter_dir, mapping = sys.argv[1:5]
    today = datetime.datetime.now(datetime.timezone.utc).date()
    with tempfile.TemporaryDirectory(prefix="rftgate-demo-cli-") as tmp:
        db = os.path.join(tmp, "demo.db")
        run([generator, "--db", db, "--today", today.isoformat()], tmp)
        with open(os.path.join(tmp, "rftgate.yaml"), "w") as f:
            f.write(f"""adapter:
  name: sql
  library_dirs: ["{adapter_dir}"]
  connection: "sqlite3://db=demo.db"
  options:
    mapping: "{mapping}"
timezone:
  default: Europe/Paris
writeback:
  apply_holds: true
""")
        frm = (today - datetime.timedelta(days=30)).isoformat()
        to = (today - datetime.timedelta(days=1)).isoformat()

        # Past orders, readable: every skipped check is named with its reason.
        out = run([rftgate, "dry-run", "--config", "rftgate.yaml",
                   "--from", frm, "--to", to], tmp)
        for check in sorted(STOCK_CHECKS):
            expect(f"note: {check}: skipped: past orders need stock and lots"
                   in out, f"dry-run text names {check} as skipped")
        expect("(dry run)" in out and "nothing written (dry run)" in out,
               "dry-run text says nothing was written")
        expect("\r" not in out and "####" not in out,
               "no progress bar without a terminal")

        # On a terminal, a progress bar; --quiet and --json draw none.
        out = run_on_terminal([rftgate, "dry-run", "--config", "rftgate.yaml",
                               "--limit", "0"], tmp)
        expect("] 300/300 orders" in out and "\r[" in out,
               f"a progress bar on a terminal: {out[:200]!r}")
        for quiet in (["--quiet"], ["--json"]):
            out = run_on_terminal([rftgate, "dry-run", "--config",
                                   "rftgate.yaml", "--limit", "0"] + quiet,
                                  tmp)
            expect("300/300" not in out and "\r[" not in out,
                   f"no progress bar with {quiet[0]}")
            expect("300 orders checked" in out or '"orders": 300' in out,
                   f"the run itself is shown with {quiet[0]}")

        # A range that ends before it starts is a usage error.
        p = subprocess.run([rftgate, "dry-run", "--config", "rftgate.yaml",
                            "--from", to, "--to", frm], cwd=tmp,
                           capture_output=True, text=True)
        expect(p.returncode == 2 and f"--from {to} is after --to {frm}"
               in p.stderr, f"reversed range refused: {p.returncode} "
               f"{p.stderr!r}")

        # Past orders, --json: the same, for machines.
        result = json.loads(run([rftgate, "dry-run", "--config", "rftgate.yaml",
                                 "--from", frm, "--to", to, "--json"], tmp))
        skipped = {n["check"]: n["message"] for n in result["notes"]
                   if n["check"] and n["message"].startswith("skipped:")}
        expect(set(skipped) == STOCK_CHECKS,
               f"--json notes skip exactly the stock checks: {sorted(skipped)}")
        expect(all("stock" in m for m in skipped.values()),
               "--json notes say why (stock as it was)")
        expect(result["dry_run"] is True and result["written"] is False,
               "--json: dry run, nothing written")
        found = {f["check"] for o in result["orders"] for f in o["findings"]}
        expect(not found & STOCK_CHECKS, "no stock finding on past orders")
        expect(result["summary"]["orders"] > 0, "past orders were checked")
        con = sqlite3.connect(db)
        tables = con.execute("SELECT COUNT(*) FROM sqlite_master WHERE name "
                             "LIKE 'rftgate%'").fetchone()[0]
        expect(tables == 0, "a dry run creates no table")
        con.close()

        # The complete example of docs/adapters/sql.md is the demo mapping,
        # and valid against the demo database.
        source_dir = os.path.dirname(os.path.dirname(mapping))
        with open(os.path.join(source_dir, "docs", "adapters", "sql.md")) as f:
            doc = f.read()
        example = doc.split("## A complete example", 1)[1]
        example = example.split("```yaml\n", 1)[1].split("```", 1)[0]

        def meaningful(text):
            return [l for l in text.splitlines()
                    if l.strip() and not l.lstrip().startswith("#")]
        with open(mapping) as f:
            expect(meaningful(example) == meaningful(f.read()),
                   "the documented example is demo/mapping.yaml")
        with open(os.path.join(tmp, "doc-mapping.yaml"), "w") as f:
            f.write(example)
        with open(os.path.join(tmp, "rftgate.yaml")) as f:
            config = f.read()
        with open(os.path.join(tmp, "doc.yaml"), "w") as f:
            f.write(config.replace(mapping, "doc-mapping.yaml"))
        out = run([rftgate, "config", "validate", "--config", "doc.yaml",
                   "--connect"], tmp)
        expect("orders ready for release     300" in out,
               f"the documented example loads the demo: {out!r}")

        # The main job: check and write back; the summary says where.
        out = run([rftgate, "check", "--config", "rftgate.yaml"], tmp)
        records = [l for l in out.splitlines() if l.startswith("records")]
        expect(len(records) == 1, f"one 'records' line: {records}")
        where = "\n".join(out.splitlines()[out.splitlines().index(records[0]):])
        for name in ("rftgate_error_record", "rftgate_check_run",
                     os.path.realpath(db)):
            expect(name in where, f"the summary names {name}: {where!r}")
        expect("300 orders checked" in out, "300 orders checked")
        expect("top causes:" in out, "the summary lists the top causes")

    if failures:
        sys.exit(f"{len(failures)} failures")
    print("ok")


if __name__ == "__main__":
    main()
