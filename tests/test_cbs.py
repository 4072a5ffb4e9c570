"""CBS and PDOK readers on small files in each published format; no reader echoes file content."""

from __future__ import annotations

import json
import zipfile
from pathlib import Path

import polars as pl
import pytest
from cbs_fixtures import (
    FixtureWijk,
    write_kwb_statline_csv,
    write_kwb_xlsx,
    write_map,
    write_pc6hnr,
)

from factlab.connectors.cbs import (
    kaart_year,
    kerncijfers_year,
    pc6hnr_year,
    read_bundled_wijken,
    read_gemeente_naam,
    read_pc6hnr,
    read_wijken,
    read_wijkkaart,
)
from factlab.errors import ReferenceFileError

TABLE = pl.DataFrame(
    {
        "PC6": ["1011AB", "1011AB", "9166LA", "2381XY", "1012CD"],
        "Huisnummer": ["1", "3", "12", "7", "4"],
        "buurt": ["0363AF01", "0363AF01", "00880000", "06380101", "0363AF02"],
        "wijk": ["0363AF", "0363AF", "008800", "063801", "0363AF"],
        "gemeente": ["0363", "0363", "0088", "0638", "0363"],
    }
)
WIJKEN = [
    FixtureWijk("WK063801", "Dorp", 2100, 1950),
    FixtureWijk("WK063802", "Weipoort", 28, None),
]
SECRET = "FACTLAB_KEY=c2VjcmV0LXNlY3JldC1zZWNyZXQtc2VjcmV0LXNlY3JldA=="


@pytest.mark.parametrize(
    ("year", "separator", "as_zip"),
    [(2023, ";", False), (2024, ",", False), (2024, ",", True), (2022, ";", True)],
    ids=["2023-csv", "2024-csv", "2024-zip", "2022-zip"],
)
def test_pc6hnr_in_every_published_layout(
    tmp_path: Path, year: int, separator: str, as_zip: bool
) -> None:
    path = write_pc6hnr(
        tmp_path / ("pc6hnr.zip" if as_zip else "pc6hnr.csv"), TABLE, year, separator=separator,
        as_zip=as_zip,
    )  # fmt: skip
    assert pc6hnr_year(path) == year
    table = read_pc6hnr(path)
    assert table.height == 5
    assert table.row(0, named=True) == {
        "postcode": "1011AB",
        "huisnummer": 1,
        "buurt_code": "BU0363AF01",
        "wijk_code": "WK0363AF",
        "gemeente_code": "GM0363",
    }
    schiermonnikoog = read_pc6hnr(path, "GM0088")
    assert schiermonnikoog.rows() == [("9166LA", 12, "BU00880000", "WK008800", "GM0088")]
    border = read_pc6hnr(path, "GM0088", pc4={"2381"})
    assert sorted(border["gemeente_code"]) == ["GM0088", "GM0638"]


def test_a_file_that_is_not_the_table_is_refused_without_echo(tmp_path: Path) -> None:
    secrets = tmp_path / "secrets.env"
    secrets.write_text(SECRET + "\nOTHER=1\n", encoding="utf-8")
    with pytest.raises(ReferenceFileError) as caught:
        read_pc6hnr(secrets)
    message = str(caught.value)
    assert "PC6" in message and "1 kolom" in message
    assert "FACTLAB_KEY" not in message and "c2Vj" not in message
    archive = tmp_path / "download.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        zf.writestr("readme.csv", SECRET + "\n")
    with pytest.raises(ReferenceFileError, match="ZIP-bestand bevat geen") as caught:
        read_pc6hnr(archive)
    assert "FACTLAB_KEY" not in str(caught.value)
    with pytest.raises(ReferenceFileError, match="geen kolom met wijkcodes") as caught:
        read_wijken(secrets)
    assert "FACTLAB_KEY" not in str(caught.value)


def test_kerncijfers_as_the_kwb_download(tmp_path: Path) -> None:
    path = write_kwb_xlsx(tmp_path / "kwb-2024.xlsx", "GM0638", "Zoeterwoude", WIJKEN)
    wijken = read_wijken(path).filter(pl.col("wijk_code").str.starts_with("WK0638"))
    assert wijken.rows() == [
        ("WK063801", "Dorp", 2100, 1950),
        ("WK063802", "Weipoort", 28, None),  # '.' is a secret cell: unknown, not zero
    ]
    assert read_wijken(path)["wijk_code"].str.starts_with("WK").all()
    assert read_gemeente_naam(path, "GM0638") == "Zoeterwoude"
    assert kerncijfers_year(path) == 2024


