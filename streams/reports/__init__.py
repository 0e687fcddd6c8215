"""The period's report (`dossierwatch report`, GET /api/report): the figures per unit
(`figures`, pure), the period (`periods`), the table's layout (`table`) and one writer a
format (`xlsx`, `pdf`, `html`)."""
