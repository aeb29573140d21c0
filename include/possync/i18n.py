"""Reasons and per-record log lines in the integration's language (``language: en | id``).

The ledger keeps every reason in English: tests, the reconciliation's explanations and the APIs read them.
Translation happens where people read them: the per-record log lines (``possync.recordlog.log_record``), the
task's summary and failure message, and the Sync Status pages (``translate(reason, language)``).

The catalogue pairs a compiled English reason template with its Indonesian template; both name the same
groups. A group's name says what becomes of its text:

- ``r_*``: a reason inside the reason (``invoice X was rejected: <reason>``), translated in turn;
- ``w_*``: one of a few fixed English words (``deleted``, ``a time``), looked up in ``WORDS``;
- ``n_*``: a record noun (``order``, ``stock take``), looked up in ``NOUNS``;
- ``l_*``: a list of record labels (``customer C-7, product 'Es Kopi' (KOP-1)``), each label translated;
- any other group (a name, a number, a key, an amount, a cashier's or a target's own words) is kept as it is.

Reasons joined with ``"; "`` (several problems of one record) are translated part by part. Text the catalogue
does not know comes back unchanged: ``translate`` never raises. ``translate_or_none`` says when it did not know
(the completeness tests use it).
"""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping, Sequence
from functools import lru_cache
from typing import Any

LANGUAGES = ("en", "id")
DEFAULT_LANGUAGE = "en"

#: English record nouns as reasons name them → Indonesian
NOUNS: dict[str, str] = {
    "order": "pesanan",
    "refund": "refund",
    "invoice": "faktur",
    "payment": "pembayaran",
    "transfer": "transfer",
    "transfer-out": "transfer keluar",
    "transfer out": "transfer keluar",
    "transfer-in": "transfer masuk",
    "transfer in": "transfer masuk",
    "adjustment": "penyesuaian stok",
    "stock take": "stok opname",
    "customer": "pelanggan",
    "product": "produk",
    "item": "barang",
}

#: the few fixed English words and phrases some reasons are built from → Indonesian
WORDS: dict[str, str] = {
    # what became of a target document (possync.changes)
    "deleted": "dihapus",
    "already gone": "sudah tidak ada",
    "had no document": "tidak punya dokumen",
    # what an unreadable value should have been (possync.pos.extract)
    "a time": "waktu",
    "a quantity": "kuantitas",
    "a rate": "tarif",
    "an amount": "nominal",
    # a record's own times (possync.transform)
    "business time": "waktu transaksi",
    "sent time": "waktu kirim",
    "received time": "waktu terima",
    # a POS location's kind (possync.pos.schema.LOCATION_KINDS)
    "warehouse": "gudang",
    # a key with spaces around it (possync.targets.base.loader)
    "key": "kuncinya",
    "till customer ID": "ID pelanggan dari kasir",
    # how keys still match loosely (possync.targets.base.senders.loose_match)
    "only once spaces are trimmed": "hanya bila spasinya dipangkas",
    "only when case is ignored": "hanya bila huruf besar-kecil diabaikan",
    # what a quantity of goods coming in counts (possync.pos.receiving.resolve_products)
    "received": "diterima",
    "ordered": "dipesan",
    "sent": "dikirim",
}

#: a target's label as reasons name it (``Target.label``: one capitalised word); no target is named here
_TARGET = r"(?P<target>[A-Z][A-Za-z]+)"
_HELD = r"(?P<held>[A-Z][A-Za-z]+ #[^\s;()]+)"
_AMOUNT = r"-?Rp [\d.,]+"
_QTY = r"-?[\d.,]+"
_NAME = r"'(?P<name>.*)'"
#: a target's label in a reason, for the targets' own catalogues (``Target.reasons``)
TARGET = _TARGET
#: where the targets' own entries go in the catalogue (``_catalogue``)
_TARGET_REASONS = ("", "")

