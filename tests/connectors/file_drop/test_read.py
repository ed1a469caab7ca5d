"""Reading a dropped file: headers as people write them, delimiters, encodings, quoting, row
numbers as a spreadsheet shows them, rows the reader cannot trust, and files it cannot read at all.
"""

from __future__ import annotations

import codecs

import pytest

from connectors.file_drop import parse_event
from tests.connectors.file_drop.helpers import dropped, only, records

ANA = ("ana.souza@acme-robotics.example", "Ana", "Souza", "Acme Robotics")


@pytest.mark.parametrize(
    "content",
    [
        pytest.param(
            "Email,First Name,Last Name,Company\r\nana.souza@acme-robotics.example,Ana,Souza,Acme Robotics\r\n",
            id="plain",
        ),
        pytest.param(
            "E-mail,First name,Last name,Organization\nana.souza@acme-robotics.example,Ana,Souza,Acme Robotics\n",
            id="e-mail-and-lf",
        ),
        pytest.param(
            " EMAIL , FIRST_NAME ,last-name,company name\r\nana.souza@acme-robotics.example,Ana,Souza,Acme Robotics\r\n",
            id="case-spaces-underscores",
        ),
        pytest.param(
            "E-Mail Address;Firstname;Surname;Firma;Company\r\nana.souza@acme-robotics.example;Ana;Souza;x;Acme Robotics\r\n",
            id="semicolons",
        ),
        pytest.param(
            "Email Address\tGiven Name\tFamily Name\tEmployer\nana.souza@acme-robotics.example\tAna\tSouza\tAcme Robotics\n",
            id="tabs",
        ),
        pytest.param(
            '"Email","First Name","Last Name","Company"\r\n"ana.souza@acme-robotics.example","Ana","Souza","Acme Robotics"\r\n',
            id="all-quoted",
        ),
        pytest.param(
            "Name,Work Email,Account Name\r\nAna Souza,ana.souza@acme-robotics.example,Acme Robotics\r\n",
            id="full-name",
        ),
        pytest.param(
            'Full Name,Attendee Email,Company\r\n"Souza, Ana",ana.souza@acme-robotics.example,Acme Robotics\r\n',
            id="last-comma-first",
        ),
    ],
)
def test_header_variants_read_the_same_person(content: str) -> None:
    record = only(content)
    assert (record.email, record.first_name, record.last_name, record.company) == ANA
    assert record.unreadable is None


@pytest.mark.parametrize(
    "data",
    [
        pytest.param(
            codecs.BOM_UTF8 + "E-mail,Name\r\nzoë@müller.example,Zoë Müller\r\n".encode(),
            id="utf-8-bom",
        ),
        pytest.param(
            "E-mail,Name\r\nzoë@müller.example,Zoë Müller\r\n".encode("utf-16"), id="utf-16-bom"
        ),
        pytest.param("E-mail,Name\r\nzoë@müller.example,Zoë Müller\r\n".encode(), id="utf-8"),
    ],
)
def test_encodings_with_a_byte_order_mark_or_utf8_read_alike(data: bytes) -> None:
    record = only(data)
    assert (record.email, record.first_name, record.last_name) == (
        "zoë@müller.example",
        "Zoë",
        "Müller",
    )


def test_a_byte_order_mark_does_not_hide_the_first_column() -> None:
    # The BOM sits before the first header; it must not become part of its name.
    record = only(codecs.BOM_UTF8 + b"Email\r\nana@acme.example\r\n")
    assert record.email == "ana@acme.example"


def test_unicode_is_kept_as_written() -> None:
    record = only(
        "Email,First Name,Last Name,Company\r\n"
        "omer@bosphorus.example,Ömer,Y\u0131lmaz,Ağaç & Söğüt 🌳 שלום\r\n"
    )
    assert (record.first_name, record.last_name, record.company) == (
        "Ömer",
        "Y\u0131lmaz",
        "Ağaç & Söğüt 🌳 שלום",
    )


