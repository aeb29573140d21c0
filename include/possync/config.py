"""Integration settings: what syncs where, how often, and how POS outlets map to target warehouses.

Read from ``include/config/integrations.yaml`` (or ``$POSSYNC_CONFIG``) and validated by pydantic. Any
problem becomes one ``ConfigError`` whose message names the file and the field, e.g.::

    include/config/integrations.yaml: integrations[0] (jurnal_demo) → sales.hours[1]: '25:00' is not a time

so a bad file shows up as a readable DAG import error rather than a stack trace of pydantic internals.
Reading the file is cheap and local; it happens at DAG-parse time on purpose (the DAGs are the config).
"""

from __future__ import annotations

import os
import re
from datetime import date, time
from decimal import Decimal
from pathlib import Path
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import yaml
from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)

DEFAULT_CONFIG = Path(__file__).resolve().parents[1] / "config" / "integrations.yaml"
SLUG = r"^[a-z][a-z0-9_]*$"


class ConfigError(ValueError):
    """The integration settings are invalid; the message names the file and field."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


def _parse_time(value: Any) -> Any:
    """YAML reads 12:00 as a sexagesimal integer (720) unless quoted; accept both spellings."""
    if isinstance(value, int) and not isinstance(value, bool):
        hours, minutes = divmod(value, 60)
        if hours >= 24:
            raise ValueError(f"'{hours}:{minutes:02d}' is not a time of day (HH:MM)")
        return time(hours, minutes)
    if isinstance(value, str) and re.fullmatch(r"\d{1,2}:\d{2}", value):
        hours, minutes = (int(part) for part in value.split(":"))
        if hours < 24 and minutes < 60:
            return time(hours, minutes)
        raise ValueError(f"{value!r} is not a time of day (HH:MM)")
    return value


TimeOfDay = Annotated[time, BeforeValidator(_parse_time)]


class SalesSync(_Strict):
    """How sales reach the target: ``realtime`` (every few minutes), at ``shift_close``, or at ``scheduled`` hours."""

    mode: Literal["realtime", "shift_close", "scheduled"]
    every_minutes: Annotated[int, Field(ge=1, le=60)] = 5  # a divisor of 60, so windows tile the hour
    hours: list[TimeOfDay] = Field(default_factory=list)
    lookback_hours: Annotated[int, Field(ge=0, le=24 * 14)] = 48
    #: how far back (days of POS commit time before its window end) an outlet's first scheduled run reads
    first_run_lookback_days: Annotated[int, Field(ge=0, le=366)] = 7
    #: at most this many earlier records (orders + refunds) one run catches up per outlet, oldest first
    catch_up_limit: Annotated[int, Field(ge=1)] = 20_000
    #: at most this many outlets per sync_sales task (outlets in code order): the loads of a task fill the
    #: target's batches across its outlets, and a chain's run has a bounded number of tasks
    outlets_per_task: Annotated[int, Field(ge=1)] = 25

    @field_validator("every_minutes")
    @classmethod
    def _divides_the_hour(cls, value: int) -> int:
        if 60 % value:
            raise ValueError(f"{value} does not divide 60; windows must tile the hour (5, 10, 15, 20, 30, 60)")
        return value

    @model_validator(mode="after")
    def _hours_for_scheduled(self) -> SalesSync:
        if self.mode == "scheduled" and not self.hours:
            raise ValueError("mode 'scheduled' needs at least one entry in hours (e.g. ['12:00', '18:00'])")
        if self.mode != "scheduled" and self.hours:
            raise ValueError(f"hours only apply to mode 'scheduled', not {self.mode!r}")
        if len(set(self.hours)) != len(self.hours):
            raise ValueError("hours lists the same time twice")
        return self


class TransferSync(_Strict):
    """Transfers and stock: ``automatic`` at the configured hours, ``manual`` (ops pick a date range), or
    ``realtime``: the transfer schedule is off and each transfer side (out at its source, in at its destination)
    syncs in the next real-time sales window, as part of that run (``sales.mode: realtime`` required); stock
    adjustments and stock takes are then synced by hand, as in ``manual``."""

    mode: Literal["automatic", "manual", "realtime"] = "manual"
    hours: list[TimeOfDay] = Field(default_factory=list)
    #: transfers and stock documents committed late (offline tills) are still caught for this long
    lookback_hours: Annotated[int, Field(ge=0, le=24 * 14)] = 48
    #: how far back (days of POS commit time before its window end) the first scheduled run of an outlet reads
    first_run_lookback_days: Annotated[int, Field(ge=0, le=366)] = 7

    @model_validator(mode="after")
    def _hours_for_automatic(self) -> TransferSync:
        if self.mode == "automatic" and not self.hours:
            raise ValueError("mode 'automatic' needs at least one entry in hours (e.g. ['23:45'])")
        if self.mode != "automatic" and self.hours:
            raise ValueError(f"hours only apply to mode 'automatic', not {self.mode!r} (a manual sync runs when ops "
                             "trigger it, a realtime one with every real-time sales run)")
        if len(set(self.hours)) != len(self.hours):
            raise ValueError("hours lists the same time twice")
        return self


class OutletMapping(_Strict):
    """Where an outlet's documents go in the target: its warehouse, and its branch where the target has them."""

    warehouse: str
    branch: str | None = None