#: (English template as a regex, Indonesian template); the first full match wins, so specific before general
_CATALOGUE: list[tuple[str, str]] = [
    # ------------------------------------------------------------------ changes after sync (possync.changes)
    (rf"(?P<r_what>.+): {_HELD} (?P<w_gone>deleted|already gone|had no document) in {_TARGET}; (?P<r_then>.+)",
     "{r_what}: {held} {w_gone} di {target}; {r_then}"),
    (r"nothing to post back", "tidak ada yang diposting ulang"),
    (r"it is no longer in the POS", "sudah tidak ada di POS"),
    (r"posted again as it now is", "diposting ulang sesuai isinya sekarang"),
    (r"posted again as it now is by a later run", "diposting ulang sesuai isinya sekarang oleh run berikutnya"),
    (r"(?P<r_what>.+): not applied, because changes_after_sync is 'report'",
     "{r_what}: tidak diterapkan, karena changes_after_sync bernilai 'report'"),
    (rf"(?P<r_what>.+); {_TARGET} refused to delete {_HELD}: (?P<message>.*)",
     "{r_what}; {target} menolak menghapus {held}: {message}"),
    (rf"(?P<r_what>.+), after it was synced \({_HELD}\)", "{r_what}, setelah disinkronkan ({held})"),
    (rf"changed in the POS after it was synced \({_HELD} holds the old version; (?P<r_now>.+)\)",
     "diubah di POS setelah disinkronkan ({held} masih menyimpan versi lama; {r_now})"),
    (r"now (?P<lines>\d+) line\(s\), total (?P<total>" + _AMOUNT + ")", "sekarang {lines} baris, total {total}"),
    (r"now (?P<amount>" + _AMOUNT + r") by (?P<method>\S+)", "sekarang {amount} via {method}"),
    (r"now (?P<amount>" + _AMOUNT + ")", "sekarang {amount}"),
    (r"no longer in the POS as it was", "tidak lagi ada di POS seperti sebelumnya"),
    (r"its invoice (?P<key>\S+) changed", "fakturnya ({key}) berubah"),
    (rf"already synced as {_HELD}; its invoice (?P<key>\S+) changed after sync",
     "sudah disinkronkan sebagai {held}; fakturnya ({key}) berubah setelah disinkronkan"),
    (r"its invoice (?P<key>\S+) changed after sync and that change is not applied",
     "fakturnya ({key}) berubah setelah disinkronkan dan perubahan itu tidak diterapkan"),
    # ------------------------------------------------------------------ reconciliation (possync.reconcile)
    (r"absent from the target at the reconciliation of (?P<date>\S+) \((?P<at>[^)]*) UTC\) although synced as "
     r"#(?P<id>\S+); re-sync missing: the next sales run posts it again",
     "tidak ada di target saat rekonsiliasi {date} ({at} UTC) padahal sudah disinkronkan sebagai #{id}; "
     "sinkron ulang yang hilang: run penjualan berikutnya mempostingnya lagi"),
    # ------------------------------------------------------------------ the loader and the senders (targets)
    (rf"→ {_TARGET} #(?P<id>[^\s;]+)(?P<number> \([^;]*\))?", "→ {target} #{id}{number}"),
    (r"→ nothing to post", "→ tidak ada yang diposting"),
    (r"→ head office #(?P<id>\S+)", "→ kantor pusat #{id}"),
    (r"→ POS outlet (?P<outlet>\S+): (?P<lines>\d+) lines, \+(?P<quantity>\S+) in stock",
     "→ outlet POS {outlet}: {lines} baris, stok +{quantity}"),
    (rf"already synced as {_HELD}", "sudah disinkronkan sebagai {held}"),
    (r"changed in the POS since, not pushed again", "diubah di POS sejak itu, tidak dikirim ulang"),
    (r"(?P<l_missing>.+) (?P<w_verb>has|have) not been synced yet; repair (?:it|them) first",
     "{l_missing} belum disinkronkan; perbaiki dulu"),
    (r"(?P<l_missing>.+) (?P<w_verb>has|have) not been synced yet; it is retried once synced",
     "{l_missing} belum disinkronkan; data ini dicoba lagi setelah prasyaratnya tersinkron"),
    (rf"{_TARGET} gave no result for it", "{target} tidak memberi hasil untuk data ini"),
    (r"its (?P<w_label>key|till customer ID) (?P<value>.+) has leading or trailing spaces: a target that trims "
     r"keys would take it for (?P<trimmed>.+); fix it in the POS",
     "{w_label} {value} diawali atau diakhiri spasi: target yang memangkas kunci akan membacanya sebagai "
     "{trimmed}; perbaiki di POS"),
    (rf"already in {_TARGET} \(a reply was lost\); not created twice",
     "sudah ada di {target} (balasannya hilang); tidak dibuat dua kali"),
    (r"matched by SKU", "dicocokkan lewat SKU"),
    (rf"{_TARGET} #(?P<id>\S+) holds (?P<field>\S+) (?P<theirs>.+), not (?P<ours>.+), which matches "
     r"(?P<w_how>only once spaces are trimmed|only when case is ignored): keys are compared exactly, so it is not "
     r"taken as this record \((?P<message>.*)\)",
     "{target} #{id} menyimpan {field} {theirs}, bukan {ours}, yang cocok {w_how}: kunci dibandingkan persis, "
     "jadi itu tidak dianggap sebagai data ini ({message})"),
    (rf"{_TARGET} already has a different document under this key \(#(?P<id>[^)]*)\): (?P<message>.*)",
     "{target} sudah punya dokumen lain dengan kunci ini (#{id}): {message}"),
    (rf"{_TARGET}: (?P<message>.*), yet no (?:[A-Z][A-Za-z]+) document holds the key \(the key of a document "
     r"deleted in (?:[A-Z][A-Za-z]+) may stay taken\): it cannot be posted under this number",
     "{target}: {message}, tetapi tidak ada dokumen {target} yang memegang kunci ini (kunci dokumen yang dihapus di "
     "{target} bisa tetap terpakai): data ini tidak bisa diposting dengan nomor ini"),
    (rf"paid back as {_TARGET} bank withdrawal #(?P<id>\S+)",
     "uang dikembalikan sebagai pengeluaran bank {target} #{id}"),
    (rf"paid back as {_TARGET} other payment #(?P<id>\S+)",
     "uang dikembalikan sebagai pembayaran lain {target} #{id}"),
    (r"the count matched the till: nothing to adjust",
     "hasil hitung sama dengan stok di POS: tidak ada yang disesuaikan"),
    (rf"returned as {_TARGET} #(?P<id>\S+)(?P<number> \([^)]*\))?, but the money paid back was not posted: "
     r"(?P<r_reason>.+)",
     "diretur sebagai {target} #{id}{number}, tetapi uang yang dikembalikan tidak terposting: {r_reason}"),
    (rf"received as {_TARGET} #(?P<id>\S+), but the loss in transit was not booked: (?P<r_reason>.+)",
     "diterima sebagai {target} #{id}, tetapi selisih (hilang di perjalanan) tidak dibukukan: {r_reason}"),
    (r"the loss in transit was not booked: (?P<r_reason>.+)",
     "selisih (hilang di perjalanan) tidak dibukukan: {r_reason}"),
    (rf"{_TARGET}: (?P<message>.*)", "{target}: {message}"),  # the target's own words
    # ------------------------------------------------------------------ sales (possync.transform.sales)
    (r"voided at the till: no reason given", "dibatalkan di kasir: tanpa alasan"),
    (r"voided at the till: (?P<words>.*)", "dibatalkan di kasir: {words}"),  # the cashier's words
    (r"invoice (?P<number>\S+) was voided at the till", "faktur {number} dibatalkan di kasir"),
    (r"invoice (?P<number>\S+) was rejected: (?P<r_reason>.+)", "faktur {number} ditolak: {r_reason}"),
    (r"payment of Rp 0: nothing to record", "pembayaran Rp 0: tidak ada yang dicatat"),
    (r"line (?P<line>\d+) \('(?P<name>.*)'\): (?P<r_reason>.+)", "baris {line} ('{name}'): {r_reason}"),
    (r"payment (?P<key>\S+/P\d+): (?P<r_reason>.+)", "pembayaran {key}: {r_reason}"),
    (r"(?P<column>[\w.]+) = (?P<value>.+) is not an exact value", "{column} = {value} bukan nilai pasti"),
    (r"(?P<column>[\w.]+) = (?P<value>.+) has more than (?P<places>\d+) decimal places",
     "{column} = {value} punya lebih dari {places} angka desimal"),
    (r"(?P<column>[\w.]+) = (?P<value>.+) is too large \(more than (?P<max>[\d,]+) units of (?P<places>\d+) "
     r"places\)", "{column} = {value} terlalu besar (lebih dari {max} satuan dengan {places} desimal)"),
    (r"(?P<column>[\w.]+) is empty \((?P<value>.*)\)", "{column} kosong ({value})"),
    (r"(?P<column>[\w.]+) = (?P<value>.+) is not (?P<w_expected>a time|a quantity|a rate|an amount)",
     "{column} = {value} bukan {w_expected}"),
    (r"order_lines\.quantity × order_lines\.unit_price = (?P<quantity>\S+) × (?P<price>\S+) is too large "
     r"\(more than (?P<max>[\d,]+) sen\)",
     "order_lines.quantity × order_lines.unit_price = {quantity} × {price} terlalu besar (lebih dari {max} sen)"),
    (r"(?P<n_what>order|refund|transfer|adjustment|stock take) (?P<number>\S+) has no "
     r"(?P<w_label>business time|sent time|received time)", "{n_what} {number} tidak punya {w_label}"),
    (r"(?P<n_what>order|refund|transfer|adjustment|stock take) (?P<number>\S+) "
     r"(?P<w_label>business time|sent time|received time) (?P<value>.+) is not a time",
     "{w_label} {n_what} {number}, {value}, bukan waktu"),
    (r"(?P<n_what>order|refund) (?P<number>\S+) business time (?P<at>.+) is in the future \(it reached the POS "
     r"server at (?P<server>.+)\)",
     "waktu transaksi {n_what} {number}, {at}, ada di masa depan (baru sampai di server POS pada {server})"),
    (r"order status '(?P<status>.*)' is neither completed nor voided",
     "status pesanan '{status}' bukan completed maupun voided"),
    (r"outlet (?P<outlet>\S+) is a (?P<w_kind>\S+), and sales are only taken at outlets",
     "{outlet} adalah {w_kind}, padahal penjualan hanya dicatat di outlet"),
    (r"outlet (?P<outlet>\S+) is a (?P<w_kind>\S+), and refunds are only given at outlets",
     "{outlet} adalah {w_kind}, padahal refund hanya diberikan di outlet"),
    (r"outlet (?P<outlet>\S+) has an unknown timezone '(?P<zone>.*)'",
     "outlet {outlet} memakai zona waktu yang tidak dikenal '{zone}'"),
    (r"order has no lines", "pesanan tidak punya baris"),
    (r"line (?P<line>\d+) \('(?P<name>.*)'\) has quantity (?P<quantity>" + _QTY + "), not a positive number",
     "baris {line} ('{name}') berkuantitas {quantity}, bukan bilangan positif"),
    (r"line (?P<line>\d+) \('(?P<name>.*)'\) has a negative price \((?P<price>" + _AMOUNT + r")\)",
     "baris {line} ('{name}') berharga negatif ({price})"),
    (r"line (?P<line>\d+) \('(?P<name>.*)'\) has a negative discount \((?P<discount>" + _AMOUNT + r")\)",
     "baris {line} ('{name}') berdiskon negatif ({discount})"),
    (r"line (?P<line>\d+) \('(?P<name>.*)'\) discount (?P<discount>" + _AMOUNT + r") is more than the line's "
     r"(?P<gross>" + _AMOUNT + ")",
     "diskon baris {line} ('{name}') {discount} melebihi nilai barisnya {gross}"),
    (r"line (?P<line>\d+) \('(?P<name>.*)'\) has a negative tax", "baris {line} ('{name}') berpajak negatif"),
    (r"order discount is negative \((?P<discount>" + _AMOUNT + r")\)", "diskon pesanan negatif ({discount})"),
    (r"order discount (?P<discount>" + _AMOUNT + r") is more than its lines \((?P<lines>" + _AMOUNT + r")\)",
     "diskon pesanan {discount} melebihi total barisnya ({lines})"),
    (rf"product {_NAME} has no SKU", "produk '{name}' tidak punya SKU"),
    (r"tax rate (?P<rates>.+) has no (?P<target>\w+) tax configured \(bookkeeping\.taxes of the integration\); add it, "
     r"then retry",
     "tarif pajak {rates} belum punya pajak {target} di konfigurasi (bookkeeping.taxes integrasi); tambahkan, lalu "
     "coba lagi"),
    (r"order tax (?P<tax>" + _AMOUNT + r") does not match its lines' tax \((?P<lines>" + _AMOUNT + r")\)",
     "pajak pesanan {tax} tidak sama dengan pajak baris-barisnya ({lines})"),
    (r"order total (?P<total>" + _AMOUNT + r") does not match its lines \((?P<lines>" + _AMOUNT + r")\)",
     "total pesanan {total} tidak sama dengan total barisnya ({lines})"),
    (r"payment (?P<key>\S+) uses an unknown payment method '(?P<method>.*)'",
     "pembayaran {key} memakai metode bayar yang tidak dikenal '{method}'"),
    (r"payment (?P<key>\S+) is for (?P<amount>" + _AMOUNT + "), a negative amount",
     "pembayaran {key} sebesar {amount}, nominal negatif"),
    (r"payments add up to (?P<paid>" + _AMOUNT + ") but the order total is (?P<total>" + _AMOUNT + ")",
     "total pembayaran {paid} padahal total pesanan {total}"),
    (r"refund (?P<number>\S+) is for order (?P<order>\S+), which was voided at the till",
     "refund {number} untuk pesanan {order}, yang sudah dibatalkan di kasir"),
    (r"refund (?P<number>\S+) returns a line \('(?P<name>.*)'\) of another order than (?P<order>\S+)",
     "refund {number} mengembalikan baris ('{name}') dari pesanan lain, bukan {order}"),
    (r"refund (?P<number>\S+) returns (?P<quantity>" + _QTY + rf") × {_NAME}, not a positive quantity",
     "refund {number} mengembalikan {quantity} × '{name}', bukan kuantitas positif"),
    (r"refund (?P<number>\S+) returns (?P<quantity>" + _QTY + rf") × {_NAME} but only (?P<sold>" + _QTY
     + r") (?P<w_verb>was|were) sold and (?P<before>" + _QTY + r") already returned",
     "refund {number} mengembalikan {quantity} × '{name}' padahal hanya terjual {sold} dan {before} sudah diretur"),
    (r"refund (?P<number>\S+) returns (?P<quantity>" + _QTY + rf") × {_NAME} but only (?P<sold>" + _QTY
     + r") (?P<w_verb>was|were) sold",
     "refund {number} mengembalikan {quantity} × '{name}' padahal hanya terjual {sold}"),
    (rf"refund (?P<number>\S+) line for {_NAME} has a negative amount or tax",
     "baris refund {number} untuk '{name}' bernominal atau berpajak negatif"),
    (r"refund total (?P<total>" + _AMOUNT + r") does not match its lines \((?P<lines>" + _AMOUNT + r")\)",
     "total refund {total} tidak sama dengan total barisnya ({lines})"),
    (r"refund (?P<number>\S+) pays back (?P<paid>" + _AMOUNT + ") but only (?P<left>" + _AMOUNT + r") of order "
     r"(?P<order>\S+) remains refundable \(it charged (?P<goods>" + _AMOUNT + r") for goods, of which earlier "
     r"refunds paid back (?P<before>" + _AMOUNT + r")\)",
     "refund {number} mengembalikan {paid} padahal sisa yang bisa direfund dari pesanan {order} hanya {left} "
     "(pesanan itu menagih {goods} untuk barang, dan refund sebelumnya sudah mengembalikan {before})"),
    (r"refund (?P<number>\S+) pays back (?P<paid>" + _AMOUNT + ") but only (?P<left>" + _AMOUNT + r") of order "
     r"(?P<order>\S+) remains refundable \(it charged (?P<goods>" + _AMOUNT + r") for goods\)",
     "refund {number} mengembalikan {paid} padahal sisa yang bisa direfund dari pesanan {order} hanya {left} "
     "(pesanan itu menagih {goods} untuk barang)"),
    (rf"customer ID (?P<code>.+) is already used by customer {_NAME}",
     "ID pelanggan {code} sudah dipakai pelanggan '{name}'"),
    # ------------------------------------------------------------------ stock (possync.transform.stock)
    (r"transfer (?P<number>\S+) goes to outlet id (?P<outlet>\S+), which is not in the POS",
     "transfer {number} dikirim ke outlet id {outlet}, yang tidak ada di POS"),
    (r"transfer (?P<number>\S+) comes from outlet id (?P<outlet>\S+), which is not in the POS",
     "transfer {number} berasal dari outlet id {outlet}, yang tidak ada di POS"),
    (r"transfer (?P<number>\S+) was received at (?P<to>\S+) but never recorded as sent at (?P<from_>\S+) "
     r"\(no sent time\); repair it in the POS",
     "transfer {number} sudah diterima di {to} tetapi tidak pernah tercatat dikirim dari {from_} (tanpa waktu "
     "kirim); perbaiki di POS"),
    (r"it has no lines", "tidak punya baris"),
    (rf"line (?P<line>\d+) receives (?P<received>{_QTY}) of {_NAME} but only (?P<sent>{_QTY}) were sent",
     "baris {line} menerima {received} '{name}' padahal yang dikirim hanya {sent}"),
    (r"line (?P<line>\d+) \('(?P<name>.*)'\) has no counted quantity",
     "baris {line} ('{name}') tidak punya jumlah hasil hitung"),
    (r"line (?P<line>\d+) \('(?P<name>.*)'\) has no quantity change",
     "baris {line} ('{name}') tidak punya perubahan kuantitas"),
    # ------------------------------------------------------------------ documents entered in a target (inbound)
    _TARGET_REASONS,  # each target's own (Target.reasons: its documents' names), here in the order
    (r"(?P<event>\S+) events are not synced to the POS \(only (?P<types>[A-Z_, ]+)\)",
     "event {event} tidak disinkronkan ke POS (hanya {types})"),
    (r"the envelope has no data entries", "envelope tidak berisi data"),
    (r"already in the POS \(an earlier delivery\)", "sudah ada di POS (kiriman sebelumnya)"),
    (r"(?P<source>.+) item '(?P<sku>.*)'(?P<item> \(.*\))?: quantity (?P<quantity>\S+) is not a positive quantity "
     r"(?P<w_what>received|ordered|sent)",
     "barang {source} '{sku}'{item}: kuantitas {quantity} bukan kuantitas {w_what} yang positif"),
    (r"(?P<source>.+) item '(?P<sku>.*)'(?P<item> \(.*\))? has no item code to match a POS SKU",
     "barang {source} '{sku}'{item} tidak punya kode barang untuk dicocokkan dengan SKU POS"),
    (r"(?P<source>.+) item '(?P<sku>.*)'(?P<item> \(.*\))?: the POS product '(?P<product>.*)' has no SKU; give it "
     r"SKU '(?P<sku2>.*)' in the POS",
     "barang {source} '{sku}'{item}: produk POS '{product}' tidak punya SKU; beri SKU '{sku2}' di POS"),
    (r"(?P<source>.+) item '(?P<sku>.*)'(?P<item> \(.*\))? has no product with that SKU in the POS",
     "barang {source} '{sku}'{item}: tidak ada produk dengan SKU itu di POS"),
    (r"goods receipt (?P<key>\S+) has no lines", "penerimaan barang {key} tidak punya baris"),
    (r"→ expected at POS outlet (?P<outlet>\S+): (?P<lines>\d+) lines",
     "→ diharapkan di outlet POS {outlet}: {lines} baris"),
    (rf"→ changed in {_TARGET}, updated at POS outlet (?P<outlet>\S+): (?P<lines>\d+) lines",
     "→ diubah di {target}, diperbarui di outlet POS {outlet}: {lines} baris"),
    (r"→ POS transfer (?P<number>\S+) sent (?P<from_>\S+) → (?P<to>\S+): (?P<lines>\d+) lines, -(?P<quantity>\S+) "
     r"in stock at (?P<at>\S+)",
     "→ transfer POS {number} dikirim {from_} → {to}: {lines} baris, stok -{quantity} di {at}"),
    (r"→ POS transfer (?P<number>\S+) received at (?P<to>\S+): \+(?P<quantity>\S+) in stock",
     "→ transfer POS {number} diterima di {to}: stok +{quantity}"),
    (rf"deleted in {_TARGET}: cancelled in the POS", "dihapus di {target}: dibatalkan di POS"),
    (r"already cancelled in the POS \(an earlier delivery\)", "sudah dibatalkan di POS (kiriman sebelumnya)"),
    (r"transfer (?P<number>\S+) already received in the POS \(an earlier delivery\)",
     "transfer {number} sudah diterima di POS (kiriman sebelumnya)"),
    (r"tried again at the end of this run", "dicoba lagi di akhir run ini"),
    (rf"{_TARGET} transfer-in (?P<key>\S+) receives transfer (?P<number>\S+), which is not in the POS yet; it is "
     r"written once the transfer-out is",
     "transfer masuk {target} {key} menerima transfer {number}, yang belum ada di POS; ditulis setelah transfer "
     "keluarnya"),
    (r"goods receipt (?P<key>\S+): outlet (?P<outlet>.+) is not in the POS",
     "penerimaan barang {key}: outlet {outlet} tidak ada di POS"),
    # ------------------------------------------------------------------ the head office exchange (headoffice)
    (r"head office applied it", "kantor pusat sudah menerapkannya"),
    (r"head office rejected it: (?P<message>.*)", "kantor pusat menolaknya: {message}"),  # head office's words
    (r"head office already holds this version \(#(?P<id>[^,]+), (?P<status>[^)]*)\)",
     "kantor pusat sudah menyimpan versi ini (#{id}, {status})"),
    (r"acknowledged PROCESSED", "dikonfirmasi PROCESSED"),
    (r"time (?P<value>.+) has no timezone", "waktu {value} tidak punya zona waktu"),
    (r"store (?P<store>.+) is not an outlet of this POS", "toko {store} bukan outlet di POS ini"),
    (r"unknown item (?P<sku>.+): no POS product has that SKU",
     "barang tidak dikenal {sku}: tidak ada produk POS dengan SKU itu"),
    (r"(?P<kind>[\w ]+) has no lines", "{kind} tidak punya baris"),
    (r"this store does not take (?P<kind>.+) documents", "toko ini tidak menerima dokumen {kind}"),
    (r"missing field (?P<field>.+)", "field {field} tidak ada"),
    (r"invalid value: (?P<message>.*)", "nilai tidak valid: {message}"),
]


