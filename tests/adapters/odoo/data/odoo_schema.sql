-- The tables of an Odoo 16 / 17 database that rftgate's Odoo adapter reads
-- and writes, with the columns and SQL types the Odoo ORM creates for them
-- (Many2one -> int4, Char -> varchar, translated Char -> jsonb, Html/Text ->
-- text, Float with digits -> numeric, Datetime -> timestamp without time
-- zone holding UTC, Date -> date). Columns the adapter does not use are
-- mostly left out. The columns that differ between 16 and 17 are added by
-- odoo16.sql or odoo17.sql, applied after this file.
--
-- Sources: odoo/odoo addons stock, product, uom, product_expiry, delivery
-- (16) / stock_delivery (17), mail; odoo/addons/base models res_partner,
-- res_users, ir_model. Statements end with ";" at the end of a line.

CREATE TABLE res_company (
    id          serial PRIMARY KEY,
    name        varchar NOT NULL,
    partner_id  int4
);

CREATE TABLE res_country (
    id    serial PRIMARY KEY,
    name  jsonb NOT NULL,
    code  varchar(2) NOT NULL,
    CONSTRAINT res_country_code_uniq UNIQUE (code)
);

CREATE TABLE res_partner (
    id                     serial PRIMARY KEY,
    name                   varchar,
    display_name           varchar,
    parent_id              int4 REFERENCES res_partner(id) ON DELETE SET NULL,
    commercial_partner_id  int4 REFERENCES res_partner(id) ON DELETE SET NULL,
    company_id             int4 REFERENCES res_company(id) ON DELETE SET NULL,
    type                   varchar,
    street                 varchar,
    street2                varchar,
    zip                    varchar,
    city                   varchar,
    country_id             int4 REFERENCES res_country(id) ON DELETE RESTRICT,
    email                  varchar,
    is_company             bool,
    active                 bool,
    picking_warn           varchar,
    picking_warn_msg       text,
    create_date            timestamp,
    write_date             timestamp,
    CONSTRAINT res_partner_check_name
        CHECK ((type = 'contact' AND name IS NOT NULL) OR (type != 'contact'))
);

CREATE TABLE res_users (
    id           serial PRIMARY KEY,
    login        varchar NOT NULL,
    password     varchar,
    partner_id   int4 NOT NULL REFERENCES res_partner(id) ON DELETE RESTRICT,
    company_id   int4 NOT NULL REFERENCES res_company(id) ON DELETE RESTRICT,
    active       bool,
    share        bool,
    notification_type varchar NOT NULL DEFAULT 'email',
    create_date  timestamp,
    write_date   timestamp,
    CONSTRAINT res_users_login_key UNIQUE (login)
);

CREATE TABLE ir_model (
    id               serial PRIMARY KEY,
    name             jsonb NOT NULL,
    model            varchar NOT NULL,
    state            varchar,
    transient        bool,
    is_mail_thread   bool,
    is_mail_activity bool,
    CONSTRAINT ir_model_obj_name_uniq UNIQUE (model)
);

CREATE TABLE ir_model_data (
    id          serial PRIMARY KEY,
    name        varchar NOT NULL,
    module      varchar NOT NULL,
    model       varchar NOT NULL,
    res_id      int4,
    noupdate    bool,
    create_date timestamp,
    write_date  timestamp,
    CONSTRAINT ir_model_data_name_nospaces CHECK (name NOT LIKE '% %')
);
CREATE UNIQUE INDEX ir_model_data_module_name_uniq_index ON ir_model_data (module, name);

-- ---------- units of measure ---------------------------------------------
CREATE TABLE uom_category (
    id    serial PRIMARY KEY,
    name  jsonb NOT NULL
);

CREATE TABLE uom_uom (
    id           serial PRIMARY KEY,
    name         jsonb   NOT NULL,
    category_id  int4    NOT NULL REFERENCES uom_category(id) ON DELETE RESTRICT,
    factor       numeric NOT NULL,
    rounding     numeric NOT NULL,
    active       bool,
    uom_type     varchar NOT NULL,
    CONSTRAINT uom_uom_factor_gt_zero CHECK (factor != 0),
    CONSTRAINT uom_uom_rounding_gt_zero CHECK (rounding > 0)
);

