-- Odoo 17.0: what odoo_schema.sql leaves out for 17. Move and move line
-- carry `quantity` (reserved or picked, in their own unit) and `picked`;
-- the move line also stores quantity_product_uom. An activity type may
-- keep its done activities (archived, with their done date).
ALTER TABLE stock_move ADD COLUMN quantity numeric;
ALTER TABLE stock_move ADD COLUMN picked bool;
ALTER TABLE stock_move_line ADD COLUMN quantity numeric;
ALTER TABLE stock_move_line ADD COLUMN quantity_product_uom numeric;
ALTER TABLE stock_move_line ADD COLUMN picked bool;
ALTER TABLE mail_activity ADD COLUMN active bool;
ALTER TABLE mail_activity ADD COLUMN date_done date;
ALTER TABLE mail_activity_type ADD COLUMN keep_done bool;