@lru_cache(maxsize=1)
def catalogue() -> tuple[list[tuple[re.Pattern[str], str]], dict[str, str]]:
    """The compiled catalogue with every registered target's own entries in their place, and the nouns with the
    targets' (their documents' names)."""
    from possync.targets.base.registry import targets

    nouns, entries = dict(NOUNS), []
    for english, indonesian in _CATALOGUE:
        if (english, indonesian) != _TARGET_REASONS:
            entries.append((english, indonesian))
            continue
        for target in targets().values():
            own_nouns, own_entries = target.reasons()
            nouns.update(own_nouns)
            entries += own_entries
    return [(re.compile(english), indonesian) for english, indonesian in entries], nouns


#: a record label as the loader's "has not been synced yet" names its prerequisites
_LABEL = re.compile(r"(?:^|(?<=, ))(customer|product|item|invoice|transfer-out) ")


def _labels(text: str) -> str:
    return _LABEL.sub(lambda m: NOUNS[m.group(1)] + " ", text)


def _fill(match: re.Match[str], template: str) -> str | None:
    values: dict[str, str] = {}
    for name, value in match.groupdict().items():
        if value is None:
            value = ""
        elif name.startswith("r_"):
            inner = translate_or_none(value)
            if inner is None:
                return None
            value = inner
        elif name.startswith("w_"):
            value = WORDS.get(value, value)
        elif name.startswith("n_"):
            value = catalogue()[1].get(value, value)
        elif name.startswith("l_"):
            value = _labels(value)
        values[name] = value
    return template.format(**values)


