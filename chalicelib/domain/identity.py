"""Holder identity: ID documents, usernames, passwords, contact details and masking.

Pure rules, no I/O. The date a birth date is checked against comes in as `today` (a Beijing
calendar date, derived by the caller). Error messages say what is wrong but never repeat the
value that was given: an ID number is personal data, and these messages reach import reports.
"""

from __future__ import annotations

import re
import unicodedata
from datetime import date
from enum import StrEnum

from chalicelib.domain.errors import InvalidIdNumber, InvalidRequest, WeakPassword
from chalicelib.domain.text import Text, joined


class IdType(StrEnum):
    """The ID documents a holder can register with (证件类型); the value is the API's `id_type`."""

    RESIDENT_ID = "resident_id"
    HK_MACAO_PERMIT = "hk_macao_permit"
    TAIWAN_PERMIT = "taiwan_permit"
    PASSPORT = "passport"
    FOREIGN_PERMANENT_RESIDENT = "foreign_permanent_resident"

    @property
    def label(self) -> str:
        return _ID_LABELS[self]

    @property
    def label_en(self) -> str:
        return _ID_LABELS_EN[self]


_ID_LABELS = {
    IdType.RESIDENT_ID: "居民身份证",
    IdType.HK_MACAO_PERMIT: "港澳居民来往内地通行证",
    IdType.TAIWAN_PERMIT: "台湾居民来往大陆通行证",
    IdType.PASSPORT: "护照",
    IdType.FOREIGN_PERMANENT_RESIDENT: "外国人永久居留身份证",
}
_ID_LABELS_EN = {
    IdType.RESIDENT_ID: "Resident Identity Card",
    IdType.HK_MACAO_PERMIT: "Mainland Travel Permit for Hong Kong and Macao Residents",
    IdType.TAIWAN_PERMIT: "Mainland Travel Permit for Taiwan Residents",
    IdType.PASSPORT: "Passport",
    IdType.FOREIGN_PERMANENT_RESIDENT: "Foreign Permanent Resident ID Card",
}


def parse_id_type(value: str) -> IdType:
    """The API's `id_type` string as an IdType; exact values only, no guessing."""
    try:
        return IdType(value)
    except ValueError as e:
        allowed = "、".join(f"{t.value}（{t.label}）" for t in IdType)
        allowed_en = ", ".join(f"{t.value} ({t.label_en})" for t in IdType)
        raise InvalidRequest(Text(f"证件类型不正确，应为以下之一：{allowed}", f"Unknown ID type; one of: {allowed_en}"),
                             details={"field": "id_type"}) from e


# GB 11643-1999 (ISO 7064 MOD 11-2): weights of the first 17 digits; (sum mod 11) indexes the check character.
_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_CHECK = "10X98765432"

# First two digits (GB/T 2260 province-level code). Beyond the 31 mainland provinces: 71 is the code
# GB/T 2260 reserves for Taiwan; 81 / 82 / 83 head the 18-digit numbers of the residence permits for
# Hong Kong, Macao and Taiwan residents (港澳台居民居住证), which follow GB 11643 and are used like an
# ID number. 91 is deliberately absent: it is no province code, and a leading 9 marks the 2023
# foreign permanent residence card, whose number must not also pass as a resident ID.
_PROVINCES = frozenset({
    11, 12, 13, 14, 15,
    21, 22, 23,
    31, 32, 33, 34, 35, 36, 37,
    41, 42, 43, 44, 45, 46,
    50, 51, 52, 53, 54,
    61, 62, 63, 64, 65,
    71, 81, 82, 83,
})
_EARLIEST_BIRTH = date(1900, 1, 1)


def _ascii_digits(text: str) -> bool:
    # str.isdigit alone also accepts full-width and superscript digits.
    return text.isascii() and text.isdigit()


def _invalid(id_type: IdType, reason: Text) -> InvalidIdNumber:
    return InvalidIdNumber(Text(f"证件号码不正确（{id_type.label}）：{reason.zh}",
                                f"Invalid ID number ({id_type.label_en}): {reason.en}"), details={"field": "id_number"})


def resident_id_check_digit(first17: str) -> str:
    """The GB 11643-1999 check character ('0'–'9' or 'X') for the first 17 digits of an ID number."""
    if len(first17) != 17 or not _ascii_digits(first17):
        raise _invalid(IdType.RESIDENT_ID, Text("前 17 位应为数字", "the first 17 characters must be digits"))
    return _CHECK[sum(int(d) * w for d, w in zip(first17, _WEIGHTS, strict=True)) % 11]


