#!/usr/bin/env python3
"""Write the 150 site configurations of the Take5 campaign to ``include/site_configs/``.

The site table below is the data (id, country, place, continent, centre,
aerosol model, optional description); everything else is derived by fixed
rules (docs/site-config.md, "Generated fields"):

- grid: the WGS84 UTM zone of the centre (EPSG 326zz north, 327zz south, with
  the Norway and Svalbard exceptions), 6600 x 6600 pixels of 10 m (66 km)
  centred on the centre, origin on the 10 m lattice;
- cycle_day: ``crc32(site_id) % 5 + 1``, stable when sites are added;
- first_acquisition: 2015-04-08 + (cycle_day - 1) days: every site is then
  seen every 5 days from that date (the orbit was lowered on 2015-04-02);
- SLA and L2A settings: the campaign defaults.

Same table, same bytes: ``python scripts/generate_site_configs.py [--out DIR]``.
"""

from __future__ import annotations

import argparse
import json
import math
import zlib
from datetime import date, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "include" / "site_configs"

SIZE = 6600          # pixels a side
RESOLUTION = 10      # metres
CYCLE_START = date(2015, 4, 8)
CONTACTS = ("take5-ops@example.org",)

EU, AF, AS, OC, NA, SA = "Europe", "Africa", "Asia", "Oceania", "North America", "South America"