def test_kerncijfers_as_a_statline_export(tmp_path: Path) -> None:
    path = write_kwb_statline_csv(tmp_path / "85984NED.csv", "GM0638", "Zoeterwoude", WIJKEN)
    wijken = read_wijken(path)
    assert wijken.select("wijk_code", "woningen", "huishoudens").rows() == [
        ("WK063801", 2100, 1950),
        ("WK063802", 28, None),
    ]
    assert read_gemeente_naam(path, "GM0638") == "Zoeterwoude"


def test_bundled_kerncijfers_cover_every_gemeente() -> None:
    amsterdam = read_bundled_wijken("GM0363")
    assert amsterdam.height == 110 and "WK0363AF" in set(amsterdam["wijk_code"])
    assert amsterdam["woningen"].sum() == 480_852
    with pytest.raises(ReferenceFileError, match="GM9999 staat niet in de CBS-kerncijfers"):
        read_bundled_wijken("GM9999")


def _coordinates(kaart: dict) -> list[list[float]]:
    geometry = kaart["features"][0]["geometry"]
    rings = (
        geometry["coordinates"]
        if geometry["type"] == "Polygon"
        else [r for p in geometry["coordinates"] for r in p]
    )
    return rings[0]


def test_rd_map_is_converted_to_wgs84(tmp_path: Path) -> None:
    """Amersfoort's tower (RD 155000, 463000) is at about 5.3872 E, 52.1552 N."""
    path = write_map(
        tmp_path / "wijken.geojson", WIJKEN, 2024, crs="rd", origin_rd=(155_000, 463_000)
    )
    kaart = read_wijkkaart(path, "GM0638")
    lon, lat = _coordinates(kaart)[0]
    assert lon == pytest.approx(5.3872, abs=2e-4) and lat == pytest.approx(52.1552, abs=2e-4)
    assert [f["properties"] for f in kaart["features"]] == [
        {"statcode": "WK063801", "statnaam": "Dorp"},
        {"statcode": "WK063802", "statnaam": "Weipoort"},
    ]
    # Without the crs member the RD coordinates are recognised by their size.
    data = json.loads(path.read_text())
    del data["crs"]
    path.write_text(json.dumps(data))
    assert _coordinates(read_wijkkaart(path, "GM0638"))[0] == [lon, lat]


def test_wgs84_map_is_kept_and_filtered_to_the_gemeente(tmp_path: Path) -> None:
    other = [FixtureWijk("WK036300", "Elders", 1, 1)]
    path = write_map(tmp_path / "wijken_2023.geojson", WIJKEN + other, 2023, crs="wgs84")
    source = json.loads(path.read_text())["features"][0]["geometry"]["coordinates"][0]
    kaart = read_wijkkaart(path, "GM0638")
    assert len(kaart["features"]) == 2
    assert _coordinates(kaart) == source
    assert kaart_year(path) == 2023
    assert len(read_wijkkaart(path)["features"]) == 3


@pytest.mark.parametrize(
    ("kwargs", "gemeente", "message"),
    [
        ({"crs": "wgs84", "swap_axes": True}, "GM0638", "verwisseld"),
        ({"crs": "rd", "origin_rd": (900_000.0, 100_000.0)}, "GM0638", "niet in Nederland"),
        ({"crs": "rd"}, "GM0363", "geen wijken van GM0363"),
        ({"crs": "rd", "cell_m": 60_000.0}, "GM0638", "meer dan 70 km uit elkaar"),
    ],
    ids=["swapped-axes", "outside-nl", "other-gemeente", "not-one-gemeente"],
)
def test_a_map_not_in_the_gemeente_is_refused(
    tmp_path: Path, kwargs: dict, gemeente: str, message: str
) -> None:
    path = write_map(tmp_path / "wijken.geojson", WIJKEN, 2024, **kwargs)
    with pytest.raises(ReferenceFileError, match=message):
        read_wijkkaart(path, gemeente)


def test_a_map_that_is_no_geojson_is_refused_without_echo(tmp_path: Path) -> None:
    path = tmp_path / "wijken.geojson"
    path.write_text(SECRET, encoding="utf-8")
    with pytest.raises(ReferenceFileError, match="geen leesbaar GeoJSON") as caught:
        read_wijkkaart(path)
    assert "FACTLAB_KEY" not in str(caught.value)
