"""Issue 18 item 9, Bahasa Indonesia: the per-record reasons in the task logs in the integration's language.

The catalogue (``possync.i18n``) turns each English reason template into Indonesian, translating the reasons
inside composed ones and keeping names, numbers, keys, amounts and the cashier's own words as they are; text
it does not know comes back unchanged. Then the demo week synced with ``language: id`` on both targets' live
sandboxes: every FAILED, SKIPPED and REVERSED line's detail is Indonesian (no catalogue miss) while the ledger
keeps the English reason, and with ``en`` the lines are the ledger's English reasons.
"""

from __future__ import annotations

import dataclasses
import logging
import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from possync.config import Integration
from possync.i18n import (
    LanguageAdapter,
    catalogue,
    failure_message,
    language_of,
    load_summary_line,
    translate,
    translate_or_none,
    with_language,
)
from possync.pipeline import sync_customers, sync_products, sync_sales, sync_stock, sync_transfers
from possync.pos.extract import Window
from possync.recordlog import OUTCOMES, log_record
from possync.targets.base.loader import Loader, Prerequisite, key_problem
from possync.transform.sales import _over_refund_amount_reason, _over_refund_reason
from possync_devkit.till_changes import plain_orders, void_order
from support.demo_week import broken_keys
from support.worlds import accurate_world, jurnal_world, sync_job

# ------------------------------------------------------------------------------------------ the catalogue