# site_id, country, place, continent, lon, lat, aerosol model, description
SITES: tuple[tuple[str, str, str, str, float, float, str, str | None], ...] = (
    # --- Europe -------------------------------------------------------------------------
    ("FrancePornic", "France", "Pornic", EU, -2.10, 47.12, "CONT", "Atlantic coast, bocage and marshes"),
    ("ToulouseFrance", "France", "Toulouse", EU, 1.44, 43.60, "CONT", "South-west France crops (CESBIO test site)"),
    ("FranceAlsace", "France", "Alsace", EU, 7.45, 48.30, "CONT", "Rhine plain and Vosges"),
    ("FranceCamargue", "France", "Camargue", EU, 4.60, 43.55, "CONT", "Rhone delta wetlands and rice"),
    ("FranceSavoie", "France", "Savoie", EU, 6.55, 45.45, "CONT", "Alpine snow cover"),
    ("Belgium", "Belgium", "Hesbaye", EU, 4.65, 50.65, "CONT", None),
    ("AustriaEisenwurzen", "Austria", "Eisenwurzen", EU, 14.60, 47.75, "CONT", "LTER mountain forest"),
    ("LombardyItalia", "Italy", "Lombardy", EU, 9.20, 45.30, "CONT", "Po plain rice and maize"),
    ("ItalyPuglia", "Italy", "Puglia", EU, 16.20, 41.10, "CONT", None),
    ("SpainValencia", "Spain", "Valencia", EU, -0.25, 39.40, "CONT", "Citrus and rice; straddles UTM zones 30/31"),
    ("SpainAndalucia", "Spain", "Andalucia", EU, -5.50, 37.40, "CONT", None),
    ("SpainCastilla", "Spain", "Castilla y Leon", EU, -4.20, 41.60, "CONT", None),
    ("PortugalAlentejo", "Portugal", "Alentejo", EU, -7.90, 38.60, "CONT", "Montado oak savanna"),
    ("EnglandEastAnglia", "United Kingdom", "East Anglia", EU, 0.25, 52.35, "CONT",
     "Arable land; straddles UTM zones 30/31"),
    ("ScotlandCairngorms", "United Kingdom", "Cairngorms", EU, -3.70, 57.10, "CONT", None),
    ("IrelandKildare", "Ireland", "Kildare", EU, -6.90, 53.15, "CONT", None),
    ("NetherlandsFlevoland", "Netherlands", "Flevoland", EU, 5.60, 52.50, "CONT",
     "Polders; straddles UTM zones 31/32"),
    ("GermanyBavaria", "Germany", "Bavaria", EU, 11.50, 48.40, "CONT", None),
    ("GermanyHarz", "Germany", "Harz", EU, 10.70, 51.75, "CONT", None),
    ("DenmarkJutland", "Denmark", "Jutland", EU, 9.20, 56.10, "CONT", None),
    ("NorwayBergen", "Norway", "Bergen", EU, 5.33, 60.39, "CONT",
     "Fjords; in the Norway exception of the UTM grid (zone 32V extends west to 3 E)"),
    ("SwedenAbisko", "Sweden", "Abisko", EU, 18.82, 68.35, "CONT", "Sub-arctic birch forest and tundra"),
    ("FinlandSodankyla", "Finland", "Sodankyla", EU, 26.63, 67.37, "CONT", "Boreal forest, FMI Arctic centre"),
    ("SvalbardNyAlesund", "Norway", "Svalbard Ny-Alesund", EU, 11.93, 78.92, "CONT",
     "Arctic glaciers; in the Svalbard exception of the UTM grid (zone 33X)"),
    ("IcelandThingvellir", "Iceland", "Thingvellir", EU, -21.10, 64.25, "CONT", None),
    ("PolandWielkopolska", "Poland", "Wielkopolska", EU, 17.00, 52.40, "CONT", None),
    ("CzechiaSouthMoravia", "Czechia", "South Moravia", EU, 16.60, 48.95, "CONT", None),
    ("HungaryAlfold", "Hungary", "Great Plain", EU, 20.20, 46.70, "CONT", None),
    ("RomaniaBaragan", "Romania", "Baragan", EU, 27.40, 44.60, "CONT", None),
    ("Ukraine", "Ukraine", "Kyiv region", EU, 30.90, 50.15, "CONT", "Chernozem crops"),
    ("ToulaRussia", "Russia", "Tula", EU, 37.62, 54.19, "CONT", None),
    ("RussiaVoronezh", "Russia", "Voronezh", EU, 39.20, 51.70, "CONT", None),
    ("GreeceThessaly", "Greece", "Thessaly", EU, 22.40, 39.60, "CONT", None),
    ("SwitzerlandAletsch", "Switzerland", "Aletsch", EU, 8.05, 46.45, "CONT", "Glacier"),
    ("EstoniaTartu", "Estonia", "Tartu", EU, 26.70, 58.40, "CONT", None),
    # --- Africa -------------------------------------------------------------------------
    ("SouthAfricaMoorreesburg", "South Africa", "Moorreesburg", AF, 18.66, -33.15, "CONT", "Winter wheat"),
    ("SouthAfricaKruger", "South Africa", "Kruger", AF, 31.50, -24.50, "CONT", "Savanna"),
    ("SouthAfricaFreeState", "South Africa", "Free State", AF, 26.20, -28.60, "CONT", None),
    ("Burkina", "Burkina Faso", "Saria", AF, -2.15, 12.28, "CONT", "Sudano-sahelian crops"),
    ("MaliGourma", "Mali", "Gourma", AF, -1.55, 15.35, "CONT", "Sahel rangeland (AMMA)"),
    ("NigerAgadez", "Niger", "Agadez", AF, 7.99, 16.97, "DES", "Air mountains and desert"),
    ("SenegalNiakhar", "Senegal", "Niakhar", AF, -16.43, 14.50, "CONT", None),
    ("MoroccoTensift", "Morocco", "Tensift", AF, -7.90, 31.65, "CONT", "Irrigated semi-arid plain"),
    ("MoroccoErgChebbi", "Morocco", "Erg Chebbi", AF, -4.00, 31.15, "DES", None),
    ("AlgeriaTamanrasset", "Algeria", "Tamanrasset", AF, 5.52, 22.79, "DES", "Hoggar"),
    ("TunisiaKairouan", "Tunisia", "Kairouan", AF, 10.10, 35.60, "CONT", None),
    ("EgyptKharga", "Egypt", "Kharga", AF, 30.55, 25.45, "DES", "Western desert oasis"),
    ("EgyptNileDelta", "Egypt", "Nile Delta", AF, 31.00, 30.90, "CONT", None),
    ("LibyaDesert", "Libya", "Libya-4", AF, 23.39, 28.55, "DES", "Radiometric calibration site"),
    ("MauritaniaAdrar", "Mauritania", "Adrar", AF, -13.05, 20.50, "DES", None),
    ("SudanGezira", "Sudan", "Gezira", AF, 33.30, 14.40, "CONT", "Irrigation scheme"),
    ("EthiopiaTana", "Ethiopia", "Lake Tana", AF, 37.40, 11.80, "CONT", None),
    ("KenyaNaivasha", "Kenya", "Naivasha", AF, 36.40, -0.75, "CONT", None),
    ("TanzaniaKilimanjaro", "Tanzania", "Kilimanjaro", AF, 37.35, -3.10, "CONT", None),
    ("MadagascarAntsirabe", "Madagascar", "Antsirabe", AF, 47.05, -19.85, "CONT", None),
    ("ZambiaMongu", "Zambia", "Mongu", AF, 23.15, -15.25, "CONT", "Miombo woodland"),
    ("NamibiaGobabeb", "Namibia", "Gobabeb", AF, 15.04, -23.56, "DES", "Namib desert calibration site"),
    ("BotswanaOkavango", "Botswana", "Okavango", AF, 22.60, -19.30, "CONT", None),
    ("CameroonYaounde", "Cameroon", "Yaounde", AF, 11.50, 3.85, "CONT", None),
    ("DRCongoYangambi", "DR Congo", "Yangambi", AF, 24.45, 0.80, "CONT", "Tropical rain forest"),
    ("GabonLope", "Gabon", "Lope", AF, 11.60, -0.20, "CONT", None),
    ("GhanaKumasi", "Ghana", "Kumasi", AF, -1.60, 6.70, "CONT", None),
    ("NigeriaKano", "Nigeria", "Kano", AF, 8.50, 12.00, "CONT", None),
    ("MozambiqueGorongosa", "Mozambique", "Gorongosa", AF, 34.40, -18.90, "CONT", None),
    # --- Asia ---------------------------------------------------------------------------
    ("ShandongChina", "China", "Shandong", AS, 116.57, 36.83, "CONT", "Winter wheat and maize"),
    ("ChinaDunhuang", "China", "Dunhuang", AS, 94.40, 40.10, "DES", "Gobi calibration site"),
    ("ChinaHarbin", "China", "Harbin", AS, 126.25, 45.75, "CONT", "Straddles UTM zones 51/52"),
    ("ChinaKunming", "China", "Kunming", AS, 102.70, 25.05, "CONT", None),
    ("ChinaLhasa", "China", "Lhasa", AS, 91.10, 29.65, "CONT", None),
    ("MongoliaGobi", "Mongolia", "Gobi", AS, 104.40, 43.60, "DES", None),
    ("RussiaYakutsk", "Russia", "Yakutsk", AS, 129.70, 62.00, "CONT", "Larch taiga"),
    ("KazakhstanAralsk", "Kazakhstan", "Aralsk", AS, 61.70, 46.80, "DES", "Aral sea shore"),
    ("KazakhstanAkmola", "Kazakhstan", "Akmola", AS, 71.40, 51.15, "CONT", "Steppe wheat"),
    ("UzbekistanFergana", "Uzbekistan", "Fergana", AS, 71.80, 40.40, "CONT", None),
    ("IndiaPunjab", "India", "Punjab", AS, 75.85, 30.90, "CONT", None),
    ("IndiaJaisalmer", "India", "Jaisalmer", AS, 70.90, 26.90, "DES", "Thar desert"),
    ("IndiaBerambadi", "India", "Berambadi", AS, 76.58, 11.76, "CONT", "Kabini basin crops"),
    ("NepalChitwan", "Nepal", "Chitwan", AS, 84.40, 27.55, "CONT", None),
    ("PakistanFaisalabad", "Pakistan", "Faisalabad", AS, 73.10, 31.40, "CONT", None),
    ("IranYazd", "Iran", "Yazd", AS, 54.40, 31.90, "DES", None),
    ("SaudiArabiaRiyadh", "Saudi Arabia", "Riyadh", AS, 46.70, 24.70, "DES", None),
    ("OmanWahiba", "Oman", "Wahiba Sands", AS, 58.60, 22.00, "DES", None),
    ("TurkeyKonya", "Turkey", "Konya", AS, 32.50, 37.90, "CONT", None),
    ("IsraelNegev", "Israel", "Negev", AS, 34.80, 30.85, "DES", None),
    ("JapanHokkaido", "Japan", "Tokachi", AS, 143.20, 43.00, "CONT", None),
    ("SouthKoreaGimje", "South Korea", "Gimje", AS, 126.85, 35.80, "CONT", "Rice paddies"),
    ("VietnamMekong", "Vietnam", "Mekong Delta", AS, 105.70, 10.00, "CONT", None),
    ("ThailandKhonKaen", "Thailand", "Khon Kaen", AS, 102.80, 16.40, "CONT", None),
    ("CambodiaTonleSap", "Cambodia", "Tonle Sap", AS, 104.00, 12.90, "CONT", None),
    ("MyanmarMandalay", "Myanmar", "Mandalay", AS, 96.08, 21.95, "CONT", "Straddles UTM zones 46/47"),
    ("IndonesiaJambi", "Indonesia", "Jambi", AS, 103.60, -1.60, "CONT", "Oil palm and rubber"),
    ("IndonesiaBogor", "Indonesia", "Bogor", AS, 106.80, -6.60, "CONT", None),
    ("MalaysiaDanumValley", "Malaysia", "Danum Valley", AS, 117.80, 4.95, "CONT", "Tropical rain forest"),
    ("PhilippinesLaguna", "Philippines", "Laguna", AS, 121.25, 14.15, "CONT", None),
    # --- Oceania ------------------------------------------------------------------------
    ("AustraliaLitchfield", "Australia", "Litchfield", OC, 130.85, -13.20, "CONT", "Tropical savanna"),
    ("AustraliaAliceSprings", "Australia", "Alice Springs", OC, 133.88, -23.70, "DES", None),
    ("AustraliaKerang", "Australia", "Kerang", OC, 143.90, -35.73, "CONT", "Straddles UTM zones 54/55"),
    ("AustraliaTumbarumba", "Australia", "Tumbarumba", OC, 148.15, -35.65, "CONT", "OzFlux forest"),
    ("AustraliaMerredin", "Australia", "Merredin", OC, 118.28, -31.48, "CONT", "Wheatbelt"),
    ("AustraliaDaintree", "Australia", "Daintree", OC, 145.40, -16.20, "CONT", None),
    ("AustraliaTasmania", "Australia", "Tasmania Midlands", OC, 147.30, -42.10, "CONT", None),
    ("AustraliaPilbara", "Australia", "Pilbara", OC, 118.60, -22.30, "DES", None),
    ("NewZealandCanterbury", "New Zealand", "Canterbury", OC, 171.90, -43.60, "CONT", None),
    ("NewZealandWaikato", "New Zealand", "Waikato", OC, 175.30, -37.80, "CONT", None),
    ("PapuaNewGuineaMarkham", "Papua New Guinea", "Markham", OC, 146.20, -6.40, "CONT", None),
    ("NewCaledoniaKoumac", "France", "New Caledonia Koumac", OC, 164.30, -20.60, "CONT", None),
    ("FijiVitiLevu", "Fiji", "Viti Levu", OC, 177.70, -17.80, "CONT", None),
    # --- North America ------------------------------------------------------------------
    ("USANevadaRailroadValley", "USA", "Railroad Valley", NA, -115.69, 38.50, "DES", "Calibration playa"),
    ("USAArizonaWalnutGulch", "USA", "Walnut Gulch", NA, -110.05, 31.72, "DES", None),
    ("USAMarylandBeltsville", "USA", "Beltsville", NA, -76.85, 39.03, "CONT", None),
    ("USAIowaAmes", "USA", "Ames", NA, -93.62, 42.03, "CONT", "Corn belt"),
    ("USAKansasFlintHills", "USA", "Flint Hills", NA, -96.20, 38.30, "CONT",
     "Tallgrass prairie; straddles UTM zones 14/15"),
    ("USACaliforniaCentralValley", "USA", "Central Valley", NA, -120.50, 36.80, "CONT", None),
    ("USAFloridaEverglades", "USA", "Everglades", NA, -80.70, 25.75, "CONT", None),
    ("USAMontanaGlacier", "USA", "Glacier", NA, -113.80, 48.70, "CONT", "Straddles UTM zones 11/12"),
    ("USATexasLubbock", "USA", "Lubbock", NA, -101.85, 33.58, "CONT", "Cotton; straddles UTM zones 13/14"),
    ("USAAlaskaFairbanks", "USA", "Fairbanks", NA, -147.70, 64.84, "CONT", "Boreal forest"),
    ("USAMississippiDelta", "USA", "Mississippi Delta", NA, -90.80, 33.40, "CONT", None),
    ("CanadaSaskatchewan", "Canada", "Kenaston", NA, -106.40, 51.40, "CONT", None),
    ("CanadaOntarioOttawa", "Canada", "Ottawa", NA, -75.70, 45.30, "CONT", None),
    ("CanadaQuebecLacStJean", "Canada", "Lac Saint-Jean", NA, -71.70, 48.60, "CONT", None),
    ("CanadaYellowknife", "Canada", "Yellowknife", NA, -114.37, 62.45, "CONT", "Straddles UTM zones 11/12"),
    ("CanadaAlbertaLethbridge", "Canada", "Lethbridge", NA, -112.80, 49.70, "CONT", None),
    ("CanadaManitobaChurchill", "Canada", "Churchill", NA, -94.10, 58.70, "CONT", "Tundra edge"),
    ("GreenlandKangerlussuaq", "Greenland", "Kangerlussuaq", NA, -50.70, 67.00, "CONT", "Ice sheet margin"),
    ("MexicoSonora", "Mexico", "Sonora", NA, -110.95, 29.10, "DES", None),
    ("MexicoYucatan", "Mexico", "Yucatan", NA, -89.00, 20.60, "CONT", None),
    ("GuatemalaPeten", "Guatemala", "Peten", NA, -89.90, 17.20, "CONT", "Straddles UTM zones 15/16"),
    ("CostaRicaGuanacaste", "Costa Rica", "Guanacaste", NA, -85.40, 10.50, "CONT", None),
    ("PanamaBarroColorado", "Panama", "Barro Colorado", NA, -79.85, 9.15, "CONT", None),
    ("CubaPinarDelRio", "Cuba", "Pinar del Rio", NA, -83.70, 22.40, "CONT", None),
    # --- South America ------------------------------------------------------------------
    ("EArgentina", "Argentina", "Eastern Pampa", SA, -59.60, -33.90, "CONT", None),
    ("ArgentinaMendoza", "Argentina", "Mendoza", SA, -68.60, -33.00, "CONT", None),
    ("ArgentinaChubut", "Argentina", "Chubut", SA, -69.00, -45.00, "CONT", "Patagonian steppe"),
    ("ArgentinaChaco", "Argentina", "Chaco", SA, -61.00, -26.00, "CONT", None),
    ("BrazilManaus", "Brazil", "Manaus", SA, -60.02, -3.10, "CONT", "Amazon forest; straddles UTM zones 20/21"),
    ("BrazilBrasilia", "Brazil", "Brasilia", SA, -47.90, -15.80, "CONT", "Cerrado; straddles UTM zones 22/23"),
    ("BrazilMatoGrosso", "Brazil", "Sinop", SA, -55.50, -11.85, "CONT", "Soy frontier"),
    ("BrazilPiracicaba", "Brazil", "Piracicaba", SA, -47.65, -22.72, "CONT", "Sugar cane"),
    ("BrazilRioGrandeDoSul", "Brazil", "Rio Grande do Sul", SA, -53.80, -29.70, "CONT", None),
    ("BrazilPetrolina", "Brazil", "Petrolina", SA, -40.50, -9.40, "CONT", "Caatinga and irrigation"),
    ("ColombiaLlanos", "Colombia", "Llanos", SA, -72.50, 4.30, "CONT", None),
    ("PeruNazca", "Peru", "Nazca", SA, -75.00, -14.80, "DES", None),
    ("ChileAtacama", "Chile", "Atacama", SA, -68.20, -23.50, "DES", None),
    ("ChileMaule", "Chile", "Maule", SA, -71.60, -35.40, "CONT", None),
    ("BoliviaUyuni", "Bolivia", "Uyuni", SA, -67.50, -20.20, "DES", "Salt flat calibration site"),
    ("UruguaySoriano", "Uruguay", "Soriano", SA, -57.90, -33.40, "CONT", None),
    ("ParaguayChaco", "Paraguay", "Chaco", SA, -60.50, -22.00, "CONT", None),
    ("FrenchGuianaParacou", "France", "French Guiana Paracou", SA, -52.93, 5.27, "CONT", None),
    ("EcuadorChimborazo", "Ecuador", "Chimborazo", SA, -78.80, -1.50, "CONT", None),
)