class TaxCode(_Strict):
    """The target's tax for one POS tax rate: ``name`` is the tax as the target names it (Jurnal's tax name,
    Accurate's tax record that the item carries as ``tax1Name``); ``exempt`` posts lines of the rate without a tax
    (only for a 0 % rate)."""

    rate: Annotated[Decimal, Field(ge=0, lt=100, decimal_places=2)]
    name: Annotated[str, Field(min_length=1)] | None = None
    exempt: bool = False

    @model_validator(mode="after")
    def _named_or_exempt(self) -> TaxCode:
        if self.exempt and self.name:
            raise ValueError("give either name (the target's tax) or exempt: true, not both")
        if self.exempt and self.rate:
            raise ValueError(f"only a 0 % rate can be exempt; rate {self.rate} needs the target's tax name")
        if not self.exempt and not self.name:
            raise ValueError("name the target's tax for this rate (e.g. name: PPN), or exempt: true for a 0 % rate")
        return self


def _default_taxes() -> list[TaxCode]:
    return [TaxCode(rate=Decimal(11), name="PPN"), TaxCode(rate=Decimal(10), name="PB1"),
            TaxCode(rate=Decimal(0), exempt=True)]


class Bookkeeping(_Strict):
    """How POS money lands in the target's books: accounts and the helper items invoices need."""

    payment_accounts: dict[Literal["cash", "card", "qris", "ewallet", "bank_transfer"], str] = Field(
        default_factory=lambda: {
            "cash": "Kas", "card": "Bank", "qris": "Bank", "ewallet": "Bank", "bank_transfer": "Bank",
        }
    )
    #: the customer an invoice is booked to when the sale had none
    walk_in_customer: str = "Pelanggan Umum"
    #: the target's tax per POS tax rate (a line carries the tax of its rate); a rate not listed cannot be posted
    taxes: list[TaxCode] = Field(default_factory=_default_taxes)
    #: non-inventory items (SKU → name) for what a receipt charges besides products
    output_vat_sku: str = "POS-PPN"
    service_charge_sku: str = "POS-SERVICE"
    rounding_sku: str = "POS-ROUNDING"
    inventory_account: str = "Persediaan Barang"
    receivable_account: str = "Piutang Usaha"
    payable_account: str = "Hutang Usaha"
    #: where the output-VAT item posts, so the VAT of tax-exclusive receipts is a liability, not revenue
    output_vat_account: str = "PPN Keluaran"
    #: where a refund's amount is booked when the target's own sales return, priced from the invoice, carries
    #: less (or more) than the POS paid back (Jurnal: the refund's bank withdrawal books the difference here)
    sales_return_account: str = "Retur Penjualan"
    #: the account stock adjustments and stock-take differences post against
    stock_adjustment_account: str = "Beban Penyesuaian Persediaan"
    #: Accurate: where a negative cash rounding and the cents that keep the target's tax equal to the POS's post
    #: (an invoice's other charges, ``detailExpense``, which do not change its tax base)
    rounding_account: str = "Pembulatan Penjualan"
    #: the account goods lost in transit (sent but never received) are written off to
    transit_loss_account: str = "Beban Penyesuaian Persediaan"
    #: targets whose transfers are single-step hold goods on the road in this warehouse
    transit_warehouse: str = "Barang Dalam Perjalanan"

    @field_validator("taxes")
    @classmethod
    def _one_code_per_rate(cls, value: list[TaxCode]) -> list[TaxCode]:
        rates = [code.rate for code in value]
        if twice := sorted({rate for rate in rates if rates.count(rate) > 1}):
            raise ValueError(f"rate {', '.join(f'{rate:g}' for rate in twice)} listed twice; one tax per rate")
        names = [code.name.casefold() for code in value if code.name]
        if twice_named := sorted({name for name in names if names.count(name) > 1}):
            raise ValueError(f"tax {', '.join(twice_named)} named for two rates; the target computes a tax at one "
                             "rate, so each rate needs its own tax")
        return value

    def tax_for(self, rate: Decimal) -> TaxCode | None:
        """The configured tax of a POS rate; a 0 % rate not listed is exempt; None: a rate with no tax here."""
        for code in self.taxes:
            if code.rate == rate:
                return code
        return TaxCode(rate=Decimal(0), exempt=True) if rate == 0 else None


