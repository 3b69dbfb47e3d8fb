-- A small Odoo warehouse with one transfer per defect the checks catch,
-- and clean ones. Dates are relative to today (UTC): every transfer is
-- scheduled for today + 2 days, 10:00. Applied after odoo_schema.sql and
-- odoo16.sql / odoo17.sql; the move lines' quantities, whose columns differ
-- between 16 and 17, are kept in the temporary table seed_move_line that
-- odoo16_seed.sql / odoo17_seed.sql copy into stock_move_line.
--
-- WH (two-step delivery: pick, then ship) releases its picks WH/PICK/...;
-- WH2 (one step) releases its deliveries WH2/OUT/...
--   WH/PICK/00001  clean (a service line too)      Alice
--   WH/PICK/00002  clean: its own reservation takes all the free stock
--   WH/PICK/00003  clean: 2 Dozens of a product kept in Units
--   WH/PICK/00004  clean: the first-expiring lot reserved
--   WH/PICK/00005  item.inactive      archived product variant
--   WH/PICK/00006  qty.invalid        0 Units
--   WH/PICK/00007  uom.mismatch       kg of a product kept in Units
--   WH/PICK/00008  stock.short        8 wanted, all reserved by 00002
--   WH/PICK/00009  location.mismatch  reserved at an archived shelf
--   WH/PICK/00010  lot.missing        lot-tracked product, stock without lots
--   WH/PICK/00011  lot.expired        reserved lot expires before shipping
--   WH/PICK/00012  lot.shelf_life     reserved lot has 10 days left
--   WH/PICK/00013  lot.fefo (warn)    a later-expiring lot reserved
--   WH/PICK/00014  lot.quarantine     lot with stock in WH/Stock/Quarantine
--   WH/PICK/00015  clean              first of two equal transfers
--   WH/PICK/00016  order.duplicate (warn)  same customer and lines, 1h later
--   WH/PICK/00017  address.incomplete no street, no postcode
--   WH/PICK/00018  carrier.constraint 50 kg with Parcel Express (30 kg)
--   WH/PICK/00019  customer.hold      partner's picking warning: block;
--                                     its warning text is markup
--   WH/PICK/00020  customer.hold      delivery contact of a blocked company
--   WH/PICK/00021  qty.outlier (warn) 40 where the customer takes 2
--   WH/PICK/00022  clean              no partner: taken from its delivery
--   WH/PICK/00023  clean              partner with a mere warning
--   WH2/OUT/00001  clean              one-step delivery
-- Not released: a receipt, a draft, a done and a cancelled pick, the
-- waiting delivery WH/OUT/00022 and past deliveries WH/OUT/00050-54.

CREATE TEMP TABLE seed_clock AS
    SELECT date_trunc('day', now() AT TIME ZONE 'UTC') AS t;

INSERT INTO res_company (id, name, partner_id) VALUES (1, 'My Company', NULL);

INSERT INTO res_country (id, name, code) VALUES
    (75, '{"en_US": "France", "fr_FR": "France"}', 'FR'),
    (57, '{"en_US": "Germany", "fr_FR": "Allemagne"}', 'DE'),
    (233, '{"en_US": "United States"}', 'US');

INSERT INTO res_partner (id, name, display_name, parent_id, commercial_partner_id,
                         company_id, type, street, zip, city, country_id, email,
                         is_company, active, picking_warn, picking_warn_msg)
