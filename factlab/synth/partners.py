"""The nine synthetic partner organisations: each delivery's layout (delimiter, encoding,
header names, own provision codes, date and address styles) and which provisions it delivers."""

from __future__ import annotations

from dataclasses import dataclass, field

from factlab.config import CANONICAL_COLUMNS, header_key

DASH = "\u2013"  # en dash, as partners type it in Word/Excel
NAMES = (
    "M. Müller",
    "A. Özdemir",
    "R. Çelik",
    "Renée de Vries",
    "Zoë Bakker",
    "Anaïs El Idrissi",
    "José Martínez",
    "Noël Jansen",
    "Daniël Smit",
    "Lotte van 't Hof",
    "Brahim Aït Said",
    "Inès Koç",
)
REMARKS = (
    "",
    "",
    "",
    "",
    f"Zaandam Zuid {DASH} café",
    "cliënt verhuisd, zie dossier",
    'status "in behandeling"',
    "via huisarts; overleg met wijkteam",
    "herindicatie gepland",
    f"contact via dochter {DASH} Müller",
)


@dataclass(frozen=True)
class Partner:
    """One partner organisation and the layout of its upload file(s)."""

    org: str
    naam: str
    files: tuple[str, ...]
    kind: str  # "csv" | "xlsx"
    delimiter: str = ";"
    encoding: str = "utf-8"
    newline: str = "\n"
    # (header, role); role is a canonical column or "x:<extra kind>".
    columns: tuple[tuple[str, str], ...] = ()
    date_format: str = "iso"  # "iso" | "dmy" | "cell" (xlsx date cells)
    codes: dict[str, str] = field(default_factory=dict)  # own code -> catalogue code
    trailing_blank_line: bool = False
    unknown_codes: tuple[str, ...] = ("ONBEKEND",)

    def has(self, role: str) -> bool:
        """True when the partner's file has a column for ``role``."""
        return any(r == role for _, r in self.columns)

    @property
    def kolommen(self) -> dict[str, str]:
        """Headers that are not canonical names and need a connector mapping."""
        canonical = {*CANONICAL_COLUMNS, "toevoeging"}
        out: dict[str, str] = {}
        for header, role in self.columns:
            if not role.startswith("x:") and header_key(header) not in canonical:
                out[header] = role
        return out