@lru_cache(maxsize=4096)
def translate_or_none(text: str) -> str | None:
    """The Indonesian of an English reason (or detail), or None when the catalogue does not know all of it."""
    for pattern, template in catalogue()[0]:
        match = pattern.fullmatch(text)
        if match is not None:
            done = _fill(match, template)
            if done is not None:
                return done
    parts = text.split("; ")
    for cut in range(1, len(parts)):  # several reasons joined: each side must be known
        left = translate_or_none("; ".join(parts[:cut]))
        if left is None:
            continue
        right = translate_or_none("; ".join(parts[cut:]))
        if right is not None:
            return f"{left}; {right}"
    return None


def translate(text: str, language: str) -> str:
    """``text`` (an English reason or log detail) in ``language``; what the catalogue does not know stays English.

    Never raises: a display must show something even for a reason written after this catalogue."""
    if language != "id" or not text:
        return text
    try:
        whole = translate_or_none(text)
        if whole is not None:
            return whole
        return "; ".join(translate_or_none(part) or part for part in text.split("; "))
    except Exception:
        return text


# --------------------------------------------------------------------------- the language of a logger


class LanguageAdapter(logging.LoggerAdapter):  # type: ignore[type-arg]
    """A task's logger that also says which language its record lines are in (``extra["language"]``).

    It passes every call on unchanged (the wrapped logger may be Airflow's structlog logger, which formats
    ``%`` arguments itself); ``possync.recordlog.log_record`` reads the language with ``language_of``."""

    def __init__(self, logger: Any, language: str) -> None:
        super().__init__(logger, {"language": language})
        # the wrapped logger's own methods, so that a line's source location is its caller's, not this module's
        for name in ("debug", "info", "warning", "error", "exception", "critical", "log"):
            if hasattr(logger, name):
                setattr(self, name, getattr(logger, name))

    def debug(self, msg: Any, *args: Any, **kwargs: Any) -> None:
        self.logger.debug(msg, *args, **kwargs)

    def info(self, msg: Any, *args: Any, **kwargs: Any) -> None:
        self.logger.info(msg, *args, **kwargs)

    def warning(self, msg: Any, *args: Any, **kwargs: Any) -> None:
        self.logger.warning(msg, *args, **kwargs)

    def error(self, msg: Any, *args: Any, **kwargs: Any) -> None:
        self.logger.error(msg, *args, **kwargs)

    def exception(self, msg: Any, *args: Any, **kwargs: Any) -> None:
        self.logger.exception(msg, *args, **kwargs)

    def critical(self, msg: Any, *args: Any, **kwargs: Any) -> None:
        self.logger.critical(msg, *args, **kwargs)

    def log(self, level: int, msg: Any, *args: Any, **kwargs: Any) -> None:
        self.logger.log(level, msg, *args, **kwargs)

    def isEnabledFor(self, level: int) -> bool:
        check = getattr(self.logger, "isEnabledFor", None)
        return bool(check(level)) if check is not None else True

    def __getattr__(self, name: str) -> Any:
        return getattr(self.logger, name)