EMAIL = r"^[^@\s,;]+@[^@\s,;]+\.[^@\s,;]+$"


def _an_address(value: str) -> str:
    if not re.fullmatch(EMAIL, value):
        raise ValueError(f"{value!r} is not an e-mail address (one address per entry, e.g. ops@example.com)")
    return value


class EmailAlerts(_Strict):
    """E-mail through Airflow's SMTP provider: ``conn_id`` names an ``smtp`` connection (host, port, login,
    password, TLS and ``from_email`` live there, never here)."""

    conn_id: Annotated[str, Field(min_length=1)]
    to: list[str]
    #: the sender; when unset, the connection's ``from_email`` extra
    from_email: str | None = None

    @field_validator("to")
    @classmethod
    def _someone(cls, value: list[str]) -> list[str]:
        if not value:
            raise ValueError("list at least one address to send alerts to")
        for address in value:
            _an_address(address)
        return value

    @field_validator("from_email")
    @classmethod
    def _a_sender(cls, value: str | None) -> str | None:
        return None if value is None else _an_address(value)


class ChatAlerts(_Strict):
    """A chat webhook through Airflow's Slack provider: ``conn_id`` names a ``slackwebhook`` connection (its
    host is the webhook's base URL, its password the webhook token or the whole webhook URL)."""

    conn_id: Annotated[str, Field(min_length=1)]


class Alerts(_Strict):
    """Where an integration's alerts go: a message per failed task of a red run, and a daily digest of the
    failures still open in the ledger (``possync.alerts``). Unset: nothing is sent."""

    email: EmailAlerts | None = None
    chat: ChatAlerts | None = None
    #: when the daily digest of open failures goes out (the integration's timezone)
    digest_time: TimeOfDay = time(7, 0)
    #: send the daily digest (the failure messages go out either way)
    digest: bool = True

    @model_validator(mode="after")
    def _a_channel(self) -> Alerts:
        if self.email is None and self.chat is None:
            raise ValueError("configure at least one channel (email or chat), or leave alerts out")
        return self


