"""Complaint records alongside the leads: 12315 imports, personal data kept apart, matched to sellers.

readers    XLSX (merged header cells), CSV (UTF-8, UTF-8 with BOM, GB18030, UTF-16), JSON lines
fields     which column is which: Chinese header variants and a mapping file
dates      every way people write a date, Excel serial numbers included
records    one row -> a masked Complaint + its PersonalData, or a RowError with the reason
matching   complaint -> sellers sweep knows (USCC, shop id, URL, normalised name), precision first
sellers    the seller directory fed from lead events and listings on the bus
service    import, re-match, personal-data access (permission + audit), export
export     jsonl | csv | xlsx, personal data masked, with `matches`
"""