-- ---------- products -----------------------------------------------------
CREATE TABLE product_removal (
    id      serial PRIMARY KEY,
    name    jsonb   NOT NULL,
    method  varchar NOT NULL
);

CREATE TABLE product_category (
    id                   serial PRIMARY KEY,
    name                 varchar NOT NULL,
    complete_name        varchar,
    parent_id            int4 REFERENCES product_category(id) ON DELETE CASCADE,
    parent_path          varchar,
    removal_strategy_id  int4 REFERENCES product_removal(id) ON DELETE SET NULL
);

CREATE TABLE product_template (
    id                   serial PRIMARY KEY,
    name                 jsonb   NOT NULL,
    default_code         varchar,
    detailed_type        varchar NOT NULL,
    type                 varchar,
    categ_id             int4    NOT NULL REFERENCES product_category(id) ON DELETE RESTRICT,
    uom_id               int4    NOT NULL REFERENCES uom_uom(id) ON DELETE RESTRICT,
    uom_po_id            int4    NOT NULL REFERENCES uom_uom(id) ON DELETE RESTRICT,
    company_id           int4,
    active               bool,
    sale_ok              bool,
    weight               numeric,
    volume               numeric,
    tracking             varchar NOT NULL,
    use_expiration_date  bool,
    expiration_time      int4,
    removal_time         int4
);

CREATE TABLE product_product (
    id               serial PRIMARY KEY,
    product_tmpl_id  int4 NOT NULL REFERENCES product_template(id) ON DELETE CASCADE,
    default_code     varchar,
    barcode          varchar,
    active           bool,
    weight           numeric,
    volume           numeric
);

-- ---------- warehouse topology ---------------------------------------------
CREATE TABLE stock_location (
    id                   serial PRIMARY KEY,
    name                 varchar NOT NULL,
    complete_name        varchar,
    active               bool,
    usage                varchar NOT NULL,
    location_id          int4 REFERENCES stock_location(id) ON DELETE CASCADE,
    parent_path          varchar,
    company_id           int4,
    scrap_location       bool,
    return_location      bool,
    removal_strategy_id  int4 REFERENCES product_removal(id) ON DELETE SET NULL,
    barcode              varchar,
    warehouse_id         int4
);
CREATE INDEX stock_location__parent_path_index ON stock_location (parent_path);

CREATE TABLE stock_warehouse (
    id                serial PRIMARY KEY,
    name              varchar    NOT NULL,
    code              varchar(5) NOT NULL,
    active            bool,
    company_id        int4       NOT NULL REFERENCES res_company(id),
    view_location_id  int4       NOT NULL REFERENCES stock_location(id),
    lot_stock_id      int4       NOT NULL REFERENCES stock_location(id),
    delivery_steps    varchar    NOT NULL,
    pick_type_id      int4,
    pack_type_id      int4,
    out_type_id       int4,
    CONSTRAINT stock_warehouse_warehouse_code_uniq UNIQUE (code, company_id)
);
ALTER TABLE stock_location ADD CONSTRAINT stock_location_warehouse_id_fkey
    FOREIGN KEY (warehouse_id) REFERENCES stock_warehouse(id) ON DELETE SET NULL;

CREATE TABLE stock_picking_type (
    id                        serial PRIMARY KEY,
    name                      jsonb   NOT NULL,
    code                      varchar NOT NULL,
    sequence_code             varchar NOT NULL,
    warehouse_id              int4 REFERENCES stock_warehouse(id) ON DELETE CASCADE,
    default_location_src_id   int4 REFERENCES stock_location(id),
    default_location_dest_id  int4 REFERENCES stock_location(id),
    reservation_method        varchar NOT NULL,
    create_backorder          varchar NOT NULL,
    active                    bool,
    company_id                int4    NOT NULL REFERENCES res_company(id)
);
ALTER TABLE stock_warehouse ADD CONSTRAINT stock_warehouse_pick_type_id_fkey
    FOREIGN KEY (pick_type_id) REFERENCES stock_picking_type(id) ON DELETE SET NULL;