#: the most documents one batch create call takes on any target (each sender caps at its own maximum too)
MAX_BATCH_SIZE = 100


class Integration(_Strict):
    """One POS feeding one target. A POS may feed several targets through several integrations."""

    name: Annotated[str, Field(pattern=SLUG, max_length=60)]
    #: a registered target's name (``possync.targets.base.registry``)
    target: str
    conn_id: Annotated[str, Field(min_length=1)]
    pos_conn_id: str = "possync_pos"
    #: how the POS database is read: a source profile (a shipped profile's name, e.g. ``reference``, or a path to
    #: a YAML file, relative to this file's folder; docs/source-profiles.md). Unset: the built-in extract of
    #: possync's reference schema. A path is kept resolved (absolute).
    profile: Annotated[str, Field(min_length=1)] | None = None
    ledger_conn_id: str = "possync_ledger"
    enabled: bool = True
    timezone: str = "Asia/Jakarta"
    start_date: date
    use_pos_customer_id: bool = True
    pool: Annotated[str | None, Field(pattern=SLUG)] = None
    #: documents per batch create call, at most MAX_BATCH_SIZE
    batch_size: int = MAX_BATCH_SIZE
    #: tasks that may call the target at once (the size of its Airflow pool); each paces to its share of the limit
    #: (or, with ``shared_pacing``, all to one allowance)
    target_concurrency: Annotated[int, Field(ge=1, le=8)] = 1
    #: pace every task, process and worker to the API consumer's one allowance, kept in the ledger
    #: (``targets.base.pacing.SharedPacer``); off: each task paces alone to its pool share of the limit
    shared_pacing: bool = True
    #: batches of invoices or payments one task sends at once (``Loader``): at 2 or more the next batch's request
    #: is on its way while one's answer is awaited, all within the connection's pacing; 1 sends one at a time
    batches_in_flight: Annotated[int, Field(ge=1, le=8)] = 1
    #: a sale edited or voided in the POS after it was synced: ``apply`` reverses its documents in the target and
    #: posts them again as they now are; ``report`` only fails the records with what changed (possync.changes)
    changes_after_sync: Literal["apply", "report"] = "apply"
    #: how sales are posted: ``per_order`` (an invoice per order, its payments and returns), ``per_day`` (one
    #: summary invoice per outlet and business day once the day is over, lines summed per product and tax rate,
    #: payments per method, refunds per method; possync.transform.summary) or ``per_shift`` (the same per closed
    #: till shift, dated by the shift's opening; an order with no shift fails with the reason)
    posting: Literal["per_order", "per_day", "per_shift"] = "per_order"
    #: per_shift: a till shift still open this many hours after it opened fails its summary with the reason (the task
    #: turns red), rather than its sales waiting in silence for a close that may never come
    open_shift_hours: Annotated[int, Field(ge=1, le=24 * 14)] = 24
    #: the language of the per-record reasons in the task logs and on the Sync Status pages: ``en`` or ``id``
    #: (Bahasa Indonesia); the ledger keeps reasons in English either way (possync.i18n)
    language: Literal["en", "id"] = "en"
    #: when a failed record turns its task red: ``new`` only the first time it fails, or when its reason changes
    #: (a record still failing for a reason already reported is retried and logged as a warning); ``any`` on
    #: every run it fails in. System errors (unreachable target, refused credentials) always do.
    red_on: Literal["new", "any"] = "new"
    #: post each product's opening stock per outlet warehouse (the POS's level at ``start_date``) when the products
    #: sync imports it or an outlet is mapped, once (possync.stocksync; docs/reference.md: Opening stock)
    opening_stock: bool = False
    sales: SalesSync
    transfers: TransferSync = TransferSync()
    bookkeeping: Bookkeeping = Bookkeeping()
    outlets: dict[str, OutletMapping]
    #: where alerts about this integration go (possync.alerts); none when unset
    alerts: Alerts | None = None

    @field_validator("timezone")
    @classmethod
    def _known_timezone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown timezone {value!r} (use an IANA name such as 'Asia/Jakarta')") from None
        return value

    @field_validator("profile")
    @classmethod
    def _a_usable_profile(cls, value: str | None, info: ValidationInfo) -> str | None:
        if value is None:
            return value
        from possync.pos.profiles.model import ProfileError, load_profile, profile_path

        path = profile_path(value, (info.context or {}).get("config_dir"))
        try:
            load_profile(path)
        except ProfileError as error:
            raise ValueError(str(error)) from None
        return value if path.parent == _shipped_profiles() and path.stem == value else str(path.resolve())

    @model_validator(mode="after")
    def _realtime_transfers_ride_on_realtime_sales(self) -> Integration:
        if self.transfers.mode == "realtime" and self.sales.mode != "realtime":
            raise ValueError(f"transfers.mode realtime syncs transfers in the real-time sales windows, but sales.mode "
                             f"is {self.sales.mode!r}: set sales.mode realtime, or transfers.mode automatic or manual")
        return self

    @model_validator(mode="after")
    def _calls_in_flight_within_the_target_s_limit(self) -> Integration:
        from possync.targets.base.registry import UnknownTarget, get_target

        try:
            limit = get_target(self.target).max_in_flight
        except UnknownTarget:
            return self  # said by the target field's own check
        calls = self.target_concurrency * self.batches_in_flight
        if limit is not None and calls > limit:
            raise ValueError(
                f"target_concurrency {self.target_concurrency} × batches_in_flight {self.batches_in_flight} lets "
                f"{calls} calls be in flight at once, but {self.target} refuses more than {limit} in flight: lower "
                "either so that their product is at most " + str(limit))
        return self

    @model_validator(mode="after")
    def _profile_windows(self) -> Integration:
        if self.profile is not None and self.sales.mode == "shift_close":
            raise ValueError("sales.mode shift_close is not supported with a source profile yet (windows on shift "
                             "close read the reference schema's shifts); use scheduled or realtime, or no profile")
        if self.profile is not None and self.posting == "per_shift":
            raise ValueError("posting per_shift is not supported with a source profile yet (it reads the reference "
                             "schema's shifts); use per_day or per_order, or no profile")
        return self

    @field_validator("target")
    @classmethod
    def _known_target(cls, value: str) -> str:
        from possync.targets.base.registry import UnknownTarget, get_target

        try:
            get_target(value)
        except UnknownTarget as error:
            raise ValueError(str(error)) from None
        return value

    @field_validator("outlets")
    @classmethod
    def _some_outlets(cls, value: dict[str, OutletMapping]) -> dict[str, OutletMapping]:
        if not value:
            raise ValueError("map at least one POS outlet code to the target")
        return value

    @field_validator("outlets")
    @classmethod
    def _branches_where_the_target_books_by_branch(cls, value: dict[str, OutletMapping],
                                                   info: ValidationInfo) -> dict[str, OutletMapping]:
        from possync.targets.base.registry import UnknownTarget, get_target

        try:
            needs_branch = get_target(info.data["target"]).outlet_needs_branch
        except (KeyError, UnknownTarget):  # the target's own error says what is wrong
            return value
        missing = [code for code, outlet in value.items() if not outlet.branch]
        if needs_branch and missing:
            raise ValueError(
                f"{', '.join(f'{code}.branch' for code in missing)} missing: {info.data['target']} books every "
                "document to a branch ({CODE: {branch: ..., warehouse: ...}})")
        return value

    @field_validator("batch_size")
    @classmethod
    def _batch_size_the_targets_take(cls, value: int) -> int:
        if not 1 <= value <= MAX_BATCH_SIZE:
            raise ValueError(
                f"batch_size must be 1 to {MAX_BATCH_SIZE} (documents per create call; the targets' batch "
                f"endpoints take {MAX_BATCH_SIZE} at most), got {value}"
            )
        return value

    @property
    def target_pool(self) -> str:
        """The Airflow pool that caps concurrent calls to this target across all DAGs and backfills."""
        return self.pool or f"{self.target}_api"


