"""Dates as people type them into complaint sheets, to aware datetimes (China Standard Time when no
zone is given: 12315 records are kept in Beijing time).

2026-10-03, 2026/10/3, 2026.10.3, 20261003, 2026年10月3日, each optionally with a time (14:05, 14:05:33,
14时05分, T14:05:33+08:00), Excel serial numbers (46298 is 2026-10-03; 46298.5 is noon) and the date
and datetime objects openpyxl returns. Anything else is None, and the caller reports the row.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, time, timedelta, timezone

CST = timezone(timedelta(hours=8), "CST")
_EXCEL_EPOCH = datetime(1899, 12, 30)
_SERIAL_RANGE = (20_000, 80_000)
"""Serial numbers taken for dates: 1954-10-03 to 2119-01-10. Outside it a number is not a date here."""

_DATE = re.compile(
    r"^\s*(\d{4})\s*(?:[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})\s*日?|(\d{2})(\d{2}))"
    r"(?:\s*[T\s]\s*(\d{1,2})\s*[:时]\s*(\d{1,2})(?:\s*[:分]\s*(\d{1,2})(?:\.\d+)?\s*秒?)?\s*分?)?"
    r"\s*(Z|[+-]\d{2}:?\d{2})?\s*$"
)


def parse_datetime(value: object) -> datetime | None:
    """An aware datetime for any of the forms above, or None."""
    if value is None or value == "":
        return None
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=CST)
    if isinstance(value, date):
        return datetime.combine(value, time(), CST)
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return _from_serial(float(value))
    text = str(value).strip()
    if re.fullmatch(r"\d{5}(?:\.\d+)?", text):
        return _from_serial(float(text))
    m = _DATE.match(text)
    if not m:
        return None
    year, month, day = int(m.group(1)), int(m.group(2) or m.group(4)), int(m.group(3) or m.group(5))
    hour, minute, second = (int(g) if g else 0 for g in m.group(6, 7, 8))
    zone = m.group(9)
    tz = CST
    if zone == "Z":
        tz = UTC
    elif zone:
        sign = 1 if zone[0] == "+" else -1
        digits = zone[1:].replace(":", "")
        tz = timezone(sign * timedelta(hours=int(digits[:2]), minutes=int(digits[2:])))
    try:
        return datetime(year, month, day, hour, minute, second, tzinfo=tz)
    except ValueError:
        return None


def _from_serial(serial: float) -> datetime | None:
    if not _SERIAL_RANGE[0] <= serial <= _SERIAL_RANGE[1]:
        return None
    moment = _EXCEL_EPOCH + timedelta(days=serial)
    return moment.replace(microsecond=0, tzinfo=CST)