def utm_zone(lon: float, lat: float) -> int:
    """WGS84 UTM zone number of a point, with the Norway (32V) and Svalbard (31X-37X) exceptions."""
    zone = min(math.floor((lon + 180.0) / 6.0) + 1, 60)
    if 56.0 <= lat < 64.0 and 3.0 <= lon < 12.0:
        return 32
    if 72.0 <= lat < 84.0 and 0.0 <= lon < 42.0:
        return 31 if lon < 9.0 else 33 if lon < 21.0 else 35 if lon < 33.0 else 37
    return zone


def utm_epsg(lon: float, lat: float) -> int:
    """EPSG code of the WGS84 UTM zone of a point (326zz north, 327zz south)."""
    return (32600 if lat >= 0 else 32700) + utm_zone(lon, lat)


def grid_for(lon: float, lat: float) -> dict:
    """The site grid: SIZE x SIZE pixels of RESOLUTION m centred on (lon, lat), origin on the lattice."""
    from pyproj import Transformer

    epsg = utm_epsg(lon, lat)
    x, y = Transformer.from_crs("EPSG:4326", f"EPSG:{epsg}", always_xy=True).transform(lon, lat)
    half = SIZE * RESOLUTION / 2
    ulx = round((x - half) / RESOLUTION) * RESOLUTION
    uly = round((y + half) / RESOLUTION) * RESOLUTION
    return {"epsg": epsg, "ulx": float(ulx), "uly": float(uly), "width": SIZE, "height": SIZE,
            "resolution": RESOLUTION}