def _shipped_profiles() -> Path:
    from possync.pos.profiles.model import SHIPPED

    return SHIPPED


class HeadOffice(_Strict):
    """A head office database the stores exchange documents with (receive masters and orders, send sales)."""

    name: Annotated[str, Field(pattern=SLUG, max_length=60)]
    conn_id: Annotated[str, Field(min_length=1)] = "possync_headoffice"
    pos_conn_id: str = "possync_pos"
    enabled: bool = True
    timezone: str = "Asia/Jakarta"
    start_date: date
    #: POS outlet codes that exchange with this head office (its store codes)
    stores: list[Annotated[str, Field(min_length=1)]]
    #: the store whose run sends the chain's customers (POS customers belong to no outlet); the first store if unset
    customers_store: str | None = None
    every_minutes: Annotated[int, Field(ge=15, le=60)] = 15
    #: the schema version this exchange speaks; HO's major version must match (``2.x`` or ``2.4.0``)
    schema_version: Annotated[str, Field(pattern=r"^\d+(\.(\d+|x))*$")] = "2.x"
    lookback_hours: Annotated[int, Field(ge=0, le=24 * 14)] = 48
    #: where alerts about this exchange's red runs go (possync.alerts; no digest: HO keeps no sync ledger)
    alerts: Alerts | None = None

    _known_timezone = field_validator("timezone")(Integration._known_timezone.__func__)  # type: ignore[attr-defined]

    @field_validator("every_minutes")
    @classmethod
    def _divides_the_hour(cls, value: int) -> int:
        if 60 % value:
            raise ValueError(f"{value} does not divide 60; the exchange runs every 15, 20, 30 or 60 minutes")
        return value

    @model_validator(mode="after")
    def _stores(self) -> HeadOffice:
        if not self.stores:
            raise ValueError("list at least one store (a POS outlet code)")
        if len(set(self.stores)) != len(self.stores):
            raise ValueError("stores lists the same store twice")
        if self.customers_store is not None and self.customers_store not in self.stores:
            raise ValueError(f"customers_store {self.customers_store!r} is not one of stores {self.stores}")
        return self

    @property
    def customer_sender(self) -> str:
        return self.customers_store or self.stores[0]