#: one reason per catalogue template, worded as the code words it (the demo's, and those it never makes)
SAMPLES: dict[str, str] = {
    # changes after sync
    "voided at the till: Pelanggan batal, after it was synced (Jurnal #10211): Jurnal #10211 deleted in Jurnal; "
    "nothing to post back":
        "dibatalkan di kasir: Pelanggan batal, setelah disinkronkan (Jurnal #10211): Jurnal #10211 dihapus di "
        "Jurnal; tidak ada yang diposting ulang",
    "changed in the POS after it was synced (Accurate #INV-1 holds the old version; now 3 line(s), total Rp 52.720)"
    ": Accurate #INV-1 already gone in Accurate; posted again as it now is":
        "diubah di POS setelah disinkronkan (Accurate #INV-1 masih menyimpan versi lama; sekarang 3 baris, total "
        "Rp 52.720): Accurate #INV-1 sudah tidak ada di Accurate; diposting ulang sesuai isinya sekarang",
    "changed in the POS after it was synced (Jurnal #7 holds the old version; its invoice INV-1 changed): "
    "Jurnal #7 had no document in Jurnal; posted again as it now is by a later run":
        "diubah di POS setelah disinkronkan (Jurnal #7 masih menyimpan versi lama; fakturnya (INV-1) berubah): "
        "Jurnal #7 tidak punya dokumen di Jurnal; diposting ulang sesuai isinya sekarang oleh run berikutnya",
    "changed in the POS after it was synced (Jurnal #8 holds the old version; now Rp 52,720 by qris): Jurnal #8 "
    "deleted in Jurnal; it is no longer in the POS":
        "diubah di POS setelah disinkronkan (Jurnal #8 masih menyimpan versi lama; sekarang Rp 52,720 via qris): "
        "Jurnal #8 dihapus di Jurnal; sudah tidak ada di POS",
    "changed in the POS after it was synced (Jurnal #9 holds the old version; now Rp 10.000): not applied, "
    "because changes_after_sync is 'report'":
        "diubah di POS setelah disinkronkan (Jurnal #9 masih menyimpan versi lama; sekarang Rp 10.000): tidak "
        "diterapkan, karena changes_after_sync bernilai 'report'",
    "changed in the POS after it was synced (Jurnal #9 holds the old version; no longer in the POS as it was); "
    "Jurnal refused to delete Jurnal #9: Transaksi sudah dikunci":
        "diubah di POS setelah disinkronkan (Jurnal #9 masih menyimpan versi lama; tidak lagi ada di POS seperti "
        "sebelumnya); Jurnal menolak menghapus Jurnal #9: Transaksi sudah dikunci",
    "already synced as Accurate #55; its invoice INV-1 changed after sync":
        "sudah disinkronkan sebagai Accurate #55; fakturnya (INV-1) berubah setelah disinkronkan",
    "its invoice INV-1 changed after sync and that change is not applied":
        "fakturnya (INV-1) berubah setelah disinkronkan dan perubahan itu tidak diterapkan",
    "absent from the target at the reconciliation of 2026-11-10 (2026-11-11 01:00 UTC) although synced as #123; "
    "re-sync missing: the next sales run posts it again":
        "tidak ada di target saat rekonsiliasi 2026-11-10 (2026-11-11 01:00 UTC) padahal sudah disinkronkan "
        "sebagai #123; sinkron ulang yang hilang: run penjualan berikutnya mempostingnya lagi",
    # the loader and the senders
    "→ Jurnal #1203 (INV-JKT01-20261109-0001)": "→ Jurnal #1203 (INV-JKT01-20261109-0001)",
    "→ nothing to post": "→ tidak ada yang diposting",
    "→ head office #17": "→ kantor pusat #17",
    "→ POS outlet JKT01: 2 lines, +12.000 in stock": "→ outlet POS JKT01: 2 baris, stok +12.000",
    "already synced as Jurnal #1203; changed in the POS since, not pushed again":
        "sudah disinkronkan sebagai Jurnal #1203; diubah di POS sejak itu, tidak dikirim ulang",
    "transfer-out TO-0009 has not been synced yet; repair it first":
        "transfer keluar TO-0009 belum disinkronkan; perbaiki dulu",
    "customer C-7, product 'Es Kopi, Susu' (KOP-1) have not been synced yet; it is retried once synced":
        "pelanggan C-7, produk 'Es Kopi, Susu' (KOP-1) belum disinkronkan; data ini dicoba lagi setelah "
        "prasyaratnya tersinkron",
    "Accurate gave no result for it": "Accurate tidak memberi hasil untuk data ini",
    "its key ' INV-1' has leading or trailing spaces: a target that trims keys would take it for 'INV-1'; fix it "
    "in the POS":
        "kuncinya ' INV-1' diawali atau diakhiri spasi: target yang memangkas kunci akan membacanya sebagai "
        "'INV-1'; perbaiki di POS",
    "→ Accurate #88 (INV-2); already in Accurate (a reply was lost); not created twice":
        "→ Accurate #88 (INV-2); sudah ada di Accurate (balasannya hilang); tidak dibuat dua kali",
    "→ Jurnal #5 (KOP-1); matched by SKU": "→ Jurnal #5 (KOP-1); dicocokkan lewat SKU",
    "Jurnal #9 holds transaction_no 'inv-1', not 'INV-1', which matches only when case is ignored: keys are "
    "compared exactly, so it is not taken as this record (Nomor sudah dipakai)":
        "Jurnal #9 menyimpan transaction_no 'inv-1', bukan 'INV-1', yang cocok hanya bila huruf besar-kecil "
        "diabaikan: kunci dibandingkan persis, jadi itu tidak dianggap sebagai data ini (Nomor sudah dipakai)",
    "Accurate already has a different document under this key (#41): Nomor sudah digunakan":
        "Accurate sudah punya dokumen lain dengan kunci ini (#41): Nomor sudah digunakan",
    "Jurnal: Nomor sudah dipakai, yet no Jurnal document holds the key (the key of a document deleted in Jurnal "
    "may stay taken): it cannot be posted under this number":
        "Jurnal: Nomor sudah dipakai, tetapi tidak ada dokumen Jurnal yang memegang kunci ini (kunci dokumen yang "
        "dihapus di Jurnal bisa tetap terpakai): data ini tidak bisa diposting dengan nomor ini",
    "→ Jurnal #61; paid back as Jurnal bank withdrawal #62":
        "→ Jurnal #61; uang dikembalikan sebagai pengeluaran bank Jurnal #62",
    "→ Accurate #61 (SR-1); paid back as Accurate other payment #63":
        "→ Accurate #61 (SR-1); uang dikembalikan sebagai pembayaran lain Accurate #63",
    "→ nothing to post; the count matched the till: nothing to adjust":
        "→ tidak ada yang diposting; hasil hitung sama dengan stok di POS: tidak ada yang disesuaikan",
    "returned as Accurate #61 (SR-1), but the money paid back was not posted: Accurate: Akun kas tidak ditemukan":
        "diretur sebagai Accurate #61 (SR-1), tetapi uang yang dikembalikan tidak terposting: Accurate: Akun kas "
        "tidak ditemukan",
    "received as Jurnal #70, but the loss in transit was not booked: Jurnal: account not found":
        "diterima sebagai Jurnal #70, tetapi selisih (hilang di perjalanan) tidak dibukukan: Jurnal: account not "
        "found",
    "the loss in transit was not booked: Jurnal gave no result for it":
        "selisih (hilang di perjalanan) tidak dibukukan: Jurnal tidak memberi hasil untuk data ini",
    # sales
    "voided at the till: no reason given": "dibatalkan di kasir: tanpa alasan",
    "voided at the till: Salah input item": "dibatalkan di kasir: Salah input item",
    "invoice INV-1 was voided at the till": "faktur INV-1 dibatalkan di kasir",
    "invoice INV-BDG01-20261110-0012 was rejected: payments add up to Rp 71.590 but the order total is Rp 76.590":
        "faktur INV-BDG01-20261110-0012 ditolak: total pembayaran Rp 71.590 padahal total pesanan Rp 76.590",
    "payment of Rp 0: nothing to record": "pembayaran Rp 0: tidak ada yang dicatat",
    "line 2 ('Es Kopi'): order_lines.quantity = 'dua' is not a quantity; payment INV-1/P1: payments.amount is "
    "empty (NULL)":
        "baris 2 ('Es Kopi'): order_lines.quantity = 'dua' bukan kuantitas; pembayaran INV-1/P1: payments.amount "
        "kosong (NULL)",
    "orders.total_amount = 'NaN' is not an exact value": "orders.total_amount = 'NaN' bukan nilai pasti",
    "orders.total_amount = 1.005 has more than 2 decimal places":
        "orders.total_amount = 1.005 punya lebih dari 2 angka desimal",
    "orders.total_amount = 1E+30 is too large (more than 9,000,000,000,000,000,000 units of 2 places)":
        "orders.total_amount = 1E+30 terlalu besar (lebih dari 9,000,000,000,000,000,000 satuan dengan 2 desimal)",
    "line 1 ('Es Kopi'): order_lines.quantity × order_lines.unit_price = 1E+12 × 1E+12 is too large (more than "
    "9,000 sen)":
        "baris 1 ('Es Kopi'): order_lines.quantity × order_lines.unit_price = 1E+12 × 1E+12 terlalu besar (lebih "
        "dari 9,000 sen)",
    "order INV-1 has no business time": "pesanan INV-1 tidak punya waktu transaksi",
    "refund RF-1 business time 'kemarin' is not a time": "waktu transaksi refund RF-1, 'kemarin', bukan waktu",
    "order INV-1 business time 2026-11-12 10:00 is in the future (it reached the POS server at 2026-11-10 09:00)":
        "waktu transaksi pesanan INV-1, 2026-11-12 10:00, ada di masa depan (baru sampai di server POS pada "
        "2026-11-10 09:00)",
    "order status 'open' is neither completed nor voided": "status pesanan 'open' bukan completed maupun voided",
    "outlet WH01 is a warehouse, and sales are only taken at outlets":
        "WH01 adalah gudang, padahal penjualan hanya dicatat di outlet",
    "outlet WH01 is a warehouse, and refunds are only given at outlets":
        "WH01 adalah gudang, padahal refund hanya diberikan di outlet",
    "outlet JKT01 has an unknown timezone 'Asia/Jakarte'":
        "outlet JKT01 memakai zona waktu yang tidak dikenal 'Asia/Jakarte'",
    "order has no lines": "pesanan tidak punya baris",
    "line 1 ('Es Kopi') has quantity 0, not a positive number":
        "baris 1 ('Es Kopi') berkuantitas 0, bukan bilangan positif",
    "line 1 ('Es Kopi') has a negative price (-Rp 5.000)": "baris 1 ('Es Kopi') berharga negatif (-Rp 5.000)",
    "line 1 ('Es Kopi') has a negative discount (-Rp 1.000)": "baris 1 ('Es Kopi') berdiskon negatif (-Rp 1.000)",
    "line 1 ('Es Kopi') discount Rp 30.000 is more than the line's Rp 25.000":
        "diskon baris 1 ('Es Kopi') Rp 30.000 melebihi nilai barisnya Rp 25.000",
    "line 1 ('Es Kopi') has a negative tax": "baris 1 ('Es Kopi') berpajak negatif",
    "order discount is negative (-Rp 2.000)": "diskon pesanan negatif (-Rp 2.000)",
    "order discount Rp 90.000 is more than its lines (Rp 50.000)":
        "diskon pesanan Rp 90.000 melebihi total barisnya (Rp 50.000)",
    "product 'Kopi Susu Gula Aren Seasonal 1L' has no SKU": "produk 'Kopi Susu Gula Aren Seasonal 1L' tidak punya SKU",
    "tax rate 12 % has no Jurnal tax configured (bookkeeping.taxes of the integration); add it, then retry":
        "tarif pajak 12 % belum punya pajak Jurnal di konfigurasi (bookkeeping.taxes integrasi); tambahkan, lalu coba "
        "lagi",
    "order tax Rp 5.500 does not match its lines' tax (Rp 5.000)":
        "pajak pesanan Rp 5.500 tidak sama dengan pajak baris-barisnya (Rp 5.000)",
    "order total Rp 243.500 does not match its lines (Rp 242.500)":
        "total pesanan Rp 243.500 tidak sama dengan total barisnya (Rp 242.500)",
    "payment INV-1/P2 uses an unknown payment method 'voucher'":
        "pembayaran INV-1/P2 memakai metode bayar yang tidak dikenal 'voucher'",
    "payment INV-1/P1 is for -Rp 5.000, a negative amount": "pembayaran INV-1/P1 sebesar -Rp 5.000, nominal negatif",
    "refund RF-1 is for order INV-1, which was voided at the till":
        "refund RF-1 untuk pesanan INV-1, yang sudah dibatalkan di kasir",
    "refund RF-1 returns a line ('Es Kopi') of another order than INV-1":
        "refund RF-1 mengembalikan baris ('Es Kopi') dari pesanan lain, bukan INV-1",
    "refund RF-1 returns 0 × 'Es Kopi', not a positive quantity":
        "refund RF-1 mengembalikan 0 × 'Es Kopi', bukan kuantitas positif",
    "refund RF-1 returns 3 × 'Es Kopi' but only 2 were sold and 1 already returned":
        "refund RF-1 mengembalikan 3 × 'Es Kopi' padahal hanya terjual 2 dan 1 sudah diretur",
    "refund RF-JKT01-0001 returns 2 × 'Croissant Butter' but only 1 was sold":
        "refund RF-JKT01-0001 mengembalikan 2 × 'Croissant Butter' padahal hanya terjual 1",
    "refund RF-1 line for 'Es Kopi' has a negative amount or tax":
        "baris refund RF-1 untuk 'Es Kopi' bernominal atau berpajak negatif",
    "refund total Rp 30.000 does not match its lines (Rp 25.000)":
        "total refund Rp 30.000 tidak sama dengan total barisnya (Rp 25.000)",
    "refund RF-2 pays back Rp 30.000 but only Rp 5.000 of order INV-1 remains refundable (it charged Rp 50.000 for "
    "goods, of which earlier refunds paid back Rp 45.000)":
        "refund RF-2 mengembalikan Rp 30.000 padahal sisa yang bisa direfund dari pesanan INV-1 hanya Rp 5.000 "
        "(pesanan itu menagih Rp 50.000 untuk barang, dan refund sebelumnya sudah mengembalikan Rp 45.000)",
    "refund RF-2 pays back Rp 60.000 but only Rp 50.000 of order INV-1 remains refundable (it charged Rp 50.000 "
    "for goods)":
        "refund RF-2 mengembalikan Rp 60.000 padahal sisa yang bisa direfund dari pesanan INV-1 hanya Rp 50.000 "
        "(pesanan itu menagih Rp 50.000 untuk barang)",
    "customer ID C-0007 is already used by customer 'Wayan Santoso'":
        "ID pelanggan C-0007 sudah dipakai pelanggan 'Wayan Santoso'",
    "products.price is empty (NULL); products.tax_rate = 'sebelas' is not a rate":
        "products.price kosong (NULL); products.tax_rate = 'sebelas' bukan tarif",
    "orders.business_time is empty (None)": "orders.business_time kosong (None)",
    "orders.total_amount = 'x' is not an amount": "orders.total_amount = 'x' bukan nominal",
    # stock
    "transfer TO-1 goes to outlet id 99, which is not in the POS":
        "transfer TO-1 dikirim ke outlet id 99, yang tidak ada di POS",
    "transfer TO-1 comes from outlet id 99, which is not in the POS":
        "transfer TO-1 berasal dari outlet id 99, yang tidak ada di POS",
    "transfer TO-0009 was received at JKT01 but never recorded as sent at BDG01 (no sent time); repair it in the "
    "POS":
        "transfer TO-0009 sudah diterima di JKT01 tetapi tidak pernah tercatat dikirim dari BDG01 (tanpa waktu "
        "kirim); perbaiki di POS",
    "it has no lines": "tidak punya baris",
    "line 2 receives 12.000 of 'Es Kopi' but only 10.000 were sent":
        "baris 2 menerima 12.000 'Es Kopi' padahal yang dikirim hanya 10.000",
    "line 1 ('Es Kopi') has no counted quantity": "baris 1 ('Es Kopi') tidak punya jumlah hasil hitung",
    "line 1 ('Es Kopi') has no quantity change": "baris 1 ('Es Kopi') tidak punya perubahan kuantitas",
    "transfer TO-1 has no sent time": "transfer TO-1 tidak punya waktu kirim",
    "transfer TO-1 received time 'besok' is not a time": "waktu terima transfer TO-1, 'besok', bukan waktu",
    "stock take ST-1 has no business time": "stok opname ST-1 tidak punya waktu transaksi",
    "adjustment ADJ-1 has no business time": "penyesuaian stok ADJ-1 tidak punya waktu transaksi",
    # goods receipts from Accurate
    "SAVE_ITEM events are not synced to the POS (only RECEIVE_ITEM, PURCHASE_ORDER, ITEM_TRANSFER)":
        "event SAVE_ITEM tidak disinkronkan ke POS (hanya RECEIVE_ITEM, PURCHASE_ORDER, ITEM_TRANSFER)",
    "the envelope has no data entries": "envelope tidak berisi data",
    "receive-item RI-1: action DELETE is not synced; a receipt already in the POS is not reversed automatically "
    "(adjust the stock in the POS)":
        "penerimaan barang RI-1: aksi DELETE tidak disinkronkan; penerimaan yang sudah ada di POS tidak dibatalkan "
        "otomatis (sesuaikan stok di POS)",
    "receive-item RI-1: action missing is not synced": "penerimaan barang RI-1: aksi missing tidak disinkronkan",
    "receive-item RI-1 no longer exists in Accurate (deleted after it was saved)":
        "penerimaan barang RI-1 sudah tidak ada di Accurate (dihapus setelah disimpan)",
    "receive-item #12: Accurate refused to return it: Data tidak ditemukan":
        "penerimaan barang #12: Accurate menolak mengembalikannya: Data tidak ditemukan",
    "already in the POS (an earlier delivery)": "sudah ada di POS (kiriman sebelumnya)",
    "receive-item RI-1 was changed in Accurate after the POS received it; the POS keeps the first version: adjust "
    "the stock in the POS if the change is real":
        "penerimaan barang RI-1 diubah di Accurate setelah POS menerimanya; POS menyimpan versi pertama: sesuaikan "
        "stok di POS bila perubahan itu memang benar",
    "receive-item RI-1 line 2: quantity 'dua' is not a number":
        "penerimaan barang RI-1 baris 2: quantity 'dua' bukan angka",
    "receive-item RI-1: transDate '2026-11-10' is not dd/MM/yyyy":
        "penerimaan barang RI-1: transDate '2026-11-10' bukan dd/MM/yyyy",
    "receive-item 12: Accurate returned it without a number":
        "penerimaan barang 12: Accurate mengembalikannya tanpa nomor",
    "receive-item RI-1 has no item lines": "penerimaan barang RI-1 tidak punya baris barang",
    "receive-item RI-1: line 1 is not an object": "penerimaan barang RI-1: baris 1 bukan objek",
    "receive-item RI-1: line 1 names no warehouse": "penerimaan barang RI-1: baris 1 tidak menyebut gudang",
    # purchase orders and item transfers from Accurate
    "item-transfer #41: action WRITE2 is not synced": "pemindahan barang #41: aksi WRITE2 tidak disinkronkan",
    "purchase-order PO-1: shipDate '2026-12-04' is not dd/MM/yyyy":
        "pesanan pembelian PO-1: shipDate '2026-12-04' bukan dd/MM/yyyy",
    "Accurate warehouse 'Utama' of item-transfer IT-1 is not mapped to a POS outlet (set outlets.<code>.warehouse "
    "for integration accurate_demo in integrations.yaml)":
        "gudang Accurate 'Utama' dari pemindahan barang IT-1 belum dipetakan ke outlet POS (isi "
        "outlets.<code>.warehouse untuk integrasi accurate_demo di integrations.yaml)",
    "→ expected at POS outlet JKT01: 2 lines": "→ diharapkan di outlet POS JKT01: 2 baris",
    "Accurate item 'KOP-001' (Kopi Toraja): quantity -1.000 is not a positive quantity sent":
        "barang Accurate 'KOP-001' (Kopi Toraja): kuantitas -1.000 bukan kuantitas dikirim yang positif",
    "→ changed in Accurate, updated at POS outlet JKT01: 1 lines":
        "→ diubah di Accurate, diperbarui di outlet POS JKT01: 1 baris",
    "→ POS transfer IT-1 sent JKT01 → BDG01: 2 lines, -14.000 in stock at JKT01":
        "→ transfer POS IT-1 dikirim JKT01 → BDG01: 2 baris, stok -14.000 di JKT01",
    "→ POS transfer IT-1 received at BDG01: +13.000 in stock": "→ transfer POS IT-1 diterima di BDG01: stok +13.000",
    "deleted in Accurate: cancelled in the POS": "dihapus di Accurate: dibatalkan di POS",
    "item-transfer IT-1 was changed in Accurate after the POS took it; the POS keeps the first version: adjust the "
    "stock in the POS if the change is real":
        "pemindahan barang IT-1 diubah di Accurate setelah POS mencatatnya; POS menyimpan versi pertama: sesuaikan "
        "stok di POS bila perubahan itu memang benar",
    "already cancelled in the POS (an earlier delivery)": "sudah dibatalkan di POS (kiriman sebelumnya)",
    "transfer IT-1 already received in the POS (an earlier delivery)":
        "transfer IT-1 sudah diterima di POS (kiriman sebelumnya)",
    "purchase-order PO-1 was deleted in Accurate and was never in the POS":
        "pesanan pembelian PO-1 dihapus di Accurate dan tidak pernah ada di POS",
    "item-transfer IT-1: action DELETE is not synced; a transfer already in the POS is not reversed automatically "
    "(cancel it or adjust the stock in the POS)":
        "pemindahan barang IT-1: aksi DELETE tidak disinkronkan; transfer yang sudah ada di POS tidak dibatalkan "
        "otomatis (batalkan atau sesuaikan stok di POS)",
    "item-transfer TO-1/OUT belongs to POS transfer TO-1, which possync sent to Accurate: nothing to write back":
        "pemindahan barang TO-1/OUT milik transfer POS TO-1, yang dikirim possync ke Accurate: tidak ada yang ditulis "
        "balik",
    "item-transfer IT-2 moves goods between Accurate warehouses 'Utama' and 'Cabang', neither a POS outlet: nothing "
    "for the POS":
        "pemindahan barang IT-2 memindahkan barang antara gudang Accurate 'Utama' dan 'Cabang', keduanya bukan outlet "
        "POS: tidak ada untuk POS",
    "Accurate transfer-in IT-2 receives transfer IT-1, which is not in the POS yet; it is written once the "
    "transfer-out is; tried again at the end of this run":
        "transfer masuk Accurate IT-2 menerima transfer IT-1, yang belum ada di POS; ditulis setelah transfer "
        "keluarnya; dicoba lagi di akhir run ini",
    "Accurate branch 'Surabaya' of purchase-order PO-1 is not the branch of a POS outlet (set outlets.<code>.branch "
    "for integration accurate_demo in integrations.yaml)":
        "cabang Accurate 'Surabaya' dari pesanan pembelian PO-1 bukan cabang outlet POS mana pun (isi "
        "outlets.<code>.branch untuk integrasi accurate_demo di integrations.yaml)",
    "Accurate branch 'Bandung' of purchase-order PO-1 is the branch of several POS outlets (BDG01, BDG02): the POS "
    "cannot tell which one expects it (give each outlet its own branch)":
        "cabang Accurate 'Bandung' dari pesanan pembelian PO-1 adalah cabang beberapa outlet POS (BDG01, BDG02): POS "
        "tidak tahu outlet mana yang menunggunya (beri tiap outlet cabangnya sendiri)",
    "purchase-order PO-1 names neither a warehouse nor a branch: the POS cannot tell which outlet expects it (give "
    "it the outlet's branch in Accurate)":
        "pesanan pembelian PO-1 tidak menyebut gudang maupun cabang: POS tidak tahu outlet mana yang menunggunya (beri "
        "cabang outletnya di Accurate)",
    "receive-item RI-1 receives into several warehouses (Gudang A, Gudang B); the POS takes one outlet per receipt: "
    "split it in Accurate":
        "penerimaan barang RI-1 masuk ke beberapa gudang (Gudang A, Gudang B); POS hanya menerima satu outlet per "
        "penerimaan: pecah di Accurate",
    "Accurate warehouse 'Gudang C' of receive-item RI-1 is not mapped to a POS outlet (set "
    "outlets.<code>.warehouse for integration accurate_demo in integrations.yaml)":
        "gudang Accurate 'Gudang C' dari penerimaan barang RI-1 belum dipetakan ke outlet POS (isi "
        "outlets.<code>.warehouse untuk integrasi accurate_demo di integrations.yaml)",
    "Accurate item 'KOP-1' (Kopi): quantity -2 is not a positive quantity received":
        "barang Accurate 'KOP-1' (Kopi): kuantitas -2 bukan kuantitas diterima yang positif",
    "Accurate item '': has no item code to match a POS SKU".replace(": has", " has"):
        "barang Accurate '' tidak punya kode barang untuk dicocokkan dengan SKU POS",
    "Accurate item 'KOP-9' (Kopi Baru): the POS product 'Kopi Baru' has no SKU; give it SKU 'KOP-9' in the POS":
        "barang Accurate 'KOP-9' (Kopi Baru): produk POS 'Kopi Baru' tidak punya SKU; beri SKU 'KOP-9' di POS",
    "Accurate item 'KOP-9' has no product with that SKU in the POS":
        "barang Accurate 'KOP-9': tidak ada produk dengan SKU itu di POS",
    "goods receipt RI-1 has no lines": "penerimaan barang RI-1 tidak punya baris",
    "goods receipt RI-1: outlet 'XX01' is not in the POS": "penerimaan barang RI-1: outlet 'XX01' tidak ada di POS",
    # the head office exchange
    "head office applied it": "kantor pusat sudah menerapkannya",
    "head office rejected it: harga tidak valid": "kantor pusat menolaknya: harga tidak valid",
    "head office already holds this version (#4, processed)": "kantor pusat sudah menyimpan versi ini (#4, processed)",
    "acknowledged PROCESSED": "dikonfirmasi PROCESSED",
    "time '2026-11-10 10:00' has no timezone": "waktu '2026-11-10 10:00' tidak punya zona waktu",
    "store 'XX01' is not an outlet of this POS": "toko 'XX01' bukan outlet di POS ini",
    "unknown item 'KOP-9': no POS product has that SKU":
        "barang tidak dikenal 'KOP-9': tidak ada produk POS dengan SKU itu",
    "price list has no lines": "price list tidak punya baris",
    "this store does not take 'promo' documents": "toko ini tidak menerima dokumen 'promo'",
    "missing field 'sku'": "field 'sku' tidak ada",
    "invalid value: could not convert string to float: 'x'":
        "nilai tidak valid: could not convert string to float: 'x'",
}


