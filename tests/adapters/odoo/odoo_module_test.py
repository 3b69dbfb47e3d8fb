#!/usr/bin/env python3
"""The Odoo path through the Python host, as the rftgate_gate module runs it.

Usage: odoo_module_test.py <librftgate.so> <rftgate_host.py> <module dir>
                           <test data dir> <adapter dir>

On an Odoo 17 shaped database (RFTGATE_TEST_PG, from
tests/support/with-databases.sh): the module's client checks released
transfers through librftgate.so and the odoo adapter, builds the chatter
note and the activity from the findings (escaped), finds the open blocking
findings that refuse validation with the SQL the module runs, and sees them
resolved when a re-check passes. Exits 77 (skipped) without a server unless
RFTGATE_REQUIRE_SERVERS=1.
"""
import importlib.util
import os
import py_compile
import subprocess
import sys
import tempfile

SEP = "\x1f"


def psql(params, *args, sql=None):
    cmd = ["psql", "-X", "-q", "-v", "ON_ERROR_STOP=1", "-A", "-t", "-F", SEP, params]
    cmd += list(args)
    if sql is not None:
        cmd += ["-c", sql]
    # psql gets none of the sanitizer runtime preloaded for the plugin (it
    # deadlocks at exit with it).
    env = {k: v for k, v in os.environ.items() if k not in ("LD_PRELOAD", "ASAN_OPTIONS")}
    out = subprocess.run(cmd, check=True, capture_output=True, text=True, env=env)
    return out.stdout


def literal(value):
    if isinstance(value, (list, tuple)):
        return "ARRAY[%s]::text[]" % ",".join(literal(v) for v in value) if value \
            else "ARRAY[]::text[]"
    return "'" + str(value).replace("'", "''") + "'"


class PsqlCursor:
    """Enough of a DB-API cursor (what Odoo's env.cr offers) over psql."""

    def __init__(self, params):
        self.params = params
        self.rows = []

    def execute(self, sql, args=()):
        parts = sql.split("%s")
        assert len(parts) == len(args) + 1, sql
        text = parts[0] + "".join(literal(a) + p for a, p in zip(args, parts[1:]))
        out = psql(self.params, sql=text)
        self.rows = [tuple(line.split(SEP)) for line in out.splitlines() if line]

    def fetchone(self):
        return self.rows[0] if self.rows else None

    def fetchall(self):
        return self.rows


def load(name, path):
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def main():
    plugin, host_py, module_dir, data_dir, adapter_dir = sys.argv[1:6]
    server = os.environ.get("RFTGATE_TEST_PG")
    if not server:
        if os.environ.get("RFTGATE_REQUIRE_SERVERS") == "1":
            print("RFTGATE_TEST_PG is not set", file=sys.stderr)
            return 1
        print("skipped: RFTGATE_TEST_PG is not set (run through "
              "tests/support/with-databases.sh)")
        return 77
    name = "rft_odoo_module_%d" % os.getpid()
    psql(server, sql="CREATE DATABASE " + name)
    params = " ".join(p for p in server.split() if not p.startswith("dbname=")) + \
        " dbname=" + name
    try:
        psql(params, *sum((["-f", os.path.join(data_dir, f)] for f in (
            "odoo_schema.sql", "odoo17.sql", "odoo_seed.sql", "odoo17_seed.sql")), []))
        with tempfile.TemporaryDirectory() as tmp:
            config = os.path.join(tmp, "rftgate.yaml")
            with open(config, "w") as f:
                f.write("adapter:\n  name: odoo\n  library_dirs: [\"%s\"]\n"
                        "  connection: \"postgresql://%s\"\n"
                        "  options:\n    chatter: false\n"
                        "checks:\n  lot.shelf_life:\n    default_min_days: 30\n"
                        "logging:\n  level: warn\n" % (adapter_dir, params))
            run(plugin, host_py, module_dir, config, params)
    finally:
        psql(server, sql="DROP DATABASE IF EXISTS %s WITH (FORCE)" % name)
    return 0


def run(plugin, host_py, module_dir, config, params):
    # The Odoo side of the module at least compiles (Odoo is not here).
    with tempfile.TemporaryDirectory() as out:
        for f in ("__manifest__.py", "__init__.py", "models/__init__.py",
                  "models/stock_picking.py", "models/gate_client.py"):
            py_compile.compile(os.path.join(module_dir, f),
                               cfile=os.path.join(out, "x.pyc"), doraise=True)
    gate_client = load("gate_client", os.path.join(module_dir, "models", "gate_client.py"))
    client = gate_client.GateClient(plugin, config, host_py)
    refs = ["WH/PICK/00019", "WH/PICK/00001", "WH/PICK/00013"]
    results = client.check(refs)
    assert sorted(results) == sorted(refs), results.keys()

    held = results["WH/PICK/00019"]
    assert held["verdict"] == "hold" and held["decided_by"] == "checks", held
    assert [f["check"] for f in held["findings"]] == ["customer.hold"], held
    assert results["WH/PICK/00001"]["verdict"] == "pass", results["WH/PICK/00001"]
    warned = results["WH/PICK/00013"]
    assert warned["verdict"] == "warn", warned
    assert [f["check"] for f in warned["findings"]] == ["lot.fefo"], warned

    # What the module posts: the partner's warning text is data, not markup.
    note = gate_client.note_body(held)
    assert "&lt;img src=x onerror=alert(1)&gt;" in note, note
    assert "<img" not in note, note
    assert "<code>customer.hold</code>" in note, note
    activity = gate_client.activity_values(held)
    assert activity["summary"] == "rftgate: held, 1 blocking finding(s)", activity
    assert "<img" not in activity["note"], activity
    assert gate_client.note_body(results["WH/PICK/00001"]) is None
    assert gate_client.activity_values(warned) is None
    assert "[warn]" in gate_client.note_body(warned)

    # Validation is refused for the held transfer only.
    cursor = PsqlCursor(params)
    found = gate_client.open_blocking_findings(cursor, refs)
    assert [(r[0], r[2]) for r in found] == [("WH/PICK/00019", "customer.hold")], found
    assert "unpaid" in found[0][3]
    try:
        gate_client.open_blocking_findings(cursor, refs, schema="x; DROP TABLE y")
        raise AssertionError("accepted a schema that is not a name")
    except ValueError:
        pass
    # In process the plugin writes no chatter: the module posts it.
    assert psql(params, sql="SELECT count(*) FROM mail_message").strip() == "1"

    # Fixed in Odoo, checked again: it passes and validation is allowed.
    psql(params, sql="UPDATE res_partner SET picking_warn = 'no-message' WHERE id = 15")
    again = client.check(["WH/PICK/00019"])
    assert again["WH/PICK/00019"]["verdict"] == "pass", again
    assert gate_client.open_blocking_findings(cursor, refs) == []
    status = psql(params, sql="SELECT string_agg(status, ',') FROM rftgate.error_record "
                              "WHERE order_ref = 'WH/PICK/00019'").strip()
    assert status == "resolved", status

    # A config the plugin refuses is an error of the host, not a crash.
    host = gate_client.load_host(host_py)
    try:
        gate_client.GateClient(plugin, config + ".missing", host_py).check(["X"])
        raise AssertionError("checked with a missing config")
    except host.RftError as e:
        assert e.status == 3, e
    print("ok: held, warned and clean transfers; note escaped; validation "
          "refused then allowed")


if __name__ == "__main__":
    sys.exit(main())