VALUES
    (1, 'My Company', 'My Company', NULL, 1, 1, 'contact', '1 Main St', '75001', 'Paris', 75, 'info@example.com', TRUE, TRUE, 'no-message', NULL),
    (2, 'OdooBot', 'OdooBot', NULL, 2, 1, 'contact', NULL, NULL, NULL, NULL, 'odoobot@example.com', FALSE, FALSE, 'no-message', NULL),
    (3, 'Mitchell Admin', 'Mitchell Admin', NULL, 3, 1, 'contact', NULL, NULL, NULL, NULL, 'admin@example.com', FALSE, TRUE, 'no-message', NULL),
    (4, 'Marc Demo', 'Marc Demo', NULL, 4, 1, 'contact', NULL, NULL, NULL, NULL, 'mark.brown23@example.com', FALSE, TRUE, 'no-message', NULL),
    (10, 'Alice Martin', 'Alice Martin', NULL, 10, NULL, 'contact', '12 Rue de Rivoli', '75001', 'Paris', 75, NULL, FALSE, TRUE, 'no-message', NULL),
    (11, 'Bob Bauer', 'Bob Bauer', NULL, 11, NULL, 'contact', 'Hauptstraße 5', '10115', 'Berlin', 57, NULL, FALSE, TRUE, 'no-message', NULL),
    (12, 'Carol Dupont', 'Carol Dupont', NULL, 12, NULL, 'contact', '3 Quai Saint-Antoine', '69002', 'Lyon', 75, NULL, FALSE, TRUE, 'no-message', NULL),
    (13, 'Dave Durand', 'Dave Durand', NULL, 13, NULL, 'contact', '8 Rue Nationale', '59000', 'Lille', 75, NULL, FALSE, TRUE, 'no-message', NULL),
    (14, 'Erin Empty', 'Erin Empty', NULL, 14, NULL, 'contact', NULL, NULL, 'Paris', 75, NULL, FALSE, TRUE, 'no-message', NULL),
    (15, 'Frank Fraud', 'Frank Fraud', NULL, 15, NULL, 'contact', '4 Rue du Bac', '75007', 'Paris', 75, NULL, FALSE, TRUE, 'block', '<img src=x onerror=alert(1)> unpaid & "overdue"'),
    (16, 'Gina Corp', 'Gina Corp', NULL, 16, NULL, 'contact', '1 Allée Jean Jaurès', '31000', 'Toulouse', 75, NULL, TRUE, TRUE, 'block', 'Credit stop'),
    (17, 'Warehouse', 'Gina Corp, Warehouse', 16, 16, NULL, 'delivery', '9 Rue des Docks', '31200', 'Toulouse', 75, NULL, FALSE, TRUE, 'no-message', NULL),
    (18, 'Hal Hughes', 'Hal Hughes', NULL, 18, NULL, 'contact', '500 Howard St', '94105', 'San Francisco', 233, NULL, FALSE, TRUE, 'no-message', NULL),
    (19, 'Ivy Ives', 'Ivy Ives', NULL, 19, NULL, 'contact', '2 La Canebière', '13001', 'Marseille', 75, NULL, FALSE, TRUE, 'warning', 'Call before delivery'),
    (30, 'Vendor SA', 'Vendor SA', NULL, 30, NULL, 'contact', '1 Rue', '75001', 'Paris', 75, NULL, TRUE, TRUE, 'no-message', NULL);
UPDATE res_company SET partner_id = 1;

INSERT INTO res_users (id, login, partner_id, company_id, active, share) VALUES
    (1, '__system__', 2, 1, FALSE, FALSE),
    (2, 'admin', 3, 1, TRUE, FALSE),
    (6, 'demo', 4, 1, TRUE, FALSE);

INSERT INTO ir_model (id, name, model, state, transient, is_mail_thread, is_mail_activity) VALUES
    (85, '{"en_US": "Contact"}', 'res.partner', 'base', FALSE, TRUE, TRUE),
    (310, '{"en_US": "Transfer"}', 'stock.picking', 'base', FALSE, TRUE, TRUE);

INSERT INTO mail_message_subtype (id, name, internal, "default", sequence, hidden) VALUES
    (1, '{"en_US": "Discussions"}', FALSE, TRUE, 0, FALSE),
    (2, '{"en_US": "Note"}', TRUE, FALSE, 100, FALSE),
    (3, '{"en_US": "Activities"}', TRUE, FALSE, 90, FALSE);

INSERT INTO mail_activity_type (id, name, summary, sequence, active, delay_count,
                                delay_unit, delay_from, icon, decoration_type,
                                res_model, chaining_type, category)
VALUES
    (1, '{"en_US": "Email"}', NULL, 5, TRUE, 0, 'days', 'previous_activity', 'fa-envelope', NULL, NULL, 'suggest', 'default'),
    (2, '{"en_US": "Call"}', NULL, 6, TRUE, 2, 'days', 'previous_activity', 'fa-phone', NULL, NULL, 'suggest', 'phonecall'),
    (4, '{"en_US": "To-Do"}', NULL, 12, TRUE, 5, 'days', 'previous_activity', 'fa-check', NULL, NULL, 'suggest', 'default'),
    (5, '{"en_US": "Upload Document"}', NULL, 25, TRUE, 5, 'days', 'previous_activity', 'fa-upload', NULL, NULL, 'suggest', 'upload_file'),
    (9, '{"en_US": "Exception", "fr_FR": "Exception"}', NULL, 99, TRUE, 0, 'days', 'previous_activity', 'fa-warning', 'warning', NULL, 'suggest', 'default');