@pytest.mark.parametrize(("english", "indonesian"), list(SAMPLES.items()), ids=range(len(SAMPLES)))
def test_each_template_translates_keeping_names_amounts_and_keys(english: str, indonesian: str) -> None:
    assert translate_or_none(english) == indonesian
    assert translate(english, "id") == indonesian
    assert translate(english, "en") == english, "English is the ledger's own text"


def test_every_catalogue_template_has_a_sample(monkeypatch: pytest.MonkeyPatch) -> None:
    """A template added without a sample above (whole, or inside a composed one) is a template no test proves."""
    import possync.i18n

    used: set[str] = set()

    class Recording:
        def __init__(self, pattern: re.Pattern[str]) -> None:
            self.pattern = pattern

        def fullmatch(self, text: str) -> re.Match[str] | None:
            match = self.pattern.fullmatch(text)
            if match is not None:
                used.add(self.pattern.pattern)
            return match

    compiled, nouns = catalogue()  # every registered target's own entries too
    monkeypatch.setattr(possync.i18n, "catalogue", lambda: ([(Recording(p), t) for p, t in compiled], nouns))
    translate_or_none.cache_clear()
    try:
        for english in SAMPLES:
            translate_or_none(english)
    finally:
        translate_or_none.cache_clear()
    unproved = [pattern.pattern for pattern, _ in compiled if pattern.pattern not in used]
    assert unproved == [], "\n".join(unproved)


