from __future__ import annotations

from pipeline.extract.party_repair import (
    guessed_by_engine,
    repair_chosen_value,
    repair_party_value,
    repair_vendor_address,
    repair_vendor_name,
    strip_stray_marks,
)
from pipeline.types import OcrLine, PageText


def _page(*confidences: float) -> PageText:
    lines = tuple(
        OcrLine(f"line {i}", c, ((0, i), (9, i), (9, i + 1), (0, i + 1)))
        for i, c in enumerate(confidences)
    )
    return PageText(1, 100, 100, lines, "ocr")


def test_it_reads_o_in_a_number_as_zero() -> None:
    assert repair_vendor_address("45, JALAN BESAR, 456OO BATANG") == (
        "45, JALAN BESAR, 45600 BATANG"
    )
    assert repair_vendor_address("LOT 3, 4030o SHAH ALAM") == "LOT 3, 40300 SHAH ALAM"


def test_it_reads_zero_between_letters_as_o() -> None:
    assert repair_vendor_address("41150 KLANG, SELANG0R") == "41150 KLANG, SELANGOR"
    assert repair_vendor_name("POPULAR BO0K CO. (M) SDN BHD") == (
        "POPULAR BOOK CO. (M) SDN BHD"
    )


def test_it_leaves_unit_letters_and_words_alone() -> None:
    assert repair_vendor_address("NO 1O, JALAN SS2/10") == "NO 1O, JALAN SS2/10"


def test_it_repairs_a_misread_sdn_bhd_in_the_case_printed() -> None:
    assert repair_vendor_name("SUN VICTORY SON BHD") == "SUN VICTORY SDN BHD"
    assert repair_vendor_name("SUBANG HEALTHCARE SIN BHD") == (
        "SUBANG HEALTHCARE SDN BHD"
    )
    assert repair_vendor_name("Timeless Kitchenette Sán Bhd") == (
        "Timeless Kitchenette Sdn Bhd"
    )
    assert repair_vendor_name("Health And Beauty Sdn Bnd") == (
        "Health And Beauty Sdn Bhd"
    )


def test_it_keeps_a_name_word_that_looks_like_the_suffix() -> None:
    assert repair_vendor_name("KEDAI SUN BHD") == "KEDAI SUN BHD"


def test_it_repairs_s_b_and_co_read_with_digits() -> None:
    assert repair_vendor_name("99 SPEED MART 5/B") == "99 SPEED MART S/B"
    assert repair_vendor_name("AEON C0.(M) BHD") == "AEON CO. (M) BHD"


def test_it_reads_a_lone_eight_between_words_as_ampersand() -> None:
    assert repair_vendor_name("TEO HENG STATIONERY 8 BOOKS") == (
        "TEO HENG STATIONERY & BOOKS"
    )
    assert repair_vendor_name("8 DAYS CAFE") == "8 DAYS CAFE"


def test_it_sets_brackets_off_with_spaces() -> None:
    assert repair_vendor_name("AEON CO.(M)BHD") == "AEON CO. (M) BHD"
    assert repair_vendor_name("GARDENIA BAKERIES (KL )SDN BHD") == (
        "GARDENIA BAKERIES (KL ) SDN BHD"
    )


def test_it_trims_a_tax_id_or_phone_taken_in_with_the_address() -> None:
    assert repair_vendor_address(
        "JALAN AIR HITAM 43800 DENGKIL, SELANGOR. (GSTReg.No:000670224384)"
    ) == ("JALAN AIR HITAM 43800 DENGKIL, SELANGOR.")
    assert repair_vendor_address(
        "41150 KLANG, SELANGOR 1313-SUBANG BESTARI GS7 ID.NO:000181747712"
    ) == ("41150 KLANG, SELANGOR 1313-SUBANG BESTARI")
    assert repair_vendor_address(
        "(GSTID No:001147416576) 54,JALAN SS23/11 TAMAN SEA"
    ) == ("54,JALAN SS23/11 TAMAN SEA")
    assert repair_vendor_address(
        "SRI PETALING, 57000 KUALA LUMPUR. H/P:012-3163818FAX:0390542829"
    ) == ("SRI PETALING, 57000 KUALA LUMPUR.")


def test_it_separates_a_postcode_from_its_town() -> None:
    assert repair_vendor_address("JALAN AIR HITAM 43800DENGKIL") == (
        "JALAN AIR HITAM 43800 DENGKIL"
    )
    assert repair_vendor_address("TAMAN MALURI CHERAS.55100 KUALA LUMPUR") == (
        "TAMAN MALURI CHERAS, 55100 KUALA LUMPUR"
    )


def test_typed_full_stops_and_commas_stay_as_printed() -> None:
    typed = "95, BEACH ROAD, 10300 PENANG. 10400 PENANG. 5,JALAN X, Y"
    assert repair_vendor_address(typed) == typed
    assert repair_party_value("vendor_address", typed, guessed=False) == typed


def test_it_repairs_commas_an_ocr_engine_guessed() -> None:
    assert repair_vendor_address(
        "NO 290. JALAN AIR PANAS. SETAPAK, 53200, KUALA LUMPUR.", guessed=True
    ) == ("NO 290, JALAN AIR PANAS, SETAPAK, 53200, KUALA LUMPUR.")
    assert repair_vendor_address(
        "3RD FLR, TAMAN MALURI CHERAS,55100 KUALA LUMPUR", guessed=True
    ) == ("3RD FLR, TAMAN MALURI CHERAS, 55100 KUALA LUMPUR")


def test_it_keeps_abbreviations_and_numbers_in_guessed_text() -> None:
    assert repair_vendor_address("NO. 15, JLN. BESAR 1,500", guessed=True) == (
        "NO. 15, JLN. BESAR 1,500"
    )


