"""rftgate at transfer release, inside Odoo.

When moves are confirmed or reserved (a confirmed sale order, "Mark as To
Do", "Check Availability", the scheduler), the transfers that are a
warehouse's first outgoing step (the pick in two- and three-step delivery,
the delivery in one step) are checked by rftgate once the transaction has
committed: the plugin reads through its own database connection and so sees
only committed data. From the findings it returns, a note is posted in each
transfer's chatter and an "Exception" activity is scheduled on held ones,
through Odoo's own API; a transfer that passes again has its activity marked
done. Validation is refused while the transfer has open blocking findings in
rftgate's records.

System parameters (Settings > Technical > System Parameters):
  rftgate.plugin    path of librftgate.so
  rftgate.config    path of rftgate.yaml (adapter `odoo`, option
                    `chatter: false`)
  rftgate.host_py   path of rftgate_host.py (optional when it is importable)
  rftgate.schema    rftgate's schema in this database (default rftgate)
  rftgate.activity_user_login  responsible of activities on transfers
                    without one (default: the administrator)
Without rftgate.plugin and rftgate.config the module does nothing.
"""
import logging

from markupsafe import Markup

from odoo import SUPERUSER_ID, _, api, models
from odoo.exceptions import UserError

from . import gate_client

_logger = logging.getLogger(__name__)

PASS_BODY = "<p><b>rftgate</b>: transfer passes; its findings are resolved</p>"


def _param(env, key, default=None):
    return env["ir.config_parameter"].sudo().get_param(key, default)


def _client(env):
    plugin, config = _param(env, "rftgate.plugin"), _param(env, "rftgate.config")
    if not plugin or not config:
        return None
    return gate_client.GateClient(plugin, config, _param(env, "rftgate.host_py"))


class StockPicking(models.Model):
    _inherit = "stock.picking"

    # ------------------------------------------------------------ release
    def _rftgate_released(self):
        """The transfers among self that rftgate judges: first outgoing
        step of their warehouse, confirmed or assigned."""
        def first_step(p):
            wh = p.picking_type_id.warehouse_id
            if not wh:
                return False
            first = wh.out_type_id if wh.delivery_steps == "ship_only" else wh.pick_type_id
            return p.picking_type_id == first
        return self.filtered(lambda p: p.state in ("confirmed", "assigned") and first_step(p))

    def _rftgate_after_commit(self):
        """Checks these transfers once the current transaction has
        committed (the plugin reads through its own connection and sees
        only committed data). One callback per transaction, whatever the
        number of calls."""
        if not self or not _client(self.env):
            return
        cr = self.env.cr
        pending = cr.postcommit.data.setdefault("rftgate_gate.picking_ids", set())
        first = not pending
        pending.update(self.ids)
        if not first:
            return
        registry = self.env.registry

        def check():
            try:
                with registry.cursor() as new_cr:
                    env = api.Environment(new_cr, SUPERUSER_ID, {})
                    pickings = env["stock.picking"].browse(sorted(pending)).exists()
                    pickings._rftgate_released()._rftgate_check()
            except Exception:  # after the commit: log, never fail the user's action
                _logger.exception("rftgate: checking transfers %s failed", sorted(pending))

        cr.postcommit.add(check)

    # -------------------------------------------------------------- check
    def _rftgate_check(self):
        client = _client(self.env)
        if not client or not self:
            return
        try:
            results = client.check(self.mapped("name"))
        except Exception as e:  # the plugin's error: log it, never break Odoo
            _logger.error("rftgate: checking %s failed: %s", self.mapped("name"), e)
            return
        for picking in self:
            order = results.get(picking.name)
            if order is not None:
                picking._rftgate_apply(order)

    def _rftgate_activity_type(self):
        return self.env.ref("mail.mail_activity_data_warning")

    def _rftgate_open_activity(self):
        kind = self._rftgate_activity_type()
        return self.activity_ids.filtered(
            lambda a: a.activity_type_id == kind and (a.summary or "").startswith("rftgate:"))

    def _rftgate_last_note(self):
        """rftgate's latest note on the transfer, while its episode is open
        (no "passes" note after it)."""
        last = self.env["mail.message"].search([
            ("model", "=", "stock.picking"), ("res_id", "=", self.id),
            ("author_id", "=", self.env.ref("base.partner_root").id),
            ("body", "ilike", "rftgate</b>: transfer")], order="id desc", limit=1)
        if last and "transfer passes" in (last.body or ""):
            return self.env["mail.message"]
        return last

    def _rftgate_apply(self, order):
        self.ensure_one()
        odoobot = self.env.ref("base.partner_root")
        if order["decided_by"] != "checks":
            # Not judged (database down, timeout): say so; nothing resolved.
            if order["verdict"] == gate_client.HOLD and not self._rftgate_open_activity():
                self.activity_schedule(
                    "mail.mail_activity_data_warning",
                    summary=_("rftgate: not checked"),
                    note=Markup("<p>%s</p>") % (order["reason"] or ""),
                    user_id=self._rftgate_user().id)
            return
        body = gate_client.note_body(order)
        last = self._rftgate_last_note()
        activity = self._rftgate_open_activity()
        if body is None:
            if activity:
                activity.action_feedback(feedback=_("rftgate: the transfer passes"))
            if last:
                self.message_post(body=Markup(PASS_BODY), author_id=odoobot.id,
                                  subtype_xmlid="mail.mt_note", message_type="comment")
            return
        if last:
            last.sudo().write({"body": Markup(body)})
        else:
            self.message_post(body=Markup(body), author_id=odoobot.id,
                              subtype_xmlid="mail.mt_note", message_type="comment")
        values = gate_client.activity_values(order)
        if values is None:
            if activity:
                activity.action_feedback(
                    feedback=_("rftgate: no blocking finding left; released with warnings"))
        elif activity:
            activity.write({"summary": values["summary"], "note": Markup(values["note"])})
        else:
            self.activity_schedule("mail.mail_activity_data_warning",
                                   summary=values["summary"], note=Markup(values["note"]),
                                   user_id=self._rftgate_user().id)

    def _rftgate_user(self):
        if self.user_id:
            return self.user_id
        login = _param(self.env, "rftgate.activity_user_login")
        user = login and self.env["res.users"].search([("login", "=", login)], limit=1)
        return user or self.env.ref("base.user_admin")

    # --------------------------------------------------------- validation
    def button_validate(self):
        schema = _param(self.env, "rftgate.schema", "rftgate")
        found = gate_client.open_blocking_findings(self.env.cr, self.mapped("name"), schema)
        if found:
            lines = "\n".join("%s: %s" % (ref, message) for ref, _line, _check, message in found)
            raise UserError(_("rftgate holds these transfers until their blocking "
                              "findings are fixed and the transfer is checked again "
                              "(Check Availability):\n%s") % lines)
        return super().button_validate()


class StockMove(models.Model):
    _inherit = "stock.move"

    # Release happens at move level: a confirmed sale order confirms its
    # moves (the transfers follow), the scheduler and "Check Availability"
    # reserve them.
    def _action_confirm(self, *args, **kwargs):
        moves = super()._action_confirm(*args, **kwargs)
        (moves | self).exists().picking_id._rftgate_after_commit()
        return moves

    def _action_assign(self, *args, **kwargs):
        res = super()._action_assign(*args, **kwargs)
        self.exists().picking_id._rftgate_after_commit()
        return res