def test_reasons_inside_reasons_translate_but_the_cashiers_words_do_not() -> None:
    inner = "product 'Es Kopi Susu; Gula Aren' has no SKU"
    assert translate(f"invoice INV-1 was rejected: {inner}", "id") == (
        "faktur INV-1 ditolak: produk 'Es Kopi Susu; Gula Aren' tidak punya SKU")
    # the cashier typed English that looks like a reason: it stays as typed
    assert translate("voided at the till: order has no lines", "id") == "dibatalkan di kasir: order has no lines"
    # several problems of one record, each translated
    assert translate("order has no lines; order status 'x' is neither completed nor voided", "id") == (
        "pesanan tidak punya baris; status pesanan 'x' bukan completed maupun voided")


def test_unknown_text_comes_back_unchanged_and_nothing_raises() -> None:
    for text in ["", "something new went wrong", "{name} {0} %s", "voided at the till: {oops}", "→"]:
        assert translate_or_none(text) is None or text.startswith("voided")
        assert translate(text, "id") == text or text.startswith("voided")
    assert translate("voided at the till: {oops}", "id") == "dibatalkan di kasir: {oops}"
    # a known part next to an unknown one: the known part is translated, the rest stays
    assert translate("order has no lines; a brand new problem", "id") == (
        "pesanan tidak punya baris; a brand new problem")
    assert translate_or_none("order has no lines; a brand new problem") is None