def language_of(logger: Any) -> str:
    """The language a logger's record lines are in: the nearest ``LanguageAdapter``'s, else English."""
    seen = 0
    while logger is not None and seen < 10:
        extra = getattr(logger, "extra", None)
        if isinstance(extra, Mapping) and extra.get("language") in LANGUAGES:
            return str(extra["language"])
        logger = getattr(logger, "logger", None) if isinstance(logger, logging.LoggerAdapter) else None
        seen += 1
    return DEFAULT_LANGUAGE


def with_language(logger: Any, language: str) -> Any:
    """``logger`` carrying ``language`` (itself when it already does, or when the language is English)."""
    if language_of(logger) == language or (language == DEFAULT_LANGUAGE and not isinstance(
            logger, LanguageAdapter)):
        return logger
    return LanguageAdapter(logger, language)


# --------------------------------------------------------------------------- the task's own lines


def load_summary_line(integration: str, flow: str, read: int, synced: int, skipped: int, failed: int,
                      reversed_: int, language: str) -> str:
    """The closing line of a sync task: counts that add up (``read = synced + skipped + failed``)."""
    if language == "id":
        tail = (f"; {reversed_} dokumen target dibalik (diubah atau dibatalkan di POS setelah disinkronkan)"
                if reversed_ else "")
        return (f"{integration} {flow}: dibaca {read} = tersinkron {synced} + dilewati {skipped} + gagal {failed}"
                f"{tail}")
    tail = f"; {reversed_} target document(s) reversed (changed or voided in the POS after sync)" if reversed_ else ""
    return f"{integration} {flow}: read {read} = synced {synced} + skipped {skipped} + failed {failed}{tail}"