ALTER TABLE stock_warehouse ADD CONSTRAINT stock_warehouse_out_type_id_fkey
    FOREIGN KEY (out_type_id) REFERENCES stock_picking_type(id) ON DELETE SET NULL;

-- ---------- lots -----------------------------------------------------------
CREATE TABLE stock_lot (
    id               serial PRIMARY KEY,
    name             varchar NOT NULL,
    ref              varchar,
    product_id       int4    NOT NULL REFERENCES product_product(id) ON DELETE RESTRICT,
    product_uom_id   int4,
    company_id       int4    NOT NULL REFERENCES res_company(id),
    expiration_date  timestamp,
    use_date         timestamp,
    removal_date     timestamp,
    alert_date       timestamp,
    create_date      timestamp
);

-- ---------- delivery carriers (delivery in 16, stock_delivery in 17) ------
CREATE TABLE delivery_carrier (
    id             serial PRIMARY KEY,
    name           jsonb   NOT NULL,
    sequence       int4,
    delivery_type  varchar NOT NULL,
    active         bool,
    product_id     int4    NOT NULL REFERENCES product_product(id) ON DELETE RESTRICT,
    company_id     int4,
    fixed_price    numeric
);

-- ---------- transfers ------------------------------------------------------
CREATE TABLE procurement_group (
    id          serial PRIMARY KEY,
    name        varchar NOT NULL,
    move_type   varchar NOT NULL,
    partner_id  int4 REFERENCES res_partner(id)
);

CREATE TABLE stock_picking (
    id                serial PRIMARY KEY,
    name              varchar,
    origin            varchar,
    note              text,
    move_type         varchar NOT NULL,
    state             varchar,
    group_id          int4 REFERENCES procurement_group(id) ON DELETE SET NULL,
    priority          varchar,
    scheduled_date    timestamp,
    date_deadline     timestamp,
    date              timestamp,
    date_done         timestamp,
    location_id       int4 NOT NULL REFERENCES stock_location(id) ON DELETE RESTRICT,
    location_dest_id  int4 NOT NULL REFERENCES stock_location(id) ON DELETE RESTRICT,
    picking_type_id   int4 NOT NULL REFERENCES stock_picking_type(id) ON DELETE RESTRICT,
    partner_id        int4 REFERENCES res_partner(id) ON DELETE SET NULL,
    company_id        int4 REFERENCES res_company(id) ON DELETE SET NULL,
    user_id           int4 REFERENCES res_users(id) ON DELETE SET NULL,
    carrier_id        int4 REFERENCES delivery_carrier(id) ON DELETE SET NULL,
    weight            numeric,
    create_date       timestamp,
    write_date        timestamp,
    CONSTRAINT stock_picking_name_uniq UNIQUE (name, company_id)
);

CREATE TABLE stock_move (
    id                serial PRIMARY KEY,
    name              varchar   NOT NULL,
    sequence          int4,
    priority          varchar,
    date              timestamp NOT NULL,
    company_id        int4      NOT NULL REFERENCES res_company(id),
    product_id        int4      NOT NULL REFERENCES product_product(id) ON DELETE RESTRICT,
    product_qty       numeric,
    product_uom_qty   numeric   NOT NULL,
    product_uom       int4      NOT NULL REFERENCES uom_uom(id) ON DELETE RESTRICT,
    location_id       int4      NOT NULL REFERENCES stock_location(id),
    location_dest_id  int4      NOT NULL REFERENCES stock_location(id),
    partner_id        int4,
    picking_id        int4 REFERENCES stock_picking(id) ON DELETE SET NULL,
    state             varchar,
    procure_method    varchar   NOT NULL,
    group_id          int4,
    picking_type_id   int4,
    reference         varchar
);