def test_reasons_the_code_words_translate() -> None:
    """Reasons built by the code's own functions (kinds the demo never makes)."""
    row = SimpleNamespace(number="RF-2", total_amount="30000.00", refundable_left=500000, order_number="INV-1",
                          refundable_goods=5000000, refunded_before=4500000)
    assert translate_or_none(_over_refund_amount_reason(row)) is not None
    row = SimpleNamespace(number="RF-1", quantity=3, quantity_sold=2, product_name="Es Kopi",
                          quantity_refunded_before=1)
    assert translate_or_none(_over_refund_reason(row)) is not None
    problem = key_problem(SimpleNamespace(key="INV-1 ", customer_code=None))
    assert problem is not None and translate_or_none(problem) is not None
    problem = key_problem(SimpleNamespace(key="INV-1", customer_code=" C-7"))
    assert problem is not None and translate(problem, "id").startswith("ID pelanggan dari kasir ' C-7'")
    needs = [Prerequisite("customer", "C-7", "customer C-7"), Prerequisite("item", "KOP-1", "item KOP-1")]
    for failed in (set(), {("item", "KOP-1")}):
        assert translate_or_none(Loader._waiting_reason(needs, failed)) is not None


def test_the_task_summary_and_failure_message_in_both_languages() -> None:
    assert load_summary_line("jurnal_demo", "sales", 10, 7, 1, 2, 0, "en") == (
        "jurnal_demo sales: read 10 = synced 7 + skipped 1 + failed 2")
    assert load_summary_line("jurnal_demo", "sales", 10, 7, 1, 2, 1, "id") == (
        "jurnal_demo sales: dibaca 10 = tersinkron 7 + dilewati 1 + gagal 2; 1 dokumen target dibalik (diubah atau "
        "dibatalkan di POS setelah disinkronkan)")
    failures = [f"invoice INV-{n}: product 'Es Kopi' has no SKU" for n in range(7)]
    assert failure_message(7, failures, "en") == (
        "7 record(s) failed: " + "; ".join(failures[:5]) + " (and 2 more in the log)")
    assert failure_message(7, failures, "id") == (
        "7 data gagal: " + "; ".join(f"invoice INV-{n}: produk 'Es Kopi' tidak punya SKU" for n in range(5))
        + " (dan 2 lagi di log)")


