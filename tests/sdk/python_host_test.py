#!/usr/bin/env python3
"""The Python host gets the same verdicts and findings as the CLI.

Usage: python_host_test.py <rftgate CLI> <librftgate.so> <config> <host.py>
"""
import importlib.util
import json
import subprocess
import sys


def comparable(result):
    return [(o["ref"], o["verdict"], o["decided_by"],
             [(f["line"], f["check"], f["severity"], f["message"]) for f in o["findings"]])
            for o in result["orders"]]


def main():
    cli, plugin, config, host_py = sys.argv[1:5]
    spec = importlib.util.spec_from_file_location("rftgate_host", host_py)
    host = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(host)

    out = subprocess.run([cli, "--plugin", plugin, "dry-run", "--config", config, "--json"],
                         check=True, capture_output=True, text=True)
    from_cli = json.loads(out.stdout)
    with host.Plugin(plugin).open(config) as gate:
        from_python = gate.check(dry_run=True)
        one = gate.check([from_cli["orders"][0]["ref"]], dry_run=True)
        # Page by page (host ABI 1.1): the same orders, once each.
        handed = []
        streamed = gate.check(dry_run=True, on_order=handed.append)

    assert from_cli["orders"], "the CLI checked no orders"
    assert comparable(from_cli) == comparable(from_python), (
        "verdicts differ:\n" + json.dumps(comparable(from_cli)) + "\n" +
        json.dumps(comparable(from_python)))
    assert from_cli["ruleset"] == from_python["ruleset"]
    assert from_cli["summary"]["held"] == from_python["summary"]["held"]
    assert streamed["orders"] == [], "a streamed result has no orders"
    assert streamed["summary"] == from_python["summary"], (
        streamed["summary"], from_python["summary"])
    assert comparable({"orders": handed}) == comparable(from_python), (
        "the orders handed over differ from the result's")
    assert len(one["orders"]) == 1 and one["orders"][0]["ref"] == from_cli["orders"][0]["ref"]
    held = sum(1 for o in from_python["orders"] if o["verdict"] == "hold")
    assert held > 0, "the test wave must hold something"

    try:
        host.Plugin(plugin).open(config + ".missing")
        raise AssertionError("opened a missing config")
    except host.RftError as e:
        assert e.status == 3, e
    print(f"ok: {len(from_python['orders'])} orders, same verdicts and findings")


if __name__ == "__main__":
    main()
