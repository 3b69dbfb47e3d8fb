#!/usr/bin/env python3
"""A host for rftgate in Python, through the plugin's C ABI (ctypes).

This is how a WMS written in another language calls rftgate: load
librftgate.so, run the ABI handshake, open a gate with a config file, check
orders, read the verdicts through the accessor functions, free the result,
close the gate. An Odoo module does the same at transfer release.

    python3 rftgate_host.py --plugin build/lib/librftgate.so \
        --config demo/rftgate.yaml [--order WH/OUT/00042 ...] [--dry-run] [--json]

The module can also be imported: `Plugin(path).open(config).check(refs)`.
With `check(refs, on_order=fn)` (host ABI 1.1) the orders are handed to
`fn` page by page as the plugin checks them, and the returned dict has the
totals and no orders: memory does not grow with the wave.
"""
import argparse
import ctypes as C
import json
import sys

HOST_ABI_MAJOR = 1
HOST_ABI_MINOR = 1

RFT_SELECT_READY, RFT_SELECT_REFS, RFT_SELECT_RANGE = 0, 1, 2
RFT_TIME_DATE = 1
VERDICTS = {0: "pass", 1: "warn", 2: "hold"}
SEVERITIES = {0: "off", 1: "warn", 2: "block"}


class Str(C.Structure):
    _fields_ = [("data", C.c_void_p), ("len", C.c_size_t)]

    def value(self):
        if not self.data:
            return None
        return C.string_at(self.data, self.len).decode("utf-8")


def make_str(b):
    """An rft_str over bytes `b` (the caller keeps `b` alive)."""
    if b is None:
        return Str(None, 0)
    return Str(C.cast(C.c_char_p(b), C.c_void_p), len(b))


class Time(C.Structure):
    _fields_ = [("value", C.c_int64), ("kind", C.c_int32), ("reserved", C.c_int32)]


class Selection(C.Structure):
    _fields_ = [("struct_size", C.c_uint32), ("mode", C.c_int32),
                ("refs", C.POINTER(Str)), ("ref_count", C.c_size_t),
                ("from_", Time), ("to", Time), ("max_orders", C.c_uint64)]


LOG_FN = C.CFUNCTYPE(None, C.c_void_p, C.c_int32, C.c_void_p, C.c_size_t)
PROGRESS_FN = C.CFUNCTYPE(None, C.c_void_p, C.c_uint64, C.c_uint64)


PAGE_FN = C.CFUNCTYPE(None, C.c_void_p, C.c_void_p)


class CheckRequest(C.Structure):
    _fields_ = [("struct_size", C.c_uint32), ("selection", Selection),
                ("run_id", Str), ("progress", PROGRESS_FN),
                ("progress_ctx", C.c_void_p),
                ("on_page", PAGE_FN), ("on_page_ctx", C.c_void_p)]  # ABI 1.1


class OpenParams(C.Structure):
    _fields_ = [("struct_size", C.c_uint32), ("config_path", Str),
                ("config_yaml", Str), ("base_dir", Str), ("log", LOG_FN),
                ("log_ctx", C.c_void_p)]


class Summary(C.Structure):
    _fields_ = [("struct_size", C.c_uint32), ("dry_run", C.c_int32),
                ("written", C.c_int32), ("streamed", C.c_int32),
                ("orders", C.c_uint64), ("passed", C.c_uint64),
                ("warned", C.c_uint64), ("held", C.c_uint64),
                ("by_policy", C.c_uint64), ("findings", C.c_uint64),
                ("notes", C.c_uint64), ("run_id", Str), ("ruleset", Str),
                ("written_to", Str), ("duration_us", C.c_int64)]


class OrderVerdict(C.Structure):
    _fields_ = [("struct_size", C.c_uint32), ("verdict", C.c_int32),
                ("decided_by", C.c_int32), ("reserved", C.c_int32),
                ("finding_count", C.c_uint64), ("ref", Str), ("site", Str),
                ("customer", Str), ("provider", Str), ("reason", Str)]


class FindingView(C.Structure):
    _fields_ = [("struct_size", C.c_uint32), ("line_no", C.c_int32),
                ("severity", C.c_int32), ("line_ref", Str), ("check_id", Str),
                ("message", Str), ("details_json", Str)]