def test_the_language_is_a_setting_of_each_integration_and_rides_on_the_logger() -> None:
    assert Integration.model_fields["language"].default == "en"
    base = logging.getLogger("possync.test_bahasa")
    assert with_language(base, "en") is base
    adapted = with_language(base, "id")
    assert isinstance(adapted, LanguageAdapter) and language_of(adapted) == "id"
    assert with_language(adapted, "id") is adapted and language_of(with_language(adapted, "en")) == "en"
    lines = Lines()
    log_record(with_language(lines, "id"), "FAILED", "item", "PROD-7", "product 'Es Kopi' has no SKU")
    log_record(lines, "FAILED", "item", "PROD-7", "product 'Es Kopi' has no SKU")
    assert lines.messages == [
        "FAILED   item      PROD-7                       produk 'Es Kopi' tidak punya SKU",  # the outcome stays
        "FAILED   item      PROD-7                       product 'Es Kopi' has no SKU",
    ]


class Lines:
    """A logger that keeps its lines: the task's logger is Airflow's structlog one, not ``logging``'s (and
    possync's loggers do not reach caplog), so the job is handed this instead, and wraps it as it wraps that."""

    def __init__(self) -> None:
        self.messages: list[str] = []

    def _keep(self, msg: str, *args: Any, **kwargs: Any) -> None:
        self.messages.append(msg % args if args else msg)

    debug = info = warning = error = exception = critical = _keep

    def log(self, level: int, msg: str, *args: Any, **kwargs: Any) -> None:
        self._keep(msg, *args)


