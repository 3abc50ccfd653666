"""How the city TUI names what an item or upload row is about: the county by name, the table by its label, the
person / team / activity by name (the server's ``subject``), never a bare UUID where a name exists."""

from __future__ import annotations

from typing import Any

from schema.enums import (
    ActivityStatus,
    CommendationLevel,
    DemandStatus,
    HostUnitKind,
    IdType,
    LabeledEnum,
    MemberRole,
    RegistrationStatus,
    ReportStatus,
    ServiceKind,
    Sex,
    TalentTag,
    TeamStatus,
    TeamTier,
    VenueKind,
    VolunteerStatus,
)
from schema.models import TABLE_MODELS, field_label, table_label
from stvs_tui.formatting import display_text
from stvs_tui.i18n import enum_label, enum_list_label, language, t

# Stored codes shown by their labels (在册, 男, 基层队伍), in the language of the UI.
ENUMS: dict[tuple[str, str], type[LabeledEnum]] = {
    ("volunteer", "sex"): Sex, ("volunteer", "id_type"): IdType, ("volunteer", "stvs_status"): RegistrationStatus,
    ("volunteer", "status"): VolunteerStatus, ("team", "tier"): TeamTier, ("team", "host_kind"): HostUnitKind,
    ("team", "stvs_status"): RegistrationStatus, ("team", "status"): TeamStatus, ("membership", "role"): MemberRole,
    ("activity", "service_kind"): ServiceKind, ("activity", "venue_kind"): VenueKind,
    ("activity", "status"): ActivityStatus, ("demand", "unit_kind"): HostUnitKind,
    ("demand", "wanted_service_kind"): ServiceKind, ("demand", "status"): DemandStatus,
    ("commendation", "level"): CommendationLevel, ("monthly_report", "status"): ReportStatus,
}
LISTS: dict[tuple[str, str], type[LabeledEnum]] = {("volunteer", "talent_tags"): TalentTag}


def county_of(item: Any) -> str:
    """安阳县 (the region list's name), or the code where the server has no name for it; a duplicate person
    is about both records' counties (安阳县 / 汤阴县)."""
    people = getattr(item, "people", None) or []
    if people:
        return " / ".join(dict.fromkeys(p.county_name or p.county_code for p in people))
    return getattr(item, "county_name", "") or item.county_code


def table_of(table: str) -> str:
    return table_label(table, language())


def subject_of(item: Any) -> str:
    """The person (ID masked), team or activity by name; the record's short id only where none is known."""
    return getattr(item, "subject", "") or item.row_id[:8]


def field_of(table: str, name: str) -> str:
    """A field by its label (手机号码, not ``mobile``); a field the model does not have as it is."""
    model = TABLE_MODELS.get(table)
    return field_label(model, name, language()) if model and name in model.model_fields else name


def sender_of(sender: Any) -> str:
    """The device and the clerk that sent a value or an upload: ``设备 9f3c2a1b 王芳的笔记本 · 410522 设备``.

    The node id's tail (its random part: a UUIDv7's head is its creation time, the same for devices set up
    the same minute), the label the device was enrolled with and the label of the token it synced with."""
    import stvs_tui.city.audit_words  # noqa: F401  (the words)
    from stvs_tui.i18n import t

    node = getattr(sender, "node_id", "") or ""
    if not node:
        return ""
    if node == "city":
        return t("city.sender_city")
    device = " ".join(part for part in (t("city.sender_device", node=node[-8:]), sender.device_label) if part)
    return " · ".join(part for part in (device, sender.token_label) if part)


def value_of(table: str, name: str, value: Any) -> str:
    """A field's value as the admin reads it: "-" for none, 是/否 for a flag, a code by its label."""
    if value is None or value == "":
        return "-"
    if isinstance(value, bool):
        return t("city.yes" if value else "city.no")
    if (table, name) in ENUMS:
        return enum_label(ENUMS[table, name], str(value))
    if (table, name) in LISTS:
        return enum_list_label(LISTS[table, name], str(value))
    return display_text(value)