def test_quoting_keeps_delimiters_quotes_and_line_breaks_inside_one_value() -> None:
    [payload] = dropped(
        "Referred Email,Company,Note\r\n"
        'k.vogel@alpenbank.example,"Alpenbank, AG","She said ""call me"".\nPrefers e-mail."\r\n',
        "referrals",
    ).payloads
    assert payload["values"] == {
        "Referred Email": "k.vogel@alpenbank.example",
        "Company": "Alpenbank, AG",
        "Note": 'She said "call me".\nPrefers e-mail.',
    }


def test_row_numbers_are_the_spreadsheet_rows_and_blank_rows_are_counted_not_landed() -> None:
    # GIVEN a header (row 1), a person, an empty line, a value over two lines, a row of empty
    # cells and another person
    file = dropped(
        "Email,Note\r\n"
        "a@acme.example,one\r\n"
        "\r\n"
        'b@acme.example,"two\r\nlines"\r\n'
        " , \r\n"
        "c@acme.example,three\r\n"
    )
    # THEN the people are rows 2, 4 and 6, as a spreadsheet shows them, and the two blank rows
    # are counted only
    assert [p["row_number"] for p in file.payloads] == [2, 4, 6]
    assert (file.rows, file.blank_rows) == (3, 2)
    assert [r.location for r in records("Email\r\na@acme.example\r\n")] == ["events/drop.csv row 2"]


@pytest.mark.parametrize(
    ("line", "problem"),
    [
        pytest.param(
            "j@solace.example,Javier,Solace Health, Inc.",
            "the row has 4 values where the header has 3 columns",
            id="too-many-values",
        ),
        pytest.param(
            "j@solace.example,Javier",
            "the row has 2 values where the header has 3 columns",
            id="too-few-values",
        ),
        pytest.param(
            'j@solace.example,"Javier" Fernández,Solace',
            "the row's quotes cannot be read as CSV",
            id="text-after-a-closing-quote",
        ),
    ],
)
def test_a_row_the_reader_cannot_trust_keeps_its_place_and_says_why(
    line: str, problem: str
) -> None:
    # GIVEN a file whose second person row is malformed
    file = dropped(
        f"Email,Name,Company\r\na@acme.example,Ana,Acme\r\n{line}\r\nc@acme.example,Cy,Co\r\n"
    )

    # THEN every row is there, in place; the bad one carries the problem and no person
    parsed = [parse_event(payload) for payload in file.payloads]
    assert [p["row_number"] for p in file.payloads] == [2, 3, 4]
    assert [r.unreadable is None for r in parsed] == [True, False, True]
    assert parsed[1].unreadable is not None and parsed[1].unreadable.startswith(problem)
    assert (parsed[1].email, parsed[1].first_name) == (None, None)
    # AND no value of the row appears in the reason
    assert "solace" not in parsed[1].unreadable.lower()
    assert "javier" not in parsed[1].unreadable.lower()
    # AND the raw row keeps everything the file had
    raw = file.payloads[1]
    kept = " ".join(
        [*raw.get("values", {}).values(), *raw.get("extra_values", []), raw.get("text") or ""]
    )
    assert "j@solace.example" in kept and "Javier" in kept


def test_a_quote_never_closed_makes_the_rest_of_the_file_one_unreadable_row() -> None:
    file = dropped(
        'Email,Name\r\na@acme.example,Ana\r\nb@acme.example,"Bo\r\nc@acme.example,Cy\r\n'
    )
    rows = [(p["row_number"], p.get("problem")) for p in file.payloads]
    assert rows == [
        (2, None),
        (3, "from this row on the file cannot be read as CSV: a quote is never closed"),
    ]
    assert "c@acme.example" in file.payloads[1]["text"]