# ------------------------------------------------------------------------------- the demo week, synced

WORLDS = {"jurnal": jurnal_world, "accurate": accurate_world}
WEEK = Window(datetime(2026, 11, 9, tzinfo=UTC) - timedelta(hours=7),
              datetime(2026, 11, 14, tzinfo=UTC) - timedelta(hours=7))
DAY = Window(datetime(2026, 11, 10, tzinfo=UTC) - timedelta(hours=7),
             datetime(2026, 11, 11, tzinfo=UTC) - timedelta(hours=7))
LINE = re.compile(r"(?P<outcome>[A-Z]+) +(?P<record_type>\S+) +(?P<key>\S+) +(?P<detail>.*)", re.DOTALL)


@pytest.fixture(params=["jurnal", "accurate"])
def world(request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, Any]]:
    yield from WORLDS[request.param](tmp_path, monkeypatch)


def sync_week(world: dict[str, Any], language: str) -> list[dict[str, str]]:
    """The demo week of every outlet synced, then an order voided at the till after sync and its day synced
    again (REVERSED lines); the per-record lines logged."""
    logger = Lines()
    job = dataclasses.replace(sync_job(world, language=language), logger=logger)
    assert language_of(job.logger) == language
    sync_customers(job)
    sync_products(job)
    for outlet in sorted(job.integration.outlets):
        sync_sales(job, outlet_codes=[outlet], window=WEEK)
    outlets = sorted(job.integration.outlets)
    sync_transfers(job, outlet_codes=outlets, window=WEEK)
    for outlet in outlets:
        sync_stock(job, outlet_code=outlet, window=WEEK)
    [order] = plain_orders(world["pos"], "JKT01", DAY.start, DAY.end, exclude=set(broken_keys()))[:1]
    void_order(world["pos"], order.number, "Pelanggan batal")
    sync_sales(job, outlet_codes=["JKT01"], window=DAY)
    lines = []
    for message in logger.messages:
        match = LINE.fullmatch(message)
        if match is not None and match["outcome"] in OUTCOMES:
            lines.append(match.groupdict())
    summaries = [m for m in logger.messages if "dibaca" in m or " read " in m]
    assert summaries and all(("dibaca" in m) == (language == "id") for m in summaries), summaries
    return lines


def test_the_demo_week_in_bahasa_indonesia_has_every_reason_translated(
        world: dict[str, Any], monkeypatch: pytest.MonkeyPatch) -> None:
    import possync.recordlog

    asked: list[tuple[str, str | None]] = []

    def spy(text: str, language: str) -> str:
        asked.append((text, translate_or_none(text)))
        return translate(text, language)

    monkeypatch.setattr(possync.recordlog, "translate", spy)
    lines = sync_week(world, "id")
    outcomes = {line["outcome"] for line in lines}
    assert {"FAILED", "SKIPPED", "REVERSED", "SYNCED"} <= outcomes, outcomes
    assert len(asked) == len(lines), "every per-record line went through the translation"
    missed = sorted({english for english, indonesian in asked if indonesian is None})
    assert missed == [], "\n".join(missed)
    for line, (_, indonesian) in zip(lines, asked, strict=True):  # (a key may hold spaces: a warehouse's name)
        assert indonesian is not None and line["detail"].endswith(indonesian), line
    details = [line["detail"] for line in lines if line["outcome"] != "SYNCED"]
    assert any("tidak punya SKU" in detail for detail in details)
    assert any(detail.startswith("dibatalkan di kasir: Pelanggan batal") for detail in details)
    # the ledger keeps the English reasons
    name = sync_job(world).integration.name
    for line in lines:
        if line["outcome"] == "FAILED":
            record = world["ledger"].get(name, line["record_type"], line["key"])
            assert record is not None and translate_or_none(record.reason) == line["detail"], line


def test_the_demo_week_in_english_logs_the_ledgers_reasons(world: dict[str, Any]) -> None:
    lines = sync_week(world, "en")
    name = sync_job(world).integration.name
    failed = [line for line in lines if line["outcome"] in ("FAILED", "SKIPPED", "REVERSED")]
    assert failed
    for line in failed:
        assert translate_or_none(line["detail"]) is not None, f"a reason the catalogue misses: {line['detail']}"
    for line in failed:
        if line["outcome"] == "FAILED":
            record = world["ledger"].get(name, line["record_type"], line["key"])
            assert record is not None and line["detail"] == record.reason, line


# ------------------------------------------------------------------------------------------ the operator


