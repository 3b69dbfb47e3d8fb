"""The part of the rftgate_gate module that does not need Odoo.

It loads librftgate.so through the Python host of the rftgate SDK
(rftgate_host.py, ctypes), checks transfers by name, and turns the findings
into the HTML of a chatter note and of an activity, with every value coming
from the database escaped. Odoo's side (stock_picking.py) calls it after the
release's transaction has committed, posts what it returns through Odoo's
own API, and refuses validation while blocking findings are open.

One gate per config file and per process: opening a gate connects to the
database, so it is kept and reused; the plugin serialises calls on one gate
(a lock here keeps Odoo's threads from queueing inside it). Handles do not
survive fork(): a gate is opened lazily, in the worker process that uses it.
"""
import html
import importlib.util
import os
import re
import threading

HOLD, WARN, PASS = "hold", "warn", "pass"

# Open blocking findings of transfers, from rftgate's own tables (schema
# "rftgate" by default). %s: a list of transfer names.
OPEN_BLOCKING_SQL = (
    "SELECT order_ref, line_no, check_id, message FROM {schema}.error_record "
    "WHERE order_ref = ANY(%s) AND status = 'open' AND severity = 'block' "
    "ORDER BY order_ref, line_no, check_id")

_lock = threading.Lock()
_gates = {}
_hosts = {}


def load_host(path=None):
    """The rftgate_host module: from `path`, else $RFTGATE_HOST_PY, else
    the Python path. Loaded once per path (its RftError is one class)."""
    path = path or os.environ.get("RFTGATE_HOST_PY")
    if not path:
        import rftgate_host  # noqa: F401 (installed on the Python path)
        return rftgate_host
    with _lock:
        module = _hosts.get(path)
        if module is None:
            spec = importlib.util.spec_from_file_location("rftgate_host", path)
            module = importlib.util.module_from_spec(spec)
            spec.loader.exec_module(module)
            _hosts[path] = module
    return module


class GateClient:
    """Checks transfers through one rftgate gate.

    plugin: path of librftgate.so; config: path of rftgate.yaml (its
    adapter is `odoo`, with `chatter: false`: the module posts the notes
    itself); host_py: path of rftgate_host.py (optional, see load_host).
    """

    def __init__(self, plugin, config, host_py=None):
        self.plugin_path = plugin
        self.config = config
        self.host = load_host(host_py)

    def _gate(self):
        key = (os.getpid(), self.plugin_path, self.config)
        gate = _gates.get(key)
        if gate is None:
            gate = self.host.Plugin(self.plugin_path).open(self.config)
            _gates[key] = gate
        return gate

    def check(self, refs):
        """Checks the transfers named `refs` and writes rftgate's records.
        Returns {name: {"verdict", "decided_by", "reason", "findings"}};
        raises the host's RftError when no verdict could be produced."""
        if not refs:
            return {}
        with _lock:
            try:
                result = self._gate().check(list(refs))
            except self.host.RftError:
                # The gate may hold a dead connection: open anew next time.
                _gates.pop((os.getpid(), self.plugin_path, self.config), None)
                raise
        return {o["ref"]: o for o in result["orders"]}


def _items(findings, only_blocking):
    out = []
    for f in findings:
        if only_blocking and f["severity"] != "block":
            continue
        tag = "" if only_blocking else "<b>[%s]</b> " % html.escape(f["severity"])
        out.append("<li>%s<code>%s</code> %s</li>" % (
            tag, html.escape(f["check"] or ""), html.escape(f["message"] or "")))
    return "".join(out)


def note_body(order):
    """HTML of the chatter note for one checked transfer (None for a pass):
    every value escaped."""
    findings = order["findings"]
    if order["verdict"] == PASS or not findings:
        return None
    blocking = sum(1 for f in findings if f["severity"] == "block")
    state = "<b>held</b>" if order["verdict"] == HOLD else "released with warnings"
    return ("<p><b>rftgate</b>: transfer %s &#8212; %d blocking, %d warning "
            "finding(s)</p><ul>%s</ul>" % (
                state, blocking, len(findings) - blocking,
                _items(findings, only_blocking=False)))


def activity_values(order):
    """Summary and note of the Exception activity of a held transfer (None
    unless held)."""
    if order["verdict"] != HOLD:
        return None
    blocking = sum(1 for f in order["findings"] if f["severity"] == "block")
    return {
        "summary": "rftgate: held, %d blocking finding(s)" % blocking,
        "note": "<p>Fix before picking:</p><ul>%s</ul>" % _items(
            order["findings"], only_blocking=True),
    }


def open_blocking_findings(cursor, refs, schema="rftgate"):
    """Open blocking findings of the transfers `refs`, read with a DB-API
    cursor (Odoo's env.cr): [(name, line_no, check_id, message)]. Empty
    when rftgate has written nothing yet."""
    if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]{0,29}", schema):
        raise ValueError("not a plain schema name: %r" % (schema,))
    cursor.execute("SELECT to_regclass(%s) IS NOT NULL",
                   ("%s.error_record" % schema,))
    row = cursor.fetchone()
    if not row or not row[0] or row[0] in ("f", "false"):
        return []
    cursor.execute(OPEN_BLOCKING_SQL.format(schema=schema), (list(refs),))
    return cursor.fetchall()