def _resident_id(number: str, today: date) -> str:
    def invalid(reason: Text) -> InvalidIdNumber:
        return _invalid(IdType.RESIDENT_ID, reason)

    if len(number) != 18:
        raise invalid(Text(f"长度应为 18 位，实际为 {len(number)} 位", f"must be 18 characters, not {len(number)}"))
    if not _ascii_digits(number[:17]):
        raise invalid(Text("前 17 位应为数字", "the first 17 characters must be digits"))
    if not (_ascii_digits(number[17]) or number[17] == "X"):
        raise invalid(Text("最后一位（校验位）应为数字或 X",
                           "the last character (the check digit) must be a digit or X"))
    if int(number[:2]) not in _PROVINCES:
        raise invalid(Text("前两位不是有效的省级行政区划代码", "the first two digits are no province code"))
    try:
        born = date(int(number[6:10]), int(number[10:12]), int(number[12:14]))
    except ValueError as e:
        raise invalid(Text("出生日期（第 7–14 位）无效，不是真实存在的日期",
                           "the birth date (characters 7–14) is no real date")) from e
    if born > today:
        raise invalid(Text("出生日期（第 7–14 位）晚于今天", "the birth date (characters 7–14) is after today"))
    if born < _EARLIEST_BIRTH:
        raise invalid(Text("出生日期（第 7–14 位）早于 1900 年 1 月 1 日",
                           "the birth date (characters 7–14) is before 1 January 1900"))
    if resident_id_check_digit(number[:17]) != number[17]:
        raise invalid(Text("校验位（最后一位）不正确，请核对号码",
                           "the check digit (the last character) is wrong; please check the number"))
    return number


def _hk_macao_permit(number: str) -> str:
    # Accepted: the card issued since 2012, H (Hong Kong) or M (Macao) + 8 digits, and the
    # older booklet's H/M + 10 digits, which may still be on certificates obtained with it.
    if number[:1] not in ("H", "M"):
        raise _invalid(IdType.HK_MACAO_PERMIT, Text("应以 H（香港居民）或 M（澳门居民）开头",
                                                    "must begin with H (Hong Kong residents) or M (Macao residents)"))
    if not (_ascii_digits(number[1:]) and len(number) in (9, 11)):
        raise _invalid(IdType.HK_MACAO_PERMIT, Text("应为 H 或 M 加 8 位数字（旧版为 H 或 M 加 10 位数字）",
                                                    "must be H or M and 8 digits (older booklet: H/M and 10 digits)"))
    return number


def _taiwan_permit(number: str) -> str:
    # Accepted: 8 digits (the card issued since 2015) or 10 digits (older permits).
    if not (_ascii_digits(number) and len(number) in (8, 10)):
        raise _invalid(IdType.TAIWAN_PERMIT, Text("应为 8 位数字（旧版为 10 位数字）",
                                                  "must be 8 digits (the older booklet: 10 digits)"))
    return number


_PASSPORT_CHARS = re.compile(r"[A-Z0-9]+")


def _passport(number: str) -> str:
    # Deliberately loose: passports of every country, from 5 to 17 letters and digits with at
    # least one digit; Chinese passports (E/G + 8 digits, EA + 7 digits …) fit.
    if not 5 <= len(number) <= 17:
        raise _invalid(IdType.PASSPORT, Text(f"长度应为 5 至 17 位，实际为 {len(number)} 位",
                                                f"must be 5 to 17 characters, not {len(number)}"))
    if not _PASSPORT_CHARS.fullmatch(number):
        raise _invalid(IdType.PASSPORT, Text("只能包含英文字母和数字", "may contain only letters and digits"))
    if not any(c.isdigit() for c in number):
        raise _invalid(IdType.PASSPORT, Text("应至少包含 1 位数字", "must contain at least one digit"))
    return number


_FPR_2017 = re.compile(r"[A-Z]{3}[0-9]{12}")


def _foreign_permanent_resident(number: str) -> str:
    # Two card versions are in use side by side:
    # - 2017: 15 characters, 3 letters (nationality) + 12 digits; no public check-digit rule, so
    #   only the format is checked.
    # - 2023: 18 characters, "9" + 16 digits + a GB 11643 (MOD 11-2) check character, like a
    #   resident ID. Only the leading 9 and the check character are checked: the fields inside
    #   are not published precisely enough to reject a number on them.
    def invalid(reason: Text) -> InvalidIdNumber:
        return _invalid(IdType.FOREIGN_PERMANENT_RESIDENT, reason)

    if len(number) == 15:
        if not _FPR_2017.fullmatch(number):
            raise invalid(Text("2017 版号码应为 3 位英文字母加 12 位数字",
                               "a 2017 card's number is 3 letters and 12 digits"))
        return number
    if len(number) == 18:
        if not (number[0] == "9" and _ascii_digits(number[:17]) and (_ascii_digits(number[17]) or number[17] == "X")):
            raise invalid(Text("2023 版号码应为 9 开头的 17 位数字加 1 位校验位（数字或 X）",
                               "a 2023 card's number is 9, 16 digits and a check character (digit or X)"))
        if resident_id_check_digit(number[:17]) != number[17]:
            raise invalid(Text("校验位（最后一位）不正确，请核对号码",
                               "the check digit (the last character) is wrong; please check the number"))
        return number
    raise invalid(Text(f"长度应为 15 位（2017 版）或 18 位（2023 版），实际为 {len(number)} 位",
                      f"must be 15 characters (2017 card) or 18 (2023 card), not {len(number)}"))