@pytest.mark.parametrize("language", ["en", "id"])
def test_the_sync_task_summarises_and_fails_in_the_integrations_language(
        language: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """The operator's closing line and its AirflowFailException, around a job the operator hands its logger."""
    from airflow.sdk.exceptions import AirflowFailException

    from possync.config import load_config
    from possync.pipeline import SyncJob
    from possync.targets.base.loader import LoadSummary
    from possync.targets.base.operators import SyncOperator

    integration = load_config().integrations[0].model_copy(update={"language": language})
    jobs: list[Any] = []

    def connect(cls: Any, integration: Any, target: Any, hook: Any, *, run: Any = None, logger: Any) -> Any:
        job = SimpleNamespace(integration=integration, logger=with_language(logger, integration.language))
        jobs.append(job)
        return job

    class Failing(SyncOperator):
        flow = "customers"

        def sync(self, job: Any) -> LoadSummary:
            log_record(job.logger, "FAILED", "customer", "CUST-29",
                       "customer ID C-0007 is already used by customer 'Wayan Santoso'")
            return LoadSummary(synced=3, failed=1, failures=[
                "customer CUST-29: customer ID C-0007 is already used by customer 'Wayan Santoso'"])

    monkeypatch.setattr(SyncJob, "connect", classmethod(connect))
    operator = Failing(task_id="sync_customers", integration_name=integration.name)
    operator.__dict__.update(integration=integration, target=None, hook=None)
    lines = Lines()
    monkeypatch.setattr(Failing, "log", lines)
    context = {"ti": SimpleNamespace(xcom_push=lambda **_: None), "dag_run": None}
    monkeypatch.setattr("possync.ledger.RunRef.from_context", staticmethod(lambda context: None))
    with pytest.raises(AirflowFailException) as failed:
        operator.execute(context)
    assert language_of(jobs[0].logger) == language
    if language == "id":
        assert lines.messages == [
            "FAILED   customer  CUST-29                      ID pelanggan C-0007 sudah dipakai pelanggan 'Wayan "
            "Santoso'",
            f"{integration.name} customers: dibaca 4 = tersinkron 3 + dilewati 0 + gagal 1",
        ]
        assert str(failed.value) == (
            "1 data gagal: customer CUST-29: ID pelanggan C-0007 sudah dipakai pelanggan 'Wayan Santoso'")
    else:
        assert lines.messages == [
            "FAILED   customer  CUST-29                      customer ID C-0007 is already used by customer "
            "'Wayan Santoso'",
            f"{integration.name} customers: read 4 = synced 3 + skipped 0 + failed 1",
        ]
        assert str(failed.value) == (
            "1 record(s) failed: customer CUST-29: customer ID C-0007 is already used by customer 'Wayan Santoso'")


# ------------------------------------------------------------------- reasons the demo week never makes


def test_broken_sales_of_every_kind_translate(sqlite_url: str) -> None:
    """A POS with sales broken in the ways the demo does not break them, through the real transform: every
    rejection and skip reason it writes is in the catalogue."""
    from possync.db import make_engine
    from possync.pos.extract import extract_customers, extract_products, extract_sales
    from possync.transform.sales import transform_customers, transform_products, transform_sales
    from support.pos_builder import T0, Line, Pos

    pos = Pos(make_engine(sqlite_url))
    pos.outlet("OUT-01")
    pos.outlet("WH-01", kind="warehouse")
    pos.outlet("OUT-XX", timezone="Asia/Jakrta")
    for name, price in (("Kopi Susu", 25000), ("Es Kopi", 20000), ("Roti", 15500)):
        pos.product(name, price)
    pos.product("Kopi Tanpa SKU", 18000, sku=None)
    pos.customer("Wayan Santoso", "C-0007")
    pos.customer("Wayan S.", "C-0007")
    broken = [
        ("INV-30", [], {"total_amount": 0}, [], {}),
        ("INV-31", [Line("Es Kopi", 0)], {}, None, {}),
        ("INV-32", [Line("Es Kopi", 1, price=-5000)], {}, [("cash", 1)], {}),
        ("INV-33", [Line("Es Kopi", 1, discount=25000)], {}, [("cash", 1)], {}),
        ("INV-34", [Line("Es Kopi", 1, price=45946, discount="5946")], {"total_amount": 52000}, None, {}),
        ("INV-35", [Line("Es Kopi", 1, price="45945.95")], {"tax_amount": 5000}, None, {}),
        ("INV-36", [Line("Es Kopi", 2, price="23423.42")], {}, [("card", 40000), ("cash", 7000)], {}),
        ("INV-37", [Line("Es Kopi", 1)], {"discount_amount": -100, "total_amount": 22300}, None, {}),
        ("INV-38", [Line("Kopi Tanpa SKU", 1)], {}, [("cash", 10000)], {}),
        ("INV-39", [Line("Roti", 1)], {}, None, {"outlet": "WH-01"}),
        ("INV-40", [Line("Roti", 1)], {}, None, {"outlet": "OUT-XX"}),
        ("INV-41", [Line("Roti", 1)], {"status": "voided", "void_reason": None}, None, {}),
        ("INV-42", [Line("Roti", 1)], {}, [("card", 0), ("cash", 17205)], {}),
    ]
    for number, lines, stored, payments, where in broken:
        pos.order(number, lines, payments=payments, **stored, **where)
    sold = pos.order("INV-50", [Line("Roti", 1), Line("Es Kopi", 2)])
    pos.refund("RF-50", sold, [(2, 3)])
    voided = pos.order("INV-51", [Line("Es Kopi", 1)], status="voided", void_reason="salah meja")
    pos.refund("RF-51", voided, [(1, 1)])
    inclusive = pos.order("INV-52", [Line("Es Kopi", 2)], inclusive=True)
    pos.refund("RF-52", inclusive, [(1, 1)], total_amount=18000)
    rejected = pos.order("INV-54", [Line("Es Kopi", 1)], payments=[("cash", 1000)])
    pos.refund("RF-54", rejected, [(1, 1)])
    window = Window(T0 - timedelta(hours=3), T0 + timedelta(hours=21))

    batch = transform_sales(extract_sales(pos.engine, window))
    _, customer_rejections = transform_customers(extract_customers(pos.engine))
    _, product_rejections = transform_products(extract_products(pos.engine))
    reasons = [r.reason for r in [*batch.rejections, *batch.skipped, *customer_rejections, *product_rejections]]
    assert len(reasons) >= 20, reasons
    missed = [reason for reason in reasons if translate_or_none(reason) is None]
    assert missed == [], "\n".join(missed)
    indonesian = {translate(reason, "id") for reason in reasons}
    assert "dibatalkan di kasir: tanpa alasan" in indonesian
    assert "dibatalkan di kasir: salah meja" in indonesian
    assert "ID pelanggan C-0007 sudah dipakai pelanggan 'Wayan Santoso'" in indonesian
    assert "produk 'Kopi Tanpa SKU' tidak punya SKU" in indonesian
