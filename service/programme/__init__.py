"""A programme's registry loaded from files: import of CSV and XLSX (``docs/staff.md``, issue 10 item 3).

* :mod:`service.programme.sheets`: the sheets and columns, declared once (templates come from them);
* :mod:`service.programme.reader`: XLSX/CSV files into rows, with size limits;
* :mod:`service.programme.importer`: the dry run and the all-or-nothing import (:func:`~service.programme.importer.run`);
* :mod:`service.programme.report`: the report of rejected and doubtful rows, in tg, ru, en, uz, as CSV or XLSX;
* :mod:`service.programme.export`: a database's programme as sheet rows (the demo workbook);
* :mod:`service.programme.demo_workbook`: the shipped demo workbook (``demo-region.xlsx``).
"""