class PossyncConfig(_Strict):
    integrations: list[Integration]
    headoffices: list[HeadOffice] = Field(default_factory=list)

    @field_validator("integrations", mode="before")
    @classmethod
    def _some_integrations(cls, value: Any) -> Any:
        if value is None or value == []:
            raise ValueError("list at least one integration (a POS feeding a target); the list is empty")
        return value

    @model_validator(mode="after")
    def _unique_names(self) -> PossyncConfig:
        seen: set[str] = set()
        for item in [*self.integrations, *self.headoffices]:
            if item.name in seen:
                kind = "integration" if isinstance(item, Integration) else "head office"
                raise ValueError(f"{kind} name {item.name!r} is used twice (integrations and head offices name DAGs)")
            seen.add(item.name)
        return self

    def store_problems(self) -> dict[int, str]:
        """Head office (by index) → its stores that no integration reading the same POS maps to an outlet."""
        problems: dict[int, str] = {}
        for index, headoffice in enumerate(self.headoffices):
            readers = [i for i in self.integrations if i.pos_conn_id == headoffice.pos_conn_id]
            if not readers:
                continue  # no integration reads this POS: nothing to check the stores against
            outlets = sorted({code for integration in readers for code in integration.outlets})
            unmapped = [store for store in headoffice.stores if store not in outlets]
            if unmapped:
                problems[index] = (
                    f"store(s) {', '.join(unmapped)} mapped to no outlet: no integration reading POS connection "
                    f"{headoffice.pos_conn_id!r} lists them under outlets ({', '.join(outlets)})")
        return problems

    def enabled_headoffices(self) -> list[HeadOffice]:
        return [h for h in self.headoffices if h.enabled]

    def enabled(self) -> list[Integration]:
        return [i for i in self.integrations if i.enabled]


