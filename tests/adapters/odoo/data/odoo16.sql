-- Odoo 16.0: what odoo_schema.sql leaves out for 16. Reserved and done
-- quantities live on the move line (reserved_qty in the product's unit,
-- reserved_uom_qty and qty_done in the line's unit); the move stores
-- quantity_done. Activities are deleted when done.
ALTER TABLE stock_move ADD COLUMN quantity_done numeric;
ALTER TABLE stock_move_line ADD COLUMN reserved_qty numeric;
ALTER TABLE stock_move_line ADD COLUMN reserved_uom_qty numeric NOT NULL;
ALTER TABLE stock_move_line ADD COLUMN qty_done numeric;