class Note(C.Structure):
    _fields_ = [("struct_size", C.c_uint32), ("reserved", C.c_int32),
                ("check_id", Str), ("message", Str)]


ERR = C.c_char_p
OPEN = C.CFUNCTYPE(C.c_int, C.POINTER(OpenParams), C.POINTER(C.c_void_p), ERR, C.c_size_t)
CLOSE = C.CFUNCTYPE(None, C.c_void_p)
CHECK = C.CFUNCTYPE(C.c_int, C.c_void_p, C.POINTER(CheckRequest), C.POINTER(C.c_void_p), ERR, C.c_size_t)
FREE = C.CFUNCTYPE(None, C.c_void_p)
SUMMARY = C.CFUNCTYPE(C.c_int, C.c_void_p, C.POINTER(Summary))
ORDER = C.CFUNCTYPE(C.c_int, C.c_void_p, C.c_uint64, C.POINTER(OrderVerdict))
FINDING = C.CFUNCTYPE(C.c_int, C.c_void_p, C.c_uint64, C.c_uint64, C.POINTER(FindingView))
NOTE = C.CFUNCTYPE(C.c_int, C.c_void_p, C.c_uint64, C.POINTER(Note))


class PluginApi(C.Structure):
    _fields_ = [("struct_size", C.c_uint32), ("abi_major", C.c_uint32),
                ("abi_minor", C.c_uint32), ("reserved", C.c_uint32),
                ("version", C.c_char_p), ("open", OPEN), ("close", CLOSE),
                ("check", CHECK), ("dry_run", CHECK), ("result_free", FREE),
                ("result_summary", SUMMARY), ("result_order", ORDER),
                ("result_finding", FINDING), ("result_note", NOTE)]


class RftError(Exception):
    def __init__(self, status, message):
        super().__init__(f"rftgate error {status}: {message}")
        self.status = status
        self.message = message


class Plugin:
    """librftgate.so, loaded and checked."""

    def __init__(self, path):
        self._lib = C.CDLL(path, mode=C.RTLD_LOCAL)
        entry = self._lib.rft_plugin_entry
        entry.restype = C.c_int
        entry.argtypes = [C.c_uint32, C.c_uint32, C.POINTER(C.POINTER(PluginApi)),
                          C.c_char_p, C.c_size_t]
        api = C.POINTER(PluginApi)()
        buf = C.create_string_buffer(1024)
        status = entry(HOST_ABI_MAJOR, HOST_ABI_MINOR, C.byref(api), buf, len(buf))
        if status != 0:
            raise RftError(status, buf.value.decode("utf-8", "replace"))
        self.api = api.contents
        self.version = self.api.version.decode()

    def open(self, config_path):
        return Gate(self, config_path)