INSERT INTO ir_model_data (name, module, model, res_id, noupdate) VALUES
    ('main_company', 'base', 'res.company', 1, TRUE),
    ('partner_root', 'base', 'res.partner', 2, TRUE),
    ('user_root', 'base', 'res.users', 1, TRUE),
    ('user_admin', 'base', 'res.users', 2, TRUE),
    ('user_demo', 'base', 'res.users', 6, TRUE),
    ('model_stock_picking', 'stock', 'ir.model', 310, FALSE),
    ('mt_comment', 'mail', 'mail.message.subtype', 1, TRUE),
    ('mt_note', 'mail', 'mail.message.subtype', 2, TRUE),
    ('mt_activities', 'mail', 'mail.message.subtype', 3, TRUE),
    ('mail_activity_data_email', 'mail', 'mail.activity.type', 1, TRUE),
    ('mail_activity_data_call', 'mail', 'mail.activity.type', 2, TRUE),
    ('mail_activity_data_todo', 'mail', 'mail.activity.type', 4, TRUE),
    ('mail_activity_data_upload_document', 'mail', 'mail.activity.type', 5, TRUE),
    ('mail_activity_data_warning', 'mail', 'mail.activity.type', 9, TRUE);

-- Units
INSERT INTO uom_category (id, name) VALUES (1, '{"en_US": "Unit"}'), (2, '{"en_US": "Weight"}');
INSERT INTO uom_uom (id, name, category_id, factor, rounding, active, uom_type) VALUES
    (1, '{"en_US": "Units", "fr_FR": "Unités"}', 1, 1.0, 0.01, TRUE, 'reference'),
    (2, '{"en_US": "Dozens", "fr_FR": "Douzaines"}', 1, 0.08333333333333333, 0.01, TRUE, 'bigger'),
    (3, '{"en_US": "kg"}', 2, 1.0, 0.01, TRUE, 'reference');

-- Products
INSERT INTO product_removal (id, name, method) VALUES
    (1, '{"en_US": "First In First Out (FIFO)"}', 'fifo'),
    (2, '{"en_US": "Last In First Out (LIFO)"}', 'lifo'),
    (3, '{"en_US": "Closest Location"}', 'closest'),
    (4, '{"en_US": "First Expiry First Out (FEFO)"}', 'fefo');
INSERT INTO product_category (id, name, complete_name, parent_id, parent_path, removal_strategy_id) VALUES
    (1, 'All', 'All', NULL, '1/', NULL),
    (2, 'Food', 'All / Food', 1, '1/2/', 4);
INSERT INTO product_template (id, name, default_code, detailed_type, type, categ_id,
                              uom_id, uom_po_id, active, sale_ok, weight, tracking,
                              use_expiration_date)
VALUES
    (1, '{"en_US": "Widget"}', 'WIDGET', 'product', 'product', 1, 1, 1, TRUE, TRUE, 0.5, 'none', FALSE),
    (2, '{"en_US": "Gadget"}', 'GADGET', 'product', 'product', 1, 1, 1, TRUE, TRUE, 2, 'none', FALSE),
    (3, '{"en_US": "Old Part"}', 'OLD-1', 'product', 'product', 1, 1, 1, TRUE, TRUE, 1, 'none', FALSE),
    (4, '{"en_US": "Milk", "fr_FR": "Lait"}', 'MILK', 'product', 'product', 2, 1, 1, TRUE, TRUE, 1.03, 'lot', TRUE),
    (5, '{"en_US": "Bolt"}', 'BOLT', 'product', 'product', 1, 1, 1, TRUE, TRUE, 0.01, 'lot', FALSE),
    (6, '{"en_US": "Heavy Crate"}', 'HEAVY', 'product', 'product', 1, 1, 1, TRUE, TRUE, 25, 'none', FALSE),
    (7, '{"en_US": "Delivery Fee"}', 'DELIV', 'service', 'service', 1, 1, 1, TRUE, TRUE, 0, 'none', FALSE);
