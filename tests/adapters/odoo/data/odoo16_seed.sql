-- Odoo 16.0 move lines: reserved_qty (product unit), reserved_uom_qty and
-- qty_done (the line's unit).
INSERT INTO stock_move_line (id, picking_id, move_id, company_id, product_id, product_uom_id,
                             lot_id, date, location_id, location_dest_id, state, reference,
                             reserved_qty, reserved_uom_qty, qty_done)
SELECT id, picking_id, move_id, 1, product_id, uom_id, lot_id, date, location_id,
       location_dest_id, state, reference, qty, qty, 0
FROM seed_move_line;
