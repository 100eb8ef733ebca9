"""Holder identity rules: ID numbers of every document type, masking, contact details,
usernames, passwords and names. The date is pinned; nothing here touches I/O."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from chalicelib.domain.errors import InvalidIdNumber, InvalidRequest, WeakPassword
from chalicelib.domain.identity import (
    IdType,
    check_password,
    holder_display_name,
    mask_id_number,
    mask_phone,
    normalize_id_number,
    parse_id_type,
    resident_id_check_digit,
    username_key,
    validate_email,
    validate_phone,
    validate_username,
)

TODAY = date(2026, 11, 23)
ZHANG_SAN = "11010519900307451X"
LI_SI = "440304198512120023"

# Written out again here rather than imported, so that a wrong table in the module fails a test.
PROVINCES = [11, 12, 13, 14, 15, 21, 22, 23, 31, 32, 33, 34, 35, 36, 37, 41, 42, 43, 44, 45, 46,
             50, 51, 52, 53, 54, 61, 62, 63, 64, 65, 71, 81, 82, 83]
NOT_PROVINCES = sorted(set(range(100)) - set(PROVINCES))
ID_CHARS = "0123456789X"


def check_character(first17: str) -> str:
    """ISO 7064 MOD 11-2 as GB 11643 states it: weight 2^(17-i) mod 11, then (12 - sum mod 11) mod 11."""
    total = sum(int(d) * pow(2, 17 - i, 11) for i, d in enumerate(first17))
    value = (12 - total % 11) % 11
    return "X" if value == 10 else str(value)


def resident(number: str) -> str:
    return normalize_id_number(IdType.RESIDENT_ID, number, today=TODAY)


def with_check(first17: str) -> str:
    return first17 + check_character(first17)


@st.composite
def resident_ids(draw: st.DrawFn, born: st.SearchStrategy[date] | None = None) -> str:
    province = draw(st.sampled_from(PROVINCES))
    area = draw(st.integers(0, 9999))
    birth = draw(born if born is not None else st.dates(min_value=date(1900, 1, 1), max_value=TODAY))
    sequence = draw(st.integers(0, 999))
    return with_check(f"{province:02d}{area:04d}{birth:%Y%m%d}{sequence:03d}")


def id_error(id_type: IdType, number: str) -> str:
    with pytest.raises(InvalidIdNumber) as caught:
        normalize_id_number(id_type, number, today=TODAY)
    assert caught.value.details == {"field": "id_number"}
    return caught.value.message


# --- resident ID -------------------------------------------------------------------------------


def test_the_demo_holders_resident_ids_pass() -> None:
    assert resident(ZHANG_SAN) == ZHANG_SAN
    assert resident(LI_SI) == LI_SI


def test_the_check_digit_follows_gb_11643() -> None:
    assert resident_id_check_digit(ZHANG_SAN[:17]) == "X"
    assert resident_id_check_digit(LI_SI[:17]) == "3"
    assert resident_id_check_digit("11010519491231002") == "X"


@settings(max_examples=200)
@given(st.text(alphabet="0123456789", min_size=17, max_size=17))
def test_the_check_digit_agrees_with_the_standards_own_formula(first17: str) -> None:
    assert resident_id_check_digit(first17) == check_character(first17)


@settings(max_examples=200)
@given(resident_ids())
def test_every_generated_valid_resident_id_passes(number: str) -> None:
    assert resident(number) == number


@settings(max_examples=100)
@given(resident_ids())
def test_every_single_character_change_of_a_valid_resident_id_fails(number: str) -> None:
    for position in range(18):
        for char in ID_CHARS:
            if char != number[position]:
                changed = number[:position] + char + number[position + 1:]
                with pytest.raises(InvalidIdNumber):
                    resident(changed)


@settings(max_examples=200)
@given(resident_ids(), st.integers(0, 17), st.sampled_from(ID_CHARS))
def test_an_error_message_never_repeats_the_number(number: str, position: int, char: str) -> None:
    changed = number[:position] + char + number[position + 1:]
    if changed == number:
        return
    message = id_error(IdType.RESIDENT_ID, changed)
    assert changed not in message and changed[:14] not in message and changed[6:14] not in message


def test_a_lower_case_x_and_surrounding_spaces_are_normalised() -> None:
    assert resident(" 11010519900307451x\t") == ZHANG_SAN


def test_full_width_digits_and_the_cards_roman_numeral_ten_become_ascii() -> None:
    assert resident("１１０１０５１９９００３０７４５１Ⅹ") == ZHANG_SAN


def test_a_wrong_check_digit_says_so() -> None:
    assert "校验位" in id_error(IdType.RESIDENT_ID, ZHANG_SAN[:17] + "5")


@pytest.mark.parametrize("number", ["1101051990030745", "1101051990030745123", "", "   "])
def test_a_resident_id_of_the_wrong_length_is_refused(number: str) -> None:
    message = id_error(IdType.RESIDENT_ID, number)
    assert ("18 位" in message) or ("请填写" in message)


@pytest.mark.parametrize("number", ["11010519900307451Y", "1101051990030745XX", "X10105199003074511"])
def test_letters_other_than_a_final_x_are_refused(number: str) -> None:
    message = id_error(IdType.RESIDENT_ID, number)
    assert "数字" in message


def test_digits_of_other_scripts_are_refused_not_stored() -> None:
    # They pass str.isdigit (and int() reads them), but the canonical form is ASCII.
    arabic_indic = ZHANG_SAN[:17].translate(str.maketrans("0123456789", "٠١٢٣٤٥٦٧٨٩")) + "X"
    assert "数字" in id_error(IdType.RESIDENT_ID, arabic_indic)


def test_a_space_inside_the_number_is_refused() -> None:
    assert "空格" in id_error(IdType.RESIDENT_ID, "110105 19900307451X")


@pytest.mark.parametrize("birth", ["19900230", "19900229", "19901301", "19900001", "19900100", "19000229"])
def test_birth_dates_that_do_not_exist_fail(birth: str) -> None:
    assert "出生日期" in id_error(IdType.RESIDENT_ID, with_check(f"110105{birth}451"))


def test_the_29th_of_february_in_a_leap_year_passes() -> None:
    number = with_check("11010520000229451")
    assert resident(number) == number


@settings(max_examples=200)
@given(resident_ids(born=st.dates(min_value=TODAY + timedelta(days=1), max_value=date(9999, 12, 31))))
def test_future_birth_dates_fail(number: str) -> None:
    assert "晚于今天" in id_error(IdType.RESIDENT_ID, number)


def test_a_birth_date_of_today_passes_and_tomorrow_fails() -> None:
    born_today = with_check(f"110105{TODAY:%Y%m%d}001")
    assert resident(born_today) == born_today
    tomorrow = with_check(f"110105{TODAY + timedelta(days=1):%Y%m%d}001")
    id_error(IdType.RESIDENT_ID, tomorrow)


def test_birth_dates_before_1900_fail() -> None:
    assert resident(with_check("11010519000101001")).startswith("110105")
    assert "1900" in id_error(IdType.RESIDENT_ID, with_check("11010518991231001"))


@pytest.mark.parametrize("province", NOT_PROVINCES)
def test_an_unknown_province_code_fails(province: int) -> None:
    assert "行政区划" in id_error(IdType.RESIDENT_ID, with_check(f"{province:02d}010519900307451"))


def test_residence_permit_numbers_of_hong_kong_macao_and_taiwan_residents_pass() -> None:
    for province in ("81", "82", "83"):
        number = with_check(f"{province}000019900307451")
        assert resident(number) == number


def test_a_2023_foreign_permanent_residence_number_is_not_a_resident_id() -> None:
    number = with_check("91115619900307451")
    assert normalize_id_number(IdType.FOREIGN_PERMANENT_RESIDENT, number, today=TODAY) == number
    id_error(IdType.RESIDENT_ID, number)


# --- other document types ----------------------------------------------------------------------


@pytest.mark.parametrize(("id_type", "raw", "canonical"), [
    (IdType.HK_MACAO_PERMIT, "H12345678", "H12345678"),
    (IdType.HK_MACAO_PERMIT, "m87654321", "M87654321"),
    (IdType.HK_MACAO_PERMIT, "H1234567890", "H1234567890"),
    (IdType.TAIWAN_PERMIT, "12345678", "12345678"),
    (IdType.TAIWAN_PERMIT, " 1234567890 ", "1234567890"),
    (IdType.PASSPORT, "E12345678", "E12345678"),
    (IdType.PASSPORT, "ea1234567", "EA1234567"),
    (IdType.PASSPORT, "G1234567", "G1234567"),
    (IdType.PASSPORT, "123456789", "123456789"),
    (IdType.PASSPORT, "AB123", "AB123"),
    (IdType.PASSPORT, "A1234567890123456", "A1234567890123456"),
    (IdType.FOREIGN_PERMANENT_RESIDENT, "USA110078091501", "USA110078091501"),
    (IdType.FOREIGN_PERMANENT_RESIDENT, "gbr310090010203", "GBR310090010203"),
    (IdType.FOREIGN_PERMANENT_RESIDENT, with_check("93184019900307451"), with_check("93184019900307451")),
])
def test_well_formed_numbers_of_other_documents_pass(id_type: IdType, raw: str, canonical: str) -> None:
    assert normalize_id_number(id_type, raw, today=TODAY) == canonical


@pytest.mark.parametrize(("id_type", "raw", "hint"), [
    (IdType.HK_MACAO_PERMIT, "A12345678", "H"),
    (IdType.HK_MACAO_PERMIT, "H1234567", "8 位"),
    (IdType.HK_MACAO_PERMIT, "H123456789", "8 位"),
    (IdType.HK_MACAO_PERMIT, "H12345678901", "8 位"),
    (IdType.HK_MACAO_PERMIT, "H1234567A", "8 位"),
    (IdType.HK_MACAO_PERMIT, "12345678", "H"),
    (IdType.TAIWAN_PERMIT, "1234567", "8 位"),
    (IdType.TAIWAN_PERMIT, "123456789", "8 位"),
    (IdType.TAIWAN_PERMIT, "T12345678", "8 位"),
    (IdType.TAIWAN_PERMIT, "12345678901", "8 位"),
    (IdType.PASSPORT, "E123", "5 至 17"),
    (IdType.PASSPORT, "E12345678901234567", "5 至 17"),
    (IdType.PASSPORT, "E1234-5678", "字母和数字"),
    (IdType.PASSPORT, "ABCDEFGH", "数字"),
    (IdType.PASSPORT, "E１2345678\u00e9", "字母和数字"),
    (IdType.FOREIGN_PERMANENT_RESIDENT, "US1110078091501", "3 位英文字母"),
    (IdType.FOREIGN_PERMANENT_RESIDENT, "USA11007809150", "15 位"),
    (IdType.FOREIGN_PERMANENT_RESIDENT, with_check("83184019900307451"), "9 开头"),
    (IdType.FOREIGN_PERMANENT_RESIDENT, with_check("93184019900307451")[:17] + "Y", "9 开头"),
    (IdType.FOREIGN_PERMANENT_RESIDENT, "931840199003074510" if check_character("93184019900307451") != "0"
     else "931840199003074511", "校验位"),
])
def test_malformed_numbers_of_other_documents_fail_with_a_hint(id_type: IdType, raw: str, hint: str) -> None:
    message = id_error(id_type, raw)
    assert message.startswith(f"证件号码不正确（{id_type.label}）：") and hint in message


@pytest.mark.parametrize("id_type", list(IdType))
def test_an_empty_number_is_refused_for_every_document_type(id_type: IdType) -> None:
    assert "请填写" in id_error(id_type, " \u3000 ")


def test_every_document_type_has_its_chinese_name() -> None:
    assert {t.value: t.label for t in IdType} == {
        "resident_id": "居民身份证",
        "hk_macao_permit": "港澳居民来往内地通行证",
        "taiwan_permit": "台湾居民来往大陆通行证",
        "passport": "护照",
        "foreign_permanent_resident": "外国人永久居留身份证",
    }


@pytest.mark.parametrize("value", [t.value for t in IdType])
def test_every_api_id_type_parses(value: str) -> None:
    assert parse_id_type(value).value == value


@pytest.mark.parametrize("value", ["", "RESIDENT_ID", "Resident_id", " resident_id", "id_card", "居民身份证"])
def test_anything_else_is_not_an_id_type(value: str) -> None:
    with pytest.raises(InvalidRequest) as caught:
        parse_id_type(value)
    assert caught.value.details == {"field": "id_type"} and "证件类型" in caught.value.message


# --- masking -----------------------------------------------------------------------------------


def test_a_resident_id_is_masked_like_the_api_shows_it() -> None:
    assert mask_id_number(ZHANG_SAN) == "110105********451X"
    assert mask_id_number(LI_SI) == "440304********0023"


@settings(max_examples=200)
@given(resident_ids())
def test_masking_keeps_exactly_six_and_four_and_never_reveals_the_middle(number: str) -> None:
    masked = mask_id_number(number)
    assert masked == number[:6] + "********" + number[14:]
    assert number[6:14] not in masked.replace("*", "")


@settings(max_examples=200)
@given(st.text(alphabet="ABCDEFGHMXZ0123456789", max_size=17))
def test_a_number_shorter_than_18_never_shows_more_than_half(number: str) -> None:
    masked = mask_id_number(number)
    shown = [a for a, b in zip(number, masked, strict=True) if a == b]
    assert len(masked) == len(number)
    assert len(shown) <= len(number) // 2
    assert all(b in ("*", a) for a, b in zip(number, masked, strict=True))


@pytest.mark.parametrize(("number", "masked"), [
    ("H12345678", "H1*****78"),
    ("E12345678", "E1*****78"),
    ("12345678", "12****78"),
    ("USA110078091501", "US***********01"),
    ("AB123", "A***3"),
    ("123", "***"),
    ("", ""),
])
def test_short_numbers_keep_two_and_two_or_less(number: str, masked: str) -> None:
    assert mask_id_number(number) == masked


def test_a_mainland_mobile_keeps_three_and_four() -> None:
    assert mask_phone("13812345678") == "138****5678"


@settings(max_examples=200)
@given(st.text(alphabet="+0123456789 -", max_size=20))
def test_a_phone_shows_at_most_its_last_four_or_the_mainland_three_and_four(phone: str) -> None:
    masked = mask_phone(phone)
    assert len(masked) == len(phone)
    if len(phone) == 11 and phone.isdigit():
        assert masked == phone[:3] + "****" + phone[7:]
    else:
        visible = len(masked) - len(masked.lstrip("*"))
        assert masked[visible:] == phone[visible:] and len(phone) - visible <= min(4, len(phone) // 2)


# --- phone and e-mail --------------------------------------------------------------------------


@pytest.mark.parametrize(("raw", "phone"), [
    ("13812345678", "13812345678"),
    ("+8613812345678", "13812345678"),
    ("+86 138-1234-5678", "13812345678"),
    (" 19912345678 ", "19912345678"),
    ("１３８１２３４５６７８", "13812345678"),
])
def test_mainland_mobiles_are_accepted_in_canonical_form(raw: str, phone: str) -> None:
    assert validate_phone(raw) == phone


@pytest.mark.parametrize("raw", ["12812345678", "1381234567", "138123456789", "+85261234567", "8613812345678",
                                 "010-12345678", "1381234567a", "", "+86"])
def test_anything_but_a_mainland_mobile_is_refused(raw: str) -> None:
    with pytest.raises(InvalidRequest) as caught:
        validate_phone(raw)
    assert caught.value.details == {"field": "phone"} and "手机号码" in caught.value.message


@pytest.mark.parametrize(("raw", "email"), [
    ("zhangsan@example.com", "zhangsan@example.com"),
    (" Zhang.San+cert@Example.COM.cn ", "Zhang.San+cert@example.com.cn"),
    ("a_b-c@mail-1.example.org", "a_b-c@mail-1.example.org"),
    ("user@Example.XN--FIQS8S", "user@example.xn--fiqs8s"),
])
def test_sane_email_addresses_pass_with_a_lower_case_domain(raw: str, email: str) -> None:
    assert validate_email(raw) == email


@pytest.mark.parametrize("raw", ["", "zhangsan", "zhangsan@", "@example.com", "a@b@example.com", "a@localhost",
                                 "a..b@example.com", ".a@example.com", "a.@example.com", "a b@example.com",
                                 "a@-example.com", "a@example-.com", "a@example..com", "a@example.c",
                                 "a@example.123", "张三@example.com", "a@例子.中国", "<a>@example.com",
                                 "a\n@example.com", "x" * 65 + "@example.com", "a@" + "b" * 250 + ".com"])
def test_malformed_email_addresses_are_refused(raw: str) -> None:
    with pytest.raises(InvalidRequest) as caught:
        validate_email(raw)
    assert caught.value.details == {"field": "email"} and "电子邮箱" in caught.value.message


# --- username ----------------------------------------------------------------------------------


@pytest.mark.parametrize("raw", ["demo", "Zhang_San2026", "____", "a" * 32, "USER"])
def test_usernames_of_ascii_letters_digits_and_underscores_pass_unchanged(raw: str) -> None:
    assert validate_username(raw) == raw


@pytest.mark.parametrize(("raw", "hint"), [
    ("abc", "4 至 32"), ("a" * 33, "4 至 32"), ("", "字母"), ("zhang san", "字母"), ("zhang-san", "字母"),
    ("张三丰呀", "字母"), (" demo", "字母"), ("demo\n", "字母"), ("ｄｅｍｏ", "字母"),
])
def test_other_usernames_are_refused(raw: str, hint: str) -> None:
    with pytest.raises(InvalidRequest) as caught:
        validate_username(raw)
    assert caught.value.details == {"field": "username"} and hint in caught.value.message


def test_usernames_are_unique_regardless_of_case_but_keep_their_case_for_display() -> None:
    assert username_key("Demo") == username_key("DEMO") == username_key("demo") == "demo"
    assert validate_username("Demo") == "Demo"


# --- password ----------------------------------------------------------------------------------


def weak_reason(username: str, password: str) -> str:
    with pytest.raises(WeakPassword) as caught:
        check_password(username, password)
    return caught.value.message


def test_the_demo_accounts_password_is_accepted() -> None:
    check_password("demo", "Demo#2026")


@pytest.mark.parametrize(("username", "password"), [
    ("lisi", "Lisi#2026pw"),
    ("zhangsan", "Secret#2026"),
    ("zhangsan", "abcdefg1!"),
    ("zhangsan", "ABCDEFG1a"),
    ("zhangsan", "密码很安全Ab1"),
    ("zhangsan", "Aa1" + "x" * 125),
])
def test_passwords_that_meet_the_policy_are_accepted(username: str, password: str) -> None:
    check_password(username, password)


def test_a_username_of_five_or_more_characters_may_not_appear_in_the_password() -> None:
    assert "用户名" in weak_reason("zhangsan", "Zhangsan#1")
    assert "用户名" in weak_reason("zhangsan", "#1ZHANGSAN")


def test_a_password_equal_to_the_username_is_refused_whatever_its_length() -> None:
    assert "用户名" in weak_reason("Abcd_1234", "abcd_1234")


@pytest.mark.parametrize(("password", "hint"), [
    ("Ab1#", "至少 8 位"),
    ("Aa1#" * 33, "不能超过 128 位"),
    ("abcdefgh1", "至少三类"),
    ("ABCDEFGH!", "至少三类"),
    ("12345678#", "至少三类"),
    ("abcdEFGH", "至少三类"),
])
def test_short_long_and_uniform_passwords_are_refused(password: str, hint: str) -> None:
    message = weak_reason("zhangsan", password)
    assert hint in message


def test_every_failed_rule_is_named() -> None:
    message = weak_reason("zhangsan", "zhangsan")
    assert "至少 8 位" not in message and "至少三类" in message and "用户名" in message
    message = weak_reason("abcde", "abcde")
    assert "至少 8 位" in message and "至少三类" in message and "用户名" in message


# --- name --------------------------------------------------------------------------------------


@pytest.mark.parametrize(("raw", "name"), [
    ("张三", "张三"),
    ("  李四 ", "李四"),
    ("阿卜杜拉·买买提", "阿卜杜拉·买买提"),
    ("Jose\u0301 Garci\u0301a", "José García"),
    ("王" * 50, "王" * 50),
])
def test_names_are_trimmed_and_nfc_normalised(raw: str, name: str) -> None:
    assert holder_display_name(raw) == name


@pytest.mark.parametrize(("raw", "hint"), [
    ("", "请填写"), ("   ", "请填写"), ("王" * 51, "50"), ("张\n三", "控制"), ("张\u200b三", "不可见"),
    ("张\x00三", "控制"), ("张\u2028三", "换行"), ("张\ue000三", "不可见"),
])
def test_empty_long_or_invisible_names_are_refused(raw: str, hint: str) -> None:
    with pytest.raises(InvalidRequest) as caught:
        holder_display_name(raw)
    assert caught.value.details == {"field": "name"} and hint in caught.value.message