def test_a_print_that_glues_its_commas_keeps_them_glued() -> None:
    glued = "12, JALAN TAMPOI 7/4,KAWASAN TAMPOI,81200 JOHOR BAHRU,JOHOR"
    assert repair_vendor_address(glued, guessed=True) == glued


def test_text_from_an_engine_is_told_from_typed_text() -> None:
    assert guessed_by_engine(_page(1.0, 0.93))
    assert not guessed_by_engine(_page(1.0, 1.0))


def test_other_fields_pass_through() -> None:
    assert repair_party_value("total_amount", "1O.00", guessed=True) == "1O.00"


def test_it_restores_a_comma_ocr_lost_at_the_end_of_a_line() -> None:
    lines = [
        "LOT 1851-A & 1851-B, JALAN KPB 6,",
        "KAWASAN PERINDUSTRIAN BALAKONG",
        "43300 SERI KEMBANGAN, SELANGOR",
    ]
    joined = " ".join(lines)
    assert repair_vendor_address(joined, guessed=True, lines=lines) == (
        "LOT 1851-A & 1851-B, JALAN KPB 6, KAWASAN PERINDUSTRIAN BALAKONG, "
        "43300 SERI KEMBANGAN, SELANGOR"
    )


def test_a_print_without_line_end_commas_gets_none() -> None:
    lines = ["NO 2A JALAN COCHRANE", "TAMAN MALURI", "55100 KUALA LUMPUR"]
    joined = " ".join(lines)
    assert repair_vendor_address(joined, guessed=True, lines=lines) == joined


def test_the_chosen_value_is_repaired_with_the_lines_it_spans() -> None:
    texts = ["12, JALAN BESAR,", "TAMAN MALURI", "55100 KUALA LUMPUR", "TEL 03-1234"]
    lines = tuple(
        OcrLine(
            text,
            0.95,
            ((0, 20 * i), (300, 20 * i), (300, 20 * i + 15), (0, 20 * i + 15)),
        )
        for i, text in enumerate(texts)
    )
    page = PageText(1, 300, 100, lines, "ocr")
    assert (
        repair_chosen_value(
            "vendor_address",
            "12, JALAN BESAR, TAMAN MALURI 55100 KUALA LUMPUR",
            page,
            (0, 0, 300, 55),
        )
        == "12, JALAN BESAR, TAMAN MALURI, 55100 KUALA LUMPUR"
    )
    typed = PageText(
        1,
        300,
        100,
        tuple(OcrLine(line.text, 1.0, line.polygon) for line in lines),
        "pdf_text",
    )
    assert (
        repair_chosen_value(
            "vendor_address",
            "12, JALAN BESAR, TAMAN MALURI 55100 KUALA LUMPUR",
            typed,
            (0, 0, 300, 55),
        )
        == "12, JALAN BESAR, TAMAN MALURI 55100 KUALA LUMPUR"
    )


def test_it_unglues_the_suffix_from_the_name() -> None:
    assert repair_vendor_name("THE TOAST F&BSDN BHD") == "THE TOAST F&B SDN BHD"


def test_it_drops_a_registration_number_cut_off_after_the_suffix() -> None:
    assert repair_vendor_name("Dion Realties Sdn Bhd (Co.Ho") == (
        "Dion Realties Sdn Bhd"
    )
    assert repair_vendor_name("KEDAI ENTERPRISE (SETIA") == "KEDAI ENTERPRISE (SETIA"


def test_it_spaces_a_half_spaced_ampersand_and_drops_specks() -> None:
    guessed = "NO.32& 33, JALAN SR 1/9"
    assert repair_vendor_address(guessed, guessed=True) == "NO.32 & 33, JALAN SR 1/9"
    # Typed text prints it so: "10& 12 JALAN PERMAS".
    assert repair_vendor_address(guessed) == guessed
    assert repair_vendor_address("NO 1&3, JALAN", guessed=True) == "NO 1&3, JALAN"
    assert repair_vendor_address("3RD· FLR, AEON TAMAN") == "3RD FLR, AEON TAMAN"
    assert repair_vendor_address("B-8, JALAN SS15/4D, SUBANG JAYA,'SELANGOR") == (
        "B-8, JALAN SS15/4D, SUBANG JAYA,SELANGOR"
    )


def test_it_reads_a_capital_i_inside_a_lower_case_word_as_l() -> None:
    assert repair_vendor_address("No.1, JIn Puteri 1/6, BIk G") == (
        "No.1, Jln Puteri 1/6, Blk G"
    )
    assert repair_vendor_address("Jalan |poh Batu 5") == "Jalan Ipoh Batu 5"
    assert repair_vendor_address("JALAN IPOH, Isnail") == "JALAN IPOH, Isnail"


def test_a_stray_mark_ocr_put_on_a_plain_capital_is_taken_off() -> None:
    page = "LOT 3, JALAN PELABUR 23/1, 40300 ŚHAH ALAM TOTAL 12.00"
    assert (
        strip_stray_marks("Lot 3, Jalan Pelabur 23/1, 40300 Śhah Alam", page)
        == "Lot 3, Jalan Pelabur 23/1, 40300 Shah Alam"
    )


def test_marks_a_page_prints_throughout_are_its_language_s_and_stay() -> None:
    page = "Sklep Źródło, ul. Śliska 5, Kraków. Dziękujemy, żegnamy, ćwierć"
    assert strip_stray_marks("Sklep Źródło", page) == "Sklep Źródło"
    # Western European marks are never taken for OCR's.
    assert strip_stray_marks("Bäckerei Müller, Malaucène", "x") == (
        "Bäckerei Müller, Malaucène"
    )