def outlet_counts_line(counts: Mapping[str, Mapping[str, int]], language: str) -> str:
    """After a group's summary line, each outlet's counts: ``per outlet: BDG01 40 = 38 + 1 + 1; …``
    (read = synced + skipped + failed)."""
    parts = []
    for outlet, by_outcome in counts.items():
        synced, skipped, failed = (by_outcome.get(k, 0) for k in ("synced", "skipped", "failed"))
        parts.append(f"{outlet} {synced + skipped + failed} = {synced} + {skipped} + {failed}")
    head = ("per outlet (dibaca = tersinkron + dilewati + gagal)" if language == "id"
            else "per outlet (read = synced + skipped + failed)")
    return f"{head}: " + "; ".join(parts)


def stage_summary_line(outlet: str, start: str, end: str, read: int, staged: int, skipped: int, failed: int,
                       language: str) -> str:
    """The line closing one outlet's staging: ``read = staged + skipped + failed``."""
    if language == "id":
        return (f"outlet {outlet}, jendela {start} → {end}: dibaca {read} = disiapkan {staged} + dilewati {skipped}"
                f" + gagal {failed}")
    return (f"outlet {outlet}, window {start} → {end}: read {read} = staged {staged} + skipped {skipped}"
            f" + failed {failed}")


_FAILURE = re.compile(r"(?P<record_type>\S+) (?P<key>\S+): (?P<reason>.+)", re.DOTALL)


