"""A local, faithful emulator of the Accurate Online API (API-token mode): "the Accurate sandbox".

Written from shared/reference/accounting_apis.md §2 and specs/accurate_openapi.json alone; it imports nothing
from possync outside this package (not even from the Jurnal sandbox), so clients are checked against the
documentation, not against themselves.

Start it
========
::

    python -m possync_devkit.sandbox.accurate --host 127.0.0.1 --account-port 8602 --data-port 8603 \\
        --db var/sandbox/accurate.db [--data-host-url http://127.0.0.1:8603] [--token TOKEN:SECRET ...] \\
        [--per-second 8|off --in-flight 8|off] [--throttle-response 429|200] [--timestamp-skew 300] [--tax-rate 11] \\
        [--number-match exact|trimmed|casefold] [--batch-failure partial|whole] [--deleted-numbers free|kept] \\
        [--error-rate 0.2 --error-status 503 --latency-ms 200 --drop-after-commit-rate 0.1 \\
         --drop-after-commit-next 2 --seed 1] [--account 1101.002:Kas Outlet Senayan[:CASH_BANK] ...]

Both hosts run in one process (two ``uvicorn.Server(...).serve()`` under ``asyncio.gather``) over one state.
In-process: ``account_app, data_app = create_apps(SandboxConfig(db_path=":memory:"))`` (or
``create_apps(state=create_state(config))``), serve each, then set ``app.state.sandbox.config.data_host_url``
(or ``POST /_sandbox/data-host {"url": ...}``) to the data app's public URL, which api-token.do answers.

Demo credentials (module constants): API token :data:`DEMO_API_TOKEN` = ``aat.possync-demo-token``, signature
secret :data:`DEMO_SIGNATURE_SECRET` = ``possync-demo-signature-secret``, database id :data:`DEMO_DATABASE_ID`
= 1742775, alias :data:`DEMO_DATABASE_ALIAS` = ``POSSYNC DEMO``. ``--token TOKEN:SECRET`` (repeatable)
adds tokens (all bound to the one database); ``SandboxConfig.tokens`` is the whole map.
State persists in the SQLite file (``:memory:`` allowed); a restarted sandbox keeps its documents, stock,
numbering counters and webhook subscription.

The wire contract
=================
Auth, on EVERY call of both hosts (``/_sandbox`` excepted): ``Authorization: Bearer <token>``,
``X-Api-Timestamp: dd/MM/yyyy HH:mm:ss`` in WIB (UTC+7, Asia/Jakarta), ``X-Api-Signature:
base64(HMAC-SHA256(key=signature secret, msg=<the timestamp string exactly as sent>))`` (standard base64 of the
raw digest, with padding). ``X-Session-ID`` is not needed (OAuth only) and ignored. Checked in this order; the
first failure answers HTTP 401:

- missing/unknown token -> ``{"error": "invalid_token", "error_description": "..."}``
- missing/unparseable timestamp, or more than 300 s (``--timestamp-skew``) from now ->
  ``{"s": false, "d": ["Header X-Api-Timestamp invalid or expired (<why>)"]}``
- missing/wrong signature -> ``{"s": false, "d": ["Header X-Api-Signature invalid"]}``

Account host: ``GET|POST /api/api-token.do`` -> ``{"s": true, "d": {"user": {"id": 1, "name": "POSSYNC Demo",
"email": ...}, "database": {"id": 1742775, "alias": "POSSYNC DEMO", "host": "<data host url>"}}}``;
``GET|POST /api/webhook-renew.do`` -> ``{"s": true, "d": "dd/MM/yyyy"}`` (the new expiry date, WIB, of the
webhook subscription, now + 7 days by the sandbox clock). Any other path, data-host paths included ->
404 ``{"s": false, "d": ["URL API tidak tepat"]}``.

Data host: ``/accurate/api/<module>/<action>.do`` (GET or POST; DELETE and PUT are accepted too). Unknown module/action,
or account-host paths -> the same 404. Envelope ``{"s": bool, "d": ...}``; business and validation errors are
HTTP 200 ``{"s": false, "d": ["<Indonesian message>", ...]}`` (every problem found in the failing phase).

===================  ====================================================  =================================
module               actions                                               detail.do key (besides ``id``)
===================  ====================================================  =================================
``customer``         save, bulk-save, list, detail                         ``customerNo``
``item``             save, bulk-save, list, detail, get-stock (``no``,     ``no``
                     ``warehouseName``)
``warehouse``        save, list, detail (no bulk-save, as the real one)    ``warehouseName`` / ``name``
``branch``           save, bulk-save, list, detail                         ``name``
``vendor``           save, bulk-save, list, detail                         ``vendorNo``
``glaccount``        list, detail (read only)                              ``no``
``sales-invoice``    save, bulk-save, list, detail, delete                 ``number``
``sales-receipt``    save, bulk-save, list, detail, delete                 ``number``
``sales-return``     save, bulk-save, list, detail, delete                 ``number``
``other-payment``    save, bulk-save, list, detail, delete                 ``number``
``receive-item``     save, bulk-save, list, detail, delete                 ``number``
``purchase-order``   save, bulk-save, list, detail, delete                 ``number``
``item-transfer``    save, bulk-save, list, detail, delete                 ``number``
``item-adjustment``  save, bulk-save, list, detail, delete                 ``number``
===================  ====================================================  =================================

Bodies: JSON (numbers parsed as Decimal) or ``application/x-www-form-urlencoded`` with flattened keys
(``detailItem[0].itemNo=...``, ``data[0].name=...``); query parameters are merged in (the body wins). Numbers are
JSON numbers or numeric strings; money is Decimal end to end, stored exactly in SQLite (decimal text, never a
float) and answered as exact JSON numbers (``36000``, ``42501.5``). Dates are ``dd/MM/yyyy``; a bad one is
``s:false`` naming the field (``Format tanggal transDate "2026-03-01" tidak tepat, gunakan dd/MM/yyyy``).

Seeds (a new database): branch ``Kantor Pusat``; warehouse ``Utama`` (the default warehouse of lines that name
none); vendor ``V.00001`` ``PT Pemasok Demo``; GL accounts ``1101.001`` Kas, ``1102.001`` Bank BCA,
``1102.002`` Bank Mandiri (CASH_BANK), ``1103.001`` Piutang Usaha, ``1104.001`` Persediaan Barang Dagang,
``2101.001`` Utang Usaha, ``2102.001`` PPN Keluaran, ``4101.001`` Penjualan, ``4102.001`` Retur Penjualan,
``4103.001`` Diskon Penjualan, ``4201.001`` Pendapatan Service Charge, ``5101.001`` Beban Pokok Penjualan,
``5102.001`` Beban Penyesuaian Persediaan (COGS; for item-adjustment ``adjustmentAccountNo``), ``6101.001``
Biaya Pengiriman, ``6102.001`` Kerugian Selisih Barang dalam Perjalanan (OTHER_EXPENSE; for item-transfer
``differenceItemTransferAccountNo``), plus ``--account NO:NAME[:TYPE]``. Seed accounts missing from an existing
database file (one seeded by an older sandbox) are added on start.

save.do -> ``{"s": true, "d": ["<Jenis> \"<key>\" berhasil disimpan"], "r": {<the saved record>}}`` where Jenis
is Pelanggan, Barang & Jasa, Gudang, Cabang, Pemasok, Faktur Penjualan, Penerimaan Penjualan, Retur Penjualan,
Pembayaran, Penerimaan Barang, Pesanan Pembelian, Pemindahan Barang, Penyesuaian Persediaan and key is customerNo /
no / name / vendorNo / number. ``id`` in save.do updates (customer, item, vendor, warehouse, branch; fields sent
replace, others stay; the key stays unless a new one is sent).

Natural keys, unique, caller-chosen or auto-numbered when empty (the duplicate check runs FIRST, before any other
validation, so a retried write always learns "already there"):

- customer ``customerNo``: ``Sudah ada data lain dengan ID Pelanggan "<no>"``; auto ``C.00001``...
- item ``no``: ``Sudah ada data lain dengan Kode Barang "<no>"``; auto ``100001``...
- vendor ``vendorNo``: ``... ID Pemasok "<no>"``; auto ``V.00002``...
- warehouse / branch ``name`` (case-insensitive): ``Sudah ada data lain dengan Nama "<name>"``
- sales-invoice ``number``: ``... Nomor Faktur "<n>"``, auto ``SI.<year of transDate>.00001``;
  sales-receipt ``... Nomor Penerimaan "<n>"``, auto ``CR.2026.00001``; sales-return ``... Nomor Retur "<n>"``,
  auto ``SRT.2026.00001``; other-payment ``... Nomor Pembayaran "<n>"``, auto ``OP.2026.00001``;
  receive-item ``... Nomor Penerimaan Barang "<n>"``, auto ``RI.2026.00001``;
  purchase-order ``... Nomor Pesanan Pembelian "<n>"``, auto ``PO.2026.00001``;
  item-transfer ``... Nomor Pemindahan Barang "<n>"``, auto ``IT.2026.00001`` (OUT and IN share the series);
  item-adjustment ``... Nomor Penyesuaian Persediaan "<n>"``, auto ``IA.2026.00001``.

References by key, unknown -> ``<Label> "<key>" tidak ditemukan`` (``Pelanggan``, ``Barang & Jasa``, ``Gudang``,
``Cabang``, ``Pemasok``, ``Akun Perkiraan``, ``Faktur Penjualan``, ``Pemindahan Barang``), line problems prefixed
``detailItem[<i>]: ``.
Required fields missing -> ``<Label> (<field>) harus diisi``.

Sales invoice (required ``customerNo``, ``transDate``, non-empty ``detailItem[]`` with ``itemNo``, ``quantity``
> 0, ``unitPrice`` >= 0). Amounts, all Decimal, rounded to the sen half up:

- line ``totalPrice`` = round2(qty x unitPrice - itemCashDiscount - qty x unitPrice x pct), where pct of a
  cascading ``itemDiscPercent`` ``"5+2"`` is 1 - 0.95 x 0.98 (both discounts apply to the gross amount);
  a negative line is refused.
- ``subTotal`` = sum of line totals; ``cashDiscount`` = the amount sent, or round2(subTotal x
  ``cashDiscPercent``) (0 <= cashDiscount <= subTotal).
- taxed lines: ``useTax1: true`` lines (default false: sandbox items carry no PPN setting), and only when the
  invoice is ``taxable`` (default: true iff some line says useTax1 true). Tax base = taxed line totals less
  their pro-rata share of cashDiscount (cashDiscount x taxed / subTotal), unrounded.
- a line's tax is its item's: the item's ``tax1Name`` (a tax record seeded by ``SandboxConfig.taxes``: PPN 11 %,
  PB1 10 %; an unknown name is refused on item save), else PPN at ``--tax-rate``. Taxed lines are grouped per
  tax: not ``inclusiveTax``: tax = round2(base x r) per tax, ``taxAmount`` = ``tax1Amount`` = their sum and
  ``totalAmount`` = subTotal - cashDiscount + taxAmount + totalExpense. ``inclusiveTax``: tax = round2(base x
  r/(1+r)) per tax (informational, the part included) and totalAmount = subTotal - cashDiscount + totalExpense.
  ``detailTax[]{taxName, rate, taxableAmount, taxAmount}`` (the sandbox's own field: the openapi documents no
  per-tax breakdown of a reply) gives each tax. ``--tax-rounding line`` rounds each line's tax, then sums (the
  docs say neither).
- ``detailExpense[]{accountNo (must exist), expenseAmount, expenseName, expenseNotes}``: ``totalExpense`` = sum.
- ``primeOwing`` = totalAmount - receipts (payments + their detailDiscount) - returns applied; also
  ``receiptAmount``, ``returnAmount``, ``outstanding`` (bool), ``statusName`` (Belum Lunas/Lunas), ``dueDate``
  (= transDate). Each line carries ``itemNo``, ``item {id, no, name, itemType}``, ``warehouseName``,
  ``warehouse {id, name}``, ``detailName`` (the item's name unless sent), ``totalPrice``, ``id``.
- INVENTORY items leave the line's warehouse (default ``Utama``); stock may go negative (no "stok minus" check).

Sales receipt (required ``customerNo``, ``bankNo`` (a CASH_BANK account, else ``Akun Perkiraan "<no>" bukan
akun Kas/Bank``), ``chequeAmount``, ``transDate``, ``detailInvoice[]{invoiceNo, paymentAmount,
detailDiscount[]{accountNo, amount}}``; ``paymentMethod`` one of the spec's enum): each invoice must exist,
belong to the customer, appear once; paymentAmount > 0 and paymentAmount + discounts <= primeOwing (``Nilai
pembayaran Faktur "<n>" (<x>) melebihi sisa piutang (<owing>)``); the receipt date may not precede the invoice
date unless ``passValidateInvoiceDate``; sum of paymentAmount must equal chequeAmount.

Sales return (required ``customerNo``, ``transDate``, ``returnType``; INVOICE needs ``invoiceNumber``, an invoice
of that customer; NO_INVOICE returns without an invoice; DELIVERY and INVOICE_DP are refused as not emulated).
Lines ``detailItem[]{itemNo, quantity, unitPrice?, itemDiscPercent?, itemCashDiscount?, useTax1?,
warehouseName?}``; for INVOICE returns missing values come from the invoice's first line of that item
(itemCashDiscount pro rata to the quantity), and ``taxable`` / ``inclusiveTax`` from the invoice. The item must
be on the invoice; quantity per item <= sold - already returned (``Kuantitas retur Barang "<no>" (<q>) melebihi
sisa yang dapat diretur ...``). Totals use the invoice formulas; ``totalAmount`` reduces the invoice's primeOwing,
not below 0 (``appliedToInvoiceAmount``; any excess would be a customer credit in Accurate, not emulated); stock
goes back into the line's warehouse. The spec's required ``taxDate``, ``taxNumber`` and ``detailExpense`` are
treated as optional (spec artefacts, as for the invoice's ``detailDownPayment``/``detailExpense``).

Other payment ("Pembayaran", money paid out of a cash/bank account; required ``bankNo`` (a CASH_BANK account),
``payee``, ``transDate``, non-empty ``detailAccount[]{accountNo, amount, expenseName}`` (all three required, as
the openapi says; ``memo`` optional)): every account must exist; ``amount`` is the sum of the lines and must be
> 0 (``Jumlah pembayaran (<x>) harus lebih besar dari 0``); a line may be negative (the openapi sets no sign,
and a payment booked partly against an account it credits is ordinary bookkeeping). Nothing is settled: it books
money out of ``bankNo`` against the lines' accounts. The openapi documents no webhook type for it; none is sent.

Receive item (required ``vendorNo``, ``receiveNumber``, ``transDate``, ``detailItem[]{itemNo, quantity,
unitPrice, warehouseName}``, warehouse defaulting to ``Utama``): adds INVENTORY stock to the warehouse. Detail:
header ``vendorNo``, ``vendor {id, vendorNo, name}``, ``receiveNumber``, ``shipDate``, ``subTotal``,
``totalAmount``; lines as the invoice's (``itemNo`` flat and ``item {id, no, name, itemType}`` nested, the
shape of Accurate's detail responses). ``delete.do`` (``id`` or ``number``) removes it and its stock.

Purchase order (Pesanan Pembelian; required ``vendorNo``, ``transDate``, ``detailItem[]{itemNo, quantity,
unitPrice}``; optional ``number``, ``shipDate``, ``branchName``, ``description``): priced lines as the invoice's, no
stock moved and no warehouse (the spec's detailItem has no warehouseName; one sent is ignored). Detail: header
``vendorNo``, ``vendor {id, vendorNo, name}``, ``branchName`` / ``branchId`` (null when none was sent),
``shipDate`` (null when none), ``subTotal``, ``totalAmount``; lines ``itemNo``, ``item {...}``, ``quantity``,
``unitPrice``, ``totalPrice``, ``id``. ``delete.do`` removes it.

Item transfer (Pemindahan Barang), two steps as in Accurate. Required ``itemTransferType`` (``TRANSFER_OUT`` |
``TRANSFER_IN``), ``transDate``, ``warehouseName`` and non-empty ``detailItem[]{itemNo, quantity > 0,
itemUnitName?, detailName?, detailNotes?}``; optional ``number``, ``branchName``, ``description``,
``saveAsStatusType``, ``differenceItemTransferAccountNo`` (an existing GL account when sent). Items must be
INVENTORY (``detailItem[i]: Barang & Jasa "<no>" bukan barang persediaan (itemType SERVICE); hanya barang
INVENTORY yang memiliki stok``). Stock may go negative, as elsewhere.

- ``TRANSFER_OUT`` also requires ``referenceWarehouseName`` (the destination; ``Gudang Tujuan
  (referenceWarehouseName) harus diisi untuk TRANSFER_OUT``), different from ``warehouseName`` (the source), and
  refuses ``fromItemTransferNo``. Its quantities leave the source and go into the system warehouse ``Transit (AOL
  System)`` (created on the first OUT). Record: ``itemTransferOutStatus`` ``SENDING`` -> ``FULL_RECEIVED`` or
  ``PARTIAL_RECEIVED`` (the spec's enum of the list filter), ``itemTransferInNo`` / ``itemTransferIn {id,
  number}`` (the IN that received it, else null), ``totalQuantity``, ``totalQuantityInTransit``, and per line
  ``quantity`` (sent), ``quantityReceived``, ``quantityDifference`` (written off), ``quantityInTransit``.
- ``TRANSFER_IN`` requires ``fromItemTransferNo`` (``Pemindahan Barang asal (fromItemTransferNo) harus diisi untuk
  TRANSFER_IN``), an existing OUT (``Pemindahan Barang "<no>" tidak ditemukan``; an IN's number -> ``... bukan
  pengiriman barang (TRANSFER_OUT) ...``) not yet received (``Pemindahan Barang "<out>" sudah diterima dengan
  Pemindahan Barang "<in>"``). ``warehouseName`` must be the OUT's destination (``Gudang (warehouseName) "<w>" bukan
  Gudang Tujuan Pemindahan Barang "<out>" (barang dikirim ke "<dest>")``); ``referenceWarehouseName`` is optional
  and, when sent, must be the OUT's source; ``transDate`` may not precede the OUT's. Lines: only items the OUT sent
  (``detailItem[i]: Barang "<no>" tidak ada di Pemindahan Barang "<out>"``), at most what it sent per item
  (``Kuantitas terima Barang "<no>" (<q>) melebihi kuantitas kirim Pemindahan Barang "<out>" (<sent>)``); several
  lines of one item add up. ONE IN receives and closes its OUT: everything the OUT sent leaves transit, what the IN
  lists goes into its warehouse, the rest (items received short or not listed) is a difference written off to
  ``differenceItemTransferAccountNo``, which is then required (``Akun Selisih Pemindahan Barang
  (differenceItemTransferAccountNo) harus diisi: kuantitas terima lebih kecil dari kuantitas kirim Pemindahan
  Barang "<out>" (Barang "<no>" kirim <s> terima <r>; ...)``); the OUT becomes ``FULL_RECEIVED`` (no difference) or
  ``PARTIAL_RECEIVED``. The IN record: ``fromItemTransferNo``, ``fromItemTransfer {id, number}``,
  ``referenceWarehouseName`` (the OUT's source), ``detailDifference[]{itemNo, quantitySent, quantityReceived,
  quantityDifference}``, ``totalQuantity``, ``totalQuantityDifference``.
- Both carry ``warehouseName``/``warehouseId``/``warehouse {id, name}``, ``referenceWarehouseName``/
  ``referenceWarehouseId``/``referenceWarehouse``, ``branchName``/``branchId``, ``approvalStatus`` (APPROVED),
  ``differenceItemTransferAccountNo``/``differenceItemTransferAccount``. List filters (the generic machinery):
  ``filter.itemTransferType``, ``filter.itemTransferOutStatus`` (only OUTs have it: EQUAL selects OUTs; NOT_EQUAL
  keeps the INs too, add ``filter.itemTransferType=TRANSFER_OUT``), ``filter.warehouseId`` (an OUT's source / an
  IN's destination), ``filter.referenceWarehouseId``, ``filter.branchId``, ``filter.transDate``, keywords.
- ``delete.do``: an OUT not yet received puts its goods back from transit into its source; a received OUT is
  refused (``Pemindahan Barang "<out>" sudah diterima dengan Pemindahan Barang "<in>"; hapus penerimaan tersebut
  terlebih dahulu``). Deleting an IN takes its goods out of its warehouse, puts everything the OUT sent back into
  transit (the write-off is undone) and reopens the OUT (``SENDING``, ready to be received again).

Item adjustment (Penyesuaian Persediaan). Required ``adjustmentAccountNo`` (an existing GL account, e.g. the seeded
``5102.001``), ``transDate``, non-empty ``detailItem[]`` with, on EVERY line, ``itemNo`` (an INVENTORY item),
``itemAdjustmentType`` (``ADJUSTMENT_IN`` | ``ADJUSTMENT_OUT``), ``quantity`` > 0 and ``unitCost`` >= 0 (the spec lists
itemNo, itemAdjustmentType and unitCost as the lines' required fields; a missing one -> ``detailItem[i]: Biaya Satuan
(unitCost) harus diisi``); optional ``warehouseName`` (default ``Utama``), ``itemUnitName``, ``detailName``,
``detailNotes``, and header ``number``, ``branchName``, ``description``. ADJUSTMENT_IN adds the quantity to the line's
warehouse, ADJUSTMENT_OUT takes it away (may go negative). unitCost is read for ADJUSTMENT_IN only (line ``unitCost``
and ``totalCost`` = round2(quantity x unitCost)); on OUT lines both are null (Accurate values goods out at average cost,
not emulated). Record: ``adjustmentAccountNo``, ``adjustmentAccount {id, no, name}``, ``branchName``/``branchId``, lines
as above plus ``item {...}``, ``warehouse {id, name}``, ``id``. ``delete.do`` reverses every line.

Item detail adds ``detailWarehouseData[] {warehouseId, warehouseName, balance}`` (warehouses with stock rows; the
goods in transit appear as the row ``Transit (AOL System)``), ``balance`` (the total, transit included: a transfer
does not change what is owned, a written-off difference does) and ``availableToSell`` (the total without
transit); ``get-stock.do?no=&warehouseName=`` -> ``{"s": true, "d": {"itemNo", "warehouseName", "availableStock",
"balance"}}``: one warehouse (``Transit (AOL System)`` allowed: its balance, availableStock 0), or all when
warehouseName is empty (balance with transit, availableStock without). ``detailOpenBalance[]{quantity,
warehouseName}`` on item creation adds opening stock.

The transit warehouse ``Transit (AOL System)`` (``systemWarehouse: true`` in warehouse list/detail) is created by
the first TRANSFER_OUT, holds exactly the quantities of the OUTs still ``SENDING``, and is the system's: naming it
as any document's warehouse -> ``Gudang "Transit (AOL System)" adalah gudang sistem (barang dalam perjalanan) dan
tidak dapat dipakai di transaksi``; warehouse/save.do with that name -> ``Nama Gudang "<name>" dipakai oleh
sistem (gudang barang dalam perjalanan)``; updating it -> ``Gudang "Transit (AOL System)" adalah gudang sistem dan
tidak dapat diubah``.

Numbers (``number``, ``customerNo``, item ``no``): whether Accurate trims them or ignores their case is
undocumented. ``--number-match`` (``SandboxConfig.number_match``) picks one reading: ``exact`` (kept and matched
as sent), ``trimmed`` (default: stripped, then matched exactly) or ``casefold`` (stripped, and a number that
differs only by case is taken: "Sudah ada data lain dengan ...", and found by detail.do).

detail.do: ``id`` or the module's key; a record that does not exist -> HTTP 200 ``{"s": false, "d": ["Data
tidak ditemukan"]}`` (exactly).

list.do (GET, or POST with the same parameters as form or JSON): ``sp.page`` (from 1), ``sp.pageSize``
(default 20, silently clamped to 1..1000), ``sp.sort=name|asc;no|desc`` (default: id ascending); only ``id``
unless ``fields=id,no,...`` (unknown names silently ignored; ``id`` always included). Filters
``filter.<field>.op`` + ``filter.<field>.val`` / ``.val[n]``, or ``filter.<field>=value`` (EQUAL); ops EQUAL,
NOT_EQUAL, CONTAIN, BETWEEN, NOT_BETWEEN, GREATER_THAN, GREATER_EQUAL_THAN, LESS_THAN, LESS_EQUAL_THAN, EMPTY,
NOT_EMPTY on any top-level scalar field (``no`` means customerNo / vendorNo / number where the record has no
``no``); ``filter.keywords`` is CONTAIN over no/number/customerNo/vendorNo/name/description. Text compares
case-insensitively, dates (transDate, dueDate, shipDate, ...) as dates (a bad filter date is s:false), numbers
as numbers. A filter on a field no record of the module has (``lastUpdate``, ``branchId``, ...) is ignored
(the list is a superset, never silently empty); one on a field only some records have excludes the others
(NOT_EQUAL / NOT_BETWEEN / EMPTY keep them). Reply
``{"s": true, "d": [...], "sp": {"page", "sort", "pageSize", "pageCount", "rowCount", "start", "limit": null}}``.

bulk-save.do: ``{"data": [...]}`` (or form ``data[n].field``; a bare JSON array is accepted too), 1 to 100
items, else ``{"s": false, "d": ["Max: 100 data dalam 1 kali request"]}`` and nothing is written. Items run in
order (later items see earlier ones). Reply ``{"s": <true only if all ok>, "d": [<per item, in order: the
save.do reply {"s", "d", "r"} or {"s": false, "d": [...]}>]}``. With ``batch_failure`` ``partial`` (the default)
each item commits on its own (PARTIAL COMMIT: a bad item never blocks the others); with ``whole`` one refused
item saves nothing (see "Where the documentation is silent"). A bulk-save is ONE call for the rate limit.

Rate limit (accurate.id "Batasan Pemanggilan API": 8 calls per second and 8 in flight; per token here, shared
by both hosts): a call beyond ``--per-second`` (8) accepted starts within the last second (sliding window), or
beyond ``--in-flight`` (8) concurrent calls, is refused BEFORE any work (nothing is written, so a client may
send it again) with HTTP 429, ``Retry-After: 1``, ``{"s": false, "d": ["Terlalu banyak request, batas 8
panggilan per detik dan 8 bersamaan"]}``; with ``--throttle-response 200`` the same body comes with HTTP 200 and
no ``Retry-After``. The real status and body are undocumented: these are the sandbox's two readings. Refused and
unauthenticated calls do not count.
``off`` disables a limit. Admin ``GET|POST /_sandbox/limits`` ``{"per_second", "in_flight"}``.

Webhooks (the Developer Area, per application; here one subscription per sandbox): ``POST /_sandbox/webhooks {"url":
"https://consumer/hook?token=<consumer secret>", "types": ["RECEIVE_ITEM"]}`` registers it, active for 7 days from
registration or the last ``webhook-renew.do``; after that nothing is delivered, silently. ``GET /_sandbox/webhooks`` ->
``{url, types, expires_at (epoch s), expires_at_wib, active}``; ``DELETE`` removes it. Saving (save.do / bulk-save.do /
simulate) a receive-item sends ``action: WRITE``, ``delete.do`` sends ``DELETE``: one POST per API call, ``Content-Type:
application/json``, body a JSON array of envelopes, one per type, e.g. ``[{"databaseId": 1742775, "type":
"RECEIVE_ITEM", "timestamp": <epoch ms>, "uuid": "<uuid4>", "data": [{"receiveItemId": <id>, "receiveItemNo":
"<number>", "action": "WRITE"}, ...]}]`` (a bulk-save lists every saved receive item in one envelope). Other
subscribable types, same shape: SALES_INVOICE (salesInvoiceId/No), SALES_RECEIPT, SALES_RETURN, CUSTOMER
(customerId/customerNo), ITEM, WAREHOUSE, PURCHASE_ORDER (purchaseOrderId/purchaseOrderNo), ITEM_TRANSFER
(itemTransferId/itemTransferNo), ITEM_ADJUSTMENT (itemAdjustmentId/itemAdjustmentNo). A TRANSFER_IN's save/delete
notifies the IN only (not the OUT whose status it changed); creating the transit warehouse sends no WAREHOUSE event;
ITEM_QUANTITY / STOCK_MUTATION are not emulated. The entries' shape where undocumented: see ``webhook_numbers`` and
``item_transfer_webhook`` below.
Delivery is in a background thread (never blocks or fails the save); a non-2xx or a connection error is retried 3 times
(0.2 s, 0.5 s, 1 s backoff) with the SAME body and uuid; every attempt is recorded at ``GET
/_sandbox/webhook-deliveries`` ``[{uuid, url, attempt, time, types, status, error}]``. Proxies from the environment are
not used. ``POST /_sandbox/clock {"offset_seconds": N}`` shifts the sandbox's "now" for the expiry only (auth keeps the
real clock). ``POST /_sandbox/simulate/purchase {"vendorNo": "V.00001", "warehouseName": "Utama", "receiveNumber"?
(default ``SJ-<epoch ms>``), "transDate"? (default today WIB), "number"?, "branchName"?, "description"?, "lines":
[{"itemNo", "quantity", "unitPrice", "warehouseName"?}]}`` creates a receive-item as if entered in Accurate's UI (same
validation; answers the save.do reply) and fires the webhook.

Other sandbox-only controls (both hosts, no auth, no rate limit)
===============================================================
The shared admin API of every sandbox (``possync_devkit.sandbox.harness``): ``GET /_sandbox/health`` (with
``data_host_url``); ``GET|POST /_sandbox/faults`` (body :class:`FaultConfig`, replaces the whole setting:
``{"error_rate", "error_status" (int or list, default 503), "latency_ms", "drop_after_commit_rate",
"drop_after_commit_next", "seed"}``); ``GET|POST /_sandbox/limits`` (:class:`RateLimits`); ``GET /_sandbox/stats``
(the shared ``requests``, ``unauthorized``, ``rate_limited``, ``faults_injected``, ``drops``, ``by_status``,
``by_endpoint`` {"sales-invoice/save": n, "account/api-token": n, ...}, every call counted, refused ones too; and
Accurate's own ``accepted``, ``refused_rate``, ``refused_in_flight``, ``max_in_flight_seen``) and ``POST
/_sandbox/stats/reset``; ``POST /_sandbox/reset`` (optional ``{"data", "stats", "faults", "limits"}`` flags plus
Accurate's ``"webhooks"`` and ``"clock"``, all true by default; data re-seeds and forgets the subscription; an
unknown flag is refused with 422). Accurate's own: ``POST /_sandbox/data-host {"url"}``. Latency is added after the rate
limit (so slow calls count as in flight); error faults answer ``{"s": false, "d": ["Service Unavailable
(injected ...)"]}`` with the chosen status before the route runs (nothing written). A drop happens only after a
committed write (save/delete with s:true, bulk-save with at least one item saved): the status line and headers
go out, then the connection closes with no body, so clients see a protocol/connection error although the
document exists.

Where the documentation is silent, the sandbox chose
====================================================
- ``delete.do`` of sales documents: a sales invoice with receipts or returns against it is refused ("Faktur
  Penjualan ... tidak bisa dihapus karena sudah digunakan di Penerimaan Penjualan"); deleting a receipt or a
  return gives its amount (and a return its quantities and stock) back to the invoice. What becomes of a
  deleted document's ``number`` is undocumented: ``--deleted-numbers free`` (default,
  ``SandboxConfig.deleted_numbers``) lets a new document take it; ``kept`` keeps it taken ("Sudah ada data lain
  dengan ...") although nothing holds it.
- Timestamp format ``dd/MM/yyyy HH:mm:ss`` WIB only (no unix seconds, no ISO); base64 digest only; skew 300 s;
  the check order token -> timestamp -> signature; the 401 wording. WIB is a fixed UTC+7.
- The answer beyond the rate limit (§2.6: "not documented"), ``--throttle-response`` /
  ``SandboxConfig.throttle_response``: ``429`` (default) = HTTP 429, ``Retry-After: 1``, ``{"s": false, "d":
  ["Terlalu banyak request, batas 8 panggilan per detik dan 8 bersamaan"]}``; ``200`` = the same body with HTTP
  200 and no ``Retry-After``, the shape of Accurate's business errors (a client must not take it for one). Either
  way the call is refused before any work. Also chosen: the per-token scope, the sliding window, and "refused
  calls do not count".
- Bulk-save failures (§2.5/§3.6: partial commit or all-or-nothing is unverified), ``--batch-failure`` /
  ``SandboxConfig.batch_failure``: ``partial`` (default) commits each item on its own; ``whole`` runs all items in
  one transaction and, when any is refused, saves NOTHING and answers ``{"s": false, "d": [...]}`` still per item:
  a refused item with its own ``{"s": false, "d": [<its messages>]}``, every other item ``{"s": false, "d":
  ["Data tidak disimpan karena data[1] gagal; tidak ada data dalam request ini yang disimpan"]}`` (no ``r``), no
  webhook sent. Clients must not take those items' ``s: false`` for their own refusal. The whole call is refused
  for 0 or > 100 items in both readings.
- ``sp.pageSize`` max 1000 (clamped); default order by id; text filters case-insensitive; unknown ``fields``
  ignored; filters on fields no record has ignored (see list.do).
- Ids come from one sequence shared by all modules (starting at 100); line ids from another.
- Auto-number formats (``C.00001``, ``100001``, ``V.00002``, ``SI.2026.00001``, ``CR.``, ``SRT.``, ``RI.``; the
  year is the document's transDate year), skipping numbers already taken by caller-chosen ones.
- Message wordings other than the documented ones ("URL API tidak tepat", "Data tidak ditemukan", "Max: 100 data
  dalam 1 kali request", "Sudah ada data lain dengan ...", "... berhasil disimpan"): Indonesian, naming the
  field and the offending value.
- The save.do success message names the key (customerNo, no, number, name), not the item's name as in
  example.md's ``Barang & Jasa "Test Item"``.
- Tax: only useTax1 (the item's tax1Name, PPN-type records) is emulated; the defaults of ``taxable``/``useTax1``
  above; tax rounded once per tax per document (``--tax-rounding line``: per line); a cash discount spreads
  pro rata over lines for the tax base; inclusive tax extracted as base x r / (1 + r).
- Lines without ``warehouseName`` use ``Utama``; stock may go negative; only INVENTORY items keep stock.
- ``types`` of ``POST /_sandbox/webhooks`` default to ``["RECEIVE_ITEM"]``.
- Webhook entries (only SALES_INVOICE's is documented, with id and number), ``--webhook-numbers`` /
  ``SandboxConfig.webhook_numbers``: ``sent`` (default) = every entry carries ``<prefix>Id`` and ``<prefix>No``;
  ``omitted`` = entries of every other type carry the id alone (the consumer must read the number back).
- How often an item-transfer save or delete notifies, ``--item-transfer-webhook`` /
  ``SandboxConfig.item_transfer_webhook``: ``once`` (default) = one entry; ``per_warehouse`` = one entry per
  warehouse it moves goods between (``warehouseName`` and ``referenceWarehouseName``), the same id and number each
  with its ``warehouseId``, in one envelope.
- Purchase orders: no warehouse, no status workflow (no ``statusName``, never closed by a receive-item).
- An item's ``itemType`` cannot change on update; ``unit1Name`` defaults to ``PCS``, ``unitPrice`` to 0.
- Updates by ``id`` only for masters; for transactions save.do with ``id`` is refused (s:false, "tidak
  diemulasikan"); no ``_status: delete`` line edits (such lines are skipped).
- webhook-renew.do succeeds even with no URL registered (it stores the new expiry). Webhook retries: 3, backoff
  0.2/0.5/1 s (``SandboxConfig.webhook_retries`` / ``webhook_backoff_seconds``); timeout 5 s.
- The ``r`` record and detail.d are the stored document: caller-sent top-level scalars are echoed (unknown ones
  too), computed fields override them.
- Item transfer: ``warehouseName`` required on both types and ``referenceWarehouseName`` on an OUT (never
  defaulted; the spec marks neither required); ``quantity`` required (> 0) on every line of both types (the spec
  requires only itemNo); only INVENTORY items; one IN per OUT, which closes it (``PARTIAL_RECEIVED`` = closed with a
  written-off difference, not "still partly in transit"); the difference account must be on the IN (the OUT's is
  stored, not used); an IN may not precede its OUT; ``saveAsStatusType`` other than APPROVED (DRAFT, ...) refused
  as not emulated; the record field names ``itemTransferInNo``, ``quantityReceived``, ``quantityDifference``,
  ``quantityInTransit``, ``totalQuantity*``, ``detailDifference``, ``systemWarehouse``; the transit warehouse as a
  warehouse record, created lazily, counted in an item's ``balance`` but not in ``availableToSell`` /
  ``availableStock``; refusal wordings.
- Item adjustment: ``unitCost`` required on every line, ADJUSTMENT_OUT lines included (the spec's required list;
  its description says it is read only for additions, so it is ignored there); ``quantity`` required > 0; only
  INVENTORY items; lines without ``warehouseName`` use ``Utama``; no cost/value bookkeeping beyond ``totalCost``.

Deliberately not emulated
=========================
OAuth (``/oauth/*``, ``db-list.do``, ``open-db.do``, ``X-Session-ID``), scopes, ``webhook-history.do``, every
module/action not in the table above (delete.do other than receive-item / item-transfer / item-adjustment,
``pos/*``, purchase invoices, ``item-adjustment/save-target-quantity.do``, stock opname orders/results,
``item/list-stock.do``, stock-mutation history, ...), updating transfers/adjustments (save.do with ``id``),
transfers from sales orders (``salesOrderNumber``), approval workflows (``saveAsStatusType`` other than APPROVED),
inventory valuation (average cost, journals), multi-currency, PPnBM/PPh (useTax2/3), serial numbers, units other than
unit1, down payments, sales orders/deliveries, approvals, ``typeAutoNumber``, branch restrictions, customer
credit limits, ``lastUpdate`` filters.
"""

from .app import SandboxState, create_app, create_apps, create_state
from .config import (
    DEMO_ACCOUNT_PORT,
    DEMO_API_TOKEN,
    DEMO_DATA_PORT,
    DEMO_DATABASE_ALIAS,
    DEMO_DATABASE_ID,
    DEMO_DB_PATH,
    DEMO_HOST,
    DEMO_SIGNATURE_SECRET,
    FaultConfig,
    RateLimits,
    SandboxConfig,
)

__all__ = [
    "DEMO_ACCOUNT_PORT",
    "DEMO_API_TOKEN",
    "DEMO_DATABASE_ALIAS",
    "DEMO_DATABASE_ID",
    "DEMO_DATA_PORT",
    "DEMO_DB_PATH",
    "DEMO_HOST",
    "DEMO_SIGNATURE_SECRET",
    "FaultConfig",
    "RateLimits",
    "SandboxConfig",
    "SandboxState",
    "create_app",
    "create_apps",
    "create_state",
]