INSERT INTO product_product (id, product_tmpl_id, default_code, active, weight) VALUES
    (1, 1, 'WIDGET', TRUE, NULL),
    (2, 2, 'GADGET', TRUE, NULL),
    (3, 3, 'OLD-1', FALSE, NULL),
    (4, 4, 'MILK', TRUE, NULL),
    (5, 5, 'BOLT', TRUE, NULL),
    (6, 6, 'HEAVY', TRUE, NULL),
    (7, 7, 'DELIV', TRUE, NULL);

-- Locations and warehouses
INSERT INTO stock_location (id, name, complete_name, active, usage, location_id, parent_path, company_id, scrap_location) VALUES
    (1, 'Physical Locations', 'Physical Locations', TRUE, 'view', NULL, '1/', NULL, FALSE),
    (2, 'Partners', 'Partners', TRUE, 'view', NULL, '2/', NULL, FALSE),
    (3, 'Customers', 'Partners/Customers', TRUE, 'customer', 2, '2/3/', NULL, FALSE),
    (4, 'Vendors', 'Partners/Vendors', TRUE, 'supplier', 2, '2/4/', NULL, FALSE),
    (10, 'WH', 'WH', TRUE, 'view', 1, '1/10/', 1, FALSE),
    (11, 'Stock', 'WH/Stock', TRUE, 'internal', 10, '1/10/11/', 1, FALSE),
    (12, 'Shelf 1', 'WH/Stock/Shelf 1', TRUE, 'internal', 11, '1/10/11/12/', 1, FALSE),
    (13, 'Shelf 2', 'WH/Stock/Shelf 2', FALSE, 'internal', 11, '1/10/11/13/', 1, FALSE),
    (14, 'Quarantine', 'WH/Stock/Quarantine', TRUE, 'internal', 11, '1/10/11/14/', 1, FALSE),
    (15, 'Output', 'WH/Output', TRUE, 'internal', 10, '1/10/15/', 1, FALSE),
    (20, 'WH2', 'WH2', TRUE, 'view', 1, '1/20/', 1, FALSE),
    (21, 'Stock', 'WH2/Stock', TRUE, 'internal', 20, '1/20/21/', 1, FALSE);
INSERT INTO stock_warehouse (id, name, code, active, company_id, view_location_id, lot_stock_id, delivery_steps) VALUES
    (1, 'Main Warehouse', 'WH', TRUE, 1, 10, 11, 'pick_ship'),
    (2, 'Second Warehouse', 'WH2', TRUE, 1, 20, 21, 'ship_only');
UPDATE stock_location SET warehouse_id = 1 WHERE parent_path LIKE '1/10/%';
UPDATE stock_location SET warehouse_id = 2 WHERE parent_path LIKE '1/20/%';
INSERT INTO stock_picking_type (id, name, code, sequence_code, warehouse_id, default_location_src_id,
                                default_location_dest_id, reservation_method, create_backorder, active, company_id)
VALUES
    (1, '{"en_US": "Receipts"}', 'incoming', 'IN', 1, 4, 11, 'at_confirm', 'ask', TRUE, 1),
    (2, '{"en_US": "Pick"}', 'internal', 'PICK', 1, 11, 15, 'at_confirm', 'ask', TRUE, 1),
    (3, '{"en_US": "Delivery Orders"}', 'outgoing', 'OUT', 1, 15, 3, 'at_confirm', 'ask', TRUE, 1),
    (4, '{"en_US": "Receipts"}', 'incoming', 'IN', 2, 4, 21, 'at_confirm', 'ask', TRUE, 1),
    (5, '{"en_US": "Delivery Orders"}', 'outgoing', 'OUT', 2, 21, 3, 'at_confirm', 'ask', TRUE, 1),
    (6, '{"en_US": "Pick"}', 'internal', 'PICK', 2, 21, 21, 'at_confirm', 'ask', FALSE, 1);
UPDATE stock_warehouse SET pick_type_id = 2, out_type_id = 3 WHERE id = 1;
UPDATE stock_warehouse SET pick_type_id = 6, out_type_id = 5 WHERE id = 2;