def translate_failure(failure: str, language: str) -> str:
    """One of a summary's ``failures`` ("invoice INV-1: <reason>") with its reason in ``language``."""
    match = _FAILURE.fullmatch(failure)
    if language != "id" or match is None:
        return failure
    return f"{match['record_type']} {match['key']}: {translate(match['reason'], language)}"


def failure_message(failed: int, failures: Sequence[str], language: str, shown: int = 5) -> str:
    """The message a task fails with: how many records failed and the first few with their reasons."""
    listed = "; ".join(translate_failure(failure, language) for failure in failures[:shown])
    if language == "id":
        more = f" (dan {len(failures) - shown} lagi di log)" if len(failures) > shown else ""
        return f"{failed} data gagal: {listed}{more}"
    more = f" (and {len(failures) - shown} more in the log)" if len(failures) > shown else ""
    return f"{failed} record(s) failed: {listed}{more}"


# ---------------------------------------------------------------------------------------------------- alerts

#: the alerts' own words (labels, subjects, the digest's sentences) in Indonesian; names, ids, keys and links stay
ALERT_ID: dict[str, str] = {
    "Integration": "Integrasi",
    "Task": "Tugas",
    "Reason": "Sebab",
    "Run in Airflow": "Run di Airflow",
    "Task in Airflow": "Tugas di Airflow",
    "Sync Status": "Status Sinkronisasi",
    "Documents": "Dokumen",
    "head office": "kantor pusat",
    "failed in": "gagal di",
    "a task failed": "sebuah tugas gagal",
    "(no failure message: the task was killed or lost its heartbeat; see its log)":
        "(tanpa pesan gagal: tugas dihentikan atau kehilangan heartbeat; lihat log-nya)",
    "more lines in the task log": "baris lagi di log tugas",
    "possync headoffice status (Sent Data / Received Data, with HO's reasons)":
        "possync headoffice status (Data Terkirim / Data Diterima, dengan sebab dari kantor pusat)",
    "A task failed; its details could not be read. See the Airflow UI.":
        "Sebuah tugas gagal; rinciannya tidak terbaca. Lihat UI Airflow.",
    "Open failures": "Kegagalan terbuka",
    "record(s) in": "data dalam",
    "group(s) (flow and reason), oldest first:": "kelompok (alur dan sebab), terlama dulu:",
    "oldest": "terlama",
    "business time": "waktu transaksi",
    "in the ledger for": "di ledger selama",
    "more failed record(s)": "data gagal lagi",
    "more group(s)": "kelompok lagi",
    "(Sync Status lists them all)": "(Status Sinkronisasi mencantumkan semuanya)",
    "Repair the POS records, then retry from Sync Status (Retry failed) or wait for the next runs.":
        "Perbaiki data di POS, lalu coba lagi dari Status Sinkronisasi (Retry failed) atau tunggu run berikutnya.",
    "open failure(s)": "kegagalan terbuka",
    "and": "dan",
    "in": "dalam",
}