def config_path(path: str | os.PathLike[str] | None = None) -> Path:
    return Path(path or os.environ.get("POSSYNC_CONFIG") or DEFAULT_CONFIG)


def _field_path(loc: tuple[Any, ...], raw: Any) -> str:
    parts: list[str] = []
    node = raw
    for step in loc:
        if isinstance(step, int):
            label = f"[{step}]"
            if isinstance(node, list) and step < len(node) and isinstance(node[step], dict):
                name = node[step].get("name")
                label += f" ({name})" if isinstance(name, str) and parts in (["integrations"], ["headoffices"]) else ""
            parts.append(label)
            node = node[step] if isinstance(node, list) and step < len(node) else None
        else:
            parts.append(f".{step}" if parts else str(step))
            node = node.get(step) if isinstance(node, dict) else None
    return "".join(parts) or "(top level)"


class _Loader(yaml.SafeLoader):
    """YAML as people write integrations.yaml: dates stay text, so pydantic names an impossible one
    (``2026-02-30``) with its field instead of the YAML parser failing on it."""


_Loader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


def _read(source: Path) -> tuple[Any, list[tuple[tuple[Any, ...], str]]]:
    """The file's data, and every key a mapping lists twice (YAML keeps only the last one silently), as
    (path of the mapping, message)."""
    try:
        text = source.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(f"{source}: file not found (set POSSYNC_CONFIG or create it)") from None
    try:
        node = yaml.compose(text, Loader=_Loader)
        raw = yaml.load(text, Loader=_Loader)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = getattr(exc, "problem", None) or str(exc)
        raise ConfigError(f"{source}: not valid YAML{where}: {problem}") from None
    return raw, list(_twice(node, ()))


def _twice(node: Any, path: tuple[Any, ...]) -> Any:
    if isinstance(node, yaml.MappingNode):
        lines: dict[str, int] = {}
        for key, value in node.value:
            name = key.value if isinstance(key, yaml.ScalarNode) else None
            if name is not None:
                if name in lines:
                    yield path, (f"{name!r} is listed twice (lines {lines[name]} and {key.start_mark.line + 1}); "
                                 "list it once")
                lines.setdefault(name, key.start_mark.line + 1)
            yield from _twice(value, (*path, name))
    elif isinstance(node, yaml.SequenceNode):
        for index, item in enumerate(node.value):
            yield from _twice(item, (*path, index))


def _problems(exc: ValidationError, raw: Any) -> list[tuple[tuple[Any, ...], str]]:
    problems = []
    for error in exc.errors():
        message = error["msg"].removeprefix("Value error, ")
        if error["type"].startswith(("date_", "datetime_", "time_")):  # an impossible date: say which
            message += f" (got {error['input']!r})"
        problems.append((tuple(error["loc"]), f"{_field_path(error['loc'], raw)}: {message}"))
    return problems


def _entry(loc: tuple[Any, ...]) -> tuple[str, int] | None:
    """The integration or head office a problem's path lies in, if any."""
    if len(loc) >= 2 and loc[0] in ("integrations", "headoffices") and isinstance(loc[1], int):
        return loc[0], loc[1]
    return None


def _validate(source: Path, raw: Any, twice: list[tuple[tuple[Any, ...], str]],
              ) -> tuple[PossyncConfig | None, list[tuple[tuple[Any, ...], str]]]:
    """The validated config (None if invalid) and every problem as (path, message naming the field)."""
    problems = [(loc, f"{_field_path(loc, raw)}: {message}") for loc, message in twice]
    if not isinstance(raw, dict):
        raise ConfigError(f"{source}: expected a mapping with an 'integrations' list at the top")
    try:
        config = PossyncConfig.model_validate(raw, context={"config_dir": source.parent})
    except ValidationError as exc:
        return None, problems + _problems(exc, raw)
    for index, message in config.store_problems().items():
        loc = ("headoffices", index, "stores")
        problems.append((loc, f"{_field_path(loc, raw)}: {message}"))
    return (None if problems else config), problems