CREATE TABLE stock_move_line (
    id                serial PRIMARY KEY,
    picking_id        int4 REFERENCES stock_picking(id) ON DELETE SET NULL,
    move_id           int4 REFERENCES stock_move(id) ON DELETE SET NULL,
    company_id        int4      NOT NULL REFERENCES res_company(id),
    product_id        int4 REFERENCES product_product(id) ON DELETE CASCADE,
    product_uom_id    int4      NOT NULL REFERENCES uom_uom(id),
    lot_id            int4 REFERENCES stock_lot(id) ON DELETE SET NULL,
    lot_name          varchar,
    date              timestamp NOT NULL,
    location_id       int4      NOT NULL REFERENCES stock_location(id),
    location_dest_id  int4      NOT NULL REFERENCES stock_location(id),
    state             varchar,
    reference         varchar
);

CREATE TABLE stock_quant (
    id                 serial PRIMARY KEY,
    product_id         int4      NOT NULL REFERENCES product_product(id) ON DELETE RESTRICT,
    company_id         int4,
    location_id        int4      NOT NULL REFERENCES stock_location(id) ON DELETE RESTRICT,
    lot_id             int4 REFERENCES stock_lot(id) ON DELETE RESTRICT,
    package_id         int4,
    owner_id           int4,
    quantity           numeric,
    reserved_quantity  numeric   NOT NULL,
    in_date            timestamp NOT NULL,
    removal_date       timestamp
);

-- ---------- mail: chatter and activities ----------------------------------
CREATE TABLE mail_message_subtype (
    id             serial PRIMARY KEY,
    name           jsonb   NOT NULL,
    description    jsonb,
    internal       bool,
    parent_id      int4,
    relation_field varchar,
    res_model      varchar,
    "default"      bool,
    sequence       int4,
    hidden         bool,
    track_recipients bool
);

CREATE TABLE mail_activity_type (
    id               serial PRIMARY KEY,
    name             jsonb   NOT NULL,
    summary          jsonb,
    sequence         int4,
    active           bool,
    delay_count      int4,
    delay_unit       varchar NOT NULL,
    delay_from       varchar NOT NULL,
    icon             varchar,
    decoration_type  varchar,
    res_model        varchar,
    chaining_type    varchar NOT NULL,
    category         varchar,
    default_user_id  int4
);

CREATE TABLE mail_message (
    id                     serial PRIMARY KEY,
    subject                varchar,
    date                   timestamp,
    body                   text,
    parent_id              int4 REFERENCES mail_message(id) ON DELETE SET NULL,
    model                  varchar,
    res_id                 int4,
    record_name            varchar,
    message_type           varchar NOT NULL,
    subtype_id             int4 REFERENCES mail_message_subtype(id) ON DELETE SET NULL,
    mail_activity_type_id  int4 REFERENCES mail_activity_type(id) ON DELETE SET NULL,
    is_internal            bool,
    email_from             varchar,
    author_id              int4 REFERENCES res_partner(id) ON DELETE SET NULL,
    reply_to               varchar,
    message_id             varchar,
    create_uid             int4 REFERENCES res_users(id) ON DELETE SET NULL,
    create_date            timestamp,
    write_uid              int4 REFERENCES res_users(id) ON DELETE SET NULL,
    write_date             timestamp
);
CREATE INDEX mail_message_model_res_id_idx ON mail_message (model, res_id);
CREATE INDEX mail_message__message_id_index ON mail_message (message_id);

CREATE TABLE mail_activity (
    id                    serial PRIMARY KEY,
    res_model_id          int4    NOT NULL REFERENCES ir_model(id) ON DELETE CASCADE,
    res_model             varchar,
    res_id                int4,
    res_name              varchar,
    activity_type_id      int4 REFERENCES mail_activity_type(id) ON DELETE RESTRICT,
    summary               varchar,
    note                  text,
    date_deadline         date    NOT NULL,
    automated             bool,
    user_id               int4    NOT NULL REFERENCES res_users(id) ON DELETE CASCADE,
    request_partner_id    int4,
    recommended_activity_type_id int4,
    previous_activity_type_id    int4,
    create_uid            int4 REFERENCES res_users(id) ON DELETE SET NULL,
    create_date           timestamp,
    write_uid             int4 REFERENCES res_users(id) ON DELETE SET NULL,
    write_date            timestamp
);
CREATE INDEX mail_activity__res_id_index ON mail_activity (res_id);
CREATE INDEX mail_activity__res_model_index ON mail_activity (res_model);