PARTNERS: tuple[Partner, ...] = (
    Partner(
        org="gemeente-wmo",
        naam=f"Gemeente Zaanstad {DASH} Wmo",
        files=("wmo_2026_kwartaal1.csv", "wmo_2026_kwartaal2.csv"),
        kind="csv",
        delimiter=";",
        encoding="utf-8",
        columns=(
            ("Postcode", "postcode"),
            ("Huisnummer", "huisnummer"),
            ("Huisletter", "huisletter"),
            ("Huisnummertoevoeging", "huisnummertoevoeging"),
            ("Voorziening", "voorziening"),
            ("Startdatum", "startdatum"),
            ("Einddatum", "einddatum"),
            ("Beschikkingsnummer", "x:beschikking"),
            ("Opmerking", "x:remark"),
        ),
        unknown_codes=("WMO-PGB", "WMO-XX"),
    ),
    Partner(
        org="gemeente-werk-inkomen",
        naam=f"Gemeente Zaanstad {DASH} Werk en Inkomen",
        files=("uitkeringen_2026.xlsx",),
        kind="xlsx",
        columns=(
            ("Postcode", "postcode"),
            ("Huisnummer", "huisnummer"),
            ("Huisletter", "huisletter"),
            ("Toevoeging", "huisnummertoevoeging"),
            ("Voorziening", "voorziening"),
            ("Startdatum", "startdatum"),
            ("Einddatum", "einddatum"),
            ("Dossiernummer", "x:dossier"),
            ("Omschrijving", "x:omschrijving"),
        ),
        date_format="cell",
        unknown_codes=("PW-IOAW", "MIN-XX"),
    ),
    Partner(
        org="sociaal-wijkteam",
        naam="Sociaal Wijkteam Zaanstad",
        files=("wijkteam_export_2026.csv",),
        kind="csv",
        delimiter=",",
        encoding="utf-8-sig",
        newline="\r\n",
        columns=(
            ("Post code", "postcode"),
            ("HUIS_NUMMER", "huisnummer"),
            ("Huis-letter", "huisletter"),
            ("Toevoeging", "huisnummertoevoeging"),
            ("Voorziening", "voorziening"),
            ("Start_datum", "startdatum"),
            ("Eind datum", "einddatum"),
            ("Behandelaar", "x:name"),
            ("Wijkteam", "x:wijkteam"),
        ),
        unknown_codes=("JGD-XX", "WT-ADVIES"),
    ),
    Partner(
        org="jeugdbescherming-nh",
        naam="Jeugdbescherming Noord-Holland",
        files=("maatregelen_zaanstad_2026.txt",),
        kind="csv",
        delimiter="\t",
        encoding="cp1252",
        newline="\r\n",
        columns=(
            ("Postcode", "postcode"),
            ("Huisnummer", "huisnummer"),
            ("Maatregel", "voorziening"),
            ("Begindatum", "startdatum"),
            ("Einddatum", "einddatum"),
            ("Jeugdbeschermer", "x:name"),
            ("Regio", "x:regio"),
        ),
        date_format="dmy",
        codes={"JB": "JGD-JB", "JR": "JGD-JR"},
        trailing_blank_line=True,
        unknown_codes=("VOOGDIJ", "OTS-X"),
    ),
    Partner(
        org="kredietbank-zaanstad",
        naam="Kredietbank Zaanstad",
        files=("kredietbank_2026.csv",),
        kind="csv",
        delimiter=";",
        encoding="utf-8",
        columns=(
            ("pc", "postcode"),
            ("nr", "huisnummer"),
            ("toev", "huisnummertoevoeging"),
            ("product", "voorziening"),
            ("ingangsdatum", "startdatum"),
            ("afsluitdatum", "einddatum"),
            ("dossier", "x:dossier"),
            ("status", "x:status"),
        ),
        codes={"SCHULD": "SHV", "BB": "SHV-BB"},
        unknown_codes=("KREDIET", "SANERING-X"),
    ),
    Partner(
        org="welzijn-zaanstad",
        naam="Welzijn Zaanstad",
        files=("welzijn_deelnemers_2026.csv",),
        kind="csv",
        delimiter=",",
        encoding="utf-8",
        columns=(
            ("pc", "postcode"),
            ("nr", "huisnummer"),
            ("product", "voorziening"),
            ("ingangsdatum", "startdatum"),
            ("opmerking", "x:remark"),
        ),
        codes={"MAATJE": "WLZ-MAATJE", "BBM": "WLZ-BBM", "MZO": "WLZ-MZO"},
        unknown_codes=("SOOS", "KOFFIE"),
    ),
    Partner(
        org="vve-zaanstad",
        naam="VVE Zaanstad",
        files=("vve_peuters_2026.tsv",),
        kind="csv",
        delimiter="\t",
        encoding="utf-8",
        columns=(
            ("postcode", "postcode"),
            ("huisnummer", "huisnummer"),
            ("huisletter", "huisletter"),
            ("huisnummertoevoeging", "huisnummertoevoeging"),
            ("voorziening", "voorziening"),
            ("startdatum", "startdatum"),
            ("einddatum", "einddatum"),
            ("locatie", "x:locatie"),
        ),
        unknown_codes=("OND-PSZ",),
    ),
    Partner(
        org="taalhuis-inburgering",
        naam="Taalhuis en Inburgering Zaanstad",
        files=("inburgering_2026.csv",),
        kind="csv",
        delimiter=";",
        encoding="utf-8-sig",
        newline="\r\n",
        columns=(
            ("Postcode", "postcode"),
            ("Huisnummer", "huisnummer"),
            ("Toevoeging", "huisnummertoevoeging"),
            ("Voorziening", "voorziening"),
            ("Startdatum", "startdatum"),
            ("Taalniveau", "x:niveau"),
        ),
        unknown_codes=("TAALCAFE",),
    ),
    Partner(
        org="regiotaxi-aov",
        naam="Regiotaxi Zaanstreek (AOV)",
        files=("aov_pashouders_2026.csv",),
        kind="csv",
        delimiter=",",
        encoding="cp1252",
        newline="\r\n",
        columns=(
            ("Postcode", "postcode"),
            ("Huisnummer", "huisnummer"),
            ("Huisletter", "huisletter"),
            ("Toevoeging", "huisnummertoevoeging"),
            ("Product", "voorziening"),
            ("Startdatum", "startdatum"),
            ("Einddatum", "einddatum"),
            ("Pasnummer", "x:pas"),
            ("Opmerking", "x:remark"),
        ),
        codes={"AOV": "WMO-VV", "AOV-BG": "WMO-VV"},
        unknown_codes=("RTX", "OV-PAS"),
    ),
)
PARTNER_BY_ORG = {p.org: p for p in PARTNERS}

# Catalogue code -> organisation. WMO-BEG is split between the gemeente and the wijkteam.
CODE_ORG: dict[str, str] = {
    **{c: "sociaal-wijkteam" for c in ("JGD-AMB", "JGD-VBL")},
    **{c: "jeugdbescherming-nh" for c in ("JGD-JB", "JGD-JR")},
    **{
        c: "gemeente-wmo"
        for c in ("WMO-HH", "WMO-BEG", "WMO-DAG", "WMO-HLP", "WMO-WON", "WMO-BW", "WMO-MO")
    },
    "WMO-VV": "regiotaxi-aov",
    **{
        c: "gemeente-werk-inkomen"
        for c in ("PW-BIJ", "PW-RI", "PW-LKS", "PW-BW", "MIN-BB", "MIN-IIT", "MIN-KWS", "MIN-MDR")
    },
    **{c: "kredietbank-zaanstad" for c in ("SHV", "SHV-BB")},
    **{c: "welzijn-zaanstad" for c in ("WLZ-MAATJE", "WLZ-BBM", "WLZ-MZO")},
    "OND-VVE": "vve-zaanstad",
    "INB": "taalhuis-inburgering",
}
WIJKTEAM_BEG_SHARE = 0.25
