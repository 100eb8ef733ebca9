"""Holder identity: ID documents, usernames, passwords, contact details and masking.

Pure rules, no I/O. The date an ID's birth date is checked against comes in as `today`.
"""

from __future__ import annotations

import re
import unicodedata
from datetime import date
from enum import StrEnum

from chalicelib.domain.errors import InvalidIdNumber, InvalidRequest, WeakPassword


class IdType(StrEnum):
    RESIDENT_ID = "resident_id"
    HK_MACAO_PERMIT = "hk_macao_permit"
    TAIWAN_PERMIT = "taiwan_permit"
    PASSPORT = "passport"
    FOREIGN_PERMANENT_RESIDENT = "foreign_permanent_resident"

    @property
    def label(self) -> str:
        return _ID_LABELS[self]


_ID_LABELS = {
    IdType.RESIDENT_ID: "居民身份证",
    IdType.HK_MACAO_PERMIT: "港澳居民来往内地通行证",
    IdType.TAIWAN_PERMIT: "台湾居民来往大陆通行证",
    IdType.PASSPORT: "护照",
    IdType.FOREIGN_PERMANENT_RESIDENT: "外国人永久居留身份证",
}


def parse_id_type(value: str) -> IdType:
    try:
        return IdType(value)
    except ValueError as e:
        raise InvalidRequest("证件类型不正确", details={"field": "id_type"}) from e


# GB 11643-1999: weights of the first 17 digits; (sum mod 11) indexes the check character.
_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_CHECK = "10X98765432"
# Province-level codes in use: the mainland's, 71 (Taiwan), 81/82 (Hong Kong, Macao residence
# permits) and 83 (Taiwan residence permits).
_PROVINCES = {11, 12, 13, 14, 15, 21, 22, 23, 31, 32, 33, 34, 35, 36, 37, 41, 42, 43, 44, 45, 46,
              50, 51, 52, 53, 54, 61, 62, 63, 64, 65, 71, 81, 82, 83}


def resident_id_check_digit(first17: str) -> str:
    if len(first17) != 17 or not first17.isdigit():
        raise ValueError("17 digits expected")
    return _CHECK[sum(int(d) * w for d, w in zip(first17, _WEIGHTS, strict=True)) % 11]


def _invalid(reason: str) -> InvalidIdNumber:
    return InvalidIdNumber(f"证件号码不正确：{reason}", details={"field": "id_number"})


def _resident_id(number: str, today: date) -> str:
    if len(number) != 18:
        raise _invalid("居民身份证号码应为 18 位")
    if not number[:17].isdigit() or not (number[17].isdigit() or number[17] == "X"):
        raise _invalid("居民身份证号码应为 17 位数字加 1 位数字或 X")
    if int(number[:2]) not in _PROVINCES:
        raise _invalid("地址码不正确")
    try:
        born = date(int(number[6:10]), int(number[10:12]), int(number[12:14]))
    except ValueError as e:
        raise _invalid("出生日期无效") from e
    if born > today or born < date(1900, 1, 1):
        raise _invalid("出生日期无效")
    if resident_id_check_digit(number[:17]) != number[17]:
        raise _invalid("校验位不正确")
    return number


_FORMATS = {
    # The current card: H (Hong Kong) or M (Macao) and 8 digits; older cards had 10 digits.
    IdType.HK_MACAO_PERMIT: (re.compile(r"[HM]\d{8}(\d{2})?"), "应为 H 或 M 开头加 8 位（旧版 10 位）数字"),
    # 8 digits on the current card, 10 on older ones.
    IdType.TAIWAN_PERMIT: (re.compile(r"\d{8}(\d{2})?"), "应为 8 位（旧版 10 位）数字"),
    IdType.PASSPORT: (re.compile(r"(?=[A-Z0-9]*\d)[A-Z0-9]{5,17}"), "应为 5 至 17 位字母和数字"),
    # 2017 card: 3 letters and 12 digits; 2023 card: 18 characters starting with 9 (checked below).
    IdType.FOREIGN_PERMANENT_RESIDENT: (re.compile(r"[A-Z]{3}\d{12}|9\d{16}[\dX]"),
                                        "应为 3 位字母加 12 位数字，或 9 开头的 18 位号码"),
}