def cycle_day(site_id: str) -> int:
    """Day of the 5-day cycle (1..5) assigned to a site: stable, about even over the days."""
    return zlib.crc32(site_id.encode()) % 5 + 1


def render(row: tuple) -> str:
    """The YAML text of one site."""
    site_id, country, place, continent, lon, lat, aerosol, description = row
    day = cycle_day(site_id)
    g = grid_for(lon, lat)
    q = json.dumps  # a JSON string is a valid YAML double-quoted scalar
    lines = [
        "# Generated by scripts/generate_site_configs.py: edit the site table there, then rerun.",
        f"site_id: {site_id}",
        f"name: {q(f'{country} : {place}')}",
        f"country: {q(country)}",
        f"continent: {q(continent)}",
        f"center: {{lon: {lon:.2f}, lat: {lat:.2f}}}",
        f"grid: {{epsg: {g['epsg']}, ulx: {g['ulx']:.1f}, uly: {g['uly']:.1f}, "
        f"width: {g['width']}, height: {g['height']}, resolution: {g['resolution']}}}",
        f"cycle_day: {day}",
        f"first_acquisition: {(CYCLE_START + timedelta(days=day - 1)).isoformat()}",
        f"aerosol_model: {aerosol}",
        f"sla: {{delivery_days: 21, at_risk_days: 14, contacts: [{', '.join(CONTACTS)}]}}",
        "l2a: {init_days: 30, max_gap_days: 45, default_aot: 0.1}",
    ]
    if description:
        lines.append(f"description: {q(description)}")
    return "\n".join(lines) + "\n"


def write_all(out: Path) -> list[Path]:
    """Write every site's file into ``out``; remove YAML files of sites no longer in the table."""
    ids = [row[0] for row in SITES]
    if len(set(ids)) != len(ids):
        raise SystemExit("duplicate site_id in the site table")
    out.mkdir(parents=True, exist_ok=True)
    written = []
    for row in sorted(SITES):
        path = out / f"{row[0]}.yaml"
        text = render(row)
        if not path.exists() or path.read_text(encoding="utf-8") != text:
            path.write_text(text, encoding="utf-8")
        written.append(path)
    for stale in sorted(set(out.glob("*.yaml")) - set(written)):
        stale.unlink()
    return written


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=OUT, help=f"output folder (default {OUT})")
    args = parser.parse_args(argv)
    paths = write_all(args.out)
    print(f"{len(paths)} site configurations in {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
