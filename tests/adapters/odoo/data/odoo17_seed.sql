-- Odoo 17.0 move lines: quantity (the line's unit), quantity_product_uom,
-- picked; the move's quantity is the sum of its lines.
INSERT INTO stock_move_line (id, picking_id, move_id, company_id, product_id, product_uom_id,
                             lot_id, date, location_id, location_dest_id, state, reference,
                             quantity, quantity_product_uom, picked)
SELECT id, picking_id, move_id, 1, product_id, uom_id, lot_id, date, location_id,
       location_dest_id, state, reference, qty, qty, FALSE
FROM seed_move_line;
UPDATE stock_move m SET quantity = s.q, picked = FALSE
FROM (SELECT move_id, sum(qty) AS q FROM seed_move_line GROUP BY move_id) s
WHERE s.move_id = m.id;
UPDATE stock_move SET quantity = 0, picked = FALSE WHERE quantity IS NULL;
UPDATE mail_activity SET active = TRUE;
UPDATE mail_activity_type SET keep_done = FALSE;