def normalize_id_number(id_type: IdType, raw: str, *, today: date) -> str:
    """The canonical form of an ID number (trimmed, upper-case), or InvalidIdNumber."""
    number = raw.strip().upper()
    if not number:
        raise _invalid("不能为空")
    if id_type is IdType.RESIDENT_ID:
        return _resident_id(number, today)
    pattern, reason = _FORMATS[id_type]
    if not pattern.fullmatch(number):
        raise _invalid(reason)
    if id_type is IdType.FOREIGN_PERMANENT_RESIDENT and len(number) == 18 \
            and resident_id_check_digit(number[:17]) != number[17]:
        raise _invalid("校验位不正确")
    return number


def mask_id_number(number: str) -> str:
    """`11010519900307451X` -> `110105********451X`; short numbers keep 2 + 2."""
    keep_head, keep_tail = (6, 4) if len(number) >= 11 else (2, 2)
    if len(number) <= keep_head + keep_tail:
        return "*" * len(number)
    return number[:keep_head] + "*" * (len(number) - keep_head - keep_tail) + number[-keep_tail:]


def mask_phone(phone: str) -> str:
    """`13812345678` -> `138****5678`; other formats keep at most the last 4."""
    if len(phone) == 11 and phone.isdigit():
        return phone[:3] + "****" + phone[-4:]
    return "*" * max(0, len(phone) - 4) + phone[-4:] if len(phone) > 4 else "*" * len(phone)


_MOBILE = re.compile(r"1[3-9]\d{9}")
_EMAIL = re.compile(r"[^@\s]{1,64}@[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9-]{1,63})+")


def validate_phone(raw: str) -> str:
    phone = re.sub(r"[\s-]", "", raw)
    phone = phone.removeprefix("+86")
    if not _MOBILE.fullmatch(phone):
        raise InvalidRequest("手机号码应为 11 位中国大陆手机号", details={"field": "phone"})
    return phone


def validate_email(raw: str) -> str:
    email = raw.strip()
    if len(email) > 254 or not _EMAIL.fullmatch(email):
        raise InvalidRequest("电子邮箱格式不正确", details={"field": "email"})
    local, _, domain = email.rpartition("@")
    return f"{local}@{domain.lower()}"


_USERNAME = re.compile(r"[A-Za-z0-9_]{4,32}")


def validate_username(raw: str) -> str:
    if not _USERNAME.fullmatch(raw):
        raise InvalidRequest("用户名须为 4 至 32 位字母、数字或下划线", details={"field": "username"})
    return raw


def username_key(username: str) -> str:
    """Usernames are unique regardless of case."""
    return username.lower()


def check_password(username: str, password: str) -> None:
    """At least 8 characters (at most 128), three of the four character classes, and not
    the username. A username of 5 or more characters must not appear in it at all
    (shorter ones would forbid too many harmless passwords, e.g. `demo` in `Demo#2026`)."""
    problems: list[str] = []
    if len(password) < 8:
        problems.append("至少 8 位")
    if len(password) > 128:
        problems.append("最多 128 位")
    classes = sum((any(c.islower() for c in password), any(c.isupper() for c in password),
                   any(c.isdigit() for c in password), any(not c.isalnum() for c in password)))
    if classes < 3:
        problems.append("须包含大写字母、小写字母、数字和符号中的至少三类")
    lowered, name = password.lower(), username.lower()
    if lowered == name or (len(name) >= 5 and name in lowered):
        problems.append("不能包含用户名")
    if problems:
        raise WeakPassword("密码强度不足：" + "；".join(problems), details={"field": "password"})


def holder_display_name(raw: str) -> str:
    name = unicodedata.normalize("NFC", raw.strip())
    if not 1 <= len(name) <= 50 or any(unicodedata.category(c).startswith("C") for c in name):
        raise InvalidRequest("姓名须为 1 至 50 个字符", details={"field": "name"})
    return name
