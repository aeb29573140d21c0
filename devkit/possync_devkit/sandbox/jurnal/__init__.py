"""A local, faithful emulator of the Mekari Jurnal API (the ``api.mekari.com`` HMAC generation).

Written from shared/reference/accounting_apis.md §1 and shared/specs/jurnal_swagger.json alone; it imports
nothing from possync, so the hooks and mappings are checked against the documentation, not against themselves.

Start it
========
::

    python -m possync_devkit.sandbox.jurnal --host 127.0.0.1 --port 8601 --db var/sandbox/jurnal.db \\
        [--per-minute 30 --per-hour 1800 --per-ip-minute 40 --per-ip-hour 2500] \\
        [--error-rate 0.2 --error-status 503 --latency-ms 200 --drop-after-commit-rate 0.1 --seed 1] \\
        [--client ID:SECRET ...] [--account "Kas Outlet Senayan" ...] [--no-key-filters] [--not-found-status 422] \\
        [--number-match exact|trimmed|casefold] [--batch-failure partial|whole] [--conflict-id existing|null] \\
        [--return-dedup transaction_no|none] [--deleted-numbers free|kept]

or in-process: ``create_app(SandboxConfig(db_path=":memory:"))`` and serve it with uvicorn.

- Base URL: ``http://127.0.0.1:8601/public/jurnal/api/v1`` (demo port :data:`DEMO_PORT` = 8601).
- Demo credentials: client id :data:`DEMO_CLIENT_ID` = ``possync-demo``,
  client secret :data:`DEMO_CLIENT_SECRET` = ``possync-demo-secret``.
- State persists in the SQLite file (``:memory:`` for tests); a restarted sandbox keeps its documents.

What it emulates
================
Auth (§1.2): ``Authorization: hmac username="<id>", algorithm="hmac-sha256", headers="date request-line",
signature="<b64>"``, the signature being base64(HMAC-SHA256(secret, ``"date: <Date>\\n<METHOD> <path?query>
HTTP/1.1"``)) over the raw path and query exactly as sent; ``Date`` an RFC 7231 IMF-fixdate in GMT within 300 s
(older or future -> 401); ``Digest: SHA-256=<b64(sha256(body))>`` on POST/PUT/PATCH/DELETE (missing or wrong
-> 401). Unknown client id -> 401. Every 401 body is ``{"error": "Unauthorized", "message": "<which check
failed>"}`` (the second of the two 401 shapes the swagger shows).

Routes (JSON; envelope = the singular resource name; ``{id}`` = integer id; where the swagger's path
parameter says "ID or Custom ID" the custom_id is accepted too, the numeric id winning when both match):

=====================================================  ==========================================
``POST /warehouses``, ``GET /warehouses``,               ``{"warehouse": {...}}``; GET by id or custom_id;
``GET /warehouses/{id}``                                 the default "Unassigned" warehouse has id -1
``POST /products``, ``POST /products/batch_create``,     ``{"product": {...}}``; GET by id or custom_id
``GET /products``, ``GET /products/{id}``
``POST /customers``, ``POST /customers/batch_create``,   ``{"customer": {...}}``; GET by id only
``GET /customers``, ``GET /customers/{id}``
``POST /sales_invoices``, ``.../batch_create``,          ``{"sales_invoice": {...}}``; GET by id only
``GET /sales_invoices``, ``GET /sales_invoices/{id}``,
``GET /sales_invoices/{id}/receive_payments``
``POST /receive_payments``, ``.../batch_create``,        ``{"receive_payment": {...}}``; GET by id or custom_id
``GET /receive_payments``, ``GET /receive_payments/{id}``
``POST /sales_returns``, ``GET /sales_returns``,         ``{"sales_return": {...}}``; GET by id or custom_id
``GET /sales_returns/{id}``
``POST /bank_withdrawals``, ``GET /bank_withdrawals``,   ``{"bank_withdrawal": {...}}``; GET/DELETE by id or
``GET|DELETE /bank_withdrawals/{id}``                     custom_id ("Bank Withdrawal ID or Custom ID")
``GET /accounts``, ``GET /accounts/{id}``                the seeded chart of accounts (read only)
``POST /warehouse_transfers``,                           ``{"warehouse_transfer": {...}}``; GET/DELETE by id,
``GET /warehouse_transfers``,                            transaction_no or custom_id (no batch, no PATCH)
``GET|DELETE /warehouse_transfers/{id}``
``POST /stock_adjustments``, ``GET /stock_adjustments``  ``{"stock_adjustment": {...}}``; GET by id, or
``GET|DELETE /stock_adjustments/{id}``                   ``?search_by=transaction_no&transaction_type=...``
``GET /public/jurnal/scm/public/lo/v1/products/``        stock per product and warehouse (see Stock below)
``get_product_quantity_per_warehouse?ids=1,2``
=====================================================  ==========================================

Create answers 201 ``{"<singular>": {...document...}}``; DELETE answers 204 with an empty body.
Batch takes ``{"<plural>": [{"<singular>": {...}}, ...]}`` (1..100 items; more -> 422 before anything is
written) and answers ``{"<plural>": [{"<singular>": {"status": 201, "content": {...document...}}},
{"<singular>": {"status": 422, "content": {...error body...}}}, ...]}``, one result per item, in order, with
HTTP 201 for sales_invoices and 200 for the others (as in each endpoint's swagger example).

Lists take ``page`` (default 1), ``page_size`` (default 20), ``sort_key``, ``sort_order`` (asc|desc), and
answer ``{"<plural>": [...], "total_count", "current_page", "total_pages", "links": {"prev_link",
"next_link"}}``. Transactions filter on ``transaction_date`` with ``start_date`` / ``end_date``; every list
filters on ``created_start_date`` / ``created_end_date`` / ``updated_start_date`` / ``updated_end_date``; filter
dates are ``dd/mm/yyyy`` or ``dd-mm-yyyy`` (anything else -> 400).

Rules enforced (422 in the Rails shape ``{"<attribute>": "<message>", "id": null|<existing id>,
"error_full_messages": ["<Attribute> <message>", ...]}``, every failing attribute at once):

- required fields: invoice ``transaction_date``, a customer (``person_id`` / ``person_name``) and non-empty
  ``transaction_lines_attributes`` each naming a product (``product_id`` / ``product_custom_id`` win over
  ``product_code`` / ``product_name``; whatever is sent must agree); product ``name``, ``product_code`` and
  ``unit_name`` (required in the swagger schema); customer ``display_name``; warehouse ``name``; payment
  ``transaction_date``, ``records_attributes`` and ``payment_method_id`` or ``payment_method_name``; return
  ``transaction_date``, ``invoice_id`` or ``invoice_no``, ``transaction_return_lines_attributes`` with
  ``return_quantity``.
- references by name / code / custom_id: an unknown one is a 422 naming it, e.g. ``{"product": "(Product with
  product_code 'SKU-9' was not found (line 2).)", "transaction_lines": "is not valid", ...}``,
  ``{"person": "(Customer with person_name 'Budi' was not found.)"}``, ``{"warehouse": "(Warehouse with
  warehouse_name 'X' was not found.)"}``, ``{"line_tax": ...}``, ``{"deposit_to": ...}``.
- uniqueness, answered with the existing record's ``id`` (or null: ``conflict_id``): ``custom_id`` per resource ->
  ``"(Custom id attribute had already been used.)"``; ``transaction_no`` per transaction type ->
  ``"(Transaction number had already been used)"`` (both texts from create_conflicted_response.json);
  ``product_code`` -> ``"(Product code had already been used.)"``; customer ``display_name`` (case-insensitive)
  -> ``"(Display name had already been used.)"``; warehouse name and code likewise.
- receive payments: ``records_attributes[].transaction_no`` is the invoice number; the amount received per
  invoice may not exceed its remaining balance -> ``{"amount_receive": "(Value received cannot be greater than
  remaining balance.)", "records": "(Invoice 'INV-1' has a remaining balance of ...)"}``; an unknown
  ``payment_method_name`` is created; all invoices of one payment belong to one customer.
- sales returns: the invoice by ``invoice_id`` and/or ``invoice_no`` (must agree); each line matches an invoice
  line by ``transaction_line_id`` and/or ``product_id`` / ``product_name``; ``return_quantity`` <= sold - already
  returned -> else ``{"return_quantity": "(Return quantity 3.0 of 'Kopi' is greater than the quantity that
  can still be returned: 2.0 (sold 2.0, already returned 0.0) (return line 1).)"}``.
- bank withdrawals (wrapper ``bank_withdrawal``, money paid out, e.g. back to a customer): required
  ``transaction_date``, ``refund_from_id`` / ``refund_from_name`` / ``refund_from_number`` (a Cash & Bank account,
  else ``{"refund_from": "(Account 'X' is not a Cash & Bank account.)"}``), non-empty
  ``transaction_account_lines_attributes`` of ``{account_id | account_name | account_number, debit | credit,
  description}``; optional ``person_id`` / ``person_name`` (a customer), ``transaction_no``, ``custom_id``,
  ``memo``, ``tags``. Reply as the swagger example: ``{"id", "transaction_no", "custom_id", "memo",
  "transaction_date": "dd/mm/yyyy", "person": {"id", "name", "is_customer", "is_vendor"}, "refund_from": {"id",
  "name", "number", "category"}, "original_amount", "transaction_account_lines": [{"id", "description", "debit",
  "credit", "account": {...}, "line_tax"}], ...}``. No tax is computed (``line_tax_*`` is not read).
- warehouse transfers (wrapper ``warehouse_transfer``): required ``transaction_date``, ``from_warehouse_id`` /
  ``from_warehouse_name`` and ``to_warehouse_id`` / ``to_warehouse_name`` (-1 = "Unassigned"; the swagger has no
  ``*_warehouse_code`` for transfers, so none is read), non-empty ``warehouse_transfer_lines_attributes`` of
  ``{product_id | product_custom_id | product_code | product_name, quantity}`` (product rules as invoice lines;
  ``quantity`` required and > 0, decimals allowed); optional ``transaction_no``, ``custom_id``, ``memo``.
  Errors: ``{"from_warehouse": "(Warehouse with from_warehouse_name 'X' was not found.)"}``, ``{"to_warehouse":
  "(The destination warehouse must be different from the source warehouse 'A'.)"}``, ``{"product": "(Product
  with product_name 'X' was not found (line 2).)", "warehouse_transfer_lines": "is not valid"}``,
  ``{"quantity": "(Value must be greater than 0 (line 1).)"}`` / ``"can't be blank (line 1)"``,
  ``{"warehouse_transfer_lines_attributes": "can't be blank"}``, ``{"transaction_date": "can't be blank"}``.
  The reply follows the swagger example: ``{"id", "transaction_no", "transaction_date": "2016-07-18"`` (yyyy-mm-dd,
  as in the example), ``"memo", "custom_id", "from_warehouse": {"id", "name", "code"}, "to_warehouse": {...},
  "warehouse_transfer_line_attributes": [{"id", "quantity": "20.0", "product": {"id", "name", "code"}}]}`` plus
  ``created_at`` / ``updated_at``.
- stock adjustments (wrapper ``stock_adjustment``): required ``date`` and non-empty ``lines_attributes`` of
  ``{product_id | product_custom_id | product_code | product_name, actual_quantity, difference,
  use_custom_average_price, average_price}``. ``maintain_actual`` (default false, as the swagger's description
  says although its schema lists it as required): true = stock count, only ``actual_quantity`` is read (required,
  >= 0); false = stock in/out, only ``difference`` is read (required, signed, not 0 -> ``"(Value must not be 0
  (line 1).)"``). ``stock_adjustment_type``: ``General`` / ``Umum`` / ``1`` (default), ``Waste`` / ``Barang
  Rusak`` / ``2``, ``Production`` / ``Produksi`` / ``3``, ``Initial Quantity`` / ``Kuantitas Awal`` / ``4``, any
  case; rendered as the English name. Warehouse by ``warehouse_id`` / ``warehouse_name`` / ``warehouse_code``
  (optional; none = the Unassigned warehouse for stock, rendered as ``{"id": null, ...}`` as in the swagger
  example). Account by ``account_name`` / ``account_number`` / ``account_id``, of category Inventory, Other
  Expense, Expenses, Equity or Cost of Sales (the swagger's stock-adjustment account list); omitted -> the type's
  default account (get_stock_adjustment_type example): Inventory Adjustments (General), Waste Goods Expense
  (Waste), Cost of Production (Production), Inventory (Initial Quantity). A product may appear once per
  adjustment. ``use_custom_average_price`` true requires ``average_price`` (>= 0); otherwise the line's
  ``average_price`` is the product's ``buy_price_per_unit``. Reply (swagger example): ``{"id", "transaction_no",
  "custom_id", "memo", "date": "dd/mm/yyyy", "adjustment_type": "General", "maintain_actual", "account": {"id",
  "name", "number", "category": {...}}, "warehouse": {"id", "name", "code"}, "stock_adjustment_lines_attributes":
  [{"id", "product": {"id", "name", "code"}, "recorded_quantity", "actual_quantity", "difference",
  "average_price", "use_custom_average_price", "*_company_quantity_format", "average_price_currency_format"}],
  "tag": [{"id", "name"}], "tags_string", "entry": {"transaction_number": "Stock In/Out#10001"}, ...}`` where the
  three quantities are the line's effect *when read* (see Stock).
- transfers and adjustments only take products that track inventory -> ``{"product": "(Product 'Teh' does not
  track inventory; only inventory products have stock (line 1).)"}``.

Stock (see ``stock.py``)
========================
Every stock-affecting document writes stock moves per (warehouse, product): a sales invoice takes each line's
quantity out of its warehouse (Unassigned, -1, when it has none), a sales return puts the returned quantity back
into its warehouse (the invoice's by default), a transfer moves quantity from its source to its destination, a
stock in/out adds its signed ``difference``, and a stock count *sets* the level to its ``actual_quantity``.
Only products with ``track_inventory`` true have stock (other invoice lines write nothing). Levels are replayed in
(transaction date, creation order, line order), so a count keeps its actual quantity and its difference is what
separates it from the level just before it at the time stock is read: a document dated before a count but
entered after it changes the count's ``recorded_quantity`` / ``difference``, not the level after the count.
Deleting a transfer or adjustment removes its moves. Quantities are Decimal throughout; negative stock is not
refused (Jurnal's rule is undocumented).

``GET /public/jurnal/scm/public/lo/v1/products/get_product_quantity_per_warehouse?ids=1,2[&transaction_date=
yyyy-mm-dd]`` (same HMAC gateway, limits and faults; counted in ``/_sandbox/stats`` as ``GET /scm/public/lo/v1/products/
get_product_quantity_per_warehouse``) answers as the swagger example::

    {"data": [{"id": 1, "code": "PA001", "name": "Product A", "quantity": 80, "track_inventory": true,
               "unit": "Pcs", "warehouse_inventory": [{"id": -1, "name": "Unassigned", "code": "",
               "address": "", "quantity": 0}, {"id": 1001, "name": "Main Warehouse", ...}]}],
     "message": "Product quantity per warehouse retrieved", "status": 200}

with every warehouse (id order, Unassigned first) for every known product id, in the order asked; quantities
are JSON numbers (``double`` in the swagger); documents dated after ``transaction_date`` (default: today in the
company's time zone, as the swagger says) are not counted. No ``ids`` -> 400 ``{"message": "Query ids cannot be
empty", "status": 400}``; a non-numeric id or a bad date -> 400 in the same shape. ``GET /warehouses/{id}``
fills ``warehouse_inventory`` (``[{"id", "name", "code", "quantity": "50"}]`` per product with moves there, as of
today) and ``GET /products/{id}`` its ``quantity`` (the total, a string as in the swagger).

Totals (see ``amounts.py``; reproduces the swagger's worked examples to the rupiah). Per line:
``amount = quantity x rate x (100 - discount) / 100`` (``rate`` defaults to ``amount / quantity`` when only
``amount`` is sent, else to the product's ``sell_price_per_unit``; ``quantity`` defaults to 1).
``subtotal`` = sum of quantity x rate; ``discount_per_lines`` = subtotal - sum of line amounts;
``discount_price`` = line total x ``discount_unit`` % (``discount_type_name`` Percent, the default) or
``discount_unit`` (Value); taxes from ``line_tax_id`` / ``line_tax_name`` (seeded: PPN 11 %, PB1 10 %), on the line
amount less its pro-rata share of ``discount_price`` when ``tax_after_discount`` (default true);
``tax_amount`` = base x rate / 100, or base x rate / (100 + rate) with ``use_tax_inclusive`` (then it is
not added again); ``original_amount`` = line total - discount_price + shipping_price (+ tax_amount when
exclusive); ``witholding_amount`` = (line total - discount_price [- tax when inclusive]) x witholding_value %
(Percent) or witholding_value (Value); ``remaining`` = original_amount - witholding_amount - deposit -
payments - returns applied. Amounts come back as strings (``"10702000.0"``) with ``*_currency_format``
(``"Rp.  10.702.000,00"``), and ``transaction_status`` Open(1) / Paid(3) / Partial(4) / Overdue(5). Internally
everything is Decimal; requests may send numbers or numeric strings.

Rate limits (§1.6): per API consumer (client id) 30/min and 1,800/h, per IP 40/min and 2,500/h, fixed windows
resetting on the minute and the hour; a batch call counts once; a refused call does not count. Over the limit:
429 ``{"message": "API rate limit exceeded"}`` with ``Retry-After``. Every authenticated response carries
``x-ratelimit-limit-minute``, ``x-ratelimit-remaining-minute``, ``x-ratelimit-limit-hour``,
``x-ratelimit-remaining-hour`` (the consumer's windows).

Finding a record by its key (the idempotency path, §1.8): re-POSTing a document whose ``custom_id`` or
``transaction_no`` exists answers 422 with ``"id": <existing id>`` (``null`` with ``conflict_id='null'``); then
``GET /<resource>/{id}``. Products,
warehouses, receive payments and sales returns are also readable by ``GET /<resource>/{custom_id}``; warehouse
transfers by ``GET /warehouse_transfers/{transaction_no}`` (the swagger's "id/transaction_no") or
``{custom_id}``; stock adjustments by ``GET /stock_adjustments/{transaction_no}?search_by=transaction_no&
transaction_type=adjustment`` (count) or ``movement`` (in/out), the pair the swagger documents (one without the
other -> 400 ``{"error": "search_by and transaction_type must be sent together"}``).

Sandbox-only controls (outside the Jurnal prefix, no HMAC, no rate limit)
========================================================================
The shared admin API of every sandbox (``possync_devkit.sandbox.harness``): ``GET /_sandbox/health``;
``GET|POST /_sandbox/faults`` (body :class:`FaultConfig`, replaces the whole setting: ``{"error_rate": 0.2,
"error_status": 503, "latency_ms": 200, "drop_after_commit_rate": 0.0, "drop_after_commit_next": 2, "seed": 1}``);
``GET|POST /_sandbox/limits`` (:class:`RateLimits`; a POST replaces them and forgets the counted windows);
``GET /_sandbox/stats`` (``requests``, ``unauthorized``, ``rate_limited``, ``faults_injected``, ``drops``,
``by_status``, ``by_endpoint`` {"POST /sales_invoices/batch_create": n, ...}) and ``POST /_sandbox/stats/reset``;
``POST /_sandbox/reset`` (optional ``{"data", "stats", "faults", "limits"}`` flags, all true by default; ``limits``
restores the start-up limits with nothing counted; an unknown flag is refused with 422).
Error faults answer 5xx ``{"error": "Service Unavailable", "message": "... injected ..."}`` after auth and rate
limiting and before the route runs (nothing is written). A drop commits the write, sends the status line and
headers and half of the body, then closes the connection: clients see ``ChunkedEncodingError`` /
``RemoteProtocolError`` although the document exists.

Where the documentation is silent, the sandbox chose
====================================================
- Deletes (``DELETE /sales_invoices|receive_payments|sales_returns|bank_withdrawals|warehouse_transfers|
  stock_adjustments/{id}``, 204): a sales invoice that still has payments or returns is refused with a 422
  ``{"sales_invoice": "(Sales invoice <no> has payments; delete them before deleting the invoice.)", ...}``
  (Jurnal's web app asks the same; the API docs say nothing); a deleted payment or return stops counting on its
  invoice. What becomes of a deleted document's ``transaction_no`` and ``custom_id`` is undocumented:
  ``--deleted-numbers free`` (default, ``SandboxConfig.deleted_numbers``) lets a new document take them;
  ``kept`` keeps them taken ("had already been used", ``"id": null``) although nothing holds them.
- Batch failures (``--batch-failure``, ``SandboxConfig.batch_failure``; §1.5: "partial success or
  all-or-nothing ... is not documented"). Items run in order and later items see earlier ones (a duplicate inside
  one batch is a conflict naming the first). Over 100 items (or none) the whole call is a 422 and nothing is
  written, in both readings.

  - ``partial`` (default): each item in its own transaction; an invalid item gets ``{"status": 422, "content":
    <the same error body a single POST would get>}`` (400 for an item without its envelope) and the others are
    still created.
  - ``whole``: all items in one transaction; one invalid item makes the call a 422 and NOTHING is written. The
    body is Rails-shaped: ``{"<plural>": "(1 of 5 <plural> are not valid; none was created.)", "id": null,
    "errors": [{"index": <0-based>, "status": 422, "content": <the item's single-POST error body>}, ...],
    "error_full_messages": ["<Plural> (1 of 5 ...)", "Item 2: Product (Product with product_code 'X' was not
    found (line 1).)", ...]}``. Clients must not rely on this body's shape (only that nothing was written).
- The ``id`` of a conflict 422 (``--conflict-id``, ``SandboxConfig.conflict_id``; §1.7: "It may be the
  conflicting record (unconfirmed)"): ``existing`` (default) answers the id of the record holding the key, as the
  fixture's non-null ``id`` suggests; ``null`` answers ``"id": null`` as every other 422 does, so a client must
  find the holder itself: ``GET /<resource>/{custom_id}`` where the swagger's path parameter says "ID or Custom
  ID" (products, receive payments, ...), else the paged list (customers and sales invoices are readable by id
  only; the list's key filters are a sandbox convenience, off with ``--no-key-filters``).
- ``Retry-After`` on 429 (seconds to the reset of the window that is full): the reference documents no such
  header. Per-IP limits are enforced but not reported in headers.
- ``x-ratelimit-remaining-*`` are "likely" per the reference (Kong naming); they are sent.
- ``page_size`` is capped at 100 (silently clamped; ``total_pages`` reflects the clamp). The default order is
  newest first (as the swagger list examples); ``sort_key`` values not listed in the swagger are ignored.
- List filters ``custom_id``, ``transaction_no`` (transactions), ``product_code`` / ``name`` (products),
  ``display_name`` (customers), ``code`` / ``name`` (warehouses) are a SANDBOX CONVENIENCE: the swagger documents
  no such parameters, and the real API would ignore them and return the unfiltered list. ``--no-key-filters``
  (``SandboxConfig.key_filters=False``) makes the sandbox ignore them too; clients must not depend on them.
- Keys (``transaction_no``, ``custom_id``, ``product_code``): whether Jurnal trims them or ignores their case
  is undocumented. ``--number-match`` (``SandboxConfig.number_match``) picks one reading: ``exact`` (kept and
  matched as sent), ``trimmed`` (default: stripped, then matched exactly) or ``casefold`` (stripped, and a key
  differing only by case is the same key: "already been used", found by ``GET /{resource}/{key}``).
- 401 body: ``{"error": "Unauthorized", "message": ...}`` with a message saying which check failed.
- Not found: 404 ``{"error": "<Resource> not found"}``; ``--not-found-status 422`` switches to the other
  documented shape, 422 ``{"errors": "Data not found."}``.
- Missing envelope or empty body: 400 ``{"error": "param is missing or the value is empty: <name>"}`` (Rails);
  malformed JSON: 400.
- Messages for rules the fixtures don't show (unknown references, product_code / display_name / warehouse
  uniqueness, return quantities) are written in the fixtures' ``"(Sentence.)"`` style.
- Names (customers, products, warehouses, taxes, accounts, payment methods) match case-insensitively (the
  swagger's batch example resolves ``"agung"`` to ``"Agung"`` and ``"ppn"`` to ``"PPN"``); custom_id,
  transaction_no and product_code match exactly. Product names need not be unique; a name matching two products
  is refused as ambiguous.
- Customer ``display_name`` is unique (§1.3 partner report) although the swagger's batch example shows two
  customers named "Display Name"; ``SandboxConfig.unique_customer_display_name=False`` turns it off.
- Amounts are rounded to cents, half up; tax is rounded once per tax (``--tax-rounding line``: per line, then
  summed, the other reading of docs that say neither); an invoice Value discount is spread over
  lines pro rata to find tax bases; inclusive tax is extracted as base x rate / (100 + rate).
- Ids come from one sequence shared by all resources (so an id sent to the wrong resource is a 404);
  ``transaction_no`` defaults to 10001, 10002, ... per transaction type.
- Status: Paid when nothing remains, else Partial once anything was received, else Overdue after the due date
  (company time zone UTC+7), else Open. ``due_date`` defaults to ``transaction_date``.
- A sales return reduces the invoice's remaining balance by up to the return amount; any excess (a return of a
  paid invoice) would become a credit memo in Jurnal and is not emulated.
- Sales-return keys (``SandboxConfig.return_dedup``, ``--return-dedup``): the swagger's sales-return body has no
  ``transaction_no`` and no ``custom_id`` (accounting_apis.md §3 item 13), so how a return whose reply was lost is
  refused when sent again is undocumented. ``transaction_no`` (default): a sent ``transaction_no`` / ``custom_id``
  is kept and unique, a repeat is a 422 naming the existing return; ``none``: both are ignored, as the real API
  ignores undocumented attributes, and every return is numbered 10001, ... (a repeat is a second return).
- Transaction lists (``SandboxConfig.list_lines``, ``--list-lines``): the swagger gives the list replies no example,
  so whether a row carries the document's lines is undocumented. ``full`` (default): each row is the document as
  ``GET /<resource>/{id}`` answers it; ``none``: the rows leave out ``transaction_lines_attributes``.
- Bank withdrawals: the swagger's request lines document ``debit`` only; the reply's lines show ``debit`` and
  ``credit``, so a line may carry either (not both) and the withdrawal totals debits - credits, which must be > 0.
- Accounts (``deposit_to_name``, ``*_account_name``/``_number``/``_id``) resolve against a seeded default chart
  (English names, Indonesian aliases, see ``reference.py``) plus ``--account`` extras; an unknown account is 422.
  For stock adjustments the chart has: Inventory (1-10200, "Persediaan Barang"), Cost of Sales (5-50000, "Beban
  Pokok Pendapatan", "Cost of Goods Sold"), Opening Balance Equity (3-30999, "Ekuitas Saldo Awal"), Cost of
  Production (5-50900, "Biaya Produksi"), Waste Goods Expense (6-60900, "Beban Barang Rusak") and Inventory
  Adjustments (8-80900, Other Expense, "Inventory Adjustment", "Penyesuaian Persediaan", "Beban Penyesuaian
  Persediaan"); the names are the swagger's, the numbers follow the sandbox's 5-digit chart.
- Warehouse transfers: create answers 201 (the swagger's example is labelled 200; every other create in the
  sandbox is 201, as accounting_apis.md §1.3 says); the list answers the usual ``{"warehouse_transfers": [...],
  "total_count", ...}`` (the swagger's list example shows one object under ``warehouse_transfer``, evidently a
  copy of the GET example); ``transaction_date`` is rendered yyyy-mm-dd as in both examples while every other
  resource renders dd/mm/yyyy; ``GET``/``DELETE /warehouse_transfers/{x}``: numeric id first, then
  transaction_no, then custom_id. Single step, nothing in transit; ``editable`` is false (no PATCH).
- Stock adjustments number counts and stock in/out separately (``transaction_type`` adjustment / movement of
  GET by transaction_no): the same ``transaction_no`` may be used once by a count and once by an in/out;
  automatic numbers run 10001, ... per series. ``entry.transaction_number`` is ``"Stock Adjustment#<no>"`` for
  counts and ``"Stock In/Out#<no>"`` for in/out (the swagger shows only the latter). The list filter
  ``transaction_no`` (sandbox convenience) matches both series. ``*_company_quantity_format`` uses Indonesian
  grouping (``"1.500"``, ``"2,5"``); ``average_price_currency_format`` has one space after "Rp." as in this
  resource's examples. No costing: ``average_price`` is echoed, never computed from purchases.
- The SCM quantity route documents a Bearer header, but it sits behind the same gateway, so the sandbox asks for
  the same HMAC signature (401s in the gateway's shape); unknown product ids are left out of ``data``.
- A sandbox file written before stock was tracked gets the moves of its invoices and returns on the next start.

Deliberately not emulated
=========================
PATCH/PUT, DELETE of master data (customers, products, warehouses), every resource not listed above (vendors, purchases,
deliveries, ...), the stock adjustment / transfer approvals, comments, ``/stock_adjustments/new`` and
``check_existing_stock_adjustments``, the warehouse ``transactions`` list, the stock reports
(``warehouse_stock_quantity``, valuations), inventory costing, the legacy ``api.jurnal.id`` prefixes, webhooks,
sales orders / quotes
(``selected_po_id`` / ``selected_pq_id`` -> 422), bundles, product categories, terms (``term_name`` is echoed),
attachments, multi-currency (always IDR), credit memos (and their refunds and applications), bank withdrawals'
``batch_create`` and their line taxes, draft payment approval (a draft settles nothing),
witholding on payments (echoed, not booked), archived records (``include_archive`` is accepted and ignored),
the legacy 503-as-rate-limit behaviour, and the ``.pdf`` previews.
"""

from .app import SandboxState, create_app
from .config import (
    API_PREFIX,
    DEMO_CLIENT_ID,
    DEMO_CLIENT_SECRET,
    DEMO_DB_PATH,
    DEMO_HOST,
    DEMO_PORT,
    FaultConfig,
    RateLimits,
    SandboxConfig,
)

__all__ = [
    "API_PREFIX",
    "DEMO_CLIENT_ID",
    "DEMO_CLIENT_SECRET",
    "DEMO_DB_PATH",
    "DEMO_HOST",
    "DEMO_PORT",
    "FaultConfig",
    "RateLimits",
    "SandboxConfig",
    "SandboxState",
    "create_app",
]