class Gate:
    def __init__(self, plugin, config_path):
        self._plugin = plugin
        self._path = config_path.encode("utf-8")
        params = OpenParams()
        params.struct_size = C.sizeof(OpenParams)
        params.config_path = make_str(self._path)
        params.config_yaml = make_str(None)
        params.base_dir = make_str(None)
        handle = C.c_void_p()
        buf = C.create_string_buffer(4096)
        status = plugin.api.open(C.byref(params), C.byref(handle), buf, len(buf))
        if status != 0:
            raise RftError(status, buf.value.decode("utf-8", "replace"))
        self._handle = handle

    def close(self):
        if self._handle:
            self._plugin.api.close(self._handle)
            self._handle = None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def check(self, refs=None, dry_run=False, on_order=None):
        """Checks `refs` (or every order ready for release); returns a dict
        shaped like `rftgate check --json`. With `on_order`, each order's
        dict goes to on_order as its page is checked (the result's "orders"
        is then empty); an exception it raises comes back after the check."""
        api = self._plugin.api
        keep = [r.encode("utf-8") for r in (refs or [])]
        array = (Str * max(len(keep), 1))(*[make_str(b) for b in keep])
        req = CheckRequest()
        req.struct_size = C.sizeof(CheckRequest)
        req.selection.struct_size = C.sizeof(Selection)
        if keep:
            req.selection.mode = RFT_SELECT_REFS
            req.selection.refs = array
            req.selection.ref_count = len(keep)
        else:
            req.selection.mode = RFT_SELECT_READY
        req.run_id = make_str(None)
        raised = []

        def page(_ctx, page_result):
            # An exception must not unwind into the plugin: keep the first.
            if raised:
                return
            try:
                for order in self._orders(page_result):
                    on_order(order)
            except BaseException as e:  # noqa: B036
                raised.append(e)

        callback = PAGE_FN(page)  # alive until the call returns
        if on_order is not None:
            if self._plugin.api.abi_minor < 1:
                raise RftError(2, "this plugin does not hand over pages")
            req.on_page = callback
        result = C.c_void_p()
        buf = C.create_string_buffer(4096)
        fn = api.dry_run if dry_run else api.check
        status = fn(self._handle, C.byref(req), C.byref(result), buf, len(buf))
        if status != 0:
            raise RftError(status, buf.value.decode("utf-8", "replace"))
        try:
            read = self._read(result)
        finally:
            api.result_free(result)
        if raised:
            raise raised[0]
        return read

    def _orders(self, result):
        """The orders of a result (or of a page lent to on_page)."""
        api = self._plugin.api
        s = Summary()
        s.struct_size = C.sizeof(Summary)
        api.result_summary(result, C.byref(s))
        orders = []
        if s.streamed:
            return orders
        for i in range(s.orders):
            o = OrderVerdict()
            o.struct_size = C.sizeof(OrderVerdict)
            api.result_order(result, i, C.byref(o))
            findings = []
            for j in range(o.finding_count):
                f = FindingView()
                f.struct_size = C.sizeof(FindingView)
                api.result_finding(result, i, j, C.byref(f))
                findings.append({
                    "line": f.line_no if f.line_no > 0 else None,
                    "line_ref": f.line_ref.value(),
                    "check": f.check_id.value(),
                    "severity": SEVERITIES.get(f.severity, "?"),
                    "message": f.message.value(),
                    "details": json.loads(f.details_json.value() or "{}"),
                })
            orders.append({
                "ref": o.ref.value(), "site": o.site.value(),
                "customer": o.customer.value(), "provider": o.provider.value(),
                "verdict": VERDICTS.get(o.verdict, "?"),
                "decided_by": "failure_policy" if o.decided_by == 1 else "checks",
                "reason": o.reason.value(), "findings": findings,
            })
        return orders

    def _read(self, result):
        api = self._plugin.api
        s = Summary()
        s.struct_size = C.sizeof(Summary)
        api.result_summary(result, C.byref(s))
        orders = self._orders(result)
        notes = []
        for i in range(s.notes):
            n = Note()
            n.struct_size = C.sizeof(Note)
            api.result_note(result, i, C.byref(n))
            notes.append({"check": n.check_id.value(), "message": n.message.value()})
        return {
            "run_id": s.run_id.value(), "ruleset": s.ruleset.value(),
            "dry_run": bool(s.dry_run), "written": bool(s.written),
            "written_to": s.written_to.value(), "orders": orders, "notes": notes,
            "summary": {"orders": s.orders, "passed": s.passed, "warned": s.warned,
                        "held": s.held, "by_policy": s.by_policy,
                        "findings": s.findings},
        }


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--plugin", required=True, help="path of librftgate.so")
    ap.add_argument("--config", required=True, help="rftgate config file")
    ap.add_argument("--order", action="append", default=[], help="order ref (repeatable)")
    ap.add_argument("--dry-run", action="store_true", help="write nothing")
    ap.add_argument("--json", action="store_true", help="print the result as JSON")
    args = ap.parse_args()
    try:
        plugin = Plugin(args.plugin)
        with plugin.open(args.config) as gate:
            result = gate.check(args.order, dry_run=args.dry_run)
    except RftError as e:
        print(f"rftgate_host: {e.message}", file=sys.stderr)
        return 2 if e.status in (1, 2, 3, 4) else 1
    if args.json:
        print(json.dumps(result, indent=2))
    else:
        for o in result["orders"]:
            print(f"{o['verdict']:<5} {o['ref']}")
            for f in o["findings"]:
                print(f"      {f['severity']:<5} {f['check']:<18} {f['message']}")
        s = result["summary"]
        print(f"{s['orders']} orders: {s['passed']} passed, {s['warned']} warned, "
              f"{s['held']} held")
    return 0


if __name__ == "__main__":
    sys.exit(main())