def load_config(path: str | os.PathLike[str] | None = None) -> PossyncConfig:
    """Read and validate the integration settings; raise ``ConfigError`` naming the file and field."""
    source = config_path(path)
    raw, twice = _read(source)
    config, problems = _validate(source, raw, twice)
    if config is None:
        raise ConfigError(f"{source}: " + "; ".join(message for _loc, message in problems))
    return config


def _original_loc(loc: tuple[Any, ...], raw: dict[str, Any], kept: dict[str, Any]) -> tuple[Any, ...]:
    entry = _entry(loc)
    if entry is None:
        return loc
    key, index = entry
    original = next(i for i, item in enumerate(raw[key]) if item is kept[key][index])
    return (key, original, *loc[2:])


def _reindexed(message: str, loc: tuple[Any, ...], raw: dict[str, Any]) -> str:
    """A problem's message with the field path of the file, not of the list with broken entries set aside."""
    _path, _, rest = message.partition(": ")
    return f"{_field_path(loc, raw)}: {rest}"


def load_config_for_dags(
    path: str | os.PathLike[str] | None = None,
) -> tuple[PossyncConfig, dict[tuple[str, str], str]]:
    """The settings for the DAG file: a mistake in one integration (or head office) leaves the others' DAGs.

    Returns the config of every entry that is valid and, for each entry that is not, ``(kind, name) → the
    error`` (kind ``integration`` or ``headoffice``; the name as written, or ``integrations[1]`` when it
    has none) naming the file and field, for a placeholder DAG that says what is wrong. A mistake outside
    the entries (not YAML, no integrations, a name used twice) still raises ``ConfigError``: the file's
    import error, as nothing can be built.
    """
    source = config_path(path)
    raw, twice = _read(source)
    if not isinstance(raw, dict):
        raise ConfigError(f"{source}: expected a mapping with an 'integrations' list at the top")
    broken: dict[tuple[str, int], list[str]] = {}
    kept, problems = raw, [(loc, f"{_field_path(loc, raw)}: {message}") for loc, message in twice]
    # set the broken entries aside until what is left validates (a cross-check such as a head office's stores
    # can only run once the integrations validate)
    while True:
        for loc, message in problems:
            entry = _entry(loc)
            if entry is None:  # the file as a whole
                raise ConfigError(f"{source}: " + "; ".join(
                    [m for messages in broken.values() for m in messages] + [m for _loc, m in problems]))
            broken.setdefault(entry, []).append(message)
        kept = {**raw, **{key: [item for index, item in enumerate(raw.get(key) or []) if (key, index) not in broken]
                          for key in ("integrations", "headoffices") if isinstance(raw.get(key), list)}}
        if broken and not kept.get("integrations"):
            raise ConfigError(f"{source}: " + "; ".join(m for messages in broken.values() for m in messages))
        rest, problems = _validate(source, kept, [])
        if rest is not None:
            break
        # the paths of what is left count in the reduced lists: back to the file's own indexes
        problems = [(_original_loc(loc, raw, kept), message) for loc, message in problems]
        problems = [(loc, _reindexed(message, loc, raw)) for loc, message in problems]
    errors: dict[tuple[str, str], str] = {}
    for (key, index), messages in broken.items():
        item = raw[key][index]
        name = item.get("name") if isinstance(item, dict) else None
        label = name if isinstance(name, str) and name else f"{key}[{index}]"
        errors["integration" if key == "integrations" else "headoffice", label] = (
            f"{source}: " + "; ".join(messages))
    return rest, errors