def alert_word(text: str, language: str) -> str:
    """An alert's own word or sentence in ``language`` (unchanged in English, or when the catalogue lacks it)."""
    return ALERT_ID.get(text, text) if language == "id" else text


# ---------------------------------------------------------------------------------------- the Sync Status pages

#: the Sync Status pages' own words (titles, navigation, filters, column heads, buttons, statuses) in Indonesian;
#: record types, keys, names and amounts stay as they are, reasons go through ``translate``
UI_ID: dict[str, str] = {
    "Sync Status": "Status Sinkronisasi",
    "Webhook log": "Log webhook",
    "Reconciliation": "Rekonsiliasi",
    "Records": "Data",
    "← Airflow": "← Airflow",
    "Integration": "Integrasi",
    "Flow": "Alur",
    "Status": "Status",
    "Outlet": "Outlet",
    "From": "Dari",
    "To": "Sampai",
    "Days": "Hari",
    "Number starts with": "Nomor diawali",
    "Filter": "Saring",
    "Show": "Tampilkan",
    "all flows": "semua alur",
    "any status": "semua status",
    "all outlets": "semua outlet",
    "flow": "alur",
    "number": "nomor",
    "record": "data",
    "outlet": "outlet",
    "business time": "waktu transaksi",
    "status": "status",
    "document": "dokumen",
    "reason": "alasan",
    "attempts": "percobaan",
    "last attempt": "percobaan terakhir",
    "task log": "log tugas",
    "log": "log",
    "received": "diterima",
    "event": "peristiwa",
    "documents": "dokumen",
    "Retry": "Coba lagi",
    "Retry failed": "Coba lagi yang gagal",
    "Ignore": "Abaikan",
    "Undo ignore": "Batalkan abaikan",
    "older →": "lebih lama →",
    "newest": "terbaru",
    "no records yet": "belum ada data",
    "no records match these filters": "tidak ada data yang cocok dengan saringan ini",
    "no webhook events": "belum ada peristiwa webhook",
    "newest 200 shown": "200 terbaru ditampilkan",
    "synced": "tersinkron",
    "failed": "gagal",
    "pending": "menunggu",
    "skipped": "dilewati",
    "ignored": "diabaikan",
    "processed": "diproses",
    "failing since": "gagal sejak",
    "ignored by": "diabaikan oleh",
    "day": "tanggal",
    "outcome": "hasil",
    "POS invoices": "faktur POS",
    "POS total": "total POS",
    "target invoices": "faktur target",
    "target total": "total target",
    "difference": "selisih",
    "POS VAT": "PPN POS",
    "target VAT": "PPN target",
    "POS payments": "pembayaran POS",
    "target payments": "pembayaran target",
    "explained": "terjelaskan",
    "unexplained": "tak terjelaskan",
    "equal": "sama",
    "reconciled": "direkonsiliasi",
    "no reconciliation kept for these days yet": "belum ada rekonsiliasi untuk hari-hari ini",
    "Stock": "Stok",
    "Warehouse": "Gudang",
    "warehouse": "gudang",
    "all warehouses": "semua gudang",
    "SKU": "SKU",
    "product": "produk",
    "POS stock": "stok POS",
    "target stock": "stok target",
    "Adjust": "Sesuaikan",
    "Adjust the target to the POS": "Sesuaikan target dengan POS",
    "all": "semua",
    "difference(s)": "selisih",
    "why": "sebab",
    "read now, POS stock now": "dibaca sekarang, stok POS saat ini",
    "no products synced yet": "belum ada produk yang tersinkron",
}


def ui(text: str, language: str) -> str:
    """A Sync Status page's own word in ``language`` (unchanged in English, or when the catalogue lacks it)."""
    return UI_ID.get(text, text) if language == "id" else text