def test_bytes_that_are_not_text_make_their_row_unreadable_naming_the_column_not_the_value() -> (
    None
):
    # GIVEN a UTF-8 file with one name saved in Windows-1252 (Müller as M\xfcller)
    content = b"Email,Company\r\na@acme.example,Acme\r\nb@kranich.example,M\xfcller GmbH\r\n"

    # THEN only that row is unreadable, and its reason names the column and the fix
    first, second = records(content)
    assert first.unreadable is None
    assert second.unreadable is not None
    assert second.unreadable.startswith("column 'Company' holds bytes that are not utf-8 text")
    assert "ller" not in second.unreadable
    # AND the raw payload holds text the warehouse can store
    assert dropped(content).payloads[1]["values"]["Company"] == "M\ufffdller GmbH"

    # WHEN the source says the files are Windows-1252, the same row reads
    assert [r.company for r in records(content, encoding="cp1252")] == ["Acme", "Müller GmbH"]


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        pytest.param(b"", "the file is empty", id="empty"),
        pytest.param(
            codecs.BOM_UTF8 + b"\r\n \r\n", "the file is empty", id="only-a-bom-and-blank-lines"
        ),
        pytest.param(
            b"PK\x03\x04\x14\x00\x06\x00[Content_Types].xml",
            "the file is a ZIP archive, most likely an Excel workbook: save it as CSV UTF-8 (.csv)",
            id="xlsx",
        ),
        pytest.param(
            b"%PDF-1.7\n\x00\x01\x02binary",
            "the file holds binary data, not CSV text: save it as CSV UTF-8 (.csv)",
            id="binary",
        ),
        pytest.param(
            b"First Name,Last Name,Company\r\nAna,Souza,Acme\r\n",
            "the header (row 1) names no email or phone column",
            id="no-contact-column",
        ),
        pytest.param(
            b"Attendee Report\r\nWebinar ID,123\r\nEmail,Name\r\na@acme.example,Ana\r\n",
            "the header (row 1) names no email or phone column",
            id="a-report-preamble-above-the-header",
        ),
        pytest.param(
            b'"Email,Name\r\na@acme.example,Ana\r\n',
            "the header (row 1) names no email or phone column",
            id="header-quote-never-closed",
        ),
    ],
)
def test_a_file_that_is_no_csv_is_rejected_whole_as_one_record_saying_why(
    data: bytes, reason: str
) -> None:
    file = dropped(data)
    assert file.rejected is not None and file.rejected.startswith(reason)
    assert file.rows == 0
    [payload] = file.payloads
    record = parse_event(payload)
    assert record.record_id == f"{file.sha256}:file"
    assert (record.location, record.unreadable) == ("events/drop.csv", file.rejected)


def test_a_header_without_rows_is_a_file_with_nothing_in_it_yet() -> None:
    file = dropped("Email,First Name\r\n")
    assert (file.rejected, file.rows, file.payloads) == (None, 0, [])


def test_the_delimiter_is_the_one_that_finds_the_columns() -> None:
    # A comma inside the first header name must not make this a comma file.
    record = only(
        "Company (legal name, in full);E-mail;Phone\r\nAcme, Inc.;a@acme.example;+1 415 555 0134\r\n"
    )
    assert (record.email, record.phone) == ("a@acme.example", "+1 415 555 0134")


def test_repeated_and_empty_header_names_are_kept_apart_and_the_first_is_read() -> None:
    [payload] = dropped("Email,,Email\r\nfirst@acme.example,x,second@acme.example\r\n").payloads
    assert payload["values"] == {
        "Email": "first@acme.example",
        "(column 2)": "x",
        "Email (column 3)": "second@acme.example",
    }
    assert parse_event(payload).email == "first@acme.example"


def test_the_same_bytes_always_make_the_same_record_ids() -> None:
    content = "Email\r\na@acme.example\r\nb@acme.example\r\n"
    first, again = dropped(content), dropped(content)
    ids = [parse_event(p).record_id for p in first.payloads]
    assert ids == [parse_event(p).record_id for p in again.payloads]
    assert ids == [f"{first.sha256}:2", f"{first.sha256}:3"]
    assert dropped(content + "c@acme.example\r\n").sha256 != first.sha256