def normalize_id_number(id_type: IdType, raw: str, *, today: date) -> str:
    """The canonical form of an ID number, or InvalidIdNumber saying what is wrong.

    Canonical: NFKC-normalised (so full-width digits and the card's Roman-numeral Ⅹ become ASCII),
    surrounding whitespace removed, letters upper-cased. Spaces inside the number are not removed.
    """
    number = unicodedata.normalize("NFKC", raw).strip().upper()
    if not number:
        raise _invalid(id_type, Text("请填写证件号码", "enter the ID number"))
    if any(c.isspace() for c in number):
        raise _invalid(id_type, Text("号码中不能包含空格", "the number may not contain spaces"))
    match id_type:
        case IdType.RESIDENT_ID:
            return _resident_id(number, today)
        case IdType.HK_MACAO_PERMIT:
            return _hk_macao_permit(number)
        case IdType.TAIWAN_PERMIT:
            return _taiwan_permit(number)
        case IdType.PASSPORT:
            return _passport(number)
        case IdType.FOREIGN_PERMANENT_RESIDENT:
            return _foreign_permanent_resident(number)


def _mask(text: str, head: int, tail: int) -> str:
    return text[:head] + "*" * (len(text) - head - tail) + text[len(text) - tail:]


def mask_id_number(number: str) -> str:
    """`11010519900307451X` -> `110105********451X`.

    18 characters or more keep the first 6 and the last 4, the usual display of a resident ID.
    Anything shorter (permits, passports, the 15-character residence card) never shows more than
    half: 8–17 characters keep 2 + 2, 4–7 keep 1 + 1, fewer are masked completely.
    """
    n = len(number)
    if n >= 18:
        return _mask(number, 6, 4)
    if n >= 8:
        return _mask(number, 2, 2)
    if n >= 4:
        return _mask(number, 1, 1)
    return "*" * n