-- Lots of Milk (product_expiry: removal date = expiration date here)
INSERT INTO stock_lot (id, name, product_id, product_uom_id, company_id, expiration_date, removal_date, create_date)
SELECT v.id, v.name, 4, 1, 1, c.t + v.days * interval '1 day', c.t + v.days * interval '1 day', c.t - interval '60 days'
FROM (VALUES (1, 'L-EARLY', 100), (2, 'L-LATE', 200), (3, 'L-EXPIRED', 1),
             (4, 'L-SHORT', 12), (5, 'L-Q', 150)) AS v(id, name, days)
CROSS JOIN seed_clock c;

-- Delivery carrier
INSERT INTO delivery_carrier (id, name, sequence, delivery_type, active, product_id, company_id, fixed_price)
VALUES (1, '{"en_US": "Parcel Express"}', 10, 'fixed', TRUE, 7, NULL, 9.5);

-- Stock on hand (reserved_quantity = the move lines' reservations below)
INSERT INTO stock_quant (id, product_id, company_id, location_id, lot_id, quantity, reserved_quantity, in_date)
SELECT v.id, v.product_id, 1, v.location_id, v.lot_id, v.qty, v.reserved, c.t - interval '30 days'
FROM (VALUES
    (1, 1, 12, NULL, 100, 0),
    (2, 1, 13, NULL, 5, 1),
    (3, 2, 12, NULL, 3, 3),
    (4, 3, 12, NULL, 50, 0),
    (5, 4, 12, 1, 20, 5),
    (6, 4, 12, 2, 20, 2),
    (7, 4, 12, 3, 10, 2),
    (8, 4, 12, 4, 10, 2),
    (9, 4, 12, 5, 10, 3),
    (10, 4, 14, 5, 5, 0),
    (11, 5, 12, NULL, 30, 0),
    (12, 6, 12, NULL, 10, 0),
    (13, 1, 21, NULL, 10, 4)) AS v(id, product_id, location_id, lot_id, qty, reserved)
CROSS JOIN seed_clock c;

INSERT INTO procurement_group (id, name, move_type, partner_id) VALUES (1, 'S00022', 'direct', 10);

-- Transfers: (id, name, type, state, partner, created minutes after
-- yesterday 00:00, responsible, carrier, group)
INSERT INTO stock_picking (id, name, origin, move_type, state, group_id, priority,
                           scheduled_date, date, location_id, location_dest_id,
                           picking_type_id, partner_id, company_id, user_id,
                           carrier_id, create_date, write_date)
SELECT v.id, v.name, v.origin, 'direct', v.state, v.grp, '0',
       c.t + interval '2 days 10 hours', c.t - interval '1 day' + v.minutes * interval '1 minute',
       CASE v.type WHEN 1 THEN 4 WHEN 2 THEN 11 WHEN 3 THEN 15 ELSE 21 END,
       CASE v.type WHEN 1 THEN 11 WHEN 2 THEN 15 ELSE 3 END,
       v.type, v.partner, 1, v.usr, v.carrier,
       c.t - interval '1 day' + v.minutes * interval '1 minute', c.t
FROM (VALUES
    (1, 'WH/PICK/00001', 'S00001', 2, 'confirmed', 10, 10, 6, NULL::int, NULL::int),
    (2, 'WH/PICK/00002', 'S00002', 2, 'assigned', 11, 20, NULL, NULL, NULL),
    (3, 'WH/PICK/00003', 'S00003', 2, 'confirmed', 11, 30, NULL, NULL, NULL),
    (4, 'WH/PICK/00004', 'S00004', 2, 'assigned', 12, 40, NULL, NULL, NULL),
    (5, 'WH/PICK/00005', 'S00005', 2, 'confirmed', 12, 50, NULL, NULL, NULL),
    (6, 'WH/PICK/00006', 'S00006', 2, 'confirmed', 12, 60, NULL, NULL, NULL),
    (7, 'WH/PICK/00007', 'S00007', 2, 'confirmed', 10, 70, NULL, NULL, NULL),
    (8, 'WH/PICK/00008', 'S00008', 2, 'confirmed', 11, 80, NULL, NULL, NULL),
    (9, 'WH/PICK/00009', 'S00009', 2, 'assigned', 12, 90, NULL, NULL, NULL),
    (10, 'WH/PICK/00010', 'S00010', 2, 'confirmed', 10, 100, NULL, NULL, NULL),
    (11, 'WH/PICK/00011', 'S00011', 2, 'assigned', 11, 110, NULL, NULL, NULL),
    (12, 'WH/PICK/00012', 'S00012', 2, 'assigned', 12, 120, NULL, NULL, NULL),
    (13, 'WH/PICK/00013', 'S00013', 2, 'assigned', 10, 130, NULL, NULL, NULL),
    (14, 'WH/PICK/00014', 'S00014', 2, 'assigned', 11, 140, NULL, NULL, NULL),
    (15, 'WH/PICK/00015', 'S00015', 2, 'confirmed', 13, 150, NULL, NULL, NULL),
    (16, 'WH/PICK/00016', 'S00016', 2, 'confirmed', 13, 210, NULL, NULL, NULL),
    (17, 'WH/PICK/00017', 'S00017', 2, 'confirmed', 14, 170, NULL, NULL, NULL),
    (18, 'WH/PICK/00018', 'S00018', 2, 'confirmed', 10, 180, NULL, 1, NULL),
    (19, 'WH/PICK/00019', 'S00019', 2, 'confirmed', 15, 190, NULL, NULL, NULL),
    (20, 'WH/PICK/00020', 'S00020', 2, 'confirmed', 17, 200, 6, NULL, NULL),
    (21, 'WH/PICK/00021', 'S00021', 2, 'confirmed', 18, 205, NULL, NULL, NULL),
    (22, 'WH/PICK/00022', 'S00022', 2, 'confirmed', NULL, 220, NULL, NULL, 1),
    (23, 'WH/PICK/00023', 'S00023', 2, 'confirmed', 19, 230, NULL, NULL, NULL),
    (40, 'WH/IN/00001', 'P00001', 1, 'assigned', 30, 5, NULL, NULL, NULL),
    (41, 'WH/PICK/00090', 'S00090', 2, 'draft', 10, 5, NULL, NULL, NULL),
    (42, 'WH/OUT/00022', 'S00022', 3, 'waiting', 10, 220, NULL, NULL, 1),
    (43, 'WH/PICK/00091', 'S00091', 2, 'done', 10, 5, NULL, NULL, NULL),
    (44, 'WH/PICK/00092', 'S00092', 2, 'cancel', 10, 5, NULL, NULL, NULL),
    (60, 'WH2/OUT/00001', 'S00060', 5, 'assigned', 12, 240, NULL, NULL, NULL)
    ) AS v(id, name, origin, type, state, partner, minutes, usr, carrier, grp)
CROSS JOIN seed_clock c;

-- Past deliveries of Hal: 2 Widgets each, in the last 50 days.
INSERT INTO stock_picking (id, name, origin, move_type, state, priority, scheduled_date, date,
                           date_done, location_id, location_dest_id, picking_type_id,
                           partner_id, company_id)
SELECT 50 + n, 'WH/OUT/0005' || n, 'S0005' || n, 'direct', 'done', '0',
       c.t - (10 + 10 * n) * interval '1 day', c.t - (10 + 10 * n) * interval '1 day',
       c.t - (10 + 10 * n) * interval '1 day', 15, 3, 3, 18, 1
FROM generate_series(0, 4) AS n CROSS JOIN seed_clock c;

-- Moves: (id, transfer, product, quantity, unit, state)
INSERT INTO stock_move (id, name, sequence, priority, date, company_id, product_id,
                        product_qty, product_uom_qty, product_uom, location_id,
                        location_dest_id, partner_id, picking_id, state,
                        procure_method, picking_type_id, reference)
SELECT v.id, pt.name ->> 'en_US', v.seq, '0', p.scheduled_date, 1, v.product,
       CASE v.uom WHEN 2 THEN v.qty * 12 ELSE v.qty END, v.qty, v.uom,
       p.location_id, p.location_dest_id, p.partner_id, p.id,
       COALESCE(v.state, p.state), 'make_to_stock', p.picking_type_id, p.name
FROM (VALUES
    (101, 1, 10, 1, 5, 1, NULL),
    (102, 1, 20, 7, 1, 1, NULL),
    (201, 2, 10, 2, 3, 1, NULL),
    (301, 3, 10, 1, 2, 2, NULL),
    (401, 4, 10, 4, 5, 1, NULL),
    (501, 5, 10, 3, 1, 1, NULL),
    (601, 6, 10, 1, 0, 1, NULL),
    (701, 7, 10, 1, 2, 3, NULL),
    (801, 8, 10, 2, 8, 1, NULL),
    (901, 9, 10, 1, 1, 1, NULL),
    (1001, 10, 10, 5, 5, 1, NULL),
    (1101, 11, 10, 4, 2, 1, NULL),
    (1201, 12, 10, 4, 2, 1, NULL),
    (1301, 13, 10, 4, 2, 1, NULL),
    (1401, 14, 10, 4, 3, 1, NULL),
    (1501, 15, 10, 1, 3, 1, NULL),
    (1601, 16, 10, 1, 3, 1, NULL),
    (1701, 17, 10, 1, 1, 1, NULL),
    (1801, 18, 10, 6, 2, 1, NULL),
    (1901, 19, 10, 1, 2, 1, NULL),
    (2001, 20, 10, 1, 4, 1, NULL),
    (2101, 21, 10, 1, 40, 1, NULL),
    (2201, 22, 10, 1, 6, 1, NULL),
    (2301, 23, 10, 1, 7, 1, NULL),
    (4001, 40, 10, 1, 50, 1, NULL),
    (4101, 41, 10, 1, 1, 1, NULL),
    (4201, 42, 10, 1, 6, 1, NULL),
    (4301, 43, 10, 1, 1, 1, NULL),
    (4401, 44, 10, 1, 1, 1, NULL),
    (5001, 50, 10, 1, 2, 1, NULL),
    (5101, 51, 10, 1, 2, 1, NULL),
    (5201, 52, 10, 1, 2, 1, NULL),
    (5301, 53, 10, 1, 2, 1, NULL),
    (5401, 54, 10, 1, 2, 1, NULL),
    (6001, 60, 10, 1, 4, 1, NULL)
    ) AS v(id, picking, seq, product, qty, uom, state)
JOIN stock_picking p ON p.id = v.picking
JOIN product_template pt ON pt.id = v.product;
UPDATE stock_move m SET date = p.date_done FROM stock_picking p
    WHERE p.id = m.picking_id AND p.state = 'done' AND p.date_done IS NOT NULL;

-- Reservations of the assigned transfers, in the product's unit:
-- (id, move, lot, location, quantity)
CREATE TEMP TABLE seed_move_line AS
SELECT v.id, m.picking_id, v.move_id, m.product_id, m.product_uom AS uom_id, v.lot_id,
       v.location_id, m.location_dest_id, v.qty, m.state, m.reference, m.date
FROM (VALUES
    (1, 201, NULL::int, 12, 3),
    (2, 401, 1, 12, 5),
    (3, 901, NULL, 13, 1),
    (4, 1101, 3, 12, 2),
    (5, 1201, 4, 12, 2),
    (6, 1301, 2, 12, 2),
    (7, 1401, 5, 12, 3),
    (8, 6001, NULL, 21, 4)
    ) AS v(id, move_id, lot_id, location_id, qty)
JOIN stock_move m ON m.id = v.move_id;

-- A note and a to-do of people on WH/PICK/00019, which rftgate must leave
-- alone.
INSERT INTO mail_message (id, date, body, model, res_id, record_name, message_type,
                          subtype_id, is_internal, author_id, create_uid, create_date,
                          write_uid, write_date)
SELECT 1, c.t, '<p>Customer called about this delivery.</p>', 'stock.picking', 19,
       'WH/PICK/00019', 'comment', 2, TRUE, 3, 2, c.t, 2, c.t
FROM seed_clock c;
INSERT INTO mail_activity (id, res_model_id, res_model, res_id, res_name, activity_type_id,
                           summary, note, date_deadline, automated, user_id, create_uid,
                           create_date, write_uid, write_date)
SELECT 1, 310, 'stock.picking', 19, 'WH/PICK/00019', 4, 'Call the customer', NULL,
       CAST(c.t AS date) + 3, FALSE, 6, 2, c.t, 2, c.t
FROM seed_clock c;

SELECT CAST(setval('mail_message_id_seq', 1000) AS text);
SELECT CAST(setval('mail_activity_id_seq', 1000) AS text);
SELECT CAST(setval('stock_picking_id_seq', 1000) AS text);
SELECT CAST(setval('stock_move_id_seq', 10000) AS text);
SELECT CAST(setval('stock_move_line_id_seq', 1000) AS text);
