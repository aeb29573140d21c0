"""How Accurate's own document names read in the Indonesian reasons (``possync.i18n``): the inbound's reasons
(``inbound.py``) name Accurate's modules (receive-item, purchase-order, item-transfer). Looked up through
``AccurateTarget.reasons``, so ``possync.i18n`` names no target."""

from __future__ import annotations

from possync.i18n import TARGET

#: Accurate's modules as the inbound's reasons name its documents → Indonesian
NOUNS: dict[str, str] = {
    "receive-item": "penerimaan barang",
    "purchase-order": "pesanan pembelian",
    "item-transfer": "pemindahan barang",
}

#: an Accurate document of the inbound, by its module (translated through NOUNS)
_DOC = r"(?P<n_doc>receive-item|purchase-order|item-transfer)"

#: (English template as a regex, Indonesian template), as ``possync.i18n``'s catalogue
CATALOGUE: list[tuple[str, str]] = [
    (r"receive-item (?P<key>\S+): action (?P<action>\S+) is not synced; a receipt already in the POS is not "
     r"reversed automatically \(adjust the stock in the POS\)",
     "penerimaan barang {key}: aksi {action} tidak disinkronkan; penerimaan yang sudah ada di POS tidak dibatalkan "
     "otomatis (sesuaikan stok di POS)"),
    (rf"{_DOC} (?P<key>\S+): action (?P<action>\S+) is not synced",
     "{n_doc} {key}: aksi {action} tidak disinkronkan"),
    (rf"{_DOC} (?P<key>\S+) no longer exists in {TARGET} \(deleted after it was saved\)",
     "{n_doc} {key} sudah tidak ada di {target} (dihapus setelah disimpan)"),
    (rf"{_DOC} (?P<key>\S+): {TARGET} refused to return it: (?P<message>.*)",
     "{n_doc} {key}: {target} menolak mengembalikannya: {message}"),
    (rf"receive-item (?P<key>\S+) was changed in {TARGET} after the POS received it; the POS keeps the first "
     r"version: adjust the stock in the POS if the change is real",
     "penerimaan barang {key} diubah di {target} setelah POS menerimanya; POS menyimpan versi pertama: sesuaikan "
     "stok di POS bila perubahan itu memang benar"),
    (rf"{_DOC} (?P<key>\S+) line (?P<line>\d+): "
     r"(?P<field>quantity|unitPrice) (?P<value>.+) is not a number",
     "{n_doc} {key} baris {line}: {field} {value} bukan angka"),
    (rf"{_DOC} (?P<key>\S+): (?P<field>transDate|shipDate) "
     r"(?P<value>.+) is not dd/MM/yyyy", "{n_doc} {key}: {field} {value} bukan dd/MM/yyyy"),
    (rf"{_DOC} (?P<key>\S+): {TARGET} returned it without a number",
     "{n_doc} {key}: {target} mengembalikannya tanpa nomor"),
    (rf"{_DOC} (?P<key>\S+) has no item lines", "{n_doc} {key} tidak punya baris barang"),
    (rf"{_DOC} (?P<key>\S+): line (?P<line>\d+) is not an object",
     "{n_doc} {key}: baris {line} bukan objek"),
    (r"receive-item (?P<key>\S+): line (?P<line>\d+) names no warehouse",
     "penerimaan barang {key}: baris {line} tidak menyebut gudang"),
    (r"receive-item (?P<key>\S+) receives into several warehouses \((?P<warehouses>.*)\); the POS takes one outlet "
     rf"per receipt: split it in {TARGET}",
     "penerimaan barang {key} masuk ke beberapa gudang ({warehouses}); POS hanya menerima satu outlet per "
     "penerimaan: pecah di {target}"),
    (rf"{TARGET} warehouse '(?P<warehouse>.*)' of {_DOC} "
     r"(?P<key>\S+) is not mapped to a POS outlet "
     r"\(set outlets\.<code>\.warehouse for integration (?P<integration>\S+) in integrations\.yaml\)",
     "gudang {target} '{warehouse}' dari {n_doc} {key} belum dipetakan ke outlet POS (isi "
     "outlets.<code>.warehouse untuk integrasi {integration} di integrations.yaml)"),
    (rf"item-transfer (?P<key>\S+) was changed in {TARGET} after the POS took it; the POS keeps the first version: "
     r"adjust the stock in the POS if the change is real",
     "pemindahan barang {key} diubah di {target} setelah POS mencatatnya; POS menyimpan versi pertama: sesuaikan "
     "stok di POS bila perubahan itu memang benar"),
    (rf"purchase-order (?P<key>\S+) was deleted in {TARGET} and was never in the POS",
     "pesanan pembelian {key} dihapus di {target} dan tidak pernah ada di POS"),
    (r"item-transfer (?P<key>\S+): action DELETE is not synced; a transfer already in the POS is not reversed "
     r"automatically \(cancel it or adjust the stock in the POS\)",
     "pemindahan barang {key}: aksi DELETE tidak disinkronkan; transfer yang sudah ada di POS tidak dibatalkan "
     "otomatis (batalkan atau sesuaikan stok di POS)"),
    (rf"item-transfer (?P<key>\S+) belongs to POS transfer (?P<number>\S+), which possync sent to {TARGET}: "
     r"nothing to write back",
     "pemindahan barang {key} milik transfer POS {number}, yang dikirim possync ke {target}: tidak ada yang ditulis "
     "balik"),
    (rf"item-transfer (?P<key>\S+) moves goods between {TARGET} warehouses '(?P<a>.*)' and '(?P<b>.*)', neither "
     r"a POS outlet: nothing for the POS",
     "pemindahan barang {key} memindahkan barang antara gudang {target} '{a}' dan '{b}', keduanya bukan outlet POS: "
     "tidak ada untuk POS"),
    (rf"{TARGET} branch '(?P<branch>.*)' of purchase-order (?P<key>\S+) is not the branch of a POS outlet \(set "
     r"outlets\.<code>\.branch for integration (?P<integration>\S+) in integrations\.yaml\)",
     "cabang {target} '{branch}' dari pesanan pembelian {key} bukan cabang outlet POS mana pun (isi "
     "outlets.<code>.branch untuk integrasi {integration} di integrations.yaml)"),
    (rf"{TARGET} branch '(?P<branch>.*)' of purchase-order (?P<key>\S+) is the branch of several POS outlets "
     r"\((?P<outlets>.*)\): the POS cannot tell which one expects it \(give each outlet its own branch\)",
     "cabang {target} '{branch}' dari pesanan pembelian {key} adalah cabang beberapa outlet POS ({outlets}): POS "
     "tidak tahu outlet mana yang menunggunya (beri tiap outlet cabangnya sendiri)"),
    (rf"purchase-order (?P<key>\S+) names neither a warehouse nor a branch: the POS cannot tell which outlet "
     rf"expects it \(give it the outlet's branch in {TARGET}\)",
     "pesanan pembelian {key} tidak menyebut gudang maupun cabang: POS tidak tahu outlet mana yang menunggunya "
     "(beri cabang outletnya di {target})"),
]