def mask_phone(phone: str) -> str:
    """`13812345678` -> `138****5678`; any other format keeps at most its last 4 (and at most half)."""
    if len(phone) == 11 and _ascii_digits(phone):
        return _mask(phone, 3, 4)
    return _mask(phone, 0, min(4, len(phone) // 2))


def mask_email(email: str) -> str:
    """`zhangsan@example.com` -> `z***n@example.com`: the domain, and at most two letters of the name."""
    local, _, domain = email.partition("@")
    shown = local[0] + "***" + (local[-1] if len(local) > 2 else "") if local else "***"
    return f"{shown}@{domain}"


_MOBILE = re.compile(r"1[3-9][0-9]{9}")
_PHONE_SEPARATORS = re.compile(r"[\s-]")


def validate_phone(raw: str) -> str:
    """A mainland mobile number as 11 digits; spaces, hyphens and a leading +86 are dropped."""
    phone = _PHONE_SEPARATORS.sub("", unicodedata.normalize("NFKC", raw)).removeprefix("+86")
    if not _MOBILE.fullmatch(phone):
        raise InvalidRequest(Text("手机号码不正确：应为 11 位中国大陆手机号码（1 开头，第二位为 3–9），可带 +86 前缀",
                                  "Invalid mobile phone number: 11 digits of a mainland China mobile number "
                                  "(beginning with 1, the second digit 3–9), optionally after +86"),
                             details={"field": "phone"})
    return phone


# Dot-atom local part (RFC 5322 without quoting or comments), host names of LDH labels and a
# top-level domain of letters or an IDNA `xn--` label. Deliverability is for the mail to prove.
_LOCAL = re.compile(r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(?:\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*")
_DOMAIN = re.compile(r"(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+"
                     r"(?:[A-Za-z]{2,63}|[Xx][Nn]--[A-Za-z0-9-]{1,59})")


def validate_email(raw: str) -> str:
    """A plausible e-mail address, trimmed, with its domain lower-cased (the local part keeps its case)."""
    def invalid(reason: Text) -> InvalidRequest:
        return InvalidRequest(Text(f"电子邮箱不正确：{reason.zh}", f"Invalid e-mail address: {reason.en}"),
                              details={"field": "email"})

    email = raw.strip()
    if email.count("@") != 1:
        raise invalid(Text("应包含且只包含一个 @，例如 name@example.com",
                           "must contain exactly one @, e.g. name@example.com"))
    if len(email) > 254:
        raise invalid(Text("不能超过 254 个字符", "may not be longer than 254 characters"))
    local, domain = email.split("@")
    if not (len(local) <= 64 and _LOCAL.fullmatch(local)):
        raise invalid(Text("@ 前的部分格式不正确", "the part before the @ is not valid"))
    if not (len(domain) <= 253 and _DOMAIN.fullmatch(domain)):
        raise invalid(Text("@ 后的域名格式不正确", "the domain after the @ is not valid"))
    return f"{local}@{domain.lower()}"


_USERNAME_CHARS = re.compile(r"[A-Za-z0-9_]+")


def validate_username(raw: str) -> str:
    """A username as given: 4–32 ASCII letters, digits or underscores. Its case is kept for display."""
    if not _USERNAME_CHARS.fullmatch(raw):
        raise InvalidRequest(Text("用户名只能包含英文字母、数字和下划线",
                                  "A username may contain only letters, digits and underscores"),
                             details={"field": "username"})
    if not 4 <= len(raw) <= 32:
        raise InvalidRequest(Text(f"用户名长度应为 4 至 32 位，实际为 {len(raw)} 位",
                                  f"A username must be 4 to 32 characters, not {len(raw)}"),
                             details={"field": "username"})
    return raw


def username_key(username: str) -> str:
    """The key that makes usernames unique regardless of case (`Demo` and `demo` are one account)."""
    return username.lower()


_MIN_PASSWORD, _MAX_PASSWORD = 8, 128
# A username shorter than this may appear inside the password: forbidding it would rule out too
# many harmless passwords (the demo account's `Demo#2026` contains `demo`), and a 4-letter word
# is no real clue to an attacker. Equality is forbidden whatever the length.
_USERNAME_IN_PASSWORD_FROM = 5


def check_password(username: str, password: str) -> None:
    """WeakPassword, naming every rule that failed, unless the password is long enough, mixed
    enough and unrelated to the username.

    Rules: 8–128 characters; at least three of lower-case letters, upper-case letters, digits and
    other characters (anything else, Chinese characters included); not equal to the username and,
    for usernames of 5 or more characters, not containing it, case-insensitively.
    """
    problems: list[Text] = []
    if len(password) < _MIN_PASSWORD:
        problems.append(Text(f"长度至少 {_MIN_PASSWORD} 位", f"at least {_MIN_PASSWORD} characters"))
    elif len(password) > _MAX_PASSWORD:
        problems.append(Text(f"长度不能超过 {_MAX_PASSWORD} 位", f"at most {_MAX_PASSWORD} characters"))
    has_lower = any(c.islower() for c in password)
    has_upper = any(c.isupper() for c in password)
    has_digit = any(c in "0123456789" for c in password)
    has_other = any(not (c.islower() or c.isupper() or c in "0123456789") for c in password)
    if has_lower + has_upper + has_digit + has_other < 3:
        problems.append(Text("须包含小写字母、大写字母、数字和其他符号中的至少三类",
                             "at least three of: lower-case letters, upper-case letters, digits, other characters"))
    name, lowered = username.lower(), password.lower()
    if name and (lowered == name or (len(name) >= _USERNAME_IN_PASSWORD_FROM and name in lowered)):
        problems.append(Text("不能与用户名相同或包含用户名", "not the username, nor containing it"))
    if problems:
        both = joined(problems)
        raise WeakPassword(Text("密码强度不足：" + both.zh, "The password is too weak: " + both.en),
                           details={"field": "password"})


_MAX_NAME = 50


def holder_display_name(raw: str) -> str:
    """The holder's name (姓名), NFC-normalised and trimmed: 1–50 characters, nothing invisible."""
    name = unicodedata.normalize("NFC", raw).strip()
    if not name:
        raise InvalidRequest(Text("请填写姓名", "Enter the name"), details={"field": "name"})
    if len(name) > _MAX_NAME:
        raise InvalidRequest(Text(f"姓名不能超过 {_MAX_NAME} 个字符",
                                  f"A name may not be longer than {_MAX_NAME} characters"),
                             details={"field": "name"})
    # Control, format (zero-width), private-use and unassigned characters, and line breaks.
    if any(unicodedata.category(c)[0] == "C" or unicodedata.category(c) in ("Zl", "Zp") for c in name):
        raise InvalidRequest(Text("姓名不能包含控制字符、换行或不可见字符",
                                  "A name may not contain control characters, line breaks or invisible characters"),
                             details={"field": "name"})
    return name
